"""Attack on issue 11's `_PendingMigrate` (checkout/deferred_migrate.py): it becomes
Flask-Migrate's object "on first other attribute access", but every access through a reference
taken before that (or racing threads) binds Flask-Migrate again: a new Migrate, a new
app.extensions["migrate"], the `db` command re-added each time."""

import threading

import flask_migrate
import pytest


@pytest.fixture
def fresh_app(make_app):
    return make_app()


@pytest.fixture
def binds(monkeypatch):
    calls = []
    original = flask_migrate.Migrate.init_app

    def counting(self, *args, **kwargs):
        calls.append(threading.get_ident())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(flask_migrate.Migrate, "init_app", counting)
    return calls


def test_a_held_reference_binds_flask_migrate_once(fresh_app, binds):
    pending = fresh_app.extensions["migrate"]
    first = pending.migrate
    second = pending.migrate
    assert len(binds) == 1
    assert first is second


def test_racing_threads_bind_flask_migrate_once(fresh_app, binds):
    pending = fresh_app.extensions["migrate"]
    barrier = threading.Barrier(8)
    seen = []

    def touch():
        barrier.wait()
        seen.append(pending.migrate)

    threads = [threading.Thread(target=touch) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(binds) == 1
    assert len({id(migrate) for migrate in seen}) == 1
