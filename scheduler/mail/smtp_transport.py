"""SMTP delivery with aiosmtplib: a small pool of reused connections, a rate limit.

- At most `max_connections` connections, opened on demand and kept for reuse; a connection
  the server dropped while idle is replaced; a reused connection that turns out dead on use
  is retried once on a fresh one (that can resend a message whose DATA reached the server
  just before the drop: the same Message-ID, at-least-once).
- `max_per_second` is a token bucket (burst = max_connections).
- security: "starttls" (aiosmtplib upgrades on connect with start_tls=True; we never call
  starttls() ourselves), "tls" (implicit TLS, port 465), "none".
- Certificates are verified unless `validate_certs` is false; `ca_file` adds trust.
- `send_bytes` takes the finished bytes and the envelope (`RawMessage`: dispatch fills a
  per-deadline template); `send(EmailMessage)` serialises first (alerts, `mail test`).
- The mail transaction is aiosmtplib's `mail()`, `rcpt()` and DATA, with the body written
  on its own (in wire form: `wire_form`) and the final "." held back until `before_end`
  returns: the ledger commits the previous message's mark meanwhile, so no connection ever
  has two messages accepted and not yet marked (scheduler/ledger/dispatch.py).
- Errors: see `classify_error`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from email.message import EmailMessage

import aiosmtplib
from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings

from config.schema import SmtpMailSettings
from scheduler.mail.rate import TokenBucket
from scheduler.mail.transport import (
    RECIPIENT_REJECTED_CODES,
    BeforeEnd,
    MailAuthError,
    MailConfigError,
    MailError,
    PermanentMailError,
    RawMessage,
    TransientMailError,
    raw_message,
)


def build_tls_context(settings: SmtpMailSettings) -> ssl.SSLContext:
    """The client TLS context: system trust plus `ca_file`; verification per settings."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if settings.ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(settings.ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise MailConfigError(
                f"cannot load mail.smtp.ca_file {settings.ca_file}: {exc}"
            ) from None
    if not settings.validate_certs:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class SmtpTransport:
    """Sends through one SMTP server; safe to call `send` from many tasks at once."""

    def __init__(
        self,
        settings: SmtpMailSettings,
        *,
        password: str | None = None,
        tls_context: ssl.SSLContext | None = None,
        time_source: Callable[[], float] | None = None,
        local_hostname: str | None = None,
    ) -> None:
        if settings.username and password is None:
            raise MailConfigError(
                f"mail.smtp.username {settings.username!r} is set but no password was found"
            )
        self.settings = settings
        self._password = password
        self._tls_context = tls_context
        if self._tls_context is None and settings.security != "none":
            self._tls_context = build_tls_context(settings)
        self._local_hostname = local_hostname
        self._slots = asyncio.Semaphore(settings.max_connections)
        self._idle: list[aiosmtplib.SMTP] = []
        self._bucket = TokenBucket(
            settings.max_per_second, settings.max_connections, time_source=time_source
        )
        self._closed = False

    def __repr__(self) -> str:  # never shows the password
        s = self.settings
        return f"SmtpTransport({s.host}:{s.port}, {s.security}, user={s.username!r})"

    async def send(self, message: EmailMessage) -> None:
        """Alerts and `mail test`: serialise once, then as `send_bytes`."""
        await self.send_bytes(raw_message(message))

    async def send_bytes(self, message: RawMessage, *, before_end: BeforeEnd | None = None) -> None:
        if self._closed:
            raise TransientMailError("the SMTP transport is closed")
        await self._bucket.acquire()
        async with self._slots:
            try:
                await self._send_pooled(message, before_end)
            except MailError:
                raise
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
                raise classify_error(exc, self._where()) from exc

    async def close(self) -> None:
        self._closed = True
        idle, self._idle = self._idle, []
        for client in idle:
            await _quit(client)

    async def _send_pooled(self, message: RawMessage, before_end: BeforeEnd | None) -> None:
        client = self._take_idle()
        if client is not None:
            try:
                await _transmit(client, message, before_end)
            except aiosmtplib.SMTPServerDisconnected:
                client.close()  # stale: the server dropped it while idle; one fresh try
            except BaseException as exc:
                self._release(client, exc)
                raise
            else:
                self._release(client)
                return
        client = await self._connect()
        try:
            await _transmit(client, message, before_end)
        except BaseException as exc:
            self._release(client, exc)
            raise
        self._release(client)

    def _take_idle(self) -> aiosmtplib.SMTP | None:
        while self._idle:
            client = self._idle.pop()
            if client.is_connected:
                return client
            client.close()
        return None

    def _release(self, client: aiosmtplib.SMTP, error: BaseException | None = None) -> None:
        """Back to the pool, unless closed or the error may have left it out of step
        (a timeout, a cancelled send, anything but a clean SMTP reply)."""
        if error is not None and not isinstance(
            error, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused | MailError
        ):
            client.close()
        if client.is_connected and not self._closed:
            self._idle.append(client)
        elif client.is_connected:
            client.close()

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=s.port,
            timeout=s.timeout,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            validate_certs=s.validate_certs,
            tls_context=self._tls_context if s.security != "none" else None,
            username=s.username,
            password=self._password if s.username else None,
            local_hostname=self._local_hostname,
        )
        try:
            await client.connect()
        except aiosmtplib.SMTPAuthenticationError as exc:
            client.close()
            error = MailAuthError if exc.code >= 500 else TransientMailError  # 454: try later
            raise error(
                f"login as {s.username!r} refused by {self._where()}: check the credentials",
                code=exc.code,
            ) from exc
        except (TimeoutError, aiosmtplib.SMTPException, OSError) as exc:
            client.close()
            raise TransientMailError(
                f"cannot connect to {self._where()}: {_describe(exc)}",
                code=getattr(exc, "code", None),
            ) from exc
        return client

    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"


async def _transmit(
    client: aiosmtplib.SMTP, message: RawMessage, before_end: BeforeEnd | None
) -> None:
    body, size = wire_form(message.data)
    try:
        refused = await _envelope(client, message, size)
        await _data(client, body, None if before_end is None else before_end())
    except (
        aiosmtplib.SMTPResponseException,
        aiosmtplib.SMTPRecipientsRefused,
        PermanentMailError,
    ):
        await _reset(client)  # as sendmail() does: the next message starts a clean envelope
        raise
    if refused:
        # Some recipients refused, the others accepted: permanent for the refused ones.
        address, response = next(iter(refused.items()))
        raise PermanentMailError(
            f"recipient {address!r} refused: {response.message}",
            code=response.code,
            recipient=address,
            recipient_rejected=response.code in RECIPIENT_REJECTED_CODES,
        )


def wire_form(data: bytes) -> tuple[bytes, int]:
    """`data` as DATA carries it (CRLF line ends, a final CRLF, leading dots doubled) and
    its SIZE (before the doubling, as aiosmtplib counts it).

    The ledger's messages already are in that form (its templates write CRLF and base64
    bodies, no line starts with a dot): four counts in C tell, and the bytes go out as they
    are. aiosmtplib's `data()` runs two regular-expression substitutions over every
    message, a match per line, whatever the bytes (about a fifth of the client's CPU per
    reminder: bench/ledger_scale_bench.py, docs/benchmarks.md); anything else still gets
    exactly those substitutions."""
    if (
        data.endswith(b"\r\n")
        and data.count(b"\n") == data.count(b"\r") == data.count(b"\r\n")
        and not data.startswith(b".")
        and b"\n." not in data
    ):
        return data, len(data)
    normal = normalize_message_line_endings(data)
    return PERIOD_REGEX.sub(b"..", normal), len(normal)


async def _data(client: aiosmtplib.SMTP, body: bytes, waiting: Awaitable[None] | None) -> None:
    """DATA and the body (in wire form); the final "." once `waiting` (if any) is done. If
    it raises, the caller closes the connection (out of step): the server drops the
    unfinished message."""
    started = await client.execute_command(b"DATA")
    if started.code != aiosmtplib.SMTPStatus.start_input:
        raise aiosmtplib.SMTPDataError(started.code, started.message)
    if client.protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    client.protocol.write(body)
    if waiting is not None:
        await waiting
    reply = await client.execute_command(b".")
    if reply.code != aiosmtplib.SMTPStatus.completed:
        raise aiosmtplib.SMTPDataError(reply.code, reply.message)


async def _envelope(
    client: aiosmtplib.SMTP, message: RawMessage, size: int
) -> dict[str, aiosmtplib.SMTPResponse]:
    """MAIL FROM and RCPT TO as `sendmail()` sends them (SIZE, SMTPUTF8); the recipients
    refused, or SMTPRecipientsRefused when all were."""
    options: list[str] = []
    encoding = "ascii"
    if message.smtputf8:
        if not client.supports_extension("smtputf8"):
            raise aiosmtplib.SMTPNotSupported("SMTPUTF8 is not supported by this server")
        options, encoding = ["SMTPUTF8"], "utf-8"
    if client.supports_extension("size"):
        options.insert(0, f"size={size}")
    try:
        await client.mail(message.sender, options=options, encoding=encoding)
    except ValueError as exc:  # aiosmtplib refuses an address it cannot send safely
        raise PermanentMailError(f"unusable envelope address: {exc}") from exc
    errors: list[aiosmtplib.SMTPRecipientRefused] = []
    for address in message.recipients:
        try:
            await client.rcpt(address, encoding=encoding)
        except aiosmtplib.SMTPRecipientRefused as exc:
            errors.append(exc)
        except ValueError as exc:
            raise PermanentMailError(f"unusable envelope address: {exc}") from exc
    if len(errors) == len(message.recipients):
        raise aiosmtplib.SMTPRecipientsRefused(errors)
    return {e.recipient: aiosmtplib.SMTPResponse(e.code, e.message) for e in errors}


async def _reset(client: aiosmtplib.SMTP) -> None:
    try:
        if client.is_connected:
            await client.rset()
    except (aiosmtplib.SMTPException, OSError):
        pass


def classify_error(exc: BaseException, where: str) -> MailError:
    """Transient: 4xx, timeouts, connection problems. Permanent: 5xx to this message."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        first = exc.recipients[0] if exc.recipients else None
        if first is None or first.code < 500:
            code = first.code if first else None
            return TransientMailError(f"recipient deferred by {where}: {_describe(exc)}", code=code)
        return PermanentMailError(
            f"recipient {first.recipient!r} refused by {where}: {first.message}",
            code=first.code,
            recipient=first.recipient,
            recipient_rejected=first.code in RECIPIENT_REJECTED_CODES,
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException) and not isinstance(
        exc, aiosmtplib.SMTPConnectResponseError | aiosmtplib.SMTPHeloError
    ):
        if exc.code >= 500:
            rejected = (
                isinstance(exc, aiosmtplib.SMTPRecipientRefused)
                and exc.code in RECIPIENT_REJECTED_CODES
            )
            recipient = exc.recipient if isinstance(exc, aiosmtplib.SMTPRecipientRefused) else None
            return PermanentMailError(
                f"{where} refused the message: {exc.message}",
                code=exc.code,
                recipient=recipient,
                recipient_rejected=rejected,
            )
        return TransientMailError(f"{where} deferred the message: {exc.message}", code=exc.code)
    if isinstance(exc, aiosmtplib.SMTPNotSupported):
        return PermanentMailError(f"{where} cannot take this message: {_describe(exc)}")
    return TransientMailError(f"sending via {where} failed: {_describe(exc)}")


def _describe(exc: BaseException) -> str:
    text = str(exc) or exc.__class__.__name__
    return f"{exc.__class__.__name__}: {text}"


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        if client.is_connected:
            await client.quit(timeout=2)
    except (TimeoutError, aiosmtplib.SMTPException, OSError):
        pass
    finally:
        client.close()
