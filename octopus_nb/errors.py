"""The exception hierarchy, and the table that turns Checkout.com error codes into fixes.

Everything raised on purpose derives from :class:`OctopusError`. Messages say what happened, with
the caller's values, and what to do next; they never contain the secret key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

#: error code → what to do about it. Feeds exception messages, notebooks and the explorer.
FIXES: dict[str, str] = {
    "amount_required": "Pass amount=, in minor units (1000 is HK$10.00).",
    "amount_invalid": "amount must be a whole number of minor units, at least 1.",
    "amount_must_end_in_zero": "Octopus amounts are minor units ending in 0 — try {amount_rounded}, not {amount}.",
    "currency_required": 'Pass currency="HKD".',
    "currency_invalid": 'currency is an upper-case ISO 4217 code such as "HKD".',
    "currency_not_supported": 'Octopus takes HKD only: set currency="HKD".',
    "payment_method_excluded": 'Remove "octopus" from settings.excluded_payment_methods.',
    "success_url_required": "Octopus redirects the customer back: pass success_url=.",
    "failure_url_required": "Octopus redirects the customer back: pass failure_url=.",
    "success_url_invalid": "success_url must be an absolute http(s) URL of at most 255 characters.",
    "failure_url_invalid": "failure_url must be an absolute http(s) URL of at most 255 characters.",
    "processing_channel_id_invalid": "processing_channel_id looks like pc_ followed by 26 characters.",
    "payment_type_invalid": "payment_type is one of Regular, Recurring, MOTO, Installment, PayLater, Unscheduled.",
    "reference_invalid": "reference is text of at most 80 characters.",
    "description_invalid": "description is text of at most 100 characters.",
    "customer_email_invalid": 'customer.email is an object: {"address": "name@example.com", "verified": true}.',
    "customer_invalid": "customer takes id (cus_…), name (≤ 100 characters), phone {country_code, number}, email {address}.",
    "settings_invalid": "settings is an object: success_url, failure_url, capture (bool), excluded_payment_methods (list).",
    "order_invalid": "order must be a JSON object.",
    "billing_invalid": "billing must be a JSON object.",
    "metadata_invalid": "metadata is an object of at most 20 keys; each value a string (≤ 255 characters), a number or a boolean.",
    "payment_method_not_supported": 'The only payment method on this account is "octopus".',
    "payment_setup_already_confirmed": "This setup already has a live payment: get it with get_payment(), or create a new setup.",
    "payment_not_pending": "The customer can act only while the payment is Pending; get_payment() shows its status.",
    "refund_not_allowed": (
        "Only Captured or Partially Refunded payments can be refunded: a Pending payment has no money to "
        "give back yet, and a Declined, Expired or fully Refunded one has none left (get_payment() shows its status)."
    ),
    "refund_amount_exceeds_balance": "Refund at most balances.available_to_refund (see get_payment()).",
    "idempotency_key_reused": "This Cko-Idempotency-Key was used for a different request: use a fresh key per operation.",
    "idempotency_key_invalid": "Cko-Idempotency-Key must be 1-255 printable characters.",
    "request_body_too_large": "Request bodies are limited to 1 MiB; the API's bodies are a few KB: send only the fields it takes.",
    "request_in_progress": (
        "The first request with this idempotency key is still being processed (409): retry shortly with the "
        "same key and you get its answer. The client already retried with back-off; raise its retry total to wait longer."
    ),
    "advance_seconds_invalid": "advance_seconds is a number of seconds between 0 and one year.",
}

_STATUS_HINTS = {
    400: "The body is not a JSON object.",
    401: "The API key was refused: check the secret key and that it belongs to this environment.",
    404: "No such resource here: check the id, and that the client points at the environment that created it.",
    403: "The API refused this action on this resource in its current state.",
    429: "Too many requests (a rate limit, not a duplicate): retry after a back-off with the same idempotency key.",
}


def fix_for(code: str, request_body: Mapping[str, Any] | None = None) -> str:
    """The fix for one error code, filled in with the caller's own values where it helps."""
    template = FIXES.get(code)
    if template is None:
        return ""
    amount = (request_body or {}).get("amount")
    if "{amount" in template:
        if not isinstance(amount, int):
            return "Octopus amounts are minor units ending in 0 (e.g. 1230, not 1234)."
        return template.format(amount=amount, amount_rounded=round(amount, -1) or 10)
    return template


class OctopusError(Exception):
    """Root of everything octopus_nb raises on purpose."""


class ConfigurationError(OctopusError, ValueError):
    """``connect()`` was given something it must refuse (a bad key, production without opt-in)."""


class ApiUnreachable(OctopusError, requests.RequestException):
    """No answer: refused, dropped or timed out, after any retries.

    Retrying is safe only with the same ``idempotency_key``: the server may have done the work.
    """


class SignatureError(OctopusError):
    """A webhook's ``Cko-Signature`` does not match its body under the signature key."""


class NotASandboxError(ConfigurationError):
    """A sandbox-only helper (``/_sandbox/`` routes) was called with a client for Checkout.com itself.

    On the real sandbox and in production the customer acts in the Octopus App; nothing can act
    for them. Use ``octopus_nb.connect()`` (the embedded sandbox) to play the customer.
    """


class ScenarioFailedError(OctopusError, ValueError):
    """A scenario is malformed, or one of its steps failed; the sandbox account was left as it was.

    ``step`` is the failing step's index in ``steps`` (from 0; None: the scenario as a whole),
    ``reason`` says why, ``error_codes`` are the refusal's codes, if the API refused the step.
    """

    def __init__(self, step: int | None, reason: str, error_codes: list[str] | None = None):
        where = "The scenario" if step is None else f"Step {step} of the scenario"
        super().__init__(f"{where} failed: {reason}. Nothing was changed.")
        self.step, self.reason, self.error_codes = step, reason, list(error_codes or [])


class WaitTimeoutError(OctopusError, TimeoutError):
    """Waited the whole ``timeout`` without seeing the expected state; the message says what was seen last."""


class CheckoutApiError(OctopusError):
    """The API answered with a non-2xx status; the message says what to fix."""

    def __init__(
        self,
        status: int,
        *,
        method: str = "",
        path: str = "",
        request_id: str | None = None,
        error_type: str | None = None,
        error_codes: list[str] | None = None,
        request_body: Mapping[str, Any] | None = None,
    ):
        #: the HTTP status (422, 404, ...)
        self.status = status
        #: ``Cko-Request-Id``: quote it to Checkout.com support
        self.request_id = request_id
        #: ``request_invalid``, ``request_malformed``, ``conflict``, ...
        self.error_type = error_type
        #: every problem the API found, e.g. ``["amount_must_end_in_zero"]``
        self.error_codes = list(error_codes or [])
        self.method = method
        self.path = path
        super().__init__(self._message(request_body))

    def _message(self, request_body: Mapping[str, Any] | None) -> str:
        head = f"{self.status} {self.error_type or _reason(self.status)}"
        if self.error_codes:
            head += " [" + ", ".join(self.error_codes) + "]"
        if self.method:
            head += f" on {self.method} {self.path}"
        if self.request_id:
            head += f" (request {self.request_id})"
        fixes = [fix_for(code, request_body) for code in self.error_codes]
        fixes = [fix for fix in fixes if fix] or [_STATUS_HINTS.get(self.status, "")]
        return head + (": " + " ".join(fixes) if any(fixes) else "")


def _reason(status: int) -> str:
    return requests.status_codes._codes.get(status, ("error",))[0]  # type: ignore[attr-defined]  # requests' reason table, private in its stubs


class MalformedRequestError(CheckoutApiError):
    """400: the body is not a JSON object."""


class AuthenticationError(CheckoutApiError):
    """401: the key was refused."""


class NotFoundError(CheckoutApiError):
    """404: unknown setup or payment id."""


class ConflictError(CheckoutApiError):
    """409: a second confirm of a setup whose payment is still live, or a duplicate request still in flight."""


class ActionNotAllowedError(CheckoutApiError):
    """403: the action is not allowed on this resource as it stands."""


class RefundNotAllowedError(ActionNotAllowedError):
    """403 ``refund_not_allowed``: only Captured or Partially Refunded payments can be refunded."""


class ValidationError(CheckoutApiError):
    """422: the request broke a rule; ``error_codes`` lists every one."""


class RateLimitError(CheckoutApiError):
    """429: too many requests (a duplicate still in flight is a 409 ``request_in_progress``)."""


ERROR_CLASSES: dict[int, type[CheckoutApiError]] = {
    400: MalformedRequestError,
    401: AuthenticationError,
    403: ActionNotAllowedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}
#: error code → a subclass more precise than the status's (callers catch what they can act on)
CODE_CLASSES: dict[str, type[CheckoutApiError]] = {"refund_not_allowed": RefundNotAllowedError}


def error_class(status: int, error_codes: list[str]) -> type[CheckoutApiError]:
    """The exception class for an answer: by error code where one has its own, else by status."""
    for code in error_codes:
        if code in CODE_CLASSES:
            return CODE_CLASSES[code]
    return ERROR_CLASSES.get(status, CheckoutApiError)
