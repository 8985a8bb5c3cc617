"""The settings schema: one pydantic model per TOML table. Unknown keys are errors.

The field descriptions are the reference documentation (`feedline config schema` prints them).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    field_validator,
    model_validator,
)

from config.durations import parse_duration

SOURCE_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
RESERVED_IDS = frozenset({"all", "deadlines", "index", "healthz", "unsubscribe"})


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like Europe/Brussels)"
        ) from None
    return name


def _duration(text: str) -> str:
    parse_duration(text)
    return text


def _cron(text: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a 5-field cron expression: {exc}") from None
    return text


TimeZoneName = Annotated[str, AfterValidator(_zone)]
Duration = Annotated[str, AfterValidator(_duration)]
CronExpression = Annotated[str, AfterValidator(_cron)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class SiteSettings(Section):
    title: str = Field("feedline", description="Title of the merged feeds and the index page.")
    base_url: HttpUrl = Field(
        HttpUrl("http://127.0.0.1:8080/"),
        description="Public URL where output_dir is served; self links are built from it.",
    )
    output_dir: Path = Field(Path("public"), description="Where feed files are written.")
    data_dir: Path = Field(Path("data"), description="SQLite database and other state.")
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL (e.g. postgresql+psycopg://host/db); default SQLite in "
        "data_dir. FEEDLINE_DATABASE_URL overrides it.",
    )
    max_items: int = Field(100, ge=1, le=10000, description="Items per feed, newest first.")
    language: str = Field("en", description="Language of the merged feeds.")
    websub_hub: HttpUrl | None = Field(
        None,
        description="WebSub hub: feeds carry its link, and each feed whose bytes changed is "
        "pinged to it (hub.mode=publish) after a refresh.",
    )

    @field_validator("base_url")
    @classmethod
    def _trailing_slash(cls, value: HttpUrl) -> HttpUrl:
        text = str(value)
        return value if text.endswith("/") else HttpUrl(text + "/")


class SelectSettings(Section):
    item: str = Field(description="CSS selector of one news item.")
    title: str = Field(description="Selector of the title, inside the item.")
    link: str | None = Field(None, description="Selector of the link; `sel@href` for an attribute.")
    date: str | None = Field(None, description="Selector of the date (text or `sel@attr`).")
    summary: str | None = Field(None, description="Selector of the summary or body.")


class SourceSettings(Section):
    id: str = Field(description="[a-z0-9-]+, unique; names the feed files.")
    kind: Literal["text", "markdown", "html", "feed", "items"]
    title: str
    path: Path | None = Field(None, description="A local file (or folder for `items`).")
    url: HttpUrl | None = Field(None, description="Fetched over HTTP(S) (html and feed kinds).")
    link: HttpUrl | None = Field(
        None, description="The page the items come from; item links fall back to it."
    )
    timezone: TimeZoneName = "Europe/Brussels"
    language: str = "en"
    schedule: CronExpression | None = Field(
        None, description='Cron refresh schedule in the source time zone, e.g. "*/30 * * * *".'
    )
    every: Duration | None = Field(None, description='Refresh interval, e.g. "30m" (default).')
    select: SelectSettings | None = None
    encoding: str | None = Field(None, description="Force a text encoding (default: detect).")

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not SOURCE_ID.match(value):
            raise ValueError(f"{value!r} is not a valid id (use [a-z0-9-]+, e.g. home-affairs)")
        if value in RESERVED_IDS:
            raise ValueError(f"{value!r} is reserved (it names a merged file)")
        return value

    @model_validator(mode="after")
    def _by_kind(self) -> SourceSettings:
        if self.kind in ("text", "markdown", "items") and self.path is None:
            raise ValueError(f"a {self.kind} source needs `path`")
        if self.kind in ("html", "feed") and self.path is None and self.url is None:
            raise ValueError(f"a {self.kind} source needs `url` or `path`")
        if self.kind == "html" and self.select is None:
            raise ValueError("an html source needs a [sources.select] table")
        if self.kind != "html" and self.select is not None:
            raise ValueError(f"`select` only applies to html sources, not {self.kind}")
        if self.schedule and self.every:
            raise ValueError("give either `schedule` or `every`, not both")
        if self.link is None and self.url is None:
            raise ValueError("a source needs `link` (the page its items come from)")
        return self

    @property
    def page_link(self) -> str:
        return str(self.link or self.url)

    @property
    def interval(self) -> timedelta:
        return parse_duration(self.every or "30m")


class OverrideSettings(Section):
    item_id: str | None = Field(None, description="Exact item id to match.")
    title_contains: str | None = Field(None, description="Case-insensitive title substring.")
    action: Literal["set", "add", "suppress"] = Field(
        "set", description="set: replace found deadlines; add: add one; suppress: remove."
    )
    date: dt.date | None = None
    time: dt.time | None = None
    timezone: TimeZoneName | None = None
    label: str | None = None

    @model_validator(mode="after")
    def _shape(self) -> OverrideSettings:
        if (self.item_id is None) == (self.title_contains is None):
            raise ValueError("give exactly one of `item_id` or `title_contains`")
        if self.action in ("set", "add") and self.date is None:
            raise ValueError(f"action {self.action!r} needs `date`")
        return self


class ReminderSettings(Section):
    offsets: list[Duration] = Field(
        default_factory=lambda: ["7d", "1d"], description="How long before closing to remind."
    )
    lease: Duration = Field("5m", description="A claimed reminder returns to the queue after this.")
    retry_base: Duration = Field("1m", description="First retry delay; doubles per attempt.")
    retry_max: Duration = Field("6h", description="Longest retry delay.")
    max_attempts: int = Field(12, ge=1, description="Transient failures before giving up.")
    tick: Duration = Field("60s", description="Longest sleep of the daemon's reminder tick.")


class FileMailSettings(Section):
    dir: Path = Field(Path("outbox"), description="One .eml file per message.")


class SmtpMailSettings(Section):
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = Field(
        "FEEDLINE_SMTP_PASSWORD", description="Environment variable holding the password."
    )
    password_file: Path | None = Field(None, description="File holding the password.")
    timeout: float = Field(30, gt=0)
    max_connections: int = Field(4, ge=1, le=64)
    max_per_second: float = Field(20, gt=0)
    validate_certs: bool = Field(True, description="TLS certificate verification.")
    ca_file: Path | None = Field(None, description="Extra CA bundle (PEM) to trust.")


class MailSettings(Section):
    from_: str = Field(
        "Consultation reminders <reminders@feedline.invalid>",
        alias="from",
        description="From header.",
    )
    transport: Literal["file", "smtp"] = "file"
    file: FileMailSettings = Field(default_factory=FileMailSettings)
    smtp: SmtpMailSettings = Field(default_factory=SmtpMailSettings)
    list_id: str | None = Field(None, description='List-Id, e.g. "reminders.example.org".')
    unsubscribe_mailto: str | None = Field(None, description="mailto address for unsubscribe.")


class SecretSettings(Section):
    signing_key_env: str = Field(
        "FEEDLINE_SECRET_KEY", description="Environment variable with the token signing key."
    )
    signing_key_file: Path | None = Field(
        None, description="File with the signing key; default data_dir/secret.key (generated)."
    )


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    cache_max_age: int = Field(300, ge=0, description="Cache-Control max-age in seconds.")
    metrics: bool = Field(True, description="Serve Prometheus metrics at /metrics.")


class AlertSettings(Section):
    after_failures: int = Field(3, ge=1, description="Consecutive failures before an alert.")
    operator: str | None = Field(None, description="Operator address for source alerts.")


class FetchSettings(Section):
    contact: str | None = Field(None, description="Operator contact put in the User-Agent.")
    timeout: float = Field(20, gt=0)
    retries: int = Field(2, ge=0, le=10)
    max_bytes: int = Field(5_000_000, ge=1024)
    max_redirects: int = Field(5, ge=0, le=20)
    concurrency: int = Field(4, ge=1, le=64)
    verify_tls: bool = True


class RefreshSettings(Section):
    workers: int | None = Field(
        None,
        ge=0,
        le=32,
        description="Worker processes that find deadlines and render feeds while the main "
        "process parses and stores sources. Default: one per CPU beyond the first (up to 4), so "
        "none on a single CPU; 0: all work in the main process. Linux only.",
    )

    @property
    def worker_count(self) -> int:
        if self.workers is not None:
            return self.workers
        if hasattr(os, "sched_getaffinity"):
            cpus = len(os.sched_getaffinity(0))
        else:  # pragma: no cover - not Linux, where no workers are forked anyway
            cpus = os.cpu_count() or 1
        return max(0, min(cpus - 1, 4))


class Settings(Section):
    site: SiteSettings = Field(default_factory=SiteSettings)
    sources: list[SourceSettings] = Field(default_factory=list)
    overrides: list[OverrideSettings] = Field(default_factory=list)
    reminders: ReminderSettings = Field(default_factory=ReminderSettings)
    mail: MailSettings = Field(default_factory=MailSettings)
    secrets: SecretSettings = Field(default_factory=SecretSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    refresh: RefreshSettings = Field(default_factory=RefreshSettings)

    @model_validator(mode="after")
    def _unique_ids(self) -> Settings:
        seen: set[str] = set()
        for index, source in enumerate(self.sources):
            if source.id in seen:
                raise ValueError(f"sources[{index}].id: duplicate id {source.id!r}")
            seen.add(source.id)
        return self

    def source(self, source_id: str) -> SourceSettings:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)
