"""the staff orders search reads a trigram index instead of every order; payments by status

Revision ID: 3a7c9e1f2b84
Revises: 2e145aa2bd2f
Create Date: 2026-11-30 08:00:00.000000

"""
from alembic import op

from checkout.models.order_search_index import (
    POSTGRESQL_INDEXES,
    SQLITE_TRIGGERS,
    SQLITE_VIRTUAL_TABLE,
)

# revision identifiers, used by Alembic.
revision = '3a7c9e1f2b84'
down_revision = '2e145aa2bd2f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_payment_status_order_id', 'payment', ['status', 'order_id'], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(SQLITE_VIRTUAL_TABLE)
        for trigger in SQLITE_TRIGGERS.values():
            op.execute(trigger)
        # The orders already there: FTS5 reads them from the content table.
        op.execute("INSERT INTO order_search(order_search) VALUES ('rebuild')")
    elif dialect == "postgresql":
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, column in POSTGRESQL_INDEXES.items():
            op.execute(f'CREATE INDEX {name} ON "order" USING gin (lower({column}) gin_trgm_ops)')


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS order_search")
    elif dialect == "postgresql":
        # The extension stays: other database objects may use it, and it costs nothing idle.
        for name in POSTGRESQL_INDEXES:
            op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_index('ix_payment_status_order_id', table_name='payment')
