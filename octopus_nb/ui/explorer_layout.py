"""The flow explorer's widgets: fields, buttons, panels and the stepper's pages, and what each button calls.

Layout only: :class:`ExplorerLayout` builds the widget tree once and binds each button to a public
method of the :class:`~octopus_nb.ui.explorer.FlowExplorer`. Every element carries a CSS class
(``octopus-explorer-…``), which the stylesheet and the browser test both rely on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .._shared.contract import CUSTOMER_ACTIONS
from ..lifecycle import RedirectTargets
from ..readiness import EXAMPLE_SETUP, FIELD_LABELS, FORM_FIELDS
from .render import Templates

if TYPE_CHECKING:
    from .explorer import FlowExplorer

#: The stepper's steps, in order (``explorer.step`` is one of them).
STEPS = ("create", "readiness", "confirm", "redirect", "customer", "outcome")
STEP_LABELS = ("1 Create", "2 Readiness", "3 Confirm", "4 Redirect", "5 Customer", "6 Outcome")
#: What an empty field suggests.
PLACEHOLDERS = {
    "amount": "1000 (= HK$10.00; must end in 0)",
    "currency": "HKD",
    "success_url": EXAMPLE_SETUP["success_url"],
    "failure_url": EXAMPLE_SETUP["failure_url"],
    "description": "Octopus payment (optional)",
    "reference": "ORD-5023-4E89 (optional)",
}
#: Panel name → the CSS class of its HTML widget (``octopus-explorer-…``).
PANELS = ("header", "status", "diagram", "error", "readiness", "summary", "targets", "journey", "customer", "outcome", "history", "events")
_PANEL_CLASSES = {"customer": "customer-note"}
#: Button name → (label, CSS class suffix, button style, icon).
BUTTONS = {
    "create": ("Create setup", "create", "primary", "plus"),
    "update": ("Update setup", "update", "", "pencil"),
    "check": ("Check readiness", "check", "", "search"),
    "to_confirm": ("Next: confirm →", "next-confirm", "", ""),
    "confirm": ("Confirm with Octopus", "confirm", "success", "check"),
    "to_customer": ("Next: customer →", "next-customer", "", ""),
    "approve": ("Approve", "approve", "success", ""),
    "decline": ("Decline", "decline", "danger", ""),
    "expire": ("Let it expire", "expire", "warning", ""),
    "fail_capture": ("Approve, capture fails", "fail-capture", "danger", ""),
    "refresh_customer": ("Refresh status", "refresh-status", "", "refresh"),
    "refund": ("Refund", "refund", "warning", "undo"),
    "refresh": ("Refresh status", "refresh", "", "refresh"),
    "new": ("New payment", "new", "info", "plus"),
    "events": ("Refresh events", "refresh-events", "", "refresh"),
    "rewind": ("Rewind", "rewind", "", "history"),
    "branch": ("Branch", "branch", "", "code-fork"),
}
#: The customer's choices (:data:`~octopus_nb._shared.contract.CUSTOMER_ACTIONS`) that have a button here;
#: any other works from code (``explorer.act(action)``).
CUSTOMER_BUTTONS = tuple(action for action in CUSTOMER_ACTIONS if action in BUTTONS)


def _css(name: str) -> str:
    return "octopus-explorer-" + name.replace("_", "-")


def _html(css: str, value: str = "") -> widgets.HTML:
    box = widgets.HTML(value=value)
    box.add_class(css)
    return box


class ExplorerLayout:
    """The explorer's widget tree; ``app`` is the root."""

    def __init__(self, explorer: FlowExplorer, templates: Templates, initial: dict[str, str]):
        self._explorer = explorer
        self._templates = templates
        style = {"description_width": "11em"}
        #: form field name → its Text widget (shared by the create and readiness steps)
        self.fields: dict[str, widgets.Text] = {}
        #: form field name → the message beside it (a tick, or the fix)
        self.messages: dict[str, widgets.HTML] = {}
        for name in FORM_FIELDS:
            field = widgets.Text(
                value=initial[name],
                description=FIELD_LABELS[name],
                placeholder=PLACEHOLDERS[name],
                style=style,
                layout=widgets.Layout(width="36em"),
            )
            field.add_class(_css(f"field-{name}"))
            field.observe(self._field_changed, names="value")
            self.fields[name] = field
            self.messages[name] = _html(_css(f"message-{name}"))
        self.refund_amount = widgets.Text(
            description="Refund amount", placeholder="empty: everything available", style=style, layout=widgets.Layout(width="30em")
        )
        self.refund_amount.add_class(_css("refund-amount"))
        self.buttons: dict[str, widgets.Button] = {}
        bindings = self._bindings()
        for name, (label, css, button_style, icon) in BUTTONS.items():
            button = widgets.Button(description=label, button_style=button_style, icon=icon, layout=widgets.Layout(width="auto"))
            button.add_class(_css(css))
            button.on_click(partial(self._clicked, bindings[name]))
            self.buttons[name] = button
        #: panel name → its HTML widget, drawn from ``templates/<name>.html``
        self.panels = {name: _html(_css(_PANEL_CLASSES.get(name, name))) for name in PANELS}
        self.qr = widgets.Image(format="png", width=200, height=200, layout=widgets.Layout(display="none"))
        self.qr.add_class(_css("qr"))
        self.pages = widgets.Stack(children=self._pages(templates), selected_index=0)
        self.steps = widgets.ToggleButtons(options=list(STEP_LABELS), index=0, style={"button_width": "8.5em"})
        self.steps.add_class(_css("steps"))
        self.steps.observe(self._step_changed, names="index")
        p, b = self.panels, self.buttons
        lists = widgets.HBox(
            [
                widgets.VBox(
                    [widgets.HTML("<b>Requests and responses</b> (newest first; click a row)"), p["history"]],
                    layout=widgets.Layout(flex="3 1 0%", min_width="0"),
                ),
                widgets.VBox(
                    [widgets.HTML("<b>Webhook events</b> (newest first)"), p["events"], b["events"]],
                    layout=widgets.Layout(flex="2 1 0%", min_width="0"),
                ),
            ],
            layout=widgets.Layout(width="100%", align_items="flex-start", grid_gap="12px"),
        )
        #: the app: the stylesheet once, then header, diagram, status, stepper, error box, pages, lists
        # Rewind and Branch sit beside the stepper when the explorer keeps a timeline (rewind=True, on a sandbox).
        stepper = widgets.HBox([self.steps, b["rewind"], b["branch"]]) if explorer.timeline.enabled else self.steps
        self.app = widgets.VBox(
            [widgets.HTML(templates.style()), p["header"], p["diagram"], p["status"], stepper, p["error"], self.pages, lists]
        )
        self.app.add_class("octopus-explorer")
        self.app.add_class("octopus-ui")

    def show_redirect(self, targets: RedirectTargets, phone_url: str | None = None) -> None:
        """Show the QR code of the Android URI, the redirect table and, on a sandbox, the two devices.

        ``phone_url`` is the simulated Octopus App's page for this payment: with it, the desktop
        page and the phone are shown side by side, live (the desktop follows what the phone does).
        """
        from ..qr import qr_code

        self.qr.value = qr_code(targets.android).png
        self.qr.layout.display = None
        self.panels["targets"].value = self._templates.redirect_table(targets)
        self.panels["journey"].value = self._templates.render("journey.html", desktop=targets.desktop, phone=phone_url) if phone_url else ""

    def clear(self) -> None:
        """Empty the form, the refund field, the QR code and the redirect table."""
        for widget in self.fields.values():
            widget.value = ""
        self.refund_amount.value = ""
        self.qr.value = b""
        self.qr.layout.display = "none"
        self.panels["targets"].value = self.panels["journey"].value = ""

    def _bindings(self) -> dict[str, Callable[[], Any]]:
        e = self._explorer
        return {
            "create": e.create,
            "update": e.update,
            "check": e.check_readiness,
            "to_confirm": partial(e.go, "confirm"),
            "confirm": e.confirm,
            "to_customer": partial(e.go, "customer"),
            **{action: partial(e.act, action) for action in CUSTOMER_BUTTONS},
            "refresh_customer": e.outcome,
            "refund": e.refund,
            "refresh": e.outcome,
            "new": e.new_payment,
            "events": e.refresh_events,
            "rewind": e.rewind,
            "branch": e.branch,
        }

    def _pages(self, templates: Templates) -> list[widgets.VBox]:
        p, b = self.panels, self.buttons
        rows = [widgets.HBox([self.fields[name], self.messages[name]]) for name in FORM_FIELDS]
        pages = [
            [*rows, widgets.HBox([b["create"]])],
            [p["readiness"], *rows, widgets.HBox([b["update"], b["check"], b["to_confirm"]])],
            [p["summary"], widgets.HBox([b["confirm"]])],
            [widgets.HBox([self.qr, p["targets"]]), p["journey"], widgets.HBox([b["to_customer"]])],
            [p["customer"], widgets.HBox([*(b[action] for action in CUSTOMER_BUTTONS), b["refresh_customer"]])],
            [p["outcome"], widgets.HBox([self.refund_amount, b["refund"]]), widgets.HBox([b["refresh"], b["new"]])],
        ]
        boxes = []
        for step, children in zip(STEPS, pages):
            box = widgets.VBox([widgets.HTML(templates.render("intro.html", step=step)), *children])
            box.add_class(_css(f"page-{step}"))
            boxes.append(box)
        return boxes

    # --- events ----------------------------------------------------------------------------

    def _step_changed(self, change: dict) -> None:
        self.pages.selected_index = change["new"]

    def _field_changed(self, change: dict | None) -> None:
        self._explorer.show_field_preview()

    def _clicked(self, action: Callable[[], Any], button: widgets.Button) -> None:
        # A callback's exception would reach only the browser console: show it in the error box.
        try:
            action()
        except Exception as error:  # noqa: BLE001 - every failure belongs in the error box
            self._explorer.show_error(error)
