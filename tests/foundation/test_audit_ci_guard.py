"""CI cannot go green on skipped service tests, and a run that collects nothing fails.

Runs pytest itself in a subprocess with the services pointed at nothing: locally the PostgreSQL/Redis tests are
skipped (a newcomer without them still gets a useful run); with CI=true the same tests fail.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICE_TESTS = ["tests/foundation/test_services.py::test_runs_on_postgresql",
                 "tests/foundation/test_services.py::test_cache_is_redis"]


def _pytest(*args: str, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "CI"}
    # SQLite and a Redis port nobody listens on: neither service is there.
    env.update({"DATABASE_URL": "sqlite:////tmp/h11-ci-guard.sqlite3", "REDIS_URL": "redis://127.0.0.1:1/0"})
    if ci:
        env["CI"] = "true"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.slow
def test_missing_services_skip_locally_but_fail_in_ci() -> None:
    local = _pytest(*SERVICE_TESTS, ci=False)
    assert local.returncode == 0, local.stdout + local.stderr
    assert "2 skipped" in local.stdout

    ci = _pytest(*SERVICE_TESTS, ci=True)
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "2 failed" in ci.stdout or "2 errors" in ci.stdout, ci.stdout
    assert "CI=true but the service is missing" in ci.stdout


@pytest.mark.slow
def test_a_run_that_collects_no_tests_fails() -> None:
    # `make test` runs pytest directly, so this non-zero exit (5) fails the make target and CI.
    result = _pytest("tests/foundation/test_services.py", "-k", "no_test_has_this_name", ci=False)
    assert result.returncode == 5, result.stdout
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/pytest" in recipe and "|| true" not in recipe and "-" not in recipe.split("\n")[1][:2]
