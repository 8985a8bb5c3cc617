"""Whether mail can go out: consecutive transient failures, a refused login, the alert.

`MonitoredTransport` wraps the configured transport and records each outcome in the
`mail_health` table (one row, shared by every daemon on the database):

- a transient failure (refused or dropped connection, timeout, TLS failure, 4xx) starts or
  extends the current run of failures; the first success ends it. A run older than
  `[mail] failing_after` makes mail *failing*: `feedline status`, `/healthz`, the metrics and
  the exit status of `remind`/`once` say so, and the operator is alerted once (by email when
  mail goes out again, always in the log);
- a refused login (535) is a configuration error: failing at once, the reminder given back
  untried, and the server is not asked again for `hold` (doubling up to `reminders.retry_max`)
  so a daemon does not retry a wrong password on every tick;
- a permanent (5xx) answer to one message means the server is reachable: it ends a run.

A success is written when it ends a run, and otherwise at most once a minute, so a pass of
10,000 sends does not write 10,000 health rows.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from prometheus_client import Counter
from sqlalchemy import Engine

from config.schema import Settings
from feeds.clock import Clock
from scheduler.mail.transport import (
    BeforeEnd,
    MailAuthError,
    MailTransport,
    PermanentMailError,
    RawMessage,
    TransientMailError,
    raw_message,
)
from scheduler.mail_state import (
    MailHealth,
    read_health,
    record_config_error,
    record_failure,
    record_success,
    set_alert_open,
)

log = logging.getLogger(__name__)

SUCCESS_EVERY = 60.0  # seconds (monotonic) between success writes that end no run
MAIL_OUTCOMES = Counter(
    "feedline_mail_outcomes",
    "Messages handed to the mail transport, by outcome (sent, transient, permanent, auth).",
    ["outcome"],
)


class MonitoredTransport:
    """A `MailTransport` that records every outcome of `inner` in `mail_health`."""

    def __init__(
        self,
        inner: MailTransport,
        engine: Engine,
        clock: Clock,
        settings: Settings,
        *,
        monotonic: Any = time.monotonic,
    ) -> None:
        self.inner = inner
        self.engine = engine
        self.clock = clock
        self.settings = settings
        self.failing_after = settings.mail.failing_after
        self._monotonic = monotonic
        self._run_open = True  # unknown at start: the first success is written
        self._last_success_write = -SUCCESS_EVERY
        self._auth_error: MailAuthError | None = None
        self._hold = settings.reminders.retry_base
        self._held_until: datetime | None = None
        self._alerts: set[asyncio.Task[None]] = set()

    async def send(self, message: EmailMessage) -> None:
        await self.send_bytes(raw_message(message))

    async def send_bytes(self, message: RawMessage, *, before_end: BeforeEnd | None = None) -> None:
        held = self._held_until
        if self._auth_error is not None and held is not None and self.clock.now() < held:
            MAIL_OUTCOMES.labels("auth").inc()
            raise self._auth_error
        try:
            await self.inner.send_bytes(message, before_end=before_end)
        except MailAuthError as error:
            MAIL_OUTCOMES.labels("auth").inc()
            self._on_auth_error(error)
            raise
        except TransientMailError as error:
            MAIL_OUTCOMES.labels("transient").inc()
            self._on_failure(str(error))
            raise
        except PermanentMailError:
            MAIL_OUTCOMES.labels("permanent").inc()
            self._on_success()  # the server answered: it is reachable
            raise
        MAIL_OUTCOMES.labels("sent").inc()
        self._on_success()

    async def close(self) -> None:
        if self._alerts:
            await asyncio.wait(self._alerts, timeout=self.settings.mail.smtp.timeout)
        await self.inner.close()

    def check_alert(self) -> None:
        """After a pass: alert when mail crossed `failing_after` with no send to notice it
        (retries backed off past the threshold)."""
        now = self.clock.now()
        with self.engine.begin() as conn:
            health = read_health(conn)
            alert = health.failing(now, self.failing_after) and not health.alert_open
            if alert:
                set_alert_open(conn, True)
        if alert:
            self._failing_alert(health, now)

    # Outcomes ----------------------------------------------------------------------------
    def _on_success(self) -> None:
        self._auth_error = None
        self._held_until = None
        self._hold = self.settings.reminders.retry_base
        now_mono = self._monotonic()
        if not self._run_open and now_mono - self._last_success_write < SUCCESS_EVERY:
            return
        now = self.clock.now()
        with self.engine.begin() as conn:
            before = record_success(conn, now)
            reopen_alert = before.alert_open
            if reopen_alert:
                set_alert_open(conn, False)
        self._run_open = False
        self._last_success_write = now_mono
        if reopen_alert:
            since = before.failing_since.isoformat() if before.failing_since else "earlier"
            log.warning("mail goes out again (it was failing since %s)", since)
            self._alert(
                "feedline: mail goes out again",
                f"Mail was failing from {since} until {now.isoformat()}: "
                f"{before.failures} failure(s) in a row.\n\nLast error: {before.last_error}\n\n"
                "Reminders that could not go out were kept and are being sent now.",
            )

    def _on_failure(self, error: str) -> None:
        now = self.clock.now()
        with self.engine.begin() as conn:
            health = record_failure(conn, error, now)
            alert = health.failing(now, self.failing_after) and not health.alert_open
            if alert:
                set_alert_open(conn, True)
        self._run_open = True
        if alert:
            self._failing_alert(health, now)

    def _on_auth_error(self, error: MailAuthError) -> None:
        now = self.clock.now()
        first = self._auth_error is None
        self._auth_error = error
        self._held_until = now + self._hold
        log.error(
            "%s; not trying the server again before %s (fix the credentials and restart)",
            error,
            self._held_until.isoformat(),
        )
        self._hold = min(self._hold * 2, self.settings.reminders.retry_max)
        with self.engine.begin() as conn:
            health = record_config_error(conn, str(error), now)
            alert = not health.alert_open
            if alert:
                set_alert_open(conn, True)
        self._run_open = True
        if alert and first:
            self._failing_alert(health, now)

    def _failing_alert(self, health: MailHealth, now: datetime) -> None:
        problem = health.problem(now, self.failing_after) or f"mail failing: {health.last_error}"
        log.error("ALERT: %s", problem)
        self._alert(
            "feedline: mail cannot go out",
            f"{problem}\n\nReminders are kept in the ledger and retried with backoff; you "
            "will get one more email when mail goes out again.",
        )

    def _alert(self, subject: str, body: str) -> None:
        """The operator alert, through the inner transport, without holding up the pass."""
        from scheduler.alerts import send_operator_alert

        task = asyncio.get_running_loop().create_task(
            _best_effort(send_operator_alert(self.settings, self.inner, self.clock, subject, body))
        )
        self._alerts.add(task)
        task.add_done_callback(self._alerts.discard)


async def _best_effort(sending: Any) -> None:
    try:
        await sending
    except Exception as error:  # an alert must never break a pass
        log.warning("the operator alert could not be sent: %s", error)
