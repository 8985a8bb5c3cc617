"""The database schema (SQLAlchemy Core). One MetaData for the whole database.

Migrations (Alembic) live with the composition root in `scheduler/migrations`; a test checks
that they produce exactly this schema.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from feeds.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

sources = Table(
    "sources",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("content_hash", String(64)),
    Column("render_key", String(64)),
    Column("last_attempt", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("consecutive_failures", Integer, nullable=False, default=0),
    Column("alert_open", Boolean, nullable=False, default=False),
    # The refresh lease (scheduler/refresh_lease.py): who refreshes the source now, until
    # when, and when its next scheduled refresh is due (shared by every daemon).
    Column("lease_owner", String(128)),
    Column("lease_until", UTCDateTime),
    Column("refresh_due", UTCDateTime),
)

items = Table(
    "items",
    metadata,
    Column("id", Text, primary_key=True),
    Column("source_id", String(64), nullable=False),
    Column("title", Text, nullable=False),
    Column("title_key", Text, nullable=False),
    Column("link", Text, nullable=False),
    Column("content", Text, nullable=False),
    Column("content_is_html", Boolean, nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("published", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    Column("dated", Boolean, nullable=False),
    # The listing's teaser of a followed item (migration 0004_item_summary); NULL: none.
    Column("summary", Text),
    Index("ix_items_source_published", "source_id", "published"),
    Index("ix_items_source_title_key", "source_id", "title_key"),
)

deadlines = Table(
    "deadlines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(128), nullable=False, unique=True),
    Column("item_id", Text, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("source_id", String(64), nullable=False),
    Column("label", Text, nullable=False),
    Column("label_key", Text, nullable=False),
    Column("closes_at", UTCDateTime, nullable=False),
    Column("local_date", Date, nullable=False),
    Column("local_time", String(8)),
    Column("timezone", String(64), nullable=False),
    Column("all_day", Boolean, nullable=False),
    Column("evidence", Text, nullable=False),
    Column("certain", Boolean, nullable=False),
    Column("origin", String(16), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("sequence", Integer, nullable=False, default=0),
    Column("previous_closes_at", UTCDateTime),
    Column("moved_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_deadlines_item", "item_id"),
    Index("ix_deadlines_closes_at", "closes_at"),
)

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("sources", Text, nullable=False, default=""),  # comma-separated ids; "" = all
    Column("offsets", Text, nullable=False, default=""),  # comma-separated; "" = config default
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Self-service (migration 0002_subscriptions): bumping token_version revokes every link.
    Column("token_version", Integer, nullable=False, default=1, server_default="1"),
    Column("digest", String(8), nullable=False, default="off", server_default="off"),
    Column("confirmations_sent", Integer, nullable=False, default=0, server_default="0"),
    Column("confirmations_since", UTCDateTime),
    Column("confirmed_at", UTCDateTime),
)

reminders = Table(
    "reminders",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # NULL for a digest row (kind "digest", keyed by subscriber and period).
    Column("deadline_id", Integer, ForeignKey("deadlines.id", ondelete="CASCADE")),
    Column(
        "subscriber_id", Integer, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("offset_seconds", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # "reminder" or "changed"
    Column("planned_closes_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(128)),
    Column("lease_until", UTCDateTime),
    Column("message_id", String(255)),
    Column("sent_at", UTCDateTime),
    Column("last_error", Text),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint(
        "deadline_id",
        "subscriber_id",
        "offset_seconds",
        "kind",
        "planned_closes_at",
        name="uq_reminders_key",
    ),
    Index("ix_reminders_status_next", "status", "next_attempt_at"),
    Index(
        "uq_reminders_digest",
        "subscriber_id",
        "planned_closes_at",
        unique=True,
        sqlite_where=text("kind = 'digest'"),
        postgresql_where=text("kind = 'digest'"),
    ),
)

item_pages = Table(
    "item_pages",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("url", Text, primary_key=True),
    Column("item_id", Text, nullable=False),
    Column("listing", Text, nullable=False),  # the listing's entry (JSON): rebuilt without it
    Column("first_seen", UTCDateTime, nullable=False),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("content_hash", String(64)),
    Column("extract_key", String(32)),
    Column("content", Text),  # the page's sanitised main text, last good read; NULL: none yet
    Column("published", UTCDateTime),
    Column("updated", UTCDateTime),
    Column("fetched_at", UTCDateTime),  # last good read or revalidation
    Column("error", Text),
    Column("error_at", UTCDateTime),
    Column("failures", Integer, nullable=False, default=0),
)

#: The mail transport's health (scheduler/mail_state.py, written by scheduler/mail_health.py):
#: one row per transport ("mail").
mail_health = Table(
    "mail_health",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("failing_since", UTCDateTime),  # first failure of the current unbroken run
    Column("failures", Integer, nullable=False, default=0),  # consecutive transient failures
    Column("last_error", Text),
    Column("last_error_at", UTCDateTime),
    Column("last_success", UTCDateTime),
    Column("config_error", Text),  # the server refused the login (535): fix the settings
    Column("alert_open", Boolean, nullable=False, default=False),
)
