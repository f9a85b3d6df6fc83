"""The landing page behind ``processing.landing_url``: the customer's browser (contract §4, §6).

It shows the QR code of ``octopus_uri`` and lets a person approve or decline, from autoescaped
templates (``templates/``) with one stylesheet, and needs nothing from the network.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import urlencode

from .._shared.qrimage import qr_png
from .exceptions import SandboxError
from .handlers import STATUS_FOR, ApiHandler

HTML_CONTENT_TYPE = "text/html; charset=utf-8"
#: The stylesheet is inlined and the QR code is a data: image, so the page needs nothing from the network.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'",
    "Referrer-Policy": "no-referrer",  # the URL holds the one-time token
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
#: model error code → (page title, what the customer reads)
_PROBLEMS = {
    "token_not_found": ("Payment not found", "This payment link is not valid. Ask the merchant for a new one."),
    "token_used": ("Link already used", "This payment link has already been used; each link works once."),
    "payment_expired": ("Payment expired", "This payment request expired before it was approved. Ask the merchant to try again."),
    "payment_not_pending": ("Payment closed", "This payment is no longer waiting for the customer."),
    "action_invalid": ("Unknown action", "The only actions are approve and decline."),
}


def format_amount(amount: int, currency: str) -> str:
    """Minor units as the customer reads them: 1000 HKD → ``HK$10.00``."""
    units = f"{amount // 100:,}.{amount % 100:02d}"
    return f"HK${units}" if currency == "HKD" else f"{currency} {units}"


class LandingPageHandler(ApiHandler):
    """The page behind ``processing.landing_url``: the QR code, and Approve / Decline for a person.

    It is the customer's browser, so it needs no API key; the one-time ``token`` is the credential.
    Every outcome is a small HTML page from ``templates/`` (autoescaped), or a 303; never JSON and
    never a traceback.
    """

    requires_key = False
    is_api_route = False

    def get(self) -> None:
        token = self.get_argument("token", "")
        try:
            page = self.state.landing_page(token)
        except SandboxError as error:
            return self.send_problem(error)
        self.send_page(
            200,
            "landing.html",
            title="Pay with Octopus",
            reference=page["reference"] or "—",
            amount=format_amount(page["amount"], page["currency"]),
            payment_status=page["status"],
            expires_on=page["expires_on"],
            octopus_uri=page["octopus_uri"],
            qr_base64=base64.b64encode(qr_png(page["octopus_uri"])).decode("ascii"),
            approve="?" + urlencode({"token": token, "action": "approve"}),
            decline="?" + urlencode({"token": token, "action": "decline"}),
        )

    def post(self) -> None:
        try:
            outcome = self.state.act_on_token(self.get_argument("token", ""), self.get_argument("action", ""))
        except SandboxError as error:
            return self.send_problem(error)
        self.redirect(outcome["redirect_url"], status=303)

    def send_problem(self, error: SandboxError) -> None:
        code = error.error_codes[0] if error.error_codes else "token_not_found"
        title, text = _PROBLEMS.get(code, ("Payment not available", "This payment link cannot be used."))
        self.send_page(STATUS_FOR[type(error)], "problem.html", title=title, text=text)

    def send_page(self, status: int, template: str, **values: Any) -> None:
        self.set_status(status)
        for name, value in _PAGE_HEADERS.items():
            self.set_header(name, value)
        self.set_header("Content-Type", HTML_CONTENT_TYPE)
        self.finish(self.render_string(template, **values))
