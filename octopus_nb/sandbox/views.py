"""What goes on the wire: pure functions from a resource (and the base URL) to JSON-ready dicts.

Links are built from ``base_url``, the scheme://host:port the sandbox serves on, so the same
resources read the same from any seed-identical sandbox bound to the same address.
"""

from __future__ import annotations

from datetime import datetime

from .clock import isoformat
from .resources import APPROVED, REFUNDABLE, Action, Payment, PaymentSetup
from .validation import octopus_readiness, with_payment_id

#: Every payment event's ``source`` on Checkout.com's event pages.
EVENT_SOURCE = "gateway"
#: The event schema version the sandbox's events follow (the one Checkout.com's event pages show).
EVENT_VERSION = "1.0.9"


def answered_payment_type(sent: str) -> str:
    """``payment_type`` as answered: lower case whatever case was sent, as Checkout.com's sandbox does
    (three SDKs' integration tests against it, March 2026; contract §9.3). Any case is accepted on input."""
    return sent.lower()


def payment_href(base_url: str, payment: Payment) -> str:
    return f"{base_url}/payments/{payment.id}"


def octopus_uri(payment: Payment) -> str:
    """What the QR code holds: the Octopus App opens it."""
    return f"octopus://payment?token={payment.token}"


def processing(base_url: str, payment: Payment) -> dict:
    """Where the customer pays: the sandbox's landing page, and the URI its QR code holds."""
    return {
        "landing_url": f"{base_url}/_sandbox/octopus/oos/payment/?token={payment.token}",
        "octopus_uri": octopus_uri(payment),
        "token": payment.token,
    }


def setup_view(base_url: str, setup: PaymentSetup, latest: Payment | None) -> dict:
    """A PaymentSetup with Octopus readiness (computed now) and, once confirmed, its latest payment."""
    status, flags = octopus_readiness(setup.fields)
    view = {"id": setup.id, **setup.fields}
    if "payment_type" in view:
        view["payment_type"] = answered_payment_type(view["payment_type"])
    view["payment_methods"] = {"octopus": {"status": status, "flags": flags}}
    view["available_payment_methods"] = [] if status == "unavailable" else ["octopus"]
    if latest is not None:
        view["latest_payment"] = confirm_view(base_url, latest)
    view["_links"] = {"self": {"href": f"{base_url}/payments/setups/{setup.id}"}}
    return view


def confirm_view(base_url: str, payment: Payment) -> dict:
    """The confirm response, shaped exactly as the seed page's example."""
    return {
        "id": payment.id,
        "status": payment.status,
        "reference": payment.reference,
        "customer": {"id": payment.customer["id"]},
        "processing": processing(base_url, payment),
        "_links": {"self": {"href": payment_href(base_url, payment)}},
    }


def payment_view(base_url: str, payment: Payment) -> dict:
    """``GET /payments/{id}``: the payment with its balances and links (``refund`` when refundable)."""
    href = payment_href(base_url, payment)
    links = {"self": {"href": href}, "actions": {"href": href + "/actions"}}
    if payment.status in REFUNDABLE:
        links["refund"] = {"href": href + "/refunds"}
    return {
        "id": payment.id,
        "requested_on": isoformat(payment.requested_on),
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "approved": payment.status in APPROVED,
        "reference": payment.reference,
        "description": payment.description,
        "payment_type": answered_payment_type(payment.payment_type),
        "source": {"type": "octopus"},
        "customer": dict(payment.customer),
        "processing": processing(base_url, payment),
        "expires_on": isoformat(payment.expires_on),
        "balances": {
            "total_captured": payment.total_captured,
            "total_refunded": payment.total_refunded,
            "available_to_refund": payment.total_captured - payment.total_refunded,
        },
        "_links": links,
    }


def action_view(action: Action) -> dict:
    return {
        "id": action.id,
        "type": action.type,
        "processed_on": isoformat(action.processed_on),
        "amount": action.amount,
        "approved": action.approved,
        "response_code": action.response_code,
        "response_summary": action.response_summary,
        "reference": action.reference,
    }


def refund_view(base_url: str, payment: Payment, action: Action) -> dict:
    """The 202 answer to a refund."""
    return {
        "action_id": action.id,
        "reference": action.reference,
        "_links": {"payment": {"href": payment_href(base_url, payment)}},
    }


def event_body(base_url: str, event_id: str, event_type: str, now: datetime, payment: Payment, action: Action | None) -> dict:
    """A webhook event's JSON, as it will be signed and POSTed.

    The current (workflows) envelope of Checkout.com's event pages (contract §5, changed 2026-11-29
    from the legacy ``created_on`` / ``_links.payment`` form); ``data.status`` is a sandbox addition.
    """
    data: dict = {"id": payment.id}
    if action is not None:
        data["action_id"] = action.id
    data.update(
        amount=action.amount if action else payment.amount,
        currency=payment.currency,
        reference=payment.reference,
        processed_on=isoformat(now),
    )
    if payment.metadata:
        data["metadata"] = payment.metadata
    data["status"] = payment.status
    return {
        "id": event_id,
        "source": EVENT_SOURCE,
        "type": event_type,
        "timestamp": isoformat(now),
        "version": EVENT_VERSION,
        "data": data,
        "_links": {
            "self": {"href": f"{base_url}/events/{event_id}"},
            "subject": {"href": f"{base_url}/workflows/events/subject/{payment.id}"},
        },
    }


def outcome_url(payment: Payment) -> str | None:
    """Sandbox rule: where the customer's browser goes once the payment settles, else None.

    ``success_url`` when the money was taken (Captured, and later refunds), ``failure_url`` when it
    was not (Declined, Expired), with ``cko-payment-id`` added, as Checkout.com's hosted pages do.
    """
    if payment.status == "Pending":
        return None
    target = payment.success_url if payment.status in APPROVED else payment.failure_url
    return with_payment_id(target, payment.id) if target else None


def customer_view(payment: Payment, now: datetime) -> dict:
    """What the customer's devices show (the landing page, the Octopus App), on the sandbox clock."""
    pending = payment.status == "Pending"
    return {
        "payment_id": payment.id,
        "reference": payment.reference,
        "amount": payment.amount,
        "currency": payment.currency,
        "status": payment.status,
        "octopus_uri": octopus_uri(payment),
        "expires_on": isoformat(payment.expires_on),
        "expires_in_seconds": max(0, int((payment.expires_on - now).total_seconds())) if pending else 0,
        "outcome_url": outcome_url(payment),
    }
