"""What one sandbox holds: setups, payments, customers and events, and how they change.

One lookup per resource (like moto's ``get_queue``), so "unknown id" is answered in one place,
and one place a payment's status changes, checked against ``resources.TRANSITIONS``; every
change records its webhook event and queues it on the outbox. Not locked on its own: the state's
operations (``payment_api``, ``control_api``, ``workflow_api``) call it under ``models.SandboxState``'s one lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from . import views
from .clock import SandboxClock
from .exceptions import Conflict, NotFound
from .outbox import WebhookOutbox
from .resources import RETRYABLE, Action, Event, Payment, PaymentSetup, is_transition
from .store import (
    MemoryAwaiting,
    MemoryLog,
    SqliteAwaiting,
    SqliteLog,
    SqliteStore,
    decode_event,
    decode_payment,
    decode_setup,
    encode_event,
    encode_payment,
    encode_setup,
    identity,
)


class Ledger:
    """The sandbox's resources, by id: in dicts, or with ``store`` in its tables (``store.py``)."""

    def __init__(
        self,
        new_id: Callable[[str], str],
        clock: SandboxClock,
        outbox: WebhookOutbox,
        base_url: str,
        store: SqliteStore | None = None,
    ):
        self._new_id, self._clock, self._outbox, self._base_url = new_id, clock, outbox, base_url
        if store is None:
            self.setups: dict[str, PaymentSetup] = {}
            self.payments: dict[str, Payment] = {}
            self.tokens: dict[str, str] = {}  #: landing-page token → payment id
            self._awaiting = MemoryAwaiting()  #: what the clock may expire, so a check is O(pending)
            self.customers: dict[str, str] = {}  #: customer email → customer id
            self.events: MemoryLog = MemoryLog()  #: oldest first
        else:
            self.setups = store.table("setups", encode_setup, decode_setup)
            self.payments = store.table("payments", encode_payment, decode_payment)
            self.tokens = store.table("tokens", identity, identity)
            self._awaiting = SqliteAwaiting(store, self.payments)
            self.customers = store.table("customers", identity, identity)
            self.events = SqliteLog(store, "events", encode_event, decode_event)
        self._action_events: list[Event] | None = None  #: events held by ``one_action()``, else None

    # --- lookups: each also expires what the clock has made due, so no answer is stale -------

    def _find(self, table: dict, key: str, not_found: str):  # noqa: ANN202 - a value of ``table``
        self.expire_due()
        found = table.get(key)
        if found is None:
            raise NotFound(not_found)
        return found

    def setup(self, setup_id: str) -> PaymentSetup:
        return self._find(self.setups, setup_id, "payment_setup_not_found")

    def payment(self, payment_id: str) -> Payment:
        return self._find(self.payments, payment_id, "payment_not_found")

    def latest_payment(self, setup: PaymentSetup) -> Payment | None:
        return self.payments.get(setup.latest_payment_id or "")

    def pending(self, payment_id: str) -> Payment:
        """The payment, if the customer may still act on it. Raises ``Conflict`` otherwise."""
        payment = self.payment(payment_id)
        if payment.status != "Pending":
            raise Conflict("payment_not_pending")
        return payment

    def payment_for_token(self, token: str) -> Payment:
        """The payment behind a landing-page or app token, whatever its status (``NotFound`` if none)."""
        return self.payments[self._find(self.tokens, token, "token_not_found")]

    def refuse_if_confirmed(self, setup: PaymentSetup) -> None:
        """Sandbox rule: a setup holds one live payment; Declined or Expired lets the customer retry."""
        latest = self.latest_payment(setup)
        if latest is not None and latest.status not in RETRYABLE:
            raise Conflict("payment_setup_already_confirmed")

    # --- changes ---------------------------------------------------------------------------

    def add_setup(self, fields: dict) -> PaymentSetup:
        setup = PaymentSetup(self._new_id("set"), fields)
        self.setups[setup.id] = setup
        return setup

    def add_payment(self, setup: PaymentSetup, payment: Payment) -> None:
        """Record a new Pending payment as ``setup``'s latest; its token opens the landing page."""
        self.payments[payment.id] = payment
        self._awaiting[payment.id] = payment
        self.tokens[payment.token] = payment.id
        setup.latest_payment_id = payment.id
        self.emit("payment_pending", payment)

    def customer_for(self, customer: dict) -> dict:
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

    def move(self, payment: Payment, status: str) -> None:
        """The one place a payment changes status, checked against ``resources.TRANSITIONS``."""
        if not is_transition(payment.status, status):
            raise Conflict("payment_status_invalid")
        payment.status = status
        self._awaiting.pop(payment.id, None)

    def expire(self, payment: Payment) -> None:
        self.move(payment, "Expired")
        self.emit("payment_expired", payment)

    def expire_due(self) -> None:
        """Sandbox rule: a pending payment past ``expires_on`` (sandbox clock) is Expired."""
        now = self._clock.now()
        for payment in self._awaiting.due(now):
            self.expire(payment)

    def add_action(self, payment: Payment, kind: str, amount: int, approved: bool, reference=None) -> Action:
        code, summary = ("10000", "Approved") if approved else ("20005", "Declined - Do Not Honour")
        action = Action(self._new_id("act"), kind, self._clock.now(), amount, approved, code, summary, reference)
        payment.actions.append(action)
        return action

    def emit(self, event_type: str, payment: Payment, action: Action | None = None) -> Event:
        """Record a webhook event and queue it for delivery (with its action's others, inside ``one_action()``)."""
        now = self._clock.now()
        event_id = self._new_id("evt")
        body = views.event_body(self._base_url, event_id, event_type, now, payment, action)
        setup = self.setups.get(payment.setup_id)
        channel = setup.fields.get("processing_channel_id") if setup is not None else None
        event = Event(event_id, event_type, now, payment.id, action.id if action else None, body, channel)
        self.events.append(event)
        if self._action_events is not None:
            self._action_events.append(event)
        else:
            self._outbox.queue([event])
        return event

    @contextmanager
    def one_action(self) -> Iterator[None]:
        """Queue the events emitted inside as one action's (approve: capture pending, then captured).

        The outbox gets them together, so webhook chaos can shuffle them (``reorder``); nested,
        the outermost action queues. Events already recorded are queued even if the action fails.
        """
        if self._action_events is not None:
            yield
            return
        self._action_events = []
        try:
            yield
        finally:
            events, self._action_events = self._action_events, None
            self._outbox.queue(events)
