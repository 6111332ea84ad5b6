"""Audit s4: scripts/test (3cbb6e6) run against stand-ins for pytest and scripts/pg-cluster.

The script is copied into a temporary tree whose `.venv/bin/python` is a stand-in "pytest"
(it records its arguments and where its output goes, sleeps, and answers Ctrl-C as pytest
does: report, tear down, exit 2) and whose `scripts/pg-cluster` starts nothing. No PostgreSQL
and no real test run is involved.

Guards (pass): either pass failing fails the script; extra arguments reach both passes; exit 3
from pg-cluster skips the PostgreSQL pass, and fails it in CI; TEST_PASSES=serial.
Finding (fails): the PostgreSQL pass's log, `mktemp /tmp/checkout-pg-pass.XXXXXX.log`
(scripts/test:57), is removed only at the end of the parallel branch (:68); the EXIT trap
(:16) stops the cluster and nothing else. A second Ctrl-C while the first is being torn down,
or a SIGTERM to the script (CI's cancel, `timeout`), ends the script with the log left in /tmp
and never printed, and after SIGTERM both pytest processes keep running without it.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAKE_PYTEST = r'''#!/usr/bin/env python3
import os, sys, time
kind = "pg" if os.environ.get("TEST_DATABASE_URL") else "sqlite"
calls = os.environ["FAKE_CALLS"]
with open(calls, "a") as f:
    out = os.readlink('/proc/self/fd/1')
    f.write(f"{kind} args={sys.argv[1:]!r} out={out} pid={os.getpid()}\n")
print(f"{kind} pass output", flush=True)
try:
    time.sleep(float(os.environ.get(f"FAKE_{kind.upper()}_SLEEP", "0")))
except KeyboardInterrupt:
    print(f"{kind}: interrupted, tearing down", flush=True)
    time.sleep(float(os.environ.get("FAKE_TEARDOWN", "0")))
    sys.exit(2)
sys.exit(int(os.environ.get(f"FAKE_{kind.upper()}_RC", "0")))
'''

FAKE_PG_CLUSTER = r'''#!/usr/bin/env bash
echo "pg-cluster $*" >> "$FAKE_CALLS"
case "$1" in
  start) [ -n "${FAKE_NO_PG:-}" ] && exit 3; mkdir -p "$2/data"; echo "postgresql+psycopg://fake@127.0.0.1:1/db";;
  stop) rm -rf "$2";;
esac
'''


@pytest.fixture
def tree(tmp_path) -> Path:
    (tmp_path / "scripts").mkdir()
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "test", tmp_path / "scripts" / "test")
    (tmp_path / "scripts" / "pg-cluster").write_text(FAKE_PG_CLUSTER)
    (tmp_path / ".venv" / "bin" / "python").write_text(FAKE_PYTEST)
    for path in (tmp_path / "scripts" / "test", tmp_path / "scripts" / "pg-cluster",
                 tmp_path / ".venv" / "bin" / "python"):
        path.chmod(0o755)
    return tmp_path


def _env(tree: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "TEST_POSTGRES_URL", "TEST_PASSES", "TEST_DATABASE_URL")}
    return {**env, "FAKE_CALLS": str(tree / "calls.log"), **extra}


def _run(tree: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([tree / "scripts" / "test", *args], cwd=tree, env=_env(tree, **extra),
                          capture_output=True, text=True, timeout=60)


def _calls(tree: Path) -> list[str]:
    return (tree / "calls.log").read_text().splitlines()


@pytest.mark.parametrize(("sqlite_rc", "pg_rc", "ok"), [("0", "0", True), ("1", "0", False),
                                                        ("0", "1", False), ("5", "2", False)])
@pytest.mark.parametrize("passes", ["parallel", "serial"])
def test_either_pass_failing_fails_the_script_and_both_get_the_extra_args(tree, sqlite_rc,
                                                                         pg_rc, ok, passes):
    done = _run(tree, "-k", "two words", "-x", FAKE_SQLITE_RC=sqlite_rc, FAKE_PG_RC=pg_rc,
                TEST_PASSES=passes)
    assert (done.returncode == 0) is ok, done.stdout + done.stderr
    calls = _calls(tree)
    sqlite = [c for c in calls if c.startswith("sqlite ")]
    pg = [c for c in calls if c.startswith("pg ")]
    assert len(sqlite) == 1 and "['-m', 'pytest', '-k', 'two words', '-x']" in sqlite[0]
    assert len(pg) == 1
    assert "['-m', 'pytest', '--ignore=tests/e2e', '-k', 'two words', '-x']" in pg[0]
    assert "pg pass output" in done.stdout and "sqlite pass output" in done.stdout
    assert calls[-1].startswith("pg-cluster stop ")
    if passes == "parallel":
        log = Path(pg[0].split(" out=")[1].split(" pid=")[0])
        assert log.name.startswith("checkout-pg-pass.") and not log.exists()


@pytest.mark.parametrize(("ci", "sqlite_rc", "rc"), [("", "0", 0), ("", "1", 1), ("true", "0", 1)])
def test_no_postgresql_skips_the_second_pass_except_in_ci(tree, ci, sqlite_rc, rc):
    done = _run(tree, FAKE_NO_PG="1", CI=ci, FAKE_SQLITE_RC=sqlite_rc)
    assert done.returncode == rc, done.stdout + done.stderr
    assert "PostgreSQL: not run" in done.stdout
    assert not [c for c in _calls(tree) if c.startswith("pg ")]


def _start(tree: Path, **extra: str) -> subprocess.Popen:
    # Its own session, SIGINT at its default: as a terminal's foreground job receives Ctrl-C.
    with open(tree / "out.txt", "wb") as out:
        return subprocess.Popen(
            [tree / "scripts" / "test"], cwd=tree, env=_env(tree, **extra),
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_both_passes(tree: Path) -> tuple[Path, list[int]]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        log = tree / "calls.log"
        calls = log.read_text().splitlines() if log.exists() else []
        passes = [c for c in calls if c.startswith(("sqlite ", "pg "))]
        if len(passes) == 2:
            pg = next(c for c in passes if c.startswith("pg "))
            log = Path(pg.split(" out=")[1].split(" pid=")[0])
            return log, [int(c.rsplit("pid=", 1)[1]) for c in passes]
        time.sleep(0.1)
    raise AssertionError("the passes did not start")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("how", ["one Ctrl-C", "two Ctrl-C", "SIGTERM"])
def test_an_interrupted_run_leaves_no_log_and_no_pass_running(tree, how):
    script = _start(tree, FAKE_SQLITE_SLEEP="60", FAKE_PG_SLEEP="60", FAKE_TEARDOWN="5")
    pids: list[int] = []
    try:
        log, pids = _wait_for_both_passes(tree)
        if how == "SIGTERM":
            os.kill(script.pid, signal.SIGTERM)
        else:
            os.killpg(script.pid, signal.SIGINT)
            if how == "two Ctrl-C":
                time.sleep(1)
                os.killpg(script.pid, signal.SIGINT)
        script.wait(timeout=30)
        time.sleep(0.5)
        running = [pid for pid in pids if _alive(pid)]
        assert running == [], f"pytest passes still running after the script ended: {running}"
        assert not log.exists(), f"{log} left behind:\n{log.read_text()}"
        assert _calls(tree)[-1].startswith("pg-cluster stop ")
    finally:
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        if script.poll() is None:
            script.kill()
        for path in tree.glob("calls.log"):
            for line in path.read_text().splitlines():
                if line.startswith("pg ") and " out=" in line:
                    Path(line.split(" out=")[1].split(" pid=")[0]).unlink(missing_ok=True)
