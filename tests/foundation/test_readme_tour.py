"""README "Try it": every step, as written, in a fresh folder, shows what the README says.

The steps are read from README.md (`console` blocks: `$ command`, then the lines it prints;
`...` stands for any text). Each command runs in bash exactly as written, from a folder laid
out like a checkout (its `.venv/bin/feedline` is this environment's). The daemon step runs
until the lines the README shows have appeared, then gets Ctrl-C (SIGINT), as a person would.
"""

from __future__ import annotations

import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STEP_TIMEOUT = 60.0  # seconds; the daemon step waits ~3 s of its own clock


@dataclass
class Step:
    command: str
    expected: list[str] = field(default_factory=list)


def tour_steps(readme: str) -> list[Step]:
    section = readme.split("\n## Try it\n", 1)[1].split("\n## ", 1)[0]
    steps: list[Step] = []
    for block in re.findall(r"```console\n(.*?)```", section, re.S):
        for line in block.splitlines():
            line = line.strip()
            if line.startswith("$ "):
                steps.append(Step(line[2:]))
            elif line:
                steps[-1].expected.append(line)
    return steps


def pattern(line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in line.split("...")))


def missing(expected: list[str], output: str) -> list[str]:
    """The expected lines not found, in order, among the output's lines (spaces folded)."""
    lines = [" ".join(line.split()) for line in output.splitlines()]
    at = 0
    for wanted in expected:
        want = pattern(" ".join(wanted.split()))
        while at < len(lines) and not want.fullmatch(lines[at]):
            at += 1
        if at == len(lines):
            return expected[expected.index(wanted) :]
        at += 1
    return []


def run_daemon(command: str, cwd: Path, env: dict[str, str], expected: list[str]) -> str:
    process = subprocess.Popen(
        ["bash", "-c", f"exec {command}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output = ""
    deadline = time.monotonic() + STEP_TIMEOUT
    try:
        while missing(expected, output) and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], deadline - time.monotonic())
            if not ready:
                break
            line = process.stdout.readline()
            if not line:
                break
            output += line
    finally:
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=STEP_TIMEOUT)
        output += rest
    assert process.returncode == 0, output
    return output


@pytest.mark.slow
def test_the_try_it_steps_work_in_order(tmp_path: Path) -> None:
    steps = tour_steps((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(steps) >= 8
    checkout = tmp_path / "checkout"
    (checkout / ".venv" / "bin").mkdir(parents=True)
    (checkout / ".venv" / "bin" / "feedline").symlink_to(Path(sys.executable).parent / "feedline")
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDLINE_")}
    cwd = checkout
    for step in steps:
        change = re.fullmatch(r"(?:mkdir -p (\S+) && )?cd (\S+)", step.command)
        if change:
            if change[1]:
                (cwd / change[1]).mkdir(parents=True, exist_ok=True)
            cwd = cwd / change[2]
            continue
        if shlex.split(step.command)[1:2] == ["run"]:
            output = run_daemon(step.command, cwd, env, step.expected)
        else:
            done = subprocess.run(
                ["bash", "-c", step.command],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=STEP_TIMEOUT,
                check=False,
            )
            output = done.stdout + done.stderr
            assert done.returncode == 0, f"$ {step.command}\n{output}"
        assert missing(step.expected, output) == [], f"$ {step.command}\n{output}"


def test_a_step_that_prints_something_else_is_caught() -> None:
    assert missing(["sent 1, ...; next due: ..."], "sent 0, retried 0; next due: x") == [
        "sent 1, ...; next due: ..."
    ]
    assert missing(["a ... c", "d"], "x\na b c\ny\nd\n") == []
    assert missing(["d", "a ... c"], "a b c\nd\n") == ["a ... c"]
