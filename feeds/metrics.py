"""The process's own Prometheus metrics: refreshes, HTTP requests, WebSub pings.

They live in prometheus-client's default registry (with its process and platform collectors),
counted where the work happens. Figures that every daemon shares (items, deadlines, the
reminder ledger) are not counted here: `scheduler.metrics` reads them from the database at
scrape time, so each daemon reports the same truth.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

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
HTTP_SECONDS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
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


class RequestCounts(Collector):
    """`feedline_http_requests_total{route,code}` and `feedline_http_request_seconds{route}`.

    Counted in plain dicts on the event loop and turned into metric families at scrape time:
    a prometheus-client Counter and Histogram (labels lookup, locks) measured about 15 us per
    request, a third of what a 304 costs (bench/serve_bench.py); this is under 1 us. Only the
    event loop writes; a scrape copies (a C-level copy under the GIL).
    """

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._buckets: dict[str, list[int]] = {}  # per route: one slot per bound, then +Inf
        self._sums: dict[str, float] = {}

    def observe(self, route: str, code: int, seconds: float) -> None:
        key = (route, code)
        self._counts[key] = self._counts.get(key, 0) + 1
        slots = self._buckets.get(route)
        if slots is None:
            slots = self._buckets[route] = [0] * (len(HTTP_SECONDS_BUCKETS) + 1)
            self._sums[route] = 0.0
        slots[bisect_left(HTTP_SECONDS_BUCKETS, seconds)] += 1
        self._sums[route] += seconds

    def collect(self) -> Iterator[Metric]:
        counts, buckets, sums = dict(self._counts), dict(self._buckets), dict(self._sums)
        total = CounterMetricFamily(
            "feedline_http_requests",
            "HTTP requests answered, by route (files, or the path of a route) and status code.",
            labels=["route", "code"],
        )
        for (route, code), value in sorted(counts.items()):
            total.add_metric([route, str(code)], value)
        yield total
        seconds = HistogramMetricFamily(
            "feedline_http_request_seconds",
            "Time to answer an HTTP request, by route.",
            labels=["route"],
        )
        for route, slots in sorted(buckets.items()):
            running, cumulative = 0, []
            for bound, count in zip(
                [*map(str, HTTP_SECONDS_BUCKETS), "+Inf"], list(slots), strict=True
            ):
                running += count
                cumulative.append((bound, running))
            seconds.add_metric([route], cumulative, sums.get(route, 0.0))
        yield seconds


HTTP_REQUESTS = RequestCounts()
REGISTRY.register(HTTP_REQUESTS)
