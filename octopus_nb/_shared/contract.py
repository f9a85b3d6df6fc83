"""The wire contract's constants (CONTRACT.md §2–§3), written once for the sandbox and the toolkit.

The sandbox enforces them; the toolkit previews them (forms) and builds requests with them.
"""

from __future__ import annotations

import re

#: ``Cko-Version`` the sandbox answers with.
API_VERSION = "1.0"

#: Optional setup fields the SDKs document and the sandbox echoes exactly as sent (``risk`` defaults
#: to ``{"enabled": true}`` when absent).
ECHOED_FIELDS = ("billing_descriptor", "presentment_details", "terminal", "account_funding_transaction", "risk", "industry")
#: Request fields a setup keeps, in the order the API documents them (a PUT replaces all of them;
#: unknown top-level fields are ignored, as the real API does).
WRITABLE_FIELDS = (
    "processing_channel_id",
    "amount",
    "currency",
    "payment_type",
    "reference",
    "description",
    "settings",
    "customer",
    "order",
    "billing",
    "metadata",
) + ECHOED_FIELDS
#: ``payment_type`` values, matched case-insensitively (Checkout's own pages send ``"regular"``, the
#: SDKs ``"Regular"``) and answered in lower case, as Checkout.com's sandbox does (contract §9.3).
PAYMENT_TYPES = ("Regular", "Recurring", "MOTO", "Installment", "PayLater", "Unscheduled")
#: ``metadata``: at most this many keys; each value a string of at most ``max_string_length``
#: characters, a number or a boolean (Checkout's Python SDK documents these limits).
METADATA_LIMITS = {"max_keys": 20, "max_string_length": 255}
MAX_AMOUNT = 9_999_999_999
#: Longest ``reference`` and ``description``.
TEXT_LIMITS = {"reference": 80, "description": 100}
#: Longest ``settings.success_url`` / ``failure_url``.
MAX_URL_LENGTH = 255

# Every pattern ends in ``\Z``, not ``$``: Python's ``$`` also matches before a trailing newline.
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}\Z")
#: The API reference's ``processing_channel_id`` pattern ``^pc_\w{26}$`` (``\w`` is ASCII there).
PROCESSING_CHANNEL_ID_PATTERN = re.compile(r"^pc_\w{26}\Z", re.ASCII)
#: an absolute http(s) URL: no whitespace and no control characters (they would end up in a Location header)
URL_PATTERN = re.compile(r"^https?://[^\s\x00-\x1f\x7f/?#]+[^\s\x00-\x1f\x7f]*\Z")

#: The customer's choices on a pending payment (the sandbox's ``/_sandbox/payments/{id}/{action}``).
#: ``fail_capture``: the customer approves but the capture fails (Declined, ``payment_capture_declined``).
CUSTOMER_ACTIONS = ("approve", "decline", "expire", "fail_capture")
#: Statuses after which nothing more happens without the merchant acting (a refund).
TERMINAL_STATUSES = frozenset({"Captured", "Declined", "Expired", "Refunded", "Partially Refunded", "Canceled"})

#: The request header carrying a webhook delivery's signature.
SIGNATURE_HEADER = "Cko-Signature"


def is_url(value: object) -> bool:
    """A redirect URL the contract accepts: absolute http(s), at most 255 characters, no controls."""
    return isinstance(value, str) and len(value) <= MAX_URL_LENGTH and bool(URL_PATTERN.match(value))
