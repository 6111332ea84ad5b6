"""Audit s4: PG_TEST_PORT, which the README's Tests section offers for `make test`'s cluster,
also reaches the cluster the bench's smoke test starts inside the PostgreSQL pass.

scripts/test passes its environment to both pytest passes; tests/test_bench_smoke.py runs
bench.run on PostgreSQL in that pass, and bench/servers.py:181-185 starts a second cluster
with scripts/pg-cluster, which takes PG_TEST_PORT when set (scripts/pg-cluster:9): the suite's
own cluster already holds that port, so `pg_ctl: could not start server` and the smoke test
fails (seen: `PG_TEST_PORT=<suite port> TEST_DATABASE_URL=... pytest tests/test_bench_smoke.py`
-> RuntimeError: PostgreSQL did not start). Here the port is held by a plain socket instead.
Pre-existing (the serial passes had it too). Skips without PostgreSQL's server binaries.
"""

import glob
import shutil
import socket
import tempfile

import pytest

from bench.servers import databases


@pytest.mark.skipif(not (glob.glob("/usr/lib/postgresql/*/bin/initdb") or shutil.which("initdb")),
                    reason="no PostgreSQL server binaries")
def test_the_bench_cluster_starts_when_pg_test_port_is_taken(tmp_path, monkeypatch):
    # bench/servers.py:181-185 raises before its try/finally when the cluster does not start,
    # leaving its mkdtemp folder behind: this test removes the folders it caused.
    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args, **kwargs):
        made.append(real_mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    try:
        _start_beside_a_taken_port(tmp_path, monkeypatch)
    finally:
        for folder in made:
            shutil.rmtree(folder, ignore_errors=True)


def _start_beside_a_taken_port(tmp_path, monkeypatch) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setenv("PG_TEST_PORT", str(taken.getsockname()[1]))
        with databases("postgresql", tmp_path) as started:
            assert started.kind == "postgresql"
