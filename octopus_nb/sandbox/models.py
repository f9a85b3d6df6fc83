"""The sandbox's API operations: ``SandboxState`` composes the parts under one lock.

The parts each hold one idea: ``resources`` (the data and the lifecycle table), ``ledger`` (the
resources held, their lookups and status changes), ``idempotency`` (the key store), ``outbox``
(webhook deliveries; ``chaos`` repeats, shuffles and forges them), ``faults`` (fault injection),
``views`` (wire JSON), ``validation`` (request rules and readiness), ``clock`` (sandbox time), ``store``
(where the collections live: dicts, or an SQLite file with one transaction per call). Nothing here knows
about HTTP: methods are named after API operations, take plain data and return plain data (what
the handlers serialise), and raise ``exceptions.SandboxError`` subclasses that ``handlers.py``
maps to status codes. Time comes from the sandbox clock and randomness from one seedable
``random.Random``, so a seed makes every id, token and timestamp repeatable.
"""

from __future__ import annotations

import hmac
import random
import re
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .._shared.contract import WRITABLE_FIELDS
from . import views
from .clock import CLOCK_LIMIT, SandboxClock, isoformat
from .exceptions import ActionNotAllowed, InvalidRequest, MalformedRequest
from .faults import FaultInjector, FaultPlan
from .idempotency import IdempotencyStore, fingerprint
from .ledger import Ledger
from .outbox import WebhookDelivery, WebhookOutbox
from .resources import REFUNDABLE, Payment, PaymentSetup
from .state_file import StateFile
from .store import SqliteStore
from .validation import is_number, octopus_readiness, refund_errors, setup_field_errors
from .workflow_api import WorkflowApi
from .workflows import WorkflowRegistry

#: The key the embedded sandbox accepts unless told otherwise. Documented and not secret: it only
#: opens a sandbox on your own loopback interface.
DEFAULT_SECRET_KEY = "sk_sbox_octopusnbsandboxdefaultkey="
SECRET_KEY_PATTERN = re.compile(r"^sk_(sbox_)?[a-z2-7]{26}[a-z2-7*#$=]$")
#: Sandbox rule: a pending Octopus payment expires after 15 minutes of sandbox time.
PAYMENT_EXPIRY = timedelta(minutes=15)
#: The only payment method enabled on the sandbox account.
ENABLED_METHODS = ("octopus",)
#: The two published shapes of the confirm answer (contract §4): the seed page's payment (the
#: default), or the PaymentSetup with the payment under ``latest_payment`` (the SDKs' reading).
CONFIRM_RESPONSES = ("payment", "setup")
#: Sandbox rules: how the customer settles a pending payment, as data. Each outcome: the event sent
#: first (or None), the new status, the action recorded and whether it was approved, the event after it.
CUSTOMER_OUTCOMES = {
    "approve": ("payment_capture_pending", "Captured", "Capture", True, "payment_captured"),
    "decline": (None, "Declined", "Authorization", False, "payment_declined"),
    "fail_capture": ("payment_capture_pending", "Declined", "Capture", False, "payment_capture_declined"),
}
#: Sandbox rule: what a setup's ``risk`` is when the request leaves it out (the SDKs' documented default).
DEFAULT_RISK = {"enabled": True}
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


class SandboxState:
    """Everything one sandbox knows. Thread-safe: every public method takes ``self._lock``.

    To start over, build a new one with the same arguments (``Sandbox.reset()`` does), so
    resetting can't drift from constructing.
    """

    def __init__(
        self,
        seed: int | None = None,
        secret_key: str | None = None,
        base_url: str = "",
        on_outbox_change: Callable[[], None] | None = None,
        confirm_response: str = "payment",
        store: SqliteStore | None = None,
    ):
        if store is not None and store.restored:
            seed = store.meta_json("state")["seed"]  # a state file keeps the seed it was made with
        #: the seed this state was built with
        self.seed = seed
        if confirm_response not in CONFIRM_RESPONSES:
            raise ValueError(f"confirm_response must be one of {', '.join(map(repr, CONFIRM_RESPONSES))}, not {confirm_response!r}")
        #: what confirm answers with: ``"payment"`` (202, the seed page) or ``"setup"`` (200, PaymentSetup)
        self.confirm_response = confirm_response
        #: the one API key accepted (``Authorization: Bearer <key>``)
        self.secret_key = secret_key or DEFAULT_SECRET_KEY
        if not SECRET_KEY_PATTERN.match(self.secret_key):
            # Requests are refused unless the key has Checkout.com's shape, so no client could get in.
            raise ValueError("secret_key must look like sk_sbox_ + 27 characters of [a-z2-7] (the last may be *#$=)")
        #: scheme://host:port that links point at (the server's bound address)
        self.base_url = base_url
        #: resource ids and tokens; unseeded, they come from the OS and cannot be guessed
        self.random = random.Random(seed) if seed is not None else random.SystemRandom()
        #: request ids come from their own stream, so an extra GET never shifts resource ids
        self.request_random = random.Random(seed + 1) if seed is not None else random.SystemRandom()
        self.clock = SandboxClock(frozen=seed is not None)
        #: whether the id stream was drawn from since a state file last saved it; request ids made so far
        self.ids_drawn, self.request_ids = True, 0
        self.default_processing_channel_id = self._new_id("pc")
        self.requests = 0
        self.refunds = 0
        self._idempotency = IdempotencyStore(self.clock, store)
        #: webhook deliveries; ``on_outbox_change`` (called with the lock held, must not block) tells
        #: whoever delivers that some may have come due: the server passes its worker's wake-up
        self._outbox = WebhookOutbox(self.clock, on_outbox_change or (lambda: None), seed, store)
        registry = WorkflowRegistry(seed, store, on_removed=self._outbox.cancel)
        self._outbox.router = registry.targets
        #: the Workflows API (``/workflows``, ``/workflows/events``): which webhook actions get which events
        self.workflows = WorkflowApi(self, registry, self._outbox)
        self._faults = FaultInjector(seed)
        #: setups, payments, customers and events; read them through the operations below
        self.ledger = Ledger(self._new_id, self.clock, self._outbox, base_url, store)
        self.setups, self.payments, self.events = self.ledger.setups, self.ledger.payments, self.ledger.events
        #: where the state is kept between runs (None: in memory only)
        self.store = store
        if store is None:
            self._lock = self._bookkeeping = threading.RLock()
        else:
            # One transaction per outermost hold of the lock, committed as it is released.
            self._lock = store.lock
            #: the lock for bookkeeping saved with the request's operation (``TransactionLock.deferred``)
            self._bookkeeping = store.lock.deferred
            state_file = StateFile(self, store, self._faults, self._outbox, registry)
            with self._lock:
                store.lock.commit = state_file.commit
                if store.restored:
                    state_file.restore()

    # --- a state file (``store.py``) ------------------------------------------------------

    def commit(self) -> None:
        """Save whatever bookkeeping is not saved yet (the handlers call it as each answer goes out)."""
        if self.store is not None:
            with self._lock:
                pass

    def transaction(self):  # noqa: ANN201 - the lock
        """Hold the lock: with a state file, everything done inside is one transaction, committed on leaving.

        The handlers wrap an operation and its idempotency record in one, so a 2xx is committed
        before it is sent.
        """
        return self._lock

    # --- ids, request bookkeeping ----------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return prefix + "_" + self._new_token()

    def _new_token(self) -> str:
        self.ids_drawn = True
        return "".join(self.random.choice(_BASE32) for _ in range(26))

    def new_request_id(self) -> str:
        """A fresh ``Cko-Request-Id`` (UUID-shaped, as Checkout.com's are)."""
        with self._bookkeeping:
            bits = self.request_random.getrandbits(128)
            self.request_ids += 1
        hex32 = f"{bits:032x}"
        return f"{hex32[:8]}-{hex32[8:12]}-4{hex32[13:16]}-a{hex32[17:20]}-{hex32[20:]}"

    def count_request(self) -> None:
        with self._bookkeeping:
            self.requests += 1

    def is_valid_key(self, presented: str) -> bool:
        return hmac.compare_digest(presented.encode(), self.secret_key.encode())

    def stats(self) -> dict:
        with self._lock:
            return {
                "setups": len(self.setups),
                "payments": len(self.payments),
                "refunds": self.refunds,
                "webhook_deliveries": self._outbox.delivery_count(),
                "requests": self.requests,
            }

    def now(self) -> str:
        with self._lock:
            return isoformat(self.clock.now())

    # --- idempotency (contract §1) ---------------------------------------------------------

    #: what makes two requests "the same" under one key: ``fingerprint(method, path, body)``
    fingerprint = staticmethod(fingerprint)

    def begin_idempotent(self, key: str, fingerprint: str) -> tuple[int, bytes] | None:
        """Claim ``key``, or return the stored (status, body) to replay (see ``IdempotencyStore.begin``)."""
        with self._bookkeeping:
            return self._idempotency.begin(key, fingerprint)

    def finish_idempotent(self, key: str, status: int, body: bytes) -> None:
        """Store a 2xx response for ``key``; any other status releases the key, so a corrected request runs."""
        with self._lock:
            self._idempotency.finish(key, status, body)

    def idempotency_keys(self) -> dict[str, int | None]:
        """The keys held (stored 2xx status, or None in flight): what tests check a refusal left alone."""
        with self._lock:
            return self._idempotency.claimed()

    # --- payment setups (contract §3) ------------------------------------------------------

    def create_payment_setup(self, body: Any) -> dict:
        with self._lock:
            setup = self.ledger.add_setup(self._validated_setup_fields(body))
            return self._setup_view(setup)

    def update_payment_setup(self, setup_id: str, body: Any) -> dict:
        """PUT replaces every writable field. Sandbox rule: a confirmed setup can't change (409)."""
        with self._lock:
            setup = self.ledger.setup(setup_id)
            fields = self._validated_setup_fields(body)
            self.ledger.refuse_if_confirmed(setup)
            setup.fields = fields
            return self._setup_view(setup)

    def get_payment_setup(self, setup_id: str) -> dict:
        with self._lock:
            return self._setup_view(self.ledger.setup(setup_id))

    def confirm_payment_setup(self, setup_id: str, payment_method_name: str) -> dict:
        """Create the Octopus payment (Pending) and its one-time landing-page token.

        Returns the payment, or with ``confirm_response="setup"`` the PaymentSetup whose
        ``latest_payment`` is that payment (``processing`` included).
        """
        with self._lock:
            setup = self.ledger.setup(setup_id)
            if payment_method_name not in ENABLED_METHODS:
                raise InvalidRequest("payment_method_not_supported")
            self.ledger.refuse_if_confirmed(setup)
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
                customer=self.ledger.customer_for(fields.get("customer", {})),
                token=self._new_token(),
                requested_on=now,
                expires_on=now + PAYMENT_EXPIRY,
                success_url=settings.get("success_url"),
                failure_url=settings.get("failure_url"),
                metadata=fields.get("metadata"),
            )
            self.ledger.add_payment(setup, payment)
            if self.confirm_response == "setup":
                return self._setup_view(setup)
            return views.confirm_view(self.base_url, payment)

    # --- payments (contract §4) ------------------------------------------------------------

    def get_payment(self, payment_id: str) -> dict:
        with self._lock:
            return views.payment_view(self.base_url, self.ledger.payment(payment_id))

    def get_payment_actions(self, payment_id: str) -> list:
        """Actions newest first, as Checkout.com lists them."""
        with self._lock:
            payment = self.ledger.payment(payment_id)
            return [views.action_view(action) for action in reversed(payment.actions)]

    def refund_payment(self, payment_id: str, body: Any) -> dict:
        """Refund all or part of a captured payment; amounts end in 0, within the balance.

        Raises:
            NotFound: no payment ``payment_id``.
            MalformedRequest: the body is not a JSON object.
            ActionNotAllowed: ``refund_not_allowed``, the payment is not Captured or Partially Refunded.
            InvalidRequest: the amount or reference is refused (amounts end in 0, within the balance).
        """
        with self._lock:
            payment = self.ledger.payment(payment_id)
            if body is None:
                body = {}
            if not isinstance(body, dict):
                raise MalformedRequest()
            if payment.status not in REFUNDABLE:
                raise ActionNotAllowed("refund_not_allowed")
            available = payment.amount - payment.total_refunded
            amount, reference = body.get("amount"), body.get("reference")
            codes = refund_errors(amount, reference, available)
            if codes:
                raise InvalidRequest(*codes)
            amount = available if amount is None else amount
            action = self.ledger.add_action(payment, "Refund", amount, True, reference)
            payment.total_refunded += amount
            self.refunds += 1
            with self.ledger.one_action():
                self.ledger.emit("payment_refund_pending", payment, action)
                self.ledger.move(payment, "Refunded" if payment.total_refunded == payment.amount else "Partially Refunded")
                self.ledger.emit("payment_refunded", payment, action)
            return views.refund_view(self.base_url, payment, action)

    # --- the customer and the clock (control surface, sandbox rules) -----------------------

    def approve_payment(self, payment_id: str) -> dict:
        """Sandbox rule: the customer approves in the Octopus App; Octopus captures at once."""
        return self._settle(payment_id, "approve")

    def decline_payment(self, payment_id: str) -> dict:
        """Sandbox rule: the customer declines (or the authorization fails)."""
        return self._settle(payment_id, "decline")

    def fail_capture(self, payment_id: str) -> dict:
        """Sandbox rule: the customer approves, but the capture fails (Checkout's ``payment_capture_declined``).

        The payment ends Declined (``approved: false``) after ``payment_capture_pending`` and
        ``payment_capture_declined``, with a Capture action that was not approved.
        """
        return self._settle(payment_id, "fail_capture")

    def _settle(self, payment_id: str, outcome: str) -> dict:
        """Play one row of :data:`CUSTOMER_OUTCOMES` on a pending payment (``Conflict`` if it is not)."""
        announce, status, action_type, approved, event = CUSTOMER_OUTCOMES[outcome]
        with self._lock:
            payment = self.ledger.pending(payment_id)
            with self.ledger.one_action():
                if announce:
                    self.ledger.emit(announce, payment)
                self.ledger.move(payment, status)
                action = self.ledger.add_action(payment, action_type, payment.amount, approved)
                self.ledger.emit(event, payment, action)
            return views.payment_view(self.base_url, payment)

    def expire_payment(self, payment_id: str) -> dict:
        """Sandbox rule: nobody acted before ``expires_on``; the payment lapses."""
        with self._lock:
            payment = self.ledger.pending(payment_id)
            self.ledger.expire(payment)
            return views.payment_view(self.base_url, payment)

    def advance_clock(self, seconds: Any) -> dict:
        """Sandbox rule: move sandbox time on; pending payments past ``expires_on`` expire."""
        if not is_number(seconds) or not 0 <= seconds <= 366 * 24 * 3600:
            raise InvalidRequest("advance_seconds_invalid")
        with self._lock:
            if self.clock.now() + timedelta(seconds=seconds) > CLOCK_LIMIT:
                # datetime ends in year 9999: past it every timestamp, so every answer, would fail
                raise InvalidRequest("advance_seconds_invalid")
            self.clock.advance(seconds)
            self._idempotency.sweep()
            self.ledger.expire_due()
            self._outbox.clock_moved()  # retries may have come due
            return {"now": isoformat(self.clock.now())}

    # --- the customer's devices, holding the payment's token (sandbox rules) ----------------

    def has_token(self, token: str) -> bool:
        """Whether a payment of this account has this landing-page token (how a customer's page finds its account)."""
        with self._lock:
            return bool(token) and token in self.ledger.tokens

    def customer_view(self, token: str) -> dict:
        """What the landing page and the simulated Octopus App show for ``token``.

        Sandbox rule: the token is the customer's only credential (no key), and it keeps working
        after the payment settles, so a reloaded page can still send the browser to the merchant
        (``outcome_url``). Raises ``NotFound`` for an unknown token.
        """
        with self._lock:
            return views.customer_view(self.ledger.payment_for_token(token), self.clock.now())

    def customer_acts(self, token: str, outcome: str) -> dict:
        """The customer presses a button in the Octopus App: one row of :data:`CUSTOMER_OUTCOMES`.

        Exactly what ``simulate_customer`` does (same events, same action); ``Conflict`` if the
        payment is no longer Pending, so of two phones pressing Pay at once, one pays.
        """
        if outcome not in CUSTOMER_OUTCOMES:
            raise MalformedRequest("action_invalid")
        with self._lock:
            payment = self.ledger.payment_for_token(token)
            self._settle(payment.id, outcome)
            return views.customer_view(payment, self.clock.now())

    # --- webhooks: an outbox the server's worker drains (contract §5) ----------------------

    def configure_webhooks(self, body: Any) -> dict:
        """``PUT /_sandbox/webhooks``: the shortcut workflow's url, key and chaos (``configure_shortcut``)."""
        with self._lock:
            if self.workflows.registry.configure_shortcut(body):
                self._outbox.marked = True
            return self.workflows.registry.shortcut_settings()

    def webhooks_view(self) -> dict:
        with self._lock:
            return self.workflows.registry.shortcut_settings()

    def claim_due_webhooks(self) -> list[WebhookDelivery]:
        """Hand the worker every delivery due on the sandbox clock (see ``WebhookOutbox.claim_due``).

        Also expires pending payments that are due first, so an unseeded sandbox (real clock)
        sends ``payment_expired`` without waiting for a request.
        """
        with self._lock:
            self.ledger.expire_due()
            return self._outbox.claim_due()

    def record_webhook_attempt(self, delivery: WebhookDelivery, status_code: int | None) -> None:
        with self._lock:
            self._outbox.record(delivery, status_code)

    def webhooks_settled(self) -> bool:
        with self._lock:
            return self._outbox.settled()

    def webhook_deliveries(self) -> list[dict]:
        with self._lock:
            return self._outbox.deliveries()

    def webhook_delivery_count(self) -> int:
        with self._lock:
            return self._outbox.delivery_count()

    # --- fault injection on API routes (sandbox rules) -------------------------------------

    def set_faults(self, body: Any) -> dict:
        """``PUT /_sandbox/faults`` (see ``FaultInjector.configure``)."""
        with self._lock:
            return self._faults.configure(body)

    def get_faults(self) -> dict:
        with self._lock:
            return dict(self._faults.settings)

    def draw_faults(self) -> FaultPlan:
        with self._bookkeeping:
            return self._faults.draw()

    # --- internals ------------------------------------------------------------------------

    def _setup_view(self, setup: PaymentSetup) -> dict:
        return views.setup_view(self.base_url, setup, self.ledger.latest_payment(setup))

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
        fields.setdefault("risk", dict(DEFAULT_RISK))
        return fields
