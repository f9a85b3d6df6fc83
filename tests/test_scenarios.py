"""Scenarios (``POST /_sandbox/scenarios``): a state reached in one call, all or nothing, over real sockets."""

from __future__ import annotations

import pytest
from conftest import KO_URL, OK_URL

from octopus_nb._shared.scenarios import BUILT_IN_SCENARIOS, ScenarioError, scenario_steps

SETUP = {"amount": 1000, "currency": "HKD", "settings": {"success_url": OK_URL, "failure_url": KO_URL}}
#: each built-in, the status its payment ends in (None: no payment) and the refunds made
OUTCOMES = {
    "ready": (None, 0),
    "pending": ("Pending", 0),
    "captured": ("Captured", 0),
    "declined": ("Declined", 0),
    "expired": ("Expired", 0),
    "capture_failed": ("Declined", 0),
    "partially_refunded": ("Partially Refunded", 1),
    "refunded": ("Refunded", 1),
}


def run(control, document):
    return control.post(control.base_url + "/_sandbox/scenarios", json=document, timeout=10)


def account(control) -> tuple:
    """What a refused scenario must leave exactly as it was: stats, clock, faults, webhooks, snapshots."""
    return tuple(
        control.get(control.base_url + path, timeout=10).json()
        for path in ("/_sandbox/stats", "/_sandbox/clock", "/_sandbox/faults", "/_sandbox/webhooks", "/_sandbox/snapshots")
    )


def test_every_built_in_is_listed_here():
    assert set(BUILT_IN_SCENARIOS) == set(OUTCOMES)


@pytest.mark.parametrize("name", sorted(OUTCOMES))
def test_a_built_in_scenario_reaches_its_state_and_answers_with_the_ids(control, name):
    answer = run(control, {"name": name})
    assert answer.status_code == 201, answer.text
    made = answer.json()
    status, refunds = OUTCOMES[name]
    assert made["name"] == name and made["status"] == status
    setup = control.get(f"{control.base_url}/payments/setups/{made['setup_id']}", timeout=10).json()
    assert made["ids"]["setups"] == [made["setup_id"]]
    assert len(made["ids"]["refunds"]) == refunds
    if status is None:
        assert made["payment_id"] is None and made["ids"]["payments"] == []
        assert setup["payment_methods"]["octopus"]["status"] == "ready"
        return
    payment = control.get(f"{control.base_url}/payments/{made['payment_id']}", timeout=10).json()
    assert payment["status"] == status and setup["latest_payment"]["id"] == made["payment_id"]


def test_steps_act_on_the_setup_and_payment_made_last(control):
    steps = [
        {"create": {**SETUP, "amount": 2000}},
        {"update": {**SETUP, "amount": 3000}},
        {"confirm": {}},
        {"customer": "decline"},
        {"confirm": {}},  # a declined payment lets the customer retry
        {"customer": "approve"},
        {"refund": {"amount": 1000}},
        {"expect": {"status": "Partially Refunded"}},
    ]
    made = run(control, {"steps": steps}).json()
    first, second = made["ids"]["payments"]
    assert made["payment_id"] == second and first != second
    assert control.get(f"{control.base_url}/payments/{first}", timeout=10).json()["status"] == "Declined"
    assert control.get(f"{control.base_url}/payments/{second}", timeout=10).json()["amount"] == 3000


def test_clock_faults_and_webhooks_steps_change_the_account(control):
    hooks = {"url": "http://127.0.0.1:9/hooks", "signature_key": "scenario-key", "duplicate_rate": 0.5}
    steps = [{"advance_seconds": 60}, {"faults": {"latency_ms": 5}}, {"webhooks": hooks}]
    assert run(control, {"steps": steps}).status_code == 201
    _, clock, faults, webhooks, _ = account(control)
    assert clock == {"now": "2026-04-30T09:01:00.000Z"} and faults == {"latency_ms": 5}
    assert webhooks["url"] == hooks["url"] and webhooks["duplicate_rate"] == 0.5


@pytest.mark.parametrize(
    ("steps", "step", "codes"),
    [
        ([{"create": SETUP}, {"confirm": {}}, {"customer": "approve"}, {"customer": "approve"}], 3, ["payment_not_pending"]),
        ([{"create": SETUP}, {"confirm": {}}, {"expect": {"status": "Captured"}}], 2, ["expectation_failed"]),
        ([{"create": {**SETUP, "amount": 1001}}, {"confirm": {}}], 1, ["amount_must_end_in_zero"]),
        ([{"advance_seconds": 60}, {"create": {"amount": "ten"}}], 1, None),
        ([{"faults": {"error_rate": 0.5}}, {"faults": {"error_rate": 7}}], 1, ["faults_invalid"]),
        ([{"create": SETUP}, {"confirm": {}}, {"customer": "approve"}, {"refund": {"amount": 5000}}], 3, None),
    ],
)
def test_a_step_that_fails_answers_422_naming_it_and_changes_nothing(control, steps, step, codes):
    run(control, {"name": "captured"})
    control.post(control.base_url + "/_sandbox/snapshots", json={}, timeout=10)
    before = account(control)
    answer = run(control, {"steps": steps})
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error_type"] == "scenario_invalid" and body["step"] == step and body["reason"]
    if codes is not None:
        assert body["error_codes"] == codes
    assert account(control) == before
    # the id streams were put back too: the next resource is the one it would have been anyway
    again = run(control, {"name": "ready"}).json()
    control.post(control.base_url + "/_sandbox/reset", timeout=10)
    run(control, {"name": "captured"})
    assert run(control, {"name": "ready"}).json() == again


@pytest.mark.parametrize(
    ("document", "step"),
    [
        ({"steps": [{"create": SETUP}, {"launch": {}}]}, 1),
        ({"steps": [{"create": SETUP, "confirm": {}}]}, 0),
        ({"steps": [{"confirm": {}}]}, 0),
        ({"steps": [{"create": SETUP}, {"customer": "approve"}]}, 1),
        ({"steps": [{"create": SETUP}, {"confirm": {}}, {"customer": "shrug"}]}, 2),
        ({"steps": [{"advance_seconds": -1}]}, 0),
        ({"steps": [{"advance_seconds": True}]}, 0),
        ({"steps": [{"create": SETUP}, {"expect": {}}]}, 1),
        ({"steps": [{"create": SETUP}, {"expect": {"colour": "red"}}]}, 1),
        ({"steps": [{"create": SETUP}, {"confirm": {"method": "card"}}]}, 1),
        ({"steps": [{"create": "all of it"}]}, 0),
        ({"steps": []}, None),
        ({"steps": "create"}, None),
        ({"name": "ready", "steps": []}, None),
        ({}, None),
    ],
)
def test_a_malformed_scenario_answers_422_with_the_step_and_runs_nothing(control, document, step):
    before = account(control)
    answer = run(control, document)
    assert answer.status_code == 422, answer.text
    assert answer.json()["step"] == step and answer.json()["error_codes"] == ["scenario_malformed"]
    assert account(control) == before


def test_the_format_is_checked_before_anything_runs():
    with pytest.raises(ScenarioError) as refused:
        scenario_steps({"steps": [{"create": SETUP}, {"confirm": {}}, {"refund": {"amount": 10, "why": "no"}}]})
    assert refused.value.step == 2 and "refund" in str(refused.value)


def test_an_unknown_scenario_name_is_404(control):
    before = account(control)
    assert run(control, {"name": "happy_path"}).status_code == 404
    assert account(control) == before


def test_a_body_that_is_not_json_is_400(control):
    answer = control.post(control.base_url + "/_sandbox/scenarios", data=b"{", timeout=10)
    assert answer.status_code == 400
