"""A real SMTP server on loopback for tests (aiosmtpd), with TLS, AUTH and fault injection.

Use the fixtures (enabled for every test by `pytest_plugins` in tests/conftest.py):

    async def test_x(smtp_server: SmtpTestServer) -> None:
        transport = SmtpTransport(smtp_server.settings(), ...)
        ...
        assert smtp_server.handler.messages[0].recipients == ["ann@example.org"]

    smtp_server.handler.defer_data(2)          # "421" to the next 2 DATA commands
    smtp_server.handler.reject_recipient("x@y")  # "550" on RCPT TO:<x@y>
    smtp_server.handler.drop_on_data(1)        # close the connection on the next DATA
    smtp_server.handler.stall_on_data(1)       # never answer the next DATA (read timeout)
    smtp_server.stop(); ...; smtp_server.start()  # server down, then back on the same port

`tls_server` offers STARTTLS, `implicit_tls_server` speaks TLS from the first byte; both use
certificates from a `trustme` CA (`tls_ca.ca_pem` is the PEM file a client trusts).
`auth_server` requires AUTH (PLAIN/LOGIN, over STARTTLS) with user "feedline" / "s3cret".
The server runs in its own thread and event loop (aiosmtpd's Controller).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from config.schema import SmtpMailSettings

HOST = "127.0.0.1"
USERNAME = "feedline"
PASSWORD = "s3cret"


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the server accepted it."""

    sender: str
    recipients: list[str]
    data: bytes

    def parsed(self) -> EmailMessage:
        message = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


@dataclass
class RecordingHandler:
    """Records accepted messages; faults are armed per test and used up as they fire."""

    messages: list[ReceivedMessage] = field(default_factory=list)
    sessions: list[Session] = field(default_factory=list)
    encrypted: list[bool] = field(default_factory=list)  # per session: TLS at MAIL FROM
    rejected_recipients: dict[str, str] = field(default_factory=dict)
    data_deferrals: int = 0
    data_drops: int = 0
    data_stalls: int = 0
    deferral_reply: str = "421 4.7.0 Try again later"
    lock: threading.Lock = field(default_factory=threading.Lock)

    # Fault injection -------------------------------------------------------------------
    def defer_data(self, times: int, reply: str = "421 4.7.0 Try again later") -> None:
        """Answer the next `times` DATA commands with a 4xx reply (default 421)."""
        with self.lock:
            self.data_deferrals = times
            self.deferral_reply = reply

    def reject_recipient(self, address: str, reply: str = "550 5.1.1 No such user") -> None:
        """Answer RCPT TO:<address> with `reply` (default 550) until cleared."""
        with self.lock:
            self.rejected_recipients[address.lower()] = reply

    def drop_on_data(self, times: int = 1) -> None:
        """Close the connection without replying on the next `times` DATA commands."""
        with self.lock:
            self.data_drops = times

    def stall_on_data(self, times: int = 1) -> None:
        """Never answer the next `times` DATA commands (client read timeouts)."""
        with self.lock:
            self.data_stalls = times

    @property
    def connection_count(self) -> int:
        """How many client connections reached MAIL FROM (pool reuse checks)."""
        return len(self.sessions)

    # aiosmtpd hooks --------------------------------------------------------------------
    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        with self.lock:
            if not any(known is session for known in self.sessions):
                self.sessions.append(session)
                transport = server.transport
                tls = transport is not None and transport.get_extra_info("ssl_object") is not None
                self.encrypted.append(tls)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        with self.lock:
            reply = self.rejected_recipients.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            stall = self.data_stalls > 0
            if stall:
                self.data_stalls -= 1
        if stall:
            await asyncio.Event().wait()  # cancelled when the server stops
        with self.lock:
            if self.data_drops > 0:
                self.data_drops -= 1
                drop = True
            else:
                drop = False
            if not drop and self.data_deferrals > 0:
                self.data_deferrals -= 1
                return self.deferral_reply
        if drop:
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
            return "421 4.4.2 Connection dropped"
        content = envelope.original_content or b""
        with self.lock:
            self.messages.append(
                ReceivedMessage(str(envelope.mail_from), list(envelope.rcpt_tos), content)
            )
        return "250 Message accepted"


@dataclass(frozen=True)
class ServerCertificates:
    """A throwaway CA and a server certificate for 127.0.0.1 and localhost."""

    ca_pem: Path
    server_context: ssl.SSLContext

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_pem))
        return context


def make_certificates(directory: Path) -> ServerCertificates:
    ca = trustme.CA()
    server_cert = ca.issue_cert(HOST, "localhost")
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_cert.configure_cert(server_context)
    ca_pem = directory / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    return ServerCertificates(ca_pem=ca_pem, server_context=server_context)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USERNAME.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


class SmtpTestServer:
    """An aiosmtpd server on 127.0.0.1 that can be stopped and started on the same port."""

    def __init__(
        self,
        *,
        security: Literal["starttls", "tls", "none"] = "none",
        certificates: ServerCertificates | None = None,
        require_auth: bool = False,
        port: int | None = None,
    ) -> None:
        if security != "none" and certificates is None:
            raise ValueError(f"security {security!r} needs certificates")
        self.security = security
        self.certificates = certificates
        self.require_auth = require_auth
        self.port = port or free_port()
        self.handler = RecordingHandler()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is not None:
            return
        kwargs: dict[str, Any] = {"hostname": HOST, "port": self.port}
        tls = self.certificates.server_context if self.certificates else None
        if self.security == "tls":
            kwargs["ssl_context"] = tls
        elif self.security == "starttls":
            kwargs["tls_context"] = tls
            kwargs["require_starttls"] = True
        if self.require_auth:
            kwargs["authenticator"] = _authenticate
            kwargs["auth_required"] = True
            kwargs["auth_require_tls"] = self.security != "none"
        controller = Controller(self.handler, **kwargs)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Close the listener and every open connection ("server down")."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def settings(self, **overrides: Any) -> SmtpMailSettings:
        """Client settings that reach this server (CA trusted, no password env)."""
        values: dict[str, Any] = {
            "host": HOST,
            "port": self.port,
            "security": self.security,
            "password_env": None,
            "timeout": 5,
            "max_per_second": 10_000,
            "ca_file": self.certificates.ca_pem if self.certificates else None,
        }
        if self.require_auth:
            values["username"] = USERNAME
        values.update(overrides)
        return SmtpMailSettings(**values)


# Fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tls_certificates(tmp_path_factory: pytest.TempPathFactory) -> ServerCertificates:
    return make_certificates(tmp_path_factory.mktemp("smtp-tls"))


def _serve(server: SmtpTestServer) -> Iterator[SmtpTestServer]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def smtp_server() -> Iterator[SmtpTestServer]:
    """Plain SMTP, no TLS, no AUTH."""
    yield from _serve(SmtpTestServer())


@pytest.fixture
def tls_server(tls_certificates: ServerCertificates) -> Iterator[SmtpTestServer]:
    """STARTTLS required (the submission-port shape, 587)."""
    yield from _serve(SmtpTestServer(security="starttls", certificates=tls_certificates))


@pytest.fixture
def implicit_tls_server(tls_certificates: ServerCertificates) -> Iterator[SmtpTestServer]:
    """TLS from the first byte (the 465 shape)."""
    yield from _serve(SmtpTestServer(security="tls", certificates=tls_certificates))


@pytest.fixture
def auth_server(tls_certificates: ServerCertificates) -> Iterator[SmtpTestServer]:
    """STARTTLS + AUTH required; credentials USERNAME / PASSWORD."""
    server = SmtpTestServer(security="starttls", certificates=tls_certificates, require_auth=True)
    yield from _serve(server)
