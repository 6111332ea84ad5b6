"""The staff orders search's trigram index, which lives outside the ORM's metadata.

Staff search orders by any part of the number, e-mail or name. A B-tree index cannot answer
"contains", so the database keeps a trigram index: on PostgreSQL a GIN index per column with
pg_trgm's operator class, on SQLite an FTS5 table with the trigram tokenizer, filled from the
order table by triggers. The migration creates them; `SEARCH_INDEX_NAMES` lets Alembic's
comparison skip what it cannot model (a virtual table and its shadow tables, expression
indexes).

A batch ALTER of the order table on SQLite copies the table and drops the old one, and its
triggers go with it: a migration that does so must run `SQLITE_TRIGGERS` again (the search
tests fail if it does not, because new orders would be missing from the index).
"""

from sqlalchemy import Column, Integer, MetaData, Table

SQLITE_VIRTUAL_TABLE = (
    "CREATE VIRTUAL TABLE order_search USING fts5("
    "number, email, ship_name, content='order', content_rowid='id', tokenize='trigram')"
)
_COLUMNS = "number, email, ship_name"
_NEW = "new.id, new.number, new.email, new.ship_name"
_OLD = "'delete', old.id, old.number, old.email, old.ship_name"
SQLITE_TRIGGERS = {
    "order_search_insert": (
        'CREATE TRIGGER order_search_insert AFTER INSERT ON "order" BEGIN '
        f"INSERT INTO order_search(rowid, {_COLUMNS}) VALUES ({_NEW}); END"
    ),
    "order_search_delete": (
        'CREATE TRIGGER order_search_delete AFTER DELETE ON "order" BEGIN '
        f"INSERT INTO order_search(order_search, rowid, {_COLUMNS}) VALUES ({_OLD}); END"
    ),
    "order_search_update": (
        f'CREATE TRIGGER order_search_update AFTER UPDATE OF {_COLUMNS} ON "order" BEGIN '
        f"INSERT INTO order_search(order_search, rowid, {_COLUMNS}) VALUES ({_OLD}); "
        f"INSERT INTO order_search(rowid, {_COLUMNS}) VALUES ({_NEW}); END"
    ),
}
POSTGRESQL_INDEXES = {
    "ix_order_search_number": "number",
    "ix_order_search_email": "email",
    "ix_order_search_ship_name": "ship_name",
}
SEARCH_INDEX_NAMES = frozenset({"order_search", *POSTGRESQL_INDEXES})

# Only for queries: kept out of the models' metadata so create_all and Alembic never see it.
order_search = Table("order_search", MetaData(), Column("rowid", Integer),
                     Column("order_search", Integer))


def is_search_index(name: str | None, type_: str) -> bool:
    """Tell whether `name` is part of the search index (FTS5 shadow tables included)."""
    if name is None:
        return False
    return name in SEARCH_INDEX_NAMES or (type_ == "table" and name.startswith("order_search_"))


def include_name(name: str | None, type_: str, parent_names) -> bool:
    """Alembic's `include_name` hook: compare everything but the search index."""
    return not is_search_index(name, type_)
