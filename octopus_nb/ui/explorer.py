"""The flow explorer: one ipywidgets app over a :class:`~octopus_nb.ui.flow.Flow`, layout and bindings only.

A stepper — create → readiness → confirm → redirect → customer → outcome — with the flow's state
diagram above it (:func:`octopus_nb.ui.diagram.flow_diagram_svg`) and, under it, every request and
response the client made (newest first, each expandable) beside the webhook events received
(:class:`~octopus_nb.ui.events.EventFeed`).

Every button calls a public method, and every method can be called from code with the same
effect (``explorer.create(amount=1000, ...)``, ``explorer.confirm()``, ``explorer.act("approve")``,
``explorer.refund(500)``...): it shows the values it is given in the form, calls the flow with them,
redraws the panels (templates under ``ui/templates``) and **returns** the result.

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

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .._shared.contract import TERMINAL_STATUSES
from ..client import ApiResult, Client
from ..history import TRACE_COLUMNS
from ..journey import app_url
from ..lifecycle import RedirectTargets
from ..readiness import EXAMPLE_SETUP, FORM_FIELDS
from .diagram import flow_diagram_svg
from .events import EventFeed
from .explorer_layout import CUSTOMER_BUTTONS, STEPS, ExplorerLayout
from .flow import REFUNDABLE_STATUSES, RETRYABLE_STATUSES, Flow, preview_fields
from .render import Templates
from .timeline import Branch, Timeline

#: The seed page's example values: the form starts with them (``new_payment()`` clears it).
EXAMPLE = {**EXAMPLE_SETUP, "reference": ""}
_INTEGER = re.compile(r"^-?\d+$")


def parse_amount(text: str) -> int | str | None:
    """Form text → an int, None when empty, or the text itself (the API then says amount_invalid)."""
    text = text.strip()
    if not text:
        return None
    return int(text) if _INTEGER.match(text) else text


def _read_through(part: str, name: str, doc: str) -> property:
    """A read-only attribute that is ``self.<part>.<name>``."""
    return property(lambda self: getattr(getattr(self, part), name), doc=doc)


class FlowExplorer:
    """Explore the Octopus flow step by step, by clicking or from code; see the module docstring.

    ``client`` defaults to ``octopus_nb.connect(seed=7)`` (the embedded sandbox). On an octopus_nb
    sandbox, a webhook receiver is started on loopback and the sandbox is told to deliver to it
    (``webhooks=False`` skips that); against Checkout.com nothing is configured and the customer
    buttons are disabled, because there the customer acts in the Octopus App.

    State, for code and tests: ``explorer.flow`` (the controller), ``explorer.state`` (a node of
    the diagram), ``explorer.status``, ``explorer.path``, ``explorer.step``, ``explorer.setup``,
    ``explorer.payment``, ``explorer.actions``, ``explorer.events``, ``explorer.last_error``,
    ``explorer.branches`` (with ``rewind=True``).
    """

    def __init__(self, client: Client | None = None, *, webhooks: bool = True, rewind: bool = False):
        self._owns_client = client is None
        if client is None:
            from ..environments import connect

            client = connect(seed=7)
        #: the controller: client, setup, payment, actions, path
        self.flow = Flow(client)
        #: the exception the last action ended with, or None if it succeeded
        self.last_error: BaseException | None = None
        #: the points *Rewind* and *Branch* go back to (``rewind=True``, on a sandbox; see :mod:`~octopus_nb.ui.timeline`)
        self.timeline = Timeline(client, enabled=rewind)
        self._templates = Templates()
        #: the webhook events and the merchant's return pages (a receiver on loopback, on a sandbox)
        self.feed = EventFeed(client, enabled=webhooks)
        #: the widgets: fields, buttons, panels, pages (see :class:`~octopus_nb.ui.explorer_layout.ExplorerLayout`)
        self.layout = ExplorerLayout(self, self._templates, {name: str(value) for name, value in self._example().items()})
        # The events panel is drawn from two threads (actions, and the feed's watch): one at a time.
        self._events_lock = threading.Lock()
        # An action and the watch's follow-up never interleave, so code-driven runs stay repeatable.
        self._acting = threading.RLock()
        self.show_field_preview()
        self.render()
        self.feed.watch(self._deliveries_arrived)

    # --- state ---------------------------------------------------------------------------

    # The flow's state, read through (the controller is the one place it is kept).
    client = _read_through("flow", "client", "The client every step goes through.")
    setup = _read_through("flow", "setup", "The latest payment setup (None before create).")
    payment = _read_through("flow", "payment", "The latest payment (None before confirm).")
    actions = _read_through("flow", "actions", "The payment's actions, newest first.")
    state = _read_through("flow", "state", "Where the flow is: a node of the diagram.")
    path = _read_through("flow", "path", "The states visited so far, oldest first (a copy).")
    status = _read_through("flow", "status", "The payment's status, else the setup's readiness.")
    can_play_customer = _read_through("flow", "can_play_customer", "False on Checkout.com (the customer uses the app).")
    events = _read_through("feed", "events", "Webhook events received so far, in arrival order.")
    webhook_note = _read_through("feed", "note", "Why no webhook events will arrive, when none will.")
    fields = _read_through("layout", "fields", "Form field name → its Text widget.")
    buttons = _read_through("layout", "buttons", "Button name → Button.")
    panels = _read_through("layout", "panels", "Panel name → its HTML widget.")
    widget = _read_through("layout", "app", "The app itself, to place in your own layout.")

    @property
    def merchant(self):  # noqa: ANN201 - a WebhookReceiver, or None
        """The loopback merchant (webhooks and return pages), or None without webhooks or on Checkout.com."""
        return self.feed.receiver

    @property
    def step(self) -> str:
        """The stepper's current step, one of :data:`STEPS`."""
        return STEPS[self.layout.steps.index]

    # --- the actions (each button calls one of these) -----------------------------------------

    def create(self, **fields: Any) -> ApiResult:
        """Create a payment setup (the *Create setup* button); return the API's answer.

        Keyword arguments named like the form's fields (``amount``, ``currency``, ``success_url``,
        ``failure_url``, ``description``, ``reference``) are shown in the form; fields not given are
        taken from the form; other API fields (``customer``, ``metadata``...) are sent as given.
        """
        values = self._with_form(fields)
        with self._action(rewindable="create"):
            setup = self.flow.create(**values)
            self.go("readiness")
        return setup

    def check_readiness(self):
        """Fetch the setup again and return its readiness table (the *Check readiness* button)."""
        with self._action():
            frame = self.flow.inspect()
            self.go("readiness")
        return frame

    def update(self, **fields: Any) -> ApiResult:
        """Replace the setup's fields with the form's (the *Update setup* button; a PUT replaces all).

        Keyword arguments are shown in the form first, as in :meth:`create`. Fields the form does
        not show (``customer``, ``settings.excluded_payment_methods``...) are sent back as they are.
        """
        values = self._with_form(fields)
        with self._action(rewindable="update"):
            updated = self.flow.update(**values)
            self.go("readiness")
        return updated

    def confirm(self) -> ApiResult:
        """Confirm the setup with Octopus (the *Confirm with Octopus* button); return the Pending payment.

        Shows the QR code and the redirect targets. After a Declined or Expired payment, confirming
        again creates a new payment.
        """
        with self._action(rewindable="confirm"):
            payment = self.flow.confirm()
            targets = self.flow.redirect_targets()
            self.layout.show_redirect(targets, app_url(self.client, targets.android) if self.can_play_customer else None)
            self.go("redirect")
        return payment

    def redirect_targets(self) -> RedirectTargets:
        """Where to send the customer: desktop landing page (QR), Android URI, iOS URL."""
        return self.flow.redirect_targets()

    def act(self, action: str) -> ApiResult:
        """Play the customer: ``"approve"``, ``"decline"``, ``"expire"`` or ``"fail_capture"`` (the customer step's buttons).

        Sandbox only; on Checkout.com this raises ``NotASandboxError``. Returns the payment after the
        action and moves to the outcome step (its actions fetched too).
        """
        with self._action(rewindable=action):
            payment = self.flow.act(action)
            self.flow.refresh_actions()
            self.go("outcome")
        return payment

    def follow(self) -> bool:
        """Catch up with a payment the customer settled elsewhere (the phone, another cell); True if it moved.

        Called by the event watch as webhooks arrive, so paying on the phone updates the status,
        the diagram and the outcome with no click. Fetches the payment only when an event says it
        left the status shown, and stays on the current step (the desktop page stays in view).
        """
        with self._acting:
            if not self._payment_moved():
                return False
            with self._action():
                self.flow.outcome()
        return True

    def outcome(self) -> ApiResult:
        """Fetch the payment and its actions (the *Refresh status* buttons); return the payment."""
        with self._action():
            payment = self.flow.outcome()
            self.go("outcome")
        return payment

    def refund(self, amount: int | None = None) -> ApiResult:
        """Refund the payment (the *Refund* button); return the API's answer (``action_id``...).

        ``amount`` (minor units, ending in 0) is shown in the refund field; without it, the field's
        amount is refunded, and an empty field refunds everything still available.
        """
        if amount is not None:
            self.layout.refund_amount.value = str(amount)
        else:
            amount = parse_amount(self.layout.refund_amount.value)
        with self._action(rewindable="refund"):
            answer = self.flow.refund(amount)
            self.go("outcome")
        return answer

    def new_payment(self) -> str:
        """Start again with an empty form (the *New payment* button); return the state, ``"start"``.

        The client, its history and the webhook events are kept.
        """
        with self._action():
            self.flow.new_payment()
            self.layout.clear()
            self.go("create")
        return self.state

    def rewind(self) -> str:
        """Go back to just before the last action (the *Rewind* button): the sandbox account and the flow; return the state.

        Needs ``FlowExplorer(..., rewind=True)`` on a sandbox. Webhook events already received stay.

        Raises:
            ValueError: nothing to rewind.
        """
        with self._action():
            step = self.timeline.rewind(self.flow)
            self.go(step)
        return self.state

    def branch(self) -> str:
        """Keep this line's outcome and go back to its branch point (the *Branch* button); return the state, ``"Pending"``.

        The branch point is the moment before the customer's latest choice (approve, decline...)
        that the flow still goes on from: every step since, a refund included, is undone on the
        sandbox account at once, so the next choice is tried on the same Pending payment. The line
        left is kept in :attr:`branches`, and the diagram draws it with its outcome. Needs
        ``FlowExplorer(..., rewind=True)`` on a sandbox.

        >>> explorer.act("approve"); explorer.branch(); explorer.act("decline")  # doctest: +SKIP
        >>> [branch.label for branch in explorer.branches]  # doctest: +SKIP
        ['branch 1: Captured', 'branch 2: Declined (current)']

        Raises:
            NotASandboxError: on Checkout.com.
            ValueError: made without ``rewind=True``, or no customer's choice to branch from.
        """
        with self._action():
            step = self.timeline.branch(self.flow)
            self.go(step)
        return self.state

    @property
    def branches(self) -> list[Branch]:
        """The branches from the current branch point, oldest first, the current line last: :class:`~octopus_nb.ui.timeline.Branch` records."""
        return self.timeline.branches(self.flow)

    def branches_frame(self):
        """:attr:`branches` as a pandas DataFrame: branch, outcome, payment, steps, path, current."""
        import pandas as pd

        rows = [
            {
                "branch": b.number,
                "outcome": b.outcome,
                "payment": b.payment_id,
                "steps": " → ".join(b.steps),
                "path": " → ".join(b.path),
                "current": b.current,
            }
            for b in self.branches
        ]
        return pd.DataFrame(rows, columns=["branch", "outcome", "payment", "steps", "path", "current"])

    def go(self, step: str) -> str:
        """Show one step of the stepper (the step buttons); return it."""
        if step not in STEPS:
            raise ValueError(f"Unknown step {step!r}: use one of {', '.join(STEPS)}.")
        self.layout.steps.index = STEPS.index(step)
        return step

    def wait_for_events(self, count: int, timeout: float = 5.0) -> list[dict]:
        """Wait until at least ``count`` webhook events arrived; redraw the events panel; return them all.

        Delivery order is not guaranteed (CONTRACT.md §5): sort before comparing.

        Raises:
            RuntimeError: webhooks are off or the sandbox refused them (``webhook_note`` says why).
            WaitTimeoutError: fewer than ``count`` after ``timeout`` seconds.
        """
        try:
            return self.feed.wait_for(count, timeout=timeout)
        finally:
            self.render()

    def webhook_chaos(self, duplicate_rate: float = 0.0, reorder: bool = False, forged_rate: float = 0.0) -> dict:
        """Turn webhook chaos on for the explorer's receiver (no arguments: off); return the settings.

        Sandbox rules (:func:`octopus_nb.control.webhook_chaos`): events are repeated
        (``duplicate_rate``), shuffled within an action (``reorder``) and followed by forgeries
        (``forged_rate``). The receiver keeps each real event once and answers forgeries 401; the
        events panel counts what it accepted, dropped and rejected (:meth:`webhook_counts`).

        Raises:
            RuntimeError: webhooks are off or the sandbox refused them (``webhook_note`` says why).
            ValidationError: a rate outside 0..1 (422 ``webhooks_invalid``).
        """
        with self._action():
            settings = self.feed.chaos(duplicate_rate=duplicate_rate, reorder=reorder, forged_rate=forged_rate)
        return settings

    def webhook_counts(self) -> dict[str, int] | None:
        """What the receiver made of the deliveries: deliveries, accepted, duplicates, rejected (None when inactive)."""
        return self.feed.counts()

    def refresh_events(self) -> list[dict]:
        """Flush the sandbox's due deliveries and redraw the events panel (the *Refresh events* button)."""
        with self._action():
            events = self.feed.refresh()
        return events

    # --- for notebooks: the same views the app shows ------------------------------------------

    def form_values(self) -> dict:
        """The form's fields as step-function arguments (empty text → None, i.e. not sent)."""
        return {
            name: parse_amount(widget.value) if name == "amount" else (widget.value.strip() or None) for name, widget in self.fields.items()
        }

    def diagram_svg(self) -> str:
        """The state diagram the app shows, as SVG text."""
        return flow_diagram_svg(self.state, self.path, [branch.line() for branch in self.branches])

    def diagram(self):
        """The state diagram as an ``IPython.display.SVG`` (compared byte for byte by nbval)."""
        from IPython.display import SVG

        return SVG(data=self.diagram_svg())

    def history_frame(self):
        """The client's history, newest first, with :data:`~octopus_nb.history.TRACE_COLUMNS` (what the panel lists)."""
        frame = self.client.history.to_frame()[list(TRACE_COLUMNS)]
        return frame.iloc[::-1].reset_index(drop=True)

    def close(self) -> None:
        """Stop the webhook receiver, and the client's sandbox if the explorer made the client."""
        self.feed.close()
        self.timeline.close()
        if self._owns_client:
            self.client.close()

    # --- drawing ---------------------------------------------------------------------------

    def render(self) -> None:
        """Redraw every panel and enable the buttons that make sense now."""
        flow, t, panels = self.flow, self._templates, self.panels
        panels["header"].value = t.render("header.html", environment=self._environment_text())
        panels["diagram"].value = t.render("diagram.html", svg=self.diagram_svg())
        panels["status"].value = t.render("status.html", flow=flow)
        panels["error"].value = t.error_box(self.last_error)
        panels["readiness"].value = t.render("readiness.html", setup=flow.setup)
        panels["summary"].value = t.render("summary.html", setup=flow.setup)
        panels["customer"].value = t.render("customer.html", can_play_customer=flow.can_play_customer, payment=flow.payment)
        panels["outcome"].value = t.render("outcome.html", payment=flow.payment, actions=flow.actions)
        panels["history"].value = t.history_list(self.client.history)
        self._draw_events()
        self._enable()

    def _deliveries_arrived(self) -> None:
        if self._payment_moved():
            try:
                self.follow()
            except Exception as error:  # noqa: BLE001 - a background redraw has nowhere else to report
                self.show_error(error)
        self._draw_events()

    def _payment_moved(self) -> bool:
        """True when an event received for the current payment settled it at a status not shown yet."""
        payment = self.payment
        if payment is None or payment.get("status") != "Pending":
            return False
        return any(
            event.get("data", {}).get("id") == payment.get("id") and event.get("data", {}).get("status") in TERMINAL_STATUSES
            for event in self.feed.events
        )

    def _example(self) -> dict:
        """The form's first values: the seed page's example, returning to the loopback merchant when there is one."""
        if self.merchant is None:
            return EXAMPLE
        return {**EXAMPLE, "success_url": self.merchant.success_url, "failure_url": self.merchant.failure_url}

    def _draw_events(self) -> None:
        with self._events_lock:
            self.panels["events"].value = self._templates.render(
                "events.html", active=self.feed.active, note=self.feed.note, events=self.feed.events, counts=self.feed.counts()
            )

    def _environment_text(self) -> str:
        env = self.client.environment
        if env == "embedded":
            return "Embedded sandbox on loopback (octopus_nb.connect()): no account, deterministic ids."
        if env == "custom":
            return f"Sandbox server at {self.client.base_url}."
        return f"Checkout.com {env} ({self.client.base_url}): the customer acts in the Octopus App."

    def _enable(self) -> None:
        b, payment = self.buttons, self.payment
        has_setup, status = self.setup is not None, payment.get("status") if payment is not None else None
        b["update"].disabled = b["check"].disabled = b["to_confirm"].disabled = not has_setup
        b["confirm"].disabled = not has_setup or not (status is None or status in RETRYABLE_STATUSES)
        b["to_customer"].disabled = b["refresh_customer"].disabled = b["refresh"].disabled = payment is None
        for name in CUSTOMER_BUTTONS:
            b[name].disabled = status != "Pending" or not self.can_play_customer
        b["refund"].disabled = status not in REFUNDABLE_STATUSES
        b["events"].disabled = not self.feed.active
        b["rewind"].disabled = not self.timeline.can_rewind
        b["branch"].disabled = not self.timeline.can_branch(self.flow)

    def show_field_preview(self) -> None:
        """Preview, next to each field, what the API will say about it (the API stays the authority)."""
        for name, fixes in preview_fields(self.form_values()).items():
            self.layout.messages[name].value = self._templates.field_message(fixes)

    def show_error(self, error: BaseException) -> None:
        """Keep ``error`` as the last error and show it, with its fix, in the error box (a button's failure)."""
        self.last_error = error
        self.panels["error"].value = self._templates.error_box(error)

    # --- running an action -----------------------------------------------------------------

    @contextmanager
    def _action(self, rewindable: str = "") -> Iterator[None]:
        """Run one action: on failure, keep the error (shown with its fix) and re-raise; always redraw.

        ``rewindable``: the action changes the account, so the timeline keeps the moment before it.
        """
        with self._acting:
            if rewindable:
                self.timeline.mark(self.flow, self.step, rewindable)
            try:
                yield
            except Exception as error:
                self.last_error = error
                if rewindable:
                    self.timeline.drop_last()  # a refused action changed nothing
                raise
            else:
                self.last_error = None
            finally:
                self.render()

    def _with_form(self, fields: dict) -> dict:
        """The form's values with ``fields`` over them; the form fields given are shown in the form."""
        for name, value in fields.items():
            if name in self.fields:
                self.fields[name].value = "" if value is None else str(value)
        return {**self.form_values(), **fields}

    # --- display ---------------------------------------------------------------------------

    def picture(self) -> str:
        """The explorer as static HTML: diagram, status, every step's panel, QR code, history (not the live events)."""
        layout, p = self.layout, self.panels
        return self._templates.picture(
            "explorer",
            before=[p["header"].value, p["diagram"].value, p["status"].value, p["error"].value],
            fields=[(layout.fields[name].description, layout.fields[name].value, layout.messages[name].value) for name in FORM_FIELDS],
            qr_png=layout.qr.value if layout.qr.layout.display != "none" else b"",
            after=[p[name].value for name in ("readiness", "summary", "targets", "customer", "outcome", "history")],
            buttons=[button.description for button in self.buttons.values() if not button.disabled],
        )

    def _repr_mimebundle_(self, include=None, exclude=None, **kwargs):  # noqa: ANN001 - IPython's signature
        bundle = self.widget._repr_mimebundle_(**kwargs)
        # The widget's own text/plain lists its children (long, and the same for any VBox): name the state.
        bundle["text/plain"] = repr(self)
        # JupyterLab draws the live app; GitHub, nbviewer and the docs site show this picture instead.
        bundle["text/html"] = self.picture()
        return bundle

    def __repr__(self) -> str:
        text = f"<FlowExplorer {self.client.environment} step={self.step} state={self.state}"
        if self.setup is not None:
            text += f" setup={self.setup.get('id')}"
        if self.payment is not None:
            text += f" payment={self.payment.get('id')}"
        return text + ">"
