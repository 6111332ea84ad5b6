"""`make serve`'s settings: gthread workers with threads, and a database pool to match."""

import runpy
from pathlib import Path

import pytest

from checkout import create_app
from checkout.config import DEFAULT_WEB_THREADS
from checkout.extensions import db

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
