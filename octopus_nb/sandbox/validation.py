"""The sandbox's rules for request bodies, and Octopus readiness: pure functions, no state, no HTTP.

``payment_api`` and ``control_api`` call them; they are here on their own because they are the part of the
contract a reader checks line by line against CONTRACT.md §3.
"""

from __future__ import annotations

import math
import re
from typing import Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from .._shared.contract import (
    CURRENCY_PATTERN,
    MAX_AMOUNT,
    METADATA_LIMITS,
    PAYMENT_TYPES,
    PROCESSING_CHANNEL_ID_PATTERN,
    TEXT_LIMITS,
    URL_PATTERN,
    is_url,
)

_PAYMENT_TYPES_FOLDED = {name.casefold() for name in PAYMENT_TYPES}
_CUSTOMER_ID_PATTERN = re.compile(r"^cus_[a-z2-7]{26}$")
_EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{1,60}$")


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def is_rate(value: Any) -> bool:
    """A number in 0..1 (a probability: fault and webhook chaos rates)."""
    return is_number(value) and 0 <= value <= 1


def _is_short_text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and len(value) <= limit


def is_webhook_url(value: Any) -> bool:
    """An absolute http(s) URL with a host and, if given, a valid port."""
    if not (isinstance(value, str) and len(value) <= 2048 and URL_PATTERN.match(value)):
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        return False
    return bool(parts.hostname) and value.isascii()


def with_payment_id(url: str, payment_id: str) -> str:
    """Sandbox rule: ``url`` with ``cko-payment-id={id}`` added to its query (any existing query kept)."""
    parts = urlsplit(url)
    query = "&".join(part for part in (parts.query, urlencode({"cko-payment-id": payment_id})) if part)
    # Percent-encode what a Location header can't carry (controls, non-ASCII); escapes already there stay.
    return quote(urlunsplit(parts._replace(query=query)), safe=":/?#[]@!$&'()*+,;=%~")


def setup_field_errors(body: dict) -> list[str]:
    """Every validation code a create/update body earns, in the contract's order."""
    codes: list[str] = []

    def check(ok: bool, code: str) -> None:
        if not ok:
            codes.append(code)

    amount = body.get("amount")
    if amount is None:
        codes.append("amount_required")
    else:
        check(is_int(amount) and 1 <= amount <= MAX_AMOUNT, "amount_invalid")
    currency = body.get("currency")
    if currency is None:
        codes.append("currency_required")
    else:
        check(isinstance(currency, str) and bool(CURRENCY_PATTERN.match(currency)), "currency_invalid")
    channel = body.get("processing_channel_id")
    if channel is not None:
        check(isinstance(channel, str) and bool(PROCESSING_CHANNEL_ID_PATTERN.match(channel)), "processing_channel_id_invalid")
    payment_type = body.get("payment_type")
    if payment_type is not None:
        # Sandbox rule: case-insensitive (``"regular"`` and ``"Regular"`` are both sent in the wild)
        check(isinstance(payment_type, str) and payment_type.casefold() in _PAYMENT_TYPES_FOLDED, "payment_type_invalid")
    for name, limit in TEXT_LIMITS.items():
        if body.get(name) is not None:
            check(_is_short_text(body[name], limit), f"{name}_invalid")

    settings = body.get("settings")
    if settings is not None and not isinstance(settings, dict):
        codes.append("settings_invalid")
    elif settings:
        for name in ("success_url", "failure_url"):
            if settings.get(name) is not None:
                check(is_url(settings[name]), f"{name}_invalid")
        if settings.get("capture") is not None:
            check(isinstance(settings["capture"], bool), "settings_invalid")
        excluded = settings.get("excluded_payment_methods")
        if excluded is not None:
            check(isinstance(excluded, list) and all(isinstance(m, str) for m in excluded), "settings_invalid")
    codes.extend(_customer_errors(body.get("customer")))
    for name in ("order", "billing"):
        if body.get(name) is not None:
            check(isinstance(body[name], dict), f"{name}_invalid")
    if body.get("metadata") is not None:
        check(is_metadata(body["metadata"]), "metadata_invalid")
    return list(dict.fromkeys(codes))


def is_metadata(value: Any) -> bool:
    """At most 20 keys; each value a string of at most 255 characters, a finite number or a boolean.

    The limits are the ones Checkout's Python SDK documents (``METADATA_LIMITS``); null, lists
    and objects are refused, and so are NaN and infinities (they have no JSON spelling to echo).
    """
    if not isinstance(value, dict) or len(value) > METADATA_LIMITS["max_keys"]:
        return False
    return all(
        isinstance(item, bool)
        or (isinstance(item, str) and len(item) <= METADATA_LIMITS["max_string_length"])
        or isinstance(item, int)
        or (isinstance(item, float) and math.isfinite(item))
        for item in value.values()
    )


def _customer_errors(customer: Any) -> list[str]:
    if customer is None:
        return []
    if not isinstance(customer, dict):
        return ["customer_invalid"]
    codes = []
    email = customer.get("email")
    if email is not None:
        address = email.get("address") if isinstance(email, dict) else None
        if not (isinstance(address, str) and _EMAIL_PATTERN.match(address)):
            codes.append("customer_email_invalid")
        elif email.get("verified") is not None and not isinstance(email["verified"], bool):
            codes.append("customer_email_invalid")
    name_ok = customer.get("name") is None or _is_short_text(customer["name"], 100)
    id_ok = customer.get("id") is None or (isinstance(customer["id"], str) and bool(_CUSTOMER_ID_PATTERN.match(customer["id"])))
    phone = customer.get("phone")
    phone_ok = phone is None or (
        isinstance(phone, dict)
        and _is_short_text(phone.get("country_code"), 7)
        and isinstance(phone.get("number"), str)
        and 6 <= len(phone["number"]) <= 25
    )
    if not (name_ok and id_ok and phone_ok):
        codes.append("customer_invalid")
    return codes


def refund_errors(amount: Any, reference: Any, available: int) -> list[str]:
    """Every validation code a refund body earns; ``amount`` None means the whole balance.

    Octopus rule: amounts end in 0. Sandbox rule: at most what is left to refund.
    """
    codes = []
    if amount is None:
        pass
    elif not is_int(amount) or amount < 1:
        codes.append("amount_invalid")
    elif amount % 10:
        codes.append("amount_must_end_in_zero")
    elif amount > available:
        codes.append("refund_amount_exceeds_balance")
    if reference is not None and not _is_short_text(reference, TEXT_LIMITS["reference"]):
        codes.append("reference_invalid")
    return codes


def octopus_readiness(fields: dict) -> tuple[str, list[str]]:
    """Octopus's status and flags for a setup's fields.

    Sandbox rule (Checkout.com does not publish the flag names): all applicable flags are
    listed; the status is that of the first row of the contract's table that applies.
    """
    settings = fields.get("settings") or {}
    rows = [
        (fields.get("currency") != "HKD", "unavailable", "currency_not_supported"),
        ("octopus" in (settings.get("excluded_payment_methods") or ()), "unavailable", "payment_method_excluded"),
        (fields.get("amount", 0) % 10 != 0, "invalid", "amount_must_end_in_zero"),
        (not settings.get("success_url"), "action_required", "success_url_required"),
        (not settings.get("failure_url"), "action_required", "failure_url_required"),
    ]
    applicable = [(status, flag) for applies, status, flag in rows if applies]
    if not applicable:
        return "ready", []
    return applicable[0][0], [flag for _, flag in applicable]
