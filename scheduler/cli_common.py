"""Shared CLI pieces: loading settings, --now, and turning domain errors into one-line exits.

Imported by `feedline --help`: only click and the cheap seams (errors, clock) at the top.
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from config.errors import ConfigError, FeedlineError
from feeds.clock import Clock, FixedClock, SystemClock

if TYPE_CHECKING:
    from config.loading import LoadedSettings

P = ParamSpec("P")
R = TypeVar("R")

EXIT_FAILED = 1
EXIT_CONFIG = 2


class NowParam(click.ParamType[datetime, Any]):
    """An ISO 8601 instant with a UTC offset; naive times are refused (no guessing zones)."""

    name = "ISO-8601"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 date-time (e.g. 2023-02-11T09:00:00+01:00)")
        if parsed.tzinfo is None:
            self.fail(f"{value!r} has no UTC offset (add one, e.g. +01:00 or Z)")
        return parsed


NOW = NowParam()


def clock_for(now: datetime | None) -> Clock:
    return FixedClock(now) if now is not None else SystemClock()


CONFIG_HELP = "Settings file (default: $FEEDLINE_CONFIG, ./feedline.toml, embedded default)."
_CONFIG_META = "feedline.config_path"


def _remember_config(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.meta[_CONFIG_META] = value  # meta is shared by the whole context chain


def add_config_option(command: click.Command) -> None:
    """Give `command` (and every subcommand of a group) its own `--config PATH`.

    So `feedline build --config F` works as well as `feedline --config F build`; the option
    nearest the command wins.
    """
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_config_option(sub)
        return
    command.params.append(
        click.Option(
            ["--config"],
            type=click.Path(dir_okay=False),
            default=None,
            expose_value=False,
            callback=_remember_config,
            help=CONFIG_HELP,
        )
    )


def load(ctx: click.Context, *, warn_if_empty: bool = True) -> LoadedSettings:
    """The settings for this command; a warning on stderr when a file configures nothing."""
    from config.loading import load_settings

    config_path = ctx.meta.get(_CONFIG_META) or ctx.find_root().params.get("config_path")
    loaded = load_settings(config_path)
    empty = nothing_configured(loaded) if warn_if_empty else None
    if empty:
        click.echo(f"feedline: warning: {empty}", err=True)
    return loaded


def nothing_configured(loaded: LoadedSettings) -> str | None:
    """Say so when a settings file has no sources: the embedded default's are not used."""
    if loaded.embedded or loaded.settings.sources:
        return None
    return (
        f"{loaded.origin}: no [[sources]]: the embedded default's sources are not used, so "
        "nothing is configured (see config/feedline.example.toml)"
    )


def fail(message: str, code: int = EXIT_FAILED) -> None:
    click.echo(f"feedline: error: {message}", err=True)
    sys.exit(code)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Domain errors become one line on stderr and an exit code, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except ConfigError as error:
            fail(str(error), EXIT_CONFIG)
        except FeedlineError as error:
            fail(str(error), EXIT_FAILED)
        except KeyboardInterrupt:
            click.echo("feedline: interrupted", err=True)
            sys.exit(130)
        raise AssertionError("unreachable")

    return wrapper


def setup_logging(verbosity: int, log_format: str = "text") -> None:
    from scheduler.logs import configure_logging

    level = logging.WARNING if verbosity < 0 else logging.DEBUG if verbosity > 0 else logging.INFO
    configure_logging(level, log_format)
