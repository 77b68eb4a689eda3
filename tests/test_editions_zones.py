"""One edition date across time zones: approval, editor changes, counts, moves, the archive.

Real parts: a SQLite file, the fixture feeds over loopback HTTP, an aiosmtpd sink; the clock is
injected so the send moments of each zone are exact.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from email import message_from_bytes
from email.message import Message

import pytest

from digest import jobs
from digest.app import App, make_app
from digest.clock import fixed_clock
from digest.config import load_settings
from digest.desk.changes import story_key
from digest.editions.service import Editions
from digest.sendtimes import send_moment
from digest.types import EditionStatus, RunOutcome
from tests.conftest import Workspace

DAY = date(2025, 6, 2)
PEOPLE = {
    "ada@example.com": None,  # the digest's own zone (UTC)
    "kei@example.jp": "Asia/Tokyo",
    "ny@example.com": "America/New_York",
    "lon@example.co.uk": "Europe/London",
}
NEW_HEADLINE = "Edited: Washington blacklists twelve chipmakers"


def app_at(workspace: Workspace, moment: datetime) -> App:
    return make_app(load_settings(workspace.config), clock=fixed_clock(moment))


def approval_required(workspace: Workspace) -> None:
    workspace.write_config(require_approval="true")
    workspace.config.write_text(
        workspace.config.read_text().replace('require_approval = "true"', "require_approval = true")
    )


def ready(workspace: Workspace, feeds: dict[str, str]) -> None:
    workspace.invoke("feeds", "add", *feeds.values())
    workspace.invoke("fetch")
    for email, zone in PEOPLE.items():
        workspace.invoke("subscribers", "add", email)
        if zone:
            workspace.invoke("subscribers", "set", email, "--timezone", zone)


def zone_send(workspace: Workspace, zone: str) -> jobs.SendResult:
    """The scheduler's send job for ``zone``, run at that zone's send moment of DAY."""
    with app_at(workspace, datetime(2025, 6, 1, tzinfo=UTC)) as probe:
        moment = send_moment(DAY, probe.settings.digest, zone)
    with app_at(workspace, moment) as app:
        return jobs.run_send(app, DAY, zone)


def bodies(smtp_server) -> dict[str, Message]:
    got: dict[str, Message] = {}
    for _, rcpts, raw in smtp_server.handler.messages:
        for rcpt in rcpts:
            assert rcpt not in got, f"{rcpt} got two messages"
            got[rcpt] = message_from_bytes(raw)
    return got


def text_of(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            return part.get_payload(decode=True).decode("utf-8")
    raise AssertionError("no text part")


def story_keys(workspace: Workspace) -> tuple[str, str]:
    with app_at(workspace, datetime(2025, 6, 2, 5, tzinfo=UTC)) as app:
        editions = Editions(app)
        built = editions.get_or_build(editions.key(DAY))
        gallium = next(story_key(s) for s in built.stories if "gallium" in s.title.lower())
        blacklist = next(
            story_key(s)
            for s in built.stories
            if "chip" in s.title.lower() and "12" in s.title or "blacklist" in s.title.lower()
        )
    return gallium, blacklist


def test_approved_date_goes_to_every_zone_once_with_the_edits(
    workspace, fixture_feeds, smtp_server
):
    approval_required(workspace)
    ready(workspace, fixture_feeds)
    gallium, blacklist = story_keys(workspace)
    # the desk's changes, made on the date (the desk and the CLI share the editions service)
    with app_at(workspace, datetime(2025, 6, 1, 12, tzinfo=UTC)) as app:
        editions = Editions(app)
        editions.record(DAY, "exclude", gallium)
        editions.record(DAY, "title", blacklist, NEW_HEADLINE)
    approved = workspace.invoke("approve", "--date", DAY.isoformat()).stdout.splitlines()
    assert sorted(approved) == sorted(
        f"{DAY}{' ' + z if z else ''}: approved"
        for z in ("", "America/New_York", "Asia/Tokyo", "Europe/London")
    )
    results = [
        zone_send(workspace, zone)
        for zone in ("Asia/Tokyo", "Europe/London", "", "America/New_York")
    ]
    assert [r.run.outcome for r in results] == [RunOutcome.OK] * 4
    got = bodies(smtp_server)
    assert sorted(got) == sorted(PEOPLE)  # each exactly once
    for rcpt, message in got.items():
        text = text_of(message)
        assert NEW_HEADLINE in text, rcpt
        assert "gallium" not in text.lower(), rcpt
        # the online link opens the subscriber's own zone edition
        zone = PEOPLE[rcpt]
        assert f"/archive/{DAY}{'/' + zone if zone else ''}" in text
    # the counts printed are what went out: the excluded story is not counted
    with app_at(workspace, datetime(2025, 6, 2, 12, tzinfo=UTC)) as app:
        editions = Editions(app)
        for result in results:
            sent = editions.get(editions.key(DAY, result.zone))
            assert sent is not None and sent.status == EditionStatus.SENT
            assert result.run.counts["stories"] == len(sent.stories)
            assert gallium not in {story_key(s) for s in sent.stories}
    # Ada moves to London after the date went out: London's run sends her nothing more
    workspace.invoke("subscribers", "set", "ada@example.com", "--timezone", "Europe/London")
    again = workspace.json(
        "send", "--any-date", "--date", DAY.isoformat(), "--zone", "Europe/London"
    )
    assert again["sent_now"] == 0
    assert len(smtp_server.handler.messages) == 4
    data = json.loads(workspace.invoke("subscribers", "export-data", "ada@example.com").stdout)
    assert [d["edition"] for d in data["deliveries"]] == [DAY.isoformat()]


def test_a_zone_not_approved_is_held_and_approve_reaches_it(workspace, fixture_feeds, smtp_server):
    approval_required(workspace)
    ready(workspace, fixture_feeds)
    held = zone_send(workspace, "Asia/Tokyo")
    assert held.run.outcome == RunOutcome.HELD and smtp_server.handler.messages == []
    # `digest approve` without --zone approves the Tokyo edition too
    lines = workspace.invoke("approve", "--date", DAY.isoformat()).stdout
    assert f"{DAY} Asia/Tokyo: approved" in lines
    sent = zone_send(workspace, "Asia/Tokyo")
    assert sent.run.outcome == RunOutcome.OK
    assert smtp_server.handler.recipients() == ["kei@example.jp"]


def test_zone_options_of_approve_hold_deliveries_and_preview(workspace, fixture_feeds):
    ready(workspace, fixture_feeds)
    day = DAY.isoformat()
    held = workspace.invoke("hold", "--date", day, "--zone", "Asia/Tokyo", "--reason", "check")
    assert held.stdout.strip() == f"{day} Asia/Tokyo: held (check)"
    deliveries = workspace.json("deliveries", "--date", day)
    assert deliveries["zone"] == "default"
    assert "Asia/Tokyo" in deliveries["other_zones"]
    tokyo = workspace.json("deliveries", "--date", day, "--zone", "Asia/Tokyo")
    assert tokyo["zone"] == "Asia/Tokyo" and tokyo["other_zones"] == []
    preview = workspace.invoke("preview", "--date", day, "--zone", "Asia/Tokyo").stdout
    assert "digest-2025-06-02-Asia-Tokyo.html" in preview
    plain = workspace.invoke("preview", "--date", day).stdout
    assert "other zones of 2025-06-02" in plain and "Asia/Tokyo" in plain
    refused = workspace.invoke(
        "send", "--any-date", "--date", day, "--zone", "Asia/Tokyo", code=None
    )
    assert refused.exit_code != 0 and "held by an editor" in refused.stderr
    for command in ("approve", "hold", "preview", "build", "deliveries"):
        unknown = workspace.invoke(command, "--date", day, "--zone", "Mars/Base", code=2)
        assert "unknown time zone 'Mars/Base'" in unknown.stderr, command


def test_the_archive_lists_a_date_once_and_each_zone_edition_has_its_page(
    workspace, fixture_feeds, smtp_server
):
    ready(workspace, fixture_feeds)
    for zone in ("Asia/Tokyo", "Europe/London"):
        zone_send(workspace, zone)
    from digest.web.app import create_web_app

    with app_at(workspace, datetime(2025, 6, 2, 12, tzinfo=UTC)) as app:
        web = create_web_app(app)
        web.testing = True
        client = web.test_client()
        index = client.get("/archive").get_data(as_text=True)
        assert index.count(f'href="/archive/{DAY}"') == 1
        assert f'href="/archive/{DAY}/Asia/Tokyo"' in index
        # the default zone's edition has not gone out: the date's page is the first sent zone's
        assert client.get(f"/archive/{DAY}").status_code == 200
        assert client.get(f"/archive/{DAY}/Asia/Tokyo").status_code == 200
        assert client.get(f"/archive/{DAY}/America/New_York").status_code == 404
        assert client.get(f"/archive/{DAY}/No/Such_Zone").status_code == 404
        atom = client.get("/archive.atom").get_data(as_text=True)
        ids = [line for line in atom.split("<id>")[1:]]
        ids = [part.split("</id>")[0] for part in ids]
        assert len(ids) == len(set(ids))  # unique
        assert f"https://news.example/archive/{DAY}" in ids


@pytest.mark.parametrize(
    ("command", "day", "wanted"),
    [
        ("send", "1900-01-01", "time-to-live"),
        ("run", "1900-01-01", "time-to-live"),
        ("send", "2999-01-01", "more than a day ahead"),
    ],
)
def test_send_and_run_refuse_dates_nobody_meant(workspace, smtp_server, command, day, wanted):
    workspace.invoke("subscribers", "add", "ada@example.com")
    refused = workspace.invoke(command, "--date", day, code=2)
    assert wanted in refused.stderr and "--any-date" in refused.stderr
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert smtp_server.handler.messages == []


def test_build_takes_any_calendar_date_and_explains_the_rest(workspace):
    early = workspace.json("build", "--date", "0001-01-02")
    assert early["date"] == "0001-01-02" and early["sections"] is not None
    refused = workspace.invoke("build", "--date", "0001-01-01", code=2)
    assert "calendar" in refused.stderr and refused.stderr.count("\n") == 1
    tokyo = workspace.invoke("preview", "--date", "0001-01-01", "--zone", "Asia/Tokyo", code=2)
    assert "calendar" in tokyo.stderr


def test_a_moved_subscriber_gets_a_date_once(workspace, fixture_feeds, smtp_server):
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("fetch")
    workspace.invoke("subscribers", "add", "ada@example.com")
    workspace.invoke("subscribers", "add", "bob@example.com")
    workspace.invoke("send", "--any-date", "--date", DAY.isoformat())
    assert len(smtp_server.handler.messages) == 2
    workspace.invoke("subscribers", "set", "ada@example.com", "--timezone", "Europe/London")
    report = workspace.json(
        "send", "--any-date", "--date", DAY.isoformat(), "--zone", "Europe/London"
    )
    assert report["sent_now"] == 0 and len(smtp_server.handler.messages) == 2
    rows = workspace.sql(
        "select count(*) from deliveries d join subscribers s on s.id = d.subscriber_id "
        "where s.email = 'ada@example.com'"
    )
    assert rows == [(1,)]


def test_run_prints_the_story_count_that_went_out(workspace, fixture_feeds, smtp_server):
    workspace.invoke("feeds", "add", *fixture_feeds.values())
    workspace.invoke("fetch")
    workspace.invoke("subscribers", "add", "ada@example.com")
    built = workspace.json("build", "--date", DAY.isoformat())
    total = sum(len(section["stories"]) for section in built["sections"])
    gallium, _ = story_keys(workspace)
    with app_at(workspace, datetime(2025, 6, 2, 5, tzinfo=UTC)) as app:
        Editions(app).record(DAY, "exclude", gallium)
    daily = workspace.json("run", "--any-date", "--date", DAY.isoformat())
    assert daily["stories"] == total - 1 == daily["zones"][0]["stories"]
    plain = workspace.invoke("run", "--any-date", "--date", DAY.isoformat()).stdout
    assert f"{total - 1} stories" in plain
