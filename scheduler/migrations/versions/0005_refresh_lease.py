"""refresh lease: the shared due time of each source's next scheduled refresh

Revision ID: 0005_refresh_lease
Revises: 0003_item_pages
Create Date: 2026-12-03 12:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import feeds.store.types

revision = "0005_refresh_lease"
down_revision = "0003_item_pages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.add_column(
            sa.Column("refresh_due", feeds.store.types.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("sources") as batch:
        batch.drop_column("refresh_due")
