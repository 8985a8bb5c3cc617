"""`feedline config check`: load the settings and build what every command builds.

The mail transport, the signing key and the source readers are built (nothing is sent, no key
is generated), so a configuration that `check` passes does not fail later for a reason it
could have seen. Every problem is one `feedline: error:` line; any problem exits 2.
"""

from __future__ import annotations

import asyncio
import os
from typing import TYPE_CHECKING

import click

from config.errors import ConfigError
from scheduler.cli_common import EXIT_CONFIG, handle_errors, load, nothing_configured

if TYPE_CHECKING:
    from config.loading import LoadedSettings


@click.group("config")
def config_group() -> None:
    """Inspect the settings."""


@config_group.command("check")
@click.pass_context
@handle_errors
def config_check(ctx: click.Context) -> None:
    """Validate the settings, build the mail transport, signing key and sources; show them."""
    loaded = load(ctx, warn_if_empty=False)
    settings = loaded.settings
    problems: list[str] = []
    empty = nothing_configured(loaded)
    if empty:
        problems.append(empty)
    click.echo(f"settings: {loaded.origin}")
    click.echo(f"output:   {settings.site.output_dir}  (served as {settings.site.base_url})")
    click.echo(f"data:     {settings.site.data_dir}")
    problems += _sources(loaded)
    click.echo("merged:   all.rss, all.atom, all.json, deadlines.ics, index.html, feeds.opml")
    problems += _database(loaded)
    problems += _mail(loaded)
    problems += _signing_key(loaded)
    for problem in problems:
        click.echo(f"feedline: error: {problem}", err=True)
    if problems:
        ctx.exit(EXIT_CONFIG)
    click.echo("valid")


def _sources(loaded: LoadedSettings) -> list[str]:
    from feeds.fetch import Fetcher
    from feeds.sources.html_page import selector_problems
    from scheduler.wiring import build_readers

    settings = loaded.settings
    readers = build_readers(Fetcher(settings.fetch))
    problems = []
    for source in settings.sources:
        where = str(source.url or source.path)
        click.echo(
            f"source {source.id} ({source.kind}): {where} -> {source.id}.rss, "
            f"{source.id}.atom, {source.id}.json"
        )
        if source.kind not in readers:
            problems.append(f"source {source.id!r}: kind {source.kind!r} has no reader")
        if source.path is not None and source.url is None and not source.path.exists():
            problems.append(f"source {source.id!r}: path: {source.path}: no such file or folder")
        if source.select is not None:
            problems += [f"source {source.id!r}: {p}" for p in selector_problems(source.select)]
    return problems


def _database(loaded: LoadedSettings) -> list[str]:
    from config.errors import ConfigError
    from scheduler.database import checked_database_url

    try:
        checked_database_url(loaded.settings)
    except ConfigError as error:
        return [str(error)]
    return []


def _mail(loaded: LoadedSettings) -> list[str]:
    from scheduler.mail.factory import build_transport

    mail = loaded.settings.mail
    where = str(mail.file.dir) if mail.transport == "file" else f"{mail.smtp.host}:{mail.smtp.port}"
    click.echo(f"mail:     {mail.transport} -> {where}, from {mail.from_}")
    try:
        transport = build_transport(mail, os.environ)
    except ConfigError as error:
        return [str(error)]
    asyncio.run(transport.close())
    return []


def _signing_key(loaded: LoadedSettings) -> list[str]:
    from scheduler.tokens import KEY_FILE_NAME, load_signing_key

    settings = loaded.settings
    secrets = settings.secrets
    generated = settings.site.data_dir / KEY_FILE_NAME
    if (
        not os.environ.get(secrets.signing_key_env, "").strip()
        and secrets.signing_key_file is None
        and not generated.exists()
    ):
        click.echo(f"key:      {generated} (generated on first use)")
        return []
    try:
        load_signing_key(secrets, settings.site.data_dir, os.environ)
    except ConfigError as error:
        return [str(error)]
    if os.environ.get(secrets.signing_key_env, "").strip():
        click.echo(f"key:      environment variable {secrets.signing_key_env}")
    else:
        click.echo(f"key:      {secrets.signing_key_file or generated}")
    return []
