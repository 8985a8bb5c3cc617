"""Deadlines as JSON objects (the `feedline extract` output and golden test files)."""

from __future__ import annotations

from datetime import time
from typing import Any
from zoneinfo import ZoneInfo

from feeds.model import Deadline


def _clock(value: time | None) -> str | None:
    if value is None:
        return None
    return value.strftime("%H:%M:%S" if value.second else "%H:%M")


def deadline_to_json(d: Deadline) -> dict[str, Any]:
    """`closes_at` in the deadline's own zone, ISO 8601 with offset and seconds."""
    local = d.closes_at.astimezone(ZoneInfo(d.timezone))
    return {
        "closes_at": local.isoformat(timespec="seconds"),
        "date": d.local_date.isoformat(),
        "time": _clock(d.local_time),
        "timezone": d.timezone,
        "label": d.label,
        "evidence": d.evidence,
        "certain": d.certain,
    }
