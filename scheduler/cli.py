"""The `feedline` command. Subcommands live in small modules; this wires them together."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from importlib.metadata import PackageNotFoundError, version

import click

from feeds.refresh import RefreshReport
from scheduler.cli_common import (
    CONFIG_HELP,
    NOW,
    add_config_option,
    clock_for,
    handle_errors,
    load,
    setup_logging,
)
from scheduler.reminders_app import ledger_hook
from scheduler.wiring import build_app


def _version() -> str:
    try:
        return version("feedline")
    except PackageNotFoundError:
        return "0+unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help=CONFIG_HELP,
)
@click.version_option(_version(), "--version", prog_name="feedline")
def cli(config_path: str | None) -> None:
    """feedline: newsroom pages to feeds, consultation deadlines, and email reminders."""


def print_report(report: RefreshReport, *, quiet: bool) -> None:
    for outcome in report.outcomes:
        if outcome.status == "failed":
            click.echo(f"{outcome.source_id}: FAILED: {outcome.error}", err=True)
            continue
        if quiet:
            continue
        if outcome.status == "unchanged":
            click.echo(f"{outcome.source_id}: unchanged")
        else:
            moves = {c.kind for c in outcome.deadline_changes}
            changes = ", ".join(
                f"{sum(1 for c in outcome.deadline_changes if c.kind == k)} deadline(s) {k}"
                for k in sorted(moves)
            )
            click.echo(
                f"{outcome.source_id}: {outcome.entries} items "
                f"({outcome.new} new, {outcome.updated} updated)"
                + (f"; {changes}" if changes else "")
            )
    for outcome in report.outcomes:
        for problem in outcome.problems:
            click.echo(f"warning: {problem}", err=True)
    if not quiet:
        if report.files_written:
            click.echo(
                f"wrote {len(report.files_written)} file(s): " + ", ".join(report.files_written)
            )
        else:
            click.echo("no file changed")


@cli.command()
@click.option("--quiet", "-q", is_flag=True, help="Print only problems.")
@click.option("--verbose", "-v", is_flag=True, help="Log each step.")
@click.option("--now", type=NOW, default=None, help="Pretend it is this instant (ISO 8601).")
@click.pass_context
@handle_errors
def build(ctx: click.Context, quiet: bool, verbose: bool, now: datetime | None) -> None:
    """Read every source once and write the feeds, calendar and index."""
    setup_logging(1 if verbose else -1)
    loaded = load(ctx)

    async def run() -> RefreshReport:
        clock = clock_for(now)
        async with build_app(
            loaded, clock, on_deadlines=ledger_hook(loaded.settings, clock)
        ) as app:
            return await app.refresher.refresh()

    report = asyncio.run(run())
    print_report(report, quiet=quiet)
    if report.failed:
        ctx.exit(1)


@cli.group("config")
def config_group() -> None:
    """Inspect the settings."""


@config_group.command("check")
@click.pass_context
@handle_errors
def config_check(ctx: click.Context) -> None:
    """Validate the settings and show what would be built."""
    loaded = load(ctx)
    settings = loaded.settings
    click.echo(f"settings: {loaded.origin} (valid)")
    click.echo(f"output:   {settings.site.output_dir}  (served as {settings.site.base_url})")
    click.echo(f"data:     {settings.site.data_dir}")
    problems = 0
    for source in settings.sources:
        where = str(source.url or source.path)
        click.echo(
            f"source {source.id} ({source.kind}): {where} -> {source.id}.rss, "
            f"{source.id}.atom, {source.id}.json"
        )
        if source.path is not None and source.url is None and not source.path.exists():
            click.echo(
                f"feedline: error: source {source.id!r}: path: {source.path}: "
                "no such file or folder",
                err=True,
            )
            problems += 1
    click.echo("merged:   all.rss, all.atom, all.json, deadlines.ics, index.html")
    click.echo(
        f"mail:     {settings.mail.transport}"
        + (
            f" -> {settings.mail.file.dir}"
            if settings.mail.transport == "file"
            else f" -> {settings.mail.smtp.host}:{settings.mail.smtp.port}"
        )
    )
    if problems:
        ctx.exit(2)


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Include deadlines that have passed.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--now", type=NOW, default=None, help="Pretend it is this instant (ISO 8601).")
@click.pass_context
@handle_errors
def deadlines(ctx: click.Context, show_all: bool, as_json: bool, now: datetime | None) -> None:
    """List stored deadlines (upcoming by default)."""
    from scheduler.deadline_listing import deadline_listing

    loaded = load(ctx)
    rows = deadline_listing(loaded.settings, clock_for(now), show_all=show_all)
    if as_json:
        click.echo(json.dumps([row.as_json() for row in rows], indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no upcoming deadlines" if not show_all else "no deadlines stored")
        return
    for row in rows:
        click.echo(row.as_line())


def _register() -> None:
    from scheduler.cli_daemon import once, run, serve, status
    from scheduler.cli_extract import extract
    from scheduler.cli_feeds import feeds
    from scheduler.cli_reminders import mail_group, remind, subscribers

    for command in (extract, feeds, remind, subscribers, mail_group, run, once, serve, status):
        cli.add_command(command)
    for command in cli.commands.values():
        add_config_option(command)


_register()


def main() -> None:
    cli(prog_name="feedline")
