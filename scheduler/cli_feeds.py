"""`feedline feeds`: the feeds this site publishes, as lines or as OPML for a feed reader."""

from __future__ import annotations

import click

from scheduler.cli_common import handle_errors, load


@click.command()
@click.option("--opml", is_flag=True, help="Print the OPML 2.0 list (the same as feeds.opml).")
@click.pass_context
@handle_errors
def feeds(ctx: click.Context, opml: bool) -> None:
    """List every feed with its URL and the page it comes from."""
    from feeds.site_feeds import feed_list, render_feed_list

    settings = load(ctx).settings
    if opml:
        click.echo(render_feed_list(settings).decode("utf-8"), nl=False)
        return
    for feed in feed_list(settings):
        click.echo(f"{feed.title}: {feed.xml_url} (from {feed.html_url})")
