"""Client overhead: the five-call Octopus flow through ``octopus_nb`` vs a bare ``requests.Session``.

Both clients talk to the same sandbox, run in its own process so it doesn't share their GIL.
Rounds alternate A-B / B-A so drift (CPU frequency, the sandbox's growing state) hits both.
The flow: create setup → get setup → confirm → approve (``/_sandbox`` control route) → get payment.
"""

from __future__ import annotations

import json
import time

import requests

import octopus_nb

from . import SANDBOX_KEY, SETUP_BODY, Row, median, sandbox_process

ROWS = ("client overhead: full flow (5 calls)",)
GOAL = 1.10


def flow_octopus_nb(client) -> None:  # noqa: ANN001
    settings = SETUP_BODY["settings"]
    fields = {k: v for k, v in SETUP_BODY.items() if k != "settings"}
    setup = octopus_nb.create_payment_setup(client, **fields, success_url=settings["success_url"], failure_url=settings["failure_url"])
    octopus_nb.get_payment_setup(client, setup["id"])
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    client.request("POST", f"/_sandbox/payments/{payment['id']}/approve")
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Captured"


def bare_flow(session: requests.Session, base_url: str) -> None:
    """The same five calls, nothing else: no history, no idempotency keys, no retries, no errors."""
    auth = {"Authorization": f"Bearer {SANDBOX_KEY}"}
    body = json.dumps(SETUP_BODY).encode()
    setup = session.post(base_url + "/payments/setups", data=body, headers={**auth, "Content-Type": "application/json"}).json()
    session.get(f"{base_url}/payments/setups/{setup['id']}", headers=auth).json()
    payment = session.post(f"{base_url}/payments/setups/{setup['id']}/confirm/octopus", headers=auth).json()
    session.post(f"{base_url}/_sandbox/payments/{payment['id']}/approve", headers=auth).json()
    assert session.get(f"{base_url}/payments/{payment['id']}", headers=auth).json()["status"] == "Captured"


def _timed(fn, count: int) -> float:  # noqa: ANN001
    started = time.perf_counter()
    for _ in range(count):
        fn()
    return (time.perf_counter() - started) / count


def run(quick: bool = False) -> list[Row]:
    rounds, flows, warmup = (2, 2, 2) if quick else (30, 10, 30)
    with sandbox_process() as base_url:
        client = octopus_nb.connect(base_url=base_url, secret_key=SANDBOX_KEY)
        session = requests.Session()
        ours_fn, bare_fn = (lambda: flow_octopus_nb(client)), (lambda: bare_flow(session, base_url))
        _timed(ours_fn, warmup)
        _timed(bare_fn, warmup)
        ours, bare = [], []
        for i in range(rounds):
            pair = [(ours, ours_fn), (bare, bare_fn)]
            for results, fn in pair if i % 2 == 0 else reversed(pair):
                results.append(_timed(fn, flows))
        client.close()
        session.close()
    # The ratio is the median of each round's ours/bare: a round's two halves see the same load.
    paired = median(o / b for o, b in zip(ours, bare))
    return [
        Row(
            ROWS[0],
            f"{median(ours) * 1000:.2f} ms",
            f"{median(bare) * 1000:.2f} ms",
            f"{paired:.2f}×",
            f"≤ {GOAL:.2f}×",
            paired <= GOAL,
            note=f"median of {rounds} interleaved rounds × {flows} flows (ratio: median of per-round ratios); "
            "baseline: bare requests.Session, same calls, same sandbox process",
        )
    ]
