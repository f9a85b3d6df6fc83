"""The views' HTML: autoescaped templates (``ui/templates/*.html``), their one stylesheet, and the tones.

Every panel is a tornado template, so every value is escaped (``xhtml_escape``) unless a template
says ``{% raw %}`` (only the diagram's SVG, which :mod:`octopus_nb.ui.diagram` builds escaped).
Colours live in ``templates/octopus.css`` as classes (``octopus-tone-good``...); code picks a tone.

>>> Templates().render("status_line.html", tone="good", text="ready")  # doctest: +SKIP
"<span class='octopus-tone-good'>ready</span>"
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import FIXES, CheckoutApiError, fix_for
from ..lifecycle import DEVICES, RedirectTargets
from ..readiness import FLAG_MEANINGS, STATUS_MEANINGS
from .flow import octopus_readiness

#: The templates' folder (shipped as package data).
TEMPLATE_DIR = Path(__file__).with_name("templates")
#: The one stylesheet, included once in each view.
STYLESHEET = "octopus.css"
#: How many exchanges a view lists (newest first); the rest stay in ``client.history``.
HISTORY_ROWS = 50
#: Readiness status → tone (a class ``octopus-tone-…``); other statuses are "muted".
READINESS_TONES = {"ready": "good", "action_required": "warn", "invalid": "bad", "unavailable": "bad"}
#: Payment status → tone; other statuses (Pending) are "muted".
PAYMENT_TONES = {
    "Captured": "good",
    "Declined": "bad",
    "Expired": "bad",
    "Partially Refunded": "warn",
    "Refunded": "muted",
    "Canceled": "bad",
}


def readiness_tone(status: str | None) -> str:
    return READINESS_TONES.get(status or "", "muted")


def payment_tone(status: str | None) -> str:
    return PAYMENT_TONES.get(status or "", "muted")


def pretty(document: Any) -> str:
    """A JSON document indented for a ``<pre>`` (escaped by the template)."""
    return json.dumps(document, indent=2, ensure_ascii=False, default=str)


#: What every template may call, besides its own values.
HELPERS = {
    "readiness_tone": readiness_tone,
    "payment_tone": payment_tone,
    "pretty": pretty,
    "fix_for": fix_for,
    "FIXES": FIXES,
    "flag_meanings": FLAG_MEANINGS,
    "status_meanings": STATUS_MEANINGS,
    "octopus_readiness": octopus_readiness,
}


class Templates:
    """One view's template loader (tornado's, which autoescapes); each view owns one, no module state."""

    def __init__(self, directory: Path = TEMPLATE_DIR):
        import tornado.template

        self._loader = tornado.template.Loader(str(directory))
        self._directory = directory

    def render(self, name: str, **values: Any) -> str:
        """``templates/name`` filled with ``values`` (and :data:`HELPERS`), as text."""
        return self._loader.load(name).generate(**HELPERS, **values).decode("utf-8").strip()

    def style(self) -> str:
        """The stylesheet as a ``<style>`` block, for one ``HTML`` widget per view."""
        return "<style>\n" + (self._directory / STYLESHEET).read_text(encoding="utf-8") + "</style>"

    def status_line(self, tone: str, text: str) -> str:
        """One line of text in a tone (the form's status, a field's message)."""
        return self.render("status_line.html", tone=tone, text=text)

    def field_message(self, fixes: list[str]) -> str:
        """A tick, or the fixes in red: the message beside a form field."""
        return self.render("field_message.html", fixes=fixes)

    def redirect_table(self, targets: RedirectTargets) -> str:
        """Where to send the customer, one row per device (:data:`octopus_nb.lifecycle.DEVICES`)."""
        rows = [(name, *row) for (name, _, _), row in zip(DEVICES, targets.rows())]
        return self.render("targets.html", targets=targets, rows=rows)

    def history_list(self, history: Iterable, limit: int = HISTORY_ROWS) -> str:
        """The client's exchanges, newest first, each folded with both bodies (at most ``limit``)."""
        exchanges = list(history)
        shown = list(enumerate(exchanges, start=1))[::-1][:limit]
        return self.render("history.html", rows=shown, older=len(exchanges) - len(shown))

    def error_box(self, error: BaseException | None) -> str:
        """The error box: status, codes and the fix for each code (an API refusal), or the message; "" for None."""
        if error is None:
            return ""
        head, codes, request_id = type(error).__name__, [], None
        if isinstance(error, CheckoutApiError):
            head = f"{error.status} {error.error_type or 'error'}"
            if error.method:
                head += f" on {error.method} {error.path}"
            codes = [(code, fix_for(code) or FIXES.get(code, "")) for code in error.error_codes]
            request_id = error.request_id
        return self.render("error.html", error=error, head=head, codes=codes, request_id=request_id)

    def picture(
        self,
        view: str,
        *,
        before: list[str],
        fields: list[tuple[str, str, str]] = (),
        qr_png: bytes = b"",
        after: list[str] = (),
        buttons: list[str] = (),
    ) -> str:
        """A static HTML picture of a view: what GitHub and nbviewer show where widgets can't run.

        ``before``/``after`` are panels already rendered from templates (kept as they are); ``fields`` are
        (label, value, message) rows. Deterministic for a deterministic state, so nbval compares it.
        """
        return self.render(
            "picture.html",
            style=self.style(),
            view=view,
            before=[part for part in before if part],
            fields=list(fields),
            qr_png=base64.b64encode(qr_png).decode("ascii") if qr_png else "",
            after=[part for part in after if part],
            buttons=list(buttons),
        )
