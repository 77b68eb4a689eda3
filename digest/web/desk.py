"""The editor's desk (`digest preview --serve`): a small local Flask app.

Shows an edition as the email renders, beside its plain-text part, "as" a chosen subscriber, and
records the editor's actions on the edition. It is meant for localhost: requests naming another
host are refused (a web page cannot reach it by DNS rebinding), and every POST must carry the
token of this process, which only the desk's own pages know (no cross-site request forgery).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterable
from datetime import date
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from digest import services
from digest.app import App
from digest.desk import actions
from digest.desk.changes import story_key
from digest.editions.service import Editions
from digest.errors import DigestError
from digest.render.templates import web_loader
from digest.sendtimes import known_zone
from digest.types import Edition
from subscribers.types import Subscriber, SubscriberStatus

__all__ = ["create_desk_app", "LOCAL_HOSTS"]

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
# The email is our own rendering (feed text escaped); still, nothing in it may run.
_EMAIL_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:"


def create_desk_app(
    app: App, *, csrf_token: str | None = None, allowed_hosts: Iterable[str] | None = LOCAL_HOSTS
) -> Flask:
    """The desk over ``app``. ``allowed_hosts``: host names accepted in requests (None: any)."""
    desk = Flask(__name__)
    desk.jinja_loader = web_loader(app.settings.digest.templates_path)
    desk.jinja_env.autoescape = True
    desk.secret_key = secrets.token_bytes(32)  # flash messages only; new for every process
    token = csrf_token or secrets.token_urlsafe(32)
    hosts = None if allowed_hosts is None else {host.lower() for host in allowed_hosts}
    digest_name = app.settings.digest.name
    editions = Editions(app)

    @desk.before_request
    def guard() -> None:
        if hosts is not None:
            try:
                name = urlsplit(f"//{request.host}").hostname or ""
            except ValueError:
                name = ""
            if name.lower() not in hosts:
                abort(421)
        if request.method == "POST":
            sent = request.form.get("csrf_token", "")
            if not hmac.compare_digest(sent.encode(), token.encode()):
                abort(403)

    @desk.after_request
    def no_framing_elsewhere(response: Response) -> Response:
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    def parse_day(day: str) -> date:
        try:
            return date.fromisoformat(day)
        except ValueError:
            abort(404)

    def chosen_subscriber() -> Subscriber | None:
        value = request.values.get("as", "").strip()
        if not value.isdigit():
            return None
        return app.subscribers.get(int(value))

    def chosen_zone() -> str:
        zone = request.values.get("zone", "").strip()
        return zone if zone and known_zone(zone) else ""

    def back(day: date) -> BaseResponse:
        query = {}
        subscriber = request.form.get("as", "")
        if subscriber.isdigit():
            query["as"] = subscriber
        if chosen_zone():
            query["zone"] = chosen_zone()
        target = url_for("edition", day=day.isoformat())
        return redirect(f"{target}?{urlencode(query)}" if query else target, code=303)

    def attempt(day: date, done: str, call: Callable[[], object]) -> BaseResponse:
        try:
            call()
        except DigestError as exc:
            flash(str(exc), "error")
        else:
            flash(done, "ok")
        return back(day)

    @desk.get("/")
    def index() -> BaseResponse:
        day = services.edition_date_or_today(app, None)
        return redirect(url_for("edition", day=day.isoformat()))

    @desk.get("/edition")
    def pick() -> BaseResponse:
        day = parse_day(request.args.get("date", ""))
        return redirect(url_for("edition", day=day.isoformat()))

    @desk.get("/edition/<day>")
    def edition(day: str) -> tuple[str, int]:
        edition_date = parse_day(day)
        try:
            state = actions.load(app, edition_date, chosen_zone())
        except DigestError as exc:
            return render_template(
                "message.html.j2", digest_name=digest_name, heading="Desk", message=str(exc)
            ), 400
        subscriber = chosen_subscriber()
        email = actions.render_for(app, state.edition, subscriber)
        return render_template(
            "desk.html.j2",
            digest_name=digest_name,
            state=state,
            edition=state.edition,
            day=edition_date.isoformat(),
            email=email,
            subscriber=subscriber,
            subscribers=_subscribers(app),
            stories=_story_rows(state.edition),
            excluded=[
                (story_key(story), story)
                for story in state.built.stories
                if story_key(story) in state.excluded
            ],
            sections=state.built.sections,
            locked=all(z.locked for z in state.zones) if state.zones else state.edition.locked,
            zone=chosen_zone(),
            csrf_token=token,
            test_address=request.args.get("to", ""),
        ), 200

    @desk.get("/edition/<day>/email.html")
    def email_html(day: str) -> Response:
        edition_date = parse_day(day)
        try:
            state = actions.load(app, edition_date, chosen_zone())
        except DigestError as exc:
            return Response(str(exc), status=400, mimetype="text/plain")
        email = actions.render_for(app, state.edition, chosen_subscriber())
        response = Response(email.html or "", mimetype="text/html")
        response.headers["Content-Security-Policy"] = _EMAIL_CSP
        return response

    @desk.post("/edition/<day>/story")
    def story_action(day: str) -> BaseResponse:
        edition_date = parse_day(day)
        form = request.form
        action = form.get("action", "")
        value = form.get(action if action in ("title", "summary") else "section", "")
        return attempt(
            edition_date,
            "Saved: it stays through every rebuild.",
            lambda: actions.record(app, edition_date, action, form.get("key", ""), value),
        )

    @desk.post("/edition/<day>/note")
    def note(day: str) -> BaseResponse:
        edition_date = parse_day(day)
        text = request.form.get("note", "")
        return attempt(
            edition_date,
            "Intro note saved.",
            lambda: actions.record(app, edition_date, "note", "", text),
        )

    @desk.post("/edition/<day>/approve")
    def approve(day: str) -> BaseResponse:
        edition_date = parse_day(day)
        return attempt(edition_date, "Approved.", lambda: actions.approve(app, edition_date))

    @desk.post("/edition/<day>/hold")
    def hold(day: str) -> BaseResponse:
        edition_date = parse_day(day)
        reason = request.form.get("reason", "")
        return attempt(edition_date, "Held.", lambda: actions.hold(app, edition_date, reason))

    @desk.post("/edition/<day>/rebuild")
    def rebuild(day: str) -> BaseResponse:
        edition_date = parse_day(day)
        return attempt(
            edition_date,
            "Rebuilt from the latest items; your changes were applied again.",
            lambda: editions.build(editions.key(edition_date, chosen_zone())),
        )

    @desk.post("/edition/<day>/test")
    def send_test(day: str) -> BaseResponse:
        edition_date = parse_day(day)
        address = request.form.get("address", "")
        subscriber = chosen_subscriber()
        return attempt(
            edition_date,
            f"Test sent to {address.strip()}.",
            lambda: actions.send_test(app, edition_date, address, subscriber, chosen_zone()),
        )

    return desk


def _subscribers(app: App, limit: int = 500) -> list[Subscriber]:
    return app.subscribers.list(SubscriberStatus.ACTIVE)[:limit]


def _story_rows(edition: Edition) -> list[tuple[str, str, object]]:
    """(section title, story key, story) in the order the email shows them."""
    return [
        (section.title, story_key(story), story)
        for section in edition.sections
        for story in section.stories
    ]
