"""The process's own Prometheus metrics: refreshes, HTTP requests, WebSub pings.

They live in prometheus-client's default registry (with its process and platform collectors),
counted where the work happens. Figures that every daemon shares (items, deadlines, the
reminder ledger) are not counted here: `scheduler.metrics` reads them from the database at
scrape time, so each daemon reports the same truth.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import Counter, Histogram

REFRESH_TOTAL = Counter(
    "feedline_refresh_total",
    "Source refreshes by outcome: ok (stored), unchanged, failed.",
    ["source", "outcome"],
)
REFRESH_SECONDS = Histogram(
    "feedline_refresh_seconds",
    "Wall time of one refresh run (one source on its schedule; every source at start).",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
HTTP_REQUESTS_TOTAL = Counter(
    "feedline_http_requests_total",
    "HTTP requests answered, by route (files, or the path of a route) and status code.",
    ["route", "code"],
)
HTTP_REQUEST_SECONDS = Histogram(
    "feedline_http_request_seconds",
    "Time to answer an HTTP request, by route.",
    ["route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
WEBSUB_PINGS_TOTAL = Counter(
    "feedline_websub_pings_total",
    "WebSub publish pings by outcome: ok, retried (a failed attempt retried), failed.",
    ["outcome"],
)


def record_refresh(outcomes: Iterable[tuple[str, str]], seconds: float) -> None:
    """Count one refresh run: (source id, outcome status) per source, and its duration."""
    for source_id, status in outcomes:
        REFRESH_TOTAL.labels(source_id, status).inc()
    REFRESH_SECONDS.observe(seconds)
