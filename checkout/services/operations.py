"""What the operator's probes and dashboards ask: is the shop ready, how far behind is mail."""

import ast
import logging
from dataclasses import dataclass
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


class _NotUnderstood(ValueError):
    """Migration files this module cannot vouch for by reading literal ids (Alembic then does)."""


def _revision_of(path: Path) -> tuple[str, set[str]] | None:
    """A migration file's revision and the revisions it builds on, read from its source
    (None for a file that names no revision); _NotUnderstood when they are not literals."""
    values = {}
    try:
        # Bytes, as Python reads a module: a byte-order mark or a coding line is honoured.
        tree = ast.parse(path.read_bytes())
        for node in tree.body:
            targets = (node.targets if isinstance(node, ast.Assign)
                       else [node.target] if isinstance(node, ast.AnnAssign) and node.value
                       else [])
            for target in targets:
                if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
                    values[target.id] = ast.literal_eval(node.value)
    except (SyntaxError, ValueError, OSError) as error:
        raise _NotUnderstood(f"{path.name}: {error}") from error
    if "revision" not in values:
        return None
    down = values.get("down_revision")
    if not isinstance(values["revision"], str) or not (
            down is None or isinstance(down, str)
            or (isinstance(down, tuple | list) and all(isinstance(d, str) for d in down))):
        raise _NotUnderstood(f"{path.name}: revision ids that are not strings")
    return values["revision"], {down} if isinstance(down, str) else set(down or ())


def _revision_files(directory: str) -> list[Path]:
    # Alembic's own rule: Python files, not __init__, not an editor's lock file (".#name").
    return sorted(path for path in Path(directory, "versions").glob("*.py")
                  if not path.name.startswith((".#", "__init__")))


def _alembic_heads(directory: str) -> frozenset[str]:
    """Alembic's answer, for a folder whose files this module cannot read by itself."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", directory)
    return frozenset(ScriptDirectory.from_config(config).get_heads())


_heads_read: dict[str, tuple[tuple, frozenset[str]]] = {}


def code_heads(directory: str) -> frozenset[str]:
    """The revisions no other revision builds on: what `flask db heads` says.

    Read from the migration files' source instead of through Alembic, which would add some
    6 MiB to every worker a readiness probe reaches (tests/test_operations.py holds the two to
    the same answer). The answer is kept until a file is added, removed or changed: one `stat`
    per file a probe. Anything short of plain literal ids forming a chain of revisions (ids
    computed or assigned in a block, a missing folder, a revision that is not there, a loop)
    is left to Alembic: as correct as before, and as heavy.
    """
    files = _revision_files(directory)
    signature = tuple((path.name, *_stamp(path)) for path in files)
    kept = _heads_read.get(directory)
    if kept is not None and kept[0] == signature:
        return kept[1]
    revisions, built_on = set(), set()
    try:
        if not files:
            raise _NotUnderstood("no revision files")
        for path in files:
            found = _revision_of(path)
            if found is None:
                raise _NotUnderstood(f"{path.name}: no revision id")
            revision, parents = found
            if revision in revisions or revision in parents:
                raise _NotUnderstood(f"{path.name}: revision {revision} twice, or on itself")
            revisions.add(revision)
            built_on |= parents
        if not built_on <= revisions:
            raise _NotUnderstood(f"builds on {sorted(built_on - revisions)}, not there")
        heads = frozenset(revisions - built_on)
        if not heads:
            raise _NotUnderstood("no head: the revisions build on each other in a loop")
    except _NotUnderstood as error:
        # Alembic then says what is wrong (a missing folder, a loop) as it always did, or
        # reads what this module cannot (ids computed, assigned in a block).
        log.info("reading the migration heads through Alembic: %s", error)
        heads = _alembic_heads(directory)
    _heads_read[directory] = (signature, heads)
    return heads


def _stamp(path: Path) -> tuple[int, int]:
    try:
        found = path.stat()
    except OSError:
        return (0, -1)
    return (found.st_mtime_ns, found.st_size)


def _database_revisions(connection) -> set[str]:
    if not inspect(connection).has_table(VERSION_TABLE):
        return set()
    return set(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars())


def _migrations() -> Check:
    try:
        heads = code_heads(current_app.extensions["migrate"].directory)
    except Exception as exc:  # what Python or Alembic says of the files: a syntax error, a loop
        log.warning("readiness: the migration files could not be read: %s", type(exc).__name__)
        return Check("migrations", False,
                     f"the migration files could not be read ({type(exc).__name__})")
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
