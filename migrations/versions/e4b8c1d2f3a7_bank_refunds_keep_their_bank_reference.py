"""refunds of bank transfers keep the reference of the transfer back

Revision ID: e4b8c1d2f3a7
Revises: c4e8a1f2b3d5
Create Date: 2026-11-30 01:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4b8c1d2f3a7'
down_revision = 'c4e8a1f2b3d5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.add_column(sa.Column('bank_reference', sa.String(length=80), nullable=True))


def downgrade():
    with op.batch_alter_table('refund', schema=None) as batch_op:
        batch_op.drop_column('bank_reference')
