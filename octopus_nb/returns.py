"""The merchant's return pages: where the customer lands after paying, and what the merchant does there.

``settings.success_url`` and ``failure_url`` (and an iOS app's ``return=`` URL) are the merchant's
pages. The sandbox, like Checkout.com, appends ``cko-payment-id``; anyone can type such a URL, so
a return page never trusts which URL it is: it looks the payment up (``GET /payments/{id}``) and
acts on the status it finds. :class:`ReturnPages` does exactly that, records every return, and is
served by :class:`~octopus_nb.receiver.WebhookReceiver` next to its webhook endpoint.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._shared.contract import TERMINAL_STATUSES
from .errors import CheckoutApiError
from .steps import get_payment

if TYPE_CHECKING:
    from .client import Client

#: the merchant's pages, by the name a return records: success_url, failure_url, the iOS app's return
PAGES = ("success", "failure", "app")
#: statuses in which the merchant has the money and fulfils the order
PAID = ("Captured", "Partially Refunded", "Refunded")
TEMPLATE = Path(__file__).with_name("templates") / "merchant_return.html"


def verdict(status: str | None) -> str:
    """What the merchant's page tells the customer, from the status the API gave (never from the URL)."""
    if status in PAID:
        return "Thank you: your payment was received"
    if status in TERMINAL_STATUSES:
        return "Your payment did not go through"
    if status == "Pending":
        return "We are still waiting for your payment"
    return "We could not check this payment"


class ReturnPages:
    """Records each return and verifies its payment with ``client`` (None: nothing verified)."""

    def __init__(self, client: Client | None = None):
        self.client = client
        self._returns: list[dict] = []
        self._lock = threading.Lock()
        self._template: Any = None

    @property
    def returns(self) -> list[dict]:
        """Every return, oldest first: ``page``, ``payment_id``, ``status`` (as looked up, or None), ``at`` (UTC)."""
        with self._lock:
            return [dict(record) for record in self._returns]

    def clear(self) -> None:
        with self._lock:
            self._returns.clear()

    def visit(self, page: str, payment_id: str) -> tuple[int, str]:
        """One customer arriving at ``page`` with ``cko-payment-id``: record, verify, render (status, HTML)."""
        if not payment_id:
            return 400, self._render(
                page=page,
                payment_id="",
                status=None,
                heading="No payment id in this return",
                found="nothing to look up: the URL carries no cko-payment-id",
            )
        status, found = self._look_up(payment_id)
        with self._lock:
            self._returns.append(
                {"page": page, "payment_id": payment_id, "status": status, "at": datetime.now(UTC).isoformat(timespec="milliseconds")}
            )
        return 200, self._render(page=page, payment_id=payment_id, status=status, heading=verdict(status), found=found)

    def _look_up(self, payment_id: str) -> tuple[str | None, str]:
        if self.client is None:
            return None, "not verified: this merchant has no API client (WebhookReceiver(..., client=client))"
        try:
            status = get_payment(self.client, payment_id)["status"]
        except CheckoutApiError as error:
            return None, f"GET /payments/{{id}} answered {error.status}"
        return status, status

    def _render(self, **values: Any) -> str:
        if self._template is None:
            import tornado.template  # only when a return page is served

            self._template = tornado.template.Template(TEMPLATE.read_text(encoding="utf-8"), autoescape="xhtml_escape")
        return self._template.generate(**values).decode("utf-8")
