"""SmtpTransport against a real aiosmtpd server on loopback (tests/support/smtp.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from config.schema import MailSettings
from feeds.clock import FixedClock
from scheduler.mail.factory import build_transport, smtp_password
from scheduler.mail.message import build_message, message_id_for
from scheduler.mail.smtp_transport import SmtpTransport
from scheduler.mail.transport import (
    MailConfigError,
    PermanentMailError,
    TransientMailError,
)
from tests.mail.conftest import DOMAIN, make_reminder
from tests.support.smtp import PASSWORD, SmtpTestServer

CLOCK = FixedClock(datetime(2023, 2, 10, 9, 0, tzinfo=UTC))


def _message(recipient: str = "ann@example.org", key: str = "k") -> EmailMessage:
    reminder = make_reminder(recipient=recipient, message_id=message_id_for(key, DOMAIN))
    return build_message(reminder, clock=CLOCK)


async def test_plain_delivery_records_envelope_and_bytes(smtp_server: SmtpTestServer) -> None:
    transport = SmtpTransport(smtp_server.settings())
    message = _message()
    await transport.send(message)
    await transport.close()
    (received,) = smtp_server.handler.messages
    assert received.sender == "noreply@reminders.example.org"
    assert received.recipients == ["ann@example.org"]
    assert received.parsed()["Message-ID"] == message["Message-ID"]
    assert received.parsed().get_content_type() == "multipart/mixed"
    assert smtp_server.handler.encrypted == [False]


async def test_starttls_with_test_certificate(tls_server: SmtpTestServer) -> None:
    transport = SmtpTransport(tls_server.settings())
    await transport.send(_message())
    await transport.close()
    assert len(tls_server.handler.messages) == 1  # the server refuses MAIL before STARTTLS
    assert tls_server.handler.encrypted == [True]


async def test_implicit_tls(implicit_tls_server: SmtpTestServer) -> None:
    transport = SmtpTransport(implicit_tls_server.settings())
    await transport.send(_message())
    await transport.close()
    assert len(implicit_tls_server.handler.messages) == 1
    assert implicit_tls_server.handler.encrypted == [True]


@pytest.mark.parametrize("server_name", ["tls_server", "implicit_tls_server"])
async def test_untrusted_certificate_is_refused(
    server_name: str, request: pytest.FixtureRequest
) -> None:
    server: SmtpTestServer = request.getfixturevalue(server_name)
    transport = SmtpTransport(server.settings(ca_file=None))
    with pytest.raises(TransientMailError, match=r"CERTIFICATE_VERIFY_FAILED|certificate"):
        await transport.send(_message())
    await transport.close()
    assert server.handler.messages == []


async def test_verification_can_be_switched_off(tls_server: SmtpTestServer) -> None:
    transport = SmtpTransport(tls_server.settings(ca_file=None, validate_certs=False))
    await transport.send(_message())
    await transport.close()
    assert len(tls_server.handler.messages) == 1


async def test_auth_with_password_from_environment(auth_server: SmtpTestServer) -> None:
    settings = MailSettings.model_validate(
        {"transport": "smtp", "smtp": auth_server.settings(password_env="TEST_SMTP_PW")}
    )
    transport = build_transport(settings, {"TEST_SMTP_PW": PASSWORD})
    await transport.send(_message())
    await transport.close()
    assert len(auth_server.handler.messages) == 1
    assert auth_server.handler.sessions[0].authenticated


async def test_auth_with_password_file(auth_server: SmtpTestServer, tmp_path: Path) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text(PASSWORD + "\n")
    settings = auth_server.settings(password_file=secret)
    transport = SmtpTransport(settings, password=smtp_password(settings, {}))
    await transport.send(_message())
    await transport.close()
    assert len(auth_server.handler.messages) == 1


async def test_wrong_password_is_transient_and_not_shown(auth_server: SmtpTestServer) -> None:
    transport = SmtpTransport(auth_server.settings(), password="wrong-password")
    with pytest.raises(TransientMailError, match="login as 'feedline' refused") as caught:
        await transport.send(_message())
    await transport.close()
    assert "wrong-password" not in str(caught.value)
    assert "wrong-password" not in repr(transport)
    assert caught.value.code == 535


def test_username_without_password_is_a_config_error(auth_server: SmtpTestServer) -> None:
    settings = MailSettings.model_validate({"transport": "smtp", "smtp": auth_server.settings()})
    with pytest.raises(MailConfigError, match="no password"):
        build_transport(settings, {})


async def test_421_is_transient_then_delivery_succeeds(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.defer_data(1)
    transport = SmtpTransport(smtp_server.settings())
    with pytest.raises(TransientMailError) as caught:
        await transport.send(_message())
    assert caught.value.code == 421
    await transport.send(_message())
    await transport.close()
    assert len(smtp_server.handler.messages) == 1


async def test_550_on_rcpt_is_permanent_and_rejects_the_address(
    smtp_server: SmtpTestServer,
) -> None:
    smtp_server.handler.reject_recipient("gone@example.org")
    transport = SmtpTransport(smtp_server.settings())
    with pytest.raises(PermanentMailError) as caught:
        await transport.send(_message("gone@example.org"))
    assert caught.value.code == 550
    assert caught.value.recipient_rejected
    assert caught.value.recipient == "gone@example.org"
    await transport.send(_message())  # the connection is still good for the next one
    await transport.close()
    assert [m.recipients for m in smtp_server.handler.messages] == [["ann@example.org"]]


async def test_5xx_on_data_is_permanent_without_rejecting_the_address(
    smtp_server: SmtpTestServer,
) -> None:
    smtp_server.handler.defer_data(1, reply="554 5.7.1 Message refused as spam")
    transport = SmtpTransport(smtp_server.settings())
    with pytest.raises(PermanentMailError) as caught:
        await transport.send(_message())
    await transport.close()
    assert caught.value.code == 554
    assert not caught.value.recipient_rejected


async def test_partial_refusal_is_permanent_for_that_recipient(
    smtp_server: SmtpTestServer,
) -> None:
    smtp_server.handler.reject_recipient("gone@example.org")
    message = _message()
    message.replace_header("To", "ann@example.org, gone@example.org")
    transport = SmtpTransport(smtp_server.settings())
    with pytest.raises(PermanentMailError) as caught:
        await transport.send(message)
    await transport.close()
    assert caught.value.recipient == "gone@example.org"
    assert caught.value.recipient_rejected


async def test_server_down_is_transient_then_back_is_ok(smtp_server: SmtpTestServer) -> None:
    transport = SmtpTransport(smtp_server.settings())
    await transport.send(_message(key="before"))  # leaves a pooled connection
    smtp_server.stop()
    with pytest.raises(TransientMailError, match="cannot connect"):
        await transport.send(_message(key="down"))
    smtp_server.start()
    await transport.send(_message(key="after"))
    await transport.close()
    assert len(smtp_server.handler.messages) == 2


async def test_dropped_connection_is_transient(smtp_server: SmtpTestServer) -> None:
    smtp_server.handler.drop_on_data(1)
    transport = SmtpTransport(smtp_server.settings())
    with pytest.raises(TransientMailError, match=r"Disconnected|EOF"):
        await transport.send(_message())
    await transport.send(_message())
    await transport.close()
    assert len(smtp_server.handler.messages) == 1


async def test_stale_pooled_connection_is_replaced(smtp_server: SmtpTestServer) -> None:
    transport = SmtpTransport(smtp_server.settings(max_connections=1))
    await transport.send(_message(key="1"))
    smtp_server.handler.drop_on_data(1)  # the reused connection dies on use, once
    await transport.send(_message(key="2"))
    await transport.close()
    assert len(smtp_server.handler.messages) == 2
    assert smtp_server.handler.connection_count == 2


async def test_connections_are_reused_and_bounded(smtp_server: SmtpTestServer) -> None:
    transport = SmtpTransport(smtp_server.settings(max_connections=3))
    await asyncio.gather(*(transport.send(_message(key=str(n))) for n in range(30)))
    await transport.close()
    assert len(smtp_server.handler.messages) == 30
    assert 1 <= smtp_server.handler.connection_count <= 3


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


async def test_timeout_is_transient(silent_listener: int) -> None:
    server = SmtpTestServer(port=silent_listener)  # never started: only for its settings
    transport = SmtpTransport(server.settings(timeout=0.05))
    with pytest.raises(TransientMailError, match=r"[Tt]imed? ?out"):
        await transport.send(_message())
    await transport.close()


async def test_read_timeout_is_transient_and_the_connection_is_replaced(
    smtp_server: SmtpTestServer,
) -> None:
    transport = SmtpTransport(smtp_server.settings(timeout=0.2, max_connections=1))
    smtp_server.handler.stall_on_data(1)
    with pytest.raises(TransientMailError, match=r"Timed out"):
        await transport.send(_message(key="stalled"))
    await transport.send(_message(key="next"))
    await transport.close()
    assert len(smtp_server.handler.messages) == 1
    assert smtp_server.handler.connection_count == 2


async def test_closed_transport_refuses(smtp_server: SmtpTestServer) -> None:
    transport = SmtpTransport(smtp_server.settings())
    await transport.close()
    with pytest.raises(TransientMailError, match="closed"):
        await transport.send(_message())


async def test_send_bytes_sends_the_bytes_to_the_envelope(smtp_server: SmtpTestServer) -> None:
    from scheduler.mail.template import MessageTemplate

    template = MessageTemplate(make_reminder())
    raw = template.render(
        "bob@example.org", message_id_for("b", DOMAIN), "https://x.example/u?t=1", clock=CLOCK
    )
    transport = SmtpTransport(smtp_server.settings())
    await transport.send_bytes(raw)
    await transport.close()
    (received,) = smtp_server.handler.messages
    assert received.sender == "noreply@reminders.example.org"
    assert received.recipients == ["bob@example.org"]
    assert received.data.replace(b"\r\n", b"\n") == raw.data.replace(b"\r\n", b"\n")
    assert received.parsed()["To"] == "bob@example.org"


async def test_send_bytes_refused_recipient_is_a_hard_bounce(smtp_server: SmtpTestServer) -> None:
    from scheduler.mail.transport import raw_message

    smtp_server.handler.reject_recipient("gone@example.org")
    transport = SmtpTransport(smtp_server.settings())
    with pytest.raises(PermanentMailError) as caught:
        await transport.send_bytes(raw_message(_message(recipient="gone@example.org")))
    await transport.close()
    assert caught.value.recipient_rejected
    assert caught.value.code == 550


async def test_before_end_holds_the_final_dot_until_its_awaitable_is_done(
    smtp_server: SmtpTestServer,
) -> None:
    from scheduler.mail.transport import raw_message

    transport = SmtpTransport(smtp_server.settings())
    released = asyncio.Event()
    called = asyncio.Event()

    def before_end() -> asyncio.Future[bool]:
        called.set()  # the envelope is accepted
        return asyncio.ensure_future(released.wait())

    # a body line starting with "." is still quoted on the held path
    raw = raw_message(_message())
    raw = dataclasses.replace(raw, data=raw.data + b".a dot line\r\n")  # the epilogue
    sending = asyncio.ensure_future(transport.send_bytes(raw, before_end=before_end))
    await called.wait()
    for _ in range(20):  # event-loop turns: the DATA and the body go out meanwhile
        await asyncio.sleep(0)
    assert smtp_server.handler.messages == []  # not completed: the "." is held back
    released.set()
    await sending
    (received,) = smtp_server.handler.messages
    assert b"\n.a dot line" in received.data.replace(b"\r\n", b"\n")
    await transport.send_bytes(raw_message(_message(key="next")), before_end=lambda: None)
    await transport.close()
    assert len(smtp_server.handler.messages) == 2  # the connection is in step after it


async def test_before_end_failing_sends_nothing_and_the_next_message_goes_out(
    smtp_server: SmtpTestServer,
) -> None:
    from scheduler.mail.transport import raw_message

    transport = SmtpTransport(smtp_server.settings())

    async def database_gone() -> None:
        raise RuntimeError("the mark failed")

    with pytest.raises(RuntimeError, match="the mark failed"):
        await transport.send_bytes(raw_message(_message()), before_end=database_gone)
    await transport.send_bytes(raw_message(_message(key="next")))
    await transport.close()
    (received,) = smtp_server.handler.messages
    assert received.parsed()["Message-ID"] == message_id_for("next", DOMAIN)


@pytest.mark.parametrize(
    "data",
    [
        b"Subject: a\r\n\r\nline one\r\nline two\r\n",  # wire form already: sent as it is
        b"Subject: a\n\nbare line feeds\nand no final one",
        b"Subject: a\r\n\r\n.a leading dot\r\n..two\r\n",
        b"Subject: a\r\r\nlone \r carriage\r\n",
        b".\r\n",
    ],
)
async def test_the_server_gets_the_bytes_aiosmtplib_would_send(
    smtp_server: SmtpTestServer, data: bytes
) -> None:
    from aiosmtplib.protocol import normalize_message_line_endings

    from scheduler.mail.transport import RawMessage

    raw = RawMessage("noreply@example.org", ("ann@example.org",), "<m@example.org>", data)
    transport = SmtpTransport(smtp_server.settings())
    await transport.send_bytes(raw)
    await transport.send_bytes(raw, before_end=lambda: None)
    await transport.close()
    first, second = smtp_server.handler.messages
    assert first.data == second.data == normalize_message_line_endings(data)


def test_wire_form_is_aiosmtplibs_for_any_bytes() -> None:
    from aiosmtplib.protocol import PERIOD_REGEX, normalize_message_line_endings
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from scheduler.mail.smtp_transport import wire_form

    pieces = st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"\r\n.", b"\n.", b" "])

    @settings(max_examples=2000, deadline=None)
    @given(st.lists(pieces, max_size=24).map(b"".join))
    def same(data: bytes) -> None:
        normal = normalize_message_line_endings(data)
        assert wire_form(data) == (PERIOD_REGEX.sub(b"..", normal), len(normal))

    same()


def test_a_ledger_message_goes_out_unchanged() -> None:
    from scheduler.mail.smtp_transport import wire_form
    from scheduler.mail.template import MessageTemplate

    raw = MessageTemplate(make_reminder()).render(
        "bob@example.org", message_id_for("b", DOMAIN), "https://x.example/u?t=1", clock=CLOCK
    )
    body, size = wire_form(raw.data)
    assert body is raw.data  # no copy, no substitution: the fast path
    assert size == len(raw.data)
