"""Time travel on the sandbox: snapshots of your account, branches that undo themselves, scenarios.

"What if this pending payment were declined instead?" Take a snapshot, try it, restore, try the
other way: the sandbox answers the same requests with the same bytes after a restore, so two
branches differ only by what was done in them. A scenario reaches a state (``"captured"``,
``"expired"``...) in one call. Sandbox only: every function checks :func:`require_sandbox` first,
so none sends a request to Checkout.com.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ._shared.scenarios import BUILT_IN_SCENARIOS, ScenarioError, UnknownScenario, check_expectation, scenario_steps
from .client import ApiResult, Client, path_segment
from .control import require_sandbox
from .errors import CheckoutApiError, ScenarioFailedError

#: The built-in scenarios' names: one per state a payment can be in.
SCENARIOS = tuple(BUILT_IN_SCENARIOS)


def snapshot(client: Client, name: str | None = None) -> ApiResult:
    """Keep everything your sandbox account knows (``POST /_sandbox/snapshots``), to :func:`restore` later.

    Resources, ids and tokens to come, the clock, idempotency records, workflows, webhook
    deliveries, faults and chaos. Returns ``{"id": "snap_…", "name", "taken_at", "counts"}``.

    >>> saved = snapshot(client, "before the customer acts")  # doctest: +SKIP

    Raises:
        NotASandboxError: the client points at Checkout.com (checked before any request).
    """
    require_sandbox(client, "snapshot()")
    return client.request("POST", "/_sandbox/snapshots", body={} if name is None else {"name": name})


def restore(client: Client, snapshot: str | Mapping[str, Any]) -> ApiResult:
    """Put your account back exactly as it was when ``snapshot`` (its id, or what :func:`snapshot` returned) was taken.

    The snapshot is kept, so it can be restored again. Sandbox rule: the same requests then get
    the same answers, byte for byte, as they did after the snapshot was taken.

    Raises:
        NotASandboxError: the client points at Checkout.com (checked before any request).
        NotFoundError: no such snapshot in this account.
    """
    require_sandbox(client, "restore()")
    snapshot_id = snapshot if isinstance(snapshot, str) else snapshot["id"]
    return client.request("POST", f"/_sandbox/snapshots/{path_segment(snapshot_id)}/restore")


def _forget(client: Client, snapshot: str | Mapping[str, Any]) -> None:
    """Delete a snapshot (``DELETE /_sandbox/snapshots/{id}``); the account itself is untouched."""
    snapshot_id = snapshot if isinstance(snapshot, str) else snapshot["id"]
    client.request("DELETE", f"/_sandbox/snapshots/{path_segment(snapshot_id)}")


@contextmanager
def branch(client: Client, name: str | None = None) -> Iterator[ApiResult]:
    """Try something, then undo it: the account is restored on leaving the block, however it is left.

    >>> with branch(client):  # doctest: +SKIP
    ...     simulate_customer(client, payment["id"], "decline")
    >>> get_payment(client, payment["id"])["status"]  # doctest: +SKIP
    'Pending'

    Raises:
        NotASandboxError: the client points at Checkout.com (checked before any request).
    """
    require_sandbox(client, "branch()")
    saved = snapshot(client, name)
    try:
        yield saved
    finally:
        restore(client, saved)
        _forget(client, saved)


def load_scenario(scenario: str | Path | Mapping[str, Any] | list) -> tuple[str | None, list[dict]]:
    """A scenario's name and checked steps: a built-in's name, a JSON file's path, ``{"steps": [...]}`` or the steps.

    Raises:
        ScenarioFailedError: the scenario is malformed (``step``: which one), or not a built-in, file or list.
    """
    if isinstance(scenario, Path) or (isinstance(scenario, str) and scenario not in BUILT_IN_SCENARIOS and scenario.endswith(".json")):
        try:
            scenario = json.loads(Path(scenario).read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise ScenarioFailedError(None, f"cannot read the scenario file {str(scenario)!r}: {error}") from None
    document: Any = {"name": scenario} if isinstance(scenario, str) else {"steps": scenario} if isinstance(scenario, list) else scenario
    try:
        return scenario_steps(document)
    except UnknownScenario:
        names = ", ".join(SCENARIOS)
        raise ScenarioFailedError(None, f"no scenario {scenario!r}: use one of {names}, a .json file or a list of steps") from None
    except ScenarioError as error:
        raise ScenarioFailedError(error.step, error.reason) from None


def run_scenario(client: Client, scenario: str | Path | Mapping[str, Any] | list) -> dict:
    """Run a scenario step by step through the API and the control routes; all or nothing.

    ``scenario``: a built-in's name (:data:`SCENARIOS`), a ``.json`` file's path, ``{"steps": [...]}``
    or the list of steps (the format: ``docs/timetravel.md``). Every call shows in
    ``client.history``. A snapshot is taken first and restored if a step fails, so the account is
    as it was. Returns the ids made: ``{"name", "setup_id", "payment_id", "status", "ids": {...}}``.

    >>> run_scenario(client, "captured")["status"]  # doctest: +SKIP
    'Captured'

    Raises:
        NotASandboxError: the client points at Checkout.com (checked before any request).
        ScenarioFailedError: malformed, or a step failed (``step``, ``reason``; nothing was changed).
    """
    require_sandbox(client, "run_scenario()")
    name, steps = load_scenario(scenario)
    saved = snapshot(client, "before a scenario")
    made: dict[str, list[str]] = {"setups": [], "payments": [], "refunds": []}
    try:
        for index, step in enumerate(steps):
            ((kind, value),) = step.items()
            try:
                _step(client, made, index, kind, value)
            except CheckoutApiError as error:
                codes = error.error_codes or [error.error_type or str(error.status)]
                raise ScenarioFailedError(index, f"{kind} was refused: {', '.join(codes)}", codes) from error
            except ScenarioError as error:
                raise ScenarioFailedError(index, error.reason, error.error_codes) from None
    except BaseException:
        restore(client, saved)
        raise
    finally:
        _forget(client, saved)
    payment_id = made["payments"][-1] if made["payments"] else None
    status = client.request("GET", f"/payments/{path_segment(payment_id)}")["status"] if payment_id else None
    setup_id = made["setups"][-1] if made["setups"] else None
    return {"name": name, "setup_id": setup_id, "payment_id": payment_id, "status": status, "ids": made}


def _step(client: Client, made: dict[str, list[str]], index: int, kind: str, value: Any) -> None:  # noqa: ANN401 - a step's JSON
    """One step as the requests it stands for (the sandbox's runner makes the same operations)."""
    setup = path_segment(made["setups"][-1]) if made["setups"] else ""
    payment = path_segment(made["payments"][-1]) if made["payments"] else ""
    if kind == "create":
        made["setups"].append(client.request("POST", "/payments/setups", body=value)["id"])
    elif kind == "update":
        client.request("PUT", f"/payments/setups/{setup}", body=value)
    elif kind == "confirm":
        confirmed = client.request("POST", f"/payments/setups/{setup}/confirm/octopus")
        made["payments"].append(confirmed.get("latest_payment", confirmed)["id"])
    elif kind == "customer":
        client.request("POST", f"/_sandbox/payments/{payment}/{value}")
    elif kind == "refund":
        made["refunds"].append(client.request("POST", f"/payments/{payment}/refunds", body=value)["action_id"])
    elif kind == "advance_seconds":
        client.request("POST", "/_sandbox/clock", body={"advance_seconds": value})
    elif kind in ("faults", "webhooks"):
        client.request("PUT", f"/_sandbox/{kind}", body=value)
    else:
        status = client.request("GET", f"/payments/{payment}")["status"] if payment else None
        readiness = client.request("GET", f"/payments/setups/{setup}")["payment_methods"]["octopus"]["status"] if setup else None
        check_expectation(index, value, status, readiness)
