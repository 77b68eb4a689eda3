"""Reading bounce and complaint messages: DSNs (RFC 3464) and the many MTAs' own formats with
flufl.bounce, complaints in the Abuse Reporting Format (RFC 5965), and our VERP token.

A message none of these understands gives no reports: the caller keeps it aside.
"""

from __future__ import annotations

import email
import hashlib
import re
from collections.abc import Iterable
from email.message import Message
from email.parser import HeaderParser
from email.utils import getaddresses

from flufl.bounce import all_failures

from digest.bounces.types import BounceReport, ReportKind
from digest.bounces.verp import VerpAddresses

__all__ = ["parse_report", "report_key"]

#: Where a report's copy of our envelope sender may be: the report is addressed to it.
_ENVELOPE_HEADERS = ("To", "Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To")
#: ARF feedback types that are complaints about our mail.
_COMPLAINT_TYPES = {"abuse", "fraud", "virus"}
_ADDRESS = re.compile(r"[^@\s<>;,\"']+@[^@\s<>;,\"']+\.[^@\s<>;,\"']+")


def report_key(message: Message, data: bytes) -> str:
    """The report's identity: its Message-ID, else the hash of its bytes."""
    message_id = (message.get("Message-ID") or "").strip()
    if message_id:
        return f"message-id:{message_id[:480]}"
    return f"sha256:{hashlib.sha256(data).hexdigest()}"


def parse_report(data: bytes, verp: VerpAddresses | None = None) -> list[BounceReport]:
    """The reports in one message: one per address it is about; [] when it is not a report."""
    message = email.message_from_bytes(data)
    key = report_key(message, data)
    original = _original_headers(message)
    original_id = (original.get("Message-ID") or "").strip() or None if original else None
    delivery_id = _verp_delivery(message, original, verp)
    feedback = _feedback_report(message)
    if feedback is not None:
        return _complaints(key, feedback, original, delivery_id, original_id)
    try:
        temporary, permanent = all_failures(message)
    except Exception:  # a detector that trips over a malformed message: not a report we know
        return []
    hard = sorted({_text(a) for a in permanent} - {""})
    soft = sorted({_text(a) for a in temporary} - {""} - set(hard))
    detail = _dsn_detail(message)
    if delivery_id is not None and (hard or soft):
        # The token says whose message it was (even if it was forwarded to the address that
        # failed): one report, about that delivery.
        kind = ReportKind.HARD if hard else ReportKind.SOFT
        return [BounceReport(key, kind, (hard or soft)[0], "dsn", detail, delivery_id, original_id)]
    return [
        BounceReport(key, kind, address, "dsn", detail, None, original_id)
        for kind, addresses in ((ReportKind.HARD, hard), (ReportKind.SOFT, soft))
        for address in addresses
    ]


def _text(address: bytes | str) -> str:
    text = address.decode("utf-8", "replace") if isinstance(address, bytes) else address
    return text.strip().strip("<>").lower()


def _parts(message: Message) -> Iterable[Message]:
    return message.walk()


def _original_headers(message: Message) -> Message | None:
    """The headers of the message the report is about (message/rfc822 or text/rfc822-headers)."""
    for part in _parts(message):
        kind = part.get_content_type()
        if kind == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            if isinstance(inner, Message):
                return inner
        if kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return HeaderParser().parsestr(payload.decode("utf-8", "replace"))
    return None


def _verp_delivery(
    message: Message, original: Message | None, verp: VerpAddresses | None
) -> int | None:
    if verp is None:
        return None
    candidates = [value for name in _ENVELOPE_HEADERS for value in message.get_all(name, [])]
    if original is not None:
        candidates += original.get_all("Return-Path", [])
    for _name, address in getaddresses([str(c) for c in candidates]):
        found = verp.delivery_id(address)
        if found is not None:
            return found
    return None


def _feedback_report(message: Message) -> Message | None:
    """The machine-readable part of an ARF report, as headers; None if it is not one."""
    for part in _parts(message):
        if part.get_content_type() != "message/feedback-report":
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            return payload[0]
        if isinstance(payload, str):
            return HeaderParser().parsestr(payload.lstrip())
    return None


def _complaints(
    key: str,
    feedback: Message,
    original: Message | None,
    delivery_id: int | None,
    original_id: str | None,
) -> list[BounceReport]:
    feedback_type = (feedback.get("Feedback-Type") or "").strip().lower()
    if feedback_type not in _COMPLAINT_TYPES:
        return []  # "not-spam", "auth-failure"...: not a complaint about our mail
    recipients = [
        address.lower() for _, address in getaddresses(feedback.get_all("Original-Rcpt-To", []))
    ]
    if not recipients and original is not None:
        # Providers often redact the recipient; the original's To is what is left.
        recipients = [address.lower() for _, address in getaddresses(original.get_all("To", []))]
    recipients = [r for r in dict.fromkeys(recipients) if _ADDRESS.fullmatch(r)]
    if not recipients and delivery_id is None:
        return []
    detail = f"feedback-type {feedback_type}"
    user_agent = (feedback.get("User-Agent") or "").strip()
    if user_agent:
        detail += f" from {user_agent}"
    if delivery_id is not None:
        # The token names the recipient even when the provider redacted the address.
        return [
            BounceReport(
                key,
                ReportKind.COMPLAINT,
                recipients[0] if recipients else "",
                "arf",
                detail,
                delivery_id,
                original_id,
            )
        ]
    return [
        BounceReport(key, ReportKind.COMPLAINT, r, "arf", detail, None, original_id)
        for r in recipients
    ]


def _dsn_detail(message: Message) -> str:
    """The first recipient's status and diagnostic from a DSN, for people to read."""
    for part in _parts(message):
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else []
        for block in blocks[1:]:
            if not isinstance(block, Message):
                continue
            status = (block.get("Status") or "").strip()
            diagnostic = " ".join((block.get("Diagnostic-Code") or "").split())
            text = " ".join(part for part in (status, diagnostic) if part)
            if text:
                return text[:500]
    return ""
