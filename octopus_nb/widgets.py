"""ipywidgets forms for the Octopus flow: fields, fixes next to them, buttons, the QR, the history.

Every button calls a public method of the form, and the method does the work through the step
functions (:mod:`octopus_nb.steps`) and lifecycle helpers (:mod:`octopus_nb.lifecycle`); nothing
here builds a URL or sends a request itself. So a notebook can run the same code path without a
browser (``form.submit()``, ``form.confirm()``...), which is what nbval checks.

Methods return their result (the API's answer, or a table) and update the widgets in place; they
never print and never write into an ``Output`` widget, whose captured text nbval cannot compare.
A button whose method raises shows the error's message, with the fix, in the form's status line.

>>> form = PaymentForm(client)  # doctest: +SKIP
>>> form                        # the form, in JupyterLab  # doctest: +SKIP
>>> form.submit()               # what "Create setup" does  # doctest: +SKIP
"""

from __future__ import annotations

import html
from functools import partial
from typing import Any, Callable

import ipywidgets as widgets

from .client import ApiResult, Client
from .errors import CheckoutApiError, OctopusError, fix_for
from ._shared.contract import TERMINAL_STATUSES
from .control import simulate_customer
from .lifecycle import redirect_targets
from .readiness import EXAMPLE_SETUP, FIELD_LABELS, FORM_FIELDS, field_problems, problems_by_field, readiness_frame
from .steps import confirm_payment_setup, create_payment_setup, get_payment_setup, update_payment_setup, writable_fields

#: The seed page's example URLs, used as the form's defaults.
DEFAULT_SUCCESS_URL = EXAMPLE_SETUP["success_url"]
DEFAULT_FAILURE_URL = EXAMPLE_SETUP["failure_url"]
#: History columns the form shows (latency is left out: it differs run to run).
HISTORY_COLUMNS = ["time", "method", "path", "status", "attempts", "error_codes"]

_RED, _GREEN, _GREY = "#b00020", "#2e7d32", "#555555"
_STATUS_COLOURS = {"ready": _GREEN, "action_required": "#e65100", "invalid": _RED, "unavailable": _RED}


def _span(colour: str, text: str) -> str:
    return f'<span style="color:{colour}">{html.escape(text)}</span>'


class PaymentForm(widgets.VBox):
    """A form for one Octopus payment: create the setup, check readiness, confirm, act as customer.

    Each field has a message next to it: a green tick, or in red the fix from
    :data:`octopus_nb.errors.FIXES` (previewed as you type, then what the API said). Buttons call
    :meth:`submit`, :meth:`update`, :meth:`inspect_readiness`, :meth:`confirm` and
    :meth:`act_as_customer`; call them from code to do the same without clicking.

    ``form.setup`` and ``form.payment`` hold the latest answers; ``form.qr`` shows the QR code of
    ``processing.octopus_uri`` once confirmed; ``form.history_table`` the client's history.
    """

    def __init__(
        self,
        client: Client,
        *,
        amount: int = 1000,
        currency: str = "HKD",
        success_url: str | None = DEFAULT_SUCCESS_URL,
        failure_url: str | None = DEFAULT_FAILURE_URL,
        description: str | None = "Octopus payment",
        reference: str | None = None,
    ):
        #: the client every step goes through
        self.client = client
        #: the latest payment setup the API returned (None before :meth:`submit`)
        self.setup: ApiResult | None = None
        #: the latest payment the API returned (None before :meth:`confirm`)
        self.payment: ApiResult | None = None
        style = {"description_width": "11em"}
        layout = widgets.Layout(width="32em")
        #: field name → input widget
        self.fields: dict[str, widgets.ValueWidget] = {
            "amount": widgets.IntText(value=amount, description=FIELD_LABELS["amount"], style=style, layout=layout),
        }
        texts = {"currency": currency, "success_url": success_url, "failure_url": failure_url,
                 "description": description, "reference": reference}
        for name, value in texts.items():
            self.fields[name] = widgets.Text(value=value or "", description=FIELD_LABELS[name], style=style, layout=layout)
        #: field name → the message shown next to it (tick, or the fix in red)
        self.messages = {name: widgets.HTML() for name in FORM_FIELDS}
        #: one status line: the setup's readiness, the payment's status, or the last error
        self.status = widgets.HTML(value=_span(_GREY, "No setup yet: fill in the fields and press Create setup."))
        #: where to send the customer (desktop, Android, iOS), once confirmed
        self.links = widgets.HTML()
        #: the QR code of processing.octopus_uri (PNG), once confirmed
        self.qr = widgets.Image(format="png", width=180, height=180, layout=widgets.Layout(display="none"))
        #: the client's history (selected columns)
        self.history_table = widgets.HTML()

        self.buttons = {
            "create": widgets.Button(description="Create setup", button_style="primary", icon="plus"),
            "update": widgets.Button(description="Update setup", icon="pencil", disabled=True),
            "readiness": widgets.Button(description="Inspect readiness", icon="search", disabled=True),
            "confirm": widgets.Button(description="Confirm with Octopus", button_style="success", disabled=True),
            "approve": widgets.Button(description="Approve (as customer)", disabled=True),
            "decline": widgets.Button(description="Decline (as customer)", disabled=True),
            "expire": widgets.Button(description="Let it expire", disabled=True),
        }
        actions: dict[str, Callable[[], Any]] = {
            "create": self.submit,
            "update": self.update,
            "readiness": self.inspect_readiness,
            "confirm": self.confirm,
            "approve": partial(self.act_as_customer, "approve"),
            "decline": partial(self.act_as_customer, "decline"),
            "expire": partial(self.act_as_customer, "expire"),
        }
        for name, button in self.buttons.items():
            button.on_click(partial(self._clicked, actions[name]))
        for widget in self.fields.values():
            widget.observe(self._field_changed, names="value")

        rows = [widgets.HBox([self.fields[name], self.messages[name]]) for name in FORM_FIELDS]
        b = self.buttons
        super().__init__(
            children=[
                widgets.HTML("<h3>Octopus payment</h3>"),
                *rows,
                widgets.HBox([b["create"], b["update"], b["readiness"], b["confirm"]]),
                self.status,
                widgets.HBox([self.qr, self.links]),
                widgets.HBox([b["approve"], b["decline"], b["expire"]]),
                self.history_table,
            ]
        )
        self.validate()

    # --- what the buttons do -------------------------------------------------------------

    def values(self) -> dict:
        """The form's fields as step-function arguments (empty text → None, i.e. not sent)."""
        values = {name: widget.value for name, widget in self.fields.items()}
        for name, value in values.items():
            if isinstance(value, str):
                values[name] = value.strip() or None
        return values

    def validate(self) -> dict[str, list[str]]:
        """Preview the API's verdict on each field, without a request; show it next to the fields.

        Returns ``{field: [fix, ...]}`` for the fields with a problem (empty when all look fine).
        """
        problems = field_problems(self.values())
        for name, codes in problems.items():
            self._show_field(name, codes)
        return {name: [self._fix(code) for code in codes] for name, codes in problems.items() if codes}

    def submit(self) -> ApiResult:
        """Create a payment setup from the fields (the Create setup button); return the API's answer.

        Raises:
            CheckoutApiError: the API refused the fields (also shown next to them).
        """
        self.validate()
        setup = self._call(lambda: create_payment_setup(self.client, **self.values()))
        self.payment = None
        self._show_setup(setup)
        return setup

    def update(self) -> ApiResult:
        """Replace the setup's fields with the form's (the Update setup button; a PUT replaces all).

        Fields the form does not edit (``settings.excluded_payment_methods``, ``customer``...)
        are sent back as the setup has them, so only what the form shows changes.

        Raises:
            ValueError: no setup yet (press Create setup first).
            CheckoutApiError: the API refused the fields.
        """
        setup = self._require_setup()
        values = self.values()
        settings = dict(setup.get("settings") or {})
        for name in ("success_url", "failure_url"):
            if values.pop(name):
                settings[name] = self.fields[name].value.strip()
            else:
                settings.pop(name, None)
        fields = {**writable_fields(setup), **values, "settings": settings}
        self.validate()
        updated = self._call(lambda: update_payment_setup(self.client, setup["id"], **fields))
        self._show_setup(updated)
        return updated

    def inspect_readiness(self):
        """Fetch the setup again and return its readiness table (the Inspect readiness button).

        Returns the :func:`octopus_nb.readiness.readiness_frame` DataFrame: status, flags, meanings, fixes.
        """
        setup = self._call(lambda: get_payment_setup(self.client, self._require_setup()["id"]))
        self._show_setup(setup)
        return readiness_frame(setup)

    def confirm(self) -> ApiResult:
        """Confirm the setup with Octopus (the Confirm button); return the Pending payment.

        Shows the QR code of ``processing.octopus_uri`` and the redirect targets.

        Raises:
            ValueError: no setup yet.
            CheckoutApiError: e.g. 422 when the setup is not ready (its flags are shown by the fields).
        """
        setup_id = self._require_setup()["id"]
        payment = self._call(lambda: confirm_payment_setup(self.client, setup_id))
        self._show_payment(payment)
        return payment

    def act_as_customer(self, action: str = "approve") -> ApiResult:
        """Play the customer: ``"approve"``, ``"decline"`` or ``"expire"`` (sandbox only).

        Calls :func:`octopus_nb.control.simulate_customer` and returns the payment after it.

        Raises:
            ValueError: nothing confirmed yet, or an unknown action.
            NotASandboxError: the client talks to Checkout.com, where the customer uses the app.
            ConflictError: the payment is no longer Pending.
        """
        if self.payment is None:
            raise ValueError("No payment yet: confirm the setup first (form.confirm()).")
        payment = self._call(lambda: simulate_customer(self.client, self.payment["id"], action))
        self._show_payment(payment)
        return payment

    def history_frame(self):
        """The client's history as a DataFrame with :data:`HISTORY_COLUMNS` (what the form shows)."""
        return self.client.history.to_frame()[HISTORY_COLUMNS]

    def refresh_history(self):
        """Redraw the history table from ``client.history``; return the frame shown."""
        frame = self.history_frame()
        self.history_table.value = frame.to_html(index=False, border=0, na_rep="")
        return frame

    # --- showing results ---------------------------------------------------------------------

    def _call(self, operation: Callable[[], ApiResult]) -> ApiResult:
        """Run one step; on an API error, show its codes by the fields and in the status, and re-raise."""
        try:
            return operation()
        except CheckoutApiError as error:
            grouped = problems_by_field(error.error_codes)
            for name, codes in grouped.items():
                if name is not None:
                    self._show_field(name, codes)
            self.status.value = _span(_RED, str(error))
            raise
        finally:
            self.refresh_history()

    def _show_field(self, name: str, codes: list[str]) -> None:
        if codes:
            self.messages[name].value = _span(_RED, "✗ " + " ".join(self._fix(code) for code in codes))
        else:
            self.messages[name].value = _span(_GREEN, "✓")

    def _fix(self, code: str) -> str:
        return fix_for(code, {"amount": self.fields["amount"].value}) or code

    def _show_setup(self, setup: ApiResult) -> None:
        self.setup = setup
        octopus = (setup.get("payment_methods") or {}).get("octopus") or {}
        status, flags = octopus.get("status", "unknown"), list(octopus.get("flags") or [])
        grouped = problems_by_field(flags)
        for name in FORM_FIELDS:
            if name in grouped:
                self._show_field(name, grouped[name])
        line = f"Setup {setup.get('id')}: octopus is {status}"
        if flags:
            line += " — " + " ".join(fix_for(flag, setup) or flag for flag in flags)
        self.status.value = _span(_STATUS_COLOURS.get(status, _GREY), line)
        ready = status == "ready"
        self.buttons["update"].disabled = self.buttons["readiness"].disabled = False
        self.buttons["confirm"].disabled = not ready
        self._enable_customer(False)

    def _show_payment(self, payment: ApiResult) -> None:
        from .qr import qr_code

        self.payment = payment
        targets = redirect_targets(payment)
        self.qr.value = qr_code(targets.android).png
        self.qr.layout.display = None
        rows = (("Desktop", targets.desktop), ("Android", targets.android), ("iOS", targets.ios))
        self.links.value = "<table>" + "".join(
            f"<tr><th>{device}</th><td><code>{html.escape(url)}</code></td></tr>" for device, url in rows
        ) + "</table>"
        status = payment.get("status", "unknown")
        colour = _GREEN if status == "Captured" else _RED if status in TERMINAL_STATUSES else _GREY
        self.status.value = _span(colour, f"Payment {payment.get('id')}: {status}")
        self.buttons["confirm"].disabled = status == "Pending"
        self._enable_customer(status == "Pending")

    def _enable_customer(self, enabled: bool) -> None:
        for name in ("approve", "decline", "expire"):
            self.buttons[name].disabled = not enabled

    def _require_setup(self) -> ApiResult:
        if self.setup is None:
            raise ValueError("No payment setup yet: create one first (form.submit()).")
        return self.setup

    # --- events ---------------------------------------------------------------------------

    def _field_changed(self, change: dict) -> None:
        self.validate()

    def _clicked(self, action: Callable[[], Any], button: widgets.Button) -> None:
        # A callback's exception would only reach the browser console: show it in the form instead.
        try:
            action()
        except (OctopusError, ValueError) as error:
            self.status.value = _span(_RED, str(error))

    def __repr__(self) -> str:
        # Short (a widget's text/plain is cut at 110 characters) and free of ports and latencies.
        if self.setup is None:
            return "<PaymentForm: no setup yet>"
        octopus = (self.setup.get("payment_methods") or {}).get("octopus") or {}
        text = f"<PaymentForm {self.setup.get('id')} octopus={octopus.get('status')}"
        if self.payment is not None:
            text += f" {self.payment.get('id')} {self.payment.get('status')}"
        return text + ">"
