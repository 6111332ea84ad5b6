"""Audit s5, guard (pass): the lazy `flask db` group (checkout/deferred_migrate.py) hands
Flask-Migrate the same directory and -x arguments as Flask-Migrate's own group does, whether
they are given before or after the subcommand, and prints the same output; env.py's
`current_app.extensions['migrate'].db` / `.configure_args` are Flask-Migrate's afterwards.
tests/test_memory.py only checks `flask db --help`."""

import re

import flask_migrate
import pytest
from flask_migrate.cli import db as flask_migrates_group

from checkout.deferred_migrate import migration_commands
from checkout.extensions import db

CASES = [
    ["heads"],
    ["-d", "migrations", "heads"],
    ["heads", "-d", "migrations"],
    ["-x", "k=v", "upgrade"],
    ["upgrade", "-x", "k2=v2"],
    ["-d", "migrations", "-x", "a=1", "current"],
    ["-x", "k=v", "check"],
    ["-d", "/nonexistent", "current"],
]


@pytest.mark.parametrize("args", CASES, ids=[" ".join(c) for c in CASES])
def test_the_lazy_group_passes_what_flask_migrates_group_passes(make_app, monkeypatch, args):
    seen = []
    real = flask_migrate.Migrate.get_config

    def spy(self, directory=None, x_arg=None, opts=None):
        from flask import g
        seen.append((directory, x_arg, getattr(g, "directory", None), getattr(g, "x_arg", None)))
        return real(self, directory, x_arg, opts)

    monkeypatch.setattr(flask_migrate.Migrate, "get_config", spy)
    answers = []
    # Each group on a fresh app (its migrate extension still pending) and a fresh database.
    for group in (migration_commands, flask_migrates_group):
        app = make_app()
        assert type(app.extensions["migrate"]).__name__ == "_PendingMigrate"
        seen.clear()
        result = app.test_cli_runner().invoke(group, args)
        # Log lines carry their time: drop it.
        output = re.sub(r"^[\d-]+ [\d:,]+ ", "", result.output, flags=re.MULTILINE)
        answers.append((result.exit_code, output, list(seen)))
        migrate = app.extensions["migrate"]
        assert type(migrate).__name__ == "_MigrateConfig" and migrate.db is db
        assert migrate.configure_args["compare_type"] is True
    assert answers[0] == answers[1]
