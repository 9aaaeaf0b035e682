"""On a machine without a service, `make test` ends by saying which tests did not run and how to run them."""

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT


def _last_lines(test_file: str, env: dict[str, str]) -> list[str]:
    # A pytest of its own, outside CI (where a missing service fails instead).
    env = {k: v for k, v in env.items() if not k.startswith("PYTEST") and k != "CI"}
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", test_file], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.rstrip().splitlines()
    summary = next(i for i, line in enumerate(lines) if " skipped" in line and " in " in line and "==" in line)
    after = lines[summary + 1:]
    assert after, "nothing follows pytest's own summary line"
    return after


def test_the_last_lines_name_the_skipped_browser_tests_and_how_to_install_chromium() -> None:
    after = _last_lines("tests/checkout/test_browser.py", {**os.environ, "CHROMIUM_PATH": "/nonexistent/chromium"})
    assert "tests skipped: needs Chromium at /nonexistent/chromium" in after[0]
    assert any("test_email_upgrade_link_through_simulator_to_unlocked_full_guide" in line for line in after)
    assert "apt-get install chromium" in after[-1]


@pytest.mark.slow
def test_on_the_embedded_default_the_last_lines_name_what_needs_postgresql_and_redis() -> None:
    # Nothing set, as on a fresh clone: SQLite and no Redis.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    after = _last_lines("tests/checkout/test_webhook_fast_path.py", env)
    text = "\n".join(after)
    assert "tests skipped: needs PostgreSQL (set DATABASE_URL)" in text
    assert "To run them: start PostgreSQL and set DATABASE_URL=" in text
    assert "not run: tests/checkout/test_webhook_fast_path.py::" in text
