"""The one error tree of the project.

Library errors (httpx, SQLAlchemy, smtplib, TOML, feedparser...) are converted into these at the
boundary, chained with ``raise ... from exc``. The CLI prints ``str(error)`` as a one-line message
and exits with ``exit_code``; no traceback reaches a user.
"""

from __future__ import annotations

import sys


def one_line(exc: BaseException) -> str:
    """The first line of a library error's message (its type name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class DigestError(Exception):
    """Base of every error the project raises on purpose."""

    exit_code = 1


class ConfigError(DigestError):
    """The configuration file is missing, unreadable or has a wrong value."""

    exit_code = 2


class UsageError(DigestError):
    """A command was given an argument it cannot use (bad date, unknown feed...)."""

    exit_code = 2


class StoreError(DigestError):
    """The database could not be opened, migrated or written."""


def database_error(exc: BaseException) -> StoreError | None:
    """A database failure that escaped the store (a read-only file, a full disk, a lock held
    too long) as a StoreError saying only what the driver said: SQLAlchemy's own message
    carries the statement and its parameters, which hold item text and subscriber addresses.
    None for anything else. Looks SQLAlchemy up instead of importing it (`--help` stays light)."""
    sa_exc = sys.modules.get("sqlalchemy.exc")
    if sa_exc is None or not isinstance(exc, sa_exc.DBAPIError):
        return None
    said = one_line(exc.orig) if exc.orig is not None else type(exc).__name__
    if "readonly" in said or "read-only" in said:
        said += " (check that the database file and its folder are writable by this user)"
    return StoreError(f"database error: {said}")


class TopicError(DigestError):
    """A topic file is missing or malformed."""

    exit_code = 2


class FeedError(DigestError):
    """Fetching or parsing one feed failed; recorded on the feed, the run carries on."""


class FetchError(FeedError):
    """The feed could not be downloaded (network, HTTP status, size or time limit)."""


class HttpStatusError(FetchError):
    """The server answered with an error status; ``retry_after`` in seconds when it said so."""

    def __init__(self, message: str, *, status: int, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class ParseError(FeedError):
    """The feed's bytes are not a feed."""


class EditionError(DigestError):
    """An edition cannot be built or sent in its current state (e.g. rebuilding a sent one)."""


class RenderError(DigestError):
    """A template is missing or failed to render."""


class HeaderError(DigestError):
    """A value destined for a mail header contains CR/LF or is otherwise unsafe."""


class DeliveryError(DigestError):
    """Sending one message failed."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        #: The SMTP reply code, when the server gave one.
        self.code = code


class TemporaryDeliveryError(DeliveryError):
    """A 4xx reply, a timeout or a dropped connection: try this recipient again later."""


class PermanentDeliveryError(DeliveryError):
    """A 5xx reply for this recipient: do not try again."""


class RecipientRefusedError(PermanentDeliveryError):
    """The server permanently refused the recipient or the message: a hard bounce."""


class MessageTooLargeError(DeliveryError):
    """A message would be over the size at which mailbox providers clip it."""


class DeliveryPausedError(DigestError):
    """A send stopped early because too many messages in a row failed."""


class SmtpUnavailableError(DigestError):
    """The SMTP server cannot be reached or refuses us at all (connect, TLS, login)."""


class SubscriberError(DigestError):
    """A subscriber operation was refused (invalid address, unknown subscriber...)."""

    exit_code = 2


class TokenError(DigestError):
    """A signed link token is tampered with, expired or meant for another purpose."""


class LockError(DigestError):
    """Another process holds a lock this one needs (e.g. a second `digest serve`)."""


class CorpusError(DigestError):
    """A labelled corpus folder (for `digest eval`) is missing, incomplete or malformed."""

    exit_code = 2


class MailboxError(DigestError):
    """The IMAP mailbox of bounce reports cannot be reached, logged into or read."""
