"""The mail transport seam and its errors.

Dispatch decides from the error class alone: `TransientMailError` goes back to the queue
with backoff; `PermanentMailError` marks the reminder failed, and when `recipient_rejected`
is true the address itself was refused (a hard bounce: deactivate the subscriber).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import EmailPolicy
from typing import Protocol

from feeds.errors import ConfigError, FeedlineError

#: RCPT replies that say the mailbox itself is bad (RFC 5321 4.2.2): no such user, user not
#: local, mailbox name not allowed.
RECIPIENT_REJECTED_CODES = frozenset({550, 551, 553})


class MailError(FeedlineError):
    """A message could not be handed to the mail system."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        self.code = code
        self.detail = message
        super().__init__(f"{message} (SMTP {code})" if code is not None else message)


class TransientMailError(MailError):
    """Try again later: a 4xx reply, a timeout, a refused or dropped connection, a TLS or
    login problem (the server's or the configuration's fault, not the message's)."""


class PermanentMailError(MailError):
    """A 5xx reply to this message. `recipient_rejected`: the recipient address was refused
    (550/551/553 on RCPT), as opposed to the content or the sender."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        recipient: str | None = None,
        recipient_rejected: bool = False,
    ) -> None:
        self.recipient = recipient
        self.recipient_rejected = recipient_rejected
        super().__init__(message, code=code)


class MailConfigError(MailError, ConfigError):
    """The mail settings cannot work (missing password, unreadable CA file): exit 2."""


class MailAuthError(TransientMailError, MailConfigError):
    """The server refused the login (5xx to AUTH, e.g. 535): the credentials are wrong. A
    configuration error, not the message's fault: dispatch gives the reminder back untried
    and stops the pass; retrying each message would only burn its attempts."""


@dataclass(frozen=True, slots=True)
class RawMessage:
    """One finished message as it goes on the wire: the envelope and the RFC 5322 bytes
    (CRLF line ends). `message_id` is the Message-ID header of `data`. Reminders have one
    recipient; `recipients` holds more only for a hand-made message sent with `send`."""

    sender: str
    recipients: tuple[str, ...]
    message_id: str
    data: bytes

    def __post_init__(self) -> None:
        if not self.recipients:
            raise PermanentMailError("a message needs at least one recipient")

    @property
    def recipient(self) -> str:
        return self.recipients[0]

    @property
    def smtputf8(self) -> bool:
        """A non-ASCII envelope address needs the SMTPUTF8 extension (RFC 6531)."""
        return not (self.sender.isascii() and all(r.isascii() for r in self.recipients))


def raw_message(message: EmailMessage) -> RawMessage:
    """`message` serialised for sending, as aiosmtplib's `send_message` did it: the envelope
    from Sender/From and To/Cc/Bcc (Bcc not transmitted), the bytes with the message's own
    policy (UTF-8 headers when an address needs SMTPUTF8)."""
    senders = _addresses(message, "Sender") or _addresses(message, "From")
    recipients = [a for name in ("To", "Cc", "Bcc") for a in _addresses(message, name)]
    if len(senders) != 1 or not recipients:
        raise PermanentMailError("a message needs one sender and at least one recipient")
    message_id = str(message.get("Message-ID", "")).strip()
    if not message_id:
        raise PermanentMailError("message has no Message-ID or Date header")
    if "Bcc" in message:
        message = copy.copy(message)
        del message["Bcc"]
    raw = RawMessage(senders[0], tuple(recipients), message_id, b"")
    policy = message.policy
    if raw.smtputf8 and isinstance(policy, EmailPolicy):
        policy = policy.clone(utf8=True)
    return dataclasses.replace(raw, data=message.as_bytes(policy=policy))


def _addresses(message: EmailMessage, name: str) -> list[str]:
    header = message.get(name)
    if header is None:
        return []
    found = getattr(header, "addresses", None)
    if found is None:
        return []
    return [address.addr_spec for address in found if isinstance(address, Address)]


#: Called once the envelope is accepted, before the message is completed
#: (`MailTransport.send_bytes`): None to complete it at once, else what to await first.
BeforeEnd = Callable[[], Awaitable[None] | None]


class MailTransport(Protocol):
    """Hands one finished message (one recipient) to the outside world."""

    async def send(self, message: EmailMessage) -> None:
        """Serialise `message` (`raw_message`) and send it like `send_bytes`."""
        ...

    async def send_bytes(self, message: RawMessage, *, before_end: BeforeEnd | None = None) -> None:
        """Send pre-serialised bytes to `message.recipients` (the envelope, not To).

        `before_end` is called once the envelope is accepted; when it returns an awaitable,
        the message is finished only after that (SMTP: the body goes out, the final "."
        waits): the ledger's previous "sent" mark is committed meanwhile. If either raises,
        the message is not sent (SMTP: the connection is closed before the ".").
        """
        ...

    async def close(self) -> None: ...
