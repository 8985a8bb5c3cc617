"""How a closing time reads in mail: in the deadline's own zone, day spelled out."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

# Spelled out here, not with strftime("%A"), so the process locale cannot change the mail.
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip


def closing_display(closes_at: datetime, zone_name: str) -> str:
    """The closing time in the deadline's own zone, e.g.
    "Friday 17 February 2023, 23:59 Brussels time".

    An instant at local midnight is shown as 24:00 of the day before ("end of that day").
    """
    zone = ZoneInfo(zone_name)
    local = closes_at.astimezone(zone)
    clock_text = local.strftime("%H:%M")
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        local = (closes_at - timedelta(seconds=1)).astimezone(zone)
        clock_text = "24:00"
    day = f"{DAYS[local.weekday()]} {local.day} {MONTHS[local.month - 1]} {local.year}"
    return f"{day}, {clock_text} {zone_label(zone_name)}"


def zone_label(zone_name: str) -> str:
    """The zone as people say it: Europe/Brussels -> "Brussels time"; UTC -> "UTC"."""
    if zone_name.upper() in ("UTC", "ETC/UTC", "GMT", "Z"):
        return "UTC"
    city = zone_name.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time"
