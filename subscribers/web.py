"""The subscriber's own pages: preferences, the public subscribe form, and confirmation.

Every change is a POST: mail scanners and link previewers follow GET links, so a GET never
changes anything. The token in the URL is the credential (signed, one purpose per page).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from zoneinfo import available_timezones

from flask import Flask, request

from digest.errors import SubscriberError, TokenError
from subscribers.optin import confirm_max_age
from subscribers.signup_limits import signup_limits
from subscribers.signups import SignupQueue
from subscribers.tokens import CONFIRM, PREFERENCES, UNSUBSCRIBE, TokenSigner, address_tag
from subscribers.types import FORMATS, Subscriber, SubscriberStatus
from subscribers.validation import clean_name, normalize_email, normalize_timezone

if TYPE_CHECKING:
    from digest.app import App

Page = Callable[..., tuple[str, int]]
#: A form field hidden from people (see subscribe.html.j2): whoever fills it is a robot.
HONEYPOT = "website"
TOO_MANY = "Too many sign-up requests from here or for this address. Please try again later."
NO_SUCH_LIST = "There is no list of that name here, so nothing was done."
NOT_FROM_HERE = (
    "This address cannot be subscribed again from this page. "
    "If you want the digest back, write to us."
)


def add_subscription_routes(web: Flask, app: App, *, signer: TokenSigner, page: Page) -> None:
    zones = sorted(available_timezones())
    signups = SignupQueue(app.database)

    def subscriber_for(purpose: str, token: str) -> Subscriber:
        max_age = confirm_max_age(app) if purpose == CONFIRM else None
        subscriber_id, tag = signer.read_link(purpose, token, max_age=max_age)
        subscriber = app.subscribers.get(subscriber_id)
        if subscriber is None or (tag is not None and tag != address_tag(subscriber.email)):
            raise TokenError("this link belongs to an address that is no longer on the list")
        return subscriber

    def preferences_page(
        subscriber: Subscriber, token: str, status: int = 200, **extra: Any
    ) -> tuple[str, int]:
        return page(
            "preferences.html.j2",
            status,
            subscriber=subscriber,
            token=token,
            unsubscribe_token=signer.make(UNSUBSCRIBE, subscriber.id, email=subscriber.email),
            sections=app.topic.sections,
            formats=FORMATS,
            zones=zones,
            **extra,
        )

    @web.get("/preferences/<token>")
    def preferences(token: str) -> tuple[str, int]:
        return preferences_page(subscriber_for(PREFERENCES, token), token)

    @web.post("/preferences/<token>")
    def save_preferences(token: str) -> tuple[str, int]:
        subscriber = subscriber_for(PREFERENCES, token)
        now = app.clock()
        if request.form.get("action") == "resubscribe":
            if subscriber.suppressed:
                # never active while suppressed: the status must agree with the list
                return preferences_page(subscriber, token, saved=NOT_FROM_HERE)
            if subscriber.status == SubscriberStatus.UNSUBSCRIBED:
                subscriber = app.subscribers.confirm(
                    subscriber.id, now=now, source="preferences page"
                )
            return preferences_page(subscriber, token, saved="Welcome back: you are subscribed.")
        known = {section.key for section in app.topic.sections}
        chosen = [key for key in request.form.getlist("sections") if key in known]
        format_ = request.form.get("format", subscriber.format)
        try:
            zone = normalize_timezone(request.form.get("timezone", ""))
            if format_ not in FORMATS:
                raise SubscriberError(f"unknown format {format_!r}")
        except SubscriberError as exc:
            return preferences_page(subscriber, token, 400, error=str(exc))
        subscriber = app.subscribers.update_preferences(
            subscriber.id,
            now=now,
            # every box ticked means "everything", including sections added later
            sections=[] if set(chosen) == known else chosen,
            format=format_,
            timezone=zone,
            paused=request.form.get("paused") == "on",
        )
        return preferences_page(subscriber, token, saved="Your preferences are saved.")

    def known_list(name: str) -> bool:
        return name in {lst.name for lst in app.subscribers.lists()}

    def no_such_list() -> tuple[str, int]:
        return page("message.html.j2", 404, heading="No such list", message=NO_SUCH_LIST)

    @web.get("/subscribe")
    def subscribe_form() -> tuple[str, int]:
        list_name = request.args.get("list", "")
        if list_name and not known_list(list_name):
            return no_such_list()
        return page("subscribe.html.j2", list_name=list_name)

    @web.errorhandler(429)
    def too_many(_error: Exception) -> tuple[str, int]:
        return page("message.html.j2", 429, heading="Too many requests", message=TOO_MANY)

    def check_your_inbox() -> tuple[str, int]:
        return page(
            "message.html.j2",
            heading="Check your inbox",
            message=(
                "If this address can receive the digest, a confirmation email is on its way. "
                "Open the link in it to start receiving it."
            ),
        )

    @web.post("/subscribe")
    @signup_limits(web, app)
    def subscribe() -> tuple[str, int]:
        if request.form.get(HONEYPOT):
            # only a robot fills the field people never see: the usual answer, nothing done
            return check_your_inbox()
        email = request.form.get("email", "")
        name = request.form.get("name") or None
        # the list named in the form, else in the address (a form posted to /subscribe?list=X)
        list_name = request.form.get("list") or request.args.get("list", "")
        if list_name and not known_list(list_name):
            return no_such_list()
        try:
            address = normalize_email(email)
        except SubscriberError as exc:
            return page("subscribe.html.j2", 400, error=str(exc), email=email, list_name=list_name)
        # Only queued, to be applied and mailed later: the same work and the same answer
        # whoever the address belongs to and whatever the relay's state, so the form tells
        # nobody who is subscribed.
        signups.add(
            address,
            name=clean_name(name),
            list_name=list_name or None,
            source=f"web form ({request.remote_addr or 'unknown address'})",
            now=app.clock(),
        )
        return check_your_inbox()

    def confirmable(token: str) -> tuple[Subscriber, str | None] | None:
        """The pending subscriber this link was sent to, with its nonce; None when the link
        no longer applies (used, or the subscriber is no longer pending), whatever the reason,
        so the page tells nobody an address's state."""
        subscriber_id, tag, nonce = signer.read_confirmation(
            CONFIRM, token, max_age=confirm_max_age(app)
        )
        subscriber = app.subscribers.get(subscriber_id)
        if subscriber is None or (tag is not None and tag != address_tag(subscriber.email)):
            raise TokenError("this link belongs to an address that is no longer on the list")
        if not app.subscribers.can_confirm(subscriber.id, nonce):
            return None
        return subscriber, nonce

    def nothing_to_confirm() -> tuple[str, int]:
        return page(
            "message.html.j2",
            heading="Nothing to confirm",
            message=(
                "This confirmation link has been used already or no longer applies. "
                "To receive the digest, subscribe again."
            ),
        )

    @web.get("/confirm/<token>")
    def confirm_page(token: str) -> tuple[str, int]:
        found = confirmable(token)
        if found is None:
            return nothing_to_confirm()
        return page("confirm.html.j2", subscriber=found[0], done=False)

    @web.post("/confirm/<token>")
    def confirm(token: str) -> tuple[str, int]:
        found = confirmable(token)
        confirmed = (
            None
            if found is None
            else app.subscribers.confirm_pending(
                found[0].id, found[1], now=app.clock(), source="confirmed by email link"
            )
        )
        if confirmed is None:
            return nothing_to_confirm()
        return page(
            "confirm.html.j2",
            subscriber=confirmed,
            done=True,
            preferences_token=signer.make(PREFERENCES, confirmed.id, email=confirmed.email),
        )
