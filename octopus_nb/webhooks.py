"""Webhooks: check a delivery's ``Cko-Signature`` and read its event, in your own handler.

Checkout.com signs each delivery with ``Cko-Signature``: the lowercase hex HMAC-SHA256 of the raw
body, keyed with the webhook's signature key. Verify the *raw bytes* (re-serialised JSON differs)
and compare in constant time, so timing does not reveal how much of a forged signature was right.

For a ready-made server that collects deliveries, see :class:`octopus_nb.receiver.WebhookReceiver`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ._shared.contract import SIGNATURE_HEADER
from ._shared.signing import sign, verify_signature
from .errors import SignatureError

__all__ = ["FRAME_COLUMNS", "SIGNATURE_HEADER", "event_row", "parse_event", "sign", "verify_event", "verify_signature"]

#: columns of an events table (:meth:`WebhookReceiver.to_frame`), in order
FRAME_COLUMNS = ("received", "event_id", "type", "payment_id", "action_id", "amount", "status", "timestamp")


def verify_event(raw_body: bytes, signature: str | None, key: str | bytes) -> dict:
    """The event (parsed JSON) if the signature holds; for your own web framework's handler.

    Raises:
        SignatureError: the signature is missing or does not match.
        ValueError: the signed body is not a JSON object.
    """
    if not verify_signature(raw_body, signature, key):
        raise SignatureError(
            f"{SIGNATURE_HEADER} does not match the body under this signature key: answer 401 and "
            "ignore it. Check that you verify the raw bytes and use the key set for this webhook."
        )
    event = parse_event(raw_body)
    if event is None:
        raise ValueError("A webhook body is a JSON object (an event envelope) with an id.")
    return event


def parse_event(raw_body: bytes) -> dict | None:
    """The event envelope in a (verified) body, or None when it is not a JSON object with a text ``id``."""
    try:
        event = json.loads(raw_body)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return event if isinstance(event, dict) and isinstance(event.get("id"), str) else None


def event_row(event: Mapping[str, Any], received: int | None = None) -> dict:
    """One flat row (``FRAME_COLUMNS``) for an event envelope."""
    data = event.get("data")
    data = data if isinstance(data, Mapping) else {}
    return {
        "received": received,
        "event_id": event.get("id"),
        "type": event.get("type"),
        "payment_id": data.get("id"),
        "action_id": data.get("action_id"),
        "amount": data.get("amount"),
        "status": data.get("status"),
        "timestamp": event.get("timestamp"),
    }
