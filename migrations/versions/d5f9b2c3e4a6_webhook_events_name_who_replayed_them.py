"""webhook events name the staff member who replayed them

Revision ID: d5f9b2c3e4a6
Revises: e4b8c1d2f3a7
Create Date: 2026-11-30 02:10:00.000000

"""
from alembic import op
import sqlalchemy as sa

import checkout.db


# revision identifiers, used by Alembic.
revision = 'd5f9b2c3e4a6'
down_revision = 'e4b8c1d2f3a7'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('replayed_by', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('replayed_at', checkout.db.UTCDateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.drop_column('replayed_at')
        batch_op.drop_column('replayed_by')
