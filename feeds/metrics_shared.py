"""The process-local metrics of several serving processes, summed through files in one folder.

With `[server] processes` > 1 a scrape of `/metrics` lands on whichever process the kernel
gives the connection, so each process writes its own registry's samples to
`<folder>/<pid>.json` (atomically, every `FLUSH_SECONDS` and just before it answers a scrape)
and the answer is built from every file:

- `feedline_*` counters and histograms are summed over the files (a `_created` sample takes
  the earliest). A file stays after its process exits, so the sums never go back when a child
  dies and is restarted (under a new pid, from zero); what a process counted after its last
  write is lost with it (at most `FLUSH_SECONDS` of requests when it is killed);
- everything else (gauges, `process_*`, `python_*`) is the main process's (the daemon's or
  `feedline serve`'s), so those series keep describing one process whichever answers.

Another process's figures are at most `FLUSH_SECONDS` old; a scrape never sees a counter go
back, because every process reads only the files, which are only ever replaced by newer ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import REGISTRY
from prometheus_client.core import Metric
from prometheus_client.registry import Collector, CollectorRegistry

log = logging.getLogger(__name__)

FLUSH_SECONDS = 1.0
MAIN = "main"
SUMMED_TYPES = frozenset({"counter", "histogram", "summary"})

Snapshot = list[dict[str, Any]]  # families: name, documentation, type, unit, samples


def snapshot(collector: Collector) -> Snapshot:
    """`collector`'s families as plain data (JSON-ready)."""
    return [
        {
            "name": family.name,
            "documentation": family.documentation,
            "type": family.type,
            "unit": family.unit,
            "samples": [[s.name, s.labels, s.value] for s in family.samples],
        }
        for family in collector.collect()
    ]


def summed(family: dict[str, Any]) -> bool:
    return bool(family["name"].startswith("feedline_") and family["type"] in SUMMED_TYPES)


def merge(main: Snapshot | None, others: Iterable[Snapshot]) -> list[Metric]:
    """One registry's worth of families from the main process's snapshot and the others'."""
    order: dict[str, dict[str, Any]] = {}
    values: dict[str, dict[tuple[str, tuple[tuple[str, str], ...]], float]] = {}
    for index, families in enumerate([main or [], *others]):
        for family in families:
            name = family["name"]
            if index > 0 and not summed(family):
                continue  # not summed: the main process's only
            order.setdefault(name, family)
            samples = values.setdefault(name, {})
            for sample_name, labels, value in family["samples"]:
                key = (sample_name, tuple(sorted(labels.items())))
                if key not in samples:
                    samples[key] = value
                elif sample_name.endswith("_created"):
                    samples[key] = min(samples[key], value)
                elif summed(family):
                    samples[key] += value
    merged = []
    for name, family in order.items():
        metric = Metric(name, family["documentation"], family["type"], family["unit"])
        for (sample_name, labels), value in values[name].items():
            metric.add_sample(sample_name, dict(labels), value)
        merged.append(metric)
    return merged


class SharedMetrics(Collector):
    """This process's side of the folder: it writes its snapshot there, and `collect` yields
    the merged families of every process (what `/metrics` serves instead of the registry)."""

    def __init__(self, folder: Path, *, main: bool, registry: CollectorRegistry = REGISTRY) -> None:
        self.folder = folder
        self.main = main
        self.registry = registry
        self._name = f"{MAIN if main else 'serving'}-{os.getpid()}.json"
        self._written = ""

    def flush(self) -> None:
        """Write this process's snapshot (when it changed), atomically."""
        text = json.dumps(snapshot(self.registry), separators=(",", ":"))
        if text == self._written:
            return
        temporary = self.folder / f".{self._name}.tmp"
        try:
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, self.folder / self._name)
        except OSError as error:  # the folder removed under us (the main process stopped)
            log.debug("cannot write the metrics of this process: %s", error)
            return
        self._written = text

    def collect(self) -> Iterator[Metric]:
        self.flush()
        main: Snapshot | None = None
        others: list[Snapshot] = []
        try:
            names = sorted(p.name for p in self.folder.iterdir() if p.suffix == ".json")
        except OSError:
            names = []
        for name in names:
            try:
                families = json.loads((self.folder / name).read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # gone meanwhile
            if name.startswith(f"{MAIN}-"):
                main = families
            else:
                others.append(families)
        yield from merge(main, others)

    async def keep_flushing(self) -> None:
        """Flush every `FLUSH_SECONDS` until cancelled, then once more."""
        try:
            while True:
                await asyncio.to_thread(self.flush)
                await asyncio.sleep(FLUSH_SECONDS)
        finally:
            with contextlib.suppress(Exception):
                self.flush()
