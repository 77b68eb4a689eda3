"""ESP webhooks on `digest web`: Amazon SES (through SNS), Postmark, Mailgun and SendGrid.

Each request is authenticated the provider's way before anything is read from it: the SNS
message signature (with the signing certificate fetched from an SNS host, and only for the
topics configured), Mailgun's HMAC, SendGrid's ECDSA signature, Postmark's basic auth or URL
secret. A forged or unsigned request gets a 4xx and changes nothing; bounces and complaints
go through the same handling as `digest bounces process`. A hook whose key is not set is 404.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, request

from digest.app import App
from digest.bounces.keys import sendgrid_key
from digest.bounces.record import record_reports
from digest.bounces.types import BounceReport, ReportKind
from digest.errors import ConfigError

__all__ = ["hooks_blueprint", "sns_host_allowed"]

#: Where SNS signing certificates (and subscription confirmations) come from.
_SNS_HOST = re.compile(r"sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?")
#: How far a signed timestamp may be from our clock (replays older than this are refused).
_MAX_SKEW = timedelta(minutes=15)
_MAX_CERTIFICATE_BYTES = 64 * 1024


def sns_host_allowed(url: str) -> bool:
    """True for an https URL on an Amazon SNS host: the only place a signing certificate or a
    subscription confirmation may come from."""
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(_SNS_HOST.fullmatch(parts.hostname or ""))


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def hooks_blueprint(
    app: App,
    *,
    sns_url_allowed: Callable[[str], bool] = sns_host_allowed,
    http_get: Callable[[str], bytes] | None = None,
) -> Blueprint:
    """The /hooks/... routes. ``sns_url_allowed`` decides which URLs SNS certificates and
    subscription confirmations may be fetched from; ``http_get`` fetches them."""
    hooks = Blueprint("hooks", __name__, url_prefix="/hooks")
    settings = app.settings.bounces
    get = http_get or _http_get
    certificates: dict[str, Any] = {}

    @hooks.errorhandler(_Refused)
    def refused(error: _Refused) -> Response:
        return Response(f"{error}\n", status=error.status, mimetype="text/plain")

    def done(reports: Iterable[BounceReport]) -> Response:
        counts = record_reports(app, list(reports))
        recorded = counts.hard + counts.soft + counts.complaints
        return Response(f"recorded {recorded}\n", mimetype="text/plain")

    def body_json() -> Any:
        try:
            return json.loads(request.get_data(cache=True))
        except (ValueError, UnicodeDecodeError):
            raise _Refused(400, "the body is not JSON") from None

    def fresh(timestamp: float) -> None:
        now = app.clock().timestamp()
        if abs(now - timestamp) > _MAX_SKEW.total_seconds():
            raise _Refused(403, "the signature's timestamp is too old or in the future")

    # --- Amazon SES through SNS ----------------------------------------------------------

    @hooks.post("/ses")
    def ses() -> Response:
        if not settings.ses_topic_arns:
            raise _Refused(404, "the SES hook is not configured")
        message = body_json()
        if not isinstance(message, dict):
            raise _Refused(400, "not an SNS message")
        if message.get("TopicArn") not in settings.ses_topic_arns:
            raise _Refused(403, "not a topic this digest subscribed to")
        _verify_sns(message, lambda url: certificate(url))
        kind = message.get("Type")
        if kind == "SubscriptionConfirmation":
            url = str(message.get("SubscribeURL", ""))
            if not sns_url_allowed(url):
                raise _Refused(403, "the subscription URL is not an SNS address")
            get(url)
            return Response("subscribed\n", mimetype="text/plain")
        if kind != "Notification":
            return Response("ignored\n", mimetype="text/plain")
        try:
            notification = json.loads(str(message.get("Message", "")))
        except ValueError:
            raise _Refused(400, "the notification is not JSON") from None
        return done(_ses_reports(notification, str(message.get("MessageId", ""))))

    def certificate(url: str) -> Any:
        if url not in certificates:
            if not sns_url_allowed(url):
                raise _Refused(403, "the signing certificate is not on an SNS host")
            from cryptography import x509

            try:
                certificates[url] = x509.load_pem_x509_certificate(get(url)).public_key()
            except ValueError:
                raise _Refused(403, "the signing certificate cannot be read") from None
        return certificates[url]

    # --- Postmark ------------------------------------------------------------------------

    def postmark_event() -> Response:
        event = body_json()
        if not isinstance(event, dict):
            raise _Refused(400, "not a Postmark event")
        return done(_postmark_reports(event))

    @hooks.post("/postmark")
    def postmark() -> Response:
        if not settings.postmark_secret:
            raise _Refused(404, "the Postmark hook is not configured")
        auth = request.authorization
        if auth is None:
            return Response(
                "authentication needed\n",
                status=401,
                headers={"WWW-Authenticate": 'Basic realm="digest hooks"'},
            )
        if not (
            hmac.compare_digest(auth.username or "", settings.postmark_user)
            and hmac.compare_digest(auth.password or "", settings.postmark_secret)
        ):
            raise _Refused(403, "wrong user or password")
        return postmark_event()

    @hooks.post("/postmark/<secret>")
    def postmark_with_secret(secret: str) -> Response:
        if not settings.postmark_secret:
            raise _Refused(404, "the Postmark hook is not configured")
        if not hmac.compare_digest(secret, settings.postmark_secret):
            raise _Refused(403, "wrong secret")
        return postmark_event()

    # --- Mailgun -------------------------------------------------------------------------

    @hooks.post("/mailgun")
    def mailgun() -> Response:
        key = settings.mailgun_signing_key
        if not key:
            raise _Refused(404, "the Mailgun hook is not configured")
        payload = body_json()
        signature = payload.get("signature") if isinstance(payload, dict) else None
        if not isinstance(signature, dict):
            raise _Refused(403, "unsigned request")
        timestamp = str(signature.get("timestamp", ""))
        token = str(signature.get("token", ""))
        expected = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, str(signature.get("signature", ""))):
            raise _Refused(403, "bad signature")
        try:
            fresh(float(timestamp))
        except ValueError:
            raise _Refused(403, "bad timestamp") from None
        event = payload.get("event-data")
        return done(_mailgun_reports(event if isinstance(event, dict) else {}))

    # --- SendGrid ------------------------------------------------------------------------

    @hooks.post("/sendgrid")
    def sendgrid() -> Response:
        if not settings.sendgrid_public_key:
            raise _Refused(404, "the SendGrid hook is not configured")
        signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
        timestamp = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
        if not signature or not timestamp:
            raise _Refused(403, "unsigned request")
        _verify_sendgrid(
            settings.sendgrid_public_key, signature, timestamp, request.get_data(cache=True)
        )
        try:
            fresh(float(timestamp))
        except ValueError:
            raise _Refused(403, "bad timestamp") from None
        events = body_json()
        if not isinstance(events, list):
            raise _Refused(400, "not a list of SendGrid events")
        return done(r for event in events if isinstance(event, dict) for r in _sendgrid(event))

    return hooks


def _http_get(url: str) -> bytes:
    import httpx

    try:
        with httpx.Client(timeout=10, follow_redirects=False) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        raise _Refused(502, f"cannot fetch {url}: {exc}") from exc
    if response.status_code != 200 or len(response.content) > _MAX_CERTIFICATE_BYTES:
        raise _Refused(502, f"cannot fetch {url}: HTTP {response.status_code}")
    return response.content


#: The fields SNS signs, in order, per message type.
_SNS_SIGNED = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SNS_SIGNED["UnsubscribeConfirmation"] = _SNS_SIGNED["SubscriptionConfirmation"]


def _verify_sns(message: dict[str, Any], public_key_of: Callable[[str], Any]) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    fields = _SNS_SIGNED.get(str(message.get("Type")))
    if fields is None:
        raise _Refused(400, "unknown SNS message type")
    version = str(message.get("SignatureVersion", ""))
    algorithm = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(version)
    if algorithm is None:
        raise _Refused(403, "unsigned or unknown signature version")
    text = "".join(
        f"{name}\n{message[name]}\n"
        for name in fields
        if name in message and not (name == "Subject" and message[name] is None)
    )
    key = public_key_of(str(message.get("SigningCertURL", "")))
    if not isinstance(key, rsa.RSAPublicKey):
        raise _Refused(403, "the signing certificate has no RSA key")
    try:
        signature = base64.b64decode(str(message.get("Signature", "")), validate=True)
        key.verify(signature, text.encode("utf-8"), padding.PKCS1v15(), algorithm)
    except (InvalidSignature, ValueError):
        raise _Refused(403, "bad signature") from None


def _verify_sendgrid(public_key: str, signature: str, timestamp: str, body: bytes) -> None:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        key = sendgrid_key(public_key)
    except ConfigError as exc:
        raise _Refused(500, str(exc)) from None
    try:
        key.verify(
            base64.b64decode(signature, validate=True),
            timestamp.encode() + body,
            ec.ECDSA(hashes.SHA256()),
        )
    except (InvalidSignature, ValueError):
        raise _Refused(403, "bad signature") from None


def _angled(message_id: object) -> str | None:
    text = str(message_id or "").strip()
    if not text:
        return None
    return text if text.startswith("<") else f"<{text}>"


def _ses_reports(notification: Any, sns_id: str) -> list[BounceReport]:
    if not isinstance(notification, dict):
        return []
    kind = notification.get("notificationType") or notification.get("eventType")
    mail = notification.get("mail") or {}
    headers = mail.get("commonHeaders") or {} if isinstance(mail, dict) else {}
    message_id = _angled(headers.get("messageId")) if isinstance(headers, dict) else None
    if kind == "Bounce":
        bounce = notification.get("bounce") or {}
        hard = bounce.get("bounceType") == "Permanent"
        key = f"ses:{bounce.get('feedbackId') or sns_id}"
        return [
            BounceReport(
                key,
                ReportKind.HARD if hard else ReportKind.SOFT,
                str(r.get("emailAddress", "")).lower(),
                "ses",
                " ".join(str(r.get(k, "")) for k in ("status", "diagnosticCode")).strip(),
                None,
                message_id,
            )
            for r in bounce.get("bouncedRecipients") or []
            if isinstance(r, dict) and r.get("emailAddress")
        ]
    if kind == "Complaint":
        complaint = notification.get("complaint") or {}
        key = f"ses:{complaint.get('feedbackId') or sns_id}"
        detail = str(complaint.get("complaintFeedbackType") or "complaint")
        return [
            BounceReport(
                key,
                ReportKind.COMPLAINT,
                str(r.get("emailAddress", "")).lower(),
                "ses",
                detail,
                None,
                message_id,
            )
            for r in complaint.get("complainedRecipients") or []
            if isinstance(r, dict) and r.get("emailAddress")
        ]
    return []


_POSTMARK_HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated"}


def _postmark_reports(event: dict[str, Any]) -> list[BounceReport]:
    email = str(event.get("Email", "")).lower()
    if not email:
        return []
    key = f"postmark:{event.get('RecordType')}:{event.get('ID')}"
    kind_name = str(event.get("Type", ""))
    if event.get("RecordType") == "SpamComplaint" or kind_name == "SpamComplaint":
        kind = ReportKind.COMPLAINT
    elif event.get("RecordType") == "Bounce":
        kind = ReportKind.HARD if kind_name in _POSTMARK_HARD else ReportKind.SOFT
    else:
        return []
    detail = f"{kind_name}: {event.get('Description', '')}".strip(": ")
    return [BounceReport(key, kind, email, "postmark", detail)]


def _mailgun_reports(event: dict[str, Any]) -> list[BounceReport]:
    email = str(event.get("recipient", "")).lower()
    name = event.get("event")
    if not email or name not in ("failed", "complained"):
        return []
    if name == "complained":
        kind = ReportKind.COMPLAINT
    else:
        kind = ReportKind.HARD if event.get("severity") == "permanent" else ReportKind.SOFT
    message = event.get("message") or {}
    headers = message.get("headers") or {} if isinstance(message, dict) else {}
    status = event.get("delivery-status") or {}
    detail = str(status.get("description") or status.get("message") or "")[:500]
    return [
        BounceReport(
            f"mailgun:{event.get('id')}",
            kind,
            email,
            "mailgun",
            detail,
            None,
            _angled(headers.get("message-id")) if isinstance(headers, dict) else None,
        )
    ]


def _sendgrid(event: dict[str, Any]) -> list[BounceReport]:
    email = str(event.get("email", "")).lower()
    name = event.get("event")
    if not email:
        return []
    if name == "spamreport":
        kind = ReportKind.COMPLAINT
    elif name == "bounce":
        kind = ReportKind.SOFT if event.get("type") == "blocked" else ReportKind.HARD
    elif name == "deferred":
        kind = ReportKind.SOFT
    else:
        return []
    detail = " ".join(str(event.get(k, "")) for k in ("status", "reason")).strip()
    return [
        BounceReport(
            f"sendgrid:{event.get('sg_event_id')}",
            kind,
            email,
            "sendgrid",
            detail[:500],
            None,
            _angled(event.get("smtp-id")),
        )
    ]
