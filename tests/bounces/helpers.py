"""A sent edition whose messages carry VERP senders, and the test's reports about them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tests.conftest import Workspace
from tests.test_send import DAY, ready

SAMPLES = Path(__file__).parent.parent / "fixtures" / "bounces"
BOUNCE_CONFIG = (
    '\n[delivery]\nbounce_address = "bounces@news.example"\nmax_hard_bounces = 2\n'
    '\n[bounces]\nunparsed_folder = "kept"\n'
)


@dataclass(frozen=True)
class Sent:
    delivery_id: int
    email: str
    message_id: str
    envelope_from: str


def send_edition(workspace: Workspace, fixture_feeds: dict[str, str], smtp) -> dict[str, Sent]:
    """Send DAY's edition with a bounce address; each recipient's delivery, as sent."""
    workspace.write_config(BOUNCE_CONFIG)
    ready(workspace, fixture_feeds)
    workspace.json("send", "--any-date", "--date", DAY)
    envelopes = {rcpts[0]: mail_from for mail_from, rcpts, _ in smtp.handler.messages}
    rows = workspace.sql("SELECT id, email, message_id FROM deliveries")
    return {email: Sent(id_, email, mid, envelopes[email]) for id_, email, mid in rows}


def sample(name: str, sent: Sent, *, rcpt: str | None = None) -> bytes:
    """A sample report about ``sent`` (the failed address ``rcpt`` if it differs)."""
    text = (SAMPLES / name).read_text(encoding="utf-8")
    text = text.replace("@RCPT@", rcpt or sent.email).replace("@VERP@", sent.envelope_from)
    return text.replace("@MSGID@", sent.message_id).replace("\n", "\r\n").encode()


def subscriber_state(workspace: Workspace, email: str) -> tuple[str, int]:
    [(status, bounces)] = workspace.sql(
        "SELECT status, hard_bounces FROM subscribers WHERE email = :email", email=email
    )
    return status, bounces


def report_rows(workspace: Workspace) -> list[tuple[str, str, str]]:
    return workspace.sql("SELECT email, kind, source FROM bounce_reports ORDER BY id")
