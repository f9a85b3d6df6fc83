"""HTTP for the Workflows API: each handler parses, makes one ``state.workflows`` call and sends.

Status codes as Checkout.com's SDKs expect them: 201 with the new id for a workflow, condition or
action; 200 for reads and PATCH; an empty 204 for deletes, updates of a condition or an action,
and a test; an empty 202 for a reflow (accepted, delivered off the request path). The routes
are in ``urls.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .exceptions import SandboxError
from .handlers import ApiHandler, encode


class WorkflowHandler(ApiHandler):
    """An API route whose operation may answer nothing (None → an empty body)."""

    def outcome(self, operation: Callable[[], Any], status: int) -> tuple[int, bytes]:
        try:
            result = operation()
        except SandboxError as error:
            return self.error_outcome(error)
        return status, b"" if result is None else encode(result)

    @property
    def api(self):  # noqa: ANN201 - the state's WorkflowApi
        return self.state.workflows


class WorkflowsHandler(WorkflowHandler):
    async def get(self) -> None:
        await self.perform(self.api.list_workflows)

    async def post(self) -> None:
        await self.perform(lambda: self.api.create(self.json_body()), 201)


class WorkflowHandlerById(WorkflowHandler):
    #: Sandbox rule: a lower-case ``patch`` is a PATCH. checkout-sdk-node 5.2.1 sends it so (fetch
    #: upper-cases the other verbs, not PATCH), and its workflow updates work against Checkout.com.
    SUPPORTED_METHODS = (*WorkflowHandler.SUPPORTED_METHODS, "patch")

    async def get(self, workflow_id: str) -> None:
        await self.perform(lambda: self.api.get(workflow_id))

    async def patch(self, workflow_id: str) -> None:
        await self.perform(lambda: self.api.patch(workflow_id, self.json_body()))

    async def delete(self, workflow_id: str) -> None:
        await self.perform(lambda: self.api.delete(workflow_id), 204)


class ConditionsHandler(WorkflowHandler):
    async def post(self, workflow_id: str) -> None:
        await self.perform(lambda: self.api.add_condition(workflow_id, self.json_body()), 201)


class ConditionHandler(WorkflowHandler):
    async def put(self, workflow_id: str, condition_id: str) -> None:
        await self.perform(lambda: self.api.update_condition(workflow_id, condition_id, self.json_body()), 204)

    async def delete(self, workflow_id: str, condition_id: str) -> None:
        await self.perform(lambda: self.api.remove_condition(workflow_id, condition_id), 204)


class ActionsHandler(WorkflowHandler):
    async def post(self, workflow_id: str) -> None:
        await self.perform(lambda: self.api.add_action(workflow_id, self.json_body()), 201)


class ActionHandler(WorkflowHandler):
    async def put(self, workflow_id: str, action_id: str) -> None:
        await self.perform(lambda: self.api.update_action(workflow_id, action_id, self.json_body()), 204)

    async def delete(self, workflow_id: str, action_id: str) -> None:
        await self.perform(lambda: self.api.remove_action(workflow_id, action_id), 204)


class EventTypesHandler(WorkflowHandler):
    async def get(self) -> None:
        await self.perform(self.api.event_types)


class TestWorkflowHandler(WorkflowHandler):
    async def post(self, workflow_id: str) -> None:
        await self.perform(lambda: self.api.test(workflow_id, self.json_body()), 204)


class EventHandler(WorkflowHandler):
    """``GET /workflows/events/{id}`` and ``GET /events/{id}`` (the href in an event's ``_links.self``)."""

    async def get(self, event_id: str) -> None:
        await self.perform(lambda: self.api.event(event_id))


class SubjectEventsHandler(WorkflowHandler):
    async def get(self, subject_id: str) -> None:
        await self.perform(lambda: self.api.subject_events(subject_id))


class InvocationsHandler(WorkflowHandler):
    async def get(self, event_id: str, action_id: str) -> None:
        await self.perform(lambda: self.api.invocations(event_id, action_id))


class ReflowEventHandler(WorkflowHandler):
    """``/workflows/events/{event}/reflow`` and ``.../workflow/{workflow}/reflow`` (no body; the SDKs send none)."""

    async def post(self, event_id: str, workflow_id: str | None = None) -> None:
        await self.perform(lambda: self.api.reflow_event(event_id, workflow_id), 202)


class ReflowSubjectHandler(WorkflowHandler):
    async def post(self, subject_id: str, workflow_id: str | None = None) -> None:
        await self.perform(lambda: self.api.reflow_subject(subject_id, workflow_id), 202)


class ReflowHandler(WorkflowHandler):
    async def post(self) -> None:
        await self.perform(lambda: self.api.reflow(self.json_body()), 202)
