"""Run `feedline` as a real subprocess and follow its JSON log lines."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

START_TIMEOUT = 60.0


class DaemonProcess:
    def __init__(self, config: Path, *args: str, env: dict[str, str] | None = None) -> None:
        command = [
            sys.executable,
            "-m",
            "scheduler",
            "--config",
            str(config),
            "run",
            "--log-format",
            "json",
            *args,
        ]
        full_env = {**os.environ, **(env or {})}
        full_env.pop("FEEDLINE_CONFIG", None)
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=full_env,
            cwd=config.parent,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for raw in self.process.stderr:
            try:
                entry = json.loads(raw)
            except json.JSONDecodeError:
                entry = {"message": raw.rstrip(), "level": "raw"}
            self.lines.put(entry)

    def wait_for(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = START_TIMEOUT
    ) -> dict[str, Any]:
        """Block until a log line matches (an event, not a guess at how long things take)."""
        for entry in self.seen:
            if predicate(entry):
                return entry
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"no matching log line in {timeout}s; seen: "
                    f"{[e.get('message') for e in self.seen][-15:]}"
                )
            try:
                entry = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(entry)
            if predicate(entry):
                return entry

    def wait_message(self, fragment: str, timeout: float = START_TIMEOUT) -> dict[str, Any]:
        return self.wait_for(lambda e: fragment in str(e.get("message", "")), timeout)

    def messages(self) -> Sequence[str]:
        while not self.lines.empty():
            self.seen.append(self.lines.get_nowait())
        return [str(e.get("message", "")) for e in self.seen]

    def terminate(self, timeout: float = 10.0) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)

    def __enter__(self) -> DaemonProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.kill()
