"""Declarative base with a naming convention, a UTC datetime type and the clock."""

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def now_utc() -> datetime:
    """Return the current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Store aware datetimes as UTC; give them back aware even from SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# Statements that change the database (what a read-only transaction must never send).
WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER"})


class WriteInReadOnlyTransaction(RuntimeError):
    """A unit of work declared read-only (a GET) tried to write: it must declare that it writes."""


def is_write(statement: str) -> bool:
    """Say whether a SQL statement changes the database (by its leading verb)."""
    verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else ""
    return verb in WRITE_VERBS


# Each SQLite connection's page cache, in KiB (see configure_engine_events).
SQLITE_CACHE_KIB = 512


def _unicode_lower(value):
    return value.lower() if isinstance(value, str) else value


def configure_engine_events(engine, read_only: Callable[[], bool] = lambda: False) -> None:
    """Make SQLite behave for a web shop: WAL, foreign keys, and write-ahead transactions.

    SQLite lets a deferred transaction read and then fail to upgrade to a write lock when
    another writer got there first (SQLITE_BUSY without waiting). Every transaction that may
    write therefore starts with BEGIN IMMEDIATE, so writers queue on the busy timeout instead
    of failing. A transaction `read_only()` vouches for (a page that only reads) starts a
    plain deferred BEGIN instead: it reads a WAL snapshot beside the writer and never queues
    behind it. Such a transaction cannot upgrade safely, so a write in it raises
    WriteInReadOnlyTransaction at once, under load or not, rather than SQLITE_BUSY now and
    then. PostgreSQL needs none of this: its row locks and conditional UPDATEs do the work.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Each of a worker's pooled connections keeps its own page cache (2 MiB by default):
        # one search through 100,000 orders filled all eight and left a worker 12 MiB larger.
        # The operating system's file cache still holds the file, shared by every connection.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        cursor.close()
        # SQLite's lower() folds ASCII letters only: "Özil" stays "Özil". The staff search
        # compares with Python's lowering, as the needle is lowered (services/order_search.py).
        dbapi_connection.create_function("unicode_lower", 1, _unicode_lower, deterministic=True)

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        reading = read_only()
        connection.info["read_only"] = reading
        connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")

    @event.listens_for(engine, "before_cursor_execute")
    def _refuse_writes_when_reading(connection, _cursor, statement, *_args) -> None:
        if connection.info.get("read_only") and connection.in_transaction() and is_write(statement):
            raise WriteInReadOnlyTransaction(
                "a read-only request tried to write; mark its view with @writes: "
                + statement.split("(", 1)[0][:80]
            )
