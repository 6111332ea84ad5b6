"""staff flags keep who resolved them and how

Revision ID: b7d41c9e2a13
Revises: 7a283837e736
Create Date: 2026-11-30 00:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d41c9e2a13'
down_revision = '7a283837e736'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('order_flag', schema=None) as batch_op:
        batch_op.add_column(sa.Column('resolved_by', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('resolved_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resolution', sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            op.f('fk_order_flag_resolved_by_user_id_user'), 'user', ['resolved_by_user_id'],
            ['id'],
        )


def downgrade():
    with op.batch_alter_table('order_flag', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('fk_order_flag_resolved_by_user_id_user'),
                                 type_='foreignkey')
        batch_op.drop_column('resolution')
        batch_op.drop_column('resolved_by_user_id')
        batch_op.drop_column('resolved_by')
