"""`[server] processes = 2`: `feedline serve` and `feedline run` as real subprocesses, HTTP
over loopback, the processes told apart by which one holds each connection (/proc)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.daemon.configs import write_config
from tests.daemon.process import DaemonProcess
from tests.support.smtp import SmtpTestServer, free_port

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads /proc (Linux)"),
]

FEED = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>\n'


def wait_until(condition: Callable[[], object], timeout: float = 60.0) -> None:
    """Until `condition()` holds (processes starting on a busy machine: an event, polled)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def tcp_rows() -> list[list[str]]:
    return [line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:]]


def listeners(port: int) -> int:
    """Sockets listening on 127.0.0.1:`port` (one per process of a SO_REUSEPORT group)."""
    local = f"0100007F:{port:04X}"
    return sum(1 for row in tcp_rows() if row[1] == local and row[3] == "0A")


def holder(port: int, client: socket.socket, pids: list[int]) -> int | None:
    """Which of `pids` holds the server side of `client`'s connection to `port`."""
    local, remote = f"0100007F:{port:04X}", f"0100007F:{client.getsockname()[1]:04X}"
    inodes = {row[9] for row in tcp_rows() if row[1] == local and row[2] == remote}
    for pid in pids:
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            return pid
    return None


def children(parent: int) -> list[int]:
    """The serving children of `parent` (by /proc: parent pid and command line)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == parent and b"scheduler.serving" in cmdline:
            found.append(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def answering_pid(port: int, pids: list[int]) -> int | None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"GET /all.rss HTTP/1.1\r\nHost: x\r\n\r\n")
        head = client.recv(65536)
        assert head.startswith(b"HTTP/1.1 200 "), head[:100]
        return holder(port, client, pids)


def counted(port: int, name: str, labels: dict[str, str]) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


FILES_200 = ("feedline_http_requests_total", {"route": "files", "code": "200"})


@pytest.fixture
def two_process_config(tmp_path: Path) -> tuple[Path, int]:
    port = free_port()
    config = write_config(tmp_path, 1, port)
    with config.open("a") as handle:
        handle.write("processes = 2\n")
    public = tmp_path / "public"
    public.mkdir()
    (public / "all.rss").write_bytes(FEED)
    return config, port


def test_serve_with_two_processes(two_process_config: tuple[Path, int]) -> None:
    config, port = two_process_config
    parent = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "--config", str(config), "serve"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=config.parent,
        start_new_session=True,  # a process group of its own, as a systemd unit's cgroup
    )
    try:
        wait_until(lambda: listeners(port) == 2)
        (child,) = children(parent.pid)
        pids = [parent.pid, child]

        # Both processes answer: new connections land on one or the other.
        answers: list[int | None] = []
        wait_until(lambda: answers.append(answering_pid(port, pids)) or set(answers) == set(pids))  # type: ignore[func-returns-value]

        # /metrics sums both processes' counts (each probe was one 200 of a file), whichever
        # of them answers the scrape: the other's figures are at most a second old.
        wait_until(lambda: counted(port, *FILES_200) == len(answers))

        # A killed child is reported and started again; the sums never go back.
        before = counted(port, *FILES_200)
        os.kill(child, signal.SIGKILL)
        wait_until(lambda: children(parent.pid) not in ([], [child]) and listeners(port) == 2)
        wait_until(lambda: counted(port, "feedline_serving_restarts_total", {}) == 1)
        assert counted(port, *FILES_200) >= before

        # SIGTERM to every process at once (what systemd does) stops them all, none restarted.
        (second,) = children(parent.pid)
        os.killpg(parent.pid, signal.SIGTERM)
        assert parent.wait(timeout=20) == 0
        wait_until(lambda: not alive(second), timeout=10)
        assert listeners(port) == 0
        assert parent.stderr is not None
        log = parent.stderr.read().decode()
        assert log.count("exited (killed by SIGKILL)") == 1  # the restart, logged
        assert log.count("exited (") == 1
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


def test_children_die_with_the_parent(two_process_config: tuple[Path, int]) -> None:
    config, port = two_process_config
    parent = subprocess.Popen(
        [sys.executable, "-m", "scheduler", "--config", str(config), "serve"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=config.parent,
    )
    try:
        wait_until(lambda: listeners(port) == 2)
        (child,) = children(parent.pid)
    finally:
        parent.kill()  # SIGKILL: no chance to stop the child itself
        parent.wait()
    wait_until(lambda: not alive(child), timeout=20)
    assert listeners(port) == 0


def test_daemon_with_two_serving_processes(tmp_path: Path, smtp_server: SmtpTestServer) -> None:
    port = free_port()
    config = write_config(tmp_path, smtp_server.port, port)
    with config.open("a") as handle:
        handle.write("processes = 2\n")
    with DaemonProcess(config) as daemon:
        daemon.wait_message("published")
        wait_until(lambda: listeners(port) == 2)
        (child,) = children(daemon.process.pid)
        pids = [daemon.process.pid, child]
        seen: set[int | None] = set()
        wait_until(lambda: seen.add(answering_pid(port, pids)) or seen == set(pids))  # type: ignore[func-returns-value]
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        # The refreshes are counted in the daemon's process; any process's scrape shows them.
        for _ in range(6):
            value = counted(port, "feedline_refresh_total", {"source": "river", "outcome": "ok"})
            assert value == 1
        assert daemon.terminate() == 0
        wait_until(lambda: not alive(child), timeout=10)
        assert listeners(port) == 0
