"""What a new user meets first: the sample built from a copy of the embedded default, with
one key changed at a time, and the mail, pages and output that follow from it."""

from __future__ import annotations

import email
import shutil
from email import policy
from pathlib import Path

import pytest

import config
from tests.foundation.helpers import run_cli

DEFAULT = Path(config.__file__).parent / "default"
BUILT = "2026-02-02T09:00:00+01:00"


def sample_copy(folder: Path, replace: dict[str, str]) -> Path:
    """The embedded default's settings and page in `folder`, each `replace` key applied."""
    shutil.copytree(DEFAULT, folder, dirs_exist_ok=True)
    path = folder / "feedline.toml"
    text = path.read_text(encoding="utf-8")
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_bare_unsubscribe_mailto_reaches_list_unsubscribe(tmp_path: Path) -> None:
    # the example documents `unsubscribe_mailto = "unsubscribe@example.org"`: it was dropped
    mailto = 'transport = "file"\nunsubscribe_mailto = "unsubscribe@example.org"'
    path = sample_copy(tmp_path, {'transport = "file"': mailto})
    assert run_cli("build", config=path, now=BUILT).exit_code == 0
    assert run_cli("subscribers", "add", "a@example.org", config=path, now=BUILT).exit_code == 0
    sent = run_cli("remind", config=path, now="2026-02-11T09:00:00+01:00")
    assert sent.stdout.startswith("sent 1,")
    [eml] = (tmp_path / "outbox").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    targets = str(message["List-Unsubscribe"])
    assert targets.startswith("<http://127.0.0.1:8080/unsubscribe?token=")
    assert targets.endswith(", <mailto:unsubscribe@example.org>")


def test_an_unsubscribe_mailto_that_is_no_address_is_a_config_error(tmp_path: Path) -> None:
    path = sample_copy(
        tmp_path, {'transport = "file"': 'transport = "file"\nunsubscribe_mailto = "unsubscribe"'}
    )
    checked = run_cli("config", "check", config=path)
    assert checked.exit_code == 2
    assert checked.stderr.strip() == (
        f"feedline: error: {path}: mail.unsubscribe_mailto: 'unsubscribe' is not an address "
        "(e.g. unsubscribe@example.org)"
    )


def test_an_alerts_operator_that_is_no_address_is_a_config_error(tmp_path: Path) -> None:
    # it was accepted, and the alert after three failures could go nowhere
    for value in ("nobody", "Ops <ops@example.org>"):
        alerts = f'[alerts]\noperator = "{value}"\n[reminders]'
        path = sample_copy(tmp_path, {"[reminders]": alerts})
        checked = run_cli("config", "check", config=path)
        assert checked.exit_code == 2
        assert checked.stderr.strip() == (
            f"feedline: error: {path}: alerts.operator: {value!r} is not an address "
            "(e.g. ops@example.org)"
        )
    path = sample_copy(tmp_path, {"[reminders]": '[alerts]\noperator = "ops@x.org"\n[reminders]'})
    assert run_cli("config", "check", config=path).exit_code == 0


def test_a_source_without_its_location_is_named_in_good_english(tmp_path: Path) -> None:
    for kind, needs in (
        ("html", "an html source needs `url` or `path`"),
        ("items", "an items source needs `path`"),
        ("feed", "a feed source needs `url` or `path`"),
    ):
        path = sample_copy(tmp_path, {'kind = "text"\npath = "pages/news.txt"': f'kind = "{kind}"'})
        checked = run_cli("config", "check", config=path)
        assert checked.exit_code == 2
        assert checked.stderr.strip() == f"feedline: error: {path}: sources[0]: {needs}"


def test_bad_input_to_subscribers_add_and_mail_test_is_a_usage_error(tmp_path: Path) -> None:
    path = sample_copy(tmp_path, {})
    for argv, message in (
        (["subscribers", "add", "a@b"], "'a@b' is not a valid email address"),
        (["subscribers", "add", "a@example.org", "--offsets", "7x"], "offsets: '7x' is not a"),
        (["subscribers", "add", "a@example.org", "--source", "nope"], "unknown source(s): nope"),
        (["mail", "test", "nobody"], "'nobody' is not a valid email address"),
        (["subscribers", "remove", "nobody"], "'nobody' is not a valid email address"),
    ):
        result = run_cli(*argv, config=path)
        assert result.exit_code == 2, argv
        assert result.stderr.startswith(f"feedline: error: {message}")
        assert result.stderr.count("\n") == 1
    assert not (tmp_path / "outbox").exists()
    assert not (tmp_path / "data").exists()  # refused before the database is opened


def test_status_shows_times_as_remind_does_in_the_sources_zone(tmp_path: Path) -> None:
    path = sample_copy(tmp_path, {})
    assert run_cli("build", config=path, now=BUILT).exit_code == 0
    assert run_cli("subscribers", "add", "a@example.org", config=path, now=BUILT).exit_code == 0
    reminded = run_cli("remind", config=path, now="2026-02-10T09:00:00+01:00").stdout
    assert reminded.endswith("next due: 2026-02-10T23:59:59+01:00\n")
    status = run_cli("status", config=path, now="2026-02-10T09:00:00+01:00").stdout.splitlines()
    assert status[1] == (
        "source home-affairs: last success 2026-02-02T09:00:00+01:00, 0 failure(s) in a row"
    )
    assert status[2] == "mail: ok, 0 failure(s) in a row"
    assert status[3] == "reminders: 4 pending, 0 sent, 0 failed; next due 2026-02-10T23:59:59+01:00"


def test_extract_refuses_a_language_it_does_not_read_instead_of_reading_english() -> None:
    from click.testing import CliRunner

    from scheduler.cli import cli

    text = "The call for evidence stays open until 17 février 2026.\n"
    french = CliRunner().invoke(cli, ["extract", "--lang", "fr-BE"], input=text)
    assert french.exit_code == 0 and '"date": "2026-02-17"' in french.stdout
    unknown = CliRunner().invoke(cli, ["extract", "--lang", "xx"], input=text)
    assert unknown.exit_code == 2
    assert unknown.stderr == (
        "feedline: error: --lang: 'xx' is not a language the extractor reads"
        " (en, fr, de, it, es, nl, pt)\n"
    )
    line = '{"text": "open until 17 February", "lang": "pl"}\n'
    per_line = CliRunner().invoke(cli, ["extract", "--jsonl"], input=line)
    assert per_line.exit_code == 2
    expected = "feedline: error: stdin line 1, \"lang\": 'pl' is not a language"
    assert per_line.stderr.startswith(expected)


def test_a_database_url_sqlalchemy_cannot_read_is_a_config_error(tmp_path: Path) -> None:
    # was a NoSuchModuleError / ArgumentError traceback from build, and passed config check
    for url, message in (
        ("foo://x", "unknown database kind 'foo' (use postgresql+psycopg://... or sqlite:///PATH)"),
        ("not a url:hunter2", "not a database URL (e.g. postgresql+psycopg://user@host/feedline)"),
    ):
        path = sample_copy(tmp_path, {"max_items = 100": f'database_url = "{url}"'})
        expected = f"feedline: error: site.database_url (or FEEDLINE_DATABASE_URL): {message}"
        for argv in (["config", "check"], ["build"], ["deadlines"]):
            result = run_cli(*argv, config=path)
            assert result.exit_code == 2, argv
            assert result.stderr.strip() == expected
            assert "hunter2" not in result.output


def test_a_list_override_that_is_not_json_names_its_variable(tmp_path: Path) -> None:
    from config.errors import ConfigError
    from config.loading import load_settings

    path = sample_copy(tmp_path, {})
    for value in ("[7d", "7d, 1d"):
        env = {"FEEDLINE_REMINDERS__OFFSETS": value}
        with pytest.raises(ConfigError) as caught:
            load_settings(str(path), env=env, cwd=tmp_path)
        message = str(caught.value)
        assert message.startswith(
            "environment variable FEEDLINE_REMINDERS__OFFSETS: not valid JSON"
        )
        assert message.endswith(
            """(a list value is JSON, e.g. FEEDLINE_REMINDERS__OFFSETS='["7d", "1d"]')"""
        )
    env = {"FEEDLINE_REMINDERS__OFFSETS": '["3d"]', "FEEDLINE_SITE__TITLE": "[not a list"}
    settings = load_settings(str(path), env=env, cwd=tmp_path).settings
    assert settings.site.title == "[not a list"
    assert [o.days for o in settings.reminders.offsets] == [3]


def test_config_check_lists_every_merged_file_a_build_writes(tmp_path: Path) -> None:
    path = sample_copy(tmp_path, {})
    checked = run_cli("config", "check", config=path).stdout.splitlines()
    built = run_cli("build", config=path, now=BUILT).stdout.splitlines()[-1]
    merged = next(line for line in checked if line.startswith("merged:"))
    named = merged.removeprefix("merged:").strip().split(", ")
    assert named == ["all.rss", "all.atom", "all.json", "deadlines.ics", "index.html", "feeds.opml"]
    assert all(name in built for name in named)  # feeds.opml was missing from the check


def test_the_index_dates_recent_items_by_the_day_in_the_sources_zone(tmp_path: Path) -> None:
    # built at 00:30 in Brussels, 23:30 UTC the day before: the items are of 2 February
    path = sample_copy(tmp_path, {})
    assert run_cli("build", config=path, now="2026-02-02T00:30:00+01:00").exit_code == 0
    index = (tmp_path / "public" / "index.html").read_text(encoding="utf-8")
    assert '<time datetime="2026-02-01T23:30:00+00:00">2026-02-02</time>' in index
    assert ">2026-02-01</time>" not in index


def test_serve_refuses_a_port_out_of_range_as_a_usage_error(tmp_path: Path) -> None:
    # was "cannot listen on 127.0.0.1:-5: ... (another program may be using it ...)", exit 1
    path = sample_copy(tmp_path, {})
    result = run_cli("serve", "--port", "-5", config=path)
    assert result.exit_code == 2
    assert "Invalid value for '--port': -5 is not in the range 0<=x<=65535 (see" in result.stderr


def test_every_toml_example_of_the_readme_passes_config_check(tmp_path: Path) -> None:
    import re

    readme = (Path(config.__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    minimal, *others = re.findall(r"```toml\n(.*?)```", readme, re.DOTALL)
    site = minimal.split("[[sources]]")[0]
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "news.txt").write_text("News\n\nA page.\n", encoding="utf-8")
    for number, block in enumerate([minimal, *(site + other for other in others)]):
        path = tmp_path / f"readme-{number}.toml"
        path.write_text(block, encoding="utf-8")
        checked = run_cli("config", "check", config=path)
        assert checked.exit_code == 0, (number, checked.stderr)  # the follow one had no title


def test_a_usage_error_is_one_line_naming_the_command_and_its_help(tmp_path: Path) -> None:
    # was click's three lines: "Usage: ...", "Try '... -h' for help.", "Error: ..."
    path = sample_copy(tmp_path, {})
    result = run_cli("build", "--now", "yesterday", config=path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    prog = result.stderr.removeprefix("feedline: error: ").split(" ", 1)[0]  # "cli" here
    assert result.stderr.startswith(f"feedline: error: {prog} build: Invalid value for '--now'")
    assert result.stderr.endswith(f"(see {prog} build --help)\n")
    missing = run_cli("subscribers", "add", config=path)
    assert missing.exit_code == 2
    assert missing.stderr == (
        f"feedline: error: {prog} subscribers add: Missing argument 'EMAIL'"
        f" (see {prog} subscribers add --help)\n"
    )
