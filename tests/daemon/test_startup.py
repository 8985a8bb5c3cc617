"""Start-up: `feedline --help` imports no command module, and the command table is truthful."""

from __future__ import annotations

import subprocess
import sys

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
