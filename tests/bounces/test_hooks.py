"""ESP webhooks against Flask's test client, with real signatures made here: an SNS signing
certificate (made with cryptography, served on loopback HTTP), Mailgun's HMAC, SendGrid's
ECDSA key, Postmark's basic auth and URL secret."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from flask.testing import FlaskClient

from digest.app import make_app
from digest.bounces.hooks import sns_host_allowed
from digest.config import load_settings
from digest.web.app import create_web_app
from tests.bounces.helpers import BOUNCE_CONFIG, Sent, report_rows, send_edition
from tests.bounces.helpers import subscriber_state as state
from tests.conftest import Workspace
from tests.servers import FeedHTTPServer

NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
TOPIC = "arn:aws:sns:eu-west-1:123456789012:digest-ses"
MAILGUN_KEY = "key-mailgun-signing-test"


@dataclass
class Hooks:
    client: FlaskClient
    workspace: Workspace
    sent: dict[str, Sent]
    feeds: FeedHTTPServer
    sns_key: rsa.RSAPrivateKey
    cert_url: str
    sendgrid_key: ec.EllipticCurvePrivateKey


def _certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.eu-west-1.amazonaws.com")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def hooks(
    workspace: Workspace, fixture_feeds, smtp_server, feed_http: FeedHTTPServer
) -> Iterator[Hooks]:
    sent = send_edition(workspace, fixture_feeds, smtp_server)
    sns_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_url = feed_http.url("/SimpleNotificationService-test.pem")
    feed_http.routes["/SimpleNotificationService-test.pem"] = _route(_certificate(sns_key))
    feed_http.routes["/confirm-subscription"] = _route(b"<ConfirmSubscriptionResponse/>")
    sendgrid_key = ec.generate_private_key(ec.SECP256R1())
    public = sendgrid_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    workspace.write_config(
        BOUNCE_CONFIG
        + f'ses_topic_arns = ["{TOPIC}"]\npostmark_user = "postmark"\n'
        + 'postmark_secret = "pm-secret-123"\n'
        + f'mailgun_signing_key = "{MAILGUN_KEY}"\n'
        + f'sendgrid_public_key = "{base64.b64encode(public).decode()}"\n'
    )
    app = make_app(load_settings(workspace.config), clock=lambda: NOW)
    loopback = feed_http.url("/")
    web = create_web_app(app, sns_url_allowed=lambda url: url.startswith(loopback))
    try:
        yield Hooks(web.test_client(), workspace, sent, feed_http, sns_key, cert_url, sendgrid_key)
    finally:
        app.close()


def _route(body: bytes) -> Any:
    from tests.servers import Route

    return Route(body=body, content_type="text/plain")


# --- SES through SNS -------------------------------------------------------------------------


def _sns(hooks: Hooks, kind: str, version: str = "1", **fields: Any) -> dict[str, Any]:
    message = {
        "Type": kind,
        "MessageId": fields.pop("MessageId", "6a1b2c3d-0000-4000-8000-00000000000a"),
        "TopicArn": TOPIC,
        "Timestamp": "2025-06-02T11:59:58.000Z",
        "SignatureVersion": version,
        "SigningCertURL": hooks.cert_url,
        **fields,
    }
    names = (
        ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
        if kind == "Notification"
        else ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
    )
    text = "".join(f"{n}\n{message[n]}\n" for n in names if n in message)
    algorithm = hashes.SHA1() if version == "1" else hashes.SHA256()
    signature = hooks.sns_key.sign(text.encode(), padding.PKCS1v15(), algorithm)
    message["Signature"] = base64.b64encode(signature).decode()
    return message


def _ses_bounce(sent: Sent, kind: str = "Permanent") -> str:
    return json.dumps(
        {
            "notificationType": "Bounce",
            "bounce": {
                "feedbackId": f"0102018f-bounce-{sent.delivery_id}",
                "bounceType": kind,
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": sent.email,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
            },
            "mail": {
                "messageId": "0102018f-ses-own-id",
                "commonHeaders": {"messageId": sent.message_id},
            },
        }
    )


def _post_sns(hooks: Hooks, message: dict[str, Any]) -> Any:
    return hooks.client.post(
        "/hooks/ses",
        data=json.dumps(message),
        headers={"Content-Type": "text/plain; charset=UTF-8", "x-amz-sns-message-type": "x"},
    )


def test_ses_bounce_signed_by_sns_counts_once(hooks: Hooks):
    ada = hooks.sent["ada@example.com"]
    message = _sns(hooks, "Notification", Message=_ses_bounce(ada))
    assert _post_sns(hooks, message).status_code == 200
    assert state(hooks.workspace, "ada@example.com") == ("active", 1)
    assert _post_sns(hooks, message).status_code == 200  # SNS retries: no second count
    assert state(hooks.workspace, "ada@example.com") == ("active", 1)
    assert report_rows(hooks.workspace) == [("ada@example.com", "hard", "ses")]
    # the certificate was fetched once, from the allowed loopback server
    assert len(hooks.feeds.requests_for("/SimpleNotificationService-test.pem")) == 1


def test_ses_complaint_with_signature_version_2_unsubscribes_and_suppresses(hooks: Hooks):
    zoe = hooks.sent["zoe@example.org"]
    complaint = {
        "notificationType": "Complaint",
        "complaint": {
            "feedbackId": "0102018f-complaint-1",
            "complaintFeedbackType": "abuse",
            "complainedRecipients": [{"emailAddress": zoe.email}],
        },
        "mail": {"commonHeaders": {"messageId": zoe.message_id}},
    }
    response = _post_sns(hooks, _sns(hooks, "Notification", "2", Message=json.dumps(complaint)))
    assert response.status_code == 200
    shown = hooks.workspace.json("subscribers", "show", zoe.email)
    assert (shown["status"], shown["suppressed"]) == ("unsubscribed", True)


def test_forged_or_foreign_sns_messages_are_refused_and_change_nothing(hooks: Hooks):
    ada = hooks.sent["ada@example.com"]
    good = _sns(hooks, "Notification", Message=_ses_bounce(ada))
    tampered = {**good, "Message": _ses_bounce(hooks.sent["bob@example.net"])}
    unsigned = {k: v for k, v in good.items() if k != "Signature"}
    other_topic = {**good, "TopicArn": "arn:aws:sns:eu-west-1:999999999999:someone-else"}
    elsewhere = _sns(
        hooks, "Notification", Message=_ses_bounce(ada), SigningCertURL="https://evil.example/c"
    )
    for message, status in (
        (tampered, 403),
        (unsigned, 403),
        (other_topic, 403),
        (elsewhere, 403),
        ({**good, "SignatureVersion": "0"}, 403),
    ):
        assert _post_sns(hooks, message).status_code == status
    assert hooks.client.post("/hooks/ses", data="not json").status_code == 400
    assert report_rows(hooks.workspace) == []
    assert state(hooks.workspace, "bob@example.net") == ("active", 0)


def test_sns_subscription_confirmation_is_verified_then_confirmed(hooks: Hooks):
    url = hooks.feeds.url("/confirm-subscription")
    message = _sns(
        hooks,
        "SubscriptionConfirmation",
        Message="You have chosen to subscribe to the topic.",
        SubscribeURL=url,
        Token="2336412f37fb687f5d51e6e2425ba1f2",
    )
    forged = {**message, "SubscribeURL": hooks.feeds.url("/confirm-subscription?x=1")}
    assert _post_sns(hooks, forged).status_code == 403
    assert hooks.feeds.requests_for("/confirm-subscription?x=1") == []
    assert _post_sns(hooks, message).status_code == 200
    assert len(hooks.feeds.requests_for("/confirm-subscription")) == 1


def test_the_default_allowlist_is_amazon_sns_over_https():
    assert sns_host_allowed("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-x.pem")
    assert sns_host_allowed("https://sns.cn-north-1.amazonaws.com.cn/x.pem")
    assert not sns_host_allowed("http://sns.eu-west-1.amazonaws.com/x.pem")
    assert not sns_host_allowed("https://sns.eu-west-1.amazonaws.com.evil.example/x.pem")
    assert not sns_host_allowed("https://evil.example/sns.eu-west-1.amazonaws.com")


# --- Postmark --------------------------------------------------------------------------------


def _postmark_bounce(email: str, kind: str = "HardBounce", id_: int = 4323372036) -> str:
    return json.dumps(
        {
            "RecordType": "Bounce",
            "ID": id_,
            "Type": kind,
            "TypeCode": 1,
            "Email": email,
            "Description": "The server was unable to deliver your message (ex: unknown user).",
            "BouncedAt": "2025-06-02T06:01:00Z",
        }
    )


def test_postmark_with_basic_auth_or_url_secret(hooks: Hooks):
    body = _postmark_bounce("ada@example.com")
    auth = "Basic " + base64.b64encode(b"postmark:pm-secret-123").decode()
    wrong = "Basic " + base64.b64encode(b"postmark:guess").decode()
    assert hooks.client.post("/hooks/postmark", data=body).status_code == 401
    assert (
        hooks.client.post(
            "/hooks/postmark", data=body, headers={"Authorization": wrong}
        ).status_code
        == 403
    )
    assert hooks.client.post("/hooks/postmark/guess", data=body).status_code == 403
    assert state(hooks.workspace, "ada@example.com") == ("active", 0)
    ok = hooks.client.post("/hooks/postmark", data=body, headers={"Authorization": auth})
    assert ok.status_code == 200
    assert state(hooks.workspace, "ada@example.com") == ("active", 1)
    soft = _postmark_bounce("bob@example.net", "SoftBounce", 4323372037)
    assert hooks.client.post("/hooks/postmark/pm-secret-123", data=soft).status_code == 200
    complaint = json.dumps(
        {
            "RecordType": "SpamComplaint",
            "ID": 42,
            "Type": "SpamComplaint",
            "Email": "zoe@example.org",
        }
    )
    assert hooks.client.post("/hooks/postmark/pm-secret-123", data=complaint).status_code == 200
    assert state(hooks.workspace, "bob@example.net") == ("active", 0)
    assert state(hooks.workspace, "zoe@example.org")[0] == "unsubscribed"
    assert sorted(report_rows(hooks.workspace)) == [
        ("ada@example.com", "hard", "postmark"),
        ("bob@example.net", "soft", "postmark"),
        ("zoe@example.org", "complaint", "postmark"),
    ]


# --- Mailgun ---------------------------------------------------------------------------------


def _mailgun(event: dict[str, Any], when: datetime = NOW, key: str = MAILGUN_KEY) -> str:
    timestamp = str(int(when.timestamp()))
    token = "c8f4d5e2a1b04f9e8d7c6b5a49382716a5b4c3d2e1f0a9b8c7"
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps(
        {
            "signature": {"timestamp": timestamp, "token": token, "signature": signature},
            "event-data": event,
        }
    )


def test_mailgun_hmac_signed_events_and_forgeries(hooks: Hooks):
    bob = hooks.sent["bob@example.net"]
    failed = {
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "event": "failed",
        "severity": "permanent",
        "recipient": bob.email,
        "delivery-status": {"code": 550, "description": "No such mailbox"},
        "message": {"headers": {"message-id": bob.message_id.strip("<>")}},
    }
    post = hooks.client.post
    assert post("/hooks/mailgun", data=_mailgun(failed, key="wrong-key")).status_code == 403
    stale = NOW - timedelta(hours=1)
    assert post("/hooks/mailgun", data=_mailgun(failed, when=stale)).status_code == 403
    assert post("/hooks/mailgun", data=json.dumps({"event-data": failed})).status_code == 403
    assert report_rows(hooks.workspace) == []
    assert post("/hooks/mailgun", data=_mailgun(failed)).status_code == 200
    assert state(hooks.workspace, bob.email) == ("active", 1)
    complained = {"id": "Ase7i2zsRYeDXztHGENqRA", "event": "complained", "recipient": bob.email}
    assert post("/hooks/mailgun", data=_mailgun(complained)).status_code == 200
    assert state(hooks.workspace, bob.email)[0] == "unsubscribed"


# --- SendGrid --------------------------------------------------------------------------------


def _sendgrid_headers(hooks: Hooks, body: bytes, when: datetime = NOW) -> dict[str, str]:
    timestamp = str(int(when.timestamp()))
    signature = hooks.sendgrid_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        "Content-Type": "application/json",
    }


def test_sendgrid_signed_event_webhook(hooks: Hooks):
    ada, zoe = hooks.sent["ada@example.com"], hooks.sent["zoe@example.org"]
    events = [
        {
            "email": ada.email,
            "event": "bounce",
            "type": "bounce",
            "status": "5.1.1",
            "reason": "550 5.1.1 unknown user",
            "sg_event_id": "ZGVsaXZlcmVk-1",
            "smtp-id": ada.message_id,
        },
        {"email": zoe.email, "event": "spamreport", "sg_event_id": "c3BhbXJlcG9ydA-2"},
        {"email": zoe.email, "event": "open", "sg_event_id": "b3Blbg-3"},
    ]
    body = json.dumps(events).encode()
    headers = _sendgrid_headers(hooks, body)
    forged = json.dumps(events[:1]).encode()
    post = hooks.client.post
    assert post("/hooks/sendgrid", data=forged, headers=headers).status_code == 403
    assert post("/hooks/sendgrid", data=body).status_code == 403
    old = _sendgrid_headers(hooks, body, NOW - timedelta(hours=2))
    assert post("/hooks/sendgrid", data=body, headers=old).status_code == 403
    assert report_rows(hooks.workspace) == []
    assert post("/hooks/sendgrid", data=body, headers=headers).status_code == 200
    assert state(hooks.workspace, ada.email) == ("active", 1)
    assert state(hooks.workspace, zoe.email)[0] == "unsubscribed"
    reports = hooks.workspace.json("deliveries", "--date", "2025-06-02")["reports"]
    assert reports == {"hard": 1, "soft": 0, "complaint": 1}


def test_a_hook_whose_key_is_not_set_is_not_there(workspace: Workspace):
    app = make_app(load_settings(workspace.config), clock=lambda: NOW)
    try:
        client = create_web_app(app).test_client()
        for path in ("/hooks/ses", "/hooks/postmark", "/hooks/mailgun", "/hooks/sendgrid"):
            assert client.post(path, data="{}").status_code == 404, path
    finally:
        app.close()


def test_config_check_names_bounce_settings_that_would_fail(workspace: Workspace):
    workspace.write_config(
        '\n[bounces]\nimap_host = "imap.news.example"\nimap_user = "bounces"\n'
        'imap_ca_file = "missing-ca.pem"\nsendgrid_public_key = "bm90IGEga2V5"\n'
    )
    result = workspace.invoke("config", "check", code=1)
    assert "imap_ca_file" in result.stdout + result.stderr
    assert "DIGEST_IMAP_PASSWORD" in result.stdout + result.stderr
    assert "sendgrid_public_key cannot be read" in result.stdout + result.stderr
