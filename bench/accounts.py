"""A sandbox for a team: whole flows from 16 clients, each in an account of its own, against all in one account.

Both sides are the same ``python -m octopus_nb.sandbox`` process (seed 7); the only difference is
``--account`` ×16 and a key per client. Each round runs both, in alternating order; each client drives
create → confirm → approve over a keep-alive session. Throughput is flows per second; the ratio is
16 accounts against one (goal ≥ 0.9×: accounts cost the sandbox nearly nothing).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests

from . import SANDBOX_KEY, SETUP_BODY, Row, median, sandbox_process

ROWS = ("accounts: flows/s, 16 clients in 16 accounts",)
CLIENTS = 16
KEYS = ["sk_sbox_" + chr(ord("a") + n) * 26 + "a" for n in range(CLIENTS)]
GOAL = 0.9


def _flows(base_url: str, key: str, count: int) -> None:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {key}"
        for _ in range(count):
            setup = session.post(base_url + "/payments/setups", json=SETUP_BODY, timeout=30).json()
            payment = session.post(f"{base_url}/payments/setups/{setup['id']}/confirm/octopus", timeout=30).json()
            session.post(f"{base_url}/_sandbox/payments/{payment['id']}/approve", timeout=30).raise_for_status()


def _throughput(base_url: str, keys: list[str], count: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(len(keys)) as pool:
        list(pool.map(lambda key: _flows(base_url, key, count), keys))
    return len(keys) * count / (time.perf_counter() - started)


def run(quick: bool = False) -> list[Row]:
    count, rounds = (2, 1) if quick else (25, 3)
    one, many = [], []
    with sandbox_process(7) as single, sandbox_process(7, *[part for key in KEYS for part in ("--account", key)]) as team:
        for round_ in range(rounds):
            sides = [(one, single, [SANDBOX_KEY] * CLIENTS), (many, team, KEYS)]
            for figures, base_url, keys in sides if round_ % 2 == 0 else reversed(sides):
                figures.append(_throughput(base_url, keys, count))
    ours, baseline = median(many), median(one)
    return [
        Row(
            ROWS[0],
            f"{ours:.0f} flows/s",
            f"{baseline:.0f} flows/s in one account",
            f"{ours / baseline:.2f}×",
            f"≥ {GOAL}×",
            ours / baseline >= GOAL,
            note=f"{CLIENTS} Python client threads × {count} create→confirm→approve flows, median of {rounds} rounds each",
        )
    ]
