"""Octopus readiness explained: what each status and flag means, which field it is about, the fix.

The API reports readiness as ``payment_methods.octopus = {"status", "flags"}``; this module turns
that into a pandas table (:func:`readiness_frame`) and previews, before any request, what the API
will say about a form's fields (:func:`field_problems`). The API stays the authority: the preview
only saves a round trip.

Sandbox rule: Checkout.com does not publish the flag names; the ones below are the embedded
sandbox's (see CONTRACT.md §3), and the fixes come from :data:`octopus_nb.errors.FIXES`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._shared.contract import CURRENCY_PATTERN, MAX_AMOUNT, TEXT_LIMITS, is_url
from .errors import fix_for

#: Readiness statuses (newest SDKs' enum) → what they mean for the merchant.
STATUS_MEANINGS = {
    "ready": "Octopus can be confirmed for this setup now.",
    "action_required": "Something the customer journey needs is missing: add it, then confirm.",
    "invalid": "A value breaks an Octopus rule: change it, then confirm.",
    "unavailable": "Octopus cannot be offered for this setup as it stands.",
    "initialization_required": "The payment method needs initialising before it can be used.",
}

#: Readiness flags (sandbox rule: names not published by Checkout.com) → what they mean.
FLAG_MEANINGS = {
    "currency_not_supported": "Octopus settles in Hong Kong dollars only; this setup uses another currency.",
    "payment_method_excluded": "settings.excluded_payment_methods lists octopus, so it is switched off here.",
    "amount_must_end_in_zero": "Octopus has no single cents: the amount in minor units must end in 0.",
    "success_url_required": "After paying, the customer is sent back to settings.success_url; there is none.",
    "failure_url_required": "After a failed payment, the customer is sent to settings.failure_url; there is none.",
}

#: Error code or readiness flag → the form field it is about (``None``: no single field).
FIELD_OF = {
    "amount_required": "amount",
    "amount_invalid": "amount",
    "amount_must_end_in_zero": "amount",
    "currency_required": "currency",
    "currency_invalid": "currency",
    "currency_not_supported": "currency",
    "success_url_required": "success_url",
    "success_url_invalid": "success_url",
    "failure_url_required": "failure_url",
    "failure_url_invalid": "failure_url",
    "description_invalid": "description",
    "reference_invalid": "reference",
    "payment_method_excluded": None,
}

#: The fields a setup form edits, in display order.
FORM_FIELDS = ("amount", "currency", "success_url", "failure_url", "description", "reference")
#: The seed page's example setup: what the forms, the explorer and the demo start from.
EXAMPLE_SETUP: dict[str, Any] = {
    "amount": 1000,
    "currency": "HKD",
    "success_url": "https://example.com/payments/success",
    "failure_url": "https://example.com/payments/failure",
    "description": "Octopus payment",
}
#: How forms (``ui.PaymentForm``, the explorer) label those fields.
FIELD_LABELS = {
    "amount": "Amount (minor units)",
    "currency": "Currency",
    "success_url": "Success URL",
    "failure_url": "Failure URL",
    "description": "Description",
    "reference": "Reference",
}


def readiness_frame(setup: Mapping[str, Any]):
    """A pandas DataFrame: one row per payment method and flag, with its meaning and fix.

    Columns: ``payment_method``, ``status``, ``flag`` (empty when ready), ``meaning``, ``fix``.
    Pass the answer of ``create_payment_setup``, ``update_payment_setup`` or ``get_payment_setup``.

    >>> readiness_frame(setup)  # doctest: +SKIP
    """
    import pandas as pd

    rows = []
    for method, readiness in (setup.get("payment_methods") or {}).items():
        status = readiness.get("status", "")
        flags = list(readiness.get("flags") or [])
        for flag in flags or [""]:
            rows.append(
                {
                    "payment_method": method,
                    "status": status,
                    "flag": flag,
                    "meaning": FLAG_MEANINGS.get(flag, "") if flag else STATUS_MEANINGS.get(status, ""),
                    "fix": fix_for(flag, setup) if flag else "",
                }
            )
    return pd.DataFrame(rows, columns=["payment_method", "status", "flag", "meaning", "fix"])


def field_problems(values: Mapping[str, Any]) -> dict[str, list[str]]:
    """Preview, without a request, the codes the API would report for each form field.

    ``values`` holds :data:`FORM_FIELDS` (missing or empty text counts as not given). Returns
    ``{field: [code, ...]}`` for every field, an empty list meaning "looks fine". Covers the
    validation errors and the readiness flags tied to one field (not ``payment_method_excluded``).
    """
    problems: dict[str, list[str]] = {name: [] for name in FORM_FIELDS}
    amount = values.get("amount")
    if amount is None:
        problems["amount"].append("amount_required")
    elif isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT:
        problems["amount"].append("amount_invalid")
    elif amount % 10:
        problems["amount"].append("amount_must_end_in_zero")
    currency = values.get("currency") or ""
    if not currency:
        problems["currency"].append("currency_required")
    elif not CURRENCY_PATTERN.match(currency):
        problems["currency"].append("currency_invalid")
    elif currency != "HKD":
        problems["currency"].append("currency_not_supported")
    for name in ("success_url", "failure_url"):
        url = values.get(name) or ""
        if not url:
            problems[name].append(f"{name}_required")
        elif not is_url(url):
            problems[name].append(f"{name}_invalid")
    for name, limit in TEXT_LIMITS.items():
        if len(values.get(name) or "") > limit:
            problems[name].append(f"{name}_invalid")
    return problems


def problems_by_field(codes: list[str]) -> dict[str | None, list[str]]:
    """Group API error codes or readiness flags by the form field they are about."""
    grouped: dict[str | None, list[str]] = {}
    for code in codes:
        grouped.setdefault(FIELD_OF.get(code), []).append(code)
    return grouped
