"""The webhook outbox and its delivery log (contract §5): what is due, and every attempt made.

Events become signed deliveries here, on the sandbox clock; the server's worker claims the due
ones, does the POSTs off the request path and records each result. Webhook chaos (``chaos.py``)
adds repeated and forged deliveries and shuffles each action's events. Not locked on its own:
``models.SandboxState`` calls it under its one lock.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from .._shared.signing import sign
from .chaos import CHAOS_OFF, WebhookChaos, chaos_settings
from .clock import SandboxClock, isoformat
from .exceptions import InvalidRequest, MalformedRequest
from .resources import Event
from .store import SqliteLog, SqliteStore
from .validation import is_webhook_url

#: Sandbox rule: Checkout.com's retry schedule for a failed webhook delivery (8 retries), measured on
#: the sandbox clock, so advancing the clock delivers due retries without waiting in real time.
WEBHOOK_RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (5, 10, 15, 30, 60, 240, 720, 720))


@dataclass
class DeliveryAttempt:
    """One POST of an event to the webhook URL; ``status_code`` None means no answer."""

    event_id: str
    type: str
    url: str
    attempt: int  #: 1 = the first delivery, 2 = the first retry, ...
    attempted_at: datetime
    kind: str = "delivery"  #: one of ``chaos.DELIVERY_KINDS``
    status_code: int | None = None
    done: bool = False  #: False while the POST is in flight (not yet listed)
    seq: int = 0  #: its place in the log, in claim order (a state file's log is written as attempts end)


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
    cancelled: bool = False  #: delivery was turned off while this was in flight: no retry
    kind: str = "delivery"  #: one of ``chaos.DELIVERY_KINDS``


class WebhookOutbox:
    """Queued and retrying deliveries, the webhook settings, and the log of attempts."""

    def __init__(
        self, clock: SandboxClock, on_change: Callable[[], None], seed: int | None = None, store: SqliteStore | None = None
    ):
        self._clock = clock
        #: called when deliveries may have come due (the caller's lock held: it must not block)
        self._on_change = on_change
        #: where events are POSTed and the key they are signed with; None: delivery is off
        self.url: str | None = None
        self._signature_key: str | None = None
        self._queue: list[WebhookDelivery] = []  #: queued and retrying deliveries, in event order
        self._attempts: list[DeliveryAttempt] = []  #: every delivery attempt, oldest first (in memory)
        #: with a state file: the finished attempts, in a table (``_attempts`` is then unused)
        self._log = None if store is None else SqliteLog(store, "attempts", _encode_attempt, _decode_attempt)
        self._next_seq = 1  #: the next attempt's place in the log
        #: duplicates, reordering and forgeries (off until a PUT turns them on), from their own seeded stream
        #: duplicates, reordering and forgeries (webhook chaos), off unless set
        self.chaos = WebhookChaos(seed)
        #: True once chaos has been on: from then on the log marks each attempt's ``kind``
        self._marked = False

    def configure(self, body: Any) -> dict:
        """Set where events are POSTed, the key that signs them and the chaos; ``{}`` or a null ``url`` turns delivery off.

        A PUT replaces the settings: chaos fields left out are off. Sandbox rules: events are
        queued for the URL, key and chaos set when they happen; turning delivery off drops every
        queued delivery and retry (and the chaos). The key is write-only, so a body naming the
        URL already set may leave ``signature_key`` out to keep the key already set (how a client
        that never saw the key changes the chaos). Unknown fields, or chaos values out of range
        (rates 0..1, ``reorder`` a boolean), are refused and nothing changes.

        Raises:
            MalformedRequest, InvalidRequest (``webhook_url_invalid``, ``signature_key_invalid``,
            ``webhooks_invalid``)
        """
        if not isinstance(body, dict):
            raise MalformedRequest()
        chaos = chaos_settings(body)
        url, key = body.get("url"), body.get("signature_key")
        codes = []
        if url is not None:
            if key is None and url == self.url:
                key = self._signature_key  # sandbox rule: the key already set is kept
            if not is_webhook_url(url):
                codes.append("webhook_url_invalid")
            if not (isinstance(key, str) and 1 <= len(key) <= 1024):
                codes.append("signature_key_invalid")
        if chaos is None:
            codes.append("webhooks_invalid")
        if codes:
            raise InvalidRequest(*codes)
        if url is None:
            self.url = self._signature_key = None
            self.chaos.settings = dict(CHAOS_OFF)
            for delivery in self._queue:
                delivery.cancelled = True
            self._queue = [delivery for delivery in self._queue if delivery.in_flight]
            return self.settings()
        self.url, self._signature_key, self.chaos.settings = url, key, chaos
        self._marked = self._marked or self.chaos.on
        return self.settings()

    def settings(self) -> dict:
        """The webhook configuration: the URL, and the chaos when any is on (the signing key is never echoed).

        With chaos off this is ``{"url": ...}`` alone, the shape it had before chaos existed.
        """
        if not self.chaos.on:
            return {"url": self.url}
        return {"url": self.url, **self.chaos.settings}

    def queue(self, events: list[Event]) -> None:
        """Queue the events of one action for delivery: the exact bytes and their signatures are fixed now.

        Webhook chaos (sandbox rules, ``WebhookChaos.plan``) may add a duplicate or a forgery
        after an event, and with ``reorder`` shuffles the action's deliveries; with chaos off,
        each event is queued once, in order.
        """
        if self.url is None or self._signature_key is None or not events:
            return
        signed = []
        for event in events:
            body = _encode(event.body)
            signed.append((event, body, {"Content-Type": "application/json", "Cko-Signature": sign(body, self._signature_key)}))
        for index, kind in self.chaos.plan(len(signed)):
            event, body, headers = signed[index]
            if kind == "forgery":
                forged, wrong_key = self.chaos.forge(event.body)
                body = _encode(forged)
                headers = {**headers, "Cko-Signature": sign(body, wrong_key)}
            self._queue.append(WebhookDelivery(event.id, event.type, self.url, body, headers, event.timestamp, kind=kind))
        self._on_change()

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
                delivery.event_id, delivery.type, delivery.url, delivery.attempt, delivery.due_at, delivery.kind
            )
            if self._log is None:
                self._attempts.append(delivery.in_flight)
            else:
                delivery.in_flight.seq, self._next_seq = self._next_seq, self._next_seq + 1
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
        attempt.status_code, attempt.done = status_code, True
        delivery.in_flight = None
        if self._log is not None:
            self._log.append(attempt, attempt.seq)
        delivered = status_code is not None and 200 <= status_code < 300
        once = delivery.kind != "delivery"
        if delivered or once or delivery.cancelled or delivery.attempt > len(WEBHOOK_RETRY_DELAYS):
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
        if self._log is not None:
            return len(self._log)
        return sum(attempt.done for attempt in self._attempts)

    def deliveries(self) -> list[dict]:
        """Every finished delivery attempt, oldest first (the wire's ``/_sandbox/webhooks/deliveries``).

        Sandbox rule: once webhook chaos has been on (since the last reset), every attempt also
        carries ``kind``: ``"delivery"`` (the real one, or its retry), ``"duplicate"`` or
        ``"forgery"``. Before that every attempt is a real delivery, and the log keeps the shape
        it had before chaos existed.
        """
        log = []
        for attempt in self._attempts if self._log is None else self._log:
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
            if self._marked:
                entry["kind"] = attempt.kind
            log.append(entry)
        return log

    # --- a state file's copy (``store.py``): small, saved with every transaction ----------------

    def snapshot(self) -> dict:
        """The settings and the queued deliveries, JSON-ready (what a restart restores)."""
        queue = [
            [d.event_id, d.type, d.url, d.body.decode("latin-1"), d.headers, d.due_at.isoformat(), d.attempt, d.kind]
            for d in self._queue if not d.cancelled
        ]
        return {
            "url": self.url, "signature_key": self._signature_key, "chaos": self.chaos.settings,
            "marked": self._marked, "next_seq": self._next_seq, "queue": queue,
        }

    def restore(self, saved: dict) -> None:
        """Take back a :meth:`snapshot`. Attempts in flight when the process stopped are retried (at least once)."""
        self.url, self._signature_key, self.chaos.settings = saved["url"], saved["signature_key"], saved["chaos"]
        self._marked, self._next_seq = saved["marked"], saved["next_seq"]
        self._queue = [
            WebhookDelivery(event_id, kind_, url, body.encode("latin-1"), headers, datetime.fromisoformat(due), attempt, kind=kind)
            for event_id, kind_, url, body, headers, due, attempt, kind in saved["queue"]
        ]


def _encode_attempt(attempt: DeliveryAttempt) -> dict:
    return {**attempt.__dict__, "attempted_at": attempt.attempted_at.isoformat()}


def _decode_attempt(data: dict) -> DeliveryAttempt:
    return DeliveryAttempt(**{**data, "attempted_at": datetime.fromisoformat(data["attempted_at"])})


def _encode(body: dict) -> bytes:
    """An event's bytes on the wire (compact JSON, UTF-8), as signed."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
