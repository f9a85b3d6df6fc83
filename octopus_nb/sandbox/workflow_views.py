"""The Workflows API on the wire: pure functions from workflows, events and attempts to JSON-ready dicts.

Shapes follow checkout-sdk-python 4.8.1's integration tests (``tests/workflows/``) and the
response models of Checkout.com's Java SDK (``GetWorkflowResponse``, ``GetEventResponse``,
``WorkflowActionInvocationsResponse``). Sandbox rule: a webhook action's signature key is
write-only, so ``signature`` carries its ``method`` and never the key.
"""

from __future__ import annotations

import base64
import hashlib

from .clock import isoformat
from .outbox import DeliveryAttempt
from .resources import Event
from .workflow_rules import CONDITION_FIELDS
from .workflows import OCTOPUS_EVENTS, SIGNATURE_METHOD, Condition, WebhookAction, Workflow


def workflow_href(base_url: str, workflow_id: str) -> str:
    return f"{base_url}/workflows/{workflow_id}"


def created_view(base_url: str, workflow: Workflow) -> dict:
    """The 201 answer to ``POST /workflows``."""
    return {"id": workflow.id, "_links": {"self": {"href": workflow_href(base_url, workflow.id)}}}


def summary_view(base_url: str, workflow: Workflow) -> dict:
    """One entry of ``GET /workflows``'s ``data``."""
    return {
        "id": workflow.id,
        "name": workflow.name,
        "active": workflow.active,
        "_links": {"self": {"href": workflow_href(base_url, workflow.id)}},
    }


def condition_view(condition: Condition) -> dict:
    return {"id": condition.id, "type": condition.type, CONDITION_FIELDS[condition.type]: condition.values}


def action_view(action: WebhookAction) -> dict:
    return {
        "id": action.id,
        "type": "webhook",
        "url": action.url,
        "headers": dict(action.headers),
        "signature": {"method": SIGNATURE_METHOD},
        "retry": {"enabled": action.retry},
    }


def workflow_view(base_url: str, workflow: Workflow) -> dict:
    """``GET /workflows/{id}``: the workflow with its conditions and actions."""
    return {
        **summary_view(base_url, workflow),
        "conditions": [condition_view(condition) for condition in workflow.conditions],
        "actions": [action_view(action) for action in workflow.actions],
    }


def event_types_view() -> list:
    """``GET /workflows/event-types``: the one source the sandbox emits, and its Octopus events."""
    return [
        {
            "id": "gateway",
            "display_name": "Gateway",
            "description": "Events of payments processed through the gateway (the Octopus events the sandbox emits)",
            "events": [
                {"id": name, "display_name": display, "description": f"{display} (Octopus)"} for name, display in OCTOPUS_EVENTS.items()
            ],
        }
    ]


def event_href(base_url: str, event_id: str) -> str:
    return f"{base_url}/workflows/events/{event_id}"


def subject_events_view(base_url: str, events: list[Event]) -> dict:
    """``GET /workflows/events/subject/{id}``: the subject's events, oldest first."""
    return {
        "data": [
            {
                "id": event.id,
                "type": event.type,
                "timestamp": isoformat(event.timestamp),
                "_links": {"self": {"href": event_href(base_url, event.id)}},
            }
            for event in events
        ]
    }


def invocation_status(attempts: list[DeliveryAttempt], queued: bool) -> str:
    """``successful`` once an attempt got a 2xx, ``pending`` while one is queued or retrying, else ``failed``."""
    if any(attempt.status_code is not None and 200 <= attempt.status_code < 300 for attempt in attempts):
        return "successful"
    return "pending" if queued else "failed"


def event_view(base_url: str, event: Event, invoked: list[tuple[str | None, str | None, str]]) -> dict:
    """``GET /workflows/events/{id}`` and ``GET /events/{id}``: the envelope as delivered, and its actions.

    ``invoked``: ``(workflow_id, action_id, status)`` of every action the event was routed to.
    """
    return {
        **event.body,
        "action_invocations": [
            {
                "workflow_id": workflow_id,
                "workflow_action_id": action_id,
                "status": status,
                "_links": {"self": {"href": f"{event_href(base_url, event.id)}/actions/{action_id}"}},
            }
            for workflow_id, action_id, status in invoked
        ],
    }


def invocations_view(event: Event, workflow_id: str, action_id: str, attempts: list[DeliveryAttempt], queued: bool) -> dict:
    """``GET /workflows/events/{event}/actions/{action}``: each delivery attempt of the event to the action."""
    return {
        "workflow_id": workflow_id,
        "event_id": event.id,
        "workflow_action_id": action_id,
        "action_type": "webhook",
        "status": invocation_status(attempts, queued),
        "action_invocations": [
            {
                "invocation_id": invocation_id(attempt),
                "timestamp": isoformat(attempt.attempted_at),
                "retry": attempt.attempt > 1,
                "succeeded": attempt.status_code is not None and 200 <= attempt.status_code < 300,
                "final": attempt.final,
                "result_details": {"status_code": attempt.status_code, "attempt": attempt.attempt},
            }
            for attempt in attempts
        ],
    }


def invocation_id(attempt: DeliveryAttempt) -> str:
    """Sandbox rule: an invocation's id is derived from its place in the delivery log (no stream drawn)."""
    digest = hashlib.sha256(f"{attempt.event_id}:{attempt.action_id}:{attempt.seq}".encode()).digest()
    return "ainv_" + base64.b32encode(digest).decode().lower()[:26]
