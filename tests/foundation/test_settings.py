"""Production settings pass Django's deployment checks; development never leaks into production."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x9!" + "k" * 60 + "Q7#zR2",
    "ALLOWED_HOSTS": "painreset.example",
    "SITE_URL": "https://painreset.example",
    "ANYMAIL_WEBHOOK_SECRET": "user:pass",
    "STRIPE_WEBHOOK_SECRET": "whsec_from_the_stripe_dashboard",
    "DATABASE_URL": "sqlite:////tmp/deploy-check.sqlite3",
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    drop = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE",
            "ANYMAIL_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET"}
    base = {k: v for k, v in os.environ.items() if k not in drop}
    base["DJANGO_SETTINGS_MODULE"] = "config.settings"
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)


def test_production_settings_pass_check_deploy() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_settings_fail_check_deploy() -> None:
    # Proves the check above can fail: the same command with DEBUG on reports problems.
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, "DEBUG": "true"})
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr


def test_check_deploy_refuses_a_plain_http_site_url() -> None:
    # Every link we mail (List-Unsubscribe included, which Gmail only honours over https) starts with SITE_URL.
    result = _manage("check", "--deploy", "--fail-level", "WARNING",
                     env={**PRODUCTION_ENV, "SITE_URL": "http://painreset.example"})
    assert result.returncode != 0
    assert "emails.W001" in result.stdout + result.stderr


@pytest.mark.parametrize("name", ["SECRET_KEY", "ANYMAIL_WEBHOOK_SECRET", "STRIPE_WEBHOOK_SECRET"])
def test_production_refuses_to_start_without_a_secret(name: str) -> None:
    # A development default for any of these is public (it is in the repository): anyone could sign requests.
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != name}
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert name in result.stderr
    assert _manage("check", env={**env, "DEBUG": "true"}).returncode == 0  # development has safe defaults


def test_readme_documents_every_contract_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    settings_src = (ROOT / "config" / "settings.py").read_text()
    read_vars = set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', settings_src))
    contract = {"SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "SITE_URL", "DATABASE_URL", "REDIS_URL",
                "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_PRICE_ID", "DRIP_SEND_HOUR",
                "DRIP_DAY_SECONDS", "FUNNEL_DOUBLE_OPT_IN", "COMPANY_POSTAL_ADDRESS"}
    assert contract <= read_vars, contract - read_vars
    undocumented = sorted(v for v in read_vars if f"`{v}`" not in readme)
    assert not undocumented, f"README.md does not document: {undocumented}"
    assert "make run" in readme and "make test" in readme


def test_no_missing_migrations() -> None:
    result = _manage("makemigrations", "--check", "--dry-run", env={"DEBUG": "true"})
    assert result.returncode == 0, result.stdout + result.stderr
