"""Operator overrides: extraction is never the last word.

`[[overrides]]` entries match an item by exact id or by a case-insensitive title substring and
set (replace), add, or suppress deadlines.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time
from zoneinfo import ZoneInfo

from config.schema import OverrideSettings
from feeds.model import Deadline

END_OF_DAY = time(23, 59, 59)


def matches(override: OverrideSettings, item_id: str, title: str) -> bool:
    if override.item_id is not None:
        return override.item_id == item_id
    assert override.title_contains is not None
    return override.title_contains.casefold() in title.casefold()


def override_deadline(override: OverrideSettings, item_id: str, source_zone: str) -> Deadline:
    assert override.date is not None
    zone_name = override.timezone or source_zone
    local = datetime.combine(override.date, override.time or END_OF_DAY, tzinfo=ZoneInfo(zone_name))
    return Deadline(
        closes_at=local,
        local_date=override.date,
        local_time=override.time,
        timezone=zone_name,
        label=override.label or "consultation",
        evidence="set by the operator (config override)",
        certain=True,
        all_day=override.time is None,
        item_id=item_id,
    )


def apply_overrides(
    found: Sequence[Deadline],
    overrides: Sequence[OverrideSettings],
    *,
    item_id: str,
    title: str,
    source_zone: str,
) -> list[tuple[Deadline, str]]:
    """The item's deadlines after overrides, each with its origin ("extracted"/"override")."""
    result: list[tuple[Deadline, str]] = [(d, "extracted") for d in found]
    for override in overrides:
        if not matches(override, item_id, title):
            continue
        if override.action == "suppress":
            label = (override.label or "").casefold()
            result = [(d, o) for d, o in result if label and label not in d.label.casefold()]
        elif override.action == "set":
            result = [(override_deadline(override, item_id, source_zone), "override")]
        else:
            result.append((override_deadline(override, item_id, source_zone), "override"))
    return result
