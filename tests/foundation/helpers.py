"""Helpers for foundation tests: write a config, run the CLI in-process."""

from __future__ import annotations

import textwrap
from pathlib import Path

from click.testing import CliRunner, Result

from scheduler.cli import cli


def write_config(folder: Path, body: str) -> Path:
    path = folder / "feedline.toml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def source_block(source_id: str, page: str, kind: str = "text", **extra: str) -> str:
    lines = [
        "[[sources]]",
        f'id = "{source_id}"',
        f'kind = "{kind}"',
        f'path = "{page}"',
        f'title = "{source_id} news"',
        f'link = "https://{source_id}.example.org/news"',
        'timezone = "Europe/Brussels"',
    ]
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def site_block(**extra: str) -> str:
    lines = ["[site]", 'title = "Test site"', 'base_url = "http://127.0.0.1:8080/"']
    lines += [f"{key} = {value}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def run_cli(*args: str, config: Path | None = None, now: str | None = None) -> Result:
    argv = (["--config", str(config)] if config else []) + list(args)
    if now is not None:
        argv += ["--now", now]
    return CliRunner().invoke(cli, argv, catch_exceptions=False)


PAGE = """\
skip to main content
Example Logo
en English
Newsroom

News

Ministry opens a consultation on river water quality

The consultation on river water quality is open until 30 April 2024. Anyone may respond.

\u00a0

Minister visits flood defences

On 2 March 2024 the minister visited the new flood defences in the valley.

Navigation path
"""
