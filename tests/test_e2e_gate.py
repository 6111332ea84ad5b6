"""Issue 10: without Chromium the browser journeys skip saying how to install it, and with
E2E_REQUIRED=1 (what `.ci/run` sets) the same missing browser fails them."""

import os
import re
import subprocess
import sys

from tests.served_support import ROOT

# Any one browser test will do: the gate is asked before a shop is served. (None of this
# file's test names says "failed": the output's words are pytest's, not a name's.)
ONE_BROWSER_TEST = "tests/e2e/test_local_times.py"


def _run_without_chromium(**extra: str) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key != "E2E_REQUIRED"}
    env.update(CHROMIUM="/nonexistent/chromium", **extra)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
         ONE_BROWSER_TEST],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def test_without_chromium_the_browser_tests_skip_with_the_install_command():
    done = _run_without_chromium()
    assert done.returncode == 0, done.stdout + done.stderr
    assert "skipped" in done.stdout and "failed" not in done.stdout, done.stdout
    assert "apt-get install chromium" in done.stdout, done.stdout


def test_with_e2e_required_a_missing_chromium_fails_them():
    done = _run_without_chromium(E2E_REQUIRED="1")
    assert done.returncode == 1, done.stdout + done.stderr
    # The gate fails at setup: pytest counts errors, and the message says why.
    assert re.search(r"\b\d+ errors?\b", done.stdout) and "skipped" not in done.stdout, done.stdout
    assert "E2E_REQUIRED=1 makes a missing browser a failure" in done.stdout, done.stdout
    assert "apt-get install chromium" in done.stdout, done.stdout
