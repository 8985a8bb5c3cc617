"""The settings and page the daemon tests run on."""

from __future__ import annotations

from pathlib import Path

PAGE = """\
News

Consultation on river water quality opens

The consultation on river water quality is open until 30 April 2024. Anyone may respond.

Minister visits flood defences

On 2 March 2024 the minister visited the new flood defences in the valley.
"""
DUE_7D = "2024-04-23T23:59:59+02:00"


def write_config(
    tmp_path: Path, smtp_port: int, http_port: int, *, lease: str = "5m", every: str = "30m"
) -> Path:
    (tmp_path / "news.txt").write_text(PAGE)
    config = tmp_path / "feedline.toml"
    config.write_text(f"""
[site]
title = "Daemon test"
base_url = "http://127.0.0.1:{http_port}/"

[[sources]]
id = "river"
kind = "text"
path = "news.txt"
title = "River news"
link = "https://river.example.org/news"
every = "{every}"

[reminders]
offsets = ["7d", "1d"]
lease = "{lease}"

[mail]
from = "Reminders <reminders@example.org>"
transport = "smtp"

[mail.smtp]
host = "127.0.0.1"
port = {smtp_port}
security = "none"
timeout = 5

[server]
port = {http_port}
""")
    return config
