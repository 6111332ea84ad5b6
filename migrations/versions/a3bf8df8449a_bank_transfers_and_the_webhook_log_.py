"""bank transfers and the webhook log: order payment method, payment reference, event payload

Revision ID: a3bf8df8449a
Revises: 9a55cc6d8c8a
Create Date: 2026-11-30 00:25:13.128072

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a3bf8df8449a'
down_revision = '9a55cc6d8c8a'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_method', sa.String(length=20),
                                      server_default='card', nullable=False))

    # A bank transfer is a payment with no Checkout Session behind it.
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=80), nullable=True))
        batch_op.alter_column('checkout_session_id', existing_type=sa.VARCHAR(length=255),
                              nullable=True)

    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payload', sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table('webhook_event', schema=None) as batch_op:
        batch_op.drop_column('payload')

    # The older schema wants a session id on every payment: bank transfers get a stand-in.
    op.execute("UPDATE payment SET checkout_session_id = 'bank_transfer_' || id "
               "WHERE checkout_session_id IS NULL")
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.alter_column('checkout_session_id', existing_type=sa.VARCHAR(length=255),
                              nullable=False)
        batch_op.drop_column('reference')

    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_column('payment_method')
