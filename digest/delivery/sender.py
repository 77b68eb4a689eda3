"""Sending an edition's claimed ledger rows over several SMTP connections at once.

The main thread claims rows, hands them to one worker thread per connection and records the
outcomes in the ledger. Workers compose and talk SMTP; every database write happens on the
main thread. At most one repeat per connection after a kill: a worker sends the next
message's text only once the ledger holds the outcome of its previous one (it composes the
message and sends MAIL, RCPT and DATA meanwhile), so a sender killed at any moment leaves at
most one accepted but unrecorded message per connection. The main thread commits whatever
outcomes have arrived from all connections in one transaction: commits are grouped across
connections, never held back for more messages of the same connection.
"""

from __future__ import annotations

import queue
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from digest.clock import Clock
from digest.config import DeliverySettings
from digest.delivery.ledger import Ledger, Outcome
from digest.delivery.quota import RelayQuota, SharedRateLimiter
from digest.delivery.smtp import SmtpMailer
from digest.errors import (
    DeliveryError,
    HeaderError,
    PermanentDeliveryError,
    RecipientRefusedError,
    SmtpUnavailableError,
)
from digest.types import Delivery, DeliveryStatus

#: Rows claimed ahead per connection, at most. Claimed rows not yet sent when a sender is killed
#: are taken over after the lease and reported as uncertain, so the claim is bounded, and it
#: grows with the relay's pace only: enough rows for CLAIM_AHEAD_SECONDS of sending, never
#: fewer than CLAIM_MIN_PER_CONNECTION. A claim and its check of who may still be mailed cost
#: milliseconds; on a fast relay they are spread over many messages, on a slow one few rows
#: wait in a claim.
CLAIM_PER_CONNECTION = 32
CLAIM_MIN_PER_CONNECTION = 4
CLAIM_AHEAD_SECONDS = 0.5
#: A new claim tops the queue up once it is down to this share of the rows claimed ahead: a
#: claim is fewer, larger batches (recording waits while the main thread claims), and the
#: rows left still keep every connection busy for longer than a claim takes.
CLAIM_REFILL_SHARE = 1 / 4

#: Workers wake the main thread when one of them waits for its last outcome to be recorded,
#: when RECORD_BATCH outcomes are waiting, on a failure or when few rows are left to send;
#: otherwise it looks every WAKE_EVERY seconds (a stop is noticed by then). Each wake records
#: every outcome there is in one transaction: on a fast relay a hand-off and a commit per
#: message would cost more than the message.
RECORD_BATCH = 64
WAKE_EVERY = 0.1

#: A claim is known to be ours for this share of the lease after the ledger last said so (at a
#: claim or a renewal); past it, a connection waits for the next renewal before a message's
#: text goes. Renewals come every third of the lease, so a sender that is not stalled never
#: waits.
OWNED_SHARE = 0.5
RENEW_SHARE = 1 / 3

#: Builds one delivery's message bytes (raises HeaderError or MessageTooLargeError).
Compose = Callable[[Delivery], bytes]


@dataclass
class SenderResult:
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    #: The stop event was set: the run finished the messages in flight and gave back the rest.
    stopped: bool = False
    #: Why the run paused (many consecutive failures), or None.
    paused: str | None = None
    #: Claimed rows another sender took over (this one was stalled past its lease): not sent.
    lost: int = 0


class RateLimiter:
    """Spaces messages evenly so that all connections together stay under ``rate`` per second."""

    def __init__(self, rate: float, *, halted: threading.Event | None = None) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        # Waiting for a slot ends early once the run is halted (the caller looks again).
        self._halted = halted or threading.Event()

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            self._halted.wait(slot - now)


@dataclass(frozen=True, slots=True)
class _Result:
    delivery: Delivery
    #: "sent", "temporary", "permanent", "bounce", "invalid", "unavailable", "unstarted"
    #: (taken after the run was halted: given back untouched) or "lost" (another sender took
    #: the row over: not sent, not recorded).
    kind: str
    reply: str
    #: Set once the outcome is in the ledger (or the run is over); the worker that sent it
    #: waits for it before it sends its next message.
    recorded: threading.Event | None = None


class _Abandoned(Exception):
    """The run ended (it failed) while a worker waited to send: the message must not go."""


class _Lost(Exception):
    """Another sender took the row over while this one waited: the message must not go."""


@dataclass(eq=False, kw_only=True)
class DeliveryRun:
    """One run of the sender over an edition's ledger rows."""

    ledger: Ledger
    edition_id: int
    compose: Compose
    mailer_factory: Callable[[], SmtpMailer]
    envelope_from: str
    to_address: Callable[[str], str]
    settings: DeliverySettings
    clock: Clock
    expires_at: datetime
    #: Who may still be mailed, re-read per batch: an unsubscribe, pause or suppression
    #: during a send is honoured.
    deliverable: Callable[[Iterable[int]], dict[int, str | None]]
    #: Set from outside (SIGTERM) to end the run after the messages in flight.
    stop: threading.Event = field(default_factory=threading.Event)
    on_message: Callable[[Delivery, str], None] | None = None
    #: A per-delivery envelope sender (VERP), when bounces are traced to their message.
    envelope_for: Callable[[Delivery], str] | None = None
    #: The relay's quota, shared with every other sender on the database when there is one.
    quota: RelayQuota | None = None

    def __post_init__(self) -> None:
        # What the main thread writes through: during run(), the ledger on a connection of its own.
        self._ledger = self.ledger
        # Set by the main thread on a pause, a stop or a dead relay: every worker looks at it
        # before each message and again just before sending it, so nothing new starts.
        self._halted = threading.Event()
        self.limiter: RateLimiter | SharedRateLimiter = (
            SharedRateLimiter(self.quota, self.settings.rate_per_second)
            if self.quota is not None and self.settings.rate_per_second > 0
            else RateLimiter(self.settings.rate_per_second, halted=self._halted)
        )
        self._next_note = 0.0
        self._jobs: queue.Queue[Delivery | None] = queue.Queue()
        # Results since the main thread last looked, and its alarm clock.
        self._done: list[_Result] = []
        self._done_lock = threading.Lock()
        self._wake = threading.Event()
        # Set by the main thread: how few queued rows call for a claim.
        self._low_water = 0
        # Set when the main thread has left: a waiting worker drops its message instead.
        self._gone = False
        self._recorded: list[threading.Event] = []
        # Whose claims these are: the ledger records and releases only this sender's rows.
        self.token = uuid.uuid4().hex
        # Ownership, kept by the main thread: the rows it holds, those another sender took
        # over, until when (monotonic) the rest are known to be ours, and when to renew.
        self._held: set[int] = set()
        self._lost: frozenset[int] = frozenset()
        self._owned_until = 0.0
        self._renew_at = 0.0
        self._renewed = threading.Event()

    # --- main thread -----------------------------------------------------------------------

    def run(self) -> SenderResult:
        with self.ledger.held() as ledger:
            self._ledger = ledger
            try:
                return self._run()
            finally:
                self._ledger = self.ledger

    def _run(self) -> SenderResult:
        result = SenderResult()
        lease = timedelta(seconds=self.settings.lease_seconds)
        # Rows deferred during this run are not retried by it (their next attempt is later).
        started = self.clock()
        workers = [
            threading.Thread(target=self._work, name=f"smtp-{n}", daemon=True)
            for n in range(self.settings.connections)
        ]
        for worker in workers:
            worker.start()
        alive = len(workers)
        floor = CLAIM_MIN_PER_CONNECTION * len(workers)
        ceiling = CLAIM_PER_CONNECTION * len(workers)
        outstanding = 0
        exhausted = False
        consecutive_failures = 0
        unavailable: str | None = None
        next_take_over = 0.0
        unrecorded: list[tuple[_Result, Outcome]] = []
        first_claim = time.monotonic()
        finished = 0  # messages attempted, for the pace that sizes claims
        try:
            while True:
                if self._held and time.monotonic() >= self._renew_at:
                    self._renew(lease)
                halted = self.stop.is_set() or result.paused or unavailable
                if halted:
                    self._halted.set()
                    outstanding -= self._give_back_waiting()
                elif not exhausted:
                    pace = finished / max(time.monotonic() - first_claim, 1e-3)
                    ahead = min(max(int(pace * CLAIM_AHEAD_SECONDS), floor), ceiling)
                    self._low_water = int(ahead * CLAIM_REFILL_SHARE)
                    queued = self._jobs.qsize()
                    if queued <= self._low_water:
                        if time.monotonic() >= next_take_over:
                            self._ledger.take_over(self.edition_id, now=self.clock(), lease=lease)
                            next_take_over = time.monotonic() + min(lease.total_seconds(), 10.0)
                        claimed_at = time.monotonic()
                        batch = self._ledger.claim(
                            self.edition_id,
                            now=self.clock(),
                            lease=lease,
                            limit=ahead - queued,
                            token=self.token,
                            due_before=started,
                        )
                        exhausted = not batch
                        if batch and not self._held:  # else the older claims bound ownership
                            self._owned(claimed_at, lease)
                        self._held.update(d.id for d in batch)
                        outstanding += self._dispatch(batch)
                if outstanding == 0 and (halted or exhausted):
                    break
                if outstanding == 0:
                    continue
                results = self._collect()
                outstanding -= len(results)
                self._held.difference_update(item.delivery.id for item in results)
                outcomes = []
                unstarted = [item.delivery.id for item in results if item.kind == "unstarted"]
                if unstarted:
                    self._ledger.release(unstarted, token=self.token)
                    results = [item for item in results if item.kind != "unstarted"]
                lost = [item for item in results if item.kind == "lost"]
                if lost:
                    result.lost += len(lost)
                    results = [item for item in results if item.kind != "lost"]
                finished += len(results)
                reset, tail = False, 0  # for the count shared with the other senders
                for item in results:
                    if item.kind == "unavailable":
                        alive -= 1
                        self._ledger.release([item.delivery.id], token=self.token)
                        exhausted = False  # the row is due again, for a connection still up
                        if alive == 0:
                            unavailable = item.reply
                        continue
                    outcome = self._outcome(item)
                    outcomes.append(outcome)
                    if outcome.status == DeliveryStatus.SENT:
                        result.sent += 1
                        consecutive_failures = 0
                        reset, tail = True, 0
                    else:
                        result.failures.append(f"{item.delivery.email}: {outcome.reply}")
                        if item.kind != "invalid":
                            consecutive_failures += 1
                            tail += 1
                unrecorded.extend(
                    zip((r for r in results if r.kind != "unavailable"), outcomes, strict=True)
                )
                if consecutive_failures >= self.settings.pause_after_failures and not result.paused:
                    last = result.failures[-1] if result.failures else ""
                    result.paused = f"{consecutive_failures} failures in a row (last: {last})"
                    self._halted.set()  # at once: workers start nothing more while we record
                shared = self._note_shared(reset, tail)
                if shared >= self.settings.pause_after_failures and not result.paused:
                    last = result.failures[-1] if result.failures else ""
                    result.paused = f"{shared} failures in a row over all senders (last: {last})"
                    self._halted.set()
                # Everything collected goes in at once, whichever connections sent it.
                self._record(unrecorded)
        finally:
            try:
                self._record(unrecorded)
            finally:
                self._gone = True
                for recorded in self._recorded:
                    recorded.set()
                for _ in workers:
                    self._jobs.put(None)
            for worker in workers:
                worker.join(timeout=60)
        result.stopped = self.stop.is_set()
        if unavailable is not None:
            raise SmtpUnavailableError(unavailable)
        return result

    def _record(self, unrecorded: list[tuple[_Result, Outcome]]) -> None:
        """Write the outcomes collected so far in one transaction, let their workers go on,
        then report them."""
        if not unrecorded:
            return
        self._ledger.record(
            [outcome for _, outcome in unrecorded],
            now=self.clock(),
            max_hard_bounces=self.settings.max_hard_bounces,
            token=self.token,
        )
        for item, _ in unrecorded:
            if item.recorded is not None:
                item.recorded.set()
        if self.on_message is not None:
            for item, outcome in unrecorded:
                self.on_message(item.delivery, outcome.status)
        unrecorded.clear()

    def _dispatch(self, batch: list[Delivery]) -> int:
        """Queue the claimed rows for the workers; rows of people who left are skipped."""
        if not batch:
            return 0
        active = self.deliverable(d.subscriber_id for d in batch)
        skipped = [
            Outcome(d.id, d.subscriber_id, DeliveryStatus.SKIPPED, "subscriber no longer active")
            for d in batch
            if d.subscriber_id not in active
        ]
        self._ledger.record(skipped, now=self.clock(), max_hard_bounces=1, token=self.token)
        self._held.difference_update(o.delivery_id for o in skipped)
        queued = 0
        for delivery in batch:
            if delivery.subscriber_id in active:
                self._jobs.put(delivery)
                queued += 1
            elif self.on_message is not None:
                self.on_message(delivery, DeliveryStatus.SKIPPED)
        return queued

    def _collect(self) -> list[_Result]:
        """Wait until a worker calls, or WAKE_EVERY, then take every result there is."""
        self._wake.wait(WAKE_EVERY)
        self._wake.clear()  # before taking them: a result reported after this wakes us again
        with self._done_lock:
            results, self._done = self._done, []
        return results

    def _give_back_waiting(self) -> int:
        """Release claimed rows no worker has started on; returns how many."""
        waiting = []
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not None:
                waiting.append(job.id)
        self._ledger.release(waiting, token=self.token)
        self._held.difference_update(waiting)
        return len(waiting)

    def _note_shared(self, reset: bool, tail: int) -> int:
        """Add these outcomes to the failures in a row counted over every sender; returns the
        count (0 without a shared quota). Successes alone are told at most once a second."""
        if self.quota is None or not (tail or (reset and time.monotonic() >= self._next_note)):
            return 0
        self._next_note = time.monotonic() + 1.0
        return self.quota.note(reset=reset, tail=tail)

    def _owned(self, verified_at: float, lease: timedelta) -> None:
        """The ledger said at ``verified_at`` (monotonic) that the held rows are ours."""
        seconds = lease.total_seconds()
        self._owned_until = verified_at + seconds * OWNED_SHARE
        self._renew_at = verified_at + seconds * RENEW_SHARE
        self._renewed.set()

    def _renew(self, lease: timedelta) -> None:
        """Extend the lease of the rows held; those another sender took over are not sent."""
        verified_at = time.monotonic()
        owned = self._ledger.renew(self.edition_id, token=self.token, now=self.clock())
        taken = self._held - owned
        if taken:
            self._lost = self._lost | taken
        self._owned(verified_at, lease)

    # --- ownership, seen from the workers ----------------------------------------------------

    def _check_owned(self, delivery: Delivery) -> None:
        """Return only while ``delivery`` is known to be this sender's; raise _Lost once
        another sender has it, _Abandoned once the run is over."""
        while not self._gone and time.monotonic() >= self._owned_until:
            # stalled past what the last renewal vouches for: ask for a renewal and wait
            self._renewed.clear()
            self._wake.set()
            self._renewed.wait(WAKE_EVERY)
        if self._gone:
            raise _Abandoned
        if delivery.id in self._lost:
            raise _Lost

    def _outcome(self, item: _Result) -> Outcome:
        d = item.delivery
        if item.kind == "sent":
            return Outcome(d.id, d.subscriber_id, DeliveryStatus.SENT, item.reply)
        if item.kind in ("permanent", "bounce", "invalid"):
            return Outcome(
                d.id,
                d.subscriber_id,
                DeliveryStatus.FAILED,
                item.reply,
                hard_bounce=item.kind == "bounce",
            )
        now = self.clock()
        delay = timedelta(seconds=self.settings.retry_initial_seconds) * (
            2 ** max(d.attempts - 1, 0)
        )
        due = now + delay * random.uniform(1.0, 1.5)  # jitter: retries do not arrive together
        if due > self.expires_at:
            return Outcome(
                d.id,
                d.subscriber_id,
                DeliveryStatus.FAILED,
                f"gave up after {d.attempts} attempts (ttl_hours passed): {item.reply}",
            )
        return Outcome(d.id, d.subscriber_id, DeliveryStatus.DEFERRED, item.reply, due)

    # --- worker threads --------------------------------------------------------------------

    def _report(self, item: _Result) -> None:
        if item.recorded is not None:
            item.recorded.clear()
        with self._done_lock:
            self._done.append(item)
            full = len(self._done) >= RECORD_BATCH
        if full or item.kind != "sent" or self._jobs.qsize() <= self._low_water:
            self._wake.set()

    def _work(self) -> None:
        mailer: SmtpMailer | None = None
        on_connection = 0
        # This connection's last accepted message is in the ledger: the next one may go.
        recorded = threading.Event()
        recorded.set()
        with self._done_lock:
            self._recorded.append(recorded)

        current: Delivery | None = None

        def ready() -> None:
            if not recorded.is_set():
                self._wake.set()  # record what there is: this connection waits for it
                recorded.wait()
            if self._gone:
                raise _Abandoned
            if current is not None:
                self._check_owned(current)

        def failed(item: _Result) -> None:
            # Wait until the main thread has counted it: failures in a row pause the run
            # before this connection tries another message. Failures are rare: no cost.
            self._report(item)
            recorded.wait()

        try:
            while True:
                delivery = self._jobs.get()
                if delivery is None:
                    return
                if self._halted.is_set() or self.stop.is_set():
                    self._report(_Result(delivery, "unstarted", ""))
                    continue
                if delivery.id in self._lost:
                    self._report(_Result(delivery, "lost", ""))
                    continue
                current = delivery
                try:
                    message = self.compose(delivery)
                    recipient = self.to_address(delivery.email)
                except (HeaderError, DeliveryError) as exc:
                    failed(_Result(delivery, "invalid", str(exc), recorded))
                    continue
                if mailer is None or on_connection >= self.settings.messages_per_connection:
                    if mailer is not None:
                        mailer.close()
                    mailer = self.mailer_factory()
                    try:
                        mailer.open()
                    except SmtpUnavailableError as exc:
                        mailer = None
                        self._report(_Result(delivery, "unavailable", str(exc)))
                        return
                    on_connection = 0
                self.limiter.wait()
                if self._halted.is_set() or self.stop.is_set():  # set while composing or waiting
                    self._report(_Result(delivery, "unstarted", ""))
                    continue
                on_connection += 1
                try:
                    envelope = (
                        self.envelope_from
                        if self.envelope_for is None
                        else self.envelope_for(delivery)
                    )
                    reply = mailer.send(envelope, recipient, message, ready=ready)
                except _Abandoned:
                    mailer = None  # dropped mid-DATA: the server did not take the message
                    return
                except _Lost:
                    mailer = None  # dropped mid-DATA, likewise; the next row may go
                    self._report(_Result(delivery, "lost", ""))
                except SmtpUnavailableError as exc:  # reconnecting after a drop failed
                    mailer = None
                    self._report(_Result(delivery, "unavailable", str(exc)))
                    return
                except RecipientRefusedError as exc:
                    failed(_Result(delivery, "bounce", str(exc), recorded))
                except PermanentDeliveryError as exc:
                    failed(_Result(delivery, "permanent", str(exc), recorded))
                except DeliveryError as exc:
                    failed(_Result(delivery, "temporary", str(exc), recorded))
                else:
                    self._report(_Result(delivery, "sent", reply, recorded))
        finally:
            if mailer is not None:
                mailer.close()
