"""The `digest` command line: parse arguments, call a service, print the result.

Each command imports the stacks it drives (the database, fetching, delivery, the web app, the
scheduler) when it runs: `digest --help` loads none of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from digest import __version__, console, services
from digest.config import Settings, find_config, load_settings
from digest.config_env import configured_by_environment
from digest.controls import show_controls
from digest.edition_json import edition_to_dict
from digest.errors import (
    ConfigError,
    DeliveryPausedError,
    DigestError,
    SmtpUnavailableError,
    SubscriberError,
    UsageError,
    database_error,
    one_line,
)
from digest.redact import redact
from subscribers.presets import PRESETS

if TYPE_CHECKING:
    from digest.app import App

INTERNAL_ERROR_EXIT = 70


class Session:
    """Per-invocation state: where the config is, and the app built from it on first use."""

    def __init__(self, ctx: click.Context, config: str | None) -> None:
        self._ctx = ctx
        self._config = config
        self._app: App | None = None
        self._settings: Settings | None = None

    def settings(self, *, quiet: bool = False) -> Settings:
        if self._settings is None:  # read once: its warnings are printed once
            self._settings = self._read_settings(quiet=quiet)
        return self._settings

    def _read_settings(self, *, quiet: bool) -> Settings:
        path = find_config(self._config)
        if path is None and not configured_by_environment(os.environ):
            raise ConfigError(
                "no digest.toml in this folder; run `digest init`, or pass --config FILE "
                "or set DIGEST_CONFIG (or configure it with DIGEST_<SECTION>__<KEY> variables)"
            )
        settings = load_settings(path)
        for warning in () if quiet else settings.warnings:
            where = path.name if path is not None else "environment"
            click.echo(f"digest: warning: {where}: {show_controls(warning)}", err=True)
        return settings

    def app(self) -> App:
        if self._app is None:
            from digest.app import make_app

            self._app = make_app(self.settings())
            self._ctx.call_on_close(self._app.close)
        return self._app


class DigestGroup(click.Group):
    """Turns the project's errors into one line and an exit status: never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except DigestError as exc:
            click.echo(f"digest: error: {show_controls(redact(str(exc)))}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("digest: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug (one line, with what to report), or the database went away
            # The driver's words only: SQLAlchemy's message quotes the statement and its
            # parameters (item text, addresses).
            stored = database_error(exc)
            if stored is not None and _database_unavailable(exc):
                click.echo(f"digest: error: {show_controls(redact(str(stored)))}", err=True)
                ctx.exit(stored.exit_code)
            if os.environ.get("DIGEST_DEBUG"):
                raise
            if stored is not None:
                click.echo(f"digest: error: {show_controls(redact(str(stored)))}", err=True)
                ctx.exit(stored.exit_code)
            click.echo(
                f"digest: internal error: {type(exc).__name__}: "
                f"{show_controls(redact(one_line(exc)))} "
                "(please report it with the command you ran)",
                err=True,
            )
            ctx.exit(INTERNAL_ERROR_EXIT)


def _database_unavailable(exc: Exception) -> bool:
    """A lost or refused database connection (SQLAlchemy is only looked at if it is loaded)."""
    errors = sys.modules.get("sqlalchemy.exc")
    return errors is not None and isinstance(exc, (errors.OperationalError, errors.InterfaceError))


def _session() -> Session:
    return click.get_current_context().find_object(Session)  # type: ignore[return-value]


def _date_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--date",
        "date_",
        metavar="YYYY-MM-DD",
        callback=_parse_date,
        help="Edition date (default: today in the configured time zone).",
    )(fn)


def _zone_option(help_text: str, default: str | None = None) -> Callable[..., Any]:
    return click.option("--zone", metavar="ZONE", default=default, help=help_text)


def _folder_option(flag: str, default: str, help_text: str) -> Callable[..., Any]:
    return click.option(
        flag,
        type=click.Path(file_okay=False, path_type=Path),
        default=Path(default),
        show_default=True,
        help=help_text,
    )


def _any_date_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--any-date",
        is_flag=True,
        help="Allow a date past its time-to-live or more than a day ahead.",
    )(fn)


def _json_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")(fn)


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a date like 2026-03-10") from exc


def _print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


_Row = TypeVar("_Row")


def _report(as_json: bool, data: Callable[[], Any], show: Callable[[], object]) -> None:
    """Print a result for a script (``--json``: ``data()`` as JSON) or for a person."""
    if as_json:
        _print_json(data())
    else:
        show()


def _report_rows(
    as_json: bool,
    rows: list[_Row],
    as_dict: Callable[[_Row], Any],
    show: Callable[[list[_Row]], object],
) -> None:
    """A listing: for a script, a JSON list of ``as_dict(row)``; for a person, ``show(rows)``."""
    _report(as_json, lambda: [as_dict(row) for row in rows], lambda: show(rows))


@click.group(cls=DigestGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    metavar="FILE",
    envvar="DIGEST_CONFIG",
    show_envvar=True,
    help="Config file (default: ./digest.toml).",
)
@click.version_option(__version__, prog_name="digest")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """A daily email digest of the news on a topic."""
    ctx.obj = Session(ctx, config)


@cli.command()
@click.option("--force", is_flag=True, help="Rewrite an existing digest.toml, keeping its keys.")
@click.option(
    "--rotate-key",
    is_flag=True,
    help="Replace the secret key; the old one stays valid in old_secret_keys.",
)
@click.option(
    "--database",
    metavar="URL",
    help="SQLAlchemy URL of the database, e.g. postgresql://user@host/digest "
    "(default: digest.db in this folder).",
)
def init(force: bool, rotate_key: bool, database: str | None) -> None:
    """Write a commented digest.toml and create the database (SQLite in this folder by default)."""
    from digest.workspace import init_folder

    result = init_folder(Path.cwd(), force=force, rotate_key=rotate_key, database=database)
    console.print_init(result)


@cli.command()
@_folder_option("--outbox", "outbox", "Where the sent messages (.eml) and the preview are saved.")
@_json_option
def demo(outbox: Path, as_json: bool) -> None:
    """Offline end-to-end run on the bundled feeds, with an embedded SMTP server."""
    from digest.demo import run_demo

    result = run_demo(outbox, progress=None if as_json else console.demo_progress)
    _report(as_json, lambda: console.demo_dict(result), lambda: console.print_demo(result))


# --- configuration -------------------------------------------------------------------------


@cli.group("config")
def config_group() -> None:
    """Look at the effective configuration."""


@config_group.command("show")
@_json_option
def config_show(as_json: bool) -> None:
    """Print every setting, its value and where it came from (secrets masked)."""
    from digest.config_report import settings_dict

    data = settings_dict(_session().settings(quiet=True))
    _report(as_json, lambda: data, lambda: console.print_config(data))


@config_group.command("check")
def config_check() -> None:
    """Validate the configuration; exit 1 if something would fail when digest runs."""
    from digest.config_report import check_settings

    settings = _session().settings(quiet=True)
    result = check_settings(settings)
    console.print_config_check(result, settings.path)
    if result.problems:
        raise click.exceptions.Exit(1)


@cli.group("templates")
def templates_group() -> None:
    """The email and web templates editors can override."""


@templates_group.command("copy")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def templates_copy(folder: Path) -> None:
    """Copy the bundled templates into FOLDER, to edit and point [digest] templates at."""
    from digest.render.templates import copy_templates

    written = copy_templates(folder)
    click.echo(f"copied {len(written)} files to {folder}")
    click.echo(
        f'set [digest] templates = "{folder}" in digest.toml, then delete the files you do not '
        "change: they keep coming from digest, updates included"
    )


# --- feeds ---------------------------------------------------------------------------------


@cli.group()
def feeds() -> None:
    """Manage the feed list."""


@feeds.command("add")
@click.argument("urls", nargs=-1, required=True)
@click.option("--name", help="The outlet's name (feeds given one name count as one outlet).")
def feeds_add(urls: tuple[str, ...], name: str | None) -> None:
    """Add one or more feeds by URL."""
    app = _session().app()
    for verb, url in services.add_feeds(app, urls, name):
        click.echo(f"{verb} {url}" + (f" ({services.outlet_name(name)})" if name else ""))


@feeds.command("rename")
@click.argument("feed")
@click.argument("name")
def feeds_rename(feed: str, name: str) -> None:
    """Name the outlet of the feed at URL FEED (feeds given one name count as one outlet)."""
    stored = services.rename_feed(_session().app(), feed, name)
    click.echo(f"renamed {feed}: {stored}")


@feeds.command("enable")
@click.argument("url")
def feeds_enable(url: str) -> None:
    """Fetch a disabled (or backed-off) feed again from the next run on."""
    services.enable_feed(_session().app(), url)
    click.echo(f"enabled {url}")


@feeds.command("check")
@click.argument("url")
@_json_option
def feeds_check(url: str, as_json: bool) -> None:
    """Fetch and read a feed without adding it: format, title, items, problems."""
    check = services.check_feed(_session().app(), url)
    _report(as_json, lambda: console.check_dict(check), lambda: console.print_check(check))
    if not check.usable:
        raise click.exceptions.Exit(1)


@feeds.command("list")
@_json_option
def feeds_list(as_json: bool) -> None:
    """List feeds with the outcome of their last fetch."""
    listed = _session().app().store.list_feeds()
    _report_rows(as_json, listed, console.feed_dict, console.print_feeds)


@feeds.command("remove")
@click.argument("url")
def feeds_remove(url: str) -> None:
    """Remove a feed and its stored items."""
    removed = _session().app().store.remove_feed(url)
    click.echo(f"removed {url} ({removed} items)")


@feeds.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def feeds_import(file: Path) -> None:
    """Add every feed listed in an OPML file."""
    result = services.import_opml(_session().app(), file.read_bytes())
    console.print_opml_import(result)
    if result.refused:
        raise click.exceptions.Exit(1)


@feeds.command("export")
def feeds_export() -> None:
    """Print the feed list as OPML."""
    from digest.ingest.opml import write_opml

    app = _session().app()
    click.echo(write_opml(app.store.list_feeds(), title=app.settings.digest.name), nl=False)


# --- the pipeline --------------------------------------------------------------------------


@cli.command()
@_json_option
def fetch(as_json: bool) -> None:
    """Fetch every feed now and store new items."""
    session = _session()
    on_feed = None if as_json else console.fetch_progress
    reports = services.fetch_feeds(session.settings(), session.app, on_feed=on_feed)
    _report(
        as_json, lambda: console.fetch_dict(reports), lambda: console.print_fetch_summary(reports)
    )
    if (
        reports
        and all(report.status in ("error", "skipped") for report in reports)
        and any(report.status == "error" for report in reports)
    ):
        click.echo("digest: error: every feed failed", err=True)
        raise click.exceptions.Exit(1)


@cli.command()
@_date_option
@_zone_option("Build this time zone's edition (default: the digest's own zone).", "")
@_json_option
def build(date_: date | None, zone: str, as_json: bool) -> None:
    """Build (or rebuild) the edition for a date and print it."""
    from digest.editions.service import Editions

    app = _session().app()
    editions = Editions(app)
    edition = editions.build(editions.key(services.edition_date_or_today(app, date_, zone), zone))
    _report(as_json, lambda: edition_to_dict(edition), lambda: console.print_edition(edition))


@cli.command()
@_date_option
@_folder_option("--out", "preview", "Folder for the HTML and text files.")
@_zone_option("Preview this time zone's edition (default: the digest's own zone).", "")
@click.option("--open", "open_", is_flag=True, help="Open the rendered files in a browser.")
@click.option("--serve", is_flag=True, help="Serve the editor's desk instead of writing files.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Desk address (--serve).")
@click.option("--port", type=int, default=8025, show_default=True, help="Desk port (--serve).")
def preview(
    date_: date | None, out: Path, zone: str, open_: bool, serve: bool, host: str, port: int
) -> None:
    """Render the edition to HTML and text files, or serve the editor's desk."""
    from digest.editions.service import Editions, zone_label

    app = _session().app()
    if serve:
        from digest.desk.serve import serve_desk

        serve_desk(app, host=host, port=port, day=date_, echo=click.echo)
        return
    editions = Editions(app)
    key = editions.key(services.edition_date_or_today(app, date_, zone), zone)
    files = services.preview(app, editions.get_or_build(key), out)
    click.echo(f"HTML: {files.html}\ntext: {files.text}")
    others = [zone_label(z) for z in editions.zones(key.date) if z != key.zone]
    if others and not zone:
        click.echo(f"other zones of {key.date}: {', '.join(others)} (see --zone)")
    if open_:
        import webbrowser

        for path in (files.html, files.text):
            webbrowser.open(path.resolve().as_uri())


@cli.command("eval")
@click.argument(
    "corpus_dirs", metavar="CORPUS_DIR...", nargs=-1, required=True, type=click.Path(path_type=Path)
)
@click.option(
    "--topic",
    metavar="KEY|FILE",
    default="us-china-trade",
    show_default=True,
    help="Bundled topic key or topic TOML file to evaluate.",
)
@_json_option
def eval_(corpus_dirs: tuple[Path, ...], topic: str, as_json: bool) -> None:
    """Replay labelled corpora (weeks) and measure the editions built from them.

    With several folders, each is reported and then all of them pooled.
    """
    from digest.editorial import load_topic
    from digest.evaluation import load_corpus, run_eval
    from digest.evaluation.report import eval_dict, pooled_dict, print_eval, print_pooled, progress

    chosen = load_topic(topic)
    corpora = [load_corpus(folder) for folder in corpus_dirs]
    reports = [run_eval(c, chosen, progress=None if as_json else progress) for c in corpora]
    if len(reports) == 1:
        _report(as_json, lambda: eval_dict(reports[0]), lambda: print_eval(reports[0]))
        return

    def show() -> None:
        for report in reports:
            print_eval(report)
        print_pooled(reports)

    _report(as_json, lambda: pooled_dict(reports), show)


@cli.command()
@_date_option
@_zone_option("Only this time zone's edition (default: every zone's edition of the date).")
def approve(date_: date | None, zone: str | None) -> None:
    """Approve the date's editions for sending (also lifts a hold)."""
    from digest.desk import actions

    app = _session().app()
    day = services.edition_date_or_today(app, date_, zone or "")
    console.print_edition_states(actions.approve(app, day, zone))


@cli.command()
@_date_option
@_zone_option("Only this time zone's edition (default: every zone's edition of the date).")
@click.option("--reason", default="", help="Why it is held (shown on the desk).")
def hold(date_: date | None, zone: str | None, reason: str) -> None:
    """Hold the date's editions: they are not sent until approved."""
    from digest.desk import actions

    app = _session().app()
    day = services.edition_date_or_today(app, date_, zone or "")
    console.print_edition_states(actions.hold(app, day, reason, zone), reason.strip())


@cli.command()
@_date_option
@_zone_option(
    "Send this time zone's edition to its subscribers (default: the digest's own zone).", ""
)
@_any_date_option
@_json_option
@click.option(
    "--dry-run", is_flag=True, help="Show what would be sent now; send and write nothing."
)
def send(date_: date | None, zone: str, any_date: bool, as_json: bool, dry_run: bool) -> None:
    """Send the edition to every active subscriber; safe to re-run, it resumes."""
    from digest import jobs
    from digest.editions.service import groups
    from digest.stopping import stop_on_signals

    app = _session().app()
    zone = "" if zone == app.settings.digest.timezone else zone
    if zone not in groups(app):
        raise UsageError(f"no active subscriber has the time zone {zone!r}")
    day = services.edition_date_or_today(app, date_, zone)
    if not any_date:
        jobs.check_send_date(app, day, zone)
    with stop_on_signals(lambda line: click.echo(line, err=True)) as stop:
        quiet = as_json or dry_run or not console.is_terminal()
        bar = console.send_progress(0)
        with bar if not quiet else contextlib.nullcontext():
            result = jobs.run_send(
                app,
                day,
                zone,
                force=True,
                stop=stop,
                at_send_time=False,
                dry_run=dry_run,
                on_start=None if quiet else bar.total,
                on_message=None if quiet else bar.advance,
            )
    report = result.report
    assert report is not None  # forced: a send that is not refused always sends
    _report(as_json, lambda: console.send_dict(report), lambda: console.print_send(report))
    if stop.is_set():
        click.echo("stopped: run `digest send` again to send the rest", err=True)
    if report.paused:
        raise DeliveryPausedError(
            f"sending paused after {report.paused}; "
            "run `digest send` again once the server accepts mail"
        )


@cli.command()
@_date_option
@_zone_option("This time zone's edition (default: the digest's own zone).")
@_json_option
def deliveries(date_: date | None, zone: str | None, as_json: bool) -> None:
    """Show an edition's deliveries: counts by status and recent failures with SMTP replies."""
    app = _session().app()
    day = services.edition_date_or_today(app, date_, zone or "")
    report = services.deliveries_report(app, day, zone)
    _report(
        as_json, lambda: console.deliveries_dict(report), lambda: console.print_deliveries(report)
    )


@cli.command()
@_date_option
@click.option(
    "--force", is_flag=True, help="Send even a quiet day's edition when quiet_day is skip."
)
@_any_date_option
@_json_option
def run(date_: date | None, force: bool, any_date: bool, as_json: bool) -> None:
    """The daily job: fetch, build and send (each subscriber time zone's edition)."""
    from digest import overview
    from digest.jobs import run_daily
    from digest.stopping import stop_on_signals

    with stop_on_signals(lambda line: click.echo(line, err=True)) as stop:
        daily = run_daily(_session().app(), date_, force=force, stop=stop, any_date=any_date)
    _report(as_json, lambda: overview.daily_dict(daily), lambda: overview.print_daily(daily))
    errors = overview.daily_errors(daily)
    if errors:
        click.echo(f"digest: error: {'; '.join(errors)}", err=True)
        raise click.exceptions.Exit(1)


@cli.command()
def serve() -> None:
    """Run fetch, build and send on schedule (APScheduler); one daemon per database."""
    from digest.schedule import serve as serve_forever

    session = _session()
    serve_forever(session.settings(), echo=lambda line: click.echo(line, err=True))


@cli.command()
@click.option(
    "--poll-seconds",
    type=click.FloatRange(0.1, 3600),
    default=5.0,
    show_default=True,
    help="How often to look for an edition being sent when idle.",
)
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@_json_option
def worker(poll_seconds: float, once: bool, as_json: bool) -> None:
    """Send the rows of editions `digest serve` is sending; run any number, on any host."""
    from digest.stopping import stop_on_signals
    from digest.worker import run_worker

    def say(line: str) -> None:
        click.echo(line, err=True)

    with stop_on_signals(say) as stop:
        if not once:
            say("digest worker: waiting for editions to send; stop with SIGTERM or Ctrl-C")
        report = run_worker(
            _session().app(), stop=stop, poll_seconds=poll_seconds, once=once, echo=say
        )
    data = {"sent": report.sent, "editions": report.editions, "stopped": stop.is_set()}
    _report(as_json, lambda: data, lambda: say(f"worker: sent {report.sent} messages"))


@cli.command()
@_json_option
def status(as_json: bool) -> None:
    """Next runs, the last edition and its deliveries, failing feeds, the running daemon."""
    from digest import overview

    report = overview.status(_session().app())
    _report(as_json, lambda: overview.status_dict(report), lambda: overview.print_status(report))


@cli.command()
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--job", type=click.Choice(["fetch", "build", "send"]), help="Only this job.")
@_json_option
def runs(limit: int, job: str | None, as_json: bool) -> None:
    """History of the scheduled jobs, newest first: outcome, counts and error."""
    from digest import overview
    from digest.store.runs import RunLog

    history = RunLog(_session().app().database).recent(limit=limit, job=job)
    _report_rows(as_json, history, overview.run_dict, overview.print_runs)


@cli.command()
@click.option("--host", help="Address to listen on (default: [web] host).")
@click.option("--port", type=int, help="Port (default: [web] port).")
def web(host: str | None, port: int | None) -> None:
    """Serve the unsubscribe and preferences pages (Flask)."""
    from digest.web.serve import listen, serve_forever

    if port is not None and not 1 <= port <= 65535:
        raise UsageError(f"--port must be between 1 and 65535, not {port}")
    app = _session().app()
    where = (host or app.settings.web.host, port or app.settings.web.port)
    listener = listen(*where)  # before building the site: a busy port is one line, at once
    from digest.web.app import create_web_app

    click.echo(f"digest web: serving on http://{where[0]}:{where[1]}; stop with Ctrl-C", err=True)
    serve_forever(create_web_app(app), listener)


# --- confirmations -------------------------------------------------------------------------


@cli.group()
def confirmations() -> None:
    """The outbox of subscription confirmation emails."""


@confirmations.command("send")
def confirmations_send() -> None:
    """Apply the form's sign-ups and send the confirmation emails that are due (`digest serve`
    does it every 30 seconds)."""
    from subscribers.optin import send_queued

    run = send_queued(_session().app())
    click.echo(
        f"confirmations: {run.sent} sent, {run.deferred} deferred, {run.skipped} skipped "
        f"(no longer pending), {run.failed} failed; {run.signups} sign-ups from the form applied"
    )
    if run.relay_error is not None:
        raise SmtpUnavailableError(f"{run.relay_error}; they are retried on the next run")


# --- subscribers ---------------------------------------------------------------------------


@cli.group()
def subscribers() -> None:
    """Manage subscribers."""


@subscribers.command("add")
@click.argument("email")
@click.option("--name", help="Display name.")
@click.option(
    "--list",
    "lists",
    multiple=True,
    metavar="LIST",
    help="List to join (repeatable; default: the default list).",
)
@click.option(
    "--confirm",
    is_flag=True,
    help="Double opt-in: add as pending and email a confirmation link.",
)
def subscribers_add(email: str, name: str | None, lists: tuple[str, ...], confirm: bool) -> None:
    """Add a subscriber (active, or pending until confirmed with --confirm)."""
    app = _session().app()
    if confirm:
        from subscribers.optin import request_confirmation, send_queued

        optin = request_confirmation(app, email, name=name, lists=lists, source="cli --confirm")
        run = send_queued(app)
        if run.relay_error is not None:
            raise SmtpUnavailableError(
                f"added {optin.subscriber.email} as pending; the confirmation email waits in the "
                f"outbox ({run.relay_error}); `digest confirmations send` or `digest serve` "
                "sends it"
            )
        click.echo(f"added {optin.subscriber.email} as pending; confirmation email sent")
        return
    subscriber = app.subscribers.add(email, name=name, now=app.clock(), lists=lists)
    click.echo(f"added {subscriber.email} to {', '.join(subscriber.lists)}")


@subscribers.command("remove")
@click.argument("email")
@click.option("--list", "list_name", metavar="LIST", help="Only take them off this list.")
def subscribers_remove(email: str, list_name: str | None) -> None:
    """Remove a subscriber (or, with --list, their membership of one list)."""
    subscriber = _session().app().subscribers.remove(email, list_name=list_name)
    where = f" from {list_name}" if list_name else ""
    click.echo(f"removed {subscriber.email}{where}")


@subscribers.command("list")
@click.option("--status", type=click.Choice(["pending", "active", "unsubscribed", "bounced"]))
@click.option("--list", "list_name", metavar="LIST", help="Only members of this list.")
@_json_option
def subscribers_list(status: str | None, list_name: str | None, as_json: bool) -> None:
    """List subscribers."""
    listed = _session().app().subscribers.list(status, list_name=list_name)
    _report_rows(as_json, listed, console.subscriber_dict, console.print_subscribers)


@subscribers.command("show")
@click.argument("email")
@_json_option
def subscribers_show(email: str, as_json: bool) -> None:
    """Show one subscriber."""
    subscriber = _session().app().subscribers.find(email)
    if subscriber is None:
        raise UsageError(f"no subscriber {email}")
    _report(
        as_json,
        lambda: console.subscriber_dict(subscriber),
        lambda: console.print_subscribers([subscriber]),
    )


@subscribers.command("set")
@click.argument("email")
@click.option("--name", help='Display name ("" clears it).')
@click.option("--timezone", metavar="ZONE", help='Time zone, e.g. Asia/Tokyo ("" clears it).')
@click.option("--format", "format_", type=click.Choice(["html", "text"]), help="Email format.")
@click.option("--sections", metavar="A,B", help='Section keys to receive ("" means all).')
@_json_option
def subscribers_set(
    email: str,
    name: str | None,
    timezone: str | None,
    format_: str | None,
    sections: str | None,
    as_json: bool,
) -> None:
    """Change a subscriber's name, time zone, format or sections."""
    from subscribers.admin import change_subscriber

    subscriber, changed = change_subscriber(
        _session().app(), email, name=name, timezone=timezone, format=format_, sections=sections
    )
    _report(
        as_json,
        lambda: console.subscriber_dict(subscriber),
        lambda: click.echo(f"updated {subscriber.email}: {', '.join(changed)}"),
    )


@subscribers.command("erase")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def subscribers_erase(email: str, yes: bool) -> None:
    """Delete all personal data of an address (GDPR); it stays suppressed, as a hash."""
    app = _session().app()
    if not yes:
        click.confirm(f"Erase every record of {email}? This cannot be undone", abort=True)
    if not app.subscribers.erase(email, now=app.clock()):
        raise SubscriberError(f"no subscriber {email}: nothing stored about it, nothing erased")
    click.echo(f"erased {email}; the address stays suppressed (kept only as a keyed hash)")


@subscribers.command("export-data")
@click.argument("email")
def subscribers_export_data(email: str) -> None:
    """Print everything stored about one subscriber, as JSON (a data access request)."""
    _print_json(_session().app().subscribers.export_data(email))


@subscribers.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "lists", multiple=True, metavar="LIST", help="List to add them to.")
@click.option("--consented", is_flag=True, help="They already consented: make them active.")
@click.option(
    "--from",
    "preset",
    type=click.Choice(list(PRESETS)),
    help="The file is this tool's subscriber export.",
)
@click.option(
    "--send-confirmations",
    is_flag=True,
    help="Email a confirmation link to those who wait as pending (not with --consented).",
)
@click.option("--dry-run", is_flag=True, help="Report what would happen; change nothing.")
@_json_option
def subscribers_import(
    file: Path,
    lists: tuple[str, ...],
    consented: bool,
    preset: str | None,
    send_confirmations: bool,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Import subscribers from a CSV file (one transaction; bad rows are reported)."""
    from subscribers import console as subscriber_console
    from subscribers.admin import import_file

    if send_confirmations and consented:
        raise UsageError(
            "--send-confirmations asks people to confirm; with --consented they are active "
            "already: give one or the other"
        )
    app = _session().app()
    report = import_file(
        app, file, lists=lists, consented=consented, dry_run=dry_run, preset=preset
    )
    _report(
        as_json,
        lambda: subscriber_console.import_dict(report),
        lambda: subscriber_console.print_import(report),
    )
    if not report.pending or dry_run:
        return
    if not send_confirmations:
        click.echo(
            f"{report.pending} of them wait as pending: they get no digest until they confirm. "
            f"To email them a confirmation link, run this import again with "
            f"--send-confirmations (nothing else changes); if they already agreed to receive "
            f"it, with --consented instead",
            err=as_json,
        )
        return
    from datetime import timedelta

    from subscribers.optin import queue_confirmations, send_queued

    window = timedelta(hours=app.settings.web.confirm_resend_hours)
    queued, recent = queue_confirmations(app, report.pending_ids, resend_after=window)
    run = send_queued(app)
    again = f" ({recent} already had one in the last {window.total_seconds() / 3600:g} h)"
    click.echo(
        f"confirmations: {queued} queued{again if recent else ''}, {run.sent} sent",
        err=as_json,
    )
    if run.relay_error is not None:
        raise SmtpUnavailableError(
            f"{run.relay_error}; the confirmation emails wait in the outbox: "
            "`digest confirmations send` or `digest serve` sends them"
        )


@subscribers.command("export")
@click.option("--list", "list_name", metavar="LIST", help="Only members of this list.")
@click.option("--status", type=click.Choice(["pending", "active", "unsubscribed", "bounced"]))
def subscribers_export(list_name: str | None, status: str | None) -> None:
    """Print subscribers as CSV (safe to open in a spreadsheet; imports back)."""
    from subscribers.admin import export_csv

    for chunk in export_csv(_session().app(), list_name=list_name, status=status):
        click.echo(chunk, nl=False)


@subscribers.command("suppress")
@click.argument("email")
@click.option("--reason", default="admin", show_default=True, help="Why, for the record.")
def subscribers_suppress(email: str, reason: str) -> None:
    """Never mail an address again, whatever any import or add says."""
    from subscribers.validation import normalize_email

    app = _session().app()
    address = normalize_email(email)
    added = app.subscribers.suppress(address, now=app.clock(), reason=reason)
    click.echo(f"suppressed {address}" if added else f"{address} was already suppressed")


@subscribers.command("unsuppress")
@click.argument("email")
def subscribers_unsuppress(email: str) -> None:
    """Take an address off the suppression list."""
    if not _session().app().subscribers.unsuppress(email):
        raise UsageError(f"{email} is not suppressed")
    click.echo(f"unsuppressed {email}")


# --- lists ---------------------------------------------------------------------------------


@cli.group("lists")
def lists_group() -> None:
    """Manage subscriber lists (audiences), each tied to a topic."""


@lists_group.command("add")
@click.argument("name")
@click.option(
    "--topic",
    help="Topic key or topic file the list receives (default: the configured topic).",
)
@click.option("--description", help="A note for admins.")
def lists_add(name: str, topic: str | None, description: str | None) -> None:
    """Create a list."""
    from subscribers.admin import create_list

    app = _session().app()
    created = create_list(app, name, topic=topic, description=description)
    topic = created.topic or f"the configured topic, {app.topic.key}"
    click.echo(f"created list {created.name} ({topic})")


@lists_group.command("list")
@_json_option
def lists_list(as_json: bool) -> None:
    """Show the lists with their member counts."""
    from subscribers import console as subscriber_console

    app = _session().app()
    found = app.subscribers.lists()
    _report_rows(
        as_json,
        found,
        subscriber_console.list_dict,
        lambda lists: subscriber_console.print_lists(lists, app.topic.key),
    )


@lists_group.command("remove")
@click.argument("name")
def lists_remove(name: str) -> None:
    """Delete a list (its subscribers stay, minus this membership)."""
    members = _session().app().subscribers.remove_list(name)
    click.echo(f"removed list {name} ({members} memberships)")


@cli.group("bounces")
def bounces_group() -> None:
    """Act on bounce and complaint reports (DSN, ARF) from a file, a mailbox or IMAP."""


@bounces_group.command("process")
@click.argument("source", metavar="FILE|-")
@_json_option
def bounces_process(source: str, as_json: bool) -> None:
    """Read one message, an mbox or a Maildir (- for stdin) and act on its reports."""
    from digest.bounces import console as bounce_console
    from digest.bounces.process import iter_messages, process_messages

    result = process_messages(_session().app(), iter_messages(source))
    _report(
        as_json,
        lambda: bounce_console.result_dict(result),
        lambda: bounce_console.print_result(result),
    )


@bounces_group.command("fetch")
@_json_option
def bounces_fetch(as_json: bool) -> None:
    """Read the [bounces] IMAP folder, act on its reports, then delete or move them."""
    from digest.bounces import console as bounce_console
    from digest.bounces.imap import fetch_reports

    result = fetch_reports(_session().app())
    _report(
        as_json,
        lambda: bounce_console.result_dict(result),
        lambda: bounce_console.print_result(result),
    )


def main() -> None:
    cli(prog_name="digest")


if __name__ == "__main__":  # pragma: no cover
    main()
