"""The mail transport seam and its errors.

Dispatch decides from the error class alone: `TransientMailError` goes back to the queue
with backoff; `PermanentMailError` marks the reminder failed, and when `recipient_rejected`
is true the address itself was refused (a hard bounce: deactivate the subscriber).
"""

from __future__ import annotations

from email.message import EmailMessage
from typing import Protocol

from feeds.errors import FeedlineError

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


class MailConfigError(MailError):
    """The mail settings cannot work (missing password, unreadable CA file)."""


class MailTransport(Protocol):
    """Hands one finished message (one recipient) to the outside world."""

    async def send(self, message: EmailMessage) -> None: ...

    async def close(self) -> None: ...
