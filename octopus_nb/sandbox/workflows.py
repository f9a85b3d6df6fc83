"""The workflow registry: which webhook actions each event goes to, as Checkout.com's Workflows API configures it.

A workflow has conditions (every one must match an event) and webhook actions (each its own URL,
headers and HMAC-SHA256 key); an event goes to every action of every *active* workflow whose
conditions match. ``PUT /_sandbox/webhooks`` is a shortcut for one workflow (``shortcut``) that
receives every Octopus event, with webhook chaos on its action. Part of one sandbox's state, like
the outbox (never a global), kept in a dict or the state file's ``workflows`` table; ids come from
their own seeded stream, so adding a workflow never shifts resource ids. Not locked on its own:
``workflow_api`` and ``control_api`` call it under ``models.SandboxState``'s one lock.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .chaos import CHAOS_OFF, chaos_on, chaos_settings
from .exceptions import InvalidRequest, MalformedRequest, NotFound
from .outbox import Target
from .resources import Event
from .store import SqliteStore
from .validation import is_webhook_url
from .workflow_rules import (
    CONDITION_FIELDS,
    SIGNATURE_METHOD,
    action_errors,
    condition_errors,
    patch_errors,
    workflow_errors,
)

#: Sandbox rule: the one entity of the sandbox account (an ``entity`` condition matches it). A
#: constant, documented, so a workflow can name it without asking anything.
SANDBOX_ENTITY_ID = "ent_octopusnbsandboxentityaaaa"
#: The gateway events the sandbox emits for Octopus payments (contract §5), with their display names.
OCTOPUS_EVENTS = {
    "payment_pending": "Payment pending",
    "payment_capture_pending": "Payment capture pending",
    "payment_captured": "Payment captured",
    "payment_capture_declined": "Payment capture declined",
    "payment_declined": "Payment declined",
    "payment_expired": "Payment expired",
    "payment_refund_pending": "Payment refund pending",
    "payment_refunded": "Payment refunded",
    "payment_refund_declined": "Payment refund declined",
}
#: the name the ``PUT /_sandbox/webhooks`` shortcut's workflow is listed under
SHORTCUT_NAME = "Sandbox webhooks (PUT /_sandbox/webhooks)"
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


@dataclass
class Condition:
    id: str
    type: str  #: one of ``workflow_rules.CONDITION_FIELDS``
    values: Any  #: ``events`` (``{source: [types]}``), ``entities`` or ``processing_channels`` (lists)

    def matches(self, event: Event) -> bool:
        if self.type == "event":
            return event.type in self.values.get("gateway", ())
        if self.type == "entity":
            return SANDBOX_ENTITY_ID in self.values
        return event.processing_channel_id in self.values


@dataclass
class WebhookAction:
    id: str
    url: str
    key: str  #: write-only: never in an answer, a log or a repr
    headers: dict = field(default_factory=dict)
    retry: bool = True
    chaos: dict = field(default_factory=lambda: dict(CHAOS_OFF))  #: only the shortcut's action has any

    def __repr__(self) -> str:
        return f"WebhookAction(id={self.id!r}, url={self.url!r})"


@dataclass
class Workflow:
    id: str
    name: str
    active: bool = True
    conditions: list[Condition] = field(default_factory=list)
    actions: list[WebhookAction] = field(default_factory=list)
    shortcut: bool = False  #: made by ``PUT /_sandbox/webhooks``

    def matches(self, event: Event) -> bool:
        return self.active and all(condition.matches(event) for condition in self.conditions)

    def targets(self) -> list[Target]:
        return [
            Target(self.id, action.id, action.url, action.key, dict(action.headers), dict(action.chaos), action.retry, self.shortcut)
            for action in self.actions
        ]


class WorkflowRegistry:
    """The workflows of one sandbox, by id: CRUD as the Workflows API names it, and the matching."""

    def __init__(self, seed: int | None, store: SqliteStore | None = None, on_removed: Callable[..., None] = lambda *ids: None):
        #: workflow, condition and action ids: their own stream, so resource ids never shift
        self.random = random.Random(seed + 5) if seed is not None else random.SystemRandom()
        #: whether the stream was drawn from since a state file last saved it
        self.drawn = False
        self.workflows: dict[str, Workflow] = {} if store is None else store.table("workflows", encode_workflow, decode_workflow)
        #: told ``(workflow_id, action_id=None)`` when a workflow or an action goes away (the outbox drops its retries)
        self._on_removed = on_removed

    def new_id(self, prefix: str) -> str:
        self.drawn = True
        return prefix + "_" + "".join(self.random.choice(_BASE32) for _ in range(26))

    # --- workflows ---------------------------------------------------------------------------

    def get(self, workflow_id: str) -> Workflow:
        workflow = self.workflows.get(workflow_id)
        if workflow is None:
            raise NotFound("workflow_not_found")
        return workflow

    def all(self) -> list[Workflow]:
        return list(self.workflows.values())

    def create(self, body: Any) -> Workflow:
        refuse(body, workflow_errors)
        workflow = Workflow(self.new_id("wf"), body["name"], body.get("active", True))
        workflow.conditions = [self._condition(item) for item in body.get("conditions") or []]
        workflow.actions = [self._action(item) for item in body.get("actions") or []]
        self.workflows[workflow.id] = workflow
        return workflow

    def patch(self, workflow_id: str, body: Any) -> Workflow:
        workflow = self.get(workflow_id)
        refuse(body, patch_errors)
        workflow.name = body.get("name", workflow.name)
        workflow.active = body.get("active", workflow.active)
        if not workflow.active:
            self._on_removed(workflow.id)  # sandbox rule: a paused workflow's queued retries are dropped
        self.workflows[workflow.id] = workflow
        return workflow

    def delete(self, workflow_id: str) -> None:
        self.get(workflow_id)
        self.workflows.pop(workflow_id)
        self._on_removed(workflow_id)

    # --- conditions and actions ----------------------------------------------------------------

    def add_condition(self, workflow_id: str, body: Any) -> Condition:
        workflow = self.get(workflow_id)
        refuse(body, condition_errors)
        condition = self._condition(body)
        workflow.conditions.append(condition)
        self.workflows[workflow.id] = workflow
        return condition

    def update_condition(self, workflow_id: str, condition_id: str, body: Any) -> None:
        workflow = self.get(workflow_id)
        index = _index(workflow.conditions, condition_id, "workflow_condition_not_found")
        refuse(body, condition_errors)
        workflow.conditions[index] = Condition(condition_id, body["type"], body[CONDITION_FIELDS[body["type"]]])
        self.workflows[workflow.id] = workflow

    def remove_condition(self, workflow_id: str, condition_id: str) -> None:
        workflow = self.get(workflow_id)
        del workflow.conditions[_index(workflow.conditions, condition_id, "workflow_condition_not_found")]
        self.workflows[workflow.id] = workflow

    def add_action(self, workflow_id: str, body: Any) -> WebhookAction:
        workflow = self.get(workflow_id)
        refuse(body, action_errors)
        action = self._action(body)
        workflow.actions.append(action)
        self.workflows[workflow.id] = workflow
        return action

    def update_action(self, workflow_id: str, action_id: str, body: Any) -> None:
        """Replace an action's URL, headers, key and retry (sandbox rule: its queued deliveries keep what they had)."""
        workflow = self.get(workflow_id)
        index = _index(workflow.actions, action_id, "workflow_action_not_found")
        refuse(body, action_errors)
        replaced = self._action(body, action_id)
        replaced.chaos = workflow.actions[index].chaos
        workflow.actions[index] = replaced
        self.workflows[workflow.id] = workflow

    def remove_action(self, workflow_id: str, action_id: str) -> None:
        workflow = self.get(workflow_id)
        del workflow.actions[_index(workflow.actions, action_id, "workflow_action_not_found")]
        self.workflows[workflow.id] = workflow
        self._on_removed(workflow_id, action_id)

    # --- routing --------------------------------------------------------------------------------

    def targets(self, event: Event) -> list[Target]:
        """Every action of every active workflow whose conditions all match ``event`` (the outbox's router)."""
        return [target for workflow in self.all() if workflow.matches(event) for target in workflow.targets()]

    # --- the PUT /_sandbox/webhooks shortcut (sandbox rules, contract §6) ----------------------------

    def shortcut(self) -> Workflow | None:
        return next((workflow for workflow in self.all() if workflow.shortcut), None)

    def configure_shortcut(self, body: Any) -> bool:
        """Set the shortcut's URL, key and chaos; ``{}`` or a null ``url`` deletes it. True when chaos is on.

        A PUT replaces the settings: chaos fields left out are off. The key is write-only, so a
        body naming the URL already set may leave ``signature_key`` out to keep the key already
        set. Unknown fields, or chaos values out of range, are refused and nothing changes.

        Raises:
            MalformedRequest, InvalidRequest (``webhook_url_invalid``, ``signature_key_invalid``, ``webhooks_invalid``)
        """
        if not isinstance(body, dict):
            raise MalformedRequest()
        chaos = chaos_settings(body)
        url, key = body.get("url"), body.get("signature_key")
        current = self.shortcut()
        action = current.actions[0] if current is not None and current.actions else None
        codes = []
        if url is not None:
            if key is None and action is not None and url == action.url:
                key = action.key  # sandbox rule: the key already set is kept
            if not is_webhook_url(url):
                codes.append("webhook_url_invalid")
            if not (isinstance(key, str) and 1 <= len(key) <= 1024):
                codes.append("signature_key_invalid")
        if chaos is None:
            codes.append("webhooks_invalid")
        if codes or chaos is None:
            raise InvalidRequest(*codes)
        if url is None:
            if current is not None:
                self.delete(current.id)
            return False
        key = str(key)  # checked above: a signature key goes with every URL
        if current is None:
            current = Workflow(self.new_id("wf"), SHORTCUT_NAME, shortcut=True)
            current.conditions = [Condition(self.new_id("wfc"), "event", {"gateway": list(OCTOPUS_EVENTS)})]
            current.actions = [WebhookAction(self.new_id("wfa"), url, key)]
        current.active = True
        action = current.actions[0] if current.actions else WebhookAction(self.new_id("wfa"), url, key)
        action.url, action.key, action.chaos = url, key, chaos
        current.actions[:1] = [action]
        self.workflows[current.id] = current
        return chaos_on(chaos)

    def shortcut_settings(self) -> dict:
        """``GET /_sandbox/webhooks``: the URL, and the chaos when any is on (the key is never echoed)."""
        current = self.shortcut()
        action = current.actions[0] if current is not None and current.actions and current.active else None
        if action is None:
            return {"url": None}
        if not chaos_on(action.chaos):
            return {"url": action.url}
        return {"url": action.url, **action.chaos}

    # --- internals ------------------------------------------------------------------------------

    def _condition(self, body: dict) -> Condition:
        return Condition(self.new_id("wfc"), body["type"], body[CONDITION_FIELDS[body["type"]]])

    def _action(self, body: dict, action_id: str | None = None) -> WebhookAction:
        return WebhookAction(
            action_id or self.new_id("wfa"),
            body["url"],
            body["signature"]["key"],
            dict(body.get("headers") or {}),
            (body.get("retry") or {}).get("enabled", True),
        )


def refuse(body: Any, check: Callable[[Any], list[str]]) -> None:
    if not isinstance(body, dict):
        raise MalformedRequest()
    codes = check(body)
    if codes:
        raise InvalidRequest(*codes)


def _index(items: list, item_id: str, not_found: str) -> int:
    for index, item in enumerate(items):
        if item.id == item_id:
            return index
    raise NotFound(not_found)


def encode_workflow(workflow: Workflow) -> dict:
    return {
        "id": workflow.id,
        "name": workflow.name,
        "active": workflow.active,
        "shortcut": workflow.shortcut,
        "conditions": [condition.__dict__ for condition in workflow.conditions],
        "actions": [action.__dict__ for action in workflow.actions],
    }


def decode_workflow(data: dict) -> Workflow:
    return Workflow(
        data["id"],
        data["name"],
        data["active"],
        [Condition(**item) for item in data["conditions"]],
        [WebhookAction(**item) for item in data["actions"]],
        data["shortcut"],
    )


__all__ = ["SANDBOX_ENTITY_ID", "OCTOPUS_EVENTS", "SIGNATURE_METHOD", "Workflow", "WorkflowRegistry"]
