"""`digest web`: the pages a subscriber reaches from an email (Flask).

One-click unsubscribe follows RFC 8058: a POST with ``List-Unsubscribe=One-Click`` unsubscribes at
once; a GET only shows a page with a button, because mail scanners follow links.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, Response, render_template, request

from digest.app import App, make_app
from digest.bounces.hooks import hooks_blueprint
from digest.config import find_config, load_settings
from digest.errors import TokenError
from digest.render.templates import web_loader
from digest.web.archive import archive_blueprint
from subscribers.tokens import UNSUBSCRIBE, address_tag
from subscribers.types import Subscriber, SubscriberStatus
from subscribers.web import add_subscription_routes


def create_web_app(app: App, *, sns_url_allowed: Callable[[str], bool] | None = None) -> Flask:
    """``sns_url_allowed``: where SNS signing certificates may come from (default: Amazon's
    SNS hosts over https; the tests allow their loopback server)."""
    web = Flask(__name__)
    if app.settings.web.trusted_proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # the client's address (for the sign-up limits) from the proxies' X-Forwarded-For
        proxies = app.settings.web.trusted_proxies
        web.wsgi_app = ProxyFix(web.wsgi_app, x_for=proxies)  # type: ignore[method-assign]
    web.jinja_loader = web_loader(app.settings.digest.templates_path)
    web.jinja_env.autoescape = True  # our templates end in .j2, which Flask would not escape
    signer = app.signer()
    digest_name = app.settings.digest.name

    def subscriber_for(purpose: str, token: str) -> Subscriber:
        subscriber_id, tag = signer.read_link(purpose, token)
        subscriber = app.subscribers.get(subscriber_id)
        # a tagged token names the address too: an id reused by someone else does not match
        if subscriber is None or (tag is not None and tag != address_tag(subscriber.email)):
            raise TokenError("this link belongs to an address that is no longer on the list")
        return subscriber

    def page(template: str, status: int = 200, **context: object) -> tuple[str, int]:
        return render_template(template, digest_name=digest_name, **context), status

    @web.errorhandler(TokenError)
    def bad_token(error: TokenError) -> tuple[str, int]:
        return page("message.html.j2", 400, heading="Link not valid", message=str(error))

    @web.get("/u/<token>")
    def unsubscribe_page(token: str) -> tuple[str, int]:
        subscriber = subscriber_for(UNSUBSCRIBE, token)
        return page(
            "unsubscribe.html.j2",
            subscriber=subscriber,
            done=subscriber.status == SubscriberStatus.UNSUBSCRIBED,
        )

    @web.post("/u/<token>")
    def unsubscribe(token: str) -> Response | tuple[str, int]:
        subscriber = subscriber_for(UNSUBSCRIBE, token)
        if subscriber.status != SubscriberStatus.UNSUBSCRIBED:
            app.subscribers.set_status(
                subscriber.id, SubscriberStatus.UNSUBSCRIBED, now=app.clock()
            )
        if request.form.get("List-Unsubscribe") == "One-Click":
            return Response("unsubscribed\n", status=200, mimetype="text/plain")
        return page("unsubscribe.html.j2", subscriber=subscriber, done=True)

    # /preferences, /subscribe and /confirm live with the subscribers package.
    add_subscription_routes(web, app, signer=signer, page=page)

    @web.get("/healthz")
    def health() -> Response:
        return Response("ok\n", mimetype="text/plain")

    web.register_blueprint(archive_blueprint(app))
    # /hooks/ses, /hooks/postmark, /hooks/mailgun, /hooks/sendgrid: ESP bounce webhooks.
    web.register_blueprint(
        hooks_blueprint(app)
        if sns_url_allowed is None
        else hooks_blueprint(app, sns_url_allowed=sns_url_allowed)
    )
    return web


def from_config(path: str | None = None) -> Flask:
    """WSGI factory for a production server, e.g. ``gunicorn 'digest.web.app:from_config()'``."""
    settings = load_settings(find_config(path))
    return create_web_app(make_app(settings))
