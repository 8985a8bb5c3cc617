"""The `feedline` command: a group that imports each subcommand's module only when it runs.

`feedline --help` and every command start fast because nothing heavy (aiohttp, SQLAlchemy, the
refresh pipeline) is imported until a command needs it. To add a command, put it in a small
`scheduler/cli_<name>.py` module and add one line to `COMMANDS` (its short help is listed
here so `--help` imports no command module; a test checks it matches the command's own).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

import click

from scheduler.cli_common import CONFIG_HELP, add_config_option

#: name -> ("module:attribute", short help shown by `feedline --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "build": (
        "scheduler.cli_build:build",
        "Read every source once and write the feeds, calendar and index.",
    ),
    "config": ("scheduler.cli_config:config_group", "Inspect the settings."),
    "deadlines": ("scheduler.cli_build:deadlines", "List stored deadlines (upcoming by default)."),
    "extract": (
        "scheduler.cli_extract:extract",
        "Find consultation closing dates in text read from stdin; print them as JSON.",
    ),
    "feeds": (
        "scheduler.cli_feeds:feeds",
        "List every feed with its URL and the page it comes from.",
    ),
    "mail": ("scheduler.cli_reminders:mail_group", "Mail transport tools."),
    "once": (
        "scheduler.cli_daemon:once",
        "Refresh every source and send due reminders once, then exit (for cron).",
    ),
    "remind": (
        "scheduler.cli_reminders:remind",
        "One reminder pass: plan, send what is due, print a summary.",
    ),
    "run": (
        "scheduler.cli_daemon:run",
        "Run the daemon: refresh on schedule, send reminders on time, serve the feeds.",
    ),
    "serve": (
        "scheduler.cli_daemon:serve",
        "Serve the output folder (and /healthz, /unsubscribe) without scheduling.",
    ),
    "sources": (
        "scheduler.cli_sources:sources_group",
        "Work out a new source before adding it to the settings.",
    ),
    "status": (
        "scheduler.cli_daemon:status",
        "Each source's last success and error, and the reminder ledger.",
    ),
    "subscribers": ("scheduler.cli_reminders:subscribers", "Manage who gets reminders."),
}


class LazyGroup(click.Group):
    """Subcommands from `COMMANDS`, each imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in COMMANDS:
            return self.commands.get(cmd_name)
        module_name, _, attribute = COMMANDS[cmd_name][0].partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{COMMANDS[cmd_name][0]} is not a click command")
        add_config_option(command)
        self.add_command(command, cmd_name)
        return command

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """click's own handling, except that a usage error or a command's error is one
        `feedline: error:` line (naming the command and its --help) instead of click's three."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.UsageError as error:
            path = error.ctx.command_path if error.ctx else "feedline"
            message = error.format_message().rstrip(".")
            click.echo(f"feedline: error: {path}: {message} (see {path} --help)", err=True)
            sys.exit(error.exit_code)
        except click.ClickException as error:
            click.echo(f"feedline: error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except click.Abort:
            click.echo("feedline: aborted", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) and not isinstance(result, bool) else 0)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help=CONFIG_HELP,
)
@click.version_option(None, "--version", package_name="feedline", prog_name="feedline")
def cli(config_path: str | None) -> None:
    """feedline: newsroom pages to feeds, consultation deadlines, and email reminders."""


def main() -> None:
    cli(prog_name="feedline")
