"""One plain function per API step, named after the operation; each returns the JSON body.

They build a path and a body and hand off to :meth:`Client.request`, which does the HTTP,
the idempotency key, the history and the errors. They never print and never catch.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._shared.contract import WRITABLE_FIELDS
from .client import ApiResult, ApiResultList, Client, path_segment


def _setup_body(client: Client, fields: dict, success_url: str | None, failure_url: str | None) -> dict:
    body = {key: value for key, value in fields.items() if value is not None}
    if success_url is not None or failure_url is not None:
        settings = dict(body.get("settings") or {})
        for name, url in (("success_url", success_url), ("failure_url", failure_url)):
            if url is not None:
                settings[name] = url
        body["settings"] = settings
    if client.processing_channel_id:
        body.setdefault("processing_channel_id", client.processing_channel_id)
    return body


def create_payment_setup(
    client: Client,
    *,
    amount: int,
    currency: str,
    success_url: str | None = None,
    failure_url: str | None = None,
    description: str | None = None,
    reference: str | None = None,
    idempotency_key: str | None = None,
    **fields: Any,
) -> ApiResult:
    """Create a payment setup (``POST /payments/setups``): step 1 of the Octopus flow.

    ``amount`` is in minor units (1000 = HK$10.00); other API fields (``customer``, ``settings``,
    ``metadata``...) pass through ``fields``. Look at ``payment_methods.octopus.status``: ``ready``
    means it can be confirmed.

    >>> setup = create_payment_setup(client, amount=1000, currency="HKD",
    ...     success_url="https://example.com/ok", failure_url="https://example.com/ko")  # doctest: +SKIP
    """
    fields = {"amount": amount, "currency": currency, "reference": reference, "description": description, **fields}
    body = _setup_body(client, fields, success_url, failure_url)
    return client.request("POST", "/payments/setups", body=body, idempotency_key=idempotency_key)


def update_payment_setup(
    client: Client,
    setup_id: str,
    *,
    success_url: str | None = None,
    failure_url: str | None = None,
    idempotency_key: str | None = None,
    **fields: Any,
) -> ApiResult:
    """Replace a setup's writable fields (``PUT /payments/setups/{id}``), e.g. to make it ready.

    PUT replaces *all* of them, so start from what the setup has:
    ``update_payment_setup(client, setup["id"], **{**writable_fields(setup), "currency": "HKD"})``.
    """
    body = _setup_body(client, fields, success_url, failure_url)
    return client.request("PUT", f"/payments/setups/{path_segment(setup_id)}", body=body, idempotency_key=idempotency_key)


def get_payment_setup(client: Client, setup_id: str) -> ApiResult:
    """Fetch a setup (``GET /payments/setups/{id}``) with its readiness recomputed."""
    return client.request("GET", f"/payments/setups/{path_segment(setup_id)}")


def confirm_payment_setup(
    client: Client, setup_id: str, payment_method_name: str = "octopus", *, idempotency_key: str | None = None
) -> ApiResult:
    """Confirm a ready setup with Octopus (``POST .../confirm/octopus``): step 2, creates the payment.

    The answer has one of two published shapes: the payment itself (202, ``Pending``, as on the seed
    page), or the setup (200) with the payment under ``latest_payment``. Either way the payment has
    ``processing.landing_url``, ``octopus_uri`` and ``token``, what step 3 redirects the customer
    with: :func:`~octopus_nb.lifecycle.payment_of` finds it, and :func:`redirect_targets` takes either.
    """
    path = f"/payments/setups/{path_segment(setup_id)}/confirm/{path_segment(payment_method_name)}"
    return client.request("POST", path, idempotency_key=idempotency_key)


def get_payment(client: Client, payment_id: str) -> ApiResult:
    """Fetch a payment (``GET /payments/{id}``): status, balances, links."""
    return client.request("GET", f"/payments/{path_segment(payment_id)}")


def get_payment_actions(client: Client, payment_id: str) -> ApiResultList:
    """A payment's actions, newest first (``GET /payments/{id}/actions``): capture, refunds..."""
    return client.request("GET", f"/payments/{path_segment(payment_id)}/actions")


def refund_payment(
    client: Client,
    payment_id: str,
    amount: int | None = None,
    reference: str | None = None,
    *,
    idempotency_key: str | None = None,
) -> ApiResult:
    """Refund a captured payment, all of it or ``amount`` (ending in 0) (``POST /payments/{id}/refunds``)."""
    body = {key: value for key, value in (("amount", amount), ("reference", reference)) if value is not None}
    return client.request("POST", f"/payments/{path_segment(payment_id)}/refunds", body=body, idempotency_key=idempotency_key)


def writable_fields(setup: Mapping[str, Any]) -> dict:
    """The part of a setup that ``update_payment_setup`` sends back (ids and readiness left out)."""
    return {key: setup[key] for key in WRITABLE_FIELDS if key in setup}
