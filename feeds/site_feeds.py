"""The feeds the site publishes, the merged one first, and their OPML list (`feeds.opml`).

Apart from `feeds.publish_site`, which renders and writes them, so that `feedline feeds` lists
them from the settings alone, without loading the store or the renderers.
"""

from __future__ import annotations

from config.schema import Settings
from feeds.render.opml import OpmlFeed, render_opml

#: The merged feed's file name stem (`all.rss`, `all.atom`, `all.json`).
MERGED = "all"


def feed_list(settings: Settings) -> list[OpmlFeed]:
    """Every feed the site publishes (its RSS URL), the merged one first: the OPML list."""
    site = settings.site
    base = str(site.base_url)
    feeds = [OpmlFeed(f"{site.title} (all sources)", f"{base}{MERGED}.rss", base)]
    feeds += [OpmlFeed(s.title, f"{base}{s.id}.rss", s.page_link) for s in settings.sources]
    return feeds


def render_feed_list(settings: Settings) -> bytes:
    """`feeds.opml` (OPML 2.0), also printed by `feedline feeds --opml`."""
    return render_opml(f"{settings.site.title}: feeds", feed_list(settings))
