"""indexes for the staff orders list's sorts and filters

Revision ID: 87d816ea90b5
Revises: b7d41c9e2a13
Create Date: 2026-11-30 00:26:05.795007

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '87d816ea90b5'
down_revision = 'b7d41c9e2a13'
branch_labels = None
depends_on = None


def upgrade():
    # Keyset pages: each sort key followed by the id that breaks its ties; the status filter
    # walks its own index in the default sort (newest first).
    op.create_index('ix_order_created_at_id', 'order', ['created_at', 'id'])
    op.create_index('ix_order_total_id', 'order', ['total', 'id'])
    op.create_index('ix_order_status_created_at_id', 'order', ['status', 'created_at', 'id'])


def downgrade():
    op.drop_index('ix_order_status_created_at_id', table_name='order')
    op.drop_index('ix_order_total_id', table_name='order')
    op.drop_index('ix_order_created_at_id', table_name='order')
