"""What the operator's probes and dashboards ask: is the shop ready, how far behind is mail."""

import logging
from dataclasses import dataclass

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from huey import Huey
from sqlalchemy import func, select, text

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


def _migrations() -> Check:
    directory = current_app.extensions["migrate"].directory
    heads = set(ScriptDirectory.from_config(_alembic_config(directory)).get_heads())
    with db.engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    if current == heads:
        return Check("migrations", True, "at head")
    # Revision ids are not secret, and they say exactly what `flask db upgrade` would do.
    return Check("migrations", False,
                 f"database at {sorted(current) or 'nothing'}, code at {sorted(heads)}")


def _alembic_config(directory: str) -> Config:
    config = Config()
    config.set_main_option("script_location", directory)
    return config


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
