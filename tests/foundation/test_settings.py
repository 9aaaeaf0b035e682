"""Production settings pass Django's deployment checks, refuse to start wrong; development never leaks into them."""

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "x9!" + "k" * 60 + "Q7#zR2",
    "ALLOWED_HOSTS": "painreset.example",
    "SITE_URL": "https://painreset.example",
    "ANYMAIL_WEBHOOK_SECRET": "user:pass",
    "STRIPE_WEBHOOK_SECRET": "whsec_from_the_stripe_dashboard",
    "COMPANY_POSTAL_ADDRESS": "Pain Reset LLC, 42 Main Street, Portland, OR 97201, USA",
    "DATABASE_URL": "sqlite:////tmp/deploy-check.sqlite3",
}


def _run(*args: str, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    # Only what is given: this test process's own environment carries the test settings' values.
    base = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "config.settings"}
    return subprocess.run([sys.executable, *args], cwd=ROOT, env={**base, **env}, input=stdin,
                          capture_output=True, text=True, timeout=120)


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _run("manage.py", *args, env=env)


# Settings are read at import: each case below is a fresh execution of config/settings.py under its own
# environment, in one child process (importing Celery and Django once, not once per case, on a busy 2-core box).
_IMPORT_CASES = """
import json, os, runpy, sys
from django.core.exceptions import ImproperlyConfigured
base = dict(os.environ)
answers = []
for env in json.load(sys.stdin):
    os.environ.clear()
    os.environ.update({**base, **env})
    try:
        runpy.run_module("config.settings", run_name="config.settings")
        answers.append(None)
    except ImproperlyConfigured as exc:
        answers.append(f"ImproperlyConfigured: {exc}")
print(json.dumps(answers))
"""


def import_settings(*envs: dict[str, str]) -> list[str | None]:
    """For each environment: None when config.settings loads, else the ImproperlyConfigured message."""
    result = _run("-c", _IMPORT_CASES, env={}, stdin=json.dumps(envs))
    assert result.returncode == 0, result.stderr[-3000:]
    return list(json.loads(result.stdout))


def test_production_settings_pass_check_deploy() -> None:
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_settings_fail_check_deploy() -> None:
    # Proves the check above can fail: the same command with DEBUG on reports problems.
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env={**PRODUCTION_ENV, "DEBUG": "true"})
    assert result.returncode != 0
    assert "security.W018" in result.stdout + result.stderr


UNSET = None
REFUSED_IN_PRODUCTION = [
    # Public values (they are in the repository): anyone could sign sessions, tokens or a "paid" Stripe event.
    ("SECRET_KEY", UNSET), ("SECRET_KEY", ""), ("SECRET_KEY", "dev-only-insecure-key-change-me"),
    ("STRIPE_WEBHOOK_SECRET", UNSET), ("STRIPE_WEBHOOK_SECRET", ""), ("STRIPE_WEBHOOK_SECRET", "  "),
    ("STRIPE_WEBHOOK_SECRET", "whsec_dev_only_simulator_secret"),
    # Unauthenticated tracking webhooks: anyone could mark a lead bounced (suppressed) or an email delivered.
    ("ANYMAIL_WEBHOOK_SECRET", UNSET), ("ANYMAIL_WEBHOOK_SECRET", ""), ("ANYMAIL_WEBHOOK_SECRET", "no-colon"),
    # CAN-SPAM: every marketing email carries the sender's real postal address.
    ("COMPANY_POSTAL_ADDRESS", UNSET), ("COMPANY_POSTAL_ADDRESS", ""),
    ("COMPANY_POSTAL_ADDRESS", "Pain Reset, 123 Example Street, Springfield, USA"),
    # Every emailed link starts with SITE_URL; Gmail and Yahoo ignore one-click unsubscribe over http.
    ("SITE_URL", UNSET), ("SITE_URL", "http://painreset.example"), ("SITE_URL", "https://"),
]
# Refused with DEBUG on too: an hour of 24 or a day of 0 seconds would schedule reminders wrongly, silently.
REFUSED_ALWAYS = [("DRIP_SEND_HOUR", "24"), ("DRIP_SEND_HOUR", "-1"), ("DRIP_DAY_SECONDS", "0"),
                  ("DRIP_DISPATCH_EVERY_SECONDS", "0"), ("DRIP_BATCH_SIZE", "0"), ("DRIP_LEASE_SECONDS", "-5"),
                  ("DRIP_MAX_ATTEMPTS", "0"), ("DRIP_DEFAULT_TIME_ZONE", "Mars/Olympus_Mons")]


def _with(name: str, value: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != name}
    return {**env, **({} if value is None else {name: value}), **extra}


@pytest.fixture(scope="module")
def refusals() -> dict[tuple[str, str | None, str], str | None]:
    cases = [(name, value, "false") for name, value in REFUSED_IN_PRODUCTION + REFUSED_ALWAYS]
    cases += [(name, value, "true") for name, value in REFUSED_IN_PRODUCTION + REFUSED_ALWAYS]
    answers = import_settings(*[_with(name, value, DEBUG=debug) for name, value, debug in cases])
    return dict(zip(cases, answers, strict=True))


def test_the_production_environment_loads() -> None:
    # The baseline of the refusals below: each differs from this environment in one variable only.
    assert import_settings(PRODUCTION_ENV) == [None]


def _ids(cases: Sequence[tuple[str, str | None]]) -> list[str]:
    return [f"{name}={'unset' if value is None else repr(value)}" for name, value in cases]


@pytest.mark.parametrize(("name", "value"), REFUSED_IN_PRODUCTION, ids=_ids(REFUSED_IN_PRODUCTION))
def test_production_refuses_to_start_wrong(refusals: Any, name: str, value: str | None) -> None:
    refused = refusals[(name, value, "false")]
    assert refused is not None, f"config.settings loaded with {name}={value!r} and DEBUG off"
    assert f"set {name} to" in refused, refused  # names the variable and says what to set
    assert refusals[(name, value, "true")] is None, "development has safe defaults"


@pytest.mark.parametrize(("name", "value"), REFUSED_ALWAYS, ids=_ids(REFUSED_ALWAYS))
def test_drip_settings_out_of_range_are_refused_in_development_too(refusals: Any, name: str, value: str) -> None:
    for debug in ("false", "true"):
        refused = refusals[(name, value, debug)]
        assert refused is not None and f"set {name} to" in refused, (debug, refused)


def test_a_refused_start_reports_every_problem_at_once_and_exits() -> None:
    # An operator fixes the environment in one go; the process really exits (not only a message in a log).
    result = _run("-c", "import config.settings", env={"DEBUG": "false", "DRIP_SEND_HOUR": "25"})
    assert result.returncode != 0
    for name in ("SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "ANYMAIL_WEBHOOK_SECRET", "COMPANY_POSTAL_ADDRESS",
                 "SITE_URL", "DRIP_SEND_HOUR"):
        assert f"set {name} to" in result.stderr, name


def test_development_starts_on_defaults() -> None:
    # `make run` sets DEBUG=true and nothing else.
    assert import_settings({"DEBUG": "true"}) == [None]


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
