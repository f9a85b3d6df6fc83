"""The flow controller: one Octopus payment's state and every step it can take, with no widgets.

:class:`Flow` holds the client, the latest setup, payment and actions, and the path taken through
the state diagram (:data:`octopus_nb.ui.diagram.STATES`). Each operation calls the step functions
(:mod:`octopus_nb.steps`), the control routes (:mod:`octopus_nb.control`) or the lifecycle helpers
(:mod:`octopus_nb.lifecycle`), records the answer and returns it. The views
(:class:`~octopus_nb.ui.form.PaymentForm`, :class:`~octopus_nb.ui.explorer.FlowExplorer`) only lay
out widgets, bind buttons to these operations and draw the result; this module never imports
ipywidgets, so it runs and is tested anywhere.

>>> flow = Flow(octopus_nb.connect(seed=7))  # doctest: +SKIP
>>> flow.create(amount=1000, currency="HKD", success_url="https://example.com/ok",
...             failure_url="https://example.com/ko")  # doctest: +SKIP
>>> flow.confirm()["status"], flow.act("approve")["status"]  # doctest: +SKIP
('Pending', 'Captured')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..client import ApiResult, Client
from ..control import is_sandbox, simulate_customer
from ..errors import fix_for
from ..lifecycle import RedirectTargets, payment_of, redirect_targets
from ..readiness import field_problems, readiness_frame
from ..steps import (
    confirm_payment_setup,
    create_payment_setup,
    get_payment,
    get_payment_actions,
    get_payment_setup,
    refund_payment,
    update_payment_setup,
    writable_fields,
)
from .diagram import STATES

#: Settings fields a form edits as top-level values (the API keeps them under ``settings``).
REDIRECT_FIELDS = ("success_url", "failure_url")
#: Payment statuses after which the setup can be confirmed again (a new payment).
RETRYABLE_STATUSES = frozenset({"Declined", "Expired"})
#: Payment statuses that can be refunded.
REFUNDABLE_STATUSES = frozenset({"Captured", "Partially Refunded"})


def octopus_readiness(setup: Mapping[str, Any] | None) -> dict:
    """``payment_methods.octopus`` of a setup (``{"status", "flags"}``), or ``{}``."""
    if setup is None:
        return {}
    return (setup.get("payment_methods") or {}).get("octopus") or {}


def field_fixes(codes: list[str], amount: Any) -> list[str]:
    """The fix for each error code or flag about a form field, filled in with the form's amount."""
    return [fix_for(code, {"amount": amount}) or code for code in codes]


def preview_fields(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """What the API will say about each form field, before any request: ``{field: [fix, ...]}``.

    Every field is listed; an empty list means it looks fine (:func:`octopus_nb.readiness.field_problems`).
    """
    problems = field_problems(values)
    return {name: field_fixes(codes, values.get("amount")) for name, codes in problems.items()}


def settings_with_redirects(setup: Mapping[str, Any], fields: dict) -> dict:
    """The setup's ``settings`` with the redirect URLs in ``fields`` written in (and popped from ``fields``).

    A URL given empty or None is removed, as a form's cleared field means; one not given is kept.
    The one place a flow merges form fields into ``settings`` for a PUT.
    """
    settings = dict(setup.get("settings") or {})
    for name in REDIRECT_FIELDS:
        if name not in fields:
            continue
        url = fields.pop(name)
        if url:
            settings[name] = url
        else:
            settings.pop(name, None)
    return settings


class Flow:
    """One Octopus payment flow: create → readiness → confirm → redirect → customer → outcome.

    Attributes are the latest answers (``setup``, ``payment``, ``actions``); :attr:`state` and
    :attr:`path` place them on the state diagram. Operations raise what the step functions raise
    (:class:`~octopus_nb.errors.CheckoutApiError`...) and ``ValueError`` for a step taken too early;
    a failed operation changes nothing.
    """

    def __init__(self, client: Client):
        #: the client every step goes through (its ``history`` records each exchange)
        self.client = client
        #: the latest payment setup (None before :meth:`create`)
        self.setup: ApiResult | None = None
        #: the latest payment (None before :meth:`confirm`)
        self.payment: ApiResult | None = None
        #: the payment's actions, newest first (after :meth:`refresh_actions`, :meth:`outcome`, :meth:`refund`)
        self.actions: list = []
        self._path: list[str] = ["start"]

    # --- where the flow is -----------------------------------------------------------------

    @property
    def state(self) -> str:
        """A node of the diagram (``"start"``, ``"not_ready"``, ``"ready"``, ``"Pending"``...)."""
        return self._path[-1]

    @property
    def path(self) -> list[str]:
        """The states visited so far, oldest first (a copy)."""
        return list(self._path)

    @property
    def status(self) -> str | None:
        """The payment's status once confirmed, else the setup's Octopus readiness, else None."""
        if self.payment is not None:
            return self.payment.get("status")
        return octopus_readiness(self.setup).get("status")

    @property
    def can_play_customer(self) -> bool:
        """True on an octopus_nb sandbox; False on Checkout.com, where the customer uses the Octopus App."""
        return is_sandbox(self.client)

    def require_setup(self) -> ApiResult:
        """The current setup.

        Raises:
            ValueError: none yet.
        """
        if self.setup is None:
            raise ValueError("No payment setup yet: create one first (create(...), or the Create setup button).")
        return self.setup

    def require_payment(self) -> ApiResult:
        """The current payment.

        Raises:
            ValueError: nothing confirmed yet.
        """
        if self.payment is None:
            raise ValueError("No payment yet: confirm the setup first (confirm(), or Confirm with Octopus).")
        return self.payment

    # --- the operations --------------------------------------------------------------------

    def create(self, **fields: Any) -> ApiResult:
        """Create a payment setup (``POST /payments/setups``) from form fields and any other API fields.

        A new setup is a new flow: the payment is forgotten and the path starts again.
        """
        setup = create_payment_setup(self.client, **{"amount": None, "currency": None, **fields})
        self.payment, self.actions, self._path = None, [], ["start"]
        self._record_setup(setup)
        return setup

    def inspect(self):
        """Fetch the setup again (``GET``); return its readiness table (:func:`~octopus_nb.readiness.readiness_frame`)."""
        setup = get_payment_setup(self.client, self.require_setup()["id"])
        self._record_setup(setup)
        return readiness_frame(setup)

    def update(self, **fields: Any) -> ApiResult:
        """Replace the setup's fields with ``fields`` (``PUT``; the API replaces them all).

        Fields not given (``customer``, ``settings.excluded_payment_methods``...) are sent back as
        the setup has them; a redirect URL given empty is removed from ``settings``.
        """
        setup = self.require_setup()
        fields = dict(fields)
        settings = settings_with_redirects(setup, fields)
        body = {**writable_fields(setup), **fields, "settings": settings}
        updated = update_payment_setup(self.client, setup["id"], **body)
        self._record_setup(updated)
        return updated

    def confirm(self) -> ApiResult:
        """Confirm the setup with Octopus (``POST .../confirm/octopus``); return the Pending payment.

        Either published confirm answer works: a payment, or the setup with the payment under
        ``latest_payment`` (then the setup is kept too). After a Declined or Expired payment,
        confirming again creates a new payment.
        """
        answer = confirm_payment_setup(self.client, self.require_setup()["id"])
        payment = payment_of(answer)
        if payment is not answer:  # the setup-shaped answer
            self.setup, payment = answer, ApiResult(payment)
        self.payment, self.actions = payment, []
        self._advance(payment.get("status", ""))
        return payment

    def redirect_targets(self) -> RedirectTargets:
        """Where to send the customer: desktop landing page (QR), Android URI, iOS URL."""
        return redirect_targets(self.require_payment())

    def act(self, action: str) -> ApiResult:
        """Play the customer (one of ``CUSTOMER_ACTIONS``: approve, decline, expire, fail_capture); return the payment.

        Sandbox only (:func:`octopus_nb.control.simulate_customer`, which refuses an unknown action
        and Checkout.com before any request). The actions are not fetched: :meth:`refresh_actions`.
        """
        payment = simulate_customer(self.client, self.require_payment()["id"], action)
        self._record_payment(payment)
        return payment

    def refresh_actions(self) -> list:
        """Fetch the payment's actions, newest first (``GET /payments/{id}/actions``)."""
        self.actions = list(get_payment_actions(self.client, self.require_payment()["id"]))
        return self.actions

    def outcome(self) -> ApiResult:
        """Fetch the payment and its actions; return the payment (how you learn what the customer did).

        Both are fetched before either is recorded, and the actions are recorded first, so whoever
        reads the flow meanwhile (the explorer's event watch runs on another thread) never sees the
        new status with the old actions.
        """
        payment_id = self.require_payment()["id"]
        payment, actions = get_payment(self.client, payment_id), list(get_payment_actions(self.client, payment_id))
        self.actions = actions
        self._record_payment(payment)
        return payment

    def refund(self, amount: int | None = None) -> ApiResult:
        """Refund the payment, ``amount`` or (None) everything still available; return the API's answer.

        The payment and its actions are fetched again after it.
        """
        answer = refund_payment(self.client, self.require_payment()["id"], amount)
        self.outcome()
        return answer

    def new_payment(self) -> str:
        """Forget the setup and payment and start again; return the state, ``"start"``. The history stays."""
        self.setup, self.payment, self.actions, self._path = None, None, [], ["start"]
        return self.state

    # --- recording answers -----------------------------------------------------------------

    def _advance(self, state: str) -> None:
        if state in STATES and self._path[-1] != state:
            self._path.append(state)

    def _record_setup(self, setup: ApiResult) -> None:
        self.setup = setup
        # While a payment is live, the setup's readiness no longer moves the flow.
        if self.payment is None or self.payment.get("status") in RETRYABLE_STATUSES:
            self._advance("ready" if octopus_readiness(setup).get("status") == "ready" else "not_ready")

    def _record_payment(self, payment: ApiResult) -> None:
        self.payment = payment
        self._advance(payment.get("status", ""))

    def __repr__(self) -> str:
        return f"<Flow {self.client.environment} state={self.state}>"
