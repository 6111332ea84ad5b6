"""/healthz says the process is up; /readyz checks the database, migrations and queue."""

import socket
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from checkout import PROJECT_ROOT
from checkout.services.operations import code_heads


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_healthz_answers_without_touching_the_database(make_app):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"postgresql+psycopg://shop:pw@127.0.0.1:"
                                           f"{closed_port()}/shop")
    answer = app.test_client().get("/healthz")
    assert (answer.status_code, answer.json) == (200, {"status": "ok"})


def test_readyz_is_ready_on_a_migrated_database_with_its_queue(app, client):
    answer = client.get("/readyz")
    assert answer.status_code == 200, answer.json
    assert answer.json["failed"] == []
    assert {name: check["ok"] for name, check in answer.json["checks"].items()} == {
        "database": True, "migrations": True, "queue": True,
    }


def test_readyz_names_migrations_not_applied(make_app):
    answer = make_app().test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["failed"] == ["migrations"]
    assert "database at nothing" in answer.json["checks"]["migrations"]["detail"]


def test_readyz_names_an_unreachable_database_without_its_password(make_app):
    url = f"postgresql+psycopg://shop:hunter2secret@127.0.0.1:{closed_port()}/shop"
    answer = make_app(SQLALCHEMY_DATABASE_URI=url).test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["failed"] == ["database", "migrations"]
    assert "hunter2secret" not in answer.get_data(as_text=True)


def test_readyz_names_an_unreachable_queue(make_app, app):
    answer = make_app(
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0",
    ).test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["failed"] == ["queue"]


# The readiness check reads the code's heads from the migration files (not through Alembic,
# which would load into every worker a probe reaches): the same answer as Alembic's.

def _alembic_heads(directory: Path) -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(directory))
    return set(ScriptDirectory.from_config(config).get_heads())


def test_the_code_heads_are_alembics_for_the_shops_migrations():
    directory = PROJECT_ROOT / "migrations"
    assert code_heads(str(directory)) == _alembic_heads(directory)
    assert len(code_heads(str(directory))) == 1


def _revision(folder: Path, revision: str, down, typed: bool = False) -> None:
    if typed:
        text = (f"from typing import Sequence, Union\n"
                f"revision: str = {revision!r}\n"
                f"down_revision: Union[str, Sequence[str], None] = {down!r}\n")
    else:
        text = f"revision = {revision!r}\ndown_revision = {down!r}\n"
    text += "branch_labels = None\ndepends_on = None\n\ndef upgrade():\n    pass\n\n" \
            "def downgrade():\n    pass\n"
    (folder / "versions" / f"{revision}_step.py").write_text(text)


@pytest.mark.parametrize("shape, expected", [
    # a1 ← b2 ← c3: one head.
    ([("a1", None), ("b2", "a1"), ("c3", "b2")], {"c3"}),
    # Two branches from a1, not merged: two heads.
    ([("a1", None), ("b2", "a1"), ("c3", "a1")], {"b2", "c3"}),
    # The branches merged (a tuple down_revision): one head again.
    ([("a1", None), ("b2", "a1"), ("c3", "a1"), ("d4", ("b2", "c3"))], {"d4"}),
])
def test_the_code_heads_are_alembics_for_branches_and_merges(tmp_path, shape, expected):
    (tmp_path / "versions").mkdir()
    (tmp_path / "script.py.mako").write_text("")
    for n, (revision, down) in enumerate(shape):
        _revision(tmp_path, revision, down, typed=n % 2 == 1)
    (tmp_path / "versions" / "__init__.py").write_text("")
    (tmp_path / "versions" / "notes.txt").write_text("not a revision")
    assert _alembic_heads(tmp_path) == expected
    assert code_heads(str(tmp_path)) == expected


def test_revision_ids_that_are_not_literals_are_left_to_alembic(tmp_path):
    (tmp_path / "versions").mkdir()
    (tmp_path / "script.py.mako").write_text("")
    _revision(tmp_path, "a1", None)
    (tmp_path / "versions" / "b2_step.py").write_text(
        "PARENT = 'a1'\nrevision = 'b' + '2'\ndown_revision = PARENT\n"
        "def upgrade():\n    pass\n\ndef downgrade():\n    pass\n")
    assert _alembic_heads(tmp_path) == {"b2"}
    assert code_heads(str(tmp_path)) == {"b2"}
