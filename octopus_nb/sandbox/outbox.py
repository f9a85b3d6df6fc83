"""The webhook outbox and its delivery log (contract §5): what is due, and every attempt made.

Events become signed deliveries here, one per webhook action they are routed to (``Target``,
from ``workflows.py``), on the sandbox clock; the server's worker claims the due ones, does the
POSTs off the request path and records each result. Retries, chaos and the log are per action:
webhook chaos (``chaos.py``) adds repeated and forged deliveries and shuffles each lifecycle
action's events, with the chaos its webhook action has. Not locked on its own: the state's
operations (the ledger's changes, ``control_api``, ``workflow_api``) call it under ``models.SandboxState``'s one lock.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .._shared.signing import sign
from .chaos import CHAOS_OFF, WebhookChaos
from .clock import SandboxClock, isoformat
from .resources import Event
from .store import MemoryLog, SqliteLog, SqliteStore

#: Sandbox rule: Checkout.com's retry schedule for a failed webhook delivery (8 retries), measured on
#: the sandbox clock, so advancing the clock delivers due retries without waiting in real time.
WEBHOOK_RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (5, 10, 15, 30, 60, 240, 720, 720))


@dataclass(frozen=True)
class Target:
    """One webhook action an event goes to: where, signed with which key, with which headers and chaos."""

    workflow_id: str
    action_id: str
    url: str
    key: str = field(repr=False)  #: never in a repr, a log or a traceback
    headers: dict = field(default_factory=dict)
    chaos: dict = field(default_factory=lambda: dict(CHAOS_OFF))
    retry: bool = True  #: False: a failed delivery is not retried (``retry.enabled``)
    shortcut: bool = False  #: the ``PUT /_sandbox/webhooks`` workflow's action: listed as before workflows


@dataclass
class DeliveryAttempt:
    """One POST of an event to a webhook action's URL; ``status_code`` None means no answer."""

    event_id: str
    type: str
    url: str
    attempt: int  #: 1 = the first delivery, 2 = the first retry, ... (a reflow starts again at 1)
    attempted_at: datetime
    kind: str = "delivery"  #: one of ``chaos.DELIVERY_KINDS``
    status_code: int | None = None
    done: bool = False  #: False while the POST is in flight (not yet listed)
    seq: int = 0  #: its place in the log, in claim order (a state file's log is written as attempts end)
    workflow_id: str | None = None
    action_id: str | None = None
    shortcut: bool = True  #: the shortcut's attempts are listed in the shape they had before workflows
    final: bool = False  #: no retry follows (delivered, given up, or never retried)


@dataclass(eq=False)
class WebhookDelivery:
    """An event waiting in the outbox: where it goes, the exact bytes and signature, when it is due.

    The body and signature are fixed when the event is queued, so every retry sends the same bytes.
    A ``"duplicate"`` or ``"forgery"`` (webhook chaos) is sent once and never retried.
    """

    event_id: str
    type: str
    url: str
    body: bytes
    headers: dict
    due_at: datetime
    attempt: int = 1  #: the number the next attempt will carry
    in_flight: DeliveryAttempt | None = None
    cancelled: bool = False  #: its workflow or action went away while this was in flight: no retry
    kind: str = "delivery"  #: one of ``chaos.DELIVERY_KINDS``
    workflow_id: str | None = None
    action_id: str | None = None
    retry: bool = True
    shortcut: bool = True


class WebhookOutbox:
    """Queued and retrying deliveries, per webhook action, and the log of attempts."""

    def __init__(
        self,
        clock: SandboxClock,
        on_change: Callable[[], None],
        seed: int | None = None,
        store: SqliteStore | None = None,
        router: Callable[[Event], list[Target]] = lambda event: [],
    ):
        self._clock = clock
        #: called when deliveries may have come due (the caller's lock held: it must not block)
        self._on_change = on_change
        #: which webhook actions an event goes to (the workflow registry's matching)
        self.router = router
        self._queue: list[WebhookDelivery] = []  #: queued and retrying deliveries, in event order
        #: every delivery attempt, oldest first: in memory, or with a state file in a table
        self._log = MemoryLog() if store is None else SqliteLog(store, "attempts", _encode_attempt, _decode_attempt)
        self._next_seq = 1  #: the next attempt's place in the log
        #: the stream duplicates, reordering and forgeries draw from (webhook chaos)
        self.chaos = WebhookChaos(seed)
        #: True once chaos has been on: from then on the log marks each attempt's ``kind``
        self.marked = False

    def queue(self, events: list[Event], targets: list[Target] | None = None) -> None:
        """Queue the events of one lifecycle action: to ``targets``, or each to the actions it is routed to.

        The exact bytes and their signatures are fixed now, per action (its key, its headers).
        Webhook chaos (sandbox rules, ``WebhookChaos.plan``) may add a duplicate or a forgery
        after an event, and with ``reorder`` shuffles the group; with chaos off, each event is
        queued once, in order.
        """
        groups: dict[tuple[str, str], tuple[Target, list[Event]]] = {}
        for event in events:
            for target in self.router(event) if targets is None else targets:
                groups.setdefault((target.workflow_id, target.action_id), (target, []))[1].append(event)
        for target, group in groups.values():
            self._queue_for(target, group)
        if groups:
            self._on_change()

    def _queue_for(self, target: Target, events: list[Event]) -> None:
        now, signed = self._clock.now(), []  # due now: when it happened, or when it is reflowed
        for event in events:
            body = _encode(event.body)
            headers = {**target.headers, "Content-Type": "application/json", "Cko-Signature": sign(body, target.key)}
            signed.append((event, body, headers))
        for index, kind in self.chaos.plan(len(signed), target.chaos):
            event, body, headers = signed[index]
            if kind == "forgery":
                forged, wrong_key = self.chaos.forge(event.body)
                body = _encode(forged)
                headers = {**headers, "Cko-Signature": sign(body, wrong_key)}
            self._queue.append(
                WebhookDelivery(
                    event.id,
                    event.type,
                    target.url,
                    body,
                    headers,
                    now,
                    kind=kind,
                    workflow_id=target.workflow_id,
                    action_id=target.action_id,
                    retry=target.retry,
                    shortcut=target.shortcut,
                )
            )

    def cancel(self, workflow_id: str, action_id: str | None = None) -> None:
        """Drop the queued deliveries and retries of a workflow (or one of its actions) that went away."""
        for delivery in self._queue:
            if delivery.workflow_id == workflow_id and action_id in (None, delivery.action_id):
                delivery.cancelled = True
        self._queue = [delivery for delivery in self._queue if not delivery.cancelled or delivery.in_flight]

    def clock_moved(self) -> None:
        """Retries may have come due: tell whoever delivers."""
        self._on_change()

    def claim_due(self) -> list[WebhookDelivery]:
        """Mark every delivery due on the sandbox clock as in flight and return them.

        Sandbox rule: an attempt is stamped with the sandbox time it was due at, and the next retry
        is scheduled from there, so a clock advanced by hours delivers every retry that came due
        meanwhile (the worker claims again until none is due), and a seed gives the same log
        however quickly the worker runs. Attempts are listed in claim order, deterministic however
        the POSTs interleave.
        """
        now = self._clock.now()
        due = [d for d in self._queue if d.in_flight is None and d.due_at <= now]
        for delivery in due:
            delivery.in_flight = DeliveryAttempt(
                delivery.event_id,
                delivery.type,
                delivery.url,
                delivery.attempt,
                delivery.due_at,
                delivery.kind,
                seq=self._next_seq,
                workflow_id=delivery.workflow_id,
                action_id=delivery.action_id,
                shortcut=delivery.shortcut,
            )
            self._next_seq += 1
            if isinstance(self._log, MemoryLog):
                self._log.append(delivery.in_flight)
        return due

    def record(self, delivery: WebhookDelivery, status_code: int | None) -> None:
        """Record how an attempt ended; a failure is rescheduled on the retry schedule.

        Sandbox rule: non-2xx, refused or no answer is a failure, retried after 5 min, 10 min,
        15 min, 30 min, 1 h, 4 h, 12 h and 12 h of sandbox time (8 retries), then given up.
        A duplicate or a forgery (webhook chaos) is never retried, so it can't change the real
        delivery's schedule. A delivery this outbox no longer holds is ignored.
        """
        attempt = delivery.in_flight
        if attempt is None or delivery not in self._queue:
            return
        delivered = status_code is not None and 200 <= status_code < 300
        once = delivery.kind != "delivery" or not delivery.retry
        final = delivered or once or delivery.cancelled or delivery.attempt > len(WEBHOOK_RETRY_DELAYS)
        attempt.status_code, attempt.done, attempt.final = status_code, True, final
        delivery.in_flight = None
        if isinstance(self._log, SqliteLog):
            self._log.append(attempt, attempt.seq)
        if final:
            self._queue.remove(delivery)
        else:
            delivery.due_at = attempt.attempted_at + WEBHOOK_RETRY_DELAYS[delivery.attempt - 1]
            delivery.attempt += 1

    def settled(self) -> bool:
        """True when no delivery is in flight or due now (later retries wait for the clock)."""
        now = self._clock.now()
        return not any(d.in_flight is not None or d.due_at <= now for d in self._queue)

    def delivery_count(self) -> int:
        """Delivery attempts made so far: each retry counts, and so does each duplicate and forgery (every POST)."""
        if isinstance(self._log, SqliteLog):
            return len(self._log)
        return sum(attempt.done for attempt in self._log)

    def attempts_of(self, event_id: str) -> list[DeliveryAttempt]:
        """The finished real attempts (no chaos extras) of one event, to any action, oldest first."""
        return [a for a in self._log.where("event_id", event_id) if a.done and a.kind == "delivery"]

    def queued_for(self, event_id: str) -> list[WebhookDelivery]:
        """Deliveries of one event still queued or retrying."""
        return [d for d in self._queue if d.event_id == event_id and d.kind == "delivery" and not d.cancelled]

    def deliveries(self) -> list[dict]:
        """Every finished delivery attempt, oldest first (the wire's ``/_sandbox/webhooks/deliveries``).

        Sandbox rule: once webhook chaos has been on (since the last reset), every attempt also
        carries ``kind``: ``"delivery"`` (the real one, or its retry), ``"duplicate"`` or
        ``"forgery"``. Before that every attempt is a real delivery, and the log keeps the shape
        it had before chaos existed. Attempts to a workflow's action (not the ``PUT /_sandbox/webhooks``
        shortcut's) also carry ``workflow_id`` and ``action_id``.
        """
        log = []
        for attempt in self._log:
            if not attempt.done:
                continue
            entry = {
                "event_id": attempt.event_id,
                "type": attempt.type,
                "url": attempt.url,
                "status_code": attempt.status_code,
                "attempt": attempt.attempt,
                "attempted_at": isoformat(attempt.attempted_at),
            }
            if self.marked:
                entry["kind"] = attempt.kind
            if not attempt.shortcut:
                entry.update(workflow_id=attempt.workflow_id, action_id=attempt.action_id)
            log.append(entry)
        return log

    # --- a state file's copy (``store.py``): small, saved with every transaction ----------------

    def snapshot(self) -> dict:
        """The queued deliveries, JSON-ready (what a restart restores)."""
        queue = [
            [
                d.event_id,
                d.type,
                d.url,
                d.body.decode("latin-1"),
                d.headers,
                d.due_at.isoformat(),
                d.attempt,
                d.kind,
                d.workflow_id,
                d.action_id,
                d.retry,
                d.shortcut,
            ]
            for d in self._queue
            if not d.cancelled
        ]
        return {"marked": self.marked, "next_seq": self._next_seq, "queue": queue}

    def restore(self, saved: dict) -> None:
        """Take back a :meth:`snapshot`. Attempts in flight when the process stopped are retried (at least once)."""
        self.marked, self._next_seq = saved["marked"], saved["next_seq"]
        # A file written before workflows queued 8 fields: the shortcut's deliveries (no workflow, retried).
        queue = [entry if len(entry) == 12 else [*entry, None, None, True, True] for entry in saved["queue"]]
        self._queue = [
            WebhookDelivery(
                event_id,
                kind_,
                url,
                body.encode("latin-1"),
                headers,
                datetime.fromisoformat(due),
                attempt,
                kind=kind,
                workflow_id=workflow_id,
                action_id=action_id,
                retry=retry,
                shortcut=shortcut,
            )
            for event_id, kind_, url, body, headers, due, attempt, kind, workflow_id, action_id, retry, shortcut in queue
        ]


def _encode_attempt(attempt: DeliveryAttempt) -> dict:
    return {**attempt.__dict__, "attempted_at": attempt.attempted_at.isoformat()}


def _decode_attempt(data: dict) -> DeliveryAttempt:
    return DeliveryAttempt(**{**data, "attempted_at": datetime.fromisoformat(data["attempted_at"])})


def _encode(body: dict) -> bytes:
    """An event's bytes on the wire (compact JSON, UTF-8), as signed."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
