"""What the operator's probes and dashboards ask: is the shop ready, how far behind is mail."""

import ast
import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from flask import current_app
from huey import Huey
from sqlalchemy import func, inspect, select, text

from checkout.db import now_utc
from checkout.domain.message_status import MessageStatus
from checkout.extensions import db
from checkout.models import OutboxMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def _database() -> Check:
    db.session.execute(text("SELECT 1"))
    return Check("database", True, "reachable")


# Alembic's bookkeeping table (migrations/env.py keeps the default name).
VERSION_TABLE = "alembic_version"


def _revision_of(path: Path) -> tuple[str, set[str]] | None:
    """A migration file's revision and the revisions it builds on, read from its source."""
    values = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AnnAssign) and node.value else [])
        for target in targets:
            if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                values[target.id] = ast.literal_eval(node.value)
    if not isinstance(values.get("revision"), str):
        return None
    down = values.get("down_revision")
    return values["revision"], {down} if isinstance(down, str) else set(down or ())


@lru_cache(maxsize=8)
def code_heads(directory: str) -> frozenset[str]:
    """The revisions no other revision builds on: what `flask db heads` says, read from the
    migration files once per process instead of through Alembic, which would add some 6 MiB
    to every worker a readiness probe reaches (tests/test_worker_imports.py holds the two to
    the same answer)."""
    revisions, built_on = set(), set()
    for path in sorted(Path(directory, "versions").glob("*.py")):
        found = _revision_of(path)
        if found is not None:
            revisions.add(found[0])
            built_on |= found[1]
    return frozenset(revisions - built_on)


def _database_revisions(connection) -> set[str]:
    if not inspect(connection).has_table(VERSION_TABLE):
        return set()
    return set(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def _migrations() -> Check:
    heads = code_heads(current_app.extensions["migrate"].directory)
    with db.engine.connect() as connection:
        current = _database_revisions(connection)
    if current == heads:
        return Check("migrations", True, "at head")
    # Revision ids are not secret, and they say exactly what `flask db upgrade` would do.
    return Check("migrations", False,
                 f"database at {sorted(current) or 'nothing'}, code at {sorted(heads)}")


def _queue() -> Check:
    huey: Huey = current_app.extensions["huey"]
    # Both stores answer this with a real round trip: LLEN on Redis, a SELECT on SQLite.
    waiting = huey.storage.queue_size()
    return Check("queue", True, f"{waiting} waiting")


def readiness() -> list[Check]:
    """Check the database, the migrations and the job queue; a failing check says which."""
    checks = []
    for name, probe in (("database", _database), ("migrations", _migrations), ("queue", _queue)):
        if name == "migrations" and not checks[0].ok:
            # Asking an unreachable database again would only double the probe's wait.
            checks.append(Check(name, False, "not checked: the database is unreachable"))
            continue
        try:
            checks.append(probe())
        except Exception as exc:
            # The error's text can hold a connection URL with its password: log the class only.
            log.warning("readiness check %s failed: %s", name, type(exc).__name__)
            checks.append(Check(name, False, f"unreachable ({type(exc).__name__})"))
        finally:
            db.session.rollback()
    return checks


def outbox_backlog() -> list[tuple[str, str, list]]:
    """Gauges of the mail not yet sent: how many wait, how many gave up, the oldest's age."""
    rows = db.session.execute(
        select(OutboxMessage.status, func.count(), func.min(OutboxMessage.created_at))
        .where(OutboxMessage.status.in_([MessageStatus.PENDING, MessageStatus.FAILED]))
        .group_by(OutboxMessage.status)
    ).all()
    db.session.rollback()
    counts = {status: 0 for status in (MessageStatus.PENDING, MessageStatus.FAILED)}
    oldest = None
    for status, count, created in rows:
        counts[MessageStatus(status)] = count
        if status == MessageStatus.PENDING:
            oldest = created
    age = max(0.0, (now_utc() - oldest).total_seconds()) if oldest else 0.0
    return [
        ("checkout_outbox_backlog", "E-mail in the outbox not sent yet (pending) or given up on "
         "(failed).", [({"status": str(status)}, count) for status, count in counts.items()]),
        ("checkout_outbox_oldest_pending_age_seconds", "Age of the oldest e-mail still waiting "
         "to be sent (0 when none waits).", [({}, age)]),
    ]
