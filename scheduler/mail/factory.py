"""Build the configured mail transport."""

from __future__ import annotations

from collections.abc import Mapping

from config.schema import MailSettings, SmtpMailSettings
from scheduler.mail.file_transport import FileTransport
from scheduler.mail.smtp_transport import SmtpTransport
from scheduler.mail.transport import MailConfigError, MailTransport


def build_transport(settings: MailSettings, env: Mapping[str, str]) -> MailTransport:
    """A `FileTransport` or an `SmtpTransport`, per `mail.transport`."""
    if settings.transport == "file":
        return FileTransport(settings.file.dir)
    return SmtpTransport(settings.smtp, password=smtp_password(settings.smtp, env))


def smtp_password(settings: SmtpMailSettings, env: Mapping[str, str]) -> str | None:
    """The SMTP password: the `password_env` variable when set, else `password_file`."""
    if settings.password_env and env.get(settings.password_env):
        return env[settings.password_env]
    if settings.password_file is not None:
        try:
            text = settings.password_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise MailConfigError(
                f"cannot read mail.smtp.password_file {settings.password_file}: {exc.strerror}"
            ) from None
        return text.rstrip("\r\n")
    if settings.username:
        source = f"environment variable {settings.password_env}" if settings.password_env else ""
        raise MailConfigError(
            f"mail.smtp.username is set but no password was found; set {source or 'it'} "
            "or mail.smtp.password_file"
        )
    return None
