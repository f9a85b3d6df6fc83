"""Idempotency records expire after 24 hours of the sandbox's clock and are removed as it passes them.

Checkout.com documents 24 hours; the sandbox removes what is past the window from memory and from
its state file (a long-lived box grows with its resources, not with its requests), at most once
per sandbox hour, and when its clock is moved on.
"""

from __future__ import annotations

import sqlite3

import pytest
import requests

from octopus_nb.sandbox import Sandbox

SETUP = {"amount": 1000, "currency": "HKD", "success_url": "https://example.com/ok", "failure_url": "https://example.com/ko"}


def post(sandbox, key: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {sandbox.secret_key}", "Cko-Idempotency-Key": key}
    return requests.post(sandbox.base_url + "/payments/setups", json=SETUP, headers=headers, timeout=5)


def advance(sandbox, seconds: int) -> None:
    headers = {"Authorization": f"Bearer {sandbox.secret_key}"}
    assert (
        requests.post(sandbox.base_url + "/_sandbox/clock", json={"advance_seconds": seconds}, headers=headers, timeout=5).status_code
        == 200
    )


@pytest.mark.parametrize("persistent", [False, True], ids=["memory", "state-file"])
def test_records_are_removed_once_24_hours_of_the_clock_have_passed(tmp_path, persistent):
    path = tmp_path / "state.sqlite" if persistent else None
    with Sandbox(seed=7, state_path=path) as sandbox:
        first = [post(sandbox, f"order-{n}").json()["id"] for n in range(5)]
        advance(sandbox, 23 * 3600)
        assert len(sandbox.state.idempotency_keys()) == 5
        assert post(sandbox, "order-0").json()["id"] == first[0]  # within the window: a replay
        advance(sandbox, 2 * 3600)
        assert sandbox.state.idempotency_keys() == {}
        again = post(sandbox, "order-1")
        assert again.status_code == 200 and again.json()["id"] not in first  # past it: a new request
        assert list(sandbox.state.idempotency_keys()) == ["order-1"]
    if persistent:
        with sqlite3.connect(path) as db:
            assert db.execute("SELECT count(*) FROM idempotency").fetchone()[0] == 1
        with Sandbox(state_path=path) as restarted:
            assert list(restarted.state.idempotency_keys()) == ["order-1"]
