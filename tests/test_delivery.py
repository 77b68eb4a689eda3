"""Delivery under faults: a fault-injecting aiosmtpd server, killed senders, parallel senders."""

from __future__ import annotations

import html
import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from digest import services
from digest.app import make_app
from digest.config import SmtpSettings, load_settings
from digest.delivery.smtp import SmtpMailer
from digest.editions.service import Editions
from tests.conftest import Workspace
from tests.databases import run_sql
from tests.servers import SmtpServer

DAY = "2025-06-02"
ROOT = Path(__file__).resolve().parent.parent


def delivery_config(workspace: Workspace, **values: object) -> None:
    lines = "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())
    workspace.write_config(extra=f"[delivery]\n{lines}")


def add_subscribers(
    workspace: Workspace, emails: list[str], *, sections: list[str] | None = None, fmt="html"
) -> None:
    """Bulk insert active subscribers (the CLI would take a process start per address)."""
    workspace.invoke("subscribers", "list")  # creates the database
    stamp = "2025-06-01 00:00:00.000000"
    workspace.sql(
        "insert into subscribers (email, name, status, sections, format, consent_at,"
        " consent_source, created_at, updated_at) values (:email, null, 'active', :sections,"
        " :fmt, :stamp, 'test', :stamp, :stamp)",
        [
            {"email": email, "sections": json.dumps(sections or []), "fmt": fmt, "stamp": stamp}
            for email in emails
        ],
    )
    # on the default list, which is what `digest subscribers add` does
    workspace.sql(
        "insert into lists (name, topic, created_at) values ('default', null, :stamp)"
        " on conflict do nothing",
        stamp=stamp,
    )
    workspace.sql(
        "insert into list_members (list_id, subscriber_id, created_at)"
        " select lists.id, subscribers.id, :stamp from lists, subscribers"
        " where lists.name = 'default' on conflict do nothing",
        stamp=stamp,
    )


def built(workspace: Workspace, fixture_feeds: dict[str, str]) -> dict:
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("fetch")
    return workspace.json("build", "--date", DAY)


def ledger(workspace: Workspace) -> dict[str, tuple[str, str, str | None]]:
    return {
        email: (status, message_id, reply)
        for email, status, message_id, reply in workspace.sql(
            "select email, status, message_id, last_reply from deliveries"
        )
    }


def test_faults_defer_fail_and_retry_with_exact_counts(
    workspace: Workspace, fixture_feeds, smtp_server: SmtpServer
):
    built(workspace, fixture_feeds)
    people = [f"reader{n}@example.com" for n in range(10)]
    add_subscribers(workspace, people)
    delivery_config(
        workspace, connections=2, retry_initial_seconds=0, max_hard_bounces=1, ttl_hours=1
    )
    server = smtp_server.handler
    server.stall_seconds = 2.5
    server.faults = {
        people[1]: ["451 4.3.0 try again later"],
        people[2]: ["452 4.2.2 mailbox full"],
        people[3]: ["550 5.1.1 no such user"],
        people[4]: ["421 4.7.0 too many connections"],
        people[5]: ["drop"],
        people[6]: ["stall"],
    }
    text = workspace.config.read_text().replace("timeout_seconds = 5", "timeout_seconds = 1")
    workspace.config.write_text(text)

    first = workspace.json("send", "--any-date", "--date", DAY)
    assert first["counts"] == {
        "pending": 0,
        "sending": 0,
        "sent": 4,
        "deferred": 5,
        "failed": 1,
        "skipped": 0,
    }
    assert sorted(server.recipients()) == sorted(people[i] for i in (0, 7, 8, 9))
    rows = ledger(workspace)
    assert rows[people[3]][0] == "failed" and "550 5.1.1" in (rows[people[3]][2] or "")
    assert "451" in (rows[people[1]][2] or "") and "452" in (rows[people[2]][2] or "")
    assert "421" in (rows[people[4]][2] or "")
    assert "connection lost" in (rows[people[5]][2] or "")
    assert "connection lost" in (rows[people[6]][2] or "")  # timed out
    assert server.connections >= 4  # 421, drop and stall each cost a connection
    [(status, bounces)] = workspace.sql(
        "select status, hard_bounces from subscribers where email = :email", email=people[3]
    )
    assert (status, bounces) == ("bounced", 1)

    report = workspace.json("deliveries", "--date", DAY)
    assert {f["email"] for f in report["recent_failures"]} == {people[i] for i in range(1, 7)}

    # the retry: each deferred one goes out once, with the Message-ID it was first sent with
    second = workspace.json("send", "--any-date", "--date", DAY)
    assert second["sent_now"] == 5 and second["counts"]["sent"] == 9
    assert second["counts"]["failed"] == 1 and second["counts"]["deferred"] == 0
    received = Counter(server.recipients())
    assert received == Counter(p for p in people if p != people[3])
    after = ledger(workspace)
    ids = server.message_ids()
    assert len(ids) == len(set(ids)) == 9
    for person in (people[i] for i in (1, 2, 4, 5, 6)):
        assert rows[person][1] == after[person][1] and after[person][1] in ids
    assert workspace.json("send", "--any-date", "--date", DAY)["sent_now"] == 0


def test_deferred_past_the_ttl_fails(workspace, fixture_feeds, smtp_server):
    built(workspace, fixture_feeds)
    add_subscribers(workspace, ["a@example.com", "b@example.com"])
    delivery_config(workspace, ttl_hours=0)
    smtp_server.handler.faults = {"b@example.com": ["451 4.3.0 later"]}
    report = workspace.json("send", "--any-date", "--date", DAY)
    assert report["counts"]["sent"] == 1 and report["counts"]["failed"] == 1
    assert report["counts"]["deferred"] == 0 and report["next_retry"] is None
    assert "ttl_hours" in ledger(workspace)["b@example.com"][2]


def test_many_failures_in_a_row_pause_the_run(workspace, fixture_feeds, smtp_server):
    built(workspace, fixture_feeds)
    people = [f"p{n}@example.com" for n in range(12)]
    add_subscribers(workspace, people)
    delivery_config(workspace, connections=1, pause_after_failures=3)
    smtp_server.handler.faults = {p: ["451 4.3.0 greylisted"] for p in people}
    result = workspace.invoke("send", "--any-date", "--date", DAY, code=1)
    # a connection that failed waits for the count before its next try: exactly three go
    assert re.search(r"paused after 3 failures in a row \(last: .*451 4.3.0", result.stderr)
    counts = workspace.json("deliveries", "--date", DAY)["counts"]
    assert counts["sending"] == 0 and counts["sent"] == 0
    assert counts["deferred"] == 3 and counts["pending"] == 12 - 3
    assert smtp_server.handler.messages == []


def test_a_pause_stops_every_connection_before_its_next_message(
    workspace, fixture_feeds, smtp_server
):
    """With several connections (and a rate limit that keeps them waiting for their slots),
    the pause reaches each connection before its next message: beyond the failures that
    paused the run, at most the one message each other connection already had under way."""
    built(workspace, fixture_feeds)
    people = [f"p{n:02}@example.com" for n in range(40)]
    add_subscribers(workspace, people)
    connections, pause_after = 3, 3
    delivery_config(
        workspace, connections=connections, pause_after_failures=pause_after, rate_per_second=20
    )
    smtp_server.handler.faults = {p: ["451 4.3.0 greylisted"] for p in people}
    result = workspace.invoke("send", "--any-date", "--date", DAY, code=1)
    assert "paused after" in result.stderr
    counts = workspace.json("deliveries", "--date", DAY)["counts"]
    tried = len(smtp_server.handler.injected)  # every message the relay saw
    assert pause_after <= counts["deferred"] == tried <= pause_after + connections - 1
    assert counts["sent"] == counts["sending"] == 0
    assert counts["pending"] == len(people) - tried


def test_preferences_choose_sections_and_plain_text(workspace, fixture_feeds, smtp_server):
    edition = built(workspace, fixture_feeds)
    sections = edition["sections"]
    assert len(sections) >= 2
    chosen = sections[0]
    add_subscribers(workspace, ["all@example.com"])
    add_subscribers(workspace, ["one@example.com"], sections=[chosen["key"]])
    add_subscribers(workspace, ["text@example.com"], fmt="text")
    dry = workspace.json("send", "--any-date", "--date", DAY, "--dry-run")
    assert dry["dry_run"] is True and dry["would_send"] == 3
    assert dry["variants"] == {"html": 1, f"html:{chosen['key']}": 1, "text": 1}
    assert all(0 < size < 102 * 1024 for size in dry["sizes"].values())
    assert smtp_server.handler.messages == [] and workspace.json(
        "send", "--any-date", "--date", DAY
    )
    by_rcpt = dict(zip(smtp_server.handler.recipients(), smtp_server.handler.parsed(), strict=True))
    plain = by_rcpt["text@example.com"]
    assert plain.get_content_type() == "text/plain" and not plain.is_multipart()
    assert plain.get_content_charset() == "utf-8"
    one_html = list(by_rcpt["one@example.com"].iter_parts())[1].get_content()
    all_html = list(by_rcpt["all@example.com"].iter_parts())[1].get_content()
    assert html.escape(chosen["title"]) in one_html
    for other in sections[1:]:
        title = html.escape(other["title"])
        assert title in all_html and title not in one_html


def test_dkim_signature_covers_list_unsubscribe_and_verifies(
    workspace, fixture_feeds, smtp_server, isolated
):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    (isolated / "dkim.pem").write_bytes(pem)
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    built(workspace, fixture_feeds)
    add_subscribers(workspace, ["a@example.com", "b@example.org"])
    delivery_config(
        workspace,
        dkim_selector="mail",
        dkim_domain="news.example",
        dkim_private_key_file="dkim.pem",
    )
    assert workspace.json("send", "--any-date", "--date", DAY)["counts"]["sent"] == 2

    def dns(name, timeout=5):
        assert name == b"mail._domainkey.news.example."
        return record

    for _, _, data in smtp_server.handler.messages:
        assert data.startswith(b"DKIM-Signature:")
        assert dkim.verify(data, dnsfunc=dns)
        signature = data.split(b"\r\n\r\n", 1)[0].split(b"DKIM-Signature:", 1)[1]
        signed = signature.split(b"h=", 1)[1].split(b";", 1)[0].replace(b"\r\n", b"")
        fields = {field.strip().lower() for field in signed.split(b":")}
        assert {b"list-unsubscribe", b"list-unsubscribe-post", b"from", b"to"} <= fields
        tampered = data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click", b"X: y")
        assert not dkim.verify(tampered, dnsfunc=dns)


def test_stop_event_finishes_in_flight_and_gives_the_rest_back(
    workspace, fixture_feeds, smtp_server
):
    built(workspace, fixture_feeds)
    people = [f"s{n}@example.com" for n in range(30)]
    add_subscribers(workspace, people)
    delivery_config(workspace, connections=2)
    smtp_server.handler.delay = 0.02
    stop = threading.Event()
    seen: list[str] = []

    def on_message(delivery, outcome):
        seen.append(outcome)
        if len(seen) == 5:
            stop.set()

    with make_app(load_settings(workspace.config)) as app:
        editions = Editions(app)
        edition = editions.get_or_build(editions.key(date.fromisoformat(DAY)))
        report = services.send(app, edition, on_message=on_message, stop=stop)
    assert report.stopped
    assert report.counts["sending"] == 0
    assert report.counts["sent"] == report.sent_now == len(smtp_server.handler.messages)
    assert report.counts["pending"] == 30 - report.sent_now > 0
    workspace.json("send", "--any-date", "--date", DAY)
    assert sorted(smtp_server.handler.recipients()) == sorted(people)


def _send_process(workspace: Workspace) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "digest",
            "--config",
            str(workspace.config),
            "send",
            "--any-date",
            "--json",
            "--date",
            DAY,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def test_killed_mid_send_the_rerun_sends_the_rest_and_repeats_at_most_one_per_connection(
    workspace, fixture_feeds, smtp_server
):
    """SIGKILL a real `digest send` mid-run against a relay that takes 20 ms to answer each
    message: the ledger holds every accepted message before that connection sends another, so
    the re-run misses nobody and repeats at most the message each connection had in flight."""
    built(workspace, fixture_feeds)
    people = [f"k{n}@example.com" for n in range(160)]
    add_subscribers(workspace, people)
    connections = 4
    delivery_config(workspace, connections=connections)
    smtp_server.handler.delay = 0.02
    # the relay holds every message after the 40th: the kill lands mid-run however loaded
    # the machine (those held, already sent in full, are accepted once the sender is dead)
    smtp_server.handler.hold_after = 40
    process = _send_process(workspace)
    try:
        assert smtp_server.handler.wait_for(40), "the sender never got going"
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
        assert smtp_server.handler.release_held()
    got_before = len(smtp_server.handler.messages)
    assert 40 <= got_before <= 40 + connections

    # The re-run comes after the dead sender's lease, as it would later. The killed process dated
    # its claims by the system clock, so the re-run's clock is that one read once, moved past the
    # lease, and then held still (the figures do not depend on the hour).
    settings = load_settings(workspace.config)
    after_lease = datetime.now(UTC) + timedelta(seconds=settings.delivery.lease_seconds + 1)
    with make_app(settings, clock=lambda: after_lease) as app:
        editions = Editions(app)
        edition = editions.get_or_build(editions.key(date.fromisoformat(DAY)))
        report = services.send(app, edition)
    assert report.counts["sent"] == len(people)
    received = Counter(smtp_server.handler.recipients())
    assert set(received) == set(people)  # nobody missing
    duplicates = sum(count - 1 for count in received.values())
    assert duplicates <= connections
    # every repeat is among the deliveries reported as uncertain
    repeated = {email for email, count in received.items() if count > 1}
    rows = workspace.sql("select email from deliveries where uncertain")
    uncertain = {email for (email,) in rows}
    assert repeated <= uncertain
    assert report.uncertain == len(uncertain)
    assert workspace.json("deliveries", "--date", DAY)["uncertain"] == report.uncertain


def test_the_message_text_waits_for_ready_and_goes_nowhere_if_ready_fails(smtp_server):
    """What the sender relies on: the server cannot accept a message before ``ready`` returns,
    and a ``ready`` that fails leaves it undelivered."""
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=smtp_server.port, timeout_seconds=5))
    body = b"Subject: hi\r\n\r\nhello\r\n"
    accepted_at_ready: list[int] = []

    def ready() -> None:
        accepted_at_ready.append(len(smtp_server.handler.messages))

    mailer.send("d@news.example", "a@example.com", body, ready=ready)
    mailer.send("d@news.example", "b@example.com", body, ready=ready)
    assert accepted_at_ready == [0, 1]  # each was not in before its ready returned

    def ledger_gone() -> None:
        raise RuntimeError("the ledger is gone")

    with pytest.raises(RuntimeError):
        mailer.send("d@news.example", "c@example.com", body, ready=ledger_gone)
    assert not mailer.is_open  # dropped mid-DATA
    mailer.send("d@news.example", "e@example.com", body)  # the next one reconnects
    mailer.close()
    assert smtp_server.handler.recipients() == ["a@example.com", "b@example.com", "e@example.com"]


def test_two_senders_at_once_never_send_anyone_two(workspace, fixture_feeds, smtp_server):
    built(workspace, fixture_feeds)
    people = [f"t{n}@example.com" for n in range(60)]
    add_subscribers(workspace, people)
    delivery_config(workspace, connections=2)
    smtp_server.handler.delay = 0.01
    first, second = _send_process(workspace), _send_process(workspace)
    outputs = [process.communicate(timeout=120) for process in (first, second)]
    assert [process.returncode for process in (first, second)] == [0, 0], outputs
    sent_now = [json.loads(out)["sent_now"] for out, _ in outputs]
    assert sum(sent_now) == 60
    assert Counter(smtp_server.handler.recipients()) == Counter(people)


@pytest.mark.parametrize("value", ["connections = 0", "rate_per_second = -1"])
def test_bad_delivery_settings_are_one_line_errors(workspace, value):
    workspace.write_config(extra=f"[delivery]\n{value}\n")
    result = workspace.invoke("deliveries", code=2)
    assert result.stderr.startswith("digest: error: [delivery]")
    assert len(result.stderr.strip().splitlines()) == 1


def test_each_connection_carries_at_most_messages_per_connection(
    workspace, fixture_feeds, smtp_server
):
    built(workspace, fixture_feeds)
    add_subscribers(workspace, [f"m{n}@example.com" for n in range(5)])
    delivery_config(workspace, connections=1, messages_per_connection=2, rate_per_second=1000)
    assert workspace.json("send", "--any-date", "--date", DAY)["counts"]["sent"] == 5
    assert smtp_server.handler.connections == 3  # 2 + 2 + 1


def test_the_migration_keeps_existing_deliveries(database_url):
    from alembic import command

    from digest.store.database import Database, _alembic_config

    url = database_url
    database = Database(url)
    cfg = _alembic_config()
    with database.engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0003")
    stamp = "2025-06-01 00:00:00.000000"
    run_sql(
        url,
        "insert into subscribers (id, email, status, sections, format, created_at,"
        " updated_at) values (1, 'old@example.com', 'active', '[]', 'html', :stamp, :stamp)",
        {"stamp": stamp},
    )
    run_sql(
        url,
        "insert into editions (id, topic, edition_date, status, content, changes, built_at)"
        " values (1, 'us-china-trade', '2025-06-01', 'sent', '{}', '[]', :stamp)",
        {"stamp": stamp},
    )
    run_sql(
        url,
        "insert into deliveries (edition_id, subscriber_id, email, status, attempts,"
        " message_id, created_at) values (1, 1, 'old@example.com', 'sent', 1, '<1@x>', :stamp)",
        {"stamp": stamp},
    )
    database.upgrade()
    database.close()
    [row] = run_sql(
        url, "select email, status, message_id, name, variant, uncertain from deliveries"
    )
    bounces = run_sql(url, "select hard_bounces from subscribers")
    assert row == ("old@example.com", "sent", "<1@x>", None, None, 0)
    assert bounces == [(0,)]


def test_an_edition_too_large_to_send_fails_before_anything_is_written(
    workspace, fixture_feeds, smtp_server
):
    built(workspace, fixture_feeds)
    add_subscribers(workspace, ["a@example.com"])
    # a contact line so long that the message would be clipped by Gmail
    workspace.write_config(extra=f'contact_line = "{"Harbour Street 1, " * 7000}"\n')
    result = workspace.invoke("send", "--any-date", "--date", DAY, code=1)
    assert "over the 102 KB" in result.stderr and len(result.stderr.splitlines()) == 1
    assert sum(workspace.json("deliveries", "--date", DAY)["counts"].values()) == 0
    assert smtp_server.handler.messages == []
