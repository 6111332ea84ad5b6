"""stock movements name the staff member who made them

Revision ID: 9a55cc6d8c8a
Revises: 87d816ea90b5
Create Date: 2026-11-30 00:24:30.030572

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9a55cc6d8c8a'
down_revision = '87d816ea90b5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('stock_movement', schema=None) as batch_op:
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_stock_movement_user_id_user'), 'user', ['user_id'], ['id'])


def downgrade():
    with op.batch_alter_table('stock_movement', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_stock_movement_user_id_user'), type_='foreignkey')
        batch_op.drop_column('user_id')
