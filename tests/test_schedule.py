"""Scheduling logic with an injected clock: send times per zone, DST, catch-up, policies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from digest import jobs
from digest.app import App, make_app
from digest.clock import fixed_clock
from digest.config import DigestSettings, load_settings
from digest.loopback import free_port
from digest.sendtimes import (
    LocalDailyTrigger,
    catch_up_date,
    latest_send,
    send_moment,
    zone_groups,
)
from digest.store.runs import DaemonLeases, RunLog
from digest.types import EditionStatus, RunOutcome
from digest.windows import edition_window
from tests.conftest import Workspace

# (zone, a spring-forward date, a fall-back date) in 2026
DST_DATES = [
    ("America/New_York", date(2026, 3, 8), date(2026, 11, 1)),
    ("Europe/London", date(2026, 3, 29), date(2026, 10, 25)),
    ("Australia/Sydney", date(2026, 10, 4), date(2026, 4, 5)),
]
# 06:00 is ordinary; 01:30 and 02:30 fall inside the skipped or repeated hour somewhere above.
SEND_TIMES = ["06:00", "01:30", "02:30"]


def fires(trigger: LocalDailyTrigger, start: datetime, count: int) -> list[datetime]:
    """Fire times the way APScheduler asks for them: previous fire time and "now"."""
    out: list[datetime] = []
    previous, now = None, start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        out.append(fire)
        previous, now = fire, fire
    return out


@pytest.mark.parametrize("send_time", SEND_TIMES)
@pytest.mark.parametrize(("zone", "spring", "autumn"), DST_DATES)
def test_exactly_one_send_per_local_date_across_dst(zone, spring, autumn, send_time):
    tz = ZoneInfo(zone)
    settings = DigestSettings(timezone=zone, send_time=send_time)
    for change in (spring, autumn):
        start = datetime.combine(change - timedelta(days=4), datetime.min.time(), tzinfo=tz)
        times = fires(LocalDailyTrigger(send_time, zone), start, 9)
        local_dates = [t.astimezone(tz).date() for t in times]
        assert local_dates == [change - timedelta(days=4 - i) for i in range(9)]
        stamps = [t.timestamp() for t in times]
        assert stamps == sorted(set(stamps))
        for fire, day in zip(times, local_dates, strict=True):
            window = edition_window(day, settings)
            # each send covers exactly the hours since the previous one: no gap, no overlap
            # (timestamps: Python never calls an ambiguous local time equal to a UTC one)
            assert (
                window.end.timestamp() == fire.timestamp() == send_moment(day, settings).timestamp()
            )
            assert window.start == send_moment(day - timedelta(days=1), settings)
            assert window.end - window.start in {
                timedelta(hours=23),
                timedelta(hours=24),
                timedelta(hours=25),
            }


def test_build_trigger_fires_lead_minutes_before_each_send():
    trigger = LocalDailyTrigger("00:20", "Europe/London", lead_minutes=45)
    start = datetime(2026, 3, 27, 12, tzinfo=UTC)
    settings = DigestSettings(timezone="Europe/London", send_time="00:20")
    for fire in fires(trigger, start, 4):
        day, moment = latest_send(fire + timedelta(minutes=45), settings)
        assert moment - fire == timedelta(minutes=45)
        assert fire.astimezone(settings.zone).date() == day - timedelta(days=1)


def test_zone_groups_put_unknown_and_unset_zones_with_the_digest():
    settings = DigestSettings(timezone="Europe/Paris")
    groups = zone_groups(settings, [None, "Europe/Paris", "Asia/Tokyo", "Mars/Olympus", ""])
    assert list(groups) == ["", "Asia/Tokyo"]
    assert groups[""] == {None, "", "Europe/Paris", "Mars/Olympus"}
    assert groups["Asia/Tokyo"] == {"Asia/Tokyo"}


def test_catch_up_only_ever_the_latest_send_within_its_ttl():
    settings = DigestSettings(timezone="UTC", send_time="06:00")
    ttl = timedelta(hours=12)
    # down since three days ago; back at 09:00: today's only
    assert catch_up_date(datetime(2026, 5, 4, 9, tzinfo=UTC), settings, "", ttl) == date(2026, 5, 4)
    # back at 05:00: yesterday's send is 23 hours old, past its time-to-live
    assert catch_up_date(datetime(2026, 5, 4, 5, tzinfo=UTC), settings, "", ttl) is None
    # Tokyo's morning has long passed at 09:00 UTC... and is 12 hours old at 09:00 UTC
    assert catch_up_date(
        datetime(2026, 5, 4, 8, 59, tzinfo=UTC), settings, "Asia/Tokyo", ttl
    ) == date(2026, 5, 4)


# --- jobs against a real database, real loopback feeds and a real SMTP server ---------------

DAY = date(2025, 6, 2)
SEND = datetime(2025, 6, 2, 6, tzinfo=UTC)


def app_at(workspace: Workspace, moment: datetime) -> App:
    return make_app(load_settings(workspace.config), clock=fixed_clock(moment))


def ready(workspace: Workspace, feeds: dict[str, str], *people: str) -> None:
    workspace.invoke("feeds", "add", *feeds.values())
    for email in people:
        workspace.invoke("subscribers", "add", email)


def test_catch_up_after_three_days_down_sends_todays_edition_once(
    workspace, fixture_feeds, smtp_server
):
    ready(workspace, fixture_feeds, "ada@example.com", "bob@example.net")
    with app_at(workspace, SEND + timedelta(hours=2)) as app:
        jobs.run_fetch(app)
        results = jobs.catch_up(app)
        assert [(r.day, r.run.outcome) for r in results] == [(DAY, RunOutcome.OK)]
        assert sorted(smtp_server.handler.recipients()) == ["ada@example.com", "bob@example.net"]
        assert jobs.catch_up(app) == []  # done: a restart does not send it again
        editions = workspace.sql("select edition_date from editions")
        assert [str(row[0]) for row in editions] == ["2025-06-02"]
    with app_at(workspace, SEND + timedelta(hours=13)) as app:
        assert jobs.catch_up(app) == []  # past its time-to-live
    assert len(smtp_server.handler.messages) == 2


def test_catch_up_resumes_a_send_that_failed(workspace, fixture_feeds, smtp_server):
    ready(workspace, fixture_feeds, "ada@example.com")
    relay_down(workspace)
    with app_at(workspace, SEND) as app:
        result = jobs.run_send(app, DAY)
        assert result.run.outcome == RunOutcome.ERROR
        assert "cannot connect" in (result.run.error or "")
    workspace.smtp_port = smtp_server.port
    workspace.write_config()
    with app_at(workspace, SEND + timedelta(hours=1)) as app:
        [again] = jobs.catch_up(app)
        assert again.run.outcome == RunOutcome.OK
    assert smtp_server.handler.recipients() == ["ada@example.com"]


def relay_down(workspace: Workspace) -> None:
    """Point the config at a port where nothing listens."""
    workspace.smtp_port = free_port()
    workspace.write_config()


def test_each_subscriber_gets_the_edition_of_their_own_morning(
    workspace, fixture_feeds, smtp_server
):
    ready(workspace, fixture_feeds, "ada@example.com", "kai@example.org", "lin@example.net")
    workspace.sql("update subscribers set timezone = 'Australia/Sydney' where email like 'kai%'")
    workspace.sql("update subscribers set timezone = 'Nowhere/Land' where email like 'lin%'")
    sydney_morning = datetime(2025, 6, 2, 6, tzinfo=ZoneInfo("Australia/Sydney"))
    with app_at(workspace, sydney_morning) as app:
        jobs.run_fetch(app)
        [sydney] = [r for r in jobs.catch_up(app) if r.zone]
        assert (sydney.zone, sydney.day, sydney.run.outcome) == ("Australia/Sydney", DAY, "ok")
        assert sydney.edition is not None
        assert sydney.edition.window.end == sydney_morning.astimezone(UTC)
    assert smtp_server.handler.recipients() == ["kai@example.org"]
    with app_at(workspace, SEND) as app:
        results = jobs.run_all_zones(app, lambda zone: DAY)
        by_zone = {r.zone: r for r in results}
        assert by_zone["Australia/Sydney"].report is not None
        assert by_zone["Australia/Sydney"].report.sent_now == 0  # not twice
        default = by_zone[""].edition
        assert default is not None and default.window.end == SEND
        # the default edition covers hours Sydney's did not: different content
        sydney_titles = {s.title for s in by_zone["Australia/Sydney"].edition.stories}  # type: ignore[union-attr]
        assert {s.title for s in default.stories} != sydney_titles
    assert sorted(smtp_server.handler.recipients()) == [
        "ada@example.com",
        "kai@example.org",
        "lin@example.net",  # an unknown zone gets the digest's own morning
    ]


def test_zone_groups_count_only_those_who_get_the_digest(workspace, fixture_feeds):
    ready(workspace, fixture_feeds, "ada@example.com", "kai@example.org")
    with app_at(workspace, SEND) as app:
        kai = app.subscribers.find("kai@example.org")
        assert kai is not None
        app.subscribers.update_preferences(kai.id, now=SEND, timezone="Asia/Tokyo")
        assert set(jobs.groups(app)) == {"", "Asia/Tokyo"}
        app.subscribers.update_preferences(kai.id, now=SEND, paused=True)
        assert set(jobs.groups(app)) == {""}  # a paused subscriber's zone gets no jobs


def test_quiet_day_skip_is_recorded_and_force_sends_the_note(workspace, smtp_server):
    workspace.write_config(extra='[schedule]\nquiet_day = "skip"\n')
    workspace.invoke("subscribers", "add", "ada@example.com")
    with app_at(workspace, SEND) as app:
        skipped = jobs.run_send(app, DAY)
        assert skipped.run.outcome == RunOutcome.QUIET_SKIPPED
        assert smtp_server.handler.messages == []
        assert jobs.catch_up(app) == []  # a decided skip is not "missed"
        forced = jobs.run_send(app, DAY, force=True)
        assert forced.run.outcome == RunOutcome.QUIET_NOTE
    [message] = smtp_server.handler.parsed()
    assert "no major developments" in message.get_body(("plain",)).get_content().lower()  # type: ignore[union-attr]
    runs = workspace.json("runs")
    assert [r["outcome"] for r in runs] == ["quiet-note", "quiet-skipped"]


def test_quiet_day_note_policy_sends_the_note(workspace, smtp_server):
    workspace.invoke("subscribers", "add", "ada@example.com")
    with app_at(workspace, SEND) as app:
        assert jobs.run_send(app, DAY).run.outcome == RunOutcome.QUIET_NOTE
    assert smtp_server.handler.recipients() == ["ada@example.com"]


def test_unapproved_edition_is_held_then_sent_once_approved(workspace, fixture_feeds, smtp_server):
    workspace.write_config(extra="", require_approval="true")
    config = workspace.config.read_text().replace(
        'require_approval = "true"', "require_approval = true"
    )
    workspace.config.write_text(config)
    ready(workspace, fixture_feeds, "ada@example.com")
    with app_at(workspace, SEND - timedelta(hours=1)) as app:
        jobs.run_fetch(app)
        built = jobs.run_build(app, "")
        assert built is not None and built.status == EditionStatus.DRAFT and built.date == DAY
    with app_at(workspace, SEND) as app:
        held = jobs.run_send(app, DAY)
        assert (held.run.outcome, held.edition.status) == ("held", "held")  # type: ignore[union-attr]
        assert smtp_server.handler.messages == []
        status = workspace.json("status")
        assert status["last_editions"][0]["status"] == "held"
        assert any(r["outcome"] == "held" for r in status["last_runs"])
        assert held.edition is not None and held.edition.id is not None
        assert jobs.send_late_approvals(app) == []  # still held: nothing to do
        app.store.set_edition_status(held.edition.id, EditionStatus.APPROVED, now=SEND)
    with app_at(workspace, SEND + timedelta(minutes=20)) as app:
        [sent] = jobs.send_late_approvals(app)  # what the daemon checks every minute
        assert sent.run.outcome == RunOutcome.OK
        assert jobs.send_late_approvals(app) == []
    assert smtp_server.handler.recipients() == ["ada@example.com"]


def test_lease_refuses_a_second_holder_and_is_taken_over_after_expiry(workspace):
    workspace.invoke("feeds", "list")
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    ttl = timedelta(seconds=60)
    with app_at(workspace, t0) as app:
        leases = DaemonLeases(app.database)
        assert leases.acquire("first", now=t0, ttl=ttl) is not None
        assert leases.acquire("second", now=t0 + timedelta(seconds=30), ttl=ttl) is None
        assert leases.renew("first", now=t0 + timedelta(seconds=40), ttl=ttl)
        assert leases.acquire("second", now=t0 + timedelta(seconds=90), ttl=ttl) is None
        taken = leases.acquire("second", now=t0 + timedelta(seconds=101), ttl=ttl)
        assert taken is not None and taken.holder == "second"
        assert not leases.renew("first", now=t0 + timedelta(seconds=102), ttl=ttl)
        leases.release("first")  # not ours any more: nothing happens
        current = leases.current()
        assert current is not None and current.holder == "second"
        leases.release("second")
        assert leases.current() is None


def test_run_history_and_status_after_a_run(workspace, fixture_feeds, smtp_server):
    ready(workspace, fixture_feeds, "ada@example.com")
    report = workspace.json("run", "--any-date", "--date", DAY.isoformat())
    assert report["outcome"] == "ok" and report["counts"]["sent"] == 1
    assert [z["zone"] for z in report["zones"]] == ["default"]
    runs = workspace.json("runs")
    assert [(r["job"], r["outcome"]) for r in runs] == [("send", "ok"), ("fetch", "ok")]
    assert runs[0]["counts"]["sent"] == 1 and runs[0]["date"] == DAY.isoformat()
    assert runs[1]["counts"]["new"] == 12
    assert workspace.json("runs", "--limit", "1")[0]["job"] == "send"
    status = workspace.json("status")
    assert status["daemon"] is None
    assert status["last_editions"][0]["deliveries"]["sent"] == 1
    assert [j["job"] for j in status["next_runs"]] == ["send:default"]
    failing = [f["url"] for f in status["failing_feeds"]]
    assert failing == [fixture_feeds["broken"]]
    text = workspace.invoke("status").stdout
    assert "daemon: none running" in text and "failing feeds: 1" in text
    assert "send" in workspace.invoke("runs").stdout


def test_run_history_keeps_errors(workspace, fixture_feeds):
    ready(workspace, fixture_feeds, "ada@example.com")
    relay_down(workspace)
    with app_at(workspace, SEND) as app:
        result = jobs.run_send(app, DAY)
        assert result.run.outcome == RunOutcome.ERROR and result.run.error
        [run] = RunLog(app.database).recent(job="send")
        assert run.error == result.run.error and run.finished_at == SEND
    failed = workspace.invoke("run", "--any-date", "--date", DAY.isoformat(), code=1)
    assert failed.stderr.startswith("digest: error: default zone 2025-06-02: cannot connect")
    assert "Traceback" not in failed.stderr + failed.stdout


def test_send_by_hand_sends_each_zone_its_own_edition(workspace, fixture_feeds, smtp_server):
    ready(workspace, fixture_feeds, "ada@example.com", "kai@example.org")
    workspace.sql("update subscribers set timezone = 'Australia/Sydney' where email like 'kai%'")
    workspace.invoke("fetch")
    own = workspace.json("send", "--any-date", "--date", DAY.isoformat())
    assert own["counts"]["sent"] == 1
    assert smtp_server.handler.recipients() == ["ada@example.com"]
    sydney = workspace.json(
        "send", "--any-date", "--date", DAY.isoformat(), "--zone", "Australia/Sydney"
    )
    assert sydney["counts"]["sent"] == 1
    assert smtp_server.handler.recipients() == ["ada@example.com", "kai@example.org"]
    workspace.json(
        "send", "--any-date", "--date", DAY.isoformat(), "--zone", "UTC"
    )  # the digest's own zone
    assert len(smtp_server.handler.messages) == 2
    nobody = workspace.invoke("send", "--zone", "Asia/Tokyo", code=2)
    assert "no active subscriber has the time zone 'Asia/Tokyo'" in nobody.stderr


def test_a_send_left_running_by_a_dead_daemon_is_interrupted_and_caught_up(workspace, smtp_server):
    workspace.invoke("subscribers", "add", "ada@example.com")
    with app_at(workspace, SEND) as app:
        runs = RunLog(app.database)
        runs.start("send", now=SEND, day=DAY)  # the daemon died here
        assert runs.mark_interrupted(started_before=SEND) == 0  # not before: left alone
        assert runs.mark_interrupted(started_before=SEND + timedelta(minutes=1)) == 1
        assert [r.outcome for r in runs.recent()] == [RunOutcome.INTERRUPTED]
    with app_at(workspace, SEND + timedelta(minutes=5)) as app:
        [resumed] = jobs.catch_up(app)
        assert resumed.run.outcome == RunOutcome.QUIET_NOTE
    assert smtp_server.handler.recipients() == ["ada@example.com"]
