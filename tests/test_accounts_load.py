"""Sixteen accounts driving whole flows at once, some jumping their clocks, some faulted (contract §9.4).

Bounded in count and in time, on loopback: no account sees another's resources, events or time, and
nothing acknowledged is lost.
"""

from __future__ import annotations

import threading
import time

import requests

from octopus_nb.sandbox import Sandbox

KEYS = ["sk_sbox_" + chr(ord("a") + n) * 26 + "a" for n in range(16)]
BODY = {"amount": 1000, "currency": "HKD", "settings": {"success_url": "https://example.com/ok", "failure_url": "https://example.com/ko"}}
#: at most this many flows per account, and at most this long in all
FLOWS, SECONDS = 12, 5.0


def drive(base_url: str, number: int, key: str, made: dict, failures: list) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    jumps, faulted = number % 4 == 0, number % 5 == 1
    if faulted:  # its own requests are slowed: nobody else's may be
        session.put(base_url + "/_sandbox/faults", json={"latency_ms": 30}, timeout=10)
    deadline = time.monotonic() + SECONDS
    try:
        for n in range(FLOWS):
            if time.monotonic() > deadline:
                break
            setup = session.post(base_url + "/payments/setups", json=BODY, headers={"Cko-Idempotency-Key": f"s{n}"}, timeout=10).json()
            payment = session.post(f"{base_url}/payments/setups/{setup['id']}/confirm/octopus", timeout=10).json()
            session.post(f"{base_url}/_sandbox/payments/{payment['id']}/{'approve' if n % 2 else 'decline'}", timeout=10)
            made[key].append((setup["id"], payment["id"]))
            if jumps:
                session.post(base_url + "/_sandbox/clock", json={"advance_seconds": 20 * 60}, timeout=10)
    except Exception as error:  # noqa: BLE001 - reported by the test, with its account
        failures.append((key, repr(error)))
    finally:
        session.close()


def test_sixteen_accounts_at_once_see_only_their_own_world():
    with Sandbox(seed=7, secret_keys=KEYS) as sandbox:
        made: dict[str, list] = {key: [] for key in KEYS}
        failures: list = []
        threads = [threading.Thread(target=drive, args=(sandbox.base_url, n, key, made, failures)) for n, key in enumerate(KEYS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not failures, failures
        assert sum(len(flows) for flows in made.values()) >= 16 * 3, "the load did run"
        for number, key in enumerate(KEYS):
            state = sandbox.account(key)
            ours = {payment for _, payment in made[key]}
            assert state.stats()["setups"] == state.stats()["payments"] == len(made[key]), "nothing lost, nothing extra"
            assert set(state.payments) == ours and {event.payment_id for event in state.events} == ours
            jumped = number % 4 == 0 and made[key]
            assert (state.now() != "2026-04-30T09:00:00.000Z") == bool(jumped), "only its own clock moved"
            other = KEYS[(number + 1) % len(KEYS)]
            for setup_id, payment_id in made[other][:3]:  # another account's ids are unknown here
                for path in (f"/payments/{payment_id}", f"/payments/setups/{setup_id}"):
                    answer = requests.get(sandbox.base_url + path, headers={"Authorization": f"Bearer {key}"}, timeout=10)
                    assert (answer.status_code, answer.content) == (404, b"")
        assert not sandbox.errors, sandbox.errors
