"""On a machine without Chromium, `make test` ends by saying which browser tests did not run and how to run them."""

import os
import subprocess
import sys

from tests.conftest import ROOT

BROWSER_TESTS = "tests/checkout/test_browser.py"


def test_the_last_lines_name_the_skipped_browser_tests_and_how_to_install_chromium() -> None:
    # A pytest of its own, outside CI (where a missing Chromium fails instead), with no Chromium where it looks.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST") and k != "CI"}
    env["CHROMIUM_PATH"] = "/nonexistent/chromium"
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", BROWSER_TESTS], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    lines = result.stdout.rstrip().splitlines()
    summary = next(i for i, line in enumerate(lines) if " skipped" in line and " in " in line and "==" in line)
    after = lines[summary + 1:]
    assert after, "nothing follows pytest's own summary line"
    assert "browser tests skipped: no Chromium at /nonexistent/chromium" in after[0]
    assert any("test_email_upgrade_link_through_simulator_to_unlocked_full_guide" in line for line in after)
    assert "apt-get install chromium" in after[-1]
