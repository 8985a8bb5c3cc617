"""A JSON Feed client's view: the document against the JSON Feed 1.1 schema.

feedparser reads RSS and Atom only (given JSON it reports bozo=1, a SAXParseException), so JSON
Feed is checked here instead: against tests/data/feeds/jsonfeed-1.1.schema.json, written from
https://www.jsonfeed.org/version/1.1/, plus what the schema cannot say (unique ids, newest first).
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

SCHEMA = Path(__file__).resolve().parent.parent / "data" / "feeds" / "jsonfeed-1.1.schema.json"


@cache
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def json_feed_errors(document: Any) -> list[str]:
    """What is wrong with a parsed JSON Feed document (empty when it is valid)."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path) or '(top)'}: {error.message}"
        for error in validator().iter_errors(document)
    ]


def check_json_feed(data: bytes, feed_url: str, *, max_items: int = 100) -> Any:
    """Assert the bytes are a valid JSON Feed 1.1 as feedline publishes it; return the document."""
    document = json.loads(data.decode("utf-8"))
    assert json_feed_errors(document) == []
    assert document["feed_url"] == feed_url
    items = document["items"]
    assert len(items) <= max_items
    ids = [item["id"] for item in items]
    assert len(set(ids)) == len(ids)
    published = [datetime.fromisoformat(item["date_published"]) for item in items]
    assert published == sorted(published, reverse=True), "items must be newest first"
    return document
