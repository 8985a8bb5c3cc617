"""Several processes' metrics through one folder (feeds.metrics_shared), with real registries
and the answer parsed by prometheus-client's parser."""

from __future__ import annotations

from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from feeds.metrics_shared import SharedMetrics


class Process:
    """One process's own metrics (a registry of its own) and its side of the folder."""

    def __init__(self, folder: Path, *, main: bool, name: str) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("feedline_requests", "Requests.", ["code"], registry=self.registry)
        self.seconds = Histogram(
            "feedline_seconds", "Time.", buckets=(0.1, 1.0), registry=self.registry
        )
        self.running = Gauge("feedline_running", "Running now.", registry=self.registry)
        self.shared = SharedMetrics(folder, main=main, registry=self.registry)
        self.shared._name = f"{'main' if main else 'serving'}-{name}.json"  # one pid here

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        registry = CollectorRegistry()
        registry.register(self.shared)
        text = generate_latest(registry).decode()
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }


def test_counters_and_histograms_are_summed_gauges_are_the_main_process(tmp_path: Path) -> None:
    main = Process(tmp_path, main=True, name="1")
    child = Process(tmp_path, main=False, name="2")
    main.requests.labels("200").inc(3)
    child.requests.labels("200").inc(4)
    child.requests.labels("404").inc()
    main.seconds.observe(0.05)
    child.seconds.observe(0.5)
    main.running.set(1)
    child.running.set(7)  # a gauge of the child's: not the main process's figure
    main.shared.flush()
    child.shared.flush()  # what each process does every second (and before a scrape)
    for answering in (main, child):  # whichever process the scrape lands on
        seen = answering.scrape()
        assert seen[("feedline_requests_total", (("code", "200"),))] == 7
        assert seen[("feedline_requests_total", (("code", "404"),))] == 1
        assert seen[("feedline_seconds_bucket", (("le", "0.1"),))] == 1
        assert seen[("feedline_seconds_bucket", (("le", "1.0"),))] == 2
        assert seen[("feedline_seconds_count", ())] == 2
        assert seen[("feedline_running", ())] == 1


def test_a_dead_processes_counts_stay_and_its_replacement_adds_to_them(tmp_path: Path) -> None:
    main = Process(tmp_path, main=True, name="1")
    dead = Process(tmp_path, main=False, name="2")
    dead.requests.labels("200").inc(5)
    dead.shared.flush()  # its last write before it was killed
    main.shared.flush()
    before = main.scrape()[("feedline_requests_total", (("code", "200"),))]
    replacement = Process(tmp_path, main=False, name="3")
    replacement.requests.labels("200").inc()
    after = replacement.scrape()[("feedline_requests_total", (("code", "200"),))]
    assert before == 5 and after == 6
