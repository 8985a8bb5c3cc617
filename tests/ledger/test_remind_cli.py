"""`feedline remind` and `subscribers` from the command line, against a real SMTP server."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.foundation.helpers import run_cli, site_block, source_block, write_config
from tests.support.smtp import SmtpTestServer


def smtp_block(server: SmtpTestServer) -> str:
    lines = [
        "[mail]",
        'from = "Consultation reminders <reminders@example.org>"',
        'transport = "smtp"',
        "[mail.smtp]",
        'host = "127.0.0.1"',
        f"port = {server.port}",
        f'security = "{server.security}"',
        "timeout = 5",
    ]
    if server.certificates is not None:
        lines.append(f'ca_file = "{server.certificates.ca_pem}"')
    return "\n".join(lines) + "\n"


def seed_config(tmp_path: Path, seed_page: Path, mail: str) -> Path:
    shutil.copy(seed_page, tmp_path / "seed.txt")
    return write_config(tmp_path, site_block() + source_block("home-affairs", "seed.txt") + mail)


def test_seed_page_reminders_over_starttls(
    tmp_path: Path, seed_page: Path, tls_server: SmtpTestServer
) -> None:
    config = seed_config(tmp_path, seed_page, smtp_block(tls_server))
    added = run_cli("subscribers", "add", "ana@example.org", config=config)
    assert added.exit_code == 0, added.output
    first = run_cli("remind", config=config, now="2023-02-11T09:00:00+01:00")
    assert first.exit_code == 0, first.output
    assert "sent 1, retried 0, failed 0, expired 0" in first.stdout
    assert len(tls_server.handler.messages) == 1
    assert tls_server.handler.encrypted == [True]
    message = tls_server.handler.messages[0].parsed()
    assert message["Subject"].startswith("Closes in 6 days: ")  # 6 days 15 hours left
    assert "corruption" in message["Subject"]
    again = run_cli("remind", config=config, now="2023-02-11T09:00:00+01:00")
    assert "sent 0," in again.stdout
    assert len(tls_server.handler.messages) == 1
    later = run_cli("remind", config=config, now="2023-02-17T09:00:00+01:00")
    assert "sent 1," in later.stdout
    subject = tls_server.handler.messages[1].parsed()["Subject"]
    assert subject.startswith("Closes today, 23:59 Brussels time: ")  # 15 hours left
    text = tls_server.handler.messages[1].parsed().get_body(("plain",)).get_content()
    assert "17 February 2023, 23:59 Brussels time" in text


def test_embedded_default_writes_the_same_reminders_to_the_outbox(
    tmp_path: Path, monkeypatch: object
) -> None:
    import pytest

    assert isinstance(monkeypatch, pytest.MonkeyPatch)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FEEDLINE_CONFIG", raising=False)
    assert run_cli("subscribers", "add", "ana@example.org").exit_code == 0
    dry = run_cli("remind", "--dry-run", now="2023-02-11T09:00:00+01:00")
    assert "would send 1" in dry.stdout and "nothing was changed" in dry.stdout
    first = run_cli("remind", now="2023-02-11T09:00:00+01:00")
    assert "sent 1," in first.stdout
    assert first.stdout.rstrip().endswith("next due: 2023-02-16T23:59:59+01:00")  # Brussels
    assert "sent 0," in run_cli("remind", now="2023-02-11T09:00:00+01:00").stdout
    assert "sent 1," in run_cli("remind", now="2023-02-17T09:00:00+01:00").stdout
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert len(files) == 2
    assert b"Subject: Closes in 6 days: " in files[0].read_bytes()


def test_dry_run_changes_nothing(tmp_path: Path, seed_page: Path) -> None:
    config = seed_config(tmp_path, seed_page, "")
    assert run_cli("build", config=config).exit_code == 0
    run_cli("subscribers", "add", "ana@example.org", config=config)
    for _ in range(2):
        dry = run_cli("remind", "--dry-run", config=config, now="2023-02-11T09:00:00+01:00")
        assert "would send 1" in dry.stdout
    assert not (tmp_path / "outbox").exists()
    assert "sent 1," in run_cli("remind", config=config, now="2023-02-11T09:00:00+01:00").stdout


def test_subscriber_commands(tmp_path: Path, seed_page: Path) -> None:
    config = seed_config(tmp_path, seed_page, "")
    assert (
        "added ana@example.org"
        in run_cli("subscribers", "add", "Ana@Example.org", config=config).stdout
    )
    updated = run_cli(
        "subscribers",
        "add",
        "ana@example.org",
        "--offsets",
        "3d,3h",
        "--source",
        "home-affairs",
        config=config,
    )
    assert "updated ana@example.org" in updated.stdout
    listing = run_cli("subscribers", "list", config=config).stdout
    assert "ana@example.org\tactive\tsources: home-affairs\toffsets: 3d,3h" in listing
    odd = run_cli("subscribers", "add", "di@example.org", "--offsets", "1d12h,90m", config=config)
    assert odd.exit_code == 0, odd.output
    listing = run_cli("subscribers", "list", config=config).stdout
    assert "di@example.org\tactive\tsources: all\toffsets: 1d12h,1h30m" in listing  # as written
    bad = run_cli("subscribers", "add", "not-an-address", config=config)
    assert bad.exit_code == 2 and "not a valid email address" in bad.stderr  # usage error
    unknown = run_cli("subscribers", "add", "b@example.org", "--source", "nope", config=config)
    assert unknown.exit_code == 2 and "unknown source(s): nope" in unknown.stderr
    (tmp_path / "people.csv").write_text(
        "email,sources,offsets\nbo@example.org,,7d\nbroken,,\nana@example.org,home-affairs,1d\n"
        "cy@example.org,home-affairs;elsewhere,\n"
    )
    imported = run_cli("subscribers", "import", str(tmp_path / "people.csv"), config=config)
    assert "imported 1 new, 1 updated, 2 skipped" in imported.stdout
    assert "people.csv:3:" in imported.stderr and "people.csv:5:" in imported.stderr
    assert imported.exit_code == 1
    assert run_cli("subscribers", "remove", "bo@example.org", config=config).exit_code == 0
    missing = run_cli("subscribers", "remove", "bo@example.org", config=config)
    assert missing.exit_code == 1 and "no subscriber" in missing.stderr


def test_mail_test_command(tmp_path: Path, seed_page: Path, smtp_server: SmtpTestServer) -> None:
    config = seed_config(tmp_path, seed_page, smtp_block(smtp_server))
    result = run_cli("mail", "test", "ops@example.org", config=config)
    assert result.exit_code == 0, result.output
    assert smtp_server.handler.messages[0].recipients == ["ops@example.org"]


def test_header_injection_from_a_news_page_goes_nowhere(
    tmp_path: Path, smtp_server: SmtpTestServer
) -> None:
    (tmp_path / "news.md").write_text(
        "## Consultation on rivers\u2028Bcc: victim@example.net\n\n"
        "The consultation on rivers\u2028Bcc: evil@example.net\x85To: x@example.net"
        " is open until 30 April 2024.\n",
        encoding="utf-8",
    )
    config = write_config(
        tmp_path,
        site_block() + source_block("river", "news.md", kind="markdown") + smtp_block(smtp_server),
    )
    run_cli("subscribers", "add", "ana@example.org", config=config)
    result = run_cli("remind", config=config, now="2024-04-28T09:00:00+02:00")
    assert "sent 1," in result.stdout, result.output
    received = smtp_server.handler.messages[0]
    assert received.recipients == ["ana@example.org"]
    head = received.data.split(b"\r\n\r\n", 1)[0].decode()
    assert [line for line in head.split("\r\n") if line.startswith(("Bcc", "To:"))] == [
        "To: ana@example.org"
    ]
    parsed = received.parsed()
    assert parsed["Bcc"] is None
    assert "\u2028" not in str(parsed["Subject"]) and "\x85" not in str(parsed["Subject"])
