"""Audit s5: /readyz's migrations check (checkout/services/operations.py, since 5ba35f6) gives the
answer it gave through Alembic (7adbdca's `_migrations`, copied below as `_alembic_migrations`)
for every database state and for the migration files Alembic accepts.

Guards (pass): migrated, empty, one revision behind, unknown revision, empty version table,
unreachable database; on SQLite and, with TEST_DATABASE_URL, PostgreSQL.
Findings (fail): code_heads breaks on files Alembic reads (an Emacs lock file beside a
revision being edited, a UTF-8 byte-order mark) and, being lru-cached per process, keeps the
heads it first read after a new revision is added and applied (`make run`'s server, no
reloader, answers 503 "database at [new], code at [old]" until restarted).
"""

import os
import shutil
import socket

import pytest
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask, current_app
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, make_url, text

from checkout import PROJECT_ROOT
from checkout.extensions import db
from checkout.services import operations
from checkout.services.operations import Check, code_heads


def _alembic_migrations() -> Check:
    """7adbdca's checkout/services/operations.py `_migrations`, verbatim but for the config."""
    directory = current_app.extensions["migrate"].directory
    config = Config()
    config.set_main_option("script_location", directory)
    heads = set(ScriptDirectory.from_config(config).get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == heads:
        return Check("migrations", True, "at head")
    return Check("migrations", False,
                 f"database at {sorted(current) or 'nothing'}, code at {sorted(heads)}")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _database_url(tmp_path) -> str:
    url = os.environ.get("TEST_DATABASE_URL") or ""
    if url.startswith("postgresql"):
        # A database of its own on the suite's cluster: the suite's teardown checks its own.
        engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("DROP DATABASE IF EXISTS audit_s5_readiness"))
            conn.execute(text("CREATE DATABASE audit_s5_readiness"))
        engine.dispose()
        return make_url(url).set(database="audit_s5_readiness").render_as_string(False)
    return f"sqlite:///{tmp_path / 'shop.sqlite'}"


@pytest.fixture
def readiness_app(make_app, tmp_path):
    """An app on this module's database (PostgreSQL on the suite's PostgreSQL pass), or `url`."""
    return lambda url=None: make_app(SQLALCHEMY_DATABASE_URI=url or _database_url(tmp_path))


def _both_answers(app: Flask, monkeypatch) -> tuple:
    client = app.test_client()
    now = client.get("/readyz")
    with monkeypatch.context() as patched:
        patched.setattr(operations, "_migrations", _alembic_migrations)
        before = client.get("/readyz")
    return (now.status_code, now.json), (before.status_code, before.json)


def _set_up(state: str) -> None:
    if state == "empty":
        return
    upgrade()
    if state == "behind":
        downgrade(revision="-1")
    elif state == "unknown revision":
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = 'deadbeef0000'"))
    elif state == "empty version table":
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM alembic_version"))


@pytest.mark.parametrize("state", ["migrated", "empty", "behind", "unknown revision",
                                   "empty version table"])
def test_readyz_answers_as_it_did_through_alembic(readiness_app, monkeypatch, state):
    app = readiness_app()
    with app.app_context():
        _set_up(state)
        db.session.remove()
    now, before = _both_answers(app, monkeypatch)
    assert now == before
    assert now[0] == (200 if state == "migrated" else 503)


def test_readyz_answers_as_before_on_an_unreachable_database(readiness_app, monkeypatch):
    app = readiness_app(f"postgresql+psycopg://shop:pw@127.0.0.1:{_closed_port()}/shop")
    now, before = _both_answers(app, monkeypatch)
    assert now == before


def _alembic_heads(directory) -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(directory))
    return set(ScriptDirectory.from_config(config).get_heads())


def _two_revisions(tmp_path, second_prefix: str = "") -> None:
    (tmp_path / "versions").mkdir()
    (tmp_path / "script.py.mako").write_text("")
    body = "\ndef upgrade():\n    pass\n\ndef downgrade():\n    pass\n"
    (tmp_path / "versions" / "a1_first.py").write_text(
        "revision = 'a1'\ndown_revision = None\n" + body, encoding="utf-8")
    (tmp_path / "versions" / "b2_second.py").write_text(
        second_prefix + "revision = 'b2'\ndown_revision = 'a1'\n" + body, encoding="utf-8")


def test_code_heads_skips_an_emacs_lock_file_as_alembic_does(tmp_path):
    # Emacs marks a file being edited with a dangling symlink `.#<name>`; Alembic's file pattern
    # (`^(?!\.\#)(.*\.py)`) skips it, pathlib's glob("*.py") does not, and read_text() raises
    # FileNotFoundError: /readyz answers 503 "unreachable (FileNotFoundError)" while it lasts.
    _two_revisions(tmp_path)
    os.symlink("dev@laptop.4242:1700000000", tmp_path / "versions" / ".#b2_second.py")
    assert _alembic_heads(tmp_path) == {"b2"}
    assert code_heads(str(tmp_path)) == {"b2"}


def test_code_heads_reads_a_revision_saved_with_a_byte_order_mark_as_alembic_does(tmp_path):
    # Python (so Alembic) reads a UTF-8 file with a BOM; read_text(encoding="utf-8") keeps the
    # U+FEFF and ast.parse raises SyntaxError: /readyz 503 for as long as the file is deployed.
    _two_revisions(tmp_path, second_prefix="\ufeff")
    assert _alembic_heads(tmp_path) == {"b2"}
    assert code_heads(str(tmp_path)) == {"b2"}


def test_readyz_sees_a_revision_added_and_applied_while_the_server_runs(readiness_app, tmp_path):
    # Before 5ba35f6 each probe read the migration files; now the first answer is kept for the
    # process's life (lru_cache). A developer with `make run` open (flask run, no reloader) who
    # runs `flask db migrate` + `flask db upgrade` gets 503 from the running server.
    directory = tmp_path / "migrations"
    shutil.copytree(PROJECT_ROOT / "migrations", directory,
                    ignore=shutil.ignore_patterns("__pycache__"))
    app = readiness_app()
    app.extensions["migrate"].directory = str(directory)
    client = app.test_client()
    with app.app_context():
        upgrade()
        db.session.remove()
    assert client.get("/readyz").status_code == 200
    (head,) = _alembic_heads(directory)
    (directory / "versions" / "ffff00000001_audit_new_step.py").write_text(
        f"revision = 'ffff00000001'\ndown_revision = {head!r}\nbranch_labels = None\n"
        "depends_on = None\n\ndef upgrade():\n    pass\n\ndef downgrade():\n    pass\n")
    with app.app_context():
        upgrade()
        db.session.remove()
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.json
