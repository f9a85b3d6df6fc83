"""Fault injection (contract §6): errors before any work, latency, dropped answers after the work.

Every test proves what happened through ``GET /_sandbox/stats``, never through the faulted answer;
the ``sandbox`` fixture also fails a test if a fault was recorded as a handler bug.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from conftest import pending_payment, ready_setup
from urllib3.util.retry import Retry

import octopus_nb
from octopus_nb.client import RETRY_STATUSES, Client

SETUP = {"amount": 1000, "currency": "HKD"}


@pytest.fixture
def quick_client(sandbox):
    """The package's client with its retry policy, minus the back-off sleeps (tests never wait)."""
    retry = Retry(
        total=2,
        backoff_factor=0,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "POST", "PUT"}),
        raise_on_status=False,
    )
    with Client(sandbox.base_url, sandbox.secret_key, retry=retry) as client:
        yield client


def faults(control, **body) -> requests.Response:
    return control.put(control.base_url + "/_sandbox/faults", json=body)


def stats(control) -> dict:
    return control.get(control.base_url + "/_sandbox/stats").json()


def without_requests(counts: dict) -> dict:
    return {name: value for name, value in counts.items() if name != "requests"}


@pytest.mark.parametrize(
    "status, error_type", [(503, "server_error"), (500, "server_error"), (502, "server_error"), (429, "too_many_requests")]
)
def test_error_rate_1_answers_status_and_changes_nothing(client, control, status, error_type):
    payment = pending_payment(client)
    before = without_requests(stats(control))
    assert faults(control, error_rate=1, status=status).status_code == 200
    for method, path, body in (
        ("POST", "/payments/setups", SETUP),
        ("POST", f"/payments/{payment['id']}/refunds", {}),
        ("GET", f"/payments/{payment['id']}", None),
        ("GET", "/payments/setups/set_unknown", None),
    ):
        response = control.request(method, control.base_url + path, json=body, headers={"Cko-Idempotency-Key": "k-" + path})
        assert response.status_code == status
        assert response.headers["Content-Type"] == "application/json; charset=utf-8"
        assert response.json() == {"request_id": response.headers["Cko-Request-Id"], "error_type": error_type}
    assert without_requests(stats(control)) == before
    faults(control)
    # the faulted request claimed no idempotency key: the same key now does the work once
    response = control.post(control.base_url + "/payments/setups", json=SETUP, headers={"Cko-Idempotency-Key": "k-/payments/setups"})
    assert response.status_code == 200
    assert stats(control)["setups"] == before["setups"] + 1


def test_the_client_sees_a_503_as_an_api_error(quick_client, control):
    faults(control, error_rate=1, status=503)
    with pytest.raises(octopus_nb.CheckoutApiError) as caught:
        octopus_nb.create_payment_setup(quick_client, **SETUP)
    assert caught.value.status == 503
    assert quick_client.history.to_frame()["attempts"].iloc[-1] == 3  # retried, same key, still nothing
    assert stats(control)["setups"] == 0


def test_drop_rate_1_does_the_work_but_never_answers(client, control):
    faults(control, drop_rate=1)
    key = {"Cko-Idempotency-Key": "drop-1"}
    with pytest.raises(requests.ConnectionError):
        control.post(control.base_url + "/payments/setups", json=SETUP, headers=key, timeout=5)
    assert stats(control)["setups"] == 1  # the work was done

    faults(control)
    replay = control.post(control.base_url + "/payments/setups", json=SETUP, headers=key, timeout=5)
    assert replay.status_code == 200
    assert stats(control)["setups"] == 1  # replayed, not created twice
    again = control.post(control.base_url + "/payments/setups", json=SETUP, headers=key, timeout=5)
    assert again.content == replay.content
    assert control.get(f"{control.base_url}/payments/setups/{replay.json()['id']}").status_code == 200


def test_dropped_confirm_retried_with_the_same_key_gives_the_same_payment(quick_client, control):
    client = quick_client
    setup = ready_setup(client)
    faults(control, drop_rate=1)
    with pytest.raises(octopus_nb.ApiUnreachable):
        octopus_nb.confirm_payment_setup(client, setup["id"])  # the client's own retries drop too
    assert stats(control)["payments"] == 1
    key = client.history.to_frame()["idempotency_key"].iloc[-1]
    faults(control)
    response = client.request("POST", f"/payments/setups/{setup['id']}/confirm/octopus", idempotency_key=key)
    assert response["status"] == "Pending"
    assert stats(control)["payments"] == 1


def test_control_routes_and_the_landing_page_are_never_faulted(client, control):
    payment = pending_payment(client)
    faults(control, error_rate=1, status=500, drop_rate=1)
    assert control.get(control.base_url + "/_sandbox/stats").status_code == 200
    assert control.get(control.base_url + "/_sandbox/faults").json() == {"error_rate": 1, "status": 500, "drop_rate": 1}
    assert control.post(control.base_url + "/_sandbox/clock", json={"advance_seconds": 1}).status_code == 200
    assert control.get(control.base_url + "/_sandbox/webhooks/deliveries").status_code == 200
    assert control.get(control.base_url + "/_sandbox/unknown").status_code == 404
    assert requests.get(payment["processing"]["landing_url"], timeout=5).status_code == 200
    app = control.base_url + "/_sandbox/octopus/app"
    assert requests.get(app, params={"uri": payment["processing"]["octopus_uri"]}, timeout=5).status_code == 200
    approved = control.post(f"{control.base_url}/_sandbox/payments/{payment['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "Captured"
    assert faults(control).json() == {}
    assert control.get(f"{control.base_url}/payments/{payment['id']}").status_code == 200


def test_latency_delays_api_requests_without_blocking_the_server(control):
    faults(control, latency_ms=400)
    answers = {}

    def slow_call():
        started = time.monotonic()
        answers["status"] = control.get(control.base_url + "/payments/setups/set_x").status_code
        answers["took"] = time.monotonic() - started

    thread = threading.Thread(target=slow_call)
    thread.start()
    started = time.monotonic()
    assert requests.get(control.base_url + "/_sandbox/stats", headers=control.headers, timeout=5).status_code == 200
    fast = time.monotonic() - started
    thread.join(5)
    assert answers["status"] == 404 and answers["took"] >= 0.4
    assert fast < 0.3  # served while the API request was sleeping


def test_faults_are_validated(control):
    for body in (
        {"error_rate": 1.5},
        {"error_rate": -0.1},
        {"error_rate": "1"},
        {"error_rate": True},
        {"status": 404},
        {"status": 503.0},
        {"latency_ms": -1},
        {"latency_ms": 600_000},
        {"drop_rate": 2},
        {"eror_rate": 1},
    ):
        response = faults(control, **body)
        assert response.status_code == 422, body
        assert response.json()["error_codes"] == ["faults_invalid"]
    assert control.put(control.base_url + "/_sandbox/faults", data=b"[1]").status_code == 400
    assert control.get(control.base_url + "/_sandbox/faults").json() == {}


def test_empty_body_turns_faults_off_and_reset_forgets_them(control):
    assert faults(control, error_rate=1).json() == {"error_rate": 1}
    assert faults(control).json() == {}
    assert control.post(control.base_url + "/payments/setups", json=SETUP).status_code == 200
    faults(control, error_rate=1)
    control.post(control.base_url + "/_sandbox/reset")
    assert control.get(control.base_url + "/_sandbox/faults").json() == {}
    assert control.post(control.base_url + "/payments/setups", json=SETUP).status_code == 200


def test_partial_error_rate_is_reproducible_for_a_seed(control):
    def run() -> list[int]:
        control.post(control.base_url + "/_sandbox/reset")
        faults(control, error_rate=0.5, status=502)
        return [control.get(control.base_url + "/payments/setups/set_x").status_code for _ in range(20)]

    first = run()
    assert set(first) == {404, 502}
    assert run() == first
