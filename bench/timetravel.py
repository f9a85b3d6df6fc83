"""Time travel: snapshot and restore of a big account, and a named scenario against the calls by hand.

Snapshot and restore: an account (``SandboxState``, seed 7, in this process) holding 10,000
create → confirm → approve flows; each figure is the median of five ``snapshots.take`` (what
``POST /_sandbox/snapshots`` does under the lock) and of five ``snapshots.fill`` into a fresh
state (what ``POST /_sandbox/snapshots/{id}/restore`` does before the swap); the baseline is
reading every resource once (each setup's and payment's wire view). Scenario: against a sandbox
process, ``POST /_sandbox/scenarios {"name": "captured"}`` against the four calls a test makes by
hand (create, confirm, approve, get payment), one keep-alive client, alternating rounds; the ratio
is the median of per-round ratios.
"""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

from . import SANDBOX_KEY, SETUP_BODY, Row, median, ratio, sandbox_process
from .persistence import call, flow

ROWS = (
    "time travel: snapshot of 10,000 flows",
    "time travel: restore of 10,000 flows",
    "time travel: named scenario vs the four calls by hand",
)
GOAL_SECONDS = 0.5
GOAL_READ_RATIO = 2.0
GOAL_SCENARIO_RATIO = 1.0
_HEADERS = {"Authorization": f"Bearer {SANDBOX_KEY}", "Content-Type": "application/json"}


def _account(flows: int):  # noqa: ANN202 - a SandboxState
    from octopus_nb.sandbox.models import SandboxState

    state = SandboxState(seed=7)
    for _ in range(flows):
        setup = state.payment_api.create_payment_setup(SETUP_BODY)
        payment = state.payment_api.confirm_payment_setup(setup["id"], "octopus")
        state.payment_api.approve_payment(payment["id"])
    return state


def _timed(work) -> float:  # noqa: ANN001
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _snapshot_rows(flows: int, rounds: int) -> list[Row]:
    from octopus_nb.sandbox import snapshots
    from octopus_nb.sandbox.models import SandboxState

    state = _account(flows)

    def read_once() -> None:
        for payment_id in list(state.payments):
            state.payment_api.get_payment(payment_id)
        for setup_id in list(state.setups):
            state.payment_api.get_payment_setup(setup_id)

    read = median([_timed(read_once) for _ in range(rounds)])
    taken = []
    for _ in range(rounds):
        taken.append(_timed(lambda: snapshots.take(state)))
    snapshot = snapshots.take(state)
    restored = median([_timed(lambda: snapshots.fill(SandboxState(seed=7), snapshot)) for _ in range(rounds)])
    take = median(taken)
    size = f"{len(snapshot.data) / 1e6:.1f} MB pickled"
    goal = f"≤ {GOAL_SECONDS} s, ≤ {GOAL_READ_RATIO:.0f}× reading"
    return [
        Row(
            ROWS[0],
            f"{take:.3f} s",
            f"{read:.3f} s (read once)",
            ratio(take, read),
            goal,
            take <= GOAL_SECONDS and take <= GOAL_READ_RATIO * read,
            note=size,
        ),
        Row(
            ROWS[1],
            f"{restored:.3f} s",
            f"{read:.3f} s (read once)",
            ratio(restored, read),
            goal,
            restored <= GOAL_SECONDS and restored <= GOAL_READ_RATIO * read,
        ),
    ]


def _call(conn: http.client.HTTPConnection, method: str, path: str, body: dict | None = None) -> dict:
    return call(conn, method, path, None if body is None else json.dumps(body).encode())


def _scenario_row(rounds: int, per_round: int) -> Row:
    with sandbox_process(7) as base_url:
        address = urlsplit(str(base_url))
        conn = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        ratios, scenario_times, hand_times = [], [], []
        for _ in range(rounds):
            hand = _timed(lambda: [flow(conn) for _ in range(per_round)])
            scenario = _timed(lambda: [_call(conn, "POST", "/_sandbox/scenarios", {"name": "captured"}) for _ in range(per_round)])
            ratios.append(scenario / hand)
            scenario_times.append(scenario / per_round)
            hand_times.append(hand / per_round)
            _call(conn, "POST", "/_sandbox/reset")
        conn.close()
    found = median(ratios)
    return Row(
        ROWS[2],
        f"{median(scenario_times) * 1000:.2f} ms",
        f"{median(hand_times) * 1000:.2f} ms (4 calls)",
        f"{found:.2f}×",
        f"≤ {GOAL_SCENARIO_RATIO:.1f}×",
        found <= GOAL_SCENARIO_RATIO,
        note=f"median of {rounds} rounds of {per_round} each, alternating",
    )


def run(quick: bool = False) -> list[Row]:
    flows, rounds = (200, 2) if quick else (10_000, 5)
    return [*_snapshot_rows(flows, rounds), _scenario_row(3 if quick else 9, 5 if quick else 50)]
