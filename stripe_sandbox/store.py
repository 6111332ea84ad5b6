"""The sandbox's own tables, on its own engine: never the shop's database or metadata."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    select,
)
from sqlalchemy.exc import IntegrityError, OperationalError

metadata = MetaData()

# Every Stripe-shaped resource (checkout.session, payment_intent, charge, refund) as a JSON
# document, with the few columns queries filter on pulled out beside it.
objects = Table(
    "sandbox_object",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(100), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("status", String(40)),
    Column("expires_at", BigInteger),
    Column("payment_intent", String(100)),
    Column("body", Text, nullable=False),
    # Sandbox-only state that Stripe would never return (line items, card brand, pending changes).
    Column("extra", Text, nullable=False, default="{}"),
    Index("ix_sandbox_object_kind_status", "kind", "status"),
    Index("ix_sandbox_object_payment_intent", "payment_intent"),
)

events = Table(
    "sandbox_event",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(100), nullable=False, unique=True),
    Column("type", String(100), nullable=False),
    Column("created", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
    Index("ix_sandbox_event_type", "type"),
)

# One row per (event, endpoint) delivery job; resend adds another row.
deliveries = Table(
    "sandbox_delivery",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(100), nullable=False, index=True),
    Column("url", Text, nullable=False),
    # pending: waiting for its (next) attempt; delivered: got a 2xx; failed: gave up.
    Column("state", String(20), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", BigInteger, nullable=False),
    Column("claimed_until", Float),
    Column("claim_token", String(40)),
    Index("ix_sandbox_delivery_state_next", "state", "next_attempt_at"),
)

attempts = Table(
    "sandbox_delivery_attempt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("delivery_id", Integer, nullable=False, index=True),
    Column("event_id", String(100), nullable=False, index=True),
    Column("event_type", String(100), nullable=False),
    Column("url", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("sandbox_time", BigInteger, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Integer, nullable=False),
    Column("ok", Integer, nullable=False),
)

idempotency = Table(
    "sandbox_idempotency",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("endpoint", String(200), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("created", BigInteger, nullable=False),
    # in_flight until the first request finishes, then done with its response stored.
    Column("state", String(20), nullable=False),
    Column("status_code", Integer),
    Column("response", Text),
    Column("request_id", String(100)),
)

state = Table(
    "sandbox_state",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)


def make_engine(url: str) -> Engine:
    """Create the sandbox engine; SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE writes."""
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        # A deferred transaction that reads and then writes can fail with SQLITE_BUSY without
        # waiting when another process wrote in between; writers therefore take the lock up
        # front and queue on the busy timeout. Reads stay deferred so they never queue.
        if connection.get_execution_options().get("sandbox_read"):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


class Store:
    """Own the sandbox engine and create its tables once, on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self._lock:
                if self._engine is None:
                    engine = make_engine(self.url)
                    self._create_tables(engine)
                    self._engine = engine
        return self._engine

    @staticmethod
    def _create_tables(engine: Engine) -> None:
        for attempt in range(3):
            try:
                metadata.create_all(engine)
                return
            except (OperationalError, IntegrityError):
                # Another process created the same table between our check and our CREATE.
                if attempt == 2:
                    raise

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """Yield a connection inside one write transaction."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """Yield a connection for reads that never takes the write lock."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(sandbox_read=True)
            with conn.begin():
                yield conn

    def dispose(self) -> None:
        """Close every pooled connection."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def after_fork(self) -> None:
        """In a forked child: forget the parent's pooled connections without closing them
        (they are the parent's), so the child opens its own."""
        if self._engine is not None:
            self._engine.dispose(close=False)

    # Small helpers shared by the service code.

    @staticmethod
    def get_state(conn: Connection, name: str, default: str) -> str:
        value = conn.execute(select(state.c.value).where(state.c.name == name)).scalar()
        return default if value is None else value

    @staticmethod
    def set_state(conn: Connection, name: str, value: str) -> None:
        updated = conn.execute(state.update().where(state.c.name == name).values(value=value))
        if updated.rowcount == 0:
            conn.execute(state.insert().values(name=name, value=value))


def dumps(data: Any) -> str:
    """Serialise a document the same way everywhere (stable bytes for replays)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)
