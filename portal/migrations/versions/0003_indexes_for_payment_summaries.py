"""indexes for payment summaries: unpaid titles by due date (partial) and
recent payments, per reseller.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 18:27:48.982139
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('boletos', schema=None) as batch_op:
        batch_op.create_index('ix_boletos_reseller_paid', ['reseller_id', 'paid_on'], unique=False)
        batch_op.create_index('ix_boletos_unpaid', ['reseller_id', 'due_date'], unique=False, postgresql_where=sa.text('paid_on IS NULL'), sqlite_where=sa.text('paid_on IS NULL'))



def downgrade() -> None:
    with op.batch_alter_table('boletos', schema=None) as batch_op:
        batch_op.drop_index('ix_boletos_unpaid', postgresql_where=sa.text('paid_on IS NULL'), sqlite_where=sa.text('paid_on IS NULL'))
        batch_op.drop_index('ix_boletos_reseller_paid')

