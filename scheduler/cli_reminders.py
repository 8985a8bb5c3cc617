"""`feedline remind`, `feedline subscribers ...` and `feedline mail test`."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from scheduler.cli_common import (
    EXIT_CONFIG,
    EXIT_FAILED,
    NOW,
    clock_for,
    fail,
    handle_errors,
    load,
    setup_logging,
)

if TYPE_CHECKING:  # each command imports what it runs, so `--help` and `mail test` start fast
    from config.loading import LoadedSettings
    from feeds.clock import Clock
    from scheduler.ledger.dispatch import PassSummary, ReminderDispatcher


@click.command()
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show what would be sent and expired; the ledger and the outbox stay as they are "
    "(a store no source was ever read into is refreshed first, and says so).",
)
@click.option("--now", type=NOW, default=None, help="Pretend it is this instant (ISO 8601).")
@click.option("--verbose", "-v", is_flag=True, help="Log each message.")
@click.pass_context
@handle_errors
def remind(ctx: click.Context, dry_run: bool, now: datetime | None, verbose: bool) -> None:
    """One reminder pass: plan, send what is due, print a summary."""
    setup_logging(1 if verbose else 0)
    loaded = load(ctx)
    clock = clock_for(now)
    summary = asyncio.run(_remind(loaded, clock, dry_run))
    if summary is not None:
        click.echo(summary.line())
        ctx.exit(pass_exit_code(summary))


async def _remind(loaded: LoadedSettings, clock: Clock, dry_run: bool) -> PassSummary | None:
    from scheduler.reminders_app import build_dispatcher, ledger_hook, mail_problem, never_refreshed
    from scheduler.wiring import build_app

    # A refresh here is rare (a store no source was read into yet): no worker processes.
    hook = ledger_hook(loaded.settings, clock)
    async with build_app(loaded, clock, on_deadlines=hook, workers=False) as app:
        if never_refreshed(app.settings, app.engine):
            click.echo("no source read yet: refreshing sources first", err=True)
            await app.refresher.refresh()
        dispatcher = build_dispatcher(app.settings, app.engine, clock)
        try:
            if dry_run:
                _dry_run(dispatcher, clock)
                return None
            summary = await dispatcher.run_pass()
        finally:
            await dispatcher.transport.close()
        summary.mail_problem = mail_problem(app.settings, app.engine, clock)
        return summary


def pass_exit_code(summary: PassSummary) -> int:
    """2: the mail login was refused (configuration); 1: a reminder failed for good, or mail
    has been failing for longer than `[mail] failing_after`; else 0. Says why on stderr."""
    if summary.config_error:
        click.echo(f"feedline: error: {summary.config_error}", err=True)
        return EXIT_CONFIG
    if summary.mail_problem:
        click.echo(f"feedline: error: {summary.mail_problem}", err=True)
        return EXIT_FAILED
    return EXIT_FAILED if summary.failed else 0


def _dry_run(dispatcher: ReminderDispatcher, clock: Clock) -> None:
    from scheduler.ledger import claims
    from scheduler.ledger.planning import plan

    now = clock.now()
    with dispatcher.engine.connect() as conn:
        transaction = conn.begin()
        try:
            plan(conn, now, dispatcher.offsets)
            send, expire = claims.preview(conn, now)
            outgoing = dispatcher.composer.load(conn, send)
        finally:
            transaction.rollback()
    for item in outgoing:
        if item.message is None:
            click.echo(f"would drop #{item.row_id}: {item.stale_reason}")
        else:
            click.echo(f"would send #{item.row_id} to {item.recipient}: {item.message['Subject']}")
    click.echo(
        f"dry run: would send {len([o for o in outgoing if o.message])}, "
        f"expire {len(expire)}; nothing was changed"
    )


@click.group()
def subscribers() -> None:
    """Manage who gets reminders."""


@subscribers.command("add")
@click.argument("email")
@click.option("--source", "source_ids", multiple=True, help="Only this source (repeatable).")
@click.option("--offsets", default=None, help="Reminder offsets, e.g. 7d,1d,3h.")
@click.option("--now", type=NOW, default=None, hidden=True)
@click.pass_context
@handle_errors
def subscribers_add(
    ctx: click.Context,
    email: str,
    source_ids: tuple[str, ...],
    offsets: str | None,
    now: datetime | None,
) -> None:
    """Add a subscriber (an existing address is updated)."""
    from scheduler.database import open_database
    from scheduler.ledger.planning import plan
    from scheduler.ledger.subscribers import (
        SubscriberError,
        add_subscriber,
        normalise_email,
        parse_offsets,
    )

    settings = load(ctx).settings
    known = {s.id for s in settings.sources}
    unknown = [s for s in source_ids if s not in known]
    try:  # bad input is a usage error (exit 2), found before the database is opened
        normalise_email(email)
        if unknown:
            raise SubscriberError(
                f"unknown source(s): {', '.join(unknown)} (configured: {', '.join(sorted(known))})"
            )
        chosen_offsets = parse_offsets(offsets) if offsets else ()
    except SubscriberError as error:
        fail(str(error), EXIT_CONFIG)
    clock = clock_for(now)
    engine = open_database(settings)
    try:
        with engine.begin() as conn:
            person, created = add_subscriber(
                conn, email, clock.now(), sources=source_ids, offsets=chosen_offsets
            )
            planned = plan(
                conn, clock.now(), settings.reminders.offsets, subscriber_ids=[person.id]
            )
    finally:
        engine.dispose()
    click.echo(
        f"{'added' if created else 'updated'} {person.email} ({planned} reminder(s) planned)"
    )


@subscribers.command("list")
@click.pass_context
@handle_errors
def subscribers_list(ctx: click.Context) -> None:
    """List subscribers."""
    from config.durations import format_duration
    from scheduler.database import open_database
    from scheduler.ledger.subscribers import list_subscribers

    settings = load(ctx).settings
    engine = open_database(settings)
    try:
        with engine.connect() as conn:
            people = list_subscribers(conn)
    finally:
        engine.dispose()
    if not people:
        click.echo("no subscribers")
    for person in people:
        offsets = ",".join(format_duration(o) for o in person.offsets) or "default"
        click.echo(
            f"{person.email}\t{person.status}\tsources: "
            f"{','.join(person.sources) or 'all'}\toffsets: {offsets}"
        )


@subscribers.command("remove")
@click.argument("email")
@click.pass_context
@handle_errors
def subscribers_remove(ctx: click.Context, email: str) -> None:
    """Remove a subscriber and their planned reminders."""
    from scheduler.database import open_database
    from scheduler.ledger.subscribers import SubscriberError, normalise_email, remove_subscriber

    settings = load(ctx).settings
    try:
        normalise_email(email)
    except SubscriberError as error:
        fail(str(error), EXIT_CONFIG)
    engine = open_database(settings)
    try:
        with engine.begin() as conn:
            removed = remove_subscriber(conn, email)
    finally:
        engine.dispose()
    if not removed:
        raise SubscriberError(f"no subscriber {email!r}")
    click.echo(f"removed {email}")


@subscribers.command("import")
@click.argument("csv_file", type=click.Path(path_type=Path))
@click.option("--now", type=NOW, default=None, hidden=True)
@click.pass_context
@handle_errors
def subscribers_import(ctx: click.Context, csv_file: Path, now: datetime | None) -> None:
    """Import subscribers from a CSV with a header: email[,sources][,offsets]."""
    from scheduler.database import open_database
    from scheduler.ledger.planning import plan
    from scheduler.ledger.subscribers import add_subscriber, read_import_file

    settings = load(ctx).settings
    rows, errors = read_import_file(csv_file, [s.id for s in settings.sources])
    for error in errors:
        click.echo(f"feedline: skipped: {error}", err=True)
    clock = clock_for(now)
    engine = open_database(settings)
    added = updated = 0
    try:
        with engine.begin() as conn:
            ids = []
            for row in rows:
                person, created = add_subscriber(
                    conn, row.email, clock.now(), sources=row.sources, offsets=row.offsets
                )
                ids.append(person.id)
                added, updated = added + created, updated + (not created)
            plan(conn, clock.now(), settings.reminders.offsets, subscriber_ids=ids)
    finally:
        engine.dispose()
    click.echo(f"imported {added} new, {updated} updated, {len(errors)} skipped")
    if errors:
        ctx.exit(1)


@click.group("mail")
def mail_group() -> None:
    """Mail transport tools."""


@mail_group.command("test")
@click.argument("email")
@click.pass_context
@handle_errors
def mail_test(ctx: click.Context, email: str) -> None:
    """Send one test message through the configured transport."""
    from scheduler.ledger.subscribers import SubscriberError, normalise_email
    from scheduler.mail_test_command import send_test_message

    settings = load(ctx).settings
    try:
        normalise_email(email)
    except SubscriberError as error:
        fail(str(error), EXIT_CONFIG)
    where = asyncio.run(send_test_message(settings, email))
    click.echo(f"test message to {email} handed to {where}")
