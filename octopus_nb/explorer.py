"""The flow explorer: one ipywidgets app that walks an Octopus payment through the whole flow.

A stepper — create → readiness → confirm → redirect → customer → outcome — with the flow's state
diagram above it (:func:`octopus_nb.diagram.flow_diagram_svg`) and, under it, every request and
response the client made (newest first, each expandable) beside the webhook events received.

Every button calls a public method, and every method can be called from code with the same
effect (``explorer.create(amount=1000, ...)``, ``explorer.confirm()``, ``explorer.act("approve")``,
``explorer.refund(500)``...): it fills the form widgets with the arguments it is given, reads the
form, calls the step functions (:mod:`octopus_nb.steps`) and lifecycle helpers
(:mod:`octopus_nb.lifecycle`), updates the widgets and **returns** the result.

Errors: called from code, a method **raises** (a :class:`~octopus_nb.errors.CheckoutApiError`
for an API refusal, ``ValueError`` for a step taken too early), after showing the error and its
fix in the app's error box. Pressed as a button, the same error is shown in the box and nothing
is raised (a callback's traceback would only reach the browser console).

Nothing here prints, writes into an ``Output`` widget, clears or updates a display: nbval compares
cell outputs and can't follow in-place redraws. The widgets change; the cell outputs don't.

>>> explorer = FlowExplorer(octopus_nb.connect(seed=7))  # doctest: +SKIP
>>> explorer                                             # the app, in JupyterLab  # doctest: +SKIP
>>> explorer.create(amount=1000, currency="HKD", success_url="https://example.com/ok",
...                 failure_url="https://example.com/ko")  # doctest: +SKIP
"""

from __future__ import annotations

import html
import json
import re
from contextlib import contextmanager
from functools import partial
from typing import Any, Callable, Iterator

import ipywidgets as widgets

from .client import ApiResult, ApiResultList, Client
from .ui.diagram import STATES, flow_diagram_svg
from .errors import FIXES, CheckoutApiError, OctopusError, fix_for
from ._shared.contract import CUSTOMER_ACTIONS
from .control import simulate_customer
from .lifecycle import RedirectTargets, redirect_targets
from .readiness import EXAMPLE_SETUP, FIELD_LABELS, FLAG_MEANINGS, FORM_FIELDS, STATUS_MEANINGS, field_problems, readiness_frame
from .steps import (
    confirm_payment_setup,
    create_payment_setup,
    get_payment,
    get_payment_actions,
    get_payment_setup,
    refund_payment,
    update_payment_setup,
    writable_fields,
)

#: The stepper's steps, in order (``explorer.step`` is one of them).
STEPS = ("create", "readiness", "confirm", "redirect", "customer", "outcome")
#: The seed page's example values: the form starts with them (``new_payment()`` clears it).
EXAMPLE = {**EXAMPLE_SETUP, "reference": ""}
#: Columns of :meth:`FlowExplorer.history_frame` (no latency: it differs run to run).
HISTORY_COLUMNS = ["time", "method", "path", "status", "request_id", "error_codes"]
#: How many exchanges the history panel shows (all are in ``client.history``).
HISTORY_ROWS = 50
#: Webhook events each action causes in the sandbox (CONTRACT.md §5), waited for before redrawing.
EXPECTED_EVENTS = {"confirm": 1, "approve": 2, "decline": 1, "expire": 1, "refund": 2}
#: Seconds to wait for those events: delivery runs off the request path, a moment later.
EVENT_WAIT_SECONDS = 2.0

_STEP_LABELS = ("1 Create", "2 Readiness", "3 Confirm", "4 Redirect", "5 Customer", "6 Outcome")
_PLACEHOLDERS = {
    "amount": "1000 (= HK$10.00; must end in 0)",
    "currency": "HKD",
    "success_url": EXAMPLE_SETUP["success_url"],
    "failure_url": EXAMPLE_SETUP["failure_url"],
    "description": "Octopus payment (optional)",
    "reference": "ORD-5023-4E89 (optional)",
}
_RED, _GREEN, _GREY, _ORANGE = "#b00020", "#2e7d32", "#555555", "#e65100"
_READINESS_COLOURS = {"ready": _GREEN, "action_required": _ORANGE, "invalid": _RED, "unavailable": _RED}
_PAYMENT_COLOURS = {"Captured": _GREEN, "Declined": _RED, "Expired": _RED, "Refunded": _GREY}
_CHECKOUT_ENVIRONMENTS = ("sandbox", "production")
_INTEGER = re.compile(r"^-?\d+$")


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _pretty(document: Any) -> str:
    return _esc(json.dumps(document, indent=2, ensure_ascii=False, default=str))


def _badge(text: str, colour: str, css: str = "") -> str:
    return (
        f'<span class="{css}" style="display:inline-block;padding:1px 8px;border-radius:10px;'
        f'background:{colour};color:#fff;font-weight:bold">{_esc(text)}</span>'
    )


def _parse_int(text: str) -> int | str | None:
    """Form text → an int, None when empty, or the text itself (the API then says amount_invalid)."""
    text = text.strip()
    if not text:
        return None
    return int(text) if _INTEGER.match(text) else text


def _button(description: str, css: str, style: str = "", icon: str = "") -> widgets.Button:
    button = widgets.Button(description=description, button_style=style, icon=icon,
                            layout=widgets.Layout(width="auto"))
    button.add_class(css)
    return button


def _html(css: str, value: str = "") -> widgets.HTML:
    box = widgets.HTML(value=value)
    box.add_class(css)
    return box


def error_html(error: BaseException) -> str:
    """The error box's content for an exception: status, codes and the fix for each code."""
    if isinstance(error, CheckoutApiError):
        head = f"{error.status} {error.error_type or 'error'}"
        if error.method:
            head += f" on {error.method} {error.path}"
        rows = "".join(
            f"<li><code>{_esc(code)}</code>: {_esc(fix_for(code) or FIXES.get(code, ''))}</li>"
            for code in error.error_codes
        )
        body = f"<ul>{rows}</ul>" if rows else f"<div>{_esc(error)}</div>"
        if error.request_id:
            body += f'<div style="color:{_GREY}">Cko-Request-Id {_esc(error.request_id)}</div>'
    else:
        head, body = type(error).__name__, f"<div>{_esc(error)}</div>"
    return (
        f'<div style="border:1px solid {_RED};background:#fdecea;padding:6px 10px;border-radius:4px">'
        f'<b style="color:{_RED}">{_esc(head)}</b>{body}</div>'
    )


class FlowExplorer:
    """Explore the Octopus flow step by step, by clicking or from code; see the module docstring.

    ``client`` defaults to ``octopus_nb.connect(seed=7)`` (the embedded sandbox). With the
    embedded or a self-hosted sandbox, a :class:`~octopus_nb.receiver.WebhookReceiver` is started
    on loopback and the sandbox is told to deliver to it (``webhooks=False`` skips that); against
    Checkout.com nothing is configured and the customer buttons are disabled, because there the
    customer acts in the Octopus App.

    State, for code and tests: ``explorer.state`` (a node of the diagram, see
    :data:`octopus_nb.diagram.STATES`), ``explorer.status`` (readiness, then payment status),
    ``explorer.path``, ``explorer.step``, ``explorer.setup``, ``explorer.payment``,
    ``explorer.actions``, ``explorer.events``, ``explorer.last_error``.
    """

    def __init__(self, client: Client | None = None, *, webhooks: bool = True):
        if client is None:
            from .environments import connect

            client = connect(seed=7)
            self._owns_client = True
        else:
            self._owns_client = False
        #: the client every step goes through (its ``history`` feeds the history panel)
        self.client = client
        #: the latest payment setup (None before :meth:`create`)
        self.setup: ApiResult | None = None
        #: the latest payment (None before :meth:`confirm`)
        self.payment: ApiResult | None = None
        #: the payment's actions, newest first (after :meth:`outcome`, :meth:`act`, :meth:`refund`)
        self.actions: list = []
        #: the exception the last action ended with, or None if it succeeded
        self.last_error: BaseException | None = None
        self._path: list[str] = ["start"]
        self._receiver: Any = None
        #: why no webhook events will arrive, when none will (shown in the events panel)
        self.webhook_note = "Webhooks are off (FlowExplorer(..., webhooks=False))." if not webhooks else ""
        self._build()
        if webhooks:
            self._start_webhooks()
        self._render()

    # --- state ---------------------------------------------------------------------------

    @property
    def can_play_customer(self) -> bool:
        """True on the embedded or a self-hosted sandbox; False on Checkout.com (the customer uses the app)."""
        return self.client.environment not in _CHECKOUT_ENVIRONMENTS

    @property
    def state(self) -> str:
        """Where the flow is: a node of the diagram (``"start"``, ``"not_ready"``, ``"ready"``, ``"Pending"``...)."""
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
        if self.setup is not None:
            return self._octopus(self.setup).get("status")
        return None

    @property
    def step(self) -> str:
        """The stepper's current step, one of :data:`STEPS`."""
        return STEPS[self._steps.index]

    @property
    def events(self) -> list[dict]:
        """Webhook events received so far, in arrival order (empty when webhooks are off)."""
        return self._receiver.events if self._receiver is not None else []

    @property
    def widget(self) -> widgets.VBox:
        """The app itself, to place in your own layout."""
        return self._app

    # --- the actions (each button calls one of these) -----------------------------------------

    def create(self, **fields: Any) -> ApiResult:
        """Create a payment setup from the form (the *Create setup* button); return the API's answer.

        Keyword arguments named like the form's fields (``amount``, ``currency``, ``success_url``,
        ``failure_url``, ``description``, ``reference``) are typed into the form first; other API
        fields (``customer``, ``metadata``...) are sent as given. Moves to the readiness step.
        """
        extra = self._fill(fields)
        with self._action():
            values = self.form_values()
            setup = create_payment_setup(self.client, **values, **extra)
            # A new setup is a new flow: the diagram's path starts again.
            self.payment, self.actions, self._path = None, [], ["start"]
            self._show_setup(setup)
            self.go("readiness")
        return setup

    def check_readiness(self):
        """Fetch the setup again (``GET``) and return its readiness table (the *Check readiness* button).

        Returns :func:`octopus_nb.readiness.readiness_frame`: status, flag, meaning and fix per method.
        """
        with self._action():
            setup = get_payment_setup(self.client, self._require_setup()["id"])
            self._show_setup(setup)
            self.go("readiness")
        return readiness_frame(setup)

    def update(self, **fields: Any) -> ApiResult:
        """Replace the setup's fields with the form's (the *Update setup* button; a PUT replaces all).

        Keyword arguments are typed into the form first, as in :meth:`create`. Fields the form
        does not show (``customer``, ``settings.excluded_payment_methods``...) are sent back as the
        setup has them, so only what the form shows changes.
        """
        extra = self._fill(fields)
        with self._action():
            setup = self._require_setup()
            values = self.form_values()
            settings = dict(setup.get("settings") or {})
            for name in ("success_url", "failure_url"):
                url = values.pop(name)
                if url:
                    settings[name] = url
                else:
                    settings.pop(name, None)
            body = {**writable_fields(setup), **values, **extra, "settings": settings}
            updated = update_payment_setup(self.client, setup["id"], **body)
            self._show_setup(updated)
            self.go("readiness")
        return updated

    def confirm(self) -> ApiResult:
        """Confirm the setup with Octopus (the *Confirm with Octopus* button); return the Pending payment.

        Shows the QR code and the redirect targets and moves to the redirect step. After a Declined
        or Expired payment, confirming again creates a new payment.
        """
        with self._action():
            setup_id = self._require_setup()["id"]
            before = len(self.events)
            payment = confirm_payment_setup(self.client, setup_id)
            self.payment, self.actions = payment, []
            self._advance("Pending")
            self._show_redirect(payment)
            self._await_events(before + EXPECTED_EVENTS["confirm"])
            self.go("redirect")
        return payment

    def redirect_targets(self) -> RedirectTargets:
        """Where to send the customer: desktop landing page (QR), Android URI, iOS URL."""
        return redirect_targets(self._require_payment())

    def act(self, action: str) -> ApiResult:
        """Play the customer: ``"approve"``, ``"decline"`` or ``"expire"`` (the customer step's buttons).

        Sandbox only (:func:`octopus_nb.control.simulate_customer`); on Checkout.com the customer
        acts in the Octopus App and this raises ``NotASandboxError``. Returns the payment after
        the action, and moves to the outcome step (its actions fetched too).
        """
        with self._action():
            if action not in CUSTOMER_ACTIONS:
                raise ValueError(f"Unknown customer action {action!r}: use one of {', '.join(CUSTOMER_ACTIONS)}.")
            payment_id = self._require_payment()["id"]
            before = len(self.events)
            payment = simulate_customer(self.client, payment_id, action)
            self._show_outcome(payment, get_payment_actions(self.client, payment_id))
            self._await_events(before + EXPECTED_EVENTS[action])
            self.go("outcome")
        return payment

    def outcome(self) -> ApiResult:
        """Fetch the payment and its actions (the *Refresh status* buttons); return the payment.

        On Checkout.com this is how you learn what the customer did in the Octopus App.
        """
        with self._action():
            payment_id = self._require_payment()["id"]
            payment = get_payment(self.client, payment_id)
            self._show_outcome(payment, get_payment_actions(self.client, payment_id))
            self.go("outcome")
        return payment

    def refund(self, amount: int | None = None) -> ApiResult:
        """Refund the payment (the *Refund* button); return the API's answer (``action_id``...).

        ``amount`` (minor units, ending in 0) is typed into the refund field first; an empty field
        refunds everything still available. The payment and its actions are fetched again after.
        """
        if amount is not None:
            self._refund_amount.value = str(amount)
        with self._action():
            payment_id = self._require_payment()["id"]
            before = len(self.events)
            answer = refund_payment(self.client, payment_id, _parse_int(self._refund_amount.value))
            payment = get_payment(self.client, payment_id)
            self._show_outcome(payment, get_payment_actions(self.client, payment_id))
            self._await_events(before + EXPECTED_EVENTS["refund"])
            self.go("outcome")
        return answer

    def new_payment(self) -> str:
        """Start again with an empty form (the *New payment* button); return the state, ``"start"``.

        The client, its history and the webhook events are kept.
        """
        with self._action():
            self.setup, self.payment, self.actions = None, None, []
            self._path = ["start"]
            for widget in self.fields.values():
                widget.value = ""
            self._refund_amount.value = ""
            self._qr.value = b""
            self._qr.layout.display = "none"
            self._targets.value = ""
            self.go("create")
        return self.state

    def go(self, step: str) -> str:
        """Show one step of the stepper (the step buttons); return it."""
        if step not in STEPS:
            raise ValueError(f"Unknown step {step!r}: use one of {', '.join(STEPS)}.")
        self._steps.index = STEPS.index(step)
        return step

    def wait_for_events(self, count: int, timeout: float = 5.0) -> list[dict]:
        """Wait until at least ``count`` webhook events arrived; redraw the events panel; return them all.

        Delivery order is not guaranteed (CONTRACT.md §5): sort before comparing.

        Raises:
            RuntimeError: webhooks are off or the sandbox refused them (``webhook_note`` says why).
            WaitTimeoutError: fewer than ``count`` after ``timeout`` seconds.
        """
        if self._receiver is None:
            raise RuntimeError(f"No webhook receiver: {self.webhook_note}")
        try:
            return self._receiver.wait_for(count, timeout=timeout)
        finally:
            self._render()

    def refresh_events(self) -> list[dict]:
        """Redraw the webhook events panel (the *Refresh events* button); return the events."""
        self._render()
        return self.events

    # --- for notebooks: the same views the app shows ------------------------------------------

    def form_values(self) -> dict:
        """The form's fields as step-function arguments (empty text → None, i.e. not sent)."""
        values: dict[str, Any] = {}
        for name, widget in self.fields.items():
            text = widget.value
            values[name] = _parse_int(text) if name == "amount" else (text.strip() or None)
        return values

    def diagram_svg(self) -> str:
        """The state diagram the app shows, as SVG text."""
        return flow_diagram_svg(self.state, self._path)

    def diagram(self):
        """The state diagram as an ``IPython.display.SVG`` (compared byte for byte by nbval)."""
        from IPython.display import SVG

        return SVG(data=self.diagram_svg())

    def history_frame(self):
        """The client's history, newest first, with :data:`HISTORY_COLUMNS` (what the panel lists)."""
        frame = self.client.history.to_frame()[HISTORY_COLUMNS]
        return frame.iloc[::-1].reset_index(drop=True)

    def close(self) -> None:
        """Stop the webhook receiver, and the client's sandbox if the explorer made the client."""
        if self._receiver is not None and self._receiver.is_running():
            self._receiver.stop()
        if self._owns_client:
            self.client.close()

    # --- display ---------------------------------------------------------------------------

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):  # noqa: ANN001 - IPython's signature
        bundle = self._app._repr_mimebundle_(**kwargs)
        # The widget's own text/plain lists its children (long, and the same for any VBox): name the state.
        bundle["text/plain"] = repr(self)
        return bundle

    def __repr__(self) -> str:
        text = f"<FlowExplorer {self.client.environment} step={self.step} state={self.state}"
        if self.setup is not None:
            text += f" setup={self.setup.get('id')}"
        if self.payment is not None:
            text += f" payment={self.payment.get('id')}"
        return text + ">"

    # --- building the app ------------------------------------------------------------------

    def _build(self) -> None:
        style, layout = {"description_width": "11em"}, widgets.Layout(width="36em")
        #: form field name → its Text widget (shared by the create and readiness steps)
        self.fields: dict[str, widgets.Text] = {}
        self._field_messages: dict[str, widgets.HTML] = {}
        for name in FORM_FIELDS:
            field = widgets.Text(value=str(EXAMPLE[name]), description=FIELD_LABELS[name],
                                 placeholder=_PLACEHOLDERS[name], style=style, layout=layout)
            field.add_class(f"octopus-explorer-field-{name.replace('_', '-')}")
            field.observe(self._field_changed, names="value")
            self.fields[name] = field
            self._field_messages[name] = _html(f"octopus-explorer-message-{name.replace('_', '-')}")
        self._refund_amount = widgets.Text(description="Refund amount", placeholder="empty: everything available",
                                           style=style, layout=widgets.Layout(width="30em"))
        self._refund_amount.add_class("octopus-explorer-refund-amount")

        self.buttons: dict[str, widgets.Button] = {
            "create": _button("Create setup", "octopus-explorer-create", "primary", "plus"),
            "update": _button("Update setup", "octopus-explorer-update", "", "pencil"),
            "check": _button("Check readiness", "octopus-explorer-check", "", "search"),
            "to_confirm": _button("Next: confirm →", "octopus-explorer-next-confirm"),
            "confirm": _button("Confirm with Octopus", "octopus-explorer-confirm", "success", "check"),
            "to_customer": _button("Next: customer →", "octopus-explorer-next-customer"),
            "approve": _button("Approve", "octopus-explorer-approve", "success"),
            "decline": _button("Decline", "octopus-explorer-decline", "danger"),
            "expire": _button("Let it expire", "octopus-explorer-expire", "warning"),
            "refresh_customer": _button("Refresh status", "octopus-explorer-refresh-status", "", "refresh"),
            "refund": _button("Refund", "octopus-explorer-refund", "warning", "undo"),
            "refresh": _button("Refresh status", "octopus-explorer-refresh", "", "refresh"),
            "new": _button("New payment", "octopus-explorer-new", "info", "plus"),
            "events": _button("Refresh events", "octopus-explorer-refresh-events", "", "refresh"),
        }
        actions: dict[str, Callable[[], Any]] = {
            "create": self.create,
            "update": self.update,
            "check": self.check_readiness,
            "to_confirm": partial(self.go, "confirm"),
            "confirm": self.confirm,
            "to_customer": partial(self.go, "customer"),
            "approve": partial(self.act, "approve"),
            "decline": partial(self.act, "decline"),
            "expire": partial(self.act, "expire"),
            "refresh_customer": self.outcome,
            "refund": self.refund,
            "refresh": self.outcome,
            "new": self.new_payment,
            "events": self.refresh_events,
        }
        for name, button in self.buttons.items():
            button.on_click(partial(self._clicked, actions[name]))

        self._header = _html("octopus-explorer-header")
        self._status = _html("octopus-explorer-status")
        self._diagram = _html("octopus-explorer-diagram")
        self._error = _html("octopus-explorer-error")
        self._readiness = _html("octopus-explorer-readiness")
        self._summary = _html("octopus-explorer-summary")
        self._qr = widgets.Image(format="png", width=200, height=200, layout=widgets.Layout(display="none"))
        self._qr.add_class("octopus-explorer-qr")
        self._targets = _html("octopus-explorer-targets")
        self._customer_note = _html("octopus-explorer-customer-note")
        self._outcome = _html("octopus-explorer-outcome")
        self._history = _html("octopus-explorer-history")
        self._events = _html("octopus-explorer-events")

        b = self.buttons
        rows = [widgets.HBox([self.fields[name], self._field_messages[name]]) for name in FORM_FIELDS]
        intro = {
            "create": "Step 1 — <code>POST /payments/setups</code>: the amount (minor units), HKD, and where "
                      "Octopus sends the customer back. The fix for each field shows as you type.",
            "readiness": "Step 2 — <code>payment_methods.octopus</code>: Octopus can be confirmed when its status is "
                         "<b>ready</b>. Each flag comes with its fix; edit the fields and press <i>Update setup</i> "
                         "(a <code>PUT</code> replaces them all). Flag names are sandbox rules.",
            "confirm": "Step 3 — <code>POST /payments/setups/{id}/confirm/octopus</code> creates the payment, "
                       "<b>Pending</b> until the customer acts in the Octopus App.",
            "redirect": "Step 4 — send the customer to Octopus: a desktop browser goes to the landing page, which "
                        "shows this QR code for the Octopus App to scan; a mobile app hands the URI to the app.",
            "customer": "Step 5 — the customer approves or declines in the Octopus App, or lets the payment lapse.",
            "outcome": "Step 6 — <code>GET /payments/{id}</code> and its actions. Captured payments can be refunded "
                       "(all, or an amount ending in 0); refunds move it to Partially Refunded or Refunded.",
        }
        pages = [
            [*rows, widgets.HBox([b["create"]])],
            [self._readiness, *rows, widgets.HBox([b["update"], b["check"], b["to_confirm"]])],
            [self._summary, widgets.HBox([b["confirm"]])],
            [widgets.HBox([self._qr, self._targets]), widgets.HBox([b["to_customer"]])],
            [self._customer_note, widgets.HBox([b["approve"], b["decline"], b["expire"], b["refresh_customer"]])],
            [self._outcome, widgets.HBox([self._refund_amount, b["refund"]]), widgets.HBox([b["refresh"], b["new"]])],
        ]
        boxes = []
        for step, children in zip(STEPS, pages):
            box = widgets.VBox([widgets.HTML(f'<p style="margin:4px 0 8px">{intro[step]}</p>'), *children])
            box.add_class(f"octopus-explorer-page-{step}")
            boxes.append(box)
        self._pages = widgets.Stack(children=boxes, selected_index=0)
        self._steps = widgets.ToggleButtons(options=list(_STEP_LABELS), index=0,
                                            style={"button_width": "8.5em"})
        self._steps.add_class("octopus-explorer-steps")
        self._steps.observe(self._step_changed, names="index")

        panels = widgets.HBox(
            [
                widgets.VBox([widgets.HTML("<b>Requests and responses</b> (newest first; click a row)"),
                              self._history], layout=widgets.Layout(flex="3 1 0%", min_width="0")),
                widgets.VBox([widgets.HTML("<b>Webhook events</b> (newest first)"), self._events, b["events"]],
                             layout=widgets.Layout(flex="2 1 0%", min_width="0")),
            ],
            layout=widgets.Layout(width="100%", align_items="flex-start", grid_gap="12px"),
        )
        self._app = widgets.VBox(
            [self._header, self._diagram, self._status, self._steps, self._error, self._pages, panels],
        )
        self._app.add_class("octopus-explorer")
        self._field_changed(None)

    def _start_webhooks(self) -> None:
        """Start a receiver on loopback and point the sandbox at it; on Checkout.com, explain why not."""
        if not self.can_play_customer:
            self.webhook_note = (
                "Checkout.com delivers webhooks to a public HTTPS endpoint you register in the Dashboard; "
                "a receiver on this machine's loopback can't get them, so none are shown here."
            )
            return
        from .control import configure_webhooks
        from .receiver import WebhookReceiver

        # The client's key generator: seeded in the embedded sandbox (so a notebook's history
        # repeats), a UUID4 otherwise. It signs deliveries to a loopback-only receiver.
        receiver = WebhookReceiver(self.client.new_idempotency_key()).start()
        try:
            configure_webhooks(self.client, receiver)
        except OctopusError as error:
            receiver.stop()
            self.webhook_note = (
                f"This sandbox refused a webhook URL ({error}), so no events will arrive. "
                "Webhooks need a sandbox with PUT /_sandbox/webhooks."
            )
            return
        self._receiver = receiver

    # --- showing results -------------------------------------------------------------------

    @contextmanager
    def _action(self) -> Iterator[None]:
        """Run one action: on failure, show the error with its fix and re-raise; always redraw."""
        try:
            yield
        except Exception as error:
            self.last_error = error
            self._error.value = error_html(error)
            raise
        else:
            self.last_error = None
            self._error.value = ""
        finally:
            self._render()

    def _clicked(self, action: Callable[[], Any], button: widgets.Button) -> None:
        # A callback's exception would reach only the browser console; _action has shown it already.
        try:
            action()
        except Exception as error:  # noqa: BLE001 - every failure belongs in the error box
            self.last_error = error
            self._error.value = error_html(error)

    def _fill(self, fields: dict) -> dict:
        """Type the form's own fields into the widgets; return the rest (extra API fields)."""
        extra = {}
        for name, value in fields.items():
            if name in self.fields:
                self.fields[name].value = "" if value is None else str(value)
            else:
                extra[name] = value
        return extra

    def _require_setup(self) -> ApiResult:
        if self.setup is None:
            raise ValueError("No payment setup yet: create one first (explorer.create(...), or Create setup).")
        return self.setup

    def _require_payment(self) -> ApiResult:
        if self.payment is None:
            raise ValueError("No payment yet: confirm the setup first (explorer.confirm() or Confirm with Octopus).")
        return self.payment

    @staticmethod
    def _octopus(setup: dict) -> dict:
        return (setup.get("payment_methods") or {}).get("octopus") or {}

    def _advance(self, state: str) -> None:
        if state in STATES and self._path[-1] != state:
            self._path.append(state)

    def _show_setup(self, setup: ApiResult) -> None:
        self.setup = setup
        live = self.payment is not None and self.payment.get("status") not in ("Declined", "Expired")
        if not live:
            self._advance("ready" if self._octopus(setup).get("status") == "ready" else "not_ready")

    def _show_redirect(self, payment: ApiResult) -> None:
        from .qr import qr_code

        targets = redirect_targets(payment)
        self._qr.value = qr_code(targets.android).png
        self._qr.layout.display = None
        rows = (
            ("Desktop browser", f'<a class="octopus-target-desktop" href="{_esc(targets.desktop)}" '
             f'target="_blank" rel="noopener">{_esc(targets.desktop)}</a>',
             "redirect here: the landing page shows this QR code; the customer scans it with the Octopus App"),
            ("Android app", f"<code class='octopus-target-android'>{_esc(targets.android)}</code>",
             "pass processing.octopus_uri to the Octopus App"),
            ("iOS app", f"<code class='octopus-target-ios'>{_esc(targets.ios)}</code>",
             "a custom-scheme URL built from processing.token; the scheme is an assumption "
             "(Checkout.com doesn't publish it: see lifecycle.IOS_URL_TEMPLATE)"),
        )
        self._targets.value = (
            f"<div>Payment <code>{_esc(targets.payment_id)}</code>, token <code>{_esc(targets.token)}</code></div>"
            "<table style='border-collapse:collapse'>"
            + "".join(f"<tr><th style='text-align:left;vertical-align:top;padding:4px 8px'>{d}</th>"
                      f"<td style='padding:4px 8px;word-break:break-all'>{t}<div style='color:{_GREY};"
                      f"font-size:0.9em;word-break:normal'>{_esc(h)}</div></td></tr>" for d, t, h in rows)
            + "</table>"
        )

    def _show_outcome(self, payment: ApiResult, actions: ApiResultList) -> None:
        self.payment, self.actions = payment, list(actions)
        self._advance(payment.get("status", ""))

    def _await_events(self, count: int) -> None:
        # Deliveries run off the sandbox's request path: give them a moment so the panel shows them.
        if self._receiver is None:
            return
        try:
            if self.client.sandbox is not None:
                # Embedded: wait until the sandbox has attempted every due delivery (no guessing how long).
                self.client.sandbox.flush_webhooks(timeout=EVENT_WAIT_SECONDS)
            self._receiver.wait_for(count, timeout=EVENT_WAIT_SECONDS)
        except TimeoutError:  # WaitTimeoutError is one too
            pass  # the panel shows what arrived; "Refresh events" shows later ones

    # --- drawing ---------------------------------------------------------------------------

    def _render(self) -> None:
        self._header.value = (
            "<h3 style='margin:4px 0'>Octopus flow explorer</h3>"
            f"<div style='color:{_GREY}'>{_esc(self._environment_text())}</div>"
        )
        # The SVG has a fixed size (for notebooks); in the app it shrinks to the output's width.
        self._diagram.value = (
            "<style>.octopus-explorer-diagram svg{max-width:100%;height:auto}</style>"
            f"<div style='max-width:880px'>{self.diagram_svg()}</div>"
        )
        self._status.value = self._status_html()
        self._readiness.value = self._readiness_html()
        self._summary.value = self._summary_html()
        self._customer_note.value = self._customer_html()
        self._outcome.value = self._outcome_html()
        self._history.value = self._history_html()
        self._events.value = self._events_html()
        self._enable()

    def _environment_text(self) -> str:
        env = self.client.environment
        if env == "embedded":
            return "Embedded sandbox on loopback (octopus_nb.connect()): no account, deterministic ids."
        if env == "custom":
            return f"Sandbox server at {self.client.base_url}."
        return f"Checkout.com {env} ({self.client.base_url}): the customer acts in the Octopus App."

    def _status_html(self) -> str:
        parts = [f"State: <b class='octopus-explorer-state'>{_esc(self.state)}</b>"]
        if self.setup is not None:
            parts.append(f"setup <code>{_esc(self.setup.get('id'))}</code>")
        if self.payment is not None:
            parts.append(f"payment <code>{_esc(self.payment.get('id'))}</code> "
                         f"<b class='octopus-explorer-payment-status'>{_esc(self.payment.get('status'))}</b>")
        return "<div style='margin:4px 0'>" + " · ".join(parts) + "</div>"

    def _readiness_html(self) -> str:
        if self.setup is None:
            return f"<p style='color:{_GREY}'>No setup yet: fill in the fields and press <i>Create setup</i>.</p>"
        rows = []
        for method, readiness in (self.setup.get("payment_methods") or {}).items():
            status = readiness.get("status", "")
            flags = list(readiness.get("flags") or [])
            badge = _badge(status, _READINESS_COLOURS.get(status, _GREY), f"octopus-readiness-status-{method}")
            flag_cells = "".join(
                f"<li><code>{_esc(flag)}</code> — {_esc(FLAG_MEANINGS.get(flag, ''))}"
                f"<br><b>Fix:</b> {_esc(fix_for(flag, self.setup) or FIXES.get(flag, ''))}</li>"
                for flag in flags
            ) or f"<li style='list-style:none'>{_esc(STATUS_MEANINGS.get(status, ''))}</li>"
            rows.append(f"<tr><td style='padding:4px 8px'><b>{_esc(method)}</b></td><td style='padding:4px 8px'>{badge}"
                        f"</td><td style='padding:4px 8px'><ul style='margin:0;padding-left:1.2em'>{flag_cells}</ul>"
                        "</td></tr>")
        available = ", ".join(self.setup.get("available_payment_methods") or []) or "none"
        return (
            f"<div>Setup <code>{_esc(self.setup.get('id'))}</code>: {_esc(self.setup.get('amount'))} "
            f"{_esc(self.setup.get('currency'))}; available methods: {_esc(available)}</div>"
            "<table style='border-collapse:collapse;margin:4px 0'><tr><th>method</th><th>status</th>"
            "<th style='text-align:left'>flags and fixes</th></tr>" + "".join(rows) + "</table>"
        )

    def _summary_html(self) -> str:
        if self.setup is None:
            return f"<p style='color:{_GREY}'>Nothing to confirm yet: create a setup first.</p>"
        status = self._octopus(self.setup).get("status", "unknown")
        note = "" if status == "ready" else (
            f"<p style='color:{_RED}'>Octopus is <b>{_esc(status)}</b>: the API will refuse the confirm (422, "
            "with the flags as error codes). Fix it in step 2 first.</p>"
        )
        return (
            f"<p>Setup <code>{_esc(self.setup.get('id'))}</code>: <b>{_esc(self.setup.get('amount'))} "
            f"{_esc(self.setup.get('currency'))}</b>, reference {_esc(self.setup.get('reference') or '—')}, "
            f"Octopus {_badge(status, _READINESS_COLOURS.get(status, _GREY))}</p>" + note
        )

    def _customer_html(self) -> str:
        if not self.can_play_customer:
            return (
                "<p><b>On Checkout.com the customer acts in the Octopus App</b>: they scan the landing page's QR "
                "code (desktop) or the app opens from the Android/iOS link, and they approve there. Nothing here "
                "can act for them, so these buttons are disabled. Press <i>Refresh status</i> to see what they did "
                "(the payment expires after <code>expires_on</code>).</p>"
            )
        payment = "" if self.payment is None else (
            f" Payment <code>{_esc(self.payment.get('id'))}</code> is <b>{_esc(self.payment.get('status'))}</b>."
        )
        return (
            "<p><b>Sandbox rule:</b> in this sandbox you play the customer (<code>POST /_sandbox/payments/{id}/"
            "approve|decline|expire</code>); you can also open the landing page from step 4 and press Approve "
            f"there, then <i>Refresh status</i>.{payment}</p>"
        )

    def _outcome_html(self) -> str:
        if self.payment is None:
            return f"<p style='color:{_GREY}'>No payment yet.</p>"
        status = self.payment.get("status", "unknown")
        colour = _PAYMENT_COLOURS.get(status, _ORANGE if status == "Partially Refunded" else _GREY)
        balances = self.payment.get("balances") or {}
        balance_text = " · ".join(f"{_esc(k)} {_esc(v)}" for k, v in balances.items()) or "—"
        actions = "".join(
            f"<tr><td style='padding:2px 8px'><code>{_esc(a.get('id'))}</code></td><td style='padding:2px 8px'>"
            f"{_esc(a.get('type'))}</td><td style='padding:2px 8px;text-align:right'>{_esc(a.get('amount'))}</td>"
            f"<td style='padding:2px 8px'>{_esc(a.get('response_summary'))}</td><td style='padding:2px 8px'>"
            f"{_esc(a.get('processed_on'))}</td></tr>"
            for a in self.actions
        ) or "<tr><td colspan='5' style='color:#555555;padding:2px 8px'>no actions</td></tr>"
        return (
            f"<p style='font-size:1.2em;margin:4px 0'>Payment <code>{_esc(self.payment.get('id'))}</code>: "
            f"{_badge(status, colour, 'octopus-outcome-status')}</p>"
            f"<div>Balances: {balance_text}</div>"
            "<table style='border-collapse:collapse;margin:6px 0'><caption style='text-align:left'>Actions "
            "(newest first)</caption><tr><th>id</th><th>type</th><th>amount</th><th>summary</th><th>processed</th>"
            f"</tr>{actions}</table>"
        )

    def _history_html(self) -> str:
        exchanges = list(self.client.history)
        if not exchanges:
            return f"<p style='color:{_GREY}'>No requests yet.</p>"
        shown = list(enumerate(exchanges, start=1))[::-1][:HISTORY_ROWS]
        rows = []
        for number, ex in shown:
            colour = _GREEN if ex.status is not None and ex.status < 300 else _RED
            status = ex.status if ex.status is not None else (ex.error or "no answer")
            codes = f" <code>{_esc(', '.join(ex.error_codes))}</code>" if ex.error_codes else ""
            rows.append(
                "<tr class='octopus-history-row'>"
                f"<td style='padding:2px 6px;vertical-align:top'>{number}</td>"
                "<td style='padding:2px 6px'><details><summary style='cursor:pointer'>"
                f"<b>{_esc(ex.method)}</b> <code>{_esc(ex.path)}</code> → "
                f"<b style='color:{colour}'>{_esc(status)}</b>{codes}</summary>"
                f"<div style='color:{_GREY}'>{_esc(ex.time.isoformat())} · request id {_esc(ex.request_id)} · "
                f"idempotency key {_esc(ex.idempotency_key or '—')}</div>"
                f"<div><b>Request</b></div><pre style='margin:0;max-height:16em;overflow:auto'>"
                f"{_pretty(ex.request_body) if ex.request_body is not None else '(no body)'}</pre>"
                f"<div><b>Response</b></div><pre style='margin:0;max-height:16em;overflow:auto'>"
                f"{_pretty(ex.response_body) if ex.response_body is not None else '(no body)'}</pre>"
                "</details></td></tr>"
            )
        more = len(exchanges) - len(shown)
        tail = f"<p style='color:{_GREY}'>… {more} older in client.history</p>" if more else ""
        return ("<table class='octopus-history-table' style='border-collapse:collapse;width:100%;font-size:0.9em'>"
                + "".join(rows) + "</table>" + tail)

    def _events_html(self) -> str:
        if self._receiver is None:
            return f"<p style='color:{_GREY}' class='octopus-events-empty'>{_esc(self.webhook_note)}</p>"
        events = self._receiver.events
        if not events:
            return (f"<p style='color:{_GREY}' class='octopus-events-empty'>No events yet. The receiver on loopback "
                    "verifies each delivery's Cko-Signature; confirm a payment to see payment_pending.</p>")
        rows = []
        for event in reversed(events):
            data = event.get("data") if isinstance(event.get("data"), dict) else {}
            rows.append(
                "<tr class='octopus-event-row'><td style='padding:2px 6px'><details><summary style='cursor:pointer'>"
                f"<b>{_esc(event.get('type'))}</b> <code>{_esc(data.get('id'))}</code> {_esc(data.get('status') or '')}"
                f"</summary><pre style='margin:0;max-height:16em;overflow:auto'>{_pretty(event)}</pre>"
                "</details></td></tr>"
            )
        return ("<table class='octopus-events-table' style='border-collapse:collapse;width:100%;font-size:0.9em'>"
                + "".join(rows) + "</table>")

    def _enable(self) -> None:
        b = self.buttons
        has_setup, payment = self.setup is not None, self.payment
        status = payment.get("status") if payment is not None else None
        b["update"].disabled = b["check"].disabled = b["to_confirm"].disabled = not has_setup
        b["confirm"].disabled = not has_setup or status not in (None, "Declined", "Expired")
        b["to_customer"].disabled = payment is None
        for name in ("approve", "decline", "expire"):
            b[name].disabled = status != "Pending" or not self.can_play_customer
        b["refresh_customer"].disabled = b["refresh"].disabled = payment is None
        b["refund"].disabled = status not in ("Captured", "Partially Refunded")
        b["events"].disabled = self._receiver is None

    # --- events ----------------------------------------------------------------------------

    def _step_changed(self, change: dict) -> None:
        self._pages.selected_index = change["new"]

    def _field_changed(self, change: dict | None) -> None:
        # A preview of what the API will say (readiness.field_problems); the API stays the authority.
        values = self.form_values()
        problems = field_problems(values)
        for name, codes in problems.items():
            if codes:
                fixes = " ".join(fix_for(code, {"amount": values["amount"]}) or code for code in codes)
                self._field_messages[name].value = f"<span style='color:{_RED}'>✗ {_esc(fixes)}</span>"
            else:
                self._field_messages[name].value = f"<span style='color:{_GREEN}'>✓</span>"
