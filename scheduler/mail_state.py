"""The stored state of mail health: the one `mail_health` row every daemon shares.

Read by `feedline status`, `/healthz` and the metrics; written by `MonitoredTransport`
(scheduler/mail_health.py, which says what the states mean). Kept apart from the transport so
`status` reads it without importing the mail client.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select, update

from feeds.store.bulk import insert_ignoring_duplicates
from feeds.store.tables import mail_health

NAME = "mail"


@dataclass(frozen=True, slots=True)
class MailHealth:
    failing_since: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_success: datetime | None = None
    config_error: str | None = None
    alert_open: bool = False

    def failing(self, now: datetime, after: timedelta) -> bool:
        if self.config_error:
            return True
        return self.failing_since is not None and now - self.failing_since >= after

    def problem(self, now: datetime, after: timedelta) -> str | None:
        """One line for `status` and `/healthz` when failing, else None."""
        if self.config_error:
            return f"mail cannot go out: {self.config_error}"
        if not self.failing(now, after) or self.failing_since is None:
            return None
        return (
            f"mail failing since {self.failing_since.isoformat()} "
            f"({self.failures} failure(s) in a row): {self.last_error}"
        )

    def body(self, now: datetime, after: timedelta) -> dict[str, Any]:
        def stamp(when: datetime | None) -> str | None:
            return when.isoformat() if when else None

        return {
            "ok": not self.failing(now, after),
            "failing_since": stamp(self.failing_since),
            "consecutive_failures": self.failures,
            "last_error": self.last_error,
            "last_error_at": stamp(self.last_error_at),
            "last_success": stamp(self.last_success),
            "config_error": self.config_error,
        }


def read_health(conn: Connection) -> MailHealth:
    row = conn.execute(select(mail_health).where(mail_health.c.name == NAME)).first()
    if row is None:
        return MailHealth()
    return MailHealth(
        failing_since=row.failing_since,
        failures=row.failures,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        last_success=row.last_success,
        config_error=row.config_error,
        alert_open=row.alert_open,
    )


def _write(conn: Connection, **values: Any) -> None:
    """Update the one row, creating it first if no daemon has yet (ON CONFLICT DO NOTHING, so
    two daemons recording their first outcome at once cannot fail on the key)."""
    conn.execute(
        insert_ignoring_duplicates(conn, mail_health).values(
            name=NAME, failures=0, alert_open=False
        )
    )
    conn.execute(update(mail_health).where(mail_health.c.name == NAME).values(**values))


def record_failure(
    conn: Connection, error: str, now: datetime, *, config_error: bool = False
) -> MailHealth:
    """Starts or extends the current run of failures; `config_error` (a refused login) also
    makes mail failing at once, until a success."""
    health = read_health(conn)
    values: dict[str, Any] = {"config_error": error} if config_error else {}
    _write(
        conn,
        failing_since=health.failing_since or now,
        failures=health.failures + 1,
        last_error=error,
        last_error_at=now,
        **values,
    )
    return read_health(conn)


def record_config_error(conn: Connection, error: str, now: datetime) -> MailHealth:
    return record_failure(conn, error, now, config_error=True)


def record_success(conn: Connection, now: datetime) -> MailHealth:
    """Ends a run of failures; returns the health as it was before."""
    before = read_health(conn)
    _write(conn, failing_since=None, failures=0, config_error=None, last_success=now)
    return before


def set_alert_open(conn: Connection, opened: bool) -> None:
    _write(conn, alert_open=opened)
