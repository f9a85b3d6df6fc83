"""The Payment Setup API's operations (contract §3-§4) and the customer's outcomes, under the state's one lock.

What ``handlers.py`` (setups, confirm, payments, refunds), ``controls.py`` (the customer's
actions), ``landing.py`` and ``octopus_app.py`` (the customer's pages) call: each method takes
plain data, makes its change through the ledger (``ledger.py``), checked by ``validation.py``, and
returns what ``views.py`` puts on the wire. The sandbox rules of the lifecycle are data here:
how long a pending payment lives and how the customer settles one (:data:`CUSTOMER_OUTCOMES`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .._shared.contract import WRITABLE_FIELDS
from . import views
from .exceptions import ActionNotAllowed, InvalidRequest, MalformedRequest
from .ledger import Ledger
from .resources import REFUNDABLE, Payment, PaymentSetup
from .validation import octopus_readiness, refund_errors, setup_field_errors

if TYPE_CHECKING:
    from .models import SandboxState

#: Sandbox rule: a pending Octopus payment expires after 15 minutes of sandbox time.
PAYMENT_EXPIRY = timedelta(minutes=15)
#: The only payment method enabled on the sandbox account.
ENABLED_METHODS = ("octopus",)
#: Sandbox rules: how the customer settles a pending payment, as data. Each outcome: the event sent
#: first (or None), the new status, the action recorded and whether it was approved, the event after it.
CUSTOMER_OUTCOMES = {
    "approve": ("payment_capture_pending", "Captured", "Capture", True, "payment_captured"),
    "decline": (None, "Declined", "Authorization", False, "payment_declined"),
    "fail_capture": ("payment_capture_pending", "Declined", "Capture", False, "payment_capture_declined"),
}
#: Sandbox rule: what a setup's ``risk`` is when the request leaves it out (the SDKs' documented default).
DEFAULT_RISK = {"enabled": True}


class PaymentApi:
    """One account's setups, payments and refunds, and what its customers do; ``SandboxState.payment_api``.

    It holds nothing of its own: the data is the ledger's, the ids come from the state's streams.
    """

    def __init__(self, state: SandboxState):
        #: the state whose lock, ledger, clock, id streams, base URL and settings these operations use
        self._state = state

    @property
    def _ledger(self) -> Ledger:
        return self._state.ledger

    # --- payment setups (contract §3) ------------------------------------------------------

    def create_payment_setup(self, body: Any) -> dict:
        with self._state.transaction():
            setup = self._ledger.add_setup(self._validated_setup_fields(body))
            return self._setup_view(setup)

    def update_payment_setup(self, setup_id: str, body: Any) -> dict:
        """PUT replaces every writable field. Sandbox rule: a confirmed setup can't change (409)."""
        with self._state.transaction():
            setup = self._ledger.setup(setup_id)
            fields = self._validated_setup_fields(body)
            self._ledger.refuse_if_confirmed(setup)
            setup.fields = fields
            return self._setup_view(setup)

    def get_payment_setup(self, setup_id: str) -> dict:
        with self._state.transaction():
            return self._setup_view(self._ledger.setup(setup_id))

    def confirm_payment_setup(self, setup_id: str, payment_method_name: str) -> dict:
        """Create the Octopus payment (Pending) and its one-time landing-page token.

        Returns the payment, or with ``confirm_response="setup"`` the PaymentSetup whose
        ``latest_payment`` is that payment (``processing`` included).
        """
        state = self._state
        with state.transaction():
            setup = self._ledger.setup(setup_id)
            if payment_method_name not in ENABLED_METHODS:
                raise InvalidRequest("payment_method_not_supported")
            self._ledger.refuse_if_confirmed(setup)
            status, flags = octopus_readiness(setup.fields)
            if status != "ready":
                raise InvalidRequest(*flags)
            now = state.clock.now()
            fields = setup.fields
            settings = fields.get("settings", {})
            payment = Payment(
                id=state.new_id("pay"),
                setup_id=setup.id,
                amount=fields["amount"],
                currency=fields["currency"],
                reference=fields.get("reference"),
                description=fields.get("description"),
                payment_type=fields.get("payment_type", "Regular"),
                customer=self._ledger.customer_for(fields.get("customer", {})),
                token=state.new_token(),
                requested_on=now,
                expires_on=now + PAYMENT_EXPIRY,
                success_url=settings.get("success_url"),
                failure_url=settings.get("failure_url"),
                metadata=fields.get("metadata"),
            )
            self._ledger.add_payment(setup, payment)
            if state.confirm_response == "setup":
                return self._setup_view(setup)
            return views.confirm_view(state.base_url, payment)

    # --- payments (contract §4) ------------------------------------------------------------

    def get_payment(self, payment_id: str) -> dict:
        with self._state.transaction():
            return views.payment_view(self._state.base_url, self._ledger.payment(payment_id))

    def get_payment_actions(self, payment_id: str) -> list:
        """Actions newest first, as Checkout.com lists them."""
        with self._state.transaction():
            payment = self._ledger.payment(payment_id)
            return [views.action_view(action) for action in reversed(payment.actions)]

    def refund_payment(self, payment_id: str, body: Any) -> dict:
        """Refund all or part of a captured payment; amounts end in 0, within the balance.

        Raises:
            NotFound: no payment ``payment_id``.
            MalformedRequest: the body is not a JSON object.
            ActionNotAllowed: ``refund_not_allowed``, the payment is not Captured or Partially Refunded.
            InvalidRequest: the amount or reference is refused (amounts end in 0, within the balance).
        """
        ledger = self._ledger
        with self._state.transaction():
            payment = ledger.payment(payment_id)
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
            action = ledger.add_action(payment, "Refund", amount, True, reference)
            payment.total_refunded += amount
            self._state.refunds += 1
            with ledger.one_action():
                ledger.emit("payment_refund_pending", payment, action)
                ledger.move(payment, "Refunded" if payment.total_refunded == payment.amount else "Partially Refunded")
                ledger.emit("payment_refunded", payment, action)
            return views.refund_view(self._state.base_url, payment, action)

    # --- the customer (control surface, sandbox rules) -------------------------------------

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
        ledger = self._ledger
        with self._state.transaction():
            payment = ledger.pending(payment_id)
            with ledger.one_action():
                if announce:
                    ledger.emit(announce, payment)
                ledger.move(payment, status)
                action = ledger.add_action(payment, action_type, payment.amount, approved)
                ledger.emit(event, payment, action)
            return views.payment_view(self._state.base_url, payment)

    def expire_payment(self, payment_id: str) -> dict:
        """Sandbox rule: nobody acted before ``expires_on``; the payment lapses."""
        with self._state.transaction():
            payment = self._ledger.pending(payment_id)
            self._ledger.expire(payment)
            return views.payment_view(self._state.base_url, payment)

    # --- the customer's devices, holding the payment's token (sandbox rules) ----------------

    def has_token(self, token: str) -> bool:
        """Whether a payment of this account has this landing-page token (how a customer's page finds its account)."""
        with self._state.transaction():
            return bool(token) and token in self._ledger.tokens

    def customer_view(self, token: str) -> dict:
        """What the landing page and the simulated Octopus App show for ``token``.

        Sandbox rule: the token is the customer's only credential (no key), and it keeps working
        after the payment settles, so a reloaded page can still send the browser to the merchant
        (``outcome_url``). Raises ``NotFound`` for an unknown token.
        """
        with self._state.transaction():
            return views.customer_view(self._ledger.payment_for_token(token), self._state.clock.now())

    def customer_acts(self, token: str, outcome: str) -> dict:
        """The customer presses a button in the Octopus App: one row of :data:`CUSTOMER_OUTCOMES`.

        Exactly what ``simulate_customer`` does (same events, same action); ``Conflict`` if the
        payment is no longer Pending, so of two phones pressing Pay at once, one pays.
        """
        if outcome not in CUSTOMER_OUTCOMES:
            raise MalformedRequest("action_invalid")
        with self._state.transaction():
            payment = self._ledger.payment_for_token(token)
            self._settle(payment.id, outcome)
            return views.customer_view(payment, self._state.clock.now())

    # --- internals ------------------------------------------------------------------------

    def _setup_view(self, setup: PaymentSetup) -> dict:
        return views.setup_view(self._state.base_url, setup, self._ledger.latest_payment(setup))

    def _validated_setup_fields(self, body: Any) -> dict:
        """Check a create/update body against the contract; every problem is listed, not the first."""
        if not isinstance(body, dict):
            raise MalformedRequest()
        codes = setup_field_errors(body)
        if codes:
            raise InvalidRequest(*codes)
        fields = {key: body[key] for key in WRITABLE_FIELDS if body.get(key) is not None}
        fields.setdefault("processing_channel_id", self._state.default_processing_channel_id)
        fields.setdefault("payment_type", "Regular")
        fields.setdefault("risk", dict(DEFAULT_RISK))
        return fields
