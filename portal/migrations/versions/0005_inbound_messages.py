"""inbound messages: ids a channel received (at-most-once processing of
WhatsApp retries) and when each sender last wrote (the 24-hour window).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 19:39:15.805747
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=30), nullable=False),
    sa.Column('message_id', sa.String(length=200), nullable=False),
    sa.Column('sender', sa.String(length=120), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('channel', 'message_id', name='uq_inbound_message')
    )
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.create_index('ix_inbound_sender_received', ['channel', 'sender', 'received_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_sender_received')

    op.drop_table('inbound_messages')
