"""Webhooks through Checkout.com's Workflows API: subscribe a receiver, list and remove workflows, events, reflow.

Every function here goes through the public API (``/workflows``), never ``/_sandbox/``, so it
works the same on the embedded sandbox and on Checkout.com. The signature key is sent, never
recorded: ``client.history`` masks ``signature.key`` (``***``), and the API never answers it.

>>> with WebhookReceiver("a-test-signing-key") as receiver:  # doctest: +SKIP
...     workflow = subscribe(client, receiver)
...     ...  # confirm, the customer pays
...     payment_events(client, payment["id"])   # every event of the payment, oldest first
...     reflow(client, subjects=[payment["id"]])  # deliver them again (the receiver keeps each once)
...     remove_workflow(client, workflow["id"])
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .client import ApiResult, Client, path_segment
from .control import WebhookSink

#: The Octopus events (contract §5): what :func:`subscribe` asks for unless told otherwise.
OCTOPUS_EVENT_TYPES = (
    "payment_pending",
    "payment_capture_pending",
    "payment_captured",
    "payment_capture_declined",
    "payment_declined",
    "payment_expired",
    "payment_refund_pending",
    "payment_refunded",
    "payment_refund_declined",
)
#: the name :func:`subscribe` gives a workflow (what :func:`remove_workflows` removes by default)
DEFAULT_NAME = "octopus-nb receiver"


def subscribe(
    client: Client,
    url: str | WebhookSink,
    signature_key: str | None = None,
    *,
    event_types: Iterable[str] = OCTOPUS_EVENT_TYPES,
    name: str = DEFAULT_NAME,
    headers: Mapping[str, str] | None = None,
    idempotency_key: str | None = None,
) -> ApiResult:
    """Create a workflow that POSTs ``event_types`` to ``url``, signed with ``signature_key`` (``POST /workflows``).

    Pass a URL and key, or a running :class:`~octopus_nb.receiver.WebhookReceiver` (its url and
    key are used). Returns ``{"id": "wf_…", "_links": ...}``. On Checkout.com the URL must be
    reachable from the internet; the embedded sandbox delivers to loopback.

    Raises:
        ValueError: no signature key, or no event types.
        ValidationError: the API refused the workflow (422: a URL that is not http(s), ...).
    """
    if not isinstance(url, str):
        signature_key = signature_key or url.signature_key
        url = url.url
    types = list(event_types)
    if not signature_key:
        raise ValueError("Pass signature_key=: each delivery is signed with it (Cko-Signature); the receiver checks it.")
    if not types:
        raise ValueError("Pass at least one event type (octopus_nb.workflows.OCTOPUS_EVENT_TYPES lists them).")
    body = {
        "name": name,
        "active": True,
        "conditions": [{"type": "event", "events": {"gateway": types}}],
        "actions": [
            {"type": "webhook", "url": url, "headers": dict(headers or {}), "signature": {"method": "HMACSHA256", "key": signature_key}}
        ],
    }
    return client.request("POST", "/workflows", body=body, idempotency_key=idempotency_key)


def list_workflows(client: Client) -> list:
    """Every workflow of the account (``GET /workflows``): ``id``, ``name``, ``active``, ``_links``."""
    return client.request("GET", "/workflows").get("data", [])


def get_workflow(client: Client, workflow_id: str) -> ApiResult:
    """One workflow with its conditions and actions (``GET /workflows/{id}``); signature keys are never answered."""
    return client.request("GET", f"/workflows/{path_segment(workflow_id)}")


def set_workflow_active(client: Client, workflow_id: str, active: bool) -> ApiResult:
    """Pause (``False``) or resume a workflow (``PATCH /workflows/{id}``); a paused workflow receives nothing."""
    return client.request("PATCH", f"/workflows/{path_segment(workflow_id)}", body={"active": active})


def remove_workflow(client: Client, workflow_id: str) -> None:
    """Delete a workflow (``DELETE /workflows/{id}``); deliveries not yet made to it are dropped."""
    client.request("DELETE", f"/workflows/{path_segment(workflow_id)}")


def remove_workflows(client: Client, name: str = DEFAULT_NAME) -> list[str]:
    """Delete every workflow called ``name`` (what :func:`subscribe` made); returns the ids removed.

    Safe to run again: with none left it removes nothing, so a notebook can clean up on every run.
    """
    removed = [workflow["id"] for workflow in list_workflows(client) if workflow.get("name") == name]
    for workflow_id in removed:
        remove_workflow(client, workflow_id)
    return removed


def payment_events(client: Client, payment_id: str) -> list:
    """Every event of a payment, oldest first (``GET /workflows/events/subject/{id}``): ``id``, ``type``, ``timestamp``."""
    return client.request("GET", f"/workflows/events/subject/{path_segment(payment_id)}").get("data", [])


def get_event(client: Client, event_id: str) -> ApiResult:
    """One event as delivered, with the actions it went to and their status (``GET /workflows/events/{id}``)."""
    return client.request("GET", f"/workflows/events/{path_segment(event_id)}")


def action_invocations(client: Client, event_id: str, action_id: str) -> ApiResult:
    """Each attempt to deliver an event to one webhook action (``GET /workflows/events/{event}/actions/{action}``)."""
    return client.request("GET", f"/workflows/events/{path_segment(event_id)}/actions/{path_segment(action_id)}")


def reflow(
    client: Client,
    *,
    events: Iterable[str] | None = None,
    subjects: Iterable[str] | None = None,
    workflows: Iterable[str] | None = None,
) -> ApiResult:
    """Deliver past events again, by event id or by payment (``POST /workflows/events/reflow``).

    A reflow is a new delivery of the *same* event (same id): a receiver that keeps each event
    once (like :class:`~octopus_nb.receiver.WebhookReceiver`) records nothing twice. Give
    ``events`` or ``subjects`` (payment ids), and optionally ``workflows`` to reflow to those only.

    Raises:
        ValueError: neither or both of ``events`` and ``subjects``.
        NotFoundError: an id the account does not know.
    """
    if (events is None) == (subjects is None):
        raise ValueError("Pass events=[...] or subjects=[...] (payment ids), not both.")
    body: dict = {"events": list(events)} if events is not None else {"subjects": list(subjects or ())}
    if workflows is not None:
        body["workflows"] = list(workflows)
    return client.request("POST", "/workflows/events/reflow", body=body)


__all__ = [
    "OCTOPUS_EVENT_TYPES",
    "action_invocations",
    "get_event",
    "get_workflow",
    "list_workflows",
    "payment_events",
    "reflow",
    "remove_workflow",
    "remove_workflows",
    "set_workflow_active",
    "subscribe",
]
