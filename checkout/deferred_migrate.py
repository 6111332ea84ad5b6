"""Flask-Migrate, imported when a migration runs rather than in every web worker.

Importing Flask-Migrate imports Alembic: some 6 MiB resident in each gunicorn worker, which
never migrates (issue 11's memory target). `flask db …` and `flask_migrate.upgrade()` (the
tests, `make run`) work as before: the `db` command group imports Flask-Migrate's commands when
one runs, and `app.extensions["migrate"]` becomes Flask-Migrate's own object the first time
anything but its directory is asked of it.
"""

import threading

import click
from flask import Flask
from flask_sqlalchemy import SQLAlchemy


def _flask_migrate_commands() -> click.Group:
    from flask_migrate.cli import db as commands

    return commands


class _MigrationCommands(click.Group):
    """`flask db`'s subcommands: Flask-Migrate's, looked up when the group runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return _flask_migrate_commands().list_commands(ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return _flask_migrate_commands().get_command(ctx, name)


# The group's own options are Flask-Migrate's (click parses them before any subcommand loads).
@click.group("db", cls=_MigrationCommands)
@click.option("-d", "--directory", default=None,
              help='Migration script directory (default is "migrations")')
@click.option("-x", "--x-arg", multiple=True,
              help="Additional arguments consumed by custom env.py scripts")
@click.pass_context
def migration_commands(ctx: click.Context, directory: str | None, x_arg: tuple[str, ...]) -> None:
    """Perform database migrations."""
    ctx.invoke(_flask_migrate_commands().callback, directory=directory, x_arg=x_arg)


class _PendingMigrate:
    """Stands in app.extensions["migrate"] until Flask-Migrate is needed, then passes every
    read on to Flask-Migrate's own object (made once, whoever holds this one)."""

    def __init__(self, app: Flask, db: SQLAlchemy, directory: str) -> None:
        self.directory = directory
        self._app, self._db = app, db
        self._made = None
        self._making = threading.Lock()

    def _real(self):
        with self._making:
            if self._made is None:
                from flask_migrate import Migrate

                # Flask-Migrate puts its own object in app.extensions["migrate"] (and its `db`
                # group in app.cli), with the directory as it is now.
                Migrate(self._app, self._db, directory=self.directory)
                self._made = self._app.extensions["migrate"]
            return self._made

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._real(), name)


class DeferredMigrate:
    """Bind as Flask-Migrate's Migrate is bound: `init_app(app, db, directory=...)`."""

    def init_app(self, app: Flask, db: SQLAlchemy, directory: str) -> None:
        app.extensions["migrate"] = _PendingMigrate(app, db, str(directory))
        app.cli.add_command(migration_commands)

