"""The sandbox's control routes (``/_sandbox/``): play the customer, move the clock, inject faults, set webhooks and their chaos.

These exist only on the octopus_nb sandbox (embedded, or ``python -m octopus_nb.sandbox``); on
Checkout.com the customer acts in the Octopus App and webhooks are set in the Dashboard. Every
function here checks :func:`require_sandbox` first, so none of them ever sends a request to
Checkout.com. Everything goes through :meth:`Client.request`, so each call shows in the history.
"""

from __future__ import annotations

from typing import Any, Protocol

from ._shared.contract import CUSTOMER_ACTIONS
from .client import ApiResult, ApiResultList, Client, path_segment
from .errors import NotASandboxError


class WebhookSink(Protocol):
    """Anything with a delivery ``url`` and the ``signature_key`` it verifies with (a ``WebhookReceiver``)."""

    @property
    def url(self) -> str: ...  # read-only: a receiver's url is a property

    @property
    def signature_key(self) -> str: ...


def is_sandbox(client: Client) -> bool:
    """True when ``client`` talks to an octopus_nb sandbox, which has the ``/_sandbox/`` routes."""
    return not client.is_checkout


def require_sandbox(client: Client, what: str) -> None:
    """Refuse, before any request, to call a ``/_sandbox/`` route on Checkout.com itself.

    Raises:
        NotASandboxError: the client points at Checkout.com's sandbox or production.
    """
    if client.is_checkout:
        raise NotASandboxError(
            f"{what} needs the octopus_nb sandbox, but this client talks to Checkout.com "
            f"{client.environment} ({client.base_url}). There the customer acts in the Octopus App "
            "(scan the landing page's QR code); to play the customer, use octopus_nb.connect()."
        )


def simulate_customer(client: Client, payment_id: str, action: str) -> ApiResult:
    """Act as the customer on a pending payment: ``"approve"``, ``"decline"`` or ``"expire"``.

    Sandbox only (``POST /_sandbox/payments/{id}/{action}``): on Checkout.com the customer acts in
    the Octopus App. Returns the payment after the action (``Captured``, ``Declined``, ``Expired``).

    >>> simulate_customer(client, payment["id"], "approve")["status"]  # doctest: +SKIP
    'Captured'

    Raises:
        ValueError: ``action`` is not one of :data:`CUSTOMER_ACTIONS`.
        NotASandboxError: the client points at Checkout.com (checked before any request).
        ConflictError: the payment is no longer Pending (409 ``payment_not_pending``).
    """
    if action not in CUSTOMER_ACTIONS:
        raise ValueError(f"Unknown customer action {action!r}: use one of {', '.join(map(repr, CUSTOMER_ACTIONS))}.")
    require_sandbox(client, "simulate_customer()")
    return client.request("POST", f"/_sandbox/payments/{path_segment(payment_id)}/{action}")


def advance_clock(client: Client, seconds: float) -> ApiResult:
    """Move the sandbox's clock on by ``seconds`` (``POST /_sandbox/clock``); returns ``{"now": ...}``.

    Sandbox rule: pending payments past ``expires_on`` (15 minutes) expire, and webhook retries
    that come due are delivered, without waiting in real time.

    >>> advance_clock(client, 15 * 60 + 1)["now"]  # doctest: +SKIP
    '2026-04-30T09:15:01.000Z'

    Raises:
        NotASandboxError: the client points at Checkout.com (checked before any request).
    """
    require_sandbox(client, "advance_clock()")
    return client.request("POST", "/_sandbox/clock", body={"advance_seconds": seconds})


def inject_faults(client: Client, **faults: Any) -> ApiResult:
    """Make the sandbox misbehave on API routes (``PUT /_sandbox/faults``); no arguments turns it off.

    Sandbox rule: ``error_rate`` (0..1) answers ``status`` (500, 502, 503 or 429) before doing
    anything; ``drop_rate`` (0..1) does the work, then closes the connection unanswered;
    ``latency_ms`` delays every API request. Draws come from the seeded sandbox, so a notebook's
    retries repeat exactly. ``/_sandbox/`` routes are never affected.

    >>> inject_faults(client, error_rate=0.5, status=503)  # doctest: +SKIP
    >>> inject_faults(client)                               # off again  # doctest: +SKIP

    Raises:
        NotASandboxError: the client points at Checkout.com (checked before any request).
        ValidationError: an unknown fault or a value out of range (422 ``faults_invalid``).
    """
    require_sandbox(client, "inject_faults()")
    return client.request("PUT", "/_sandbox/faults", body=faults)


def configure_webhooks(client: Client, url: str | WebhookSink, signature_key: str | None = None) -> ApiResult:
    """Tell the octopus_nb sandbox where to deliver events and how to sign them (``PUT /_sandbox/webhooks``).

    Pass a URL and key, or a running :class:`~octopus_nb.receiver.WebhookReceiver` (its url and
    key are used). Sandbox only: on Checkout.com, webhooks are set up in the Dashboard or the
    Workflows API.

    Note: the key is masked in ``client.history`` (``***``), but it is sent: use a test key.

    Raises:
        NotASandboxError: the client points at Checkout.com (checked before any request).
    """
    require_sandbox(client, "configure_webhooks()")
    if not isinstance(url, str):
        signature_key = signature_key or url.signature_key
        url = url.url
    if not signature_key:
        raise ValueError("Pass signature_key=: the sandbox signs every delivery with it.")
    return client.request("PUT", "/_sandbox/webhooks", body={"url": url, "signature_key": signature_key})


def webhook_chaos(client: Client, duplicate_rate: float = 0.0, reorder: bool = False, forged_rate: float = 0.0) -> ApiResult:
    """Make the sandbox's webhook delivery misbehave, to test a receiver; no arguments turns it off.

    Sandbox rules: with probability ``duplicate_rate`` (0..1) an event is delivered twice (same
    bytes, valid signature); with ``reorder`` the events of one action (approve: capture pending,
    then captured) arrive shuffled; with probability ``forged_rate`` (0..1) a forgery follows an
    event (a tampered copy with a wrong ``Cko-Signature``: answer it 401). Duplicates and forgeries
    are sent once, never retried; the delivery log marks each attempt's ``kind``. Draws come from
    the seeded sandbox's own chaos stream, so a notebook's chaos repeats exactly and ids don't move.

    Keeps the webhook URL and signing key already set (it reads ``GET /_sandbox/webhooks``, then
    sends ``PUT`` with that URL; the sandbox keeps the key it holds, so no key is sent or recorded).
    A later :func:`configure_webhooks` replaces the settings, chaos off.

    >>> webhook_chaos(client, duplicate_rate=0.5, reorder=True, forged_rate=0.5)  # doctest: +SKIP
    >>> webhook_chaos(client)                                                     # off again  # doctest: +SKIP

    Raises:
        NotASandboxError: the client points at Checkout.com (checked before any request).
        ValueError: no webhook URL is set yet: call :func:`configure_webhooks` first.
        ValidationError: a rate outside 0..1 or a ``reorder`` that is not a bool (422 ``webhooks_invalid``).
    """
    require_sandbox(client, "webhook_chaos()")
    url = client.request("GET", "/_sandbox/webhooks").get("url")
    if url is None:
        raise ValueError("Webhook chaos needs a webhook URL: call configure_webhooks(client, receiver) first.")
    body = {"url": url, "duplicate_rate": duplicate_rate, "reorder": reorder, "forged_rate": forged_rate}
    return client.request("PUT", "/_sandbox/webhooks", body=body)


def flush_webhooks(client: Client, timeout: float = 5.0) -> ApiResult:
    """Wait until the sandbox has attempted every delivery now due (``POST /_sandbox/webhooks/flush``).

    Deliveries run off the request path, so right after an API call some may still be in flight;
    call this before :func:`webhook_deliveries` for a complete, repeatable list. Answers
    ``{"settled": bool, "webhook_deliveries": n}``. Retries not yet due on the sandbox clock are
    not waited for (advance the clock first).

    Raises:
        NotASandboxError: the client points at Checkout.com (checked before any request).
    """
    require_sandbox(client, "flush_webhooks()")
    return client.request("POST", "/_sandbox/webhooks/flush", body={"timeout_seconds": timeout})


def webhook_deliveries(client: Client) -> ApiResultList:
    """Every finished delivery attempt of the sandbox, oldest first (``GET /_sandbox/webhooks/deliveries``).

    Each: ``event_id``, ``type``, ``url``, ``status_code`` (None when no answer), ``attempt``,
    ``attempted_at``; once :func:`webhook_chaos` has been on, also ``kind`` (``"delivery"``,
    ``"duplicate"`` or ``"forgery"``). Attempts still in flight are not listed yet:
    :func:`flush_webhooks` first.

    Raises:
        NotASandboxError: the client points at Checkout.com (checked before any request).
    """
    require_sandbox(client, "webhook_deliveries()")
    return client.request("GET", "/_sandbox/webhooks/deliveries")
