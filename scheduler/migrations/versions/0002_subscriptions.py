"""subscriptions: self-service sign-up (token version, digest choice, confirmation counters)
and digest rows in the ledger

Revision ID: 0002_subscriptions
Revises: 0001
Create Date: 2026-12-03 07:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import feeds.store.types

revision = "0002_subscriptions"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("digest", sa.String(length=8), nullable=False, server_default="off")
        )
        batch_op.add_column(
            sa.Column("confirmations_sent", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "confirmations_since", feeds.store.types.UTCDateTime(timezone=True), nullable=True
            )
        )
        batch_op.add_column(
            sa.Column("confirmed_at", feeds.store.types.UTCDateTime(timezone=True), nullable=True)
        )
    # A digest row has no deadline: it is keyed by subscriber and period.
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.alter_column("deadline_id", existing_type=sa.Integer(), nullable=True)
    op.create_index(
        "uq_reminders_digest",
        "reminders",
        ["subscriber_id", "planned_closes_at"],
        unique=True,
        sqlite_where=sa.text("kind = 'digest'"),
        postgresql_where=sa.text("kind = 'digest'"),
    )


def downgrade() -> None:
    op.drop_index("uq_reminders_digest", table_name="reminders")
    op.execute("DELETE FROM reminders WHERE deadline_id IS NULL")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.alter_column("deadline_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("subscribers", schema=None) as batch_op:
        for name in (
            "confirmed_at",
            "confirmations_since",
            "confirmations_sent",
            "digest",
            "token_version",
        ):
            batch_op.drop_column(name)
