"""`feedline run`, `feedline once`, `feedline serve` and `feedline status`.

Each command imports what it uses when it runs, so `feedline status` loads no web server.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import datetime

import click

from feeds.clock import OffsetClock, SystemClock
from scheduler.cli_common import NOW, clock_for, handle_errors, load, setup_logging

#: What `feedline run --role` accepts (scheduler.daemon.ROLES, spelt here so that
#: `feedline --help` need not import the daemon).
ROLES = ("refresh", "send", "serve")


def _roles(_ctx: click.Context, _param: click.Parameter, value: str) -> frozenset[str]:
    roles = frozenset(part.strip() for part in value.split(",") if part.strip())
    unknown = sorted(roles - set(ROLES))
    if unknown or not roles:
        given = f"{', '.join(map(repr, unknown))} is not a role" if unknown else "no role given"
        raise click.BadParameter(f"{given}; give some of {', '.join(ROLES)}")
    return roles


LOG_FORMAT = click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines for people or for machines.",
)


@click.command()
@click.option(
    "--now",
    type=NOW,
    default=None,
    help="Start the clock at this instant and let it run on (demos).",
)
@click.option(
    "--role",
    "roles",
    default=",".join(ROLES),
    show_default=True,
    callback=_roles,
    help="What this daemon does, comma-separated: refresh, send, serve.",
)
@click.option("--no-serve", is_flag=True, help="Do not start the HTTP server (drops serve).")
@click.option("--verbose", "-v", is_flag=True, help="Debug logging.")
@LOG_FORMAT
@click.pass_context
@handle_errors
def run(
    ctx: click.Context,
    now: datetime | None,
    roles: frozenset[str],
    no_serve: bool,
    verbose: bool,
    log_format: str,
) -> None:
    """Run the daemon: refresh on schedule, send reminders on time, serve the feeds."""
    from feeds.serve.server import run_serving
    from scheduler.daemon import Daemon
    from scheduler.reminders_app import build_dispatcher, ledger_hook, signing_key
    from scheduler.web import DaemonRoutes
    from scheduler.wiring import build_app

    setup_logging(1 if verbose else 0, log_format)
    loaded = load(ctx)
    clock = OffsetClock(now) if now is not None else SystemClock()

    async def main() -> None:
        hook = ledger_hook(loaded.settings, clock)
        refresh = "refresh" in roles
        async with build_app(loaded, clock, on_deadlines=hook, workers=refresh) as app:
            dispatcher = build_dispatcher(app.settings, app.engine, clock)
            routes = DaemonRoutes(app.settings, app.engine, clock, signing_key(app.settings))
            daemon = Daemon(
                app,
                dispatcher,
                routes,
                serve="serve" in roles and not no_serve,
                refresh=refresh,
                send="send" in roles,
                log_format=log_format,
            )
            await daemon.run()

    run_serving(main())


@click.command()
@click.option("--now", type=NOW, default=None, help="Pretend it is this instant (ISO 8601).")
@click.option("--verbose", "-v", is_flag=True, help="Log each step.")
@LOG_FORMAT
@click.pass_context
@handle_errors
def once(ctx: click.Context, now: datetime | None, verbose: bool, log_format: str) -> None:
    """Refresh every source and send due reminders once, then exit (for cron).

    A source that a daemon on the same database is refreshing at that moment is skipped.

    Exit status: 0 all well; 1 a source failed, a reminder failed for good or mail has been
    failing for longer than [mail] failing_after; 2 the mail server refused the login.
    """
    from scheduler.alerts import send_source_alerts
    from scheduler.cli_build import print_report
    from scheduler.cli_reminders import pass_exit_code
    from scheduler.daemon import refresh_beside_daemons
    from scheduler.reminders_app import build_dispatcher, ledger_hook, mail_problem
    from scheduler.wiring import build_app

    setup_logging(1 if verbose else -1, log_format)
    loaded = load(ctx)
    clock = clock_for(now)

    async def main() -> int:
        async with build_app(
            loaded, clock, on_deadlines=ledger_hook(loaded.settings, clock)
        ) as app:
            report, skipped = await refresh_beside_daemons(app)
            print_report(report, quiet=False, skipped=skipped)
            dispatcher = build_dispatcher(app.settings, app.engine, clock)
            try:
                await send_source_alerts(
                    app.settings, app.engine, dispatcher.transport, clock, report.outcomes
                )
                summary = await dispatcher.run_pass()
            finally:
                await dispatcher.transport.close()
            click.echo(f"reminders: {summary.line()}")
            summary.mail_problem = mail_problem(app.settings, app.engine, clock)
            return pass_exit_code(summary) or (1 if report.failed else 0)

    ctx.exit(asyncio.run(main()))


@click.command()
@click.option("--host", default=None, help="Override [server] host.")
@click.option("--port", type=click.IntRange(0, 65535), default=None, help="Override [server] port.")
@click.option("--access-log", is_flag=True, help="Log each request.")
@click.pass_context
@handle_errors
def serve(ctx: click.Context, host: str | None, port: int | None, access_log: bool) -> None:
    """Serve the output folder (and /healthz, /unsubscribe) without scheduling."""
    import signal

    from feeds.serve.server import run_serving
    from scheduler.database import open_database
    from scheduler.reminders_app import signing_key
    from scheduler.serving import Serving
    from scheduler.web import DaemonRoutes

    setup_logging(0)
    loaded = load(ctx)
    settings = loaded.settings
    clock = SystemClock()
    engine = open_database(settings)
    routes = DaemonRoutes(settings, engine, clock, signing_key(settings))

    async def main() -> None:
        serving = Serving(loaded, routes, clock, host=host, port=port, access_log=access_log)
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, stopped.set)  # stop the other processes too
        await serving.start()
        try:
            click.echo(
                f"serving {settings.site.output_dir} on {serving.url}"
                + (f" ({serving.count} processes)" if serving.count > 1 else ""),
                err=True,
            )
            await stopped.wait()
        finally:
            await serving.stop()

    try:
        run_serving(main())
    except KeyboardInterrupt:
        pass
    finally:
        engine.dispose()


@click.command()
@click.option("--json", "as_json", is_flag=True, help="The /healthz document.")
@click.option("--now", type=NOW, default=None, help="Pretend it is this instant (ISO 8601).")
@click.pass_context
@handle_errors
def status(ctx: click.Context, as_json: bool, now: datetime | None) -> None:
    """Each source's last success and error, and the reminder ledger. Exit 1 when failing."""
    from scheduler.database import open_database
    from scheduler.health import health_report

    settings = load(ctx).settings
    engine = open_database(settings)
    try:
        report = health_report(settings, engine, clock_for(now))
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report.body, indent=2))
    else:
        body = report.body
        shown = _in_zone(settings.display_zone)
        click.echo(f"status: {body['status']}")
        for problem in body["problems"]:
            click.echo(f"  problem: {problem}")
        for source in body["sources"]:
            line = (
                f"source {source['id']}: last success {shown(source['last_success'])}"
                f", {source['consecutive_failures']} failure(s) in a row"
            )
            if source["last_error"]:
                line += f"; last error: {source['last_error']}"
            click.echo(line)
            for page in source["failing_pages"]:
                click.echo(f"  item page {page['url']}: {page['error']}")
        mail = body["mail"]
        click.echo(
            f"mail: {'ok' if mail['ok'] else 'failing'}, "
            f"{mail['consecutive_failures']} failure(s) in a row"
            + (f"; last error: {mail['last_error']}" if mail["consecutive_failures"] else "")
        )
        r = body["reminders"]
        click.echo(
            f"reminders: {r['pending']} pending, {r['sent']} sent, {r['failed']} failed;"
            f" next due {shown(r['next_due'], 'none')}"
        )
    if not report.healthy:
        ctx.exit(1)


def _in_zone(zone: str) -> Callable[..., str]:
    """An instant of the /healthz document (UTC) as `remind` shows one: to the second, in
    `zone` (the sources' zone, see `Settings.display_zone`)."""
    from zoneinfo import ZoneInfo

    where = ZoneInfo(zone)

    def shown(instant: str | None, missing: str = "never") -> str:
        if not instant:
            return missing
        return datetime.fromisoformat(instant).astimezone(where).isoformat(timespec="seconds")

    return shown
