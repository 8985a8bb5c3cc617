"""Configuration: one schema, one-line errors naming file and key, exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.loading import ConfigError, load_settings
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
