"""The wire contract's constants (CONTRACT.md §2–§3), written once for the sandbox and the toolkit.

The sandbox enforces them; the toolkit previews them (forms) and builds requests with them.
"""

from __future__ import annotations

import re

#: ``Cko-Version`` the sandbox answers with.
API_VERSION = "1.0"

#: Request fields a setup keeps, in the order the API documents them (a PUT replaces all of them;
#: unknown top-level fields are ignored, as the real API does).
WRITABLE_FIELDS = (
    "processing_channel_id", "amount", "currency", "payment_type", "reference", "description",
    "settings", "customer", "order", "billing", "metadata",
)
PAYMENT_TYPES = ("Regular", "Recurring", "MOTO", "Installment", "PayLater", "Unscheduled")
MAX_AMOUNT = 9_999_999_999
#: Longest ``reference`` and ``description``.
TEXT_LIMITS = {"reference": 80, "description": 100}
#: Longest ``settings.success_url`` / ``failure_url``.
MAX_URL_LENGTH = 255

CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
#: an absolute http(s) URL: no whitespace and no control characters (they would end up in a Location header)
URL_PATTERN = re.compile(r"^https?://[^\s\x00-\x1f\x7f/?#]+[^\s\x00-\x1f\x7f]*$")

#: The customer's choices on a pending payment (the sandbox's ``/_sandbox/payments/{id}/{action}``).
CUSTOMER_ACTIONS = ("approve", "decline", "expire")
#: Statuses after which nothing more happens without the merchant acting (a refund).
TERMINAL_STATUSES = frozenset({"Captured", "Declined", "Expired", "Refunded", "Partially Refunded", "Canceled"})

#: The request header carrying a webhook delivery's signature.
SIGNATURE_HEADER = "Cko-Signature"


def is_url(value: object) -> bool:
    """A redirect URL the contract accepts: absolute http(s), at most 255 characters, no controls."""
    return isinstance(value, str) and len(value) <= MAX_URL_LENGTH and bool(URL_PATTERN.match(value))
