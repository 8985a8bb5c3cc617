"""Subscribers: validated addresses, the sources they follow and their reminder offsets."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection, and_, delete, insert, select, update

from config.durations import format_duration, parse_duration
from feeds.errors import FeedlineError
from feeds.store.tables import reminders, subscribers
from scheduler.ledger.claims import ReminderStatus


class SubscriberStatus(StrEnum):
    ACTIVE = "active"
    PENDING = "pending"  # signed up on the web, not confirmed: gets nothing but the confirmation
    PAUSED = "paused"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


class DigestChoice(StrEnum):
    OFF = "off"  # reminders only
    ALSO = "also"  # reminders and the weekly digest
    ONLY = "only"  # the weekly digest instead of reminders


class SubscriberError(FeedlineError):
    """A bad address, offset or import row."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    email: str
    status: SubscriberStatus
    sources: tuple[str, ...]  # empty = every source
    offsets: tuple[timedelta, ...]  # empty = the configured default
    version: int = 1  # in every link token; bumping it revokes them all
    digest: DigestChoice = DigestChoice.OFF
    created_at: datetime | None = None

    @property
    def gets_reminders(self) -> bool:
        return self.status is SubscriberStatus.ACTIVE and self.digest is not DigestChoice.ONLY

    @property
    def gets_digest(self) -> bool:
        return self.status is SubscriberStatus.ACTIVE and self.digest is not DigestChoice.OFF

    def follows(self, source_id: str) -> bool:
        return not self.sources or source_id in self.sources

    def offsets_or(self, default: Sequence[timedelta]) -> tuple[timedelta, ...]:
        return self.offsets or tuple(default)


def normalise_email(address: str) -> str:
    """Validated and lower-cased: one subscriber per mailbox however it is typed."""
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        raise SubscriberError(f"{address!r} is not a valid email address: {error}") from None


def parse_offsets(text: str | Sequence[str]) -> tuple[timedelta, ...]:
    parts = text.split(",") if isinstance(text, str) else list(text)
    try:
        return tuple(sorted({parse_duration(p) for p in parts if p.strip()}, reverse=True))
    except ValueError as error:
        raise SubscriberError(f"offsets: {error}") from None


def _row(row: Any) -> Subscriber:
    sources = tuple(s for s in row.sources.split(",") if s)
    offsets = parse_offsets(row.offsets) if row.offsets else ()
    return Subscriber(
        row.id,
        row.email,
        SubscriberStatus(row.status),
        sources,
        offsets,
        row.token_version,
        DigestChoice(row.digest),
        row.created_at,
    )


def add_subscriber(
    conn: Connection,
    email: str,
    now: datetime,
    *,
    sources: Sequence[str] = (),
    offsets: Sequence[timedelta] = (),
    status: SubscriberStatus = SubscriberStatus.ACTIVE,
    digest: DigestChoice = DigestChoice.OFF,
) -> tuple[Subscriber, bool]:
    """Add or update (a duplicate is an update); return the subscriber and whether it is new."""
    address = normalise_email(email)
    values = {
        **_preference_values(sources, offsets, digest),
        "status": status.value,
        "updated_at": now,
    }
    if status is SubscriberStatus.ACTIVE:
        values["confirmed_at"] = now
    existing = conn.execute(select(subscribers.c.id).where(subscribers.c.email == address)).first()
    if existing is None:
        conn.execute(insert(subscribers).values(email=address, created_at=now, **values))
        created = True
    else:
        conn.execute(update(subscribers).where(subscribers.c.id == existing.id).values(**values))
        created = False
    row = conn.execute(select(subscribers).where(subscribers.c.email == address)).one()
    return _row(row), created


def _preference_values(
    sources: Sequence[str], offsets: Sequence[timedelta], digest: DigestChoice
) -> dict[str, str]:
    return {
        "sources": ",".join(sorted(set(sources))),
        "offsets": ",".join(format_duration(o) for o in sorted(set(offsets), reverse=True)),
        "digest": DigestChoice(digest).value,
    }


def remove_subscriber(conn: Connection, email: str) -> bool:
    """Delete the subscriber and their planned reminders. False if there was none."""
    address = normalise_email(email)
    found = conn.execute(select(subscribers.c.id).where(subscribers.c.email == address)).first()
    if found is None:
        return False
    conn.execute(delete(reminders).where(reminders.c.subscriber_id == found.id))
    conn.execute(delete(subscribers).where(subscribers.c.id == found.id))
    return True


def set_status(conn: Connection, email: str, status: SubscriberStatus, now: datetime) -> bool:
    """Change a subscriber's status; inactive ones get their pending reminders cancelled."""
    address = normalise_email(email)
    found = conn.execute(select(subscribers.c.id).where(subscribers.c.email == address)).first()
    if found is None:
        return False
    return set_status_of(conn, found.id, status, now)


def set_status_of(
    conn: Connection,
    subscriber_id: int,
    status: SubscriberStatus,
    now: datetime,
    *,
    confirming: bool = False,
) -> bool:
    """`set_status` by id. Back to active, rows cancelled while inactive are dropped, so the
    next `plan` makes them again (for deadlines still open). `confirming` records the double
    opt-in (digests start with the first week that begins after it)."""
    values: dict[str, Any] = {"status": status.value, "updated_at": now}
    if confirming:
        values["confirmed_at"] = now
    found = conn.execute(
        update(subscribers).where(subscribers.c.id == subscriber_id).values(**values)
    ).rowcount
    if not found:
        return False
    if status is SubscriberStatus.ACTIVE:
        conn.execute(
            delete(reminders).where(
                reminders.c.subscriber_id == subscriber_id,
                reminders.c.status == "cancelled",
                reminders.c.last_error.like("subscriber %"),
            )
        )
    else:
        conn.execute(
            update(reminders)
            .where(reminders.c.subscriber_id == subscriber_id, reminders.c.status == "pending")
            .values(
                status=ReminderStatus.CANCELLED,
                updated_at=now,
                last_error=f"subscriber {status.value}",
            )
        )
    return True


def set_preferences(
    conn: Connection,
    subscriber_id: int,
    now: datetime,
    *,
    sources: Sequence[str],
    offsets: Sequence[timedelta],
    digest: DigestChoice,
) -> None:
    """New sources, offsets and digest choice. Rows not yet sent are dropped, so the next
    `plan` for this subscriber makes exactly the ones the new choice asks for."""
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id)
        .values(**_preference_values(sources, offsets, digest), updated_at=now)
    )
    conn.execute(
        delete(reminders).where(
            reminders.c.subscriber_id == subscriber_id,
            reminders.c.status.in_(["pending", "cancelled"]),
            reminders.c.kind == "reminder",
        )
    )


def subscriber_by_id(conn: Connection, subscriber_id: int) -> Subscriber | None:
    row = conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).first()
    return None if row is None else _row(row)


def subscriber_by_email(conn: Connection, address: str) -> Subscriber | None:
    """The subscriber of an already normalised address, if any."""
    row = conn.execute(select(subscribers).where(subscribers.c.email == address)).first()
    return None if row is None else _row(row)


def revoke_links(conn: Connection, subscriber_id: int, now: datetime) -> None:
    """Every link the subscriber was sent stops working (new mails carry new ones)."""
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id)
        .values(token_version=subscribers.c.token_version + 1, updated_at=now)
    )


def erase_subscriber(conn: Connection, subscriber_id: int) -> bool:
    """Delete my data: the subscriber and every ledger row of theirs (reminders, digests)."""
    conn.execute(delete(reminders).where(reminders.c.subscriber_id == subscriber_id))
    removed = conn.execute(delete(subscribers).where(subscribers.c.id == subscriber_id))
    return bool(removed.rowcount)


def delete_expired_pending(conn: Connection, now: datetime, expiry: timedelta) -> int:
    """Sign-ups never confirmed within `expiry` are deleted (with any row of theirs)."""
    stale = select(subscribers.c.id).where(
        subscribers.c.status == SubscriberStatus.PENDING.value,
        subscribers.c.created_at <= now - expiry,
    )
    ids = [row.id for row in conn.execute(stale)]
    if not ids:
        return 0
    conn.execute(delete(reminders).where(reminders.c.subscriber_id.in_(ids)))
    return int(conn.execute(delete(subscribers).where(subscribers.c.id.in_(ids))).rowcount)


def take_confirmation_mail(
    conn: Connection, subscriber_id: int, now: datetime, per_day: int
) -> bool:
    """Count one confirmation mail to this address; False when today's `per_day` are used."""
    row = conn.execute(
        select(subscribers.c.confirmations_sent, subscribers.c.confirmations_since).where(
            subscribers.c.id == subscriber_id
        )
    ).one()
    since, sent = row.confirmations_since, row.confirmations_sent
    if since is None or now - since >= timedelta(days=1):
        since, sent = now, 0
    if sent >= per_day:
        return False
    conn.execute(
        update(subscribers)
        .where(subscribers.c.id == subscriber_id)
        .values(confirmations_sent=sent + 1, confirmations_since=since)
    )
    return True


def confirmation_retry_after(conn: Connection, subscriber_id: int, now: datetime) -> timedelta:
    since = conn.execute(
        select(subscribers.c.confirmations_since).where(subscribers.c.id == subscriber_id)
    ).scalar()
    return max(timedelta(0), (since or now) + timedelta(days=1) - now)


def list_subscribers(conn: Connection) -> list[Subscriber]:
    return [_row(r) for r in conn.execute(select(subscribers).order_by(subscribers.c.email))]


def _gets_reminders() -> Any:
    return and_(
        subscribers.c.status == SubscriberStatus.ACTIVE.value,
        subscribers.c.digest != DigestChoice.ONLY.value,
    )


def active_subscriber_chunks(
    conn: Connection, size: int, ids: Iterable[int] | None = None
) -> Iterator[list[Subscriber]]:
    """Confirmed, not paused subscribers who get reminders (not those on the digest only),
    of `ids` only if given, `size` at a time in id order."""
    chosen = sorted(set(ids)) if ids is not None else None
    after = 0
    while True:
        query = select(subscribers).where(_gets_reminders())
        if chosen is None:
            query = query.where(subscribers.c.id > after).order_by(subscribers.c.id).limit(size)
        elif after < len(chosen):
            query = query.where(subscribers.c.id.in_(chosen[after : after + size]))
        else:
            return
        people = [_row(r) for r in conn.execute(query)]
        if chosen is None:
            if not people:
                return
            after = people[-1].id
        else:
            after += size
        if people:
            yield people


@dataclass(frozen=True, slots=True)
class ImportRow:
    line: int
    email: str
    sources: tuple[str, ...]
    offsets: tuple[timedelta, ...]


def read_import_file(path: Path, known_sources: Sequence[str]) -> tuple[list[ImportRow], list[str]]:
    """Read a CSV with a header: email[,sources][,offsets] (lists separated by spaces or ;).

    Returns the good rows and one error line per bad row (file and line named).
    """
    rows: list[ImportRow] = []
    errors: list[str] = []
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or "email" not in [f.strip() for f in reader.fieldnames]:
                raise SubscriberError(f"{path}: the first line must be a header with `email`")
            for record in reader:
                line = reader.line_num
                try:
                    email = normalise_email(record.get("email") or "")
                    sources = tuple(
                        s for s in (record.get("sources") or "").replace(";", " ").split() if s
                    )
                    unknown = [s for s in sources if s not in known_sources]
                    if unknown:
                        raise SubscriberError(f"unknown source(s) {', '.join(unknown)}")
                    offsets = parse_offsets(
                        (record.get("offsets") or "").replace(";", ",").replace(" ", ",")
                    )
                    rows.append(ImportRow(line, email, sources, offsets))
                except SubscriberError as error:
                    errors.append(f"{path}:{line}: {error}")
    except OSError as error:
        raise SubscriberError(f"{path}: cannot read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise SubscriberError(f"{path}: not UTF-8 text") from None
    return rows, errors
