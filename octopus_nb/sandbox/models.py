"""The sandbox's state and rules: setups, payments, actions, lifecycle, idempotency, webhooks, faults.

(What a request body may hold, and Octopus readiness, are pure functions in ``validation.py``.)

Nothing here knows about HTTP: methods are named after API operations, take plain data and
return plain data (what the handlers serialise), and raise :class:`SandboxError` subclasses that
``handlers.py`` maps to status codes. Time comes from :class:`SandboxClock` and randomness from
one seedable ``random.Random``, so a seed makes every id, token and timestamp repeatable.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from .._shared.contract import API_VERSION  # noqa: F401 - re-exported for handlers
from .._shared.signing import sign
from .validation import (  # noqa: F401 - MAX_AMOUNT, PAYMENT_TYPES: the model's vocabulary, re-exported
    MAX_AMOUNT,
    PAYMENT_TYPES,
    WRITABLE_FIELDS,
    is_int,
    is_number,
    is_webhook_url,
    octopus_readiness,
    setup_field_errors,
    with_payment_id,
)

#: The key the embedded sandbox accepts unless told otherwise. Documented and not secret: it only
#: opens a sandbox on your own loopback interface.
DEFAULT_SECRET_KEY = "sk_sbox_octopusnbsandboxdefaultkey="
#: Where a seeded sandbox's clock starts (the seed page's "Last updated" day).
SEEDED_EPOCH = datetime(2026, 4, 30, 9, 0, 0, tzinfo=timezone.utc)
#: The sandbox clock stops here, well before datetime's year 9999 (expiries and retries add to it).
_CLOCK_LIMIT = datetime(9000, 1, 1, tzinfo=timezone.utc)
#: Sandbox rule: a pending Octopus payment expires after 15 minutes of sandbox time.
PAYMENT_EXPIRY = timedelta(minutes=15)
#: Sandbox rule: an idempotency key is remembered for 24 hours of sandbox time.
IDEMPOTENCY_WINDOW = timedelta(hours=24)
#: The only payment method enabled on the sandbox account.
ENABLED_METHODS = ("octopus",)

_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
SECRET_KEY_PATTERN = re.compile(r"^sk_(sbox_)?[a-z2-7]{26}[a-z2-7*#$=]$")
#: Sandbox rule: Checkout.com's retry schedule for a failed webhook delivery (8 retries), measured on
#: the sandbox clock, so advancing the clock delivers due retries without waiting in real time.
WEBHOOK_RETRY_DELAYS = tuple(timedelta(minutes=m) for m in (5, 10, 15, 30, 60, 240, 720, 720))
#: Statuses fault injection may answer with (the ones a real gateway sends under load).
FAULT_STATUSES = (500, 502, 503, 429)
#: Longest injected latency: long enough to trip any client timeout, short enough not to hang a test run.
MAX_FAULT_LATENCY_MS = 60_000


# --- errors: one class per wire error family; handlers.py owns the status codes -------------


class SandboxError(Exception):
    """A request the sandbox refuses; ``error_codes`` go on the wire as they are."""

    error_type = "request_invalid"

    def __init__(self, *error_codes: str):
        super().__init__(", ".join(error_codes) or self.error_type)
        self.error_codes = list(error_codes)


class InvalidRequest(SandboxError):
    """422: the body parsed but broke a rule; lists every problem found."""


class MalformedRequest(SandboxError):
    """400: the body is not a JSON object."""

    error_type = "request_malformed"


class NotFound(SandboxError):
    """404: no such setup, payment or token."""

    error_type = "not_found"


class Conflict(SandboxError):
    """409: the resource is in a state that forbids this operation."""

    error_type = "conflict"


class Gone(SandboxError):
    """410: a landing-page token already used, or its payment no longer waiting for the customer."""

    error_type = "gone"


class InFlight(SandboxError):
    """429: the same idempotency key is still being processed."""

    error_type = "too_many_requests"


# --- time and ids ---------------------------------------------------------------------------


class SandboxClock:
    """The sandbox's notion of now.

    Seeded: starts at :data:`SEEDED_EPOCH` and moves only when advanced, so timestamps repeat
    from run to run. Unseeded: follows the wall clock, plus whatever was advanced.
    """

    def __init__(self, frozen: bool):
        self._frozen = frozen
        self._offset = timedelta(0)

    def now(self) -> datetime:
        base = SEEDED_EPOCH if self._frozen else datetime.now(timezone.utc)
        return base + self._offset

    def advance(self, seconds: float) -> datetime:
        self._offset += timedelta(seconds=seconds)
        return self.now()


def isoformat(moment: datetime) -> str:
    """Checkout.com's timestamp shape: UTC with a ``Z``."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# --- resources ------------------------------------------------------------------------------


@dataclass
class PaymentSetup:
    id: str
    fields: dict  #: the writable fields as last sent (after validation and defaults)
    latest_payment_id: str | None = None


@dataclass
class Action:
    id: str
    type: str
    processed_on: datetime
    amount: int
    approved: bool
    response_code: str
    response_summary: str
    reference: str | None = None


@dataclass
class Payment:
    id: str
    setup_id: str
    amount: int
    currency: str
    reference: str | None
    description: str | None
    payment_type: str
    customer: dict
    token: str
    requested_on: datetime
    expires_on: datetime
    success_url: str | None
    failure_url: str | None
    status: str = "Pending"
    token_used: bool = False
    actions: list[Action] = field(default_factory=list)  #: oldest first
    total_refunded: int = 0

    @property
    def total_captured(self) -> int:
        return self.amount if self.status in REFUNDABLE | {"Refunded"} else 0


@dataclass
class Event:
    """A webhook event, recorded when the lifecycle moves; delivery is the server's job."""

    id: str
    type: str
    created_on: datetime
    payment_id: str
    action_id: str | None
    body: dict


@dataclass
class DeliveryAttempt:
    """One POST of an event to the webhook URL; ``status_code`` None means no answer."""

    event_id: str
    type: str
    url: str
    attempt: int  #: 1 = the first delivery, 2 = the first retry, ...
    attempted_at: datetime
    status_code: int | None = None
    done: bool = False  #: False while the POST is in flight (not yet listed)


@dataclass(eq=False)
class WebhookDelivery:
    """An event waiting in the outbox: where it goes, the exact bytes and signature, when it is due.

    The body and signature are fixed when the event is queued, so every retry sends the same bytes.
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


@dataclass(frozen=True)
class FaultPlan:
    """What fault injection does to one API request, drawn before the request is handled."""

    error_status: int | None = None  #: answer with this status at once, doing nothing
    latency: float = 0.0  #: seconds to wait before handling
    drop: bool = False  #: do the work, then close the connection without answering


#: The Octopus lifecycle as data (auto-captured: there is no separate authorization step).
TRANSITIONS = {
    "Pending": {"Captured", "Declined", "Expired"},
    "Captured": {"Partially Refunded", "Refunded"},
    "Partially Refunded": {"Partially Refunded", "Refunded"},
}
REFUNDABLE = {"Captured", "Partially Refunded"}
#: A setup may be confirmed again only after its latest payment ended in one of these.
RETRYABLE = {"Declined", "Expired"}


@dataclass
class _StoredResponse:
    fingerprint: str
    stored_at: datetime
    status: int | None = None  #: None while the first request is in flight
    body: bytes = b""


class SandboxState:
    """Everything one sandbox knows. Thread-safe: every public method takes ``self._lock``."""

    def __init__(self, seed: int | None = None, secret_key: str | None = None, base_url: str = ""):
        #: the seed this state was built with (``reset()`` rebuilds from it)
        self.seed = seed
        #: the one API key accepted (``Authorization: Bearer <key>``)
        self.secret_key = secret_key or DEFAULT_SECRET_KEY
        if not SECRET_KEY_PATTERN.match(self.secret_key):
            # Requests are refused unless the key has Checkout.com's shape, so no client could get in.
            raise ValueError("secret_key must look like sk_sbox_ + 27 characters of [a-z2-7] (the last may be *#$=)")
        #: scheme://host:port that links point at; set by the server once it is bound
        self.base_url = base_url
        #: resource ids and tokens; unseeded, they come from the OS and cannot be guessed
        self.random = random.Random(seed) if seed is not None else random.SystemRandom()
        #: request ids come from their own stream, so an extra GET never shifts resource ids
        self._request_random = random.Random(seed + 1) if seed is not None else random.SystemRandom()
        self.clock = SandboxClock(frozen=seed is not None)
        self.default_processing_channel_id = self._new_id("pc")
        self.setups: dict[str, PaymentSetup] = {}
        self.payments: dict[str, Payment] = {}
        self.tokens: dict[str, str] = {}  #: landing-page token → payment id
        self._awaiting: dict[str, Payment] = {}  #: what the clock may expire, so a check is O(pending)
        self.customers: dict[str, str] = {}  #: customer email → customer id
        self.events: list[Event] = []
        self.requests = 0
        self.refunds = 0
        self._idempotency: dict[str, _StoredResponse] = {}
        #: where events are POSTed and the key they are signed with; None: delivery is off
        self.webhook_url: str | None = None
        self._webhook_signature_key: str | None = None
        self._outbox: list[WebhookDelivery] = []  #: queued and retrying deliveries, in event order
        self._attempts: list[DeliveryAttempt] = []  #: every delivery attempt, oldest first
        #: the faults injected on API routes (``{}``: none); see :meth:`set_faults`
        self.faults: dict = {}
        #: faults draw from their own stream, so injecting them never shifts ids or request ids
        self._fault_random = random.Random(seed + 2) if seed is not None else random.SystemRandom()
        #: called (lock held, must not block) when deliveries may have come due; the server's
        #: webhook worker sets it to wake itself, and ``reset()`` keeps it
        self.wake_webhooks: Callable[[], None] = lambda: None
        self._lock = threading.RLock()

    def reset(self) -> None:
        """Forget everything and restart the seeded sequences; re-runs ``__init__`` so it can't drift.

        Queued webhook deliveries are forgotten; one in flight finishes, but its result is dropped.
        """
        with self._lock:
            lock, base_url, wake = self._lock, self.base_url, self.wake_webhooks
            self.__init__(self.seed, self.secret_key, base_url)
            self._lock, self.wake_webhooks = lock, wake

    # --- ids, request bookkeeping ----------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return prefix + "_" + "".join(self.random.choice(_BASE32) for _ in range(26))

    def new_request_id(self) -> str:
        """A fresh ``Cko-Request-Id`` (UUID-shaped, as Checkout.com's are)."""
        with self._lock:
            bits = self._request_random.getrandbits(128)
        hex32 = f"{bits:032x}"
        return f"{hex32[:8]}-{hex32[8:12]}-4{hex32[13:16]}-a{hex32[17:20]}-{hex32[20:]}"

    def count_request(self) -> None:
        with self._lock:
            self.requests += 1

    def is_valid_key(self, presented: str) -> bool:
        import hmac

        return hmac.compare_digest(presented.encode(), self.secret_key.encode())

    def stats(self) -> dict:
        with self._lock:
            return {
                "setups": len(self.setups),
                "payments": len(self.payments),
                "refunds": self.refunds,
                "webhook_deliveries": self.webhook_delivery_count(),
                "requests": self.requests,
            }

    def webhook_delivery_count(self) -> int:
        """Delivery attempts made so far (each retry counts)."""
        with self._lock:
            return sum(attempt.done for attempt in self._attempts)

    def now(self) -> str:
        with self._lock:
            return isoformat(self.clock.now())

    # --- idempotency -----------------------------------------------------------------------

    def begin_idempotent(self, key: str, fingerprint: str) -> tuple[int, bytes] | None:
        """Claim ``key`` for a request, or return the stored (status, body) to replay.

        Sandbox rule: same key and same method/path/body within 24 h replays the stored response;
        a different request under the same key is ``idempotency_key_reused`` (422); a key whose
        first request is still being processed gets 429.
        """
        with self._lock:
            now = self.clock.now()
            stored = self._idempotency.get(key)
            if stored and now - stored.stored_at > IDEMPOTENCY_WINDOW:
                stored = None
            if stored is None:
                self._idempotency[key] = _StoredResponse(fingerprint, now)
                return None
            if stored.fingerprint != fingerprint:
                raise InvalidRequest("idempotency_key_reused")
            if stored.status is None:
                raise InFlight("request_in_progress")
            return stored.status, stored.body

    def finish_idempotent(self, key: str, status: int, body: bytes) -> None:
        """Store the response for ``key``; a 5xx or 429 releases the key so a retry can run."""
        with self._lock:
            if status >= 500 or status == 429:
                self._idempotency.pop(key, None)
            elif key in self._idempotency:
                self._idempotency[key].status, self._idempotency[key].body = status, body

    @staticmethod
    def fingerprint(method: str, path: str, body: bytes) -> str:
        return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()

    # --- payment setups --------------------------------------------------------------------

    def create_payment_setup(self, body: Any) -> dict:
        with self._lock:
            fields = self._validated_setup_fields(body)
            setup = PaymentSetup(self._new_id("set"), fields)
            self.setups[setup.id] = setup
            return self._setup_view(setup)

    def update_payment_setup(self, setup_id: str, body: Any) -> dict:
        """PUT replaces every writable field. Sandbox rule: a confirmed setup can't change (409)."""
        with self._lock:
            setup = self._get_setup(setup_id)
            fields = self._validated_setup_fields(body)
            self._refuse_if_confirmed(setup)
            setup.fields = fields
            return self._setup_view(setup)

    def get_payment_setup(self, setup_id: str) -> dict:
        with self._lock:
            return self._setup_view(self._get_setup(setup_id))

    def confirm_payment_setup(self, setup_id: str, payment_method_name: str) -> dict:
        """Create the Octopus payment (Pending) and its one-time landing-page token."""
        with self._lock:
            setup = self._get_setup(setup_id)
            if payment_method_name not in ENABLED_METHODS:
                raise InvalidRequest("payment_method_not_supported")
            self._refuse_if_confirmed(setup)
            status, flags = octopus_readiness(setup.fields)
            if status != "ready":
                raise InvalidRequest(*flags)
            now = self.clock.now()
            fields = setup.fields
            settings = fields.get("settings", {})
            payment = Payment(
                id=self._new_id("pay"),
                setup_id=setup.id,
                amount=fields["amount"],
                currency=fields["currency"],
                reference=fields.get("reference"),
                description=fields.get("description"),
                payment_type=fields.get("payment_type", "Regular"),
                customer=self._customer_for(fields.get("customer", {})),
                token="".join(self.random.choice(_BASE32) for _ in range(26)),
                requested_on=now,
                expires_on=now + PAYMENT_EXPIRY,
                success_url=settings.get("success_url"),
                failure_url=settings.get("failure_url"),
            )
            self.payments[payment.id] = payment
            self._awaiting[payment.id] = payment
            self.tokens[payment.token] = payment.id
            setup.latest_payment_id = payment.id
            self._emit("payment_pending", payment)
            return self._confirm_view(payment)

    def _refuse_if_confirmed(self, setup: PaymentSetup) -> None:
        """Sandbox rule: a setup holds one live payment; Declined or Expired lets the customer retry."""
        latest = self.payments.get(setup.latest_payment_id or "")
        if latest is not None and latest.status not in RETRYABLE:
            raise Conflict("payment_setup_already_confirmed")

    def _customer_for(self, customer: dict) -> dict:
        """Reuse the customer named by ``id`` or by e-mail address, else create one."""
        email = (customer.get("email") or {}).get("address")
        customer_id = customer.get("id") or self.customers.get(email or "") or self._new_id("cus")
        if email:
            self.customers.setdefault(email, customer_id)
        view = {"id": customer_id}
        if email:
            view["email"] = email
        if customer.get("name"):
            view["name"] = customer["name"]
        return view

    # --- payments --------------------------------------------------------------------------

    def get_payment(self, payment_id: str) -> dict:
        with self._lock:
            return self._payment_view(self._get_payment(payment_id))

    def get_payment_actions(self, payment_id: str) -> list:
        """Actions newest first, as Checkout.com lists them."""
        with self._lock:
            payment = self._get_payment(payment_id)
            return [_action_view(action) for action in reversed(payment.actions)]

    def refund_payment(self, payment_id: str, body: Any) -> dict:
        """Refund all or part of a captured payment; amounts end in 0, within the balance."""
        with self._lock:
            payment = self._get_payment(payment_id)
            if body is None:
                body = {}
            if not isinstance(body, dict):
                raise MalformedRequest()
            amount = body.get("amount")
            reference = body.get("reference")
            codes = []
            if payment.status not in REFUNDABLE:
                raise InvalidRequest("refund_not_allowed")
            available = payment.amount - payment.total_refunded
            if amount is None:
                amount = available
            elif not is_int(amount) or amount < 1:
                codes.append("amount_invalid")
            elif amount % 10:
                codes.append("amount_must_end_in_zero")
            elif amount > available:
                codes.append("refund_amount_exceeds_balance")
            if reference is not None and not (isinstance(reference, str) and len(reference) <= 80):
                codes.append("reference_invalid")
            if codes:
                raise InvalidRequest(*codes)
            action = self._add_action(payment, "Refund", amount, True, reference)
            payment.total_refunded += amount
            self.refunds += 1
            self._emit("payment_refund_pending", payment, action)
            self._move(payment, "Refunded" if payment.total_refunded == payment.amount else "Partially Refunded")
            self._emit("payment_refunded", payment, action)
            return {
                "action_id": action.id,
                "reference": reference,
                "_links": {"payment": {"href": self._payment_href(payment)}},
            }

    # --- the customer and the clock (control surface, sandbox rules) -----------------------

    def approve_payment(self, payment_id: str) -> dict:
        """Sandbox rule: the customer approves in the Octopus App; Octopus captures at once."""
        with self._lock:
            payment = self._pending(payment_id)
            self._emit("payment_capture_pending", payment)
            self._move(payment, "Captured")
            action = self._add_action(payment, "Capture", payment.amount, True)
            self._emit("payment_captured", payment, action)
            return self._payment_view(payment)

    def decline_payment(self, payment_id: str) -> dict:
        """Sandbox rule: the customer declines (or the authorization fails)."""
        with self._lock:
            payment = self._pending(payment_id)
            self._move(payment, "Declined")
            action = self._add_action(payment, "Authorization", payment.amount, False)
            self._emit("payment_declined", payment, action)
            return self._payment_view(payment)

    def expire_payment(self, payment_id: str) -> dict:
        """Sandbox rule: nobody acted before ``expires_on``; the payment lapses."""
        with self._lock:
            payment = self._pending(payment_id)
            self._expire(payment)
            return self._payment_view(payment)

    def advance_clock(self, seconds: Any) -> dict:
        """Sandbox rule: move sandbox time on; pending payments past ``expires_on`` expire."""
        if not is_number(seconds) or not 0 <= seconds <= 366 * 24 * 3600:
            raise InvalidRequest("advance_seconds_invalid")
        with self._lock:
            if self.clock.now() + timedelta(seconds=seconds) > _CLOCK_LIMIT:
                # datetime ends in year 9999: past it every timestamp, so every answer, would fail
                raise InvalidRequest("advance_seconds_invalid")
            self.clock.advance(seconds)
            self._expire_due()
            self.wake_webhooks()  # retries may have come due
            return {"now": isoformat(self.clock.now())}

    def payment_for_token(self, token: str) -> Payment:
        with self._lock:
            self._expire_due()
            payment_id = self.tokens.get(token)
            if payment_id is None:
                raise NotFound("token_not_found")
            return self.payments[payment_id]

    # --- the landing page: the customer's browser, holding a one-time token (sandbox rules) --

    def landing_page(self, token: str) -> dict:
        """What the landing page shows for ``token``.

        Sandbox rule: an unknown token is ``NotFound`` (404); a used token, or a payment no longer
        Pending (expired, or settled through ``/_sandbox/payments/{id}/...``), is ``Gone`` (410).

        Raises:
            NotFound, Gone
        """
        with self._lock:
            payment = self._actionable(token)
            return {
                "payment_id": payment.id,
                "reference": payment.reference,
                "amount": payment.amount,
                "currency": payment.currency,
                "status": payment.status,
                "octopus_uri": self._processing(payment)["octopus_uri"],
                "expires_on": isoformat(payment.expires_on),
            }

    def act_on_token(self, token: str, action: str) -> dict:
        """The customer approves or declines on the landing page; returns the payment and where to go.

        Sandbox rule: the token is single-use; afterwards the browser is sent to ``success_url``
        (approve) or ``failure_url`` (decline) with ``cko-payment-id={id}`` added to the query.

        Raises:
            MalformedRequest (``action_invalid``), NotFound, Gone
        """
        if action not in ("approve", "decline"):
            raise MalformedRequest("action_invalid")
        with self._lock:
            payment = self._actionable(token)
            payment.token_used = True
            view = self.approve_payment(payment.id) if action == "approve" else self.decline_payment(payment.id)
            target = payment.success_url if action == "approve" else payment.failure_url
            return {"payment": view, "redirect_url": with_payment_id(target or "", payment.id)}

    def _actionable(self, token: str) -> Payment:
        payment = self.payment_for_token(token)
        if payment.token_used:
            raise Gone("token_used")
        if payment.status == "Expired":
            raise Gone("payment_expired")
        if payment.status != "Pending":
            raise Gone("payment_not_pending")
        return payment

    # --- webhooks: an outbox the server's worker drains (contract §5) ----------------------

    def configure_webhooks(self, body: Any) -> dict:
        """Set where events are POSTed and the key that signs them; ``{}`` or a null ``url`` turns delivery off.

        Sandbox rule: events are queued for the URL and key set when they happen; turning delivery
        off drops every queued delivery and retry.

        Raises:
            MalformedRequest, InvalidRequest (``webhook_url_invalid``, ``signature_key_invalid``)
        """
        if not isinstance(body, dict):
            raise MalformedRequest()
        url, key = body.get("url"), body.get("signature_key")
        with self._lock:
            if url is None:
                self.webhook_url = self._webhook_signature_key = None
                for delivery in self._outbox:
                    delivery.cancelled = True
                self._outbox = [delivery for delivery in self._outbox if delivery.in_flight]
                return self.webhooks_view()
            codes = []
            if not is_webhook_url(url):
                codes.append("webhook_url_invalid")
            if not (isinstance(key, str) and 1 <= len(key) <= 1024):
                codes.append("signature_key_invalid")
            if codes:
                raise InvalidRequest(*codes)
            self.webhook_url, self._webhook_signature_key = url, key
            return self.webhooks_view()

    def webhooks_view(self) -> dict:
        """The webhook configuration (the signing key is never echoed)."""
        with self._lock:
            return {"url": self.webhook_url}

    def on_event(self, event: Event) -> None:
        """Queue ``event`` for delivery (lock held): the exact bytes and their signature are fixed now."""
        if self.webhook_url is None or self._webhook_signature_key is None:
            return
        body = json.dumps(event.body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        signature = sign(body, self._webhook_signature_key)
        headers = {"Content-Type": "application/json", "Cko-Signature": signature}
        self._outbox.append(WebhookDelivery(event.id, event.type, self.webhook_url, body, headers, event.created_on))
        self.wake_webhooks()

    def claim_due_webhooks(self) -> list[WebhookDelivery]:
        """Mark every delivery due on the sandbox clock as in flight and hand them to the worker.

        Sandbox rule: an attempt is stamped with the sandbox time it was due at, and the next retry
        is scheduled from there, so a clock advanced by hours delivers every retry that came due
        meanwhile (the worker claims again until none is due), and a seed gives the same log
        however quickly the worker runs. Attempts are listed in claim order, deterministic however
        the POSTs interleave. Also expires pending payments that are due, so an unseeded sandbox
        (real clock) sends ``payment_expired`` without waiting for a request.
        """
        with self._lock:
            self._expire_due()
            now = self.clock.now()
            due = [d for d in self._outbox if d.in_flight is None and d.due_at <= now]
            for delivery in due:
                delivery.in_flight = DeliveryAttempt(
                    delivery.event_id, delivery.type, delivery.url, delivery.attempt, delivery.due_at
                )
                self._attempts.append(delivery.in_flight)
            return due

    def record_webhook_attempt(self, delivery: WebhookDelivery, status_code: int | None) -> None:
        """Record how an attempt ended; a failure is rescheduled on the retry schedule.

        Sandbox rule: non-2xx, refused or no answer is a failure, retried after 5 min, 10 min,
        15 min, 30 min, 1 h, 4 h, 12 h and 12 h of sandbox time (8 retries), then given up.
        A delivery forgotten by ``reset()`` meanwhile is ignored.
        """
        with self._lock:
            attempt = delivery.in_flight
            if attempt is None or delivery not in self._outbox:
                return
            attempt.status_code, attempt.done = status_code, True
            delivery.in_flight = None
            delivered = status_code is not None and 200 <= status_code < 300
            if delivered or delivery.cancelled or delivery.attempt > len(WEBHOOK_RETRY_DELAYS):
                self._outbox.remove(delivery)
            else:
                delivery.due_at = attempt.attempted_at + WEBHOOK_RETRY_DELAYS[delivery.attempt - 1]
                delivery.attempt += 1

    def webhooks_settled(self) -> bool:
        """True when no delivery is in flight or due now (later retries wait for the clock)."""
        with self._lock:
            now = self.clock.now()
            return not any(d.in_flight is not None or d.due_at <= now for d in self._outbox)

    def webhook_deliveries(self) -> list[dict]:
        """Every finished delivery attempt, oldest first (the wire's ``/_sandbox/webhooks/deliveries``)."""
        with self._lock:
            return [
                {
                    "event_id": attempt.event_id,
                    "type": attempt.type,
                    "url": attempt.url,
                    "status_code": attempt.status_code,
                    "attempt": attempt.attempt,
                    "attempted_at": isoformat(attempt.attempted_at),
                }
                for attempt in self._attempts
                if attempt.done
            ]

    # --- fault injection on API routes (sandbox rules) -------------------------------------

    def set_faults(self, body: Any) -> dict:
        """Configure faults for API routes; ``{}`` turns them off.

        Sandbox rule: ``error_rate`` (0..1) answers with ``status`` (500, 502, 503 or 429; default
        500) before doing anything; ``latency_ms`` (0..60000) delays every API request;
        ``drop_rate`` (0..1) does the work, then closes the connection without an answer. Unknown
        fields are refused, so a typo can't silently inject nothing.

        Raises:
            MalformedRequest, InvalidRequest (``faults_invalid``)
        """
        if not isinstance(body, dict):
            raise MalformedRequest()
        known = {"error_rate", "status", "latency_ms", "drop_rate"}
        faults = {name: value for name, value in body.items() if value is not None}
        valid = set(faults) <= known and all(
            is_number(faults.get(rate, 0)) and 0 <= faults.get(rate, 0) <= 1 for rate in ("error_rate", "drop_rate")
        )
        valid = valid and (is_int(faults.get("status", 500)) and faults.get("status", 500) in FAULT_STATUSES)
        latency = faults.get("latency_ms", 0)
        valid = valid and is_number(latency) and 0 <= latency <= MAX_FAULT_LATENCY_MS
        if not valid:
            raise InvalidRequest("faults_invalid")
        with self._lock:
            self.faults = faults
            return dict(faults)

    def get_faults(self) -> dict:
        with self._lock:
            return dict(self.faults)

    def draw_faults(self) -> FaultPlan:
        """Decide, from the seeded fault stream, what happens to one API request."""
        with self._lock:
            faults = self.faults
            if not faults:
                return FaultPlan()
            latency = faults.get("latency_ms", 0) / 1000
            error_rate, drop_rate = faults.get("error_rate", 0), faults.get("drop_rate", 0)
            if error_rate and self._fault_random.random() < error_rate:
                return FaultPlan(error_status=faults.get("status", 500), latency=latency)
            drop = bool(drop_rate) and self._fault_random.random() < drop_rate
            return FaultPlan(latency=latency, drop=drop)

    # --- internals -------------------------------------------------------------------------

    def _get_setup(self, setup_id: str) -> PaymentSetup:
        self._expire_due()
        setup = self.setups.get(setup_id)
        if setup is None:
            raise NotFound("payment_setup_not_found")
        return setup

    def _get_payment(self, payment_id: str) -> Payment:
        self._expire_due()
        payment = self.payments.get(payment_id)
        if payment is None:
            raise NotFound("payment_not_found")
        return payment

    def _pending(self, payment_id: str) -> Payment:
        payment = self._get_payment(payment_id)
        if payment.status != "Pending":
            raise Conflict("payment_not_pending")
        return payment

    def _move(self, payment: Payment, status: str) -> None:
        """The one place a payment changes status, checked against :data:`TRANSITIONS`."""
        if status not in TRANSITIONS.get(payment.status, ()):
            raise Conflict("payment_status_invalid")
        payment.status = status
        self._awaiting.pop(payment.id, None)

    def _expire(self, payment: Payment) -> None:
        self._move(payment, "Expired")
        self._emit("payment_expired", payment)

    def _expire_due(self) -> None:
        now = self.clock.now()
        for payment in [p for p in self._awaiting.values() if now >= p.expires_on]:
            self._expire(payment)

    def _add_action(self, payment: Payment, kind: str, amount: int, approved: bool, reference=None) -> Action:
        code, summary = ("10000", "Approved") if approved else ("20005", "Declined - Do Not Honour")
        action = Action(self._new_id("act"), kind, self.clock.now(), amount, approved, code, summary, reference)
        payment.actions.append(action)
        return action

    def _emit(self, event_type: str, payment: Payment, action: Action | None = None) -> Event:
        now = self.clock.now()
        event_id = self._new_id("evt")
        data: dict = {"id": payment.id}
        if action is not None:
            data["action_id"] = action.id
        data.update(
            amount=action.amount if action else payment.amount,
            currency=payment.currency,
            reference=payment.reference,
            processed_on=isoformat(now),
            status=payment.status,
        )
        body = {
            "id": event_id,
            "type": event_type,
            "created_on": isoformat(now),
            "data": data,
            "_links": {
                "self": {"href": f"{self.base_url}/events/{event_id}"},
                "payment": {"href": self._payment_href(payment)},
            },
        }
        event = Event(event_id, event_type, now, payment.id, action.id if action else None, body)
        self.events.append(event)
        self.on_event(event)
        return event

    # --- views: what goes on the wire ------------------------------------------------------

    def _setup_view(self, setup: PaymentSetup) -> dict:
        status, flags = octopus_readiness(setup.fields)
        view = {"id": setup.id, **setup.fields}
        view["payment_methods"] = {"octopus": {"status": status, "flags": flags}}
        view["available_payment_methods"] = [] if status == "unavailable" else ["octopus"]
        latest = self.payments.get(setup.latest_payment_id or "")
        if latest is not None:
            view["latest_payment"] = self._confirm_view(latest)
        view["_links"] = {"self": {"href": f"{self.base_url}/payments/setups/{setup.id}"}}
        return view

    def _payment_href(self, payment: Payment) -> str:
        return f"{self.base_url}/payments/{payment.id}"

    def _processing(self, payment: Payment) -> dict:
        return {
            "landing_url": f"{self.base_url}/_sandbox/octopus/oos/payment/?token={payment.token}",
            "octopus_uri": f"octopus://payment?token={payment.token}",
            "token": payment.token,
        }

    def _confirm_view(self, payment: Payment) -> dict:
        """The confirm response, shaped exactly as the seed page's example."""
        return {
            "id": payment.id,
            "status": payment.status,
            "reference": payment.reference,
            "customer": {"id": payment.customer["id"]},
            "processing": self._processing(payment),
            "_links": {"self": {"href": self._payment_href(payment)}},
        }

    def _payment_view(self, payment: Payment) -> dict:
        links = {
            "self": {"href": self._payment_href(payment)},
            "actions": {"href": self._payment_href(payment) + "/actions"},
        }
        if payment.status in REFUNDABLE:
            links["refund"] = {"href": self._payment_href(payment) + "/refunds"}
        return {
            "id": payment.id,
            "requested_on": isoformat(payment.requested_on),
            "amount": payment.amount,
            "currency": payment.currency,
            "status": payment.status,
            "approved": payment.status in REFUNDABLE | {"Refunded"},
            "reference": payment.reference,
            "description": payment.description,
            "payment_type": payment.payment_type,
            "source": {"type": "octopus"},
            "customer": dict(payment.customer),
            "processing": self._processing(payment),
            "expires_on": isoformat(payment.expires_on),
            "balances": {
                "total_captured": payment.total_captured,
                "total_refunded": payment.total_refunded,
                "available_to_refund": payment.total_captured - payment.total_refunded,
            },
            "_links": links,
        }

    # --- validation ------------------------------------------------------------------------

    def _validated_setup_fields(self, body: Any) -> dict:
        """Check a create/update body against the contract; every problem is listed, not the first."""
        if not isinstance(body, dict):
            raise MalformedRequest()
        codes = setup_field_errors(body)
        if codes:
            raise InvalidRequest(*codes)
        fields = {key: body[key] for key in WRITABLE_FIELDS if body.get(key) is not None}
        fields.setdefault("processing_channel_id", self.default_processing_channel_id)
        fields.setdefault("payment_type", "Regular")
        return fields


def _action_view(action: Action) -> dict:
    return {
        "id": action.id,
        "type": action.type,
        "processed_on": isoformat(action.processed_on),
        "amount": action.amount,
        "approved": action.approved,
        "response_code": action.response_code,
        "response_summary": action.response_summary,
        "reference": action.reference,
    }
