"""`feedline sources try URL`: the items, dates and deadlines a source would give; no storing."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import click

from scheduler.cli_common import EXIT_CONFIG, NOW, clock_for, fail, handle_errors, load

if TYPE_CHECKING:  # imported when the command runs, so `sources --help` starts fast
    from config.schema import SourceSettings
    from feeds.follow.trial import Trial


@click.group("sources")
def sources_group() -> None:
    """Work out a new source before adding it to the settings."""


@sources_group.command("try")
@click.argument("url")
@click.option("--kind", type=click.Choice(["html", "feed"]), default="html", show_default=True)
@click.option("--item", help="CSS selector of one news item (html); none: the page's feed.")
@click.option("--title", help="Selector of the title inside the item.")
@click.option("--link", help="Selector of the link (`sel@href`).")
@click.option("--date", "date_", help="Selector of the date (text or `sel@attr`).")
@click.option("--summary", help="Selector of the summary.")
@click.option("--follow/--no-follow", default=False, help="Read each item's own page.")
@click.option("--page", help="With --follow: selector of the main text of item pages.")
@click.option("--follow-host", "follow_hosts", multiple=True, help="Another host to follow.")
@click.option("--follow-max", type=int, default=50, show_default=True)
@click.option("--language", default="en", show_default=True)
@click.option("--timezone", default="Europe/Brussels", show_default=True)
@click.option("--now", type=NOW, default=None, help="Pretend it is this instant (ISO 8601).")
@click.pass_context
@handle_errors
def try_command(ctx: click.Context, /, url: str, now: datetime | None, **options: Any) -> None:
    """Fetch URL and print the items, dates and deadlines a source with these selectors (or
    none) would produce. Nothing is stored; the settings give only [fetch]."""
    from feeds.follow.trial import try_source

    settings = load(ctx).settings
    source = _source(url, options)
    trial = asyncio.run(try_source(source, settings.fetch, clock_for(now)))
    _print(trial, ZoneInfo(source.timezone))


def _source(url: str, options: dict[str, Any]) -> SourceSettings:
    from pydantic import ValidationError

    from config.schema import SourceSettings

    select = {
        key: options[name]
        for key, name in (
            ("item", "item"),
            ("title", "title"),
            ("link", "link"),
            ("date", "date_"),
            ("summary", "summary"),
            ("page", "page"),
        )
        if options[name]
    }
    data: dict[str, Any] = {
        "id": "try",
        "title": "try",
        "kind": options["kind"],
        "url": url,
        "follow": options["follow"],
        "follow_hosts": list(options["follow_hosts"]),
        "follow_max": options["follow_max"],
        "language": options["language"],
        "timezone": options["timezone"],
    }
    if select:
        data["select"] = select
    from feeds.sources.html_page import selector_problems

    try:
        source = SourceSettings.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "options"
        fail(f"sources try: {where}: {first['msg']}", EXIT_CONFIG)
        raise AssertionError("unreachable") from None
    bad = selector_problems(source.select) if source.select is not None else []
    if bad:
        fail(f"sources try: {'; '.join(bad)}", EXIT_CONFIG)
    return source


def _print(trial: Trial, zone: ZoneInfo) -> None:
    from feeds.render.display import closing_text

    for number, item in enumerate(trial.items, start=1):
        entry = item.entry
        click.echo(f"{number}. {entry.title}")
        if entry.link:
            click.echo(f"   link: {entry.link}")
        when = entry.published.astimezone(zone).isoformat() if entry.published else "none"
        click.echo(f"   published: {when}")
        for deadline in item.deadlines:
            flag = "" if deadline.certain else " (uncertain)"
            click.echo(f"   deadline: {closing_text(deadline)}{flag}: {deadline.label}")
    for problem in trial.problems:
        click.echo(f"warning: {problem}", err=True)
    more = f"; {trial.deferred} item page(s) beyond --follow-max" if trial.deferred else ""
    click.echo(f"{len(trial.items)} item(s); nothing stored{more}")
