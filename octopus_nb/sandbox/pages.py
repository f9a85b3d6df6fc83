"""HTML for the customer's devices: the pages behind ``landing_url`` and the simulated Octopus App.

Every page is an autoescaped template from ``templates/`` with one inlined stylesheet, sent with a
strict Content-Security-Policy: nothing comes from the network, scripts only from this server.
Every problem is a small HTML page naming it (never JSON, never a traceback).
"""

from __future__ import annotations

from typing import Any

from .exceptions import SandboxError
from .handlers import STATUS_FOR, ApiHandler

HTML_CONTENT_TYPE = "text/html; charset=utf-8"
#: The stylesheet is inlined and the QR code is a data: image; the one script is same-origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'self'; connect-src 'self'; base-uri 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",  # the URL holds the payment's token
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
#: model error code → (page title, what the customer reads)
PROBLEMS = {
    "token_not_found": ("Payment not found", "This payment link is not valid. Ask the merchant for a new one."),
    "token_missing": ("No payment in this link", "This Octopus link carries no payment token."),
    "uri_invalid": ("Not an Octopus link", "This is not an Octopus payment link (octopus://payment?token=…)."),
    "return_invalid": ("Bad return address", "The link's return address is not a URL the app can open."),
    "action_invalid": ("Unknown action", "The only actions are Pay, Cancel and (sandbox only) Pay, capture fails."),
}
#: a payment that is no longer Pending, by status → (page title, what the customer reads)
CLOSED = {
    "Captured": ("Already paid", "This payment has already been paid. Nothing was charged again."),
    "Declined": ("Payment closed", "This payment was cancelled or declined. Ask the merchant to try again."),
    "Expired": ("Payment expired", "This payment request expired before it was paid. Ask the merchant to try again."),
}
CLOSED["Partially Refunded"] = CLOSED["Refunded"] = CLOSED["Captured"]


def format_amount(amount: int, currency: str) -> str:
    """Minor units as the customer reads them: 1000 HKD → ``HK$10.00``."""
    units = f"{amount // 100:,}.{amount % 100:02d}"
    return f"HK${units}" if currency == "HKD" else f"{currency} {units}"


class PageHandler(ApiHandler):
    """A page for the customer: no API key (the payment's token is the credential), never faulted."""

    requires_key = False
    is_api_route = False
    #: which device the page is for: ``desktop`` (the landing page) or ``phone`` (the Octopus App)
    device = "desktop"

    def send_page(self, status: int, template: str, **values: Any) -> None:
        self.set_status(status)
        for name, value in PAGE_HEADERS.items():
            self.set_header(name, value)
        self.set_header("Content-Type", HTML_CONTENT_TYPE)
        self.finish(self.render_string(template, device=self.device, **values))

    def account_of_request(self) -> dict[str, str]:
        """A customer's page has no key: the payment's token names the account."""
        return {"token": self.raw_query_argument("token")}

    def raw_query_argument(self, name: str) -> str:
        """A query argument, asked before tornado checks the request: bytes that are not UTF-8 name nothing."""
        values = self.request.query_arguments.get(name)
        return values[-1].decode("utf-8", "replace") if values else ""

    def payment_summary(self, view: dict) -> dict:
        """What every page shows of the payment: the merchant's reference and the amount, as read."""
        return {"reference": view["reference"] or "—", "amount": format_amount(view["amount"], view["currency"])}

    def send_problem(self, error: SandboxError) -> None:
        code = error.error_codes[0] if error.error_codes else "token_not_found"
        title, text = PROBLEMS.get(code, ("Payment not available", "This payment link cannot be used."))
        self.send_page(STATUS_FOR[type(error)], "problem.html", title=title, text=text)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """A framework error (a method the page has not, a request tornado can't read) is a page too."""
        self.send_page(
            status_code,
            "problem.html",
            title="Page not available",
            text="This page can't answer that request. Open the payment link again.",
        )

    def send_closed(self, status: str) -> None:
        """409: the payment is no longer waiting for the customer; nothing was changed."""
        title, text = CLOSED[status]
        self.send_page(409, "problem.html", title=title, text=text)
