"""Attack on issue 11's `code_heads` (checkout/services/operations.py): /readyz now reads the
code's migration heads with `ast` instead of Alembic. Where Alembic answers, the answer must be
Alembic's; where Alembic refuses the folder (the old /readyz said 503), /readyz must not say
ready."""

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from checkout.services.operations import code_heads

TAIL = b"branch_labels = None\ndepends_on = None\n\ndef upgrade():\n    pass\n\n" \
       b"def downgrade():\n    pass\n"
ROOT = b"revision = 'a1'\ndown_revision = None\n"


def _folder(tmp_path: Path, files: dict[str, bytes]) -> Path:
    folder = tmp_path / "migrations"
    (folder / "versions").mkdir(parents=True)
    (folder / "script.py.mako").write_text("")
    for name, head in files.items():
        (folder / "versions" / f"{name}_step.py").write_bytes(head + TAIL)
    return folder


def _alembic_heads(folder: Path) -> set[str]:
    config = Config()
    config.set_main_option("script_location", str(folder))
    return set(ScriptDirectory.from_config(config).get_heads())


# Valid Python that Alembic (which imports the file) reads without complaint.
VALID = {
    "revision_from_a_variable": b"REV = 'b2'\nrevision = REV\ndown_revision = 'a1'\n",
    "utf8_byte_order_mark": b"\xef\xbb\xbfrevision = 'b2'\ndown_revision = 'a1'\n",
    "pep263_latin1_comment": b"# -*- coding: latin-1 -*-\n# caf\xe9\n"
                             b"revision = 'b2'\ndown_revision = 'a1'\n",
    "tuple_assignment": b"revision, down_revision = 'b2', 'a1'\n",
    "assigned_inside_if": b"if True:\n    revision = 'b2'\n    down_revision = 'a1'\n",
}


@pytest.mark.parametrize("shape", sorted(VALID))
def test_code_heads_are_alembics_for_valid_python(tmp_path, shape):
    folder = _folder(tmp_path, {"a1": ROOT, "b2": VALID[shape]})
    assert _alembic_heads(folder) == {"b2"}
    try:
        heads = set(code_heads(str(folder)))
    except Exception as exc:  # the old code answered; /readyz now says 503 on a migrated db
        heads = f"raised {type(exc).__name__}"
    assert heads == {"b2"}


# Folders Alembic refuses (the old /readyz: 503). code_heads answers instead.
BROKEN = {
    "self_loop": {"a1": b"revision = 'a1'\ndown_revision = 'a1'\n"},
    "missing_down_revision": {"a1": ROOT, "b2": b"revision = 'b2'\ndown_revision = 'zz'\n"},
    "file_without_revision": {"a1": ROOT, "b2": b"down_revision = 'a1'\n"},
    "integer_revision": {"a1": ROOT, "b2": b"revision = 5\ndown_revision = 'a1'\n"},
}


@pytest.fixture
def fresh_app(make_app):
    return make_app()


@pytest.mark.parametrize("shape", sorted(BROKEN))
def test_code_heads_refuses_what_alembic_refuses(tmp_path, shape):
    folder = _folder(tmp_path, BROKEN[shape])
    try:
        _alembic_heads(folder)
    except Exception as refused:  # noqa: BLE001 (whatever Alembic raises, code_heads must too)
        alembic_raises = type(refused)
    else:
        pytest.fail("Alembic read the folder")
    with pytest.raises(alembic_raises):
        code_heads(str(folder))


def test_readyz_is_not_ready_on_an_empty_database_with_a_self_looping_migration(
        tmp_path, fresh_app):
    # Alembic: LoopDetected, so the old /readyz said 503. code_heads: no heads at all, which
    # equals an empty database's revisions: "at head", 200, on a database with no tables.
    folder = _folder(tmp_path, BROKEN["self_loop"])
    fresh_app.extensions["migrate"].directory = str(folder)
    answer = fresh_app.test_client().get("/readyz")
    assert answer.status_code == 503, answer.json


def test_readyz_on_a_migration_with_a_syntax_error_is_a_clear_503_not_unreachable(
        tmp_path, fresh_app):
    # Even where code_heads raises, /readyz must say what is wrong; it says (as the old
    # Alembic-based code did, so not a regression of this change) the
    # migrations are "unreachable (SyntaxError)" like a dead database.
    folder = _folder(tmp_path, {"a1": ROOT, "b2": b"revision = 'b2'\ndown_revision = 'a1'\nx = ("})
    fresh_app.extensions["migrate"].directory = str(folder)
    answer = fresh_app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert "unreachable" not in answer.json["checks"]["migrations"]["detail"], answer.json


def test_readyz_is_not_ready_when_the_migrations_folder_is_missing(tmp_path, fresh_app):
    # Alembic: CommandError "Path doesn't exist" (old /readyz: 503). code_heads globs nothing,
    # no heads, equal to an empty database's: 200 "at head" with no tables (a deploy that
    # ships without migrations/ looks ready).
    fresh_app.extensions["migrate"].directory = str(tmp_path / "no-such-folder")
    answer = fresh_app.test_client().get("/readyz")
    assert answer.status_code == 503, answer.json


def test_code_heads_skips_an_editor_lock_file_as_alembic_does(tmp_path):
    # Emacs leaves `.#name.py`, a dangling symlink, beside a file being edited; Alembic skips
    # names starting `.#`, code_heads reads it: FileNotFoundError, /readyz 503 "unreachable".
    folder = _folder(tmp_path, {"a1": ROOT})
    (folder / "versions" / ".#a1_step.py").symlink_to("root@host.1234:1700000000")
    assert _alembic_heads(folder) == {"a1"}
    assert code_heads(str(folder)) == {"a1"}
