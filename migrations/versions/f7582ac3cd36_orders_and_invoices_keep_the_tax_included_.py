"""orders and invoices keep the tax included in their prices

Revision ID: f7582ac3cd36
Revises: a082f5e49fdd
Create Date: 2026-11-29 23:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f7582ac3cd36'
down_revision = 'a082f5e49fdd'
branch_labels = None
depends_on = None


def upgrade():
    # Orders and invoices from before were priced with tax added on top (or none): 0 inside.
    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_included', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.create_check_constraint(op.f('ck_order_tax_included_not_negative'),
                                         'tax_included >= 0')

    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.add_column(sa.Column('tax_included', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('tax_included_name', sa.String(length=60),
                                      server_default='', nullable=False))
        batch_op.create_check_constraint(op.f('ck_invoice_tax_included_not_negative'),
                                         'tax_included >= 0')


def downgrade():
    with op.batch_alter_table('invoice', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_invoice_tax_included_not_negative'), type_='check')
        batch_op.drop_column('tax_included_name')
        batch_op.drop_column('tax_included')

    with op.batch_alter_table('order', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_order_tax_included_not_negative'), type_='check')
        batch_op.drop_column('tax_included')
