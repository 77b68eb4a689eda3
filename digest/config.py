"""Settings: a TOML file (digest.toml, --config or DIGEST_CONFIG), then the environment.

Every key can be set as DIGEST_<SECTION>__<KEY> (config_env.py reads those, and secrets from
files): environment over file over default, checked the same way whatever the source.
Unknown keys produce warnings, not errors, so a file written for a later version still runs.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import time
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from digest.config_env import from_environment
from digest.errors import ConfigError
from digest.i18n import check_language

CONFIG_FILENAME = "digest.toml"
CONFIG_ENV = "DIGEST_CONFIG"
DEFAULT_DATABASE = "sqlite:///digest.db"
SECURITY_MODES = ("none", "starttls", "ssl")
_ADDRESS = re.compile(r"[^@\s<>,\"]+@[^@\s<>,\"]+")


@dataclass(frozen=True, slots=True)
class DigestSettings:
    #: Bundled topic key, or a path to a topic TOML file.
    topic: str = "us-china-trade"
    #: Name shown at the top of every email and in the From display name when sender has none.
    name: str = "US–China Trade Digest"
    #: The time zone whose morning the digest is sent in, and the local send time ("HH:MM").
    timezone: str = "UTC"
    send_time: str = "06:00"
    #: SQLAlchemy URL; a relative SQLite path is relative to the config file's folder.
    database: str = DEFAULT_DATABASE
    #: Signs unsubscribe links; DIGEST_SECRET_KEY overrides it.
    secret_key: str = ""
    #: When true, an edition an editor has not approved by its send time is held, not sent.
    require_approval: bool = False
    #: Former secret keys: links signed with them keep working (rotation); also checked for
    #: suppressions hashed under them. DIGEST_OLD_SECRET_KEYS (comma-separated) overrides it.
    old_secret_keys: tuple[str, ...] = ()
    #: Keys the suppression list's hashes; never rotated, so a suppression is never forgotten.
    #: Empty (installations from before it existed): the secret key, as it was then.
    suppression_key: str = ""
    #: A folder of templates in front of the bundled ones ("" for none); a relative path is
    #: relative to the config file's folder.
    templates: str = ""
    #: Language of the email's dates and fixed text: "en", or one with a catalogue in
    #: digest/locale (see digest/i18n.py).
    language: str = "en"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def templates_path(self) -> Path | None:
        return Path(self.templates) if self.templates else None

    @property
    def send_clock_time(self) -> time:
        hour, minute = self.send_time.split(":")
        return time(int(hour), int(minute))


@dataclass(frozen=True, slots=True)
class FetchSettings:
    timeout_seconds: float = 20.0
    max_bytes: int = 10_000_000
    max_redirects: int = 5
    user_agent: str = "digest/0.1 (daily news digest; feed reader)"
    #: Refuse feeds on private, loopback and link-local addresses unless this is true.
    allow_private_addresses: bool = False
    #: Feeds fetched at the same time.
    concurrency: int = 8
    #: Overall time one feed may take (all redirects and the whole body).
    deadline_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = 25
    security: str = "none"
    username: str = ""
    #: From address: "addr" or "Name <addr>".
    sender: str = "digest@localhost"
    timeout_seconds: float = 30.0
    #: Extra CA certificates (PEM) to trust, for a relay with a private CA; "" trusts the system's.
    ca_file: str = ""
    #: Log in over an unencrypted connection (security = "none"): only for a relay on this
    #: machine or a trusted link; otherwise the password would cross the network in clear.
    allow_plaintext_auth: bool = False
    #: From DIGEST_SMTP_PASSWORD, never from the file.
    password: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class WebSettings:
    #: Public address of `digest web`, used in unsubscribe and preferences links.
    base_url: str = "http://localhost:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    #: Optional mailto: address for List-Unsubscribe ("" leaves it out).
    unsubscribe_mailto: str = ""
    #: Postal or contact line shown in every email's footer.
    contact_line: str = ""
    #: How long the link in a subscription confirmation email stays valid.
    confirm_link_hours: int = 72
    #: At most one confirmation email per pending address in this many hours (form sign-ups).
    confirm_resend_hours: int = 6
    #: Sign-ups (POST /subscribe) accepted per hour from one client address (IPv6: per /64)
    #: and for one email address; 0 means no limit.
    subscribes_per_ip_per_hour: int = 20
    subscribes_per_address_per_hour: int = 5
    #: Reverse proxies in front of `digest web` whose X-Forwarded-For is trusted for the
    #: client's address (0: the connection's own address).
    trusted_proxies: int = 0


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    #: How long a claim by a sender that died blocks its rows before another run takes them.
    lease_seconds: int = 600
    #: Messages sent on one SMTP connection before reconnecting.
    messages_per_connection: int = 100
    #: SMTP connections used in parallel.
    connections: int = 4
    #: Most messages per second over all connections; 0 means no limit.
    rate_per_second: float = 0.0
    #: First retry delay of a deferred delivery; it doubles (with jitter) on each retry.
    retry_initial_seconds: int = 300
    #: Deferred deliveries fail once this many hours have passed since the edition's first send.
    ttl_hours: float = 12.0
    #: Permanent refusals after which a subscriber is marked bounced.
    max_hard_bounces: int = 3
    #: Consecutive failed or deferred messages after which a run pauses.
    pause_after_failures: int = 50
    #: DKIM signing, when all three are set.
    dkim_selector: str = ""
    dkim_domain: str = ""
    dkim_private_key_file: str = ""
    #: Where bounces go: when set, each message's envelope sender is its per-recipient
    #: signed VERP form (local+TOKEN@domain) and messages carry Feedback-ID ("" for neither).
    bounce_address: str = ""


@dataclass(frozen=True, slots=True)
class BouncesSettings:
    """`digest bounces` and the ESP webhooks: where reports come from, what to do with them."""

    #: IMAP mailbox that receives bounces and complaints (`digest bounces fetch`).
    imap_host: str = ""
    imap_port: int = 993
    #: "ssl" (IMAPS, the default), "starttls" or "none".
    imap_security: str = "ssl"
    imap_user: str = ""
    #: From DIGEST_IMAP_PASSWORD, never from the file.
    imap_password: str = field(default="", repr=False)
    #: Extra CA certificates (PEM) to trust for the IMAP server; "" trusts the system's.
    imap_ca_file: str = ""
    folder: str = "INBOX"
    #: What happens to a processed message on the server: "delete" or "move" (to move_to).
    after: str = "delete"
    move_to: str = ""
    #: Messages that are not reports are kept here; relative to the config file's folder.
    unparsed_folder: str = "bounces-unparsed"
    #: Webhooks (`digest web`), each off until its key is set: SNS topics whose SES
    #: notifications are accepted, Postmark's basic-auth user and password (or URL secret),
    #: Mailgun's HTTP webhook signing key, SendGrid's verification key (base64, as shown).
    ses_topic_arns: tuple[str, ...] = ()
    postmark_user: str = ""
    postmark_secret: str = field(default="", repr=False)
    mailgun_signing_key: str = field(default="", repr=False)
    sendgrid_public_key: str = ""


@dataclass(frozen=True, slots=True)
class ScheduleSettings:
    """`digest serve`: when each job runs, and what it does on a quiet day."""

    #: Feeds are fetched this often.
    fetch_every_minutes: int = 60
    #: Each edition is built this long before its send time, for an editor to look at.
    build_lead_minutes: int = 60
    #: Nothing on-topic arrived: "skip" sends nothing, "note" sends a short "no major
    #: developments" email.
    quiet_day: str = "note"
    #: A send missed while the daemon was down still goes out if it is at most this late
    #: ([delivery] ttl_hours, when set, wins).
    catch_up_hours: int = 12
    #: How long the running daemon's lease lasts without renewal; another takes over after it.
    lease_seconds: int = 60


QUIET_DAY_POLICIES = ("skip", "note")


@dataclass(frozen=True, slots=True)
class Settings:
    digest: DigestSettings = field(default_factory=DigestSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    web: WebSettings = field(default_factory=WebSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    bounces: BouncesSettings = field(default_factory=BouncesSettings)
    #: The file these settings came from (None for embedded defaults).
    path: Path | None = None
    #: Unknown keys and similar non-fatal remarks, for the CLI to show.
    warnings: tuple[str, ...] = ()
    #: Where each value not left at its default came from: (table, key) -> "file PATH",
    #: "environment NAME" or "file named by NAME_FILE".
    sources: dict[tuple[str, str], str] = field(default_factory=dict, compare=False)

    @property
    def secret_key(self) -> str:
        return self.digest.secret_key

    @property
    def suppression_key(self) -> str:
        return self.digest.suppression_key or self.digest.secret_key


_TABLES: dict[str, type] = {
    "digest": DigestSettings,
    "fetch": FetchSettings,
    "smtp": SmtpSettings,
    "web": WebSettings,
    "delivery": DeliverySettings,
    "schedule": ScheduleSettings,
    "bounces": BouncesSettings,
}
_NOT_IN_FILE = {("smtp", "password"), ("bounces", "imap_password")}


def find_config(explicit: str | Path | None, environ: dict[str, str] | None = None) -> Path | None:
    """The config file to use: --config, then DIGEST_CONFIG, then ./digest.toml (if present)."""
    env = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV])
    local = Path.cwd() / CONFIG_FILENAME
    return local if local.exists() else None


def load_settings(path: Path | None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the file at ``path`` (none: defaults), apply the environment, check the result."""
    env = os.environ if environ is None else environ
    from_env = from_environment(_TABLES, env)
    data: dict[str, Any] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    settings = settings_from_dict(
        data,
        path=None if path is None else path.resolve(),
        environment=from_env.values,
        environment_sources=from_env.sources,
    )
    return replace(settings, warnings=(*settings.warnings, *from_env.warnings))


def settings_from_dict(
    data: dict[str, Any],
    *,
    path: Path | None = None,
    environment: Mapping[str, Mapping[str, Any]] | None = None,
    environment_sources: Mapping[tuple[str, str], str] | None = None,
) -> Settings:
    """Settings from a file's tables, overridden by typed ``environment`` values (which may set
    the keys a file may not, such as the SMTP password)."""
    warnings: list[str] = []
    chosen: dict[str, dict[str, Any]] = {}
    sources: dict[tuple[str, str], str] = {}
    for table, values in data.items():
        cls = _TABLES.get(table)
        if cls is None:
            warnings.append(f"unknown section [{table}] ignored{_suggest(table, _TABLES)}")
            continue
        if not isinstance(values, dict):
            raise ConfigError(f"[{table}] must be a table")
        known = {f.name: f for f in fields(cls) if (table, f.name) not in _NOT_IN_FILE}
        for key, value in values.items():
            if key not in known:
                warnings.append(f"unknown key '{key}' in [{table}] ignored{_suggest(key, known)}")
                continue
            chosen.setdefault(table, {})[key] = _coerce(table, key, value, _type_of(cls, key))
            sources[(table, key)] = f"file {path}" if path is not None else "file"
    for table, values in (environment or {}).items():
        for key, value in values.items():
            chosen.setdefault(table, {})[key] = _coerce(
                table, key, value, _type_of(_TABLES[table], key)
            )
            sources[(table, key)] = (environment_sources or {}).get((table, key), "environment")
    parts = {table: _TABLES[table](**kwargs) for table, kwargs in chosen.items()}
    settings = Settings(**parts, path=path, warnings=tuple(warnings), sources=sources)
    _validate(settings)
    if path is not None:
        settings = replace(
            settings,
            digest=replace(
                settings.digest,
                database=resolve_database_url(settings.digest.database, path.parent),
                templates=resolve_path(settings.digest.templates, path.parent),
            ),
            bounces=replace(
                settings.bounces,
                unparsed_folder=resolve_path(settings.bounces.unparsed_folder, path.parent),
            ),
        )
    return settings


def _type_of(cls: type, key: str) -> type:
    return type(getattr(cls(), key))


def _coerce(table: str, key: str, value: Any, expected: type) -> Any:
    if expected is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"[{table}] {key} must be a list of strings, not {value!r}")
        return tuple(value)
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is float and isinstance(value, float) and not math.isfinite(value):
        # nan compares false with every bound, so it would slip past them all (a deadline
        # of nan is no deadline); inf means "never", which no setting here should
        raise ConfigError(f"[{table}] {key} must be a finite number, not {value!r}")
    if expected is bool and not isinstance(value, bool):
        raise ConfigError(f"[{table}] {key} must be true or false, not {value!r}")
    if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
        raise ConfigError(f"[{table}] {key} must be {expected.__name__}, not {value!r}")
    return value


def _validate(settings: Settings) -> None:
    d = settings.digest
    try:
        ZoneInfo(d.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"[digest] timezone: unknown time zone {d.timezone!r}") from exc
    check_language(d.language)
    if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", d.send_time):
        raise ConfigError(f'[digest] send_time must be "HH:MM" (24-hour), not {d.send_time!r}')
    _validate_schedule(settings.schedule)
    if settings.smtp.security not in SECURITY_MODES:
        raise ConfigError(
            f"[smtp] security must be one of {', '.join(SECURITY_MODES)}, "
            f"not {settings.smtp.security!r}"
        )
    if not 0 < settings.smtp.port < 65536:
        raise ConfigError(f"[smtp] port out of range: {settings.smtp.port}")
    if not 0 < settings.web.port < 65536:
        raise ConfigError(f"[web] port out of range: {settings.web.port}")
    sender = settings.smtp.sender
    _name, address = parseaddr(sender)
    if any(ch in sender for ch in "\r\n") or not _ADDRESS.fullmatch(address):
        raise ConfigError(f'[smtp] sender must be "addr" or "Name <addr>", not {sender!r}')
    fetch = settings.fetch
    if not 1 <= fetch.concurrency <= 64:
        raise ConfigError(f"[fetch] concurrency must be between 1 and 64, not {fetch.concurrency}")
    if fetch.deadline_seconds <= 0 or fetch.timeout_seconds <= 0:
        raise ConfigError("[fetch] timeout_seconds and deadline_seconds must be positive")
    if fetch.max_bytes < 1 or fetch.max_redirects < 0:
        raise ConfigError(
            "[fetch] max_bytes must be at least 1 and max_redirects must not be negative"
        )
    if settings.smtp.timeout_seconds <= 0:
        raise ConfigError(
            f"[smtp] timeout_seconds must be positive, not {settings.smtp.timeout_seconds}"
        )
    if not 0 < settings.web.port < 65536:
        raise ConfigError(f"[web] port out of range: {settings.web.port}")
    mailto = settings.web.unsubscribe_mailto
    if mailto and not _ADDRESS.fullmatch(mailto):
        raise ConfigError(f"[web] unsubscribe_mailto must be a plain address, not {mailto!r}")
    if settings.web.confirm_link_hours < 1:
        raise ConfigError("[web] confirm_link_hours must be at least 1")
    for key in (
        "confirm_resend_hours",
        "subscribes_per_ip_per_hour",
        "subscribes_per_address_per_hour",
        "trusted_proxies",
    ):
        if getattr(settings.web, key) < 0:
            raise ConfigError(f"[web] {key} must not be negative, not {getattr(settings.web, key)}")
    if not settings.web.base_url.startswith(("http://", "https://")):
        raise ConfigError(
            f"[web] base_url must start with http:// or https://, not {settings.web.base_url!r}"
        )
    _validate_delivery(settings.delivery)
    _validate_bounces(settings.bounces)


def _validate_bounces(b: BouncesSettings) -> None:
    if b.imap_security not in SECURITY_MODES:
        raise ConfigError(
            f"[bounces] imap_security must be one of {', '.join(SECURITY_MODES)}, "
            f"not {b.imap_security!r}"
        )
    if not 0 < b.imap_port < 65536:
        raise ConfigError(f"[bounces] imap_port out of range: {b.imap_port}")
    if b.after not in ("delete", "move"):
        raise ConfigError(f'[bounces] after must be "delete" or "move", not {b.after!r}')
    if b.after == "move" and not b.move_to:
        raise ConfigError('[bounces] after = "move" needs move_to (the folder to move to)')


def _validate_delivery(d: DeliverySettings) -> None:
    for key in ("connections", "messages_per_connection", "max_hard_bounces"):
        if getattr(d, key) < 1:
            raise ConfigError(f"[delivery] {key} must be at least 1, not {getattr(d, key)}")
    for key in ("rate_per_second", "retry_initial_seconds", "ttl_hours", "lease_seconds"):
        if getattr(d, key) < 0:
            raise ConfigError(f"[delivery] {key} must not be negative, not {getattr(d, key)}")
    if d.pause_after_failures < 1:
        raise ConfigError("[delivery] pause_after_failures must be at least 1")
    dkim = (d.dkim_selector, d.dkim_domain, d.dkim_private_key_file)
    if any(dkim) and not all(dkim):
        raise ConfigError(
            "[delivery] DKIM needs all of dkim_selector, dkim_domain and dkim_private_key_file"
        )
    if d.bounce_address and (
        not _ADDRESS.fullmatch(d.bounce_address) or "+" in d.bounce_address.partition("@")[0]
    ):
        raise ConfigError(
            "[delivery] bounce_address must be a plain address without '+' (digest adds "
            f"+TOKEN to it), not {d.bounce_address!r}"
        )


def _validate_schedule(schedule: ScheduleSettings) -> None:
    if schedule.quiet_day not in QUIET_DAY_POLICIES:
        raise ConfigError(
            f'[schedule] quiet_day must be "skip" or "note", not {schedule.quiet_day!r}'
        )
    for key in ("fetch_every_minutes", "catch_up_hours", "lease_seconds"):
        if getattr(schedule, key) < 1:
            raise ConfigError(f"[schedule] {key} must be at least 1")
    if not 0 <= schedule.build_lead_minutes < 24 * 60:
        raise ConfigError("[schedule] build_lead_minutes must be between 0 and 1439")


def resolve_path(value: str, base: Path) -> str:
    """A relative path made absolute against ``base`` (the config file's folder); "" stays."""
    if not value:
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def resolve_database_url(url: str, base: Path) -> str:
    """Make a relative SQLite path absolute against ``base`` (the config file's folder)."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != "sqlite:///:memory:":
        rest = url[len(prefix) :]
        if rest and not rest.startswith(("/", "file:")):  # file: is an SQLite URI, as given
            return prefix + str((base / rest).resolve())
    return url


def _suggest(name: str, known: Any) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def new_secret_key() -> str:
    return secrets.token_urlsafe(32)


def render_config_template(
    secret_key: str,
    suppression_key: str,
    old_secret_keys: tuple[str, ...] = (),
    *,
    database: str = DEFAULT_DATABASE,
) -> str:
    """The commented digest.toml that `digest init` writes."""
    old = ", ".join(json.dumps(key) for key in old_secret_keys)  # a JSON string is a TOML one
    return (
        CONFIG_TEMPLATE.replace("@DATABASE@", json.dumps(database))
        .replace("@SECRET_KEY@", secret_key)
        .replace("@SUPPRESSION_KEY@", suppression_key)
        .replace("@OLD_SECRET_KEYS@", f"[{old}]")
    )


CONFIG_TEMPLATE = """\
# digest configuration. Every key is optional; the values shown are the defaults.
# Any key can also be set in the environment as DIGEST_<SECTION>__<KEY> (for example
# DIGEST_SMTP__HOST), which wins over this file; a secret also as DIGEST_<SECTION>__<KEY>_FILE,
# the path of a file holding it. The SMTP password comes only from there:
# DIGEST_SMTP__PASSWORD (or DIGEST_SMTP_PASSWORD).

[digest]
# Bundled topic key, or a path to your own topic TOML file.
topic = "us-china-trade"
# Shown at the top of every email.
name = "US–China Trade Digest"
# The digest covers the 24 hours before send_time (HH:MM, 24-hour) in this time zone.
timezone = "UTC"
send_time = "06:00"
# SQLAlchemy URL. A relative SQLite path is relative to this file's folder. For PostgreSQL
# (pip install 'digest[postgres]'): "postgresql://user:password@host/dbname".
database = @DATABASE@
# Signs unsubscribe links. Keep it secret; DIGEST_SECRET_KEY overrides it.
# `digest init --force` keeps it; `digest init --rotate-key` replaces it.
secret_key = "@SECRET_KEY@"
# A folder of your own templates, in front of the bundled ones: a file there replaces the
# bundled file of the same name (`digest templates copy DIR` gives you a starting point).
templates = ""
# Language of the email's dates and fixed text: "en" or "fr".
language = "en"
# When true, `digest serve` holds an edition an editor has not approved by its send time.
require_approval = false
# When you change secret_key (`digest init --rotate-key` does it for you), the former ones
# are listed here so links already sent keep working (DIGEST_OLD_SECRET_KEYS overrides it).
old_secret_keys = @OLD_SECRET_KEYS@
# Keys the suppression list's hashes. Never change it: it is not rotated with secret_key, so
# no suppressed or erased address is ever forgotten.
suppression_key = "@SUPPRESSION_KEY@"

[fetch]
timeout_seconds = 20
# Overall limit for one feed (redirects and whole body); feeds fetched at the same time.
deadline_seconds = 60
concurrency = 8
max_bytes = 10000000
# Feeds on private, loopback or link-local addresses are refused unless this is true.
allow_private_addresses = false

[smtp]
host = "localhost"
port = 25
# "none", "starttls" or "ssl"
security = "none"
# Leave empty for no login; the password comes from DIGEST_SMTP_PASSWORD.
username = ""
# "addr" or "Name <addr>"
sender = "US–China Trade Digest <digest@localhost>"
# A PEM file of CA certificates to trust, for a relay whose certificate a private CA signed.
ca_file = ""
# With security = "none", a username is refused (the password would go out unencrypted)
# unless this is true: only for a relay on this machine.
allow_plaintext_auth = false

[web]
# Public address of `digest web`: unsubscribe and preferences links point here.
base_url = "http://localhost:8080"
host = "127.0.0.1"
port = 8080
# Optional: an address that unsubscribes by mail, offered in List-Unsubscribe.
unsubscribe_mailto = ""
# Postal address or contact line shown in every email's footer.
contact_line = ""
# How long the link in a subscription confirmation email stays valid.
confirm_link_hours = 72
# The sign-up form: at most one confirmation email per address in this many hours, and
# sign-ups per hour from one client address and for one email address (0: no limit).
confirm_resend_hours = 6
subscribes_per_ip_per_hour = 20
subscribes_per_address_per_hour = 5
# Reverse proxies in front of `digest web` (their X-Forwarded-For gives the client's address).
trusted_proxies = 0

[delivery]
# A claim by a sender that died blocks its messages this long, then another run takes them.
lease_seconds = 600
messages_per_connection = 100
# SMTP connections in parallel, and a cap on messages per second over all of them (0: none).
connections = 4
rate_per_second = 0
# 4xx replies, timeouts and dropped connections are retried after retry_initial_seconds,
# doubling each time, until ttl_hours after the edition's first send; then they fail.
retry_initial_seconds = 300
ttl_hours = 12
# Permanent (5xx) refusals after which a subscriber is marked bounced.
max_hard_bounces = 3
# Consecutive failures after which a run pauses instead of working through the list.
pause_after_failures = 50
# DKIM signing (all three, or none): the key file is a PEM RSA private key.
dkim_selector = ""
dkim_domain = ""
dkim_private_key_file = ""
# Bounces come back to this address, as bounces+TOKEN@domain (TOKEN names the message), and
# each message carries Feedback-ID. Empty: the envelope sender is [smtp] sender's address.
bounce_address = ""

[schedule]
# `digest serve`: fetch this often, build this long before the send time.
fetch_every_minutes = 60
build_lead_minutes = 60
# Nothing on-topic arrived: "skip" (send nothing) or "note" (a short "no major developments").
quiet_day = "note"
# A send missed while the daemon was down still goes out on start-up if at most this late.
catch_up_hours = 12
# Only one `digest serve` per database: its lease lasts this long unless renewed.
lease_seconds = 60

[bounces]
# `digest bounces fetch` reads reports from this IMAP mailbox (password: DIGEST_IMAP_PASSWORD).
imap_host = ""
imap_port = 993
# "ssl" (IMAPS), "starttls" or "none"
imap_security = "ssl"
imap_user = ""
folder = "INBOX"
# After processing, "delete" the message or "move" it to move_to.
after = "delete"
move_to = ""
# Messages that are not bounce or complaint reports are kept in this folder.
unparsed_folder = "bounces-unparsed"
# Webhooks of `digest web` (see the README): each is off until its key is set.
ses_topic_arns = []
postmark_user = ""
postmark_secret = ""
mailgun_signing_key = ""
sendgrid_public_key = ""
"""
