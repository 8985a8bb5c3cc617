"""mail health: consecutive transient mail failures, a refused login, the operator alert

Revision ID: 0006_mail_health
Revises: 0005_refresh_lease
Create Date: 2026-12-03 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import feeds.store.types

revision = "0006_mail_health"
down_revision = "0005_refresh_lease"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mail_health",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("failing_since", feeds.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_error_at", feeds.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success", feeds.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("config_error", sa.Text(), nullable=True),
        sa.Column("alert_open", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_mail_health")),
    )


def downgrade() -> None:
    op.drop_table("mail_health")
