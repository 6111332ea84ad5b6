"""`make serve`'s settings: gthread workers with threads, and a database pool to match."""

import os
import runpy
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from checkout import create_app
from checkout.config import DEFAULT_WEB_THREADS
from checkout.extensions import db
from checkout.gunicorn_support import AddressTaken, refuse_taken_addresses

GUNICORN_CONF = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"
NAMES = ("GUNICORN_WORKER_CLASS", "GUNICORN_WORKERS", "GUNICORN_THREADS", "DATABASE_POOL_SIZE",
         "DATABASE_MAX_OVERFLOW")


@pytest.fixture
def env(monkeypatch):
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_gunicorn_runs_threaded_workers_one_per_core_by_default(env):
    settings = runpy.run_path(str(GUNICORN_CONF))
    assert settings["worker_class"] == "gthread"
    assert settings["threads"] == DEFAULT_WEB_THREADS
    assert settings["workers"] >= 1


def test_gunicorn_takes_its_worker_settings_from_the_environment(env):
    env.setenv("GUNICORN_WORKER_CLASS", "sync")
    env.setenv("GUNICORN_WORKERS", "3")
    env.setenv("GUNICORN_THREADS", "4")
    settings = runpy.run_path(str(GUNICORN_CONF))
    assert (settings["worker_class"], settings["workers"], settings["threads"]) == ("sync", 3, 4)


def test_each_process_keeps_one_database_connection_per_thread(env, app, tmp_path):
    env.setenv("GUNICORN_THREADS", "6")
    threaded = create_app({
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite'}",
        "SANDBOX_BACKGROUND": False,
    })
    with threaded.app_context():
        pool = db.engine.pool
        assert pool.size() == 6
        db.engine.dispose()
    threaded.extensions["sandbox"].close()


# GUNICORN_REUSE_PORT=1: each worker listens on its own SO_REUSEPORT socket, so the kernel
# spreads connections over the workers (README "Processes"); a second server on a taken
# address must still refuse to start, as it does when the master holds the one socket.

def test_workers_share_the_masters_socket_unless_told_to_listen_on_their_own(env):
    env.delenv("GUNICORN_REUSE_PORT", raising=False)
    assert runpy.run_path(str(GUNICORN_CONF))["reuse_port"] is False
    env.setenv("GUNICORN_REUSE_PORT", "1")
    assert runpy.run_path(str(GUNICORN_CONF))["reuse_port"] is True


def _listening(reuse_port: bool) -> socket.socket:
    listener = socket.socket()
    if reuse_port:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


@pytest.mark.parametrize("reuse_port", [True, False], ids=["another-reuse-port-server", "plain"])
def test_an_address_something_listens_on_is_refused(reuse_port):
    with _listening(reuse_port) as listener:
        port = listener.getsockname()[1]
        with pytest.raises(AddressTaken, match=f"127.0.0.1:{port} is already in use"):
            refuse_taken_addresses([("127.0.0.1", port)])


def test_a_free_address_and_a_unix_socket_pass():
    with _listening(False) as listener:
        port = listener.getsockname()[1]
    refuse_taken_addresses([("127.0.0.1", port), "/tmp/checkout-test.sock"])


def test_a_second_server_on_a_taken_port_does_not_start(tmp_path):
    """As another `make serve` left running would hold it: SO_REUSEPORT alone would let this
    one bind too and take half the connections without a word."""
    (tmp_path / "prometheus").mkdir()
    with _listening(True) as listener:
        port = listener.getsockname()[1]
        env = {**os.environ, "SECRET_KEY": "second-server-test", "CHECKOUT_ENV": "development",
               "DATABASE_URL": f"sqlite:///{tmp_path / 'shop.sqlite'}",
               "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite'}",
               "HUEY_DATABASE": str(tmp_path / "huey.sqlite"), "GUNICORN_WORKERS": "1",
               "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
               "GUNICORN_REUSE_PORT": "1"}
        env.pop("GUNICORN_CMD_ARGS", None)
        started = subprocess.run(
            [str(Path(sys.executable).parent / "gunicorn"), "--bind", f"127.0.0.1:{port}",
             "wsgi:app"], cwd=GUNICORN_CONF.parent, env=env, capture_output=True, text=True,
            timeout=60)
    assert started.returncode != 0
    assert f"127.0.0.1:{port} is already in use" in started.stderr
