"""Scenarios (sandbox rules): a state to reach, written as steps; the format, its checks and the built-ins.

A scenario is ``{"steps": [...]}``; each step is a mapping with one key, acting on the setup and
the payment the scenario made last::

    {"create": {...}}            POST /payments/setups with this body (settings included)
    {"update": {...}}            PUT /payments/setups/{id} with this body
    {"confirm": {}}              POST /payments/setups/{id}/confirm/octopus
    {"customer": "approve"}      or "decline", "expire", "fail_capture": the customer acts
    {"refund": {"amount"?: N}}   POST /payments/{id}/refunds (no amount: what is left)
    {"advance_seconds": N}       POST /_sandbox/clock
    {"faults": {...}}            PUT /_sandbox/faults
    {"webhooks": {...}}          PUT /_sandbox/webhooks
    {"expect": {"status": S}}    the latest payment's status is S (or "setup_status": the setup's readiness)

Written once here for both runners: the sandbox's (``POST /_sandbox/scenarios``, model operations
under the account's lock) and the toolkit's (``octopus_nb.run_scenario``, the same calls over HTTP).
Either is atomic: a step that fails leaves the account as it was before the first.
"""

from __future__ import annotations

from typing import Any

from .contract import CUSTOMER_ACTIONS

#: Every step kind, and what its value must be.
STEP_KINDS = ("create", "update", "confirm", "customer", "refund", "advance_seconds", "faults", "webhooks", "expect")
#: What an ``expect`` step may check.
EXPECTATIONS = ("status", "setup_status")
#: The steps that need a setup made earlier, and those that need a payment.
NEEDS_SETUP = {"update", "confirm"}
NEEDS_PAYMENT = {"customer", "refund"}
#: Sandbox rule: the built-ins' setup (ready for Octopus: HKD, an amount ending in 0, both redirect URLs).
SCENARIO_SETUP = {
    "amount": 1000,
    "currency": "HKD",
    "reference": "SCENARIO-0001",
    "description": "Made by a scenario",
    "settings": {"success_url": "https://example.com/payments/success", "failure_url": "https://example.com/payments/failure"},
}
_READY: list[dict] = [{"create": SCENARIO_SETUP}, {"expect": {"setup_status": "ready"}}]
_PENDING = [*_READY, {"confirm": {}}, {"expect": {"status": "Pending"}}]
_CAPTURED = [*_PENDING, {"customer": "approve"}, {"expect": {"status": "Captured"}}]
#: The named scenarios: one per state a payment can be in.
BUILT_IN_SCENARIOS: dict[str, list[dict]] = {
    "ready": _READY,
    "pending": _PENDING,
    "captured": _CAPTURED,
    "declined": [*_PENDING, {"customer": "decline"}, {"expect": {"status": "Declined"}}],
    "expired": [*_PENDING, {"advance_seconds": 15 * 60 + 1}, {"expect": {"status": "Expired"}}],
    "capture_failed": [*_PENDING, {"customer": "fail_capture"}, {"expect": {"status": "Declined"}}],
    "partially_refunded": [*_CAPTURED, {"refund": {"amount": 400}}, {"expect": {"status": "Partially Refunded"}}],
    "refunded": [*_CAPTURED, {"refund": {}}, {"expect": {"status": "Refunded"}}],
}
#: Sandbox rule: a scenario has at most this many steps.
MAX_STEPS = 200


class ScenarioError(ValueError):
    """A scenario that can't run, or stopped: which step (index in ``steps``, from 0; None: the whole) and why."""

    def __init__(self, step: int | None, reason: str, error_codes: list[str] | None = None):
        where = "the scenario" if step is None else f"step {step}"
        super().__init__(f"{where}: {reason}")
        self.step, self.reason, self.error_codes = step, reason, list(error_codes or [])


class UnknownScenario(KeyError):
    """No built-in scenario has this name."""


def scenario_steps(document: Any) -> tuple[str | None, list[dict]]:  # noqa: ANN401 - a request's JSON
    """The name and the checked steps of ``{"name": N}`` or ``{"steps": [...]}``.

    Raises:
        UnknownScenario: ``name`` is not a built-in (:data:`BUILT_IN_SCENARIOS`).
        ScenarioError: the document or a step is malformed (nothing has run yet).
    """
    if not isinstance(document, dict) or len(document) != 1 or not set(document) <= {"name", "steps"}:
        raise ScenarioError(None, 'a scenario is {"name": N} or {"steps": [...]}')
    if "name" in document:
        name = document["name"]
        if not isinstance(name, str) or name not in BUILT_IN_SCENARIOS:
            raise UnknownScenario(name)
        return name, BUILT_IN_SCENARIOS[name]
    steps = document["steps"]
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        raise ScenarioError(None, f"steps must be a list of 1 to {MAX_STEPS} steps")
    made = set()
    for index, step in enumerate(steps):
        kind = check_step(index, step)
        if kind in NEEDS_SETUP | NEEDS_PAYMENT and "create" not in made:
            raise ScenarioError(index, f"{kind} needs a setup: create one in an earlier step")
        if kind in NEEDS_PAYMENT and "confirm" not in made:
            raise ScenarioError(index, f"{kind} needs a payment: confirm in an earlier step")
        made.add(kind)
    return None, steps


def check_step(index: int, step: Any) -> str:  # noqa: ANN401 - a request's JSON
    """The kind of a well-formed step; ``ScenarioError`` naming ``index`` otherwise."""
    if not isinstance(step, dict) or len(step) != 1:
        raise ScenarioError(index, "a step is a mapping with one key")
    ((kind, value),) = step.items()
    if kind not in STEP_KINDS:
        raise ScenarioError(index, f"unknown step {kind!r}: use one of {', '.join(STEP_KINDS)}")
    if kind == "customer":
        if value not in CUSTOMER_ACTIONS:
            raise ScenarioError(index, f"customer must be one of {', '.join(CUSTOMER_ACTIONS)}")
    elif kind == "advance_seconds":
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 366 * 24 * 3600:
            raise ScenarioError(index, "advance_seconds must be a number of seconds, 0 to 366 days")
    elif not isinstance(value, dict):
        raise ScenarioError(index, f"{kind} takes a mapping")
    elif kind == "confirm" and value:
        raise ScenarioError(index, "confirm takes {} (Octopus is the one payment method)")
    elif kind == "refund" and not set(value) <= {"amount", "reference"}:
        raise ScenarioError(index, "refund takes amount and reference only")
    elif kind == "expect" and (not value or not set(value) <= set(EXPECTATIONS) or not all(isinstance(v, str) for v in value.values())):
        raise ScenarioError(index, 'expect takes "status" and/or "setup_status", each a string')
    return kind


def check_expectation(index: int, expected: dict, status: str | None, setup_status: str | None) -> None:
    """Raise ``ScenarioError`` if the latest payment's status or the setup's readiness is not as expected."""
    found = {"status": status, "setup_status": setup_status}
    for name, wanted in expected.items():
        if found[name] != wanted:
            raise ScenarioError(index, f"expected {name} {wanted!r}, found {found[name]!r}", ["expectation_failed"])
