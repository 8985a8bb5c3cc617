"""`feedline build`, `feedline deadlines`, and the refresh report `once` prints too."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime
from typing import TYPE_CHECKING

import click

from scheduler.cli_common import NOW, clock_for, handle_errors, load, setup_logging

if TYPE_CHECKING:
    from feeds.refresh import RefreshReport
    from scheduler.refresh_lease import Take


def print_report(
    report: RefreshReport, *, quiet: bool, skipped: dict[str, Take] | None = None
) -> None:
    """What a refresh did, one line per source; problems on stderr. `skipped`: sources a
    daemon was refreshing at that moment (their leases were held), left to it."""
    for source_id, take in (skipped or {}).items():
        if not quiet:
            click.echo(f"{source_id}: skipped, being refreshed by {take.holder}")
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


@click.command()
@click.option("--quiet", "-q", is_flag=True, help="Print only problems.")
@click.option("--verbose", "-v", is_flag=True, help="Log each step.")
@click.option("--now", type=NOW, default=None, help="Pretend it is this instant (ISO 8601).")
@click.pass_context
@handle_errors
def build(ctx: click.Context, quiet: bool, verbose: bool, now: datetime | None) -> None:
    """Read every source once and write the feeds, calendar and index.

    A source that a daemon on the same database is refreshing at that moment is skipped
    (its refresh lease is held); the others are refreshed under their leases."""
    from scheduler.daemon import refresh_beside_daemons
    from scheduler.reminders_app import ledger_hook
    from scheduler.wiring import build_app

    setup_logging(1 if verbose else -1)
    loaded = load(ctx)

    async def run() -> tuple[RefreshReport, dict[str, Take]]:
        clock = clock_for(now)
        async with build_app(
            loaded, clock, on_deadlines=ledger_hook(loaded.settings, clock)
        ) as app:
            return await refresh_beside_daemons(app)

    report, skipped = asyncio.run(run())
    print_report(report, quiet=quiet, skipped=skipped)
    if report.failed:
        ctx.exit(1)


@click.command()
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
