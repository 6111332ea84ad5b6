"""actors keep a whole e-mail address (254 characters, as accounts and orders do)

Revision ID: c4e8a1f2b3d5
Revises: a3bf8df8449a
Create Date: 2026-11-30 01:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8a1f2b3d5'
down_revision = 'a3bf8df8449a'
branch_labels = None
depends_on = None

COLUMNS = [('order_event', 'actor', False), ('refund', 'requested_by', False),
           ('refund_request', 'decided_by', True)]


def upgrade():
    for table, column, nullable in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=120),
                                  type_=sa.String(length=254), existing_nullable=nullable)


def downgrade():
    for table, column, nullable in COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column(column, existing_type=sa.String(length=254),
                                  type_=sa.String(length=120), existing_nullable=nullable)
