"""The pure decision of what to do with an edition at its send time: a table of its cases."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from digest.editions.decide import Action, Policy, decide, send_date_problem
from digest.types import (
    EDITION_TRANSITIONS,
    Edition,
    EditionStatus,
    Section,
    Source,
    Story,
    Window,
)

END = datetime(2026, 3, 10, 6, tzinfo=UTC)
WINDOW = Window(start=END - timedelta(days=1), end=END)
STORY = Story(
    title="t",
    url="https://example.com/a",
    summary="s",
    published=END - timedelta(hours=3),
    section="talks",
    score=1.0,
    sources=(Source(1, "Wire", "t", "https://example.com/a", END - timedelta(hours=3)),),
)


def edition(status: EditionStatus, *, empty: bool = False, built: datetime = END) -> Edition:
    stories = () if empty else (STORY,)
    return Edition(
        topic="t",
        topic_title="T",
        date=date(2026, 3, 10),
        window=WINDOW,
        sections=(Section("talks", "Talks", stories),),
        status=status,
        id=1,
        built_at=built,
    )


S = EditionStatus
EARLY = END - timedelta(hours=1)  # built ahead of the send time: misses the last hour
APPROVAL, OPEN = Policy(require_approval=True), Policy()
NOTE, FORCE = Policy(quiet_day="note"), Policy(force=True)

CASES = [
    # (edition, policy, action, quiet)
    (None, OPEN, Action.BUILD, False),
    (None, APPROVAL, Action.BUILD, False),
    (edition(S.DRAFT, built=EARLY), OPEN, Action.BUILD, False),
    (edition(S.DRAFT), OPEN, Action.SEND, False),
    (edition(S.DRAFT, built=EARLY), APPROVAL, Action.HOLD, False),
    (edition(S.APPROVED, built=EARLY), APPROVAL, Action.SEND, False),  # never rebuilt
    (edition(S.APPROVED, built=EARLY), OPEN, Action.SEND, False),
    (edition(S.HELD), OPEN, Action.HOLD, False),
    (edition(S.HELD), APPROVAL, Action.HOLD, False),
    (edition(S.DRAFT, empty=True), OPEN, Action.QUIET, False),
    (edition(S.DRAFT, empty=True), NOTE, Action.SEND, True),
    (edition(S.DRAFT, empty=True), FORCE, Action.SEND, True),
    (edition(S.APPROVED, empty=True), APPROVAL, Action.QUIET, False),
    (edition(S.SENDING, empty=True), OPEN, Action.SEND, False),  # started: it finishes
    (edition(S.SENDING), APPROVAL, Action.SEND, False),
    (edition(S.SENT), OPEN, Action.DONE, False),
    (edition(S.SENT), APPROVAL, Action.DONE, False),
]


@pytest.mark.parametrize(("found", "policy", "action", "quiet"), CASES)
def test_decide(found, policy, action, quiet):
    decision = decide(found, policy, END)
    assert (decision.action, decision.quiet) == (action, quiet)
    assert decision.reason or action == Action.SEND


def test_reasons_say_why_it_is_held():
    assert decide(edition(S.HELD), OPEN, END).reason == "held by an editor"
    assert decide(edition(S.DRAFT), APPROVAL, END).reason == "not approved by its send time"


def test_a_build_at_the_moment_decided_is_not_stale():
    # the jobs build with the same clock reading: deciding again must not loop on BUILD
    late = END + timedelta(hours=2)
    assert decide(edition(S.DRAFT, built=late), OPEN, late).action == Action.SEND


def test_transitions_table():
    assert S.SENDING in EDITION_TRANSITIONS[S.APPROVED]
    assert S.SENDING not in EDITION_TRANSITIONS[S.HELD]  # a hold is lifted by approving
    assert EDITION_TRANSITIONS[S.SENT] == {S.SENT}
    assert S.DRAFT not in EDITION_TRANSITIONS[S.SENDING]
    assert set(EDITION_TRANSITIONS) == set(S)


@pytest.mark.parametrize(
    ("day", "now", "problem"),
    [
        (date(2026, 3, 10), END, None),
        (date(2026, 3, 11), END, None),  # tomorrow: fine
        (date(2026, 3, 12), END, "more than a day ahead"),
        (date(2026, 3, 9), END, "time-to-live"),  # its send was 24 h ago, ttl 12 h
        (date(1900, 1, 1), END, "time-to-live"),
    ],
)
def test_send_date_problem(day, now, problem):
    send_at = datetime.combine(day, END.time(), tzinfo=UTC)
    found = send_date_problem(
        day, today=now.date(), send_at=send_at, now=now, ttl=timedelta(hours=12)
    )
    assert (found is None) if problem is None else (problem in (found or ""))
