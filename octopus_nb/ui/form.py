"""``PaymentForm``: an ipywidgets form over a :class:`~octopus_nb.ui.flow.Flow`, layout and bindings only.

Every button calls a public method of the form, which reads the fields, calls the flow and draws
the answer; the flow does the steps. So a notebook runs the same code path without a browser
(``form.submit()``, ``form.confirm()``...), which is what nbval checks.

Methods return their result (the API's answer, or a table) and update the widgets in place; they
never print and never write into an ``Output`` widget, whose captured text nbval cannot compare.
A button whose method raises shows the error's message, with the fix, in the form's status line.

>>> form = PaymentForm(client)  # doctest: +SKIP
>>> form                        # the form, in JupyterLab  # doctest: +SKIP
>>> form.submit()               # what "Create setup" does  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import ipywidgets as widgets

from .._shared.contract import CUSTOMER_ACTIONS
from ..client import ApiResult, Client
from ..errors import CheckoutApiError, OctopusError, fix_for
from ..history import SUMMARY_COLUMNS
from ..readiness import EXAMPLE_SETUP, FIELD_LABELS, FORM_FIELDS, problems_by_field
from .flow import Flow, field_fixes, octopus_readiness, preview_fields
from .render import Templates, payment_tone, readiness_tone

#: The customer's choices (:data:`~octopus_nb._shared.contract.CUSTOMER_ACTIONS`) the form has a button for.
CUSTOMER_BUTTONS = CUSTOMER_ACTIONS


class PaymentForm(widgets.VBox):
    """A form for one Octopus payment: create the setup, check readiness, confirm, act as customer.

    Each field has a message next to it: a green tick, or in red the fix from
    :data:`octopus_nb.errors.FIXES` (previewed as you type, then what the API said). Buttons call
    :meth:`submit`, :meth:`update`, :meth:`inspect_readiness`, :meth:`confirm` and
    :meth:`act_as_customer`; call them from code to do the same without clicking.

    ``form.flow`` holds the flow (``form.setup`` and ``form.payment`` are its latest answers);
    ``form.qr`` shows the QR code of ``processing.octopus_uri`` once confirmed;
    ``form.history_table`` the client's history.
    """

    def __init__(
        self,
        client: Client,
        *,
        amount: int = EXAMPLE_SETUP["amount"],
        currency: str = EXAMPLE_SETUP["currency"],
        success_url: str | None = EXAMPLE_SETUP["success_url"],
        failure_url: str | None = EXAMPLE_SETUP["failure_url"],
        description: str | None = EXAMPLE_SETUP["description"],
        reference: str | None = None,
    ):
        #: the flow this form drives (setup, payment, path)
        self.flow = Flow(client)
        self._templates = Templates()
        style = {"description_width": "11em"}
        layout = widgets.Layout(width="32em")
        #: field name → input widget
        self.fields: dict[str, widgets.ValueWidget] = {
            "amount": widgets.IntText(value=amount, description=FIELD_LABELS["amount"], style=style, layout=layout),
        }
        texts = {
            "currency": currency,
            "success_url": success_url,
            "failure_url": failure_url,
            "description": description,
            "reference": reference,
        }
        for name, value in texts.items():
            self.fields[name] = widgets.Text(value=value or "", description=FIELD_LABELS[name], style=style, layout=layout)
        #: field name → the message shown next to it (tick, or the fix in red)
        self.messages = {name: widgets.HTML() for name in FORM_FIELDS}
        #: one status line: the setup's readiness, the payment's status, or the last error
        waiting = "No setup yet: fill in the fields and press Create setup."
        self.status = widgets.HTML(self._templates.status_line("muted", waiting))
        #: where to send the customer (desktop, Android, iOS), once confirmed
        self.links = widgets.HTML()
        #: the QR code of processing.octopus_uri (PNG), once confirmed
        self.qr = widgets.Image(format="png", width=180, height=180, layout=widgets.Layout(display="none"))
        #: the client's history (:data:`octopus_nb.history.SUMMARY_COLUMNS`)
        self.history_table = widgets.HTML()

        self.buttons = {
            "create": widgets.Button(description="Create setup", button_style="primary", icon="plus"),
            "update": widgets.Button(description="Update setup", icon="pencil", disabled=True),
            "readiness": widgets.Button(description="Inspect readiness", icon="search", disabled=True),
            "confirm": widgets.Button(description="Confirm with Octopus", button_style="success", disabled=True),
            "approve": widgets.Button(description="Approve (as customer)", disabled=True),
            "decline": widgets.Button(description="Decline (as customer)", disabled=True),
            "expire": widgets.Button(description="Let it expire", disabled=True),
            "fail_capture": widgets.Button(description="Approve, capture fails", disabled=True),
        }
        actions: dict[str, Callable[[], Any]] = {
            "create": self.submit,
            "update": self.update,
            "readiness": self.inspect_readiness,
            "confirm": self.confirm,
            **{action: partial(self.act_as_customer, action) for action in CUSTOMER_BUTTONS},
        }
        for name, button in self.buttons.items():
            button.on_click(partial(self._clicked, actions[name]))
        for widget in self.fields.values():
            widget.observe(self._field_changed, names="value")

        rows = [widgets.HBox([self.fields[name], self.messages[name]]) for name in FORM_FIELDS]
        b = self.buttons
        super().__init__(
            children=[
                widgets.HTML(self._templates.style()),
                widgets.HTML("<h3>Octopus payment</h3>"),
                *rows,
                widgets.HBox([b["create"], b["update"], b["readiness"], b["confirm"]]),
                self.status,
                widgets.HBox([self.qr, self.links]),
                widgets.HBox([b[action] for action in CUSTOMER_BUTTONS]),
                self.history_table,
            ]
        )
        self.add_class("octopus-ui")
        self.validate()

    @property
    def client(self) -> Client:
        """The client every step goes through."""
        return self.flow.client

    @property
    def setup(self) -> ApiResult | None:
        """The latest payment setup the API returned (None before :meth:`submit`)."""
        return self.flow.setup

    @property
    def payment(self) -> ApiResult | None:
        """The latest payment the API returned (None before :meth:`confirm`)."""
        return self.flow.payment

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
        preview = preview_fields(self.values())
        for name, fixes in preview.items():
            self.messages[name].value = self._templates.field_message(fixes)
        return {name: fixes for name, fixes in preview.items() if fixes}

    def submit(self) -> ApiResult:
        """Create a payment setup from the fields (the Create setup button); return the API's answer.

        Raises:
            CheckoutApiError: the API refused the fields (also shown next to them).
        """
        self.validate()
        setup = self._call(lambda: self.flow.create(**self.values()))
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
        self.flow.require_setup()
        values = self.values()
        self.validate()
        updated = self._call(lambda: self.flow.update(**values))
        self._show_setup(updated)
        return updated

    def inspect_readiness(self):
        """Fetch the setup again and return its readiness table (the Inspect readiness button).

        Returns the :func:`octopus_nb.readiness.readiness_frame` DataFrame: status, flags, meanings, fixes.
        """
        frame = self._call(self.flow.inspect)
        self._show_setup(self.flow.setup)
        return frame

    def confirm(self) -> ApiResult:
        """Confirm the setup with Octopus (the Confirm button); return the Pending payment.

        Shows the QR code of ``processing.octopus_uri`` and the redirect targets.

        Raises:
            ValueError: no setup yet.
            CheckoutApiError: e.g. 422 when the setup is not ready (its flags are shown by the fields).
        """
        self.flow.require_setup()
        payment = self._call(self.flow.confirm)
        self._show_payment(payment)
        return payment

    def act_as_customer(self, action: str = "approve") -> ApiResult:
        """Play the customer: ``"approve"``, ``"decline"``, ``"expire"`` or ``"fail_capture"`` (sandbox only).

        Calls :func:`octopus_nb.control.simulate_customer` and returns the payment after it.

        Raises:
            ValueError: nothing confirmed yet, or an unknown action.
            NotASandboxError: the client talks to Checkout.com, where the customer uses the app.
            ConflictError: the payment is no longer Pending.
        """
        self.flow.require_payment()
        payment = self._call(lambda: self.flow.act(action))
        self._show_payment(payment)
        return payment

    def history_frame(self):
        """The client's history with :data:`~octopus_nb.history.SUMMARY_COLUMNS`: what the form shows."""
        return self.client.history.to_frame()[list(SUMMARY_COLUMNS)]

    def refresh_history(self):
        """Redraw the history list from ``client.history`` (newest first, bodies folded); return the summary frame."""
        self.history_table.value = self._templates.history_list(self.client.history)
        return self.history_frame()

    # --- showing results ---------------------------------------------------------------------

    def _call(self, operation: Callable[[], Any]) -> Any:
        """Run one step; on an API error, show its codes by the fields and in the status, and re-raise."""
        try:
            return operation()
        except CheckoutApiError as error:
            for name, codes in problems_by_field(error.error_codes).items():
                if name is not None:
                    self._show_field(name, codes)
            self.status.value = self._templates.status_line("bad", str(error))
            raise
        finally:
            self.refresh_history()

    def _show_field(self, name: str, codes: list[str]) -> None:
        self.messages[name].value = self._templates.field_message(field_fixes(codes, self.fields["amount"].value))

    def _show_setup(self, setup: ApiResult) -> None:
        octopus = octopus_readiness(setup)
        status, flags = octopus.get("status", "unknown"), list(octopus.get("flags") or [])
        grouped = problems_by_field(flags)
        for name in FORM_FIELDS:
            if name in grouped:
                self._show_field(name, grouped[name])
        line = f"Setup {setup.get('id')}: octopus is {status}"
        if flags:
            line += " — " + " ".join(fix_for(flag, setup) or flag for flag in flags)
        self.status.value = self._templates.status_line(readiness_tone(status), line)
        self.buttons["update"].disabled = self.buttons["readiness"].disabled = False
        self.buttons["confirm"].disabled = status != "ready"
        self._enable_customer(False)

    def _show_payment(self, payment: ApiResult) -> None:
        from ..qr import qr_code

        targets = self.flow.redirect_targets()
        self.qr.value = qr_code(targets.android).png
        self.qr.layout.display = None
        self.links.value = self._templates.redirect_table(targets)
        status = payment.get("status", "unknown")
        self.status.value = self._templates.status_line(payment_tone(status), f"Payment {payment.get('id')}: {status}")
        self.buttons["confirm"].disabled = status == "Pending"
        self._enable_customer(status == "Pending")

    def _enable_customer(self, enabled: bool) -> None:
        for action in CUSTOMER_BUTTONS:
            self.buttons[action].disabled = not enabled

    # --- events ---------------------------------------------------------------------------

    def _field_changed(self, change: dict) -> None:
        self.validate()

    def _clicked(self, action: Callable[[], Any], button: widgets.Button) -> None:
        # A callback's exception would only reach the browser console: show it in the form instead.
        try:
            action()
        except (OctopusError, ValueError) as error:
            self.status.value = self._templates.status_line("bad", str(error))

    def picture(self) -> str:
        """The form as static HTML (fields and messages, status, QR code, targets, history): see :meth:`_repr_mimebundle_`."""
        enabled = [button.description for button in self.buttons.values() if not button.disabled]
        return self._templates.picture(
            "form",
            fields=[(self.fields[name].description, self.fields[name].value, self.messages[name].value) for name in FORM_FIELDS],
            before=[self.status.value],
            qr_png=self.qr.value if self.qr.layout.display != "none" else b"",
            after=[self.links.value, self.history_table.value],
            buttons=enabled,
        )

    def _repr_mimebundle_(self, **kwargs: Any) -> dict:
        # JupyterLab draws the live widget; where widgets can't run (GitHub, nbviewer, a docs site)
        # the static picture shows the form as it stood when the cell ran.
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/html"] = self.picture()
        return bundle

    def __repr__(self) -> str:
        # Short (a widget's text/plain is cut at 110 characters) and free of ports and latencies.
        if self.setup is None:
            return "<PaymentForm: no setup yet>"
        text = f"<PaymentForm {self.setup.get('id')} octopus={octopus_readiness(self.setup).get('status')}"
        if self.payment is not None:
            text += f" {self.payment.get('id')} {self.payment.get('status')}"
        return text + ">"
