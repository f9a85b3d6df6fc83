"""Races: many threads on one sandbox, over HTTP and straight at the model.

tornado serves every request on one IOLoop thread, so HTTP races mostly test ordering; the
model is also used by the webhook worker and by embedding code, so the same races are run at the
model level too, from threads, with a tiny switch interval so the GIL hands over as often as it
can. Every race must end in exactly one winner and in counts that add up.
"""

from __future__ import annotations

import json
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import KO_URL, OK_URL

import octopus_nb
from octopus_nb.control import simulate_customer
from octopus_nb.sandbox import exceptions

THREADS = 8
FLOWS_PER_THREAD = 10
#: figures for the report, filled as the tests run
FIGURES: Counter = Counter()


@pytest.fixture
def busy_switching():
    """Make the interpreter switch threads every microsecond, so races actually interleave."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(previous)


def run_together(count: int, work) -> list:
    """``work(i)`` in ``count`` threads released at the same instant; results (or exceptions) in order."""
    barrier = threading.Barrier(count)

    def start(index: int):
        barrier.wait()
        try:
            return work(index)
        except Exception as error:  # returned, not swallowed: every caller asserts on it
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))


def _setup_body(amount: int = 1000) -> dict:
    return {"amount": amount, "currency": "HKD", "settings": {"success_url": OK_URL, "failure_url": KO_URL}}


# --- whole flows ------------------------------------------------------------------------------


def test_many_threads_running_whole_flows_end_consistently(sandbox):
    def flows(thread: int) -> list[str]:
        payment_ids = []
        with octopus_nb.connect(base_url=sandbox.base_url, secret_key=sandbox.secret_key) as client:
            for number in range(FLOWS_PER_THREAD):
                amount = 1000 + 10 * (thread * FLOWS_PER_THREAD + number)
                setup = octopus_nb.create_payment_setup(client, amount=amount, currency="HKD", success_url=OK_URL, failure_url=KO_URL)
                payment = octopus_nb.confirm_payment_setup(client, setup["id"])
                simulate_customer(client, payment["id"], "approve")
                octopus_nb.refund_payment(client, payment["id"], amount=10)
                octopus_nb.refund_payment(client, payment["id"])
                final = octopus_nb.get_payment(client, payment["id"])
                assert final["status"] == "Refunded" and final["balances"]["total_refunded"] == amount
                payment_ids.append(payment["id"])
        return payment_ids

    results = run_together(THREADS, flows)
    errors = [result for result in results if isinstance(result, Exception)]
    assert not errors, errors
    payment_ids = [payment_id for result in results for payment_id in result]
    total = THREADS * FLOWS_PER_THREAD
    assert len(set(payment_ids)) == total
    stats = sandbox.state.stats()
    assert (stats["setups"], stats["payments"], stats["refunds"]) == (total, total, 2 * total)
    for payment_id in payment_ids:
        payment = sandbox.state.payments[payment_id]
        assert payment.status == "Refunded" and payment.total_refunded == payment.amount
        assert [action.type for action in payment.actions] == ["Capture", "Refund", "Refund"]
    FIGURES.update(flow_threads=THREADS, flows=total)


# --- one idempotency key, many threads ------------------------------------------------------


def test_one_idempotency_key_raced_by_many_threads_creates_one_setup(sandbox):
    headers = {"Authorization": f"Bearer {sandbox.secret_key}", "Cko-Idempotency-Key": "raced-key"}

    def create(_: int):
        response = requests.post(sandbox.base_url + "/payments/setups", json=_setup_body(), headers=headers, timeout=10)
        return response.status_code, response.content

    results = run_together(16, create)
    assert sandbox.state.stats()["setups"] == 1
    winners = [body for status, body in results if status == 200]
    assert winners and all(status in (200, 409) for status, _ in results), results
    assert all(json.loads(body)["error_codes"] == ["request_in_progress"] for status, body in results if status == 409)
    assert len(set(winners)) == 1, "every 200 is the stored answer, byte for byte"
    FIGURES["idempotency_races"] += len(results)


def test_one_idempotency_key_at_the_model_level_has_one_owner_until_it_finishes(sandbox, busy_switching):
    state = sandbox.state
    fingerprint = state.fingerprint("POST", "/payments/setups", b"{}")
    for round_number in range(50):
        key = f"model-key-{round_number}"
        results = run_together(THREADS, lambda _: state.begin_idempotent(key, fingerprint))
        owners = [result for result in results if result is None]
        in_flight = [result for result in results if isinstance(result, exceptions.InFlight)]
        assert len(owners) == 1 and len(in_flight) == THREADS - 1, results
        state.finish_idempotent(key, 200, b'{"id":"x"}')
        replays = run_together(THREADS, lambda _: state.begin_idempotent(key, fingerprint))
        assert replays == [(200, b'{"id":"x"}')] * THREADS
    FIGURES["idempotency_races"] += 50 * THREADS * 2


# --- refunds racing for one balance ---------------------------------------------------------


def _captured_payment(client) -> dict:
    setup = octopus_nb.create_payment_setup(client, amount=1000, currency="HKD", success_url=OK_URL, failure_url=KO_URL)
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    simulate_customer(client, payment["id"], "approve")
    return payment


def test_concurrent_refunds_never_exceed_the_captured_amount(sandbox, client):
    payment = _captured_payment(client)
    headers = {"Authorization": f"Bearer {sandbox.secret_key}"}
    url = f"{sandbox.base_url}/payments/{payment['id']}/refunds"

    def refund(_: int):
        return requests.post(url, json={"amount": 300}, headers=headers, timeout=10)

    responses = run_together(12, refund)
    statuses = Counter(response.status_code for response in responses)
    assert statuses == {202: 3, 422: 9}, statuses
    refused = [response.json()["error_codes"] for response in responses if response.status_code == 422]
    assert all(codes == ["refund_amount_exceeds_balance"] for codes in refused)
    final = octopus_nb.get_payment(client, payment["id"])
    assert final["balances"] == {"total_captured": 1000, "total_refunded": 900, "available_to_refund": 100}
    assert final["status"] == "Partially Refunded"
    assert sandbox.state.stats()["refunds"] == 3
    FIGURES["refund_races"] += len(responses)


def test_concurrent_refunds_at_the_model_level_respect_the_balance(sandbox, client, busy_switching):
    state = sandbox.state
    for amount, each in ((1000, 300), (1000, 10), (2000, 700)):
        setup = octopus_nb.create_payment_setup(client, amount=amount, currency="HKD", success_url=OK_URL, failure_url=KO_URL)
        payment_id = octopus_nb.confirm_payment_setup(client, setup["id"])["id"]
        state.payment_api.approve_payment(payment_id)
        threads = 16
        results = run_together(threads, lambda _: state.payment_api.refund_payment(payment_id, {"amount": each}))
        succeeded = [result for result in results if isinstance(result, dict)]
        refused = [result for result in results if isinstance(result, exceptions.InvalidRequest)]
        assert len(succeeded) + len(refused) == threads, results  # nothing else (no crash)
        assert len(succeeded) == min(threads, amount // each)
        view = state.payment_api.get_payment(payment_id)
        assert view["balances"]["total_refunded"] == each * len(succeeded) <= amount
        assert view["balances"]["available_to_refund"] == amount - each * len(succeeded)
        assert len({result["action_id"] for result in succeeded}) == len(succeeded)
        FIGURES["refund_races"] += threads


# --- the customer and the clock racing ------------------------------------------------------


def test_approve_and_expire_fired_together_end_in_one_terminal_state(sandbox, client):
    headers = {"Authorization": f"Bearer {sandbox.secret_key}"}
    outcomes: Counter = Counter()
    for _ in range(20):
        payment_id = octopus_nb.confirm_payment_setup(
            client, octopus_nb.create_payment_setup(client, amount=1000, currency="HKD", success_url=OK_URL, failure_url=KO_URL)["id"]
        )["id"]
        actions = ["approve", "expire"]

        def act(index: int):
            url = f"{sandbox.base_url}/_sandbox/payments/{payment_id}/{actions[index]}"
            return requests.post(url, headers=headers, timeout=10)

        first, second = run_together(2, act)
        assert sorted([first.status_code, second.status_code]) == [200, 409]
        winner = first if first.status_code == 200 else second
        loser = second if winner is first else first
        assert loser.json()["error_codes"] == ["payment_not_pending"]
        final = octopus_nb.get_payment(client, payment_id)["status"]
        assert final == winner.json()["status"] in ("Captured", "Expired")
        outcomes[final] += 1
    FIGURES["customer_races"] += 40


def test_customer_actions_at_the_model_level_have_exactly_one_winner(sandbox, client, busy_switching):
    state = sandbox.state
    operations = {
        "approve": state.payment_api.approve_payment,
        "decline": state.payment_api.decline_payment,
        "expire": state.payment_api.expire_payment,
    }
    terminal = {"approve": "Captured", "decline": "Declined", "expire": "Expired"}
    winners: Counter = Counter()
    for _ in range(30):
        payment_id = octopus_nb.confirm_payment_setup(
            client, octopus_nb.create_payment_setup(client, amount=1000, currency="HKD", success_url=OK_URL, failure_url=KO_URL)["id"]
        )["id"]
        names = ["approve", "decline", "expire"] * 3
        results = run_together(len(names), lambda index: (names[index], operations[names[index]](payment_id)))
        won = [result for result in results if isinstance(result, tuple)]
        lost = [result for result in results if isinstance(result, exceptions.Conflict)]
        assert len(won) == 1 and len(lost) == len(names) - 1, results
        name, view = won[0]
        assert view["status"] == terminal[name] == state.payment_api.get_payment(payment_id)["status"]
        payment = state.payments[payment_id]
        assert len(payment.actions) == (0 if name == "expire" else 1)
        winners[name] += 1
    FIGURES["customer_races"] += 30 * 9


def test_zz_figures():
    if not FIGURES:
        pytest.skip("run the whole module for the figures")
    print(f"races: {dict(FIGURES)}")
