"""digest send and the deliveries ledger, against a real aiosmtpd server."""

from __future__ import annotations

from click.testing import CliRunner

from digest.cli import cli
from tests.conftest import Workspace
from tests.servers import SmtpServer

DAY = "2025-06-02"
PEOPLE = [
    ("ada@example.com", "Ada Lovelace"),
    ("zoe@example.org", "Zoë Chen"),
    ("bob@example.net", None),
]


def ready(workspace: Workspace, fixture_feeds: dict[str, str]) -> None:
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("fetch")
    for email, name in PEOPLE:
        workspace.invoke("subscribers", "add", email, *(["--name", name] if name else []))


def test_subscribers_add_list_remove_show(workspace: Workspace):
    workspace.invoke("subscribers", "add", "  Ada@Example.COM ", "--name", "Ada")
    listed = workspace.json("subscribers", "list")
    assert [(s["email"], s["name"], s["status"]) for s in listed] == [
        ("ada@example.com", "Ada", "active")
    ]
    assert workspace.json("subscribers", "show", "ADA@example.com")["status"] == "active"
    dup = workspace.invoke("subscribers", "add", "ada@example.com", code=2)
    assert "already a subscriber" in dup.stderr
    bad = workspace.invoke("subscribers", "add", "not-an-address", code=2)
    assert "invalid address" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    workspace.invoke("subscribers", "remove", "ada@example.com")
    assert workspace.json("subscribers", "list") == []
    assert (
        "no subscriber"
        in workspace.invoke("subscribers", "remove", "ada@example.com", code=2).stderr
    )


def test_send_delivers_one_multipart_message_per_subscriber_and_never_twice(
    workspace, fixture_feeds, smtp_server: SmtpServer
):
    ready(workspace, fixture_feeds)
    report = workspace.json("send", "--any-date", "--date", DAY)
    assert report["date"] == DAY
    assert report["counts"] == {
        "pending": 0,
        "sending": 0,
        "sent": 3,
        "deferred": 0,
        "failed": 0,
        "skipped": 0,
    }
    assert sorted(smtp_server.handler.recipients()) == sorted(email for email, _ in PEOPLE)
    messages = smtp_server.handler.parsed()
    for message in messages:
        for header in ("From", "To", "Subject", "Date", "Message-ID", "List-Id"):
            assert len(message.get_all(header)) == 1, header
        assert message.get_content_type() == "multipart/alternative"
        parts = list(message.iter_parts())
        assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
        assert all(p.get_content_charset() == "utf-8" for p in parts)
        unsubscribe = message["List-Unsubscribe"]
        assert unsubscribe.startswith("<https://news.example/u/")
        assert unsubscribe.endswith(">, <mailto:leave@news.example?subject=unsubscribe>")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = unsubscribe[1 : unsubscribe.index(">")]
        assert link in parts[0].get_content() and link in parts[1].get_content()
        assert "style=" in parts[1].get_content()  # CSS inlined
        assert message["From"].addresses[0].addr_spec == "digest@news.example"
    # each message is personal: different unsubscribe links and Message-IDs
    assert len({m["List-Unsubscribe"] for m in messages}) == 3
    assert len({m["Message-ID"] for m in messages}) == 3
    zoe = next(m for m in messages if "zoe@example.org" in m["To"])
    assert zoe["To"].addresses[0].display_name == "Zoë Chen"

    again = workspace.json("send", "--any-date", "--date", DAY)
    assert again["counts"]["sent"] == 3 and again["sent_now"] == 0
    assert len(smtp_server.handler.messages) == 3
    ledger = workspace.json("deliveries", "--date", DAY)
    assert (ledger["date"], ledger["counts"]) == (DAY, report["counts"])
    assert ledger["recent_failures"] == [] and ledger["uncertain"] == 0
    rebuilt = workspace.invoke("build", "--date", DAY, code=1)
    assert "already sent" in rebuilt.stderr


def test_a_refused_recipient_fails_alone_and_the_send_still_exits_0(
    workspace, fixture_feeds, smtp_server: SmtpServer
):
    ready(workspace, fixture_feeds)
    smtp_server.handler.refuse.add("zoe@example.org")
    report = workspace.json("send", "--any-date", "--date", DAY)
    assert report["counts"]["sent"] == 2
    assert report["counts"]["failed"] == 1
    assert any("zoe@example.org" in failure and "550" in failure for failure in report["failures"])
    assert sorted(smtp_server.handler.recipients()) == ["ada@example.com", "bob@example.net"]
    [(reply,)] = workspace.sql("select last_reply from deliveries where status = 'failed'")
    assert reply.startswith("recipient zoe@example.org refused: 550")


def test_unreachable_smtp_server_exits_non_zero_and_loses_nothing(
    workspace, fixture_feeds, smtp_server: SmtpServer, isolated
):
    ready(workspace, fixture_feeds)
    real_port = workspace.smtp_port
    workspace.smtp_port = 9  # nothing listens on the discard port here
    workspace.write_config()
    result = workspace.invoke("send", "--any-date", "--date", DAY, code=1)
    assert "cannot connect to SMTP server 127.0.0.1:9" in result.stderr
    assert "Traceback" not in result.output
    assert workspace.json("deliveries", "--date", DAY)["counts"]["pending"] == 3
    workspace.smtp_port = real_port
    workspace.write_config()
    assert workspace.json("send", "--any-date", "--date", DAY)["counts"]["sent"] == 3
    assert len(smtp_server.handler.messages) == 3


def test_unsubscribed_before_the_send_gets_nothing(workspace, fixture_feeds, smtp_server):
    ready(workspace, fixture_feeds)
    workspace.sql("update subscribers set status = 'unsubscribed' where email = 'bob@example.net'")
    report = workspace.json("send", "--any-date", "--date", DAY)
    assert report["counts"]["sent"] == 2
    assert "bob@example.net" not in smtp_server.handler.recipients()


def test_run_fetches_builds_and_sends(workspace, fixture_feeds, smtp_server):
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("subscribers", "add", "ada@example.com")
    report = workspace.json("run", "--any-date", "--date", DAY)
    assert report["fetch"]["new"] == 12
    assert report["stories"] >= 3
    assert report["counts"]["sent"] == 1
    assert len(smtp_server.handler.messages) == 1
    second = workspace.json("run", "--any-date", "--date", DAY)
    assert second["counts"]["sent"] == 1 and len(smtp_server.handler.messages) == 1


def test_deliveries_of_a_day_without_edition_are_zero(workspace):
    counts = workspace.json("deliveries", "--date", "2020-01-01")["counts"]
    assert set(counts) == {"pending", "sending", "sent", "deferred", "failed", "skipped"}
    assert sum(counts.values()) == 0


def test_missing_config_gives_one_line_and_exit_2(isolated):
    result = CliRunner().invoke(cli, ["send"])
    assert result.exit_code == 2
    assert result.stderr.startswith("digest: error: no digest.toml")


def test_send_with_no_subscribers_leaves_the_edition_for_later(
    workspace, fixture_feeds, smtp_server
):
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("fetch")
    assert "no active subscribers" in workspace.invoke("send", "--any-date", "--date", DAY).stdout
    assert workspace.json("build", "--date", DAY)["status"] == "draft"  # still rebuildable
    workspace.invoke("subscribers", "add", "late@example.com")
    assert workspace.json("send", "--any-date", "--date", DAY)["counts"]["sent"] == 1
    assert smtp_server.handler.recipients() == ["late@example.com"]


def test_international_addresses(workspace, fixture_feeds, smtp_server):
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("fetch")
    workspace.invoke("subscribers", "add", "ada@bücher.example")  # IDN domain: punycode on the wire
    workspace.invoke("subscribers", "add", "zoë@example.com")  # needs SMTPUTF8, which we do not use
    workspace.invoke("subscribers", "add", "bob@example.net")
    report = workspace.json("send", "--any-date", "--date", DAY)
    assert report["counts"]["sent"] == 2 and report["counts"]["failed"] == 1
    assert sorted(smtp_server.handler.recipients()) == [
        "ada@xn--bcher-kva.example",
        "bob@example.net",
    ]
    assert any("zoë@example.com" in f and "SMTPUTF8" in f for f in report["failures"])


def test_a_dropped_connection_defers_that_delivery_and_the_rest_go_out(
    workspace, fixture_feeds, smtp_server
):
    ready(workspace, fixture_feeds)
    smtp_server.handler.drop.add("zoe@example.org")
    first = workspace.invoke("send", "--any-date", "--date", DAY)
    assert "due again" in first.stdout
    counts = workspace.json("deliveries", "--date", DAY)["counts"]
    assert counts["sent"] == 2 and counts["deferred"] == 1
    assert sorted(smtp_server.handler.recipients()) == ["ada@example.com", "bob@example.net"]
    # run again before the retry is due: nothing is sent twice, the deferred one waits
    again = workspace.json("send", "--any-date", "--date", DAY)
    assert again["sent_now"] == 0 and again["next_retry"] is not None
    assert len(smtp_server.handler.messages) == 2
    # once due (here: made due by hand), only the deferred one goes out, with its Message-ID
    [(message_id,)] = workspace.sql("select message_id from deliveries where status = 'deferred'")
    workspace.sql("update deliveries set next_attempt_at = '2000-01-01 00:00:00'")
    smtp_server.handler.drop.clear()
    final = workspace.json("send", "--any-date", "--date", DAY)
    assert final["counts"]["sent"] == 3 and final["sent_now"] == 1
    assert smtp_server.handler.recipients()[-1] == "zoe@example.org"
    assert smtp_server.handler.parsed()[-1]["Message-ID"] == message_id
