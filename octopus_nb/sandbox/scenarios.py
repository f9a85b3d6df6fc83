"""``POST /_sandbox/scenarios`` (sandbox rules): run a scenario's steps as model operations, all or nothing.

The format and the built-ins are ``octopus_nb._shared.scenarios``. Here each step is one operation
of a :class:`~octopus_nb.sandbox.models.SandboxState` (``payment_api`` or ``control``), the one its route makes, all under the
account's lock, so no other request sees a scenario half done. A snapshot is taken first: if a step
is refused or an expectation fails, the account is filled back from it, so it is exactly as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._shared.scenarios import ScenarioError, UnknownScenario, check_expectation, scenario_steps
from . import snapshots
from .exceptions import InvalidRequest, NotFound, SandboxError
from .models import SandboxState


class ScenarioFailed(InvalidRequest):
    """422 ``scenario_invalid``: the scenario is malformed or a step failed; nothing was changed."""

    error_type = "scenario_invalid"

    def __init__(self, step: int | None, reason: str, *error_codes: str):
        super().__init__(*error_codes)
        self.step, self.reason = step, reason


class _Run:
    """What a scenario made so far: the steps act on the latest setup and payment."""

    def __init__(self, state: SandboxState):
        self.state = state
        self.setups: list[str] = []
        self.payments: list[str] = []
        self.refunds: list[str] = []

    def step(self, index: int, kind: str, value: Any) -> None:  # noqa: ANN401 - a step's JSON
        state = self.state
        setup_id = self.setups[-1] if self.setups else ""
        payment_id = self.payments[-1] if self.payments else ""
        if kind == "create":
            self.setups.append(state.payment_api.create_payment_setup(value)["id"])
        elif kind == "update":
            state.payment_api.update_payment_setup(setup_id, value)
        elif kind == "confirm":
            confirmed = state.payment_api.confirm_payment_setup(setup_id, "octopus")
            self.payments.append(confirmed.get("latest_payment", confirmed)["id"])
        elif kind == "customer":
            operations: dict[str, Callable[[str], dict]] = {
                "approve": state.payment_api.approve_payment,
                "decline": state.payment_api.decline_payment,
                "expire": state.payment_api.expire_payment,
                "fail_capture": state.payment_api.fail_capture,
            }
            operations[value](payment_id)
        elif kind == "refund":
            self.refunds.append(state.payment_api.refund_payment(payment_id, value)["action_id"])
        elif kind == "advance_seconds":
            state.control.advance_clock(value)
        elif kind == "faults":
            state.control.set_faults(value)
        elif kind == "webhooks":
            state.control.configure_webhooks(value)
        else:
            status = state.payment_api.get_payment(payment_id)["status"] if payment_id else None
            setup_status = state.payment_api.get_payment_setup(setup_id)["payment_methods"]["octopus"]["status"] if setup_id else None
            check_expectation(index, value, status, setup_status)

    def answer(self, name: str | None) -> dict:
        status = self.state.payment_api.get_payment(self.payments[-1])["status"] if self.payments else None
        return {
            "name": name,
            "setup_id": self.setups[-1] if self.setups else None,
            "payment_id": self.payments[-1] if self.payments else None,
            "status": status,
            "ids": {"setups": self.setups, "payments": self.payments, "refunds": self.refunds},
        }


#: marks where a scenario starts: returns what puts the account back there, and what forgets the mark
Checkpoint = Callable[[], tuple[Callable[[], None], Callable[[], None]]]


def in_memory_checkpoint(state: SandboxState) -> Checkpoint:
    """A snapshot in memory, filled back into ``state`` itself (the lock is held throughout)."""

    def mark() -> tuple[Callable[[], None], Callable[[], None]]:
        before = snapshots.take(state)
        return (lambda: snapshots.fill(state, before, in_place=True)), (lambda: None)

    return mark


def run_scenario(state: SandboxState, document: Any, checkpoint: Checkpoint | None = None) -> dict:  # noqa: ANN401 - a request's JSON
    """Run ``{"name": N}`` or ``{"steps": [...]}`` on ``state``: the ids made, or nothing changed.

    ``checkpoint``: how to go back if a step fails (default: a snapshot in memory, filled back in place).

    Raises:
        NotFound: ``scenario_not_found``, no built-in has this name.
        ScenarioFailed: malformed, or a step failed (its index, the reason, the refusal's codes).
    """
    try:
        name, steps = scenario_steps(document)
    except UnknownScenario:
        raise NotFound("scenario_not_found") from None
    except ScenarioError as error:
        raise ScenarioFailed(error.step, error.reason, "scenario_malformed") from None
    with state.transaction():
        undo, forget = (checkpoint or in_memory_checkpoint(state))()
        run = _Run(state)
        index = 0
        try:
            for index, step in enumerate(steps):
                ((kind, value),) = step.items()
                run.step(index, kind, value)
        except ScenarioError as error:
            undo()
            raise ScenarioFailed(index, error.reason, *error.error_codes) from None
        except SandboxError as error:
            undo()
            codes = error.error_codes or [error.error_type]
            raise ScenarioFailed(index, f"{kind} was refused: {', '.join(codes)}", *codes) from None
        except BaseException:
            undo()  # a bug: the account is still as it was
            raise
        finally:
            forget()
        return run.answer(name)
