"""reconciliation runs keep what they fixed and what needs a person

Revision ID: 2e145aa2bd2f
Revises: d5f9b2c3e4a6
Create Date: 2026-11-30 03:10:49.717731

"""
from alembic import op
import sqlalchemy as sa

import checkout.db


# revision identifiers, used by Alembic.
revision = '2e145aa2bd2f'
down_revision = 'd5f9b2c3e4a6'
branch_labels = None
depends_on = None


def upgrade():
    # A new table: no ALTER, so no batch mode is needed on SQLite.
    op.create_table(
        'reconciliation_run',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('trigger', sa.String(length=16), nullable=False),
        sa.Column('since', checkout.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('started_at', checkout.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('finished_at', checkout.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('events_seen', sa.Integer(), nullable=False),
        sa.Column('sessions_seen', sa.Integer(), nullable=False),
        sa.Column('refunds_seen', sa.Integer(), nullable=False),
        sa.Column('fixes_json', sa.Text(), nullable=False),
        sa.Column('issues_json', sa.Text(), nullable=False),
        sa.CheckConstraint(
            'events_seen >= 0 AND sessions_seen >= 0 AND refunds_seen >= 0',
            name=op.f('ck_reconciliation_run_counts_not_negative'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliation_run')),
    )


def downgrade():
    op.drop_table('reconciliation_run')
