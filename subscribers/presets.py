"""Import presets: the subscriber exports of other newsletter tools, mapped to our columns.

Each preset turns one row of a tool's export (header -> cell, headers lower-cased) into the
native columns csvio reads (email, name, status, consent_at, timezone...) plus the attributes
worth keeping. A value the preset does not know (a status it has no rule for) is reported on
its row, never guessed. Rows whose address the tool had blocklisted, cleaned or marked as a
complaint are put on the suppression list instead of being imported.

The column sets follow each tool's documented export; tests/fixtures/exports holds samples.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from digest.errors import SubscriberError
from subscribers.types import SubscriberStatus
from subscribers.validation import normalize_timezone

ACTIVE = SubscriberStatus.ACTIVE
PENDING = SubscriberStatus.PENDING
UNSUBSCRIBED = SubscriberStatus.UNSUBSCRIBED
#: Not a subscriber status: the row goes onto the suppression list.
SUPPRESS = "suppress"


@dataclass(frozen=True, slots=True)
class Mapped:
    """One export row in our terms: native column values, attributes, and whether to suppress."""

    values: dict[str, str]
    attributes: dict[str, str]
    #: Why the address goes on the suppression list (None: an ordinary row).
    suppress: str | None = None


Row = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Preset:
    #: The --from name.
    name: str
    #: The tool's display name, for messages.
    tool: str
    #: Header (lower case) that must be present, holding the address.
    email_columns: tuple[str, ...]
    map_row: Callable[[Row, frozenset[str]], Mapped]

    def email_column(self, headers: frozenset[str]) -> str:
        for column in self.email_columns:
            if column in headers:
                return column
        raise SubscriberError(
            f"line 1: this is not a {self.tool} export (no {self.email_columns[0]!r} column)"
        )


def _status(tool: str, column: str, value: str, table: Mapping[str, str]) -> str:
    key = value.strip().lower()
    if key not in table:
        known = ", ".join(sorted(table))
        raise SubscriberError(f"{tool} {column} {value!r} has no rule here (known: {known})")
    return table[key]


def _kept(row: Row, columns: Mapping[str, str]) -> dict[str, str]:
    """Attributes worth keeping: tool column -> our attribute name, when not empty."""
    return {name: row[column].strip() for column, name in columns.items() if row.get(column, "")}


def _json_attributes(text: str, tool: str) -> dict[str, str]:
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise SubscriberError(f"{tool} attributes are not JSON: {text[:60]!r}") from exc
    if not isinstance(data, dict):
        return {}
    return {
        str(key): value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
        for key, value in data.items()
    }


def _mapped(row: Row, email: str, status: str, **values: str) -> Mapped:
    """A Mapped with the native values, leaving out empty ones."""
    native = {"email": row.get(email, ""), **{k: v for k, v in values.items() if v}}
    if status == SUPPRESS:
        return Mapped(native, {}, suppress="")
    native["status"] = status
    return Mapped(native, {})


# --- listmonk: uuid,email,name,attributes,status,created_at,updated_at -------------------------

_LISTMONK = {"enabled": ACTIVE, "disabled": UNSUBSCRIBED, "blocklisted": SUPPRESS}


def _listmonk(row: Row, headers: frozenset[str]) -> Mapped:
    status = _status("listmonk", "status", row.get("status", ""), _LISTMONK)
    mapped = _mapped(
        row, "email", status, name=row.get("name", ""), consent_at=row.get("created_at", "")
    )
    attributes = _json_attributes(row.get("attributes", ""), "listmonk")
    return _finish(mapped, attributes, "blocklisted in listmonk")


# --- Mailchimp: one file per status (subscribed, unsubscribed, cleaned) -----------------------


def _mailchimp(row: Row, headers: frozenset[str]) -> Mapped:
    # Mailchimp's audience export is one CSV per status; the status shows in the columns.
    if "clean_time" in headers:
        status = SUPPRESS
    elif "unsub_time" in headers:
        status = UNSUBSCRIBED
    else:
        status = ACTIVE
    parts = (row.get("first name", "").strip(), row.get("last name", "").strip())
    name = " ".join(part for part in parts if part)
    mapped = _mapped(
        row,
        "email address",
        status,
        name=name,
        consent_at=row.get("confirm_time", "") or row.get("optin_time", ""),
        timezone=_zone_or_empty(row.get("timezone", "")),
    )
    # Mailchimp guesses the zone from an IP address; one it made up is kept, not imported.
    kept = _kept(row, {"tags": "tags", "notes": "notes"})
    if row.get("timezone", "").strip() and not mapped.values.get("timezone"):
        kept["mailchimp_timezone"] = row["timezone"].strip()
    return _finish(mapped, kept, "cleaned in Mailchimp")


def _zone_or_empty(name: str) -> str:
    try:
        return normalize_timezone(name) or ""
    except SubscriberError:
        return ""


# --- Substack: email,active_subscription,expiry,plan,email_disabled,created_at,... ------------

_SUBSTACK = {"false": ACTIVE, "": ACTIVE, "true": UNSUBSCRIBED}


def _substack(row: Row, headers: frozenset[str]) -> Mapped:
    status = _status("Substack", "email_disabled", row.get("email_disabled", ""), _SUBSTACK)
    mapped = _mapped(
        row,
        "email",
        status,
        name=row.get("name", ""),
        consent_at=row.get("subscription_created_at", "") or row.get("created_at", ""),
    )
    return _finish(mapped, _kept(row, {"plan": "plan"}), "")


# --- Ghost: id,email,name,note,subscribed_to_emails,complimentary_plan,...,labels,tiers -------

_GHOST = {"true": ACTIVE, "false": UNSUBSCRIBED}


def _ghost(row: Row, headers: frozenset[str]) -> Mapped:
    status = _status("Ghost", "subscribed_to_emails", row.get("subscribed_to_emails", ""), _GHOST)
    mapped = _mapped(
        row, "email", status, name=row.get("name", ""), consent_at=row.get("created_at", "")
    )
    kept = _kept(row, {"labels": "labels", "note": "note", "tiers": "tiers"})
    return _finish(mapped, kept, "")


# --- Buttondown: id,email,creation_date,notes,metadata,tags,...,subscriber_type ----------------

_BUTTONDOWN = {
    "regular": ACTIVE,
    "premium": ACTIVE,
    "gifted": ACTIVE,
    "trialed": ACTIVE,
    "churning": ACTIVE,
    "churned": ACTIVE,  # a paid plan that ended; still on the free list
    "past_due": ACTIVE,
    "unpaid": ACTIVE,
    "unactivated": PENDING,
    "unsubscribed": UNSUBSCRIBED,
    "removed": UNSUBSCRIBED,
    "spammy": SUPPRESS,
    "complained": SUPPRESS,
    "undeliverable": SUPPRESS,
}


def _buttondown(row: Row, headers: frozenset[str]) -> Mapped:
    column = "subscriber_type" if "subscriber_type" in headers else "type"
    status = _status("Buttondown", column, row.get(column, ""), _BUTTONDOWN)
    email = "email" if "email" in headers else "email_address"
    mapped = _mapped(row, email, status, consent_at=row.get("creation_date", ""))
    attributes = _json_attributes(row.get("metadata", ""), "Buttondown")
    attributes.update(_kept(row, {"tags": "tags", "notes": "notes"}))
    suppress = f"{row.get(column, '').strip().lower()} in Buttondown"
    return _finish(mapped, attributes, suppress)


def _finish(mapped: Mapped, attributes: dict[str, str], suppress: str) -> Mapped:
    if mapped.suppress is not None:
        return Mapped(mapped.values, {}, suppress=suppress or "suppressed in the export")
    return Mapped(mapped.values, attributes)


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset("listmonk", "listmonk", ("email",), _listmonk),
        Preset("mailchimp", "Mailchimp", ("email address",), _mailchimp),
        Preset("substack", "Substack", ("email",), _substack),
        Preset("ghost", "Ghost", ("email",), _ghost),
        Preset("buttondown", "Buttondown", ("email", "email_address"), _buttondown),
    )
}


def preset_named(name: str | None) -> Preset | None:
    if name is None:
        return None
    try:
        return PRESETS[name]
    except KeyError:
        raise SubscriberError(f"no import preset {name!r} (one of {', '.join(PRESETS)})") from None
