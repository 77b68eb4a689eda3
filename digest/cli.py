"""The `digest` command line: parse arguments, call a service, print the result."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import click

from digest import __version__, console, services
from digest.app import App, make_app
from digest.config import Settings, find_config, load_settings
from digest.edition_json import edition_to_dict
from digest.errors import ConfigError, DigestError, UsageError
from digest.ingest.opml import write_opml

INTERNAL_ERROR_EXIT = 70


class Session:
    """Per-invocation state: where the config is, and the app built from it on first use."""

    def __init__(self, ctx: click.Context, config: str | None) -> None:
        self._ctx = ctx
        self._config = config
        self._app: App | None = None

    def settings(self) -> Settings:
        path = find_config(self._config)
        if path is None:
            raise ConfigError(
                "no digest.toml in this folder; run `digest init`, or pass --config FILE "
                "or set DIGEST_CONFIG"
            )
        settings = load_settings(path)
        for warning in settings.warnings:
            click.echo(f"digest: warning: {path.name}: {warning}", err=True)
        return settings

    def app(self) -> App:
        if self._app is None:
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
            click.echo(f"digest: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("digest: interrupted", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug: still one line, with what to report
            if os.environ.get("DIGEST_DEBUG"):
                raise
            click.echo(
                f"digest: internal error: {type(exc).__name__}: {exc} "
                "(please report it with the command you ran)",
                err=True,
            )
            ctx.exit(INTERNAL_ERROR_EXIT)


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
@click.option("--force", is_flag=True, help="Overwrite an existing digest.toml.")
def init(force: bool) -> None:
    """Write a commented digest.toml and create the database in this folder."""
    from digest.workspace import init_folder

    result = init_folder(Path.cwd(), force=force)
    console.print_init(result)


@cli.command()
@click.option(
    "--outbox",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("outbox"),
    show_default=True,
    help="Where the sent messages (.eml) and the preview are saved.",
)
@_json_option
def demo(outbox: Path, as_json: bool) -> None:
    """Offline end-to-end run on the bundled feeds, with an embedded SMTP server."""
    from digest.demo import run_demo

    result = run_demo(outbox, progress=None if as_json else console.demo_progress)
    if as_json:
        _print_json(console.demo_dict(result))
    else:
        console.print_demo(result)


# --- feeds ---------------------------------------------------------------------------------


@cli.group()
def feeds() -> None:
    """Manage the feed list."""


@feeds.command("add")
@click.argument("urls", nargs=-1, required=True)
def feeds_add(urls: tuple[str, ...]) -> None:
    """Add one or more feeds by URL."""
    app = _session().app()
    for url in urls:
        verb = services.add_feed(app, url)
        click.echo(f"{verb} {url}")


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
    if as_json:
        _print_json(console.check_dict(check))
    else:
        console.print_check(check)
    if not check.usable:
        raise click.exceptions.Exit(1)


@feeds.command("list")
@_json_option
def feeds_list(as_json: bool) -> None:
    """List feeds with the outcome of their last fetch."""
    listed = _session().app().store.list_feeds()
    if as_json:
        _print_json([console.feed_dict(feed) for feed in listed])
    else:
        console.print_feeds(listed)


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
    added, present = services.import_opml(_session().app(), file.read_bytes())
    click.echo(f"added {len(added)} feeds, {len(present)} already present or skipped")


@feeds.command("export")
def feeds_export() -> None:
    """Print the feed list as OPML."""
    app = _session().app()
    click.echo(write_opml(app.store.list_feeds(), title=app.settings.digest.name), nl=False)


# --- the pipeline --------------------------------------------------------------------------


@cli.command()
@_json_option
def fetch(as_json: bool) -> None:
    """Fetch every feed now and store new items."""
    app = _session().app()
    reports = services.fetch(app, on_feed=None if as_json else console.fetch_progress)
    if as_json:
        _print_json(console.fetch_dict(reports))
    else:
        console.print_fetch_summary(reports)
    if (
        reports
        and all(report.status in ("error", "skipped") for report in reports)
        and any(report.status == "error" for report in reports)
    ):
        click.echo("digest: error: every feed failed", err=True)
        raise click.exceptions.Exit(1)


@cli.command()
@_date_option
@_json_option
def build(date_: date | None, as_json: bool) -> None:
    """Build (or rebuild) the edition for a date and print it."""
    app = _session().app()
    edition = services.build(app, services.edition_date_or_today(app, date_))
    if as_json:
        _print_json(edition_to_dict(edition))
    else:
        console.print_edition(edition)


@cli.command()
@_date_option
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("preview"),
    show_default=True,
    help="Folder for the HTML and text files.",
)
def preview(date_: date | None, out: Path) -> None:
    """Render the edition to HTML and text files for an editor."""
    app = _session().app()
    edition = services.get_or_build(app, services.edition_date_or_today(app, date_))
    files = services.preview(app, edition, out)
    click.echo(f"HTML: {files.html}\ntext: {files.text}")


@cli.command()
@_date_option
@_json_option
def send(date_: date | None, as_json: bool) -> None:
    """Send the edition to every active subscriber; safe to re-run, it resumes."""
    app = _session().app()
    report = services.send(app, services.edition_date_or_today(app, date_))
    if as_json:
        _print_json(console.send_dict(report))
    else:
        console.print_send(report)


@cli.command()
@_date_option
@_json_option
def deliveries(date_: date | None, as_json: bool) -> None:
    """Show the deliveries ledger's counts by status for an edition."""
    app = _session().app()
    day = services.edition_date_or_today(app, date_)
    counts = services.deliveries(app, day)
    if as_json:
        _print_json({"date": day.isoformat(), "counts": counts})
    else:
        console.print_counts(day, counts)


@cli.command()
@_date_option
@_json_option
def run(date_: date | None, as_json: bool) -> None:
    """The daily job: fetch, build and send."""
    report = services.run(_session().app(), date_)
    if as_json:
        _print_json(console.run_dict(report))
    else:
        console.print_run(report)


@cli.command()
def serve() -> None:
    """Run the daily job every day at send_time (APScheduler)."""
    from digest.schedule import serve as serve_forever

    session = _session()
    serve_forever(session.settings(), echo=lambda line: click.echo(line, err=True))


@cli.command()
@click.option("--host", help="Address to listen on (default: [web] host).")
@click.option("--port", type=int, help="Port (default: [web] port).")
def web(host: str | None, port: int | None) -> None:
    """Serve the unsubscribe and preferences pages (Flask)."""
    from digest.web.app import create_web_app

    app = _session().app()
    flask_app = create_web_app(app)
    where = (host or app.settings.web.host, port or app.settings.web.port)
    try:
        flask_app.run(host=where[0], port=where[1])
    except OSError as exc:
        raise UsageError(f"cannot listen on {where[0]}:{where[1]}: {exc.strerror or exc}") from exc


# --- subscribers ---------------------------------------------------------------------------


@cli.group()
def subscribers() -> None:
    """Manage subscribers."""


@subscribers.command("add")
@click.argument("email")
@click.option("--name", help="Display name.")
def subscribers_add(email: str, name: str | None) -> None:
    """Add an active subscriber."""
    app = _session().app()
    subscriber = app.subscribers.add(email, name=name, now=app.clock())
    click.echo(f"added {subscriber.email}")


@subscribers.command("remove")
@click.argument("email")
def subscribers_remove(email: str) -> None:
    """Remove a subscriber."""
    subscriber = _session().app().subscribers.remove(email)
    click.echo(f"removed {subscriber.email}")


@subscribers.command("list")
@click.option("--status", type=click.Choice(["pending", "active", "unsubscribed", "bounced"]))
@_json_option
def subscribers_list(status: str | None, as_json: bool) -> None:
    """List subscribers."""
    listed = _session().app().subscribers.list(status)
    if as_json:
        _print_json([console.subscriber_dict(s) for s in listed])
    else:
        console.print_subscribers(listed)


@subscribers.command("show")
@click.argument("email")
@_json_option
def subscribers_show(email: str, as_json: bool) -> None:
    """Show one subscriber."""
    subscriber = _session().app().subscribers.find(email)
    if subscriber is None:
        raise UsageError(f"no subscriber {email}")
    if as_json:
        _print_json(console.subscriber_dict(subscriber))
    else:
        console.print_subscribers([subscriber])


def main() -> None:
    cli(prog_name="digest")


if __name__ == "__main__":  # pragma: no cover
    main()
