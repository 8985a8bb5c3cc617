"""item pages: followed item pages with their validators and last good data

Revision ID: 0003_item_pages
Revises: 0002_subscriptions
Create Date: 2026-12-03 07:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import feeds.store.types

revision = "0003_item_pages"
down_revision = "0002_subscriptions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "item_pages",
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("item_id", sa.Text(), nullable=False),
        sa.Column("listing", sa.Text(), nullable=False),
        sa.Column("first_seen", feeds.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("etag", sa.Text(), nullable=True),
        sa.Column("last_modified", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=True),
        sa.Column("extract_key", sa.String(length=32), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.Column("published", feeds.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated", feeds.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", feeds.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("error_at", feeds.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("source_id", "url", name=op.f("pk_item_pages")),
    )


def downgrade() -> None:
    op.drop_table("item_pages")
