"""The readers of the fetched kinds (`html`, `feed`, `items`), for the composition root."""

from __future__ import annotations

from feeds.fetch import Fetcher
from feeds.sources.base import SourceReader
from feeds.sources.feed import FeedReader
from feeds.sources.html_page import HtmlPageReader
from feeds.sources.item_folder import ItemFolderReader


def fetched_readers(fetcher: Fetcher) -> dict[str, SourceReader]:
    """Readers by source kind; merge with the text/markdown readers."""
    return {
        "html": HtmlPageReader(fetcher),
        "feed": FeedReader(fetcher),
        "items": ItemFolderReader(max_file_bytes=fetcher.settings.max_bytes),
    }
