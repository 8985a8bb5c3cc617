"""Mail: compose one reminder message, hand it to a transport (SMTP or .eml files)."""

from __future__ import annotations

from scheduler.mail.factory import build_transport
from scheduler.mail.file_transport import FileTransport
from scheduler.mail.message import (
    MessageError,
    MessageKind,
    ReminderMessage,
    build_message,
    message_id_for,
)
from scheduler.mail.smtp_transport import SmtpTransport
from scheduler.mail.transport import (
    MailConfigError,
    MailError,
    MailTransport,
    PermanentMailError,
    TransientMailError,
)

__all__ = [
    "FileTransport",
    "MailConfigError",
    "MailError",
    "MailTransport",
    "MessageError",
    "MessageKind",
    "PermanentMailError",
    "ReminderMessage",
    "SmtpTransport",
    "TransientMailError",
    "build_message",
    "build_transport",
    "message_id_for",
]
