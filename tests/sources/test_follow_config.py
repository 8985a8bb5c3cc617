"""The follow settings are checked where they are read: one clear message each."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config.schema import SourceSettings


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"kind": "text", "path": "p.txt", "follow": True}, "`follow` applies to html and feed"),
        (
            {"kind": "html", "url": "https://a.example/", "select": {"page": "main"}},
            "`select.page` needs `follow = true`",
        ),
        (
            {"kind": "feed", "url": "https://a.example/f", "select": {"item": "li", "title": "a"}},
            "a feed source takes only `select.page`",
        ),
        (
            {"kind": "html", "url": "https://a.example/", "select": {"item": "li"}},
            "give both `item` and `title`, or neither",
        ),
        (
            {"kind": "html", "url": "https://a.example/", "follow_hosts": ["bad host"]},
            "'bad host' is not a host name",
        ),
    ],
)
def test_follow_settings_are_checked(source: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SourceSettings.model_validate({"id": "a", "title": "A", **source})
