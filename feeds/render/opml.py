"""OPML 2.0 (http://opml.org/spec2.opml): the list of feeds, for a reader to import at once.

One outline per feed (its RSS; Atom and JSON Feed are the same feed in other formats, and
listing them too would subscribe a reader three times). No dates in the head, so an unchanged
list renders to the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from feeds.text import clean_line

OPML_DOCS = "http://opml.org/spec2.opml"


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    title: str
    xml_url: str
    html_url: str


def render_opml(title: str, feeds: Sequence[OpmlFeed]) -> bytes:
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = clean_line(title)
    etree.SubElement(head, "docs").text = OPML_DOCS
    body = etree.SubElement(root, "body")
    for feed in feeds:
        name = clean_line(feed.title)
        etree.SubElement(
            body,
            "outline",
            type="rss",
            text=name,
            title=name,
            xmlUrl=feed.xml_url,
            htmlUrl=feed.html_url,
        )
    data: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return data
