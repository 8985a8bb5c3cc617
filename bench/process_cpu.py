"""Where a machine's CPU went over a window: every process, from /proc (Linux only).

    snapshot = take_snapshot()
    ...                                   # the work to account for
    usage = cpu_between(snapshot, take_snapshot(), labels)

`take_snapshot` reads the user + system time of every process on the machine and the
machine's own counters (/proc/stat: busy, idle, iowait, steal). `cpu_between` turns two
snapshots into CPU-seconds per label (the caller names its own processes by pid; PostgreSQL's
own processes are named from their command line, e.g. "postgres: walwriter"; everything else
is "other processes"), so a bench can show that the work it measures, plus what else ran,
adds up to the machine's total, and whether that total was the machine's limit.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Snapshot:
    at: float  # time.monotonic()
    processes: dict[int, tuple[str, float]]  # pid -> (command line, CPU seconds)
    machine: dict[str, float]  # /proc/stat "cpu" line in seconds: busy, idle, iowait, steal


def take_snapshot() -> Snapshot:
    processes: dict[int, tuple[str, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile
        processes[int(entry.name)] = (command.strip(), (int(fields[11]) + int(fields[12])) / TICK)
    return Snapshot(time.monotonic(), processes, machine_counters())


def machine_counters() -> dict[str, float]:
    first = Path("/proc/stat").read_text().splitlines()[0].split()
    user, nice, system, idle, iowait, irq, softirq, steal = (int(v) / TICK for v in first[1:9])
    return {
        "busy": user + nice + system + irq + softirq,
        "softirq": irq + softirq,  # interrupts (loopback TCP's receive side among them)
        "idle": idle,
        "iowait": iowait,
        "steal": steal,
    }


@dataclass(frozen=True)
class Usage:
    seconds: float  # wall-clock length of the window
    by_label: dict[str, float]  # CPU seconds
    machine: dict[str, float]  # the machine's counters over the window, in CPU seconds

    def unattributed(self) -> float:
        """Busy CPU seconds no live process accounts for: interrupts, and processes that
        started and ended within the window (other users' short jobs)."""
        return self.machine["busy"] - sum(self.by_label.values())

    def cpus(self, cpu_seconds: float) -> float:
        """CPU-seconds as the average number of CPUs busy over the window."""
        return cpu_seconds / self.seconds if self.seconds > 0 else float("nan")


def cpu_between(before: Snapshot, after: Snapshot, labels: dict[int, str]) -> Usage:
    """CPU seconds each label used between the snapshots (a process that started meanwhile
    counts from zero; one that ended meanwhile is lost, so "other processes" is a floor)."""
    used: dict[str, float] = defaultdict(float)
    for pid, (command, cpu) in after.processes.items():
        old = before.processes.get(pid)
        start = old[1] if old is not None and old[0] == command else 0.0
        used[labels.get(pid) or _label(command)] += cpu - start
    machine = {key: after.machine[key] - before.machine[key] for key in after.machine}
    return Usage(after.at - before.at, dict(used), machine)


AUXILIARY = ("checkpointer", "background writer", "walwriter", "autovacuum", "logical", "stats")


def _label(command: str) -> str:
    if command.startswith("postgres: "):
        role = command.removeprefix("postgres: ").rpartition(": ")[2]  # after "15/main: "
        if role.startswith(AUXILIARY):  # PostgreSQL's own processes, not clients' backends
            return f"postgres: {role}"
        return "postgres: other backends"
    return "other processes"
