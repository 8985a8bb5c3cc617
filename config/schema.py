"""The settings schema: one pydantic model per TOML table. Unknown keys are errors.

Values are converted once, here: durations become `timedelta`s and relative paths become
absolute (against the settings file's folder, given as the validation context by
`config.loading`), so no caller ever sees the raw form. A new duration key is typed `Duration`;
a new path key `StatePath` (or `InputPath` for a file the settings ship with, like a source's
page). The field descriptions are the reference documentation.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    PlainSerializer,
    ValidationInfo,
    field_validator,
    model_validator,
)

from config.durations import format_duration, parse_duration

SOURCE_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
HOST_NAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*$")
RESERVED_IDS = frozenset(
    {"all", "deadlines", "index", "healthz", "unsubscribe", "subscribe", "confirm", "manage"}
)
_LOCAL_PART = re.compile(r"^[^\s@<>()\[\],;:\\\"]+$")
_DOMAIN = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,}$")


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name like Europe/Brussels)"
        ) from None
    return name


def _duration(value: Any) -> timedelta:
    """The one conversion of a duration: "30m", "7d", "1d12h" (or a timedelta) to a timedelta."""
    if isinstance(value, timedelta):
        if value <= timedelta(0):
            raise ValueError(f"{format_duration(value)!r} must be longer than zero")
        return value
    if not isinstance(value, str):
        raise ValueError(f'{value!r} is not a duration (write a string like "30m", "7d")')
    return parse_duration(value)


def _cron(text: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a 5-field cron expression: {exc}") from None
    return text


def _mail_address(text: str) -> str:
    """A From-style address, "Name <local@domain>" or "local@domain"; refused otherwise."""
    _name, address = parseaddr(text)
    local, at, domain = address.rpartition("@")
    if (
        "\r" in text
        or "\n" in text
        or not at
        or not _LOCAL_PART.match(local)
        or not _DOMAIN.match(domain)
    ):
        raise ValueError(f'{text!r} is not an address (e.g. "Reminders <reminders@example.org>")')
    return text


def _article(kind: str) -> str:
    """The article of a source kind: an html source, an items source, a feed source."""
    return "an" if kind in ("html", "items") else "a"


def _plain_address(text: str) -> str:
    """A bare `local@domain` (a recipient), refused with a name or anything else around it."""
    if parseaddr(text)[1] != text or "<" in text:
        raise ValueError(f"{text!r} is not an address (e.g. ops@example.org)")
    try:
        return _mail_address(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an address (e.g. ops@example.org)") from None


def _unsubscribe_mailto(text: str) -> str:
    """`mailto:ADDRESS` for a bare address; a `mailto:` URL (with `?subject=`) as it is."""
    url = text.strip()
    if not url.lower().startswith("mailto:"):
        url = f"mailto:{url}"
    local, at, domain = url[len("mailto:") :].split("?", 1)[0].rpartition("@")
    if (
        any(char in url for char in " <>,\r\n")
        or not at
        or not _LOCAL_PART.match(local)
        or not _DOMAIN.match(domain)
    ):
        raise ValueError(f"{text!r} is not an address (e.g. unsubscribe@example.org)")
    return url


@dataclass(frozen=True)
class PathBases:
    """The validation context of `Settings`: what relative paths are relative to.

    `inputs` for files the settings ship with (source pages), `state` for everything feedline
    writes or reads at run time. Both are the settings file's folder; for the embedded default,
    `inputs` is the package and `state` the current folder.
    """

    inputs: Path
    state: Path


def _relative_to(base: Callable[[PathBases], Path]) -> Callable[[Path, ValidationInfo], Path]:
    def resolve(value: Path, info: ValidationInfo) -> Path:
        value = value.expanduser()
        if value.is_absolute() or not isinstance(info.context, PathBases):
            return value
        return base(info.context) / value

    return resolve


TimeZoneName = Annotated[str, AfterValidator(_zone)]
Duration = Annotated[
    timedelta,
    BeforeValidator(_duration),
    PlainSerializer(format_duration, return_type=str, when_used="json"),
]
CronExpression = Annotated[str, AfterValidator(_cron)]
MailAddress = Annotated[str, AfterValidator(_mail_address)]
PlainAddress = Annotated[str, AfterValidator(_plain_address)]
MailtoUrl = Annotated[str, AfterValidator(_unsubscribe_mailto)]
#: A path feedline reads or writes at run time; relative to the settings file's folder.
StatePath = Annotated[Path, AfterValidator(_relative_to(lambda bases: bases.state))]
#: A file the settings ship with (a source's page); relative to the settings file's folder.
InputPath = Annotated[Path, AfterValidator(_relative_to(lambda bases: bases.inputs))]


DEFAULT_INTERVAL = timedelta(minutes=30)


class Section(BaseModel):
    # Defaults are validated (and nested default sections revalidated) so that default paths
    # are resolved like given ones.
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        validate_default=True,
        revalidate_instances="always",
    )


class SiteSettings(Section):
    title: str = Field("feedline", description="Title of the merged feeds and the index page.")
    base_url: HttpUrl = Field(
        HttpUrl("http://127.0.0.1:8080/"),
        description="Public URL where output_dir is served; self links are built from it.",
    )
    output_dir: StatePath = Field(Path("public"), description="Where feed files are written.")
    data_dir: StatePath = Field(Path("data"), description="SQLite database and other state.")
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
    item: str | None = Field(
        None,
        description="CSS selector of one news item. Without it an html source reads the feed "
        "its page advertises.",
    )
    title: str | None = Field(None, description="Selector of the title, inside the item.")
    link: str | None = Field(None, description="Selector of the link; `sel@href` for an attribute.")
    date: str | None = Field(None, description="Selector of the date (text or `sel@attr`).")
    summary: str | None = Field(None, description="Selector of the summary or body.")
    page: str | None = Field(
        None,
        description="With `follow`: CSS selector of the main text on each item's own page "
        "(default: found automatically).",
    )

    @model_validator(mode="after")
    def _item_and_title(self) -> SelectSettings:
        if (self.item is None) != (self.title is None):
            raise ValueError("give both `item` and `title`, or neither (to read the page's feed)")
        listing = (self.link, self.date, self.summary)
        if self.item is None and any(v is not None for v in listing):
            raise ValueError("`link`, `date` and `summary` need `item` and `title`")
        return self

    @property
    def has_items(self) -> bool:
        return self.item is not None


class SourceSettings(Section):
    id: str = Field(description="[a-z0-9-]+, unique; names the feed files.")
    kind: Literal["text", "markdown", "html", "feed", "items"]
    title: str
    path: InputPath | None = Field(None, description="A local file (or folder for `items`).")
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
    first_seen_is_published: bool = Field(
        False,
        description="Items without a date of their own were published the day feedline first "
        "saw them (a page that only ever lists fresh news, like the embedded sample): their "
        "year-less deadlines resolve from that day as certain. Default: they resolve from the "
        "latest full date on the page, else from that day but flagged uncertain.",
    )
    follow: bool = Field(
        False,
        description="Read each item's own page (html and feed kinds): its main text becomes "
        "the item's content, its dates and deadlines are read from it.",
    )
    follow_days: int = Field(
        30,
        ge=0,
        le=3650,
        description="Item pages younger than this many days (or holding an open deadline) are "
        "revalidated on each refresh; older ones are not fetched again.",
    )
    follow_max: int = Field(
        50, ge=1, le=10000, description="New item pages fetched per refresh; newest first."
    )
    follow_hosts: list[str] = Field(
        default_factory=list,
        description="Other hosts whose item pages may be followed (a name also admits its "
        "subdomains). Default: only the listing's own host.",
    )

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not SOURCE_ID.match(value):
            raise ValueError(f"{value!r} is not a valid id (use [a-z0-9-]+, e.g. home-affairs)")
        if value in RESERVED_IDS:
            raise ValueError(f"{value!r} is reserved (it names a merged file)")
        return value

    @field_validator("follow_hosts")
    @classmethod
    def _hosts(cls, value: list[str]) -> list[str]:
        hosts = []
        for host in value:
            name = host.strip().lower().rstrip(".")
            if not HOST_NAME.match(name):
                raise ValueError(f"{host!r} is not a host name (e.g. docs.example.org)")
            hosts.append(name)
        return hosts

    @model_validator(mode="after")
    def _by_kind(self) -> SourceSettings:
        if self.kind in ("text", "markdown", "items") and self.path is None:
            raise ValueError(f"{_article(self.kind)} {self.kind} source needs `path`")
        if self.kind in ("html", "feed") and self.path is None and self.url is None:
            raise ValueError(f"{_article(self.kind)} {self.kind} source needs `url` or `path`")
        if self.kind not in ("html", "feed") and self.select is not None:
            raise ValueError(f"`select` only applies to html and feed sources, not {self.kind}")
        if self.kind == "feed" and self.select is not None and self.select.has_items:
            raise ValueError("a feed source takes only `select.page` (for followed pages)")
        if self.follow and self.kind not in ("html", "feed"):
            raise ValueError(f"`follow` applies to html and feed sources, not {self.kind}")
        if self.select is not None and self.select.page and not self.follow:
            raise ValueError("`select.page` needs `follow = true`")
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
        return self.every or DEFAULT_INTERVAL


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
        default_factory=lambda: [timedelta(days=7), timedelta(days=1)],
        description="How long before closing to remind.",
    )
    lease: Duration = Field(
        timedelta(minutes=5), description="A claimed reminder returns to the queue after this."
    )
    retry_base: Duration = Field(
        timedelta(minutes=1), description="First retry delay; doubles per attempt."
    )
    retry_max: Duration = Field(timedelta(hours=6), description="Longest retry delay.")
    max_attempts: int = Field(12, ge=1, description="Transient failures before giving up.")
    tick: Duration = Field(
        timedelta(seconds=60), description="Longest sleep of the daemon's reminder tick."
    )


class FileMailSettings(Section):
    dir: StatePath = Field(Path("outbox"), description="One .eml file per message.")


class SmtpMailSettings(Section):
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password_env: str | None = Field(
        "FEEDLINE_SMTP_PASSWORD", description="Environment variable holding the password."
    )
    password_file: StatePath | None = Field(None, description="File holding the password.")
    timeout: float = Field(30, gt=0)
    max_connections: int = Field(4, ge=1, le=64)
    max_per_second: float = Field(20, gt=0)
    validate_certs: bool = Field(True, description="TLS certificate verification.")
    ca_file: StatePath | None = Field(None, description="Extra CA bundle (PEM) to trust.")


class MailSettings(Section):
    from_: MailAddress = Field(
        "Consultation reminders <reminders@feedline.invalid>",
        alias="from",
        description="From header.",
    )
    transport: Literal["file", "smtp"] = "file"
    file: FileMailSettings = Field(default_factory=FileMailSettings)
    smtp: SmtpMailSettings = Field(default_factory=SmtpMailSettings)
    list_id: str | None = Field(None, description='List-Id, e.g. "reminders.example.org".')
    unsubscribe_mailto: MailtoUrl | None = Field(
        None,
        description="Address for List-Unsubscribe beside the link (`a@b` or a `mailto:` URL).",
    )
    failing_after: Duration = Field(
        timedelta(minutes=10),
        description="Mail that keeps failing (refused, timeouts, 4xx) this long turns status, "
        "/healthz and the exit code of remind/once to failing, and alerts the operator.",
    )


class SecretSettings(Section):
    signing_key_env: str = Field(
        "FEEDLINE_SECRET_KEY", description="Environment variable with the token signing key."
    )
    signing_key_file: StatePath | None = Field(
        None, description="File with the signing key; default data_dir/secret.key (generated)."
    )


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    cache_max_age: int = Field(300, ge=0, description="Cache-Control max-age in seconds.")
    metrics: bool = Field(True, description="Serve Prometheus metrics at /metrics.")
    idle_timeout: Duration = Field(
        timedelta(seconds=30),
        description="Close a connection that has not sent a whole request in this long "
        "(idle keep-alive connections and clients that send headers slowly).",
    )
    max_line_size: int = Field(8190, ge=256, description="Longest request line, in bytes.")
    max_field_size: int = Field(8190, ge=256, description="Longest header line, in bytes.")
    max_headers: int = Field(100, ge=8, description="Most header lines in one request.")
    max_body_size: int = Field(
        1_048_576, ge=1024, description="Largest request body (form posts), in bytes."
    )
    processes: int | Literal["auto"] = Field(
        1,
        description="Processes answering HTTP on the one port (SO_REUSEPORT): the daemon (or "
        "`feedline serve`) and this many minus one serving-only children, restarted when one "
        'dies. "auto": one per CPU. Linux only beyond 1.',
    )

    @field_validator("processes")
    @classmethod
    def _processes_in_range(cls, value: int | str) -> int | str:
        if isinstance(value, int) and not 1 <= value <= 64:
            raise ValueError(f'processes = {value}: give 1 to 64, or "auto"')
        return value

    @property
    def process_count(self) -> int:
        """How many processes serve: `processes`, or one per CPU this process may use."""
        if isinstance(self.processes, int):
            return self.processes
        if hasattr(os, "sched_getaffinity"):
            return max(1, len(os.sched_getaffinity(0)))
        return 1  # pragma: no cover - not Linux: one process


class AlertSettings(Section):
    after_failures: int = Field(3, ge=1, description="Consecutive failures before an alert.")
    operator: PlainAddress | None = Field(None, description="Operator address for source alerts.")


class FetchSettings(Section):
    contact: str | None = Field(None, description="Operator contact put in the User-Agent.")
    timeout: float = Field(20, gt=0)
    retries: int = Field(2, ge=0, le=10)
    max_bytes: int = Field(5_000_000, ge=1024)
    max_redirects: int = Field(5, ge=0, le=20)
    concurrency: int = Field(4, ge=1, le=64)
    per_host: int = Field(
        2, ge=1, le=64, description="Requests in flight at once to one host (item pages)."
    )
    verify_tls: bool = True


class RefreshSettings(Section):
    lease: Duration = Field(
        timedelta(minutes=2),
        description="How long a daemon holds a source while refreshing it (renewed every "
        "third of it while the refresh runs): a daemon that dies gives the source to another "
        "after this.",
    )
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


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class SubscriptionSettings(Section):
    """People subscribing themselves on the web (/subscribe, /confirm, /manage) and digests."""

    offsets_offered: list[Duration] = Field(
        default_factory=list,
        description="Reminder offsets a person may pick on /subscribe and /manage; empty: "
        "[reminders] offsets.",
    )
    timezone: TimeZoneName = Field(
        "Europe/Brussels",
        description="The site's zone: digest day and hour, the index; the commands' times when "
        "the sources' zones differ.",
    )
    digest_day: Weekday = Field("monday", description="Day the weekly digest goes out.")
    digest_hour: int = Field(8, ge=0, le=23, description="Hour the weekly digest goes out.")
    signups_per_minute: int = Field(
        5, ge=1, description="Sign-up POSTs a minute per client (IP) before 429."
    )
    confirmations_per_day: int = Field(
        3, ge=1, description="Confirmation (or manage-link) mails a day per address."
    )
    pending_expiry: Duration = Field(
        timedelta(days=7), description="Unconfirmed sign-ups are deleted after this."
    )
    contact: str | None = Field(
        None,
        description="How people reach the operator (an address or URL), shown on error "
        "pages; default [alerts] operator.",
    )
    trusted_proxy: bool = Field(
        False, description="Take the client address from X-Forwarded-For (behind a proxy)."
    )


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
    subscriptions: SubscriptionSettings = Field(default_factory=SubscriptionSettings)

    @model_validator(mode="after")
    def _unique_ids(self) -> Settings:
        seen: set[str] = set()
        for index, source in enumerate(self.sources):
            if source.id in seen:
                raise ValueError(f"sources[{index}].id: duplicate id {source.id!r}")
            seen.add(source.id)
        return self

    @property
    def display_zone(self) -> str:
        """The zone commands show instants in: the sources' zone when they all share one, else
        the site's (`[subscriptions] timezone`)."""
        zones = {source.timezone for source in self.sources}
        return zones.pop() if len(zones) == 1 else self.subscriptions.timezone

    def source(self, source_id: str) -> SourceSettings:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)
