"""accounts have a role (shopper, staff, admin) and can be deactivated

Revision ID: 3c1d2e4f5a60
Revises: f7582ac3cd36
Create Date: 2026-11-30 00:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3c1d2e4f5a60'
down_revision = 'f7582ac3cd36'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=16), server_default='shopper',
                                      nullable=False))
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(),
                                      nullable=False))
    # Staff from before roles keep what they could do: everything but the admin pages.
    op.execute("UPDATE \"user\" SET role = 'staff' WHERE is_staff")
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('is_staff')


def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_staff', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    op.execute("UPDATE \"user\" SET is_staff = (role <> 'shopper')")
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('active')
        batch_op.drop_column('role')
