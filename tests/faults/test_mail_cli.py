"""Exit statuses when mail cannot go out, and argument errors, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.foundation.helpers import run_cli
from tests.ledger.test_remind_cli import seed_config, smtp_block
from tests.support.smtp import PASSWORD, USERNAME, SmtpTestServer

DUE = "2023-02-11T09:00:00+01:00"
LATER = "2023-02-11T09:05:00+01:00"  # past failing_after = 2m, and past the first retry


def test_remind_and_status_turn_failing_while_smtp_is_down(
    tmp_path: Path, seed_page: Path, smtp_server: SmtpTestServer
) -> None:
    mail = smtp_block(smtp_server).replace("[mail.smtp]", 'failing_after = "2m"\n[mail.smtp]')
    config = seed_config(tmp_path, seed_page, mail)
    assert run_cli("subscribers", "add", "ana@example.org", config=config).exit_code == 0
    smtp_server.stop()
    first = run_cli("remind", config=config, now=DUE)
    assert first.exit_code == 0, "failing only after [mail] failing_after"
    assert "retried 1" in first.stdout
    later = run_cli("remind", config=config, now=LATER)
    assert later.exit_code == 1
    assert "feedline: error: mail failing since" in later.stderr
    assert "Traceback" not in later.output
    status = run_cli("status", config=config, now=LATER)
    assert status.exit_code == 1 and "mail: failing, 2 failure(s) in a row" in status.stdout
    body = json.loads(run_cli("status", "--json", config=config, now=LATER).stdout)
    assert body["status"] == "failing" and body["mail"]["consecutive_failures"] == 2
    smtp_server.start()
    back = run_cli("remind", config=config, now="2023-02-11T10:00:00+01:00")
    assert back.exit_code == 0 and "sent 1," in back.stdout
    assert len(smtp_server.handler.messages) == 1
    assert run_cli("status", config=config, now="2023-02-11T10:00:00+01:00").exit_code == 0


def test_refused_login_exits_2_and_keeps_the_reminder(
    tmp_path: Path,
    seed_page: Path,
    auth_server: SmtpTestServer,
    monkeypatch: object,
) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    mail = smtp_block(auth_server) + f'username = "{USERNAME}"\npassword_env = "T_SMTP_PW"\n'
    config = seed_config(tmp_path, seed_page, mail)
    assert run_cli("subscribers", "add", "ana@example.org", config=config).exit_code == 0
    monkeypatch.setenv("T_SMTP_PW", "wrong")
    refused = run_cli("remind", config=config, now=DUE)
    assert refused.exit_code == 2
    assert "login as 'feedline' refused" in refused.stderr
    assert "wrong" not in refused.output
    status = run_cli("status", config=config, now=DUE)
    assert status.exit_code == 1 and "mail cannot go out: login" in status.stdout
    monkeypatch.setenv("T_SMTP_PW", PASSWORD)
    fixed = run_cli("remind", config=config, now=DUE)
    assert fixed.exit_code == 0 and "sent 1," in fixed.stdout, "given back untried"
    assert len(auth_server.handler.messages) == 1
    assert run_cli("status", config=config, now=DUE).exit_code == 0


def test_argument_errors_exit_2(tmp_path: Path, seed_page: Path) -> None:
    config = seed_config(tmp_path, seed_page, "")
    for args in (
        ("subscribers", "add", "not-an-address"),
        ("subscribers", "add", "a@example.org", "--offsets", "soon"),
        ("subscribers", "add", "a@example.org", "--source", "nope"),
        ("remind", "--now", "yesterday"),
        ("status", "--now", "2023-02-11T09:00:00"),  # no UTC offset
        ("once", "--now", "tomorrow"),
    ):
        result = run_cli(*args, config=config)
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
    missing = run_cli("subscribers", "remove", "nobody@example.org", config=config)
    assert missing.exit_code == 1, "a failure, not a usage error"
