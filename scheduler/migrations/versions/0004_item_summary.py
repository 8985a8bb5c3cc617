"""item summary: the listing's teaser of a followed item, beside the page's main text

Revision ID: 0004_item_summary
Revises: 0003_item_pages
Create Date: 2026-12-03 12:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_item_summary"
down_revision = "0003_item_pages"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("items", sa.Column("summary", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        batch.drop_column("summary")
