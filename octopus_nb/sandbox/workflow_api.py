"""The Workflows API's operations (``/workflows``, ``/workflows/events``, ``/events``), under the state's one lock.

What the handlers in ``workflow_handlers.py`` call: each method takes plain data, makes its
change through the registry (``workflows.py``), the ledger (events) and the outbox (deliveries,
attempts), and returns what ``workflow_views.py`` puts on the wire (None: an empty answer).
Reflow, as Checkout.com documents it, is a new delivery of the same event (same id, same body,
signed with the action's key now) to the actions of the active workflows it matches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import workflow_views as wire
from .clock import isoformat
from .exceptions import NotFound
from .outbox import WebhookOutbox
from .resources import Event
from .views import EVENT_SOURCE, EVENT_VERSION
from .workflow_rules import event_types_errors, reflow_errors
from .workflows import OCTOPUS_EVENTS, Workflow, WorkflowRegistry, refuse

if TYPE_CHECKING:
    from .models import SandboxState

#: Sandbox rule: what a test event (``POST /workflows/{id}/test``) carries as its payment.
TEST_AMOUNT, TEST_CURRENCY, TEST_REFERENCE = 1000, "HKD", "workflow-test"


class WorkflowApi:
    """One sandbox's Workflows API; ``SandboxState.workflows``."""

    def __init__(self, state: SandboxState, registry: WorkflowRegistry, outbox: WebhookOutbox):
        #: the state whose lock, clock, ledger (events) and base URL these operations use
        self._state, self.registry, self._outbox = state, registry, outbox

    @property
    def _base(self) -> str:
        return self._state.base_url

    # --- workflows ---------------------------------------------------------------------------

    def create(self, body: Any) -> dict:
        with self._state.transaction():
            return wire.created_view(self._base, self.registry.create(body))

    def list_workflows(self) -> dict:
        with self._state.transaction():
            return {"data": [wire.summary_view(self._base, workflow) for workflow in self.registry.all()]}

    def get(self, workflow_id: str) -> dict:
        with self._state.transaction():
            return wire.workflow_view(self._base, self.registry.get(workflow_id))

    def patch(self, workflow_id: str, body: Any) -> dict:
        with self._state.transaction():
            workflow = self.registry.patch(workflow_id, body)
            return {"name": workflow.name, "active": workflow.active}

    def delete(self, workflow_id: str) -> None:
        with self._state.transaction():
            self.registry.delete(workflow_id)

    def add_condition(self, workflow_id: str, body: Any) -> dict:
        with self._state.transaction():
            return {"id": self.registry.add_condition(workflow_id, body).id}

    def update_condition(self, workflow_id: str, condition_id: str, body: Any) -> None:
        with self._state.transaction():
            self.registry.update_condition(workflow_id, condition_id, body)

    def remove_condition(self, workflow_id: str, condition_id: str) -> None:
        with self._state.transaction():
            self.registry.remove_condition(workflow_id, condition_id)

    def add_action(self, workflow_id: str, body: Any) -> dict:
        with self._state.transaction():
            return {"id": self.registry.add_action(workflow_id, body).id}

    def update_action(self, workflow_id: str, action_id: str, body: Any) -> None:
        with self._state.transaction():
            self.registry.update_action(workflow_id, action_id, body)

    def remove_action(self, workflow_id: str, action_id: str) -> None:
        with self._state.transaction():
            self.registry.remove_action(workflow_id, action_id)

    def event_types(self) -> list:
        return wire.event_types_view()

    def test(self, workflow_id: str, body: Any) -> None:
        """Sandbox rule: one test event of each listed type, sent to this workflow's actions only.

        Whatever its conditions and ``active``: it is a test of the actions. Test events are
        recorded like any other (fetchable, reflowable) under a test subject of their own (``pay_…``
        from the workflow id stream, so resource ids never shift).
        """
        with self._state.transaction():
            workflow = self.registry.get(workflow_id)
            refuse(body, lambda document: event_types_errors(document, tuple(OCTOPUS_EVENTS)))
            subject = self.registry.new_id("pay")
            events = [self._test_event(event_type, subject) for event_type in body["event_types"]]
            for event in events:
                self._state.ledger.events.append(event)
            self._outbox.queue(events, workflow.targets())

    def _test_event(self, event_type: str, subject: str) -> Event:
        now, event_id = self._state.clock.now(), self.registry.new_id("evt")
        body = {
            "id": event_id,
            "source": EVENT_SOURCE,
            "type": event_type,
            "timestamp": isoformat(now),
            "version": EVENT_VERSION,
            "data": {
                "id": subject,
                "amount": TEST_AMOUNT,
                "currency": TEST_CURRENCY,
                "reference": TEST_REFERENCE,
                "processed_on": isoformat(now),
                "status": "Pending",
            },
            "_links": {
                "self": {"href": f"{self._base}/events/{event_id}"},
                "subject": {"href": f"{self._base}/workflows/events/subject/{subject}"},
            },
        }
        return Event(event_id, event_type, now, subject, None, body, self._state.default_processing_channel_id)

    # --- events ------------------------------------------------------------------------------

    def event(self, event_id: str) -> dict:
        """``GET /workflows/events/{id}`` (and ``/events/{id}``, the href in the event's ``_links.self``)."""
        with self._state.transaction():
            event = self._event(event_id)
            return wire.event_view(self._base, event, self._invoked(event))

    def subject_events(self, subject_id: str) -> dict:
        with self._state.transaction():
            return wire.subject_events_view(self._base, self._subject(subject_id))

    def invocations(self, event_id: str, action_id: str) -> dict:
        """Every attempt to deliver the event to the action; 404 if the event never went to it."""
        with self._state.transaction():
            event = self._event(event_id)
            attempts = [a for a in self._outbox.attempts_of(event.id) if a.action_id == action_id]
            queued = [d for d in self._outbox.queued_for(event.id) if d.action_id == action_id]
            if not attempts and not queued:
                raise NotFound("workflow_action_not_found")
            workflow_id = attempts[0].workflow_id if attempts else queued[0].workflow_id
            return wire.invocations_view(event, workflow_id or "", action_id, attempts, bool(queued))

    # --- reflow ------------------------------------------------------------------------------

    def reflow_event(self, event_id: str, workflow_id: str | None = None) -> None:
        with self._state.transaction():
            self._reflow([self._event(event_id)], self._workflows([workflow_id] if workflow_id else None))

    def reflow_subject(self, subject_id: str, workflow_id: str | None = None) -> None:
        with self._state.transaction():
            self._reflow(self._subject(subject_id), self._workflows([workflow_id] if workflow_id else None))

    def reflow(self, body: Any) -> None:
        """``POST /workflows/events/reflow``: ``events`` or ``subjects``, optionally only to ``workflows``.

        Every id must be known (else 404, and nothing is reflowed).
        """
        with self._state.transaction():
            refuse(body, reflow_errors)
            workflows = self._workflows(body.get("workflows"))
            if body.get("events") is not None:
                events = [self._event(event_id) for event_id in body["events"]]
            else:
                events = [event for subject in body["subjects"] for event in self._subject(subject)]
            self._reflow(events, workflows)

    def _reflow(self, events: list[Event], workflows: list[Workflow] | None) -> None:
        """Each event again, to the active workflows it matches (of ``workflows``, if given)."""
        chosen = self.registry.all() if workflows is None else workflows
        for event in events:
            targets = [target for workflow in chosen if workflow.matches(event) for target in workflow.targets()]
            self._outbox.queue([event], targets)

    # --- lookups -----------------------------------------------------------------------------

    def _event(self, event_id: str) -> Event:
        self._state.ledger.expire_due()
        found = self._state.ledger.events.where("id", event_id)
        if not found:
            raise NotFound("event_not_found")
        return found[0]

    def _subject(self, subject_id: str) -> list[Event]:
        self._state.ledger.expire_due()
        events = self._state.ledger.events.where("payment_id", subject_id)
        if not events:
            raise NotFound("subject_not_found")
        return events

    def _workflows(self, workflow_ids: list[str] | None) -> list[Workflow] | None:
        if workflow_ids is None:
            return None
        return [self.registry.get(workflow_id) for workflow_id in workflow_ids]

    def _invoked(self, event: Event) -> list[tuple[str | None, str | None, str]]:
        attempts, queued = self._outbox.attempts_of(event.id), self._outbox.queued_for(event.id)
        pairs = dict.fromkeys([(a.workflow_id, a.action_id) for a in attempts] + [(d.workflow_id, d.action_id) for d in queued])
        return [
            (
                workflow_id,
                action_id,
                wire.invocation_status([a for a in attempts if a.action_id == action_id], any(d.action_id == action_id for d in queued)),
            )
            for workflow_id, action_id in pairs
        ]
