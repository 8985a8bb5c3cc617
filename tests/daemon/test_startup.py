"""Start-up: `feedline --help` imports no command module, each command's `--help` nothing heavy,
`feedline status` only the settings and the store; and the command table is truthful."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from scheduler.cli import COMMANDS, cli
from tests.conftest import REPO

HEAVY = ("aiohttp", "sqlalchemy", "alembic", "pydantic", "httpx", "apscheduler", "feeds.refresh")


def imported_after(*argv: str) -> set[str]:
    code = (
        "import sys\nfrom scheduler.cli import cli\n"
        f"try:\n    cli({list(argv)!r}, prog_name='feedline')\nexcept SystemExit:\n    pass\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    return set(result.stdout.split())


def test_help_imports_nothing_heavy() -> None:
    modules = imported_after("--help")
    loaded = sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY)
    assert loaded == []
    assert not any(m.startswith("scheduler.cli_") and m != "scheduler.cli_common" for m in modules)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_commands_help_imports_nothing_heavy(name: str) -> None:
    modules = imported_after(name, "--help")
    assert f"scheduler.{COMMANDS[name][0].partition(':')[0].rpartition('.')[2]}" in modules
    assert sorted(m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY) == []


#: What `feedline status` must not load: it reads the settings and the store, nothing else
#: (no web server, no migrations unless the schema is behind, no fetching, parsing or rendering).
NOT_FOR_STATUS = (
    "aiohttp", "alembic", "apscheduler", "httpx", "trafilatura", "htmldate", "lxml", "selectolax",
    "charset_normalizer", "babel", "markdown_it", "nh3", "jinja2", "feedgen", "icalendar",
    "aiosmtplib", "email_validator", "pydantic_settings", "feeds.refresh", "feeds.render",
    "feeds.sanitise", "feeds.deadlines", "feeds.fetch", "feeds.publish", "scheduler.wiring",
)  # fmt: skip


def imported_by_feedline(
    cwd: Path, *argv: str
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `python -m scheduler ARGV` as an operator would; the modules it imported."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("FEEDLINE_")}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "scheduler", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    names = {
        line.rpartition("|")[2].strip()
        for line in result.stderr.splitlines()
        if line.startswith("import time:")
    }
    return result, names


def test_status_imports_only_the_settings_and_the_store(tmp_path: Path) -> None:
    from config.loading import load_settings
    from scheduler.database import open_database

    open_database(load_settings(cwd=tmp_path).settings).dispose()  # the schema at head
    result, modules = imported_by_feedline(tmp_path, "status")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("status: ok\n")
    assert {"pydantic", "sqlalchemy", "scheduler.health"} <= modules
    loaded = sorted(m for m in modules if m in NOT_FOR_STATUS or m.split(".")[0] in NOT_FOR_STATUS)
    assert loaded == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_help_is_the_commands_own(name: str) -> None:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert command.get_short_help_str(limit=200) == COMMANDS[name][1]
    assert any(
        p.name == "config" or "--config" in getattr(p, "opts", []) for p in _leaf(command).params
    )


def _leaf(command: click.Command) -> click.Command:
    if isinstance(command, click.Group):
        return _leaf(next(iter(command.commands.values())))
    return command


def test_the_head_revision_read_from_the_files_is_alembics() -> None:
    from alembic.script import ScriptDirectory

    from scheduler.database import alembic_config, head_revision

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == script.get_current_head()


def test_feeds_lists_from_the_settings_alone(tmp_path: Path) -> None:
    result, modules = imported_by_feedline(tmp_path, "feeds")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "(all sources): http://127.0.0.1:8080/all.rss" in result.stdout
    assert "pydantic" in modules
    assert sorted(modules & {"sqlalchemy", "feeds.publish_site", "httpx", "jinja2"}) == []
