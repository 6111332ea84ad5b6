"""Count the SQL statements and commits the shop's engine runs while a block executes."""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask
from sqlalchemy import event

from checkout.extensions import db

# Transaction control: PostgreSQL's driver sends BEGIN itself, SQLite's is ours; not counted.
CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


@dataclass
class StatementLog:
    # Every statement but transaction control, in order; an executemany is one statement.
    statements: list[str] = field(default_factory=list)
    # How each transaction began, as sent (SQLite: "BEGIN" or "BEGIN IMMEDIATE").
    begins: list[str] = field(default_factory=list)
    commits: int = 0
    # Each UPDATE or DELETE sent as an executemany, with how many parameter sets: one
    # statement on the log, but a row's round of work per set.
    batched: list[tuple[str, int]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def summary(self) -> str:
        return "\n".join(" ".join(s.split())[:160] for s in self.statements)


@contextmanager
def statements(app: Flask) -> Iterator[StatementLog]:
    """Log every statement and commit on the shop's engine (the sandbox has its own) meanwhile."""
    with app.app_context():
        engine = db.engine
    log = StatementLog()

    def on_execute(conn, cursor, statement, parameters, context, executemany):
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb == "BEGIN":
            log.begins.append(" ".join(statement.split()).upper())
        elif verb not in CONTROL:
            log.statements.append(statement)
            if executemany and verb in ("UPDATE", "DELETE"):
                log.batched.append((" ".join(statement.split())[:120], len(parameters)))

    def on_commit(conn):
        log.commits += 1

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    try:
        yield log
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
