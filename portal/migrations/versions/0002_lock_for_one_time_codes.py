"""lock for one-time codes: a CPF with 5 wrong codes waits until locked_until.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 18:02:45.595591
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', sa.DateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('one_time_codes', schema=None) as batch_op:
        batch_op.drop_column('locked_until')

