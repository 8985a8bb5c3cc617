"""Configuration: one schema, one-line errors naming file and key, exit code 2."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import UnionType
from typing import Annotated, Union, get_args, get_origin

import pytest
from pydantic import BaseModel

from config.errors import ConfigError, FeedlineError
from config.loading import load_settings
from config.schema import InputPath, Settings, StatePath
from tests.foundation.helpers import PAGE, run_cli, site_block, source_block, write_config


def test_embedded_default_loads_with_state_in_the_current_folder(tmp_path: Path) -> None:
    loaded = load_settings(None, env={}, cwd=tmp_path)
    assert loaded.embedded
    assert loaded.settings.site.data_dir == tmp_path / "data"
    assert loaded.settings.mail.file.dir == tmp_path / "outbox"
    source = loaded.settings.sources[0]
    assert source.path is not None and source.path.is_file()


def test_local_feedline_toml_is_found_and_paths_are_relative_to_it(tmp_path: Path) -> None:
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "news.txt").write_text(PAGE)
    write_config(tmp_path, site_block() + source_block("river", "pages/news.txt"))
    loaded = load_settings(None, env={}, cwd=tmp_path)
    assert loaded.origin.endswith("feedline.toml")
    assert loaded.settings.sources[0].path == tmp_path / "pages" / "news.txt"
    assert loaded.settings.site.output_dir == tmp_path / "public"


def test_environment_overrides_a_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, site_block() + source_block("river", "p.txt"))
    loaded = load_settings(
        path, env={"FEEDLINE_SITE__MAX_ITEMS": "7", "FEEDLINE_DATABASE_URL": "sqlite:///x.db"}
    )
    assert loaded.settings.site.max_items == 7
    assert loaded.settings.site.database_url == "sqlite:///x.db"


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        (site_block(colour='"blue"'), "site.colour", "unknown key"),
        (source_block("Bad_Id", "p.txt"), "sources[0].id", "not a valid id"),
        (source_block("a", "p.txt") + source_block("a", "q.txt"), "sources[1].id", "duplicate id"),
        ('[site]\nbase_url = "not a url"\n', "site.base_url", "URL"),
        (
            source_block("a", "p.txt", timezone='"Mars/Olympus"').replace(
                'timezone = "Europe/Brussels"\n', "", 1
            ),
            "sources[0].timezone",
            "unknown time zone",
        ),
        (source_block("a", "p.txt", every='"soon"'), "sources[0].every", "not a duration"),
        (site_block(max_items="0"), "site.max_items", "greater than or equal to 1"),
    ],
)
def test_bad_settings_name_the_file_and_key(
    tmp_path: Path, body: str, key: str, message: str
) -> None:
    path = write_config(tmp_path, body)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={})
    text = str(caught.value)
    assert text.startswith(str(path))
    assert key in text
    assert message in text
    assert "\n" not in text


def test_cli_config_error_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = write_config(tmp_path, source_block("Bad_Id", "p.txt"))
    result = run_cli("config", "check", config=path)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "feedline.toml: sources[0].id" in lines[0]


def test_missing_config_file_exit_2(tmp_path: Path) -> None:
    result = run_cli("build", config=tmp_path / "nope.toml")
    assert result.exit_code == 2
    assert "nope.toml: no such file" in result.stderr


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "feedline.toml"
    path.write_text("[site\n")
    result = run_cli("config", "check", config=path)
    assert result.exit_code == 2
    assert "not valid TOML" in result.stderr


def test_config_check_prints_what_would_be_built(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(PAGE)
    path = write_config(tmp_path, site_block() + source_block("river", "p.txt"))
    result = run_cli("config", "check", config=path)
    assert result.exit_code == 0, result.output
    assert "river.rss" in result.stdout and "deadlines.ics" in result.stdout


def test_config_check_reports_a_missing_source_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, site_block() + source_block("river", "missing.txt"))
    result = run_cli("config", "check", config=path)
    assert result.exit_code == 2
    assert "source 'river': path" in result.stderr and "missing.txt" in result.stderr


def test_documented_example_is_valid() -> None:
    from tests.conftest import REPO

    loaded = load_settings(REPO / "config" / "feedline.example.toml", env={})
    kinds = [s.kind for s in loaded.settings.sources]
    assert kinds == ["text", "html", "html", "html", "feed", "items"]
    followed = loaded.settings.source("ministry-news")
    assert followed.follow and followed.select is not None and followed.select.page
    assert loaded.settings.overrides[0].action == "set"


def test_nested_environment_overrides_are_typed_by_the_schema(tmp_path: Path) -> None:
    path = write_config(tmp_path, site_block() + source_block("river", "p.txt"))
    env = {
        "FEEDLINE_MAIL__SMTP__HOST": "mx.example.org",
        "FEEDLINE_SITE__TITLE": "2024",
        "FEEDLINE_MAIL__FROM": "Desk <desk@example.org>",
        "FEEDLINE_REMINDERS__OFFSETS": '["3d", "12h"]',
        "FEEDLINE_SMTP_PASSWORD": "not a setting",
    }
    settings = load_settings(path, env=env).settings
    assert settings.mail.smtp.host == "mx.example.org"
    assert settings.site.title == "2024"
    assert settings.mail.from_ == "Desk <desk@example.org>"
    assert settings.reminders.offsets == [timedelta(days=3), timedelta(hours=12)]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("FEEDLINE_SITE__MAX_ITEMS", "0", "site.max_items: Input should be greater"),
        ("FEEDLINE_SITE__COLOUR", "blue", "site.colour: unknown key"),
        ("FEEDLINE_MAIL__SMTP__PASSWORD", "x", "mail.smtp.password: unknown key"),
        ("FEEDLINE_REMINDERS__TICK", "soon", "reminders.tick: 'soon' is not a duration"),
        ("FEEDLINE_NOPE__KEY", "1", "no section [nope]"),
    ],
)
def test_a_bad_environment_override_names_the_variable(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    path = write_config(tmp_path, site_block() + source_block("river", "p.txt"))
    with pytest.raises(ConfigError) as caught:
        load_settings(path, env={name: value})
    assert str(caught.value).startswith(f"environment variable {name}: ")
    assert message in str(caught.value)


def test_durations_are_timedeltas_and_paths_absolute_everywhere(tmp_path: Path) -> None:
    body = (
        site_block()
        + source_block("river", "p.txt", every='"1d12h"')
        + '[reminders]\nlease = "90s"\n[mail.smtp]\nca_file = "ca.pem"\npassword_file = "pw"\n'
        + '[secrets]\nsigning_key_file = "keys/k"\n'
    )
    settings = load_settings(write_config(tmp_path, body), env={}).settings
    assert settings.sources[0].interval == timedelta(days=1, hours=12)
    assert settings.reminders.lease == timedelta(seconds=90)
    assert settings.reminders.tick == timedelta(minutes=1)
    assert settings.mail.smtp.ca_file == tmp_path / "ca.pem"
    assert settings.mail.smtp.password_file == tmp_path / "pw"
    assert settings.secrets.signing_key_file == tmp_path / "keys" / "k"
    assert settings.mail.file.dir == tmp_path / "outbox"  # a default, resolved too


RESOLVING = [meta for kind in (StatePath, InputPath) for meta in get_args(kind)[1:]]


def members(annotation: object) -> list[object]:
    if get_origin(annotation) in (Union, UnionType, list):
        return [member for arg in get_args(annotation) for member in members(arg)]
    return [annotation]


def path_keys(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, bool]]:
    """Every Path-typed key, and whether a validator resolves it."""
    for name, field in model.model_fields.items():
        key = prefix + name
        for member in members(field.annotation):
            if isinstance(member, type) and issubclass(member, BaseModel):
                yield from path_keys(member, key + ".")
            elif member is Path:
                yield key, any(meta in RESOLVING for meta in field.metadata)
            elif get_origin(member) is Annotated and get_args(member)[0] is Path:
                yield key, any(meta in RESOLVING for meta in get_args(member)[1:])


def test_every_path_key_is_resolved_by_a_validator() -> None:
    keys = dict(path_keys(Settings))
    assert keys["site.output_dir"] and keys["sources.path"] and keys["mail.smtp.ca_file"]
    unresolved = [key for key, resolved in keys.items() if not resolved]
    assert unresolved == [], "declare these StatePath or InputPath (config/schema.py)"


def schema_keys(model: type[BaseModel], prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        nested = [
            inner
            for inner in (field.annotation, *get_args(field.annotation))
            for inner in (inner, *get_args(inner))
            if isinstance(inner, type) and issubclass(inner, BaseModel)
        ]
        if nested:
            keys |= schema_keys(nested[0], key + ".")
        else:
            keys.add(key)
    return keys


def documented_keys(text: str) -> set[str]:
    """Keys set or shown commented out (`# key = ...`) under each table of the example."""
    table = ""
    keys = set()
    for line in text.splitlines():
        header = re.match(r"^\[\[?([a-z_.]+)\]\]?\s*(#.*)?$", line)
        if header:
            table = header.group(1) + "."
            continue
        key = re.match(r"^#?\s?([a-z_]+)\s*=", line)
        if key and table:
            keys.add(table + key.group(1))
    return keys


def test_the_example_documents_every_key_and_only_real_ones() -> None:
    from tests.conftest import REPO

    documented = documented_keys((REPO / "config" / "feedline.example.toml").read_text())
    schema = schema_keys(Settings)
    assert sorted(schema - documented) == [], "document these in config/feedline.example.toml"
    assert sorted(documented - schema) == [], "the example shows keys the schema does not have"


def test_config_check_exits_2_for_a_username_without_password(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(PAGE)
    body = site_block() + source_block("river", "p.txt")
    body += '[mail]\ntransport = "smtp"\n[mail.smtp]\nusername = "desk"\n'
    body += 'password_env = "NO_SUCH_VAR_X"\n'
    result = run_cli("config", "check", config=write_config(tmp_path, body))
    assert result.exit_code == 2
    assert "mail.smtp.username is set but no password" in result.stderr


def test_config_check_exits_2_for_a_from_that_is_not_an_address(tmp_path: Path) -> None:
    body = site_block() + source_block("river", "p.txt") + '[mail]\nfrom = "not an address"\n'
    result = run_cli("config", "check", config=write_config(tmp_path, body))
    assert result.exit_code == 2
    assert "mail.from: 'not an address' is not an address" in result.stderr


def test_config_check_exits_2_for_an_unreadable_signing_key(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(PAGE)
    body = site_block() + source_block("river", "p.txt")
    body += '[secrets]\nsigning_key_env = "NO_SUCH_VAR_X"\nsigning_key_file = "missing.key"\n'
    result = run_cli("config", "check", config=write_config(tmp_path, body))
    assert result.exit_code == 2
    assert "cannot read signing key file" in result.stderr and "missing.key" in result.stderr


def test_config_check_generates_no_key(tmp_path: Path) -> None:
    (tmp_path / "p.txt").write_text(PAGE)
    result = run_cli(
        "config",
        "check",
        config=write_config(tmp_path, site_block() + source_block("river", "p.txt")),
    )
    assert result.exit_code == 0, result.output
    assert "generated on first use" in result.stdout
    assert not (tmp_path / "data" / "secret.key").exists()


def test_an_empty_settings_file_says_nothing_is_configured(tmp_path: Path) -> None:
    path = write_config(tmp_path, "")
    check = run_cli("config", "check", config=path)
    assert check.exit_code == 2
    assert "no [[sources]]: the embedded default's sources are not used" in check.stderr
    build = run_cli("build", config=path)
    assert "warning:" in build.stderr and "nothing is configured" in build.stderr


def test_mail_and_key_errors_are_configuration_errors() -> None:
    from scheduler.mail.transport import MailConfigError
    from scheduler.tokens import SigningKeyError

    assert issubclass(MailConfigError, ConfigError) and issubclass(SigningKeyError, ConfigError)
    assert issubclass(ConfigError, FeedlineError)


def test_instants_are_shown_in_the_sources_zone_else_the_sites() -> None:
    def source(source_id: str, zone: str) -> dict[str, str]:
        return {"id": source_id, "kind": "feed", "title": source_id, "timezone": zone,
                "url": f"https://example.org/{source_id}.xml"}  # fmt: skip

    site = {"subscriptions": {"timezone": "Europe/Lisbon"}}
    lisbon = Settings.model_validate(site)
    assert lisbon.display_zone == "Europe/Lisbon"  # no sources: the site's zone
    one = Settings.model_validate(
        {**site, "sources": [source("a", "Europe/Paris"), source("b", "Europe/Paris")]}
    )
    assert one.display_zone == "Europe/Paris"
    two = Settings.model_validate(
        {**site, "sources": [source("a", "Europe/Paris"), source("b", "America/Toronto")]}
    )
    assert two.display_zone == "Europe/Lisbon"


def test_the_example_names_every_language_the_extractor_reads() -> None:
    from feeds.names import LANGUAGES
    from tests.conftest import REPO

    example = (REPO / "config" / "feedline.example.toml").read_text()
    comment = re.search(r'^language = "en" +# deadlines read in (.*)$', example, re.M)
    assert comment is not None
    assert comment.group(1).split(", ") == list(LANGUAGES)
