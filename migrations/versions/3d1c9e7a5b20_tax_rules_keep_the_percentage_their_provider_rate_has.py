"""tax rules keep the percentage their provider rate was made with

Revision ID: 3d1c9e7a5b20
Revises: 3c1d2e4f5a60
Create Date: 2026-11-30 00:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3d1c9e7a5b20'
down_revision = '3c1d2e4f5a60'
branch_labels = None
depends_on = None


def upgrade():
    # Left empty for existing rules: which percentage their rate was made with is unknown (it
    # may have been edited since), so each is made again once; the same terms give the same
    # rate back while the provider still remembers the idempotency key.
    with op.batch_alter_table('tax_rule', schema=None) as batch_op:
        batch_op.add_column(sa.Column('provider_percentage', sa.String(length=12),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('tax_rule', schema=None) as batch_op:
        batch_op.drop_column('provider_percentage')
