"""Snapshots (``/_sandbox/snapshots``): an account taken whole and put back exactly, over real sockets.

After a restore the same requests get the same answers, byte for byte (ids, tokens, request ids,
Date headers); two branches from one snapshot differ only by what was done in them; requests
already under way finish on the state they started with; another account's snapshot is unknown.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from conftest import KO_URL, OK_URL

import octopus_nb
from octopus_nb.sandbox import Sandbox

SETUP = {"amount": 1000, "currency": "HKD", "reference": "ORD-1", "settings": {"success_url": OK_URL, "failure_url": KO_URL}}
ALICE = "sk_sbox_" + "a" * 26 + "a"
BOB = "sk_sbox_" + "b" * 26 + "b"


def call(control, method, path, **kwargs):
    return control.request(method, control.base_url + path, timeout=10, **kwargs)


def take(control, **body):
    response = call(control, "POST", "/_sandbox/snapshots", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def restore(control, snapshot_id):
    response = call(control, "POST", f"/_sandbox/snapshots/{snapshot_id}/restore")
    assert response.status_code == 200, response.text
    return response.json()


def wire(response) -> tuple:
    """Everything of an answer that must repeat: status, request id, Date and the exact bytes."""
    return response.status_code, response.headers["Cko-Request-Id"], response.headers["Date"], response.content


def flow(control, key="key-after-snapshot") -> list[tuple]:
    """A run of API and control requests touching every part: ids, tokens, idempotency, clock, faults, refunds."""
    answers = []
    setup = call(control, "POST", "/payments/setups", json=SETUP, headers={"Cko-Idempotency-Key": key})
    answers.append(wire(setup))
    setup_id = setup.json()["id"]
    payment = call(control, "POST", f"/payments/setups/{setup_id}/confirm/octopus")
    answers.append(wire(payment))
    payment_id = payment.json()["id"]
    for method, path, body in [
        ("POST", f"/_sandbox/payments/{payment_id}/approve", None),
        ("POST", "/_sandbox/clock", {"advance_seconds": 90}),
        ("POST", f"/payments/{payment_id}/refunds", {"amount": 300}),
        ("GET", f"/payments/{payment_id}/actions", None),
        ("PUT", "/_sandbox/faults", {"error_rate": 0.5, "status": 503}),
        ("GET", "/payments/setups/" + setup_id, None),
        ("GET", "/payments/setups/" + setup_id, None),
        ("PUT", "/_sandbox/faults", {}),
        ("POST", "/payments/setups", SETUP),
        ("GET", "/_sandbox/stats", None),
    ]:
        answers.append(wire(call(control, method, path, json=body)))
    return answers


def test_take_list_get_and_delete(control):
    call(control, "POST", "/payments/setups", json=SETUP)
    snapshot = take(control, name="one setup")
    assert snapshot["id"].startswith("snap_") and snapshot["name"] == "one setup"
    assert snapshot["taken_at"] == "2026-04-30T09:00:00.000Z"
    assert snapshot["counts"] == {"setups": 1, "payments": 0, "refunds": 0, "webhook_deliveries": 0}
    unnamed = take(control)
    assert unnamed["name"] is None and unnamed["id"] != snapshot["id"]
    assert call(control, "GET", "/_sandbox/snapshots").json() == [snapshot, unnamed]
    assert call(control, "GET", f"/_sandbox/snapshots/{snapshot['id']}").json() == snapshot
    deleted = call(control, "DELETE", f"/_sandbox/snapshots/{snapshot['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    assert call(control, "GET", "/_sandbox/snapshots").json() == [unnamed]
    for method, path in [("DELETE", ""), ("GET", ""), ("POST", "/restore")]:
        assert call(control, method, f"/_sandbox/snapshots/{snapshot['id']}{path}").status_code == 404


@pytest.mark.parametrize("body", [{"name": ""}, {"name": 7}, {"name": "x" * 101}, {"label": "x"}, ["x"]])
def test_a_bad_snapshot_body_is_refused_and_nothing_is_taken(control, body):
    assert call(control, "POST", "/_sandbox/snapshots", json=body).status_code in (400, 422)
    assert call(control, "GET", "/_sandbox/snapshots").json() == []


def test_after_a_restore_the_same_requests_get_byte_identical_answers(control):
    first = call(control, "POST", "/payments/setups", json=SETUP, headers={"Cko-Idempotency-Key": "key-before-snapshot"})
    snapshot = take(control)
    after_snapshot = flow(control)
    restore(control, snapshot["id"])
    assert flow(control) == after_snapshot
    restore(control, snapshot["id"])  # a snapshot restores as often as asked
    assert flow(control) == after_snapshot
    # the idempotency record made before the snapshot still replays
    replay = call(control, "POST", "/payments/setups", json=SETUP, headers={"Cko-Idempotency-Key": "key-before-snapshot"})
    assert replay.content == first.content


def test_two_branches_differ_only_by_what_was_done_in_them(control):
    setup = call(control, "POST", "/payments/setups", json=SETUP).json()
    payment = call(control, "POST", f"/payments/setups/{setup['id']}/confirm/octopus").json()
    snapshot = take(control)
    branches = []
    for action in ("approve", "decline", "approve"):
        restore(control, snapshot["id"])
        settled = call(control, "POST", f"/_sandbox/payments/{payment['id']}/{action}")
        after = call(control, "POST", "/payments/setups", json=SETUP)
        events = call(control, "GET", f"/workflows/events/subject/{payment['id']}")
        branches.append([wire(settled), wire(after), events.json()])
    approved, declined, approved_again = branches
    assert approved == approved_again  # the same steps from the same snapshot: the same answers
    assert [e["type"] for e in approved[2]["data"]] == ["payment_pending", "payment_capture_pending", "payment_captured"]
    assert [e["type"] for e in declined[2]["data"]] == ["payment_pending", "payment_declined"]
    assert approved[2]["data"][0] == declined[2]["data"][0]  # what came before the snapshot is shared
    restore(control, snapshot["id"])
    assert call(control, "GET", f"/payments/{payment['id']}").json()["status"] == "Pending"


def test_restore_brings_back_the_clock_faults_webhooks_and_the_delivery_log(sandbox, control):
    with octopus_nb.WebhookReceiver("snapshot-key") as receiver:
        call(control, "PUT", "/_sandbox/webhooks", json={"url": receiver.url, "signature_key": "snapshot-key"})
        setup = call(control, "POST", "/payments/setups", json=SETUP).json()
        call(control, "POST", f"/payments/setups/{setup['id']}/confirm/octopus")
        log = sandbox.flush_webhooks()
        assert len(log) == 1
        call(control, "PUT", "/_sandbox/faults", json={"latency_ms": 1})
        snapshot = take(control)
        call(control, "POST", "/_sandbox/clock", json={"advance_seconds": 3600})
        assert [d["type"] for d in sandbox.flush_webhooks()] == ["payment_pending", "payment_expired"]
        call(control, "PUT", "/_sandbox/faults", json={})
        call(control, "PUT", "/_sandbox/webhooks", json={"url": None})
        call(control, "POST", "/payments/setups", json=SETUP)
        restore(control, snapshot["id"])
        assert call(control, "GET", "/_sandbox/clock").json() == {"now": "2026-04-30T09:00:00.000Z"}
        assert call(control, "GET", "/_sandbox/faults").json() == {"latency_ms": 1}
        assert call(control, "GET", "/_sandbox/webhooks").json() == {"url": receiver.url}
        assert call(control, "GET", "/_sandbox/webhooks/deliveries").json() == log
        assert call(control, "GET", "/_sandbox/stats").json()["setups"] == 1


def test_a_request_under_way_during_a_restore_finishes_on_the_state_it_started_with(control):
    snapshot = take(control)
    call(control, "PUT", "/_sandbox/faults", json={"latency_ms": 400})
    answers = []
    slow = threading.Thread(target=lambda: answers.append(call(control, "POST", "/payments/setups", json=SETUP)))
    slow.start()
    time.sleep(0.1)  # the create is in its latency, its state read
    restore(control, snapshot["id"])
    slow.join()
    assert answers[0].status_code == 200
    # it finished against the old state: the restored one never heard of it, and has no faults
    assert call(control, "GET", "/payments/setups/" + answers[0].json()["id"]).status_code == 404
    assert call(control, "GET", "/_sandbox/stats").json()["setups"] == 0
    assert call(control, "GET", "/_sandbox/faults").json() == {}


def test_another_accounts_snapshot_is_an_unknown_id():
    with Sandbox(seed=7, secret_keys=[ALICE, BOB]) as team:

        def as_(key, method, path, **kwargs):
            return requests.request(method, team.base_url + path, headers={"Authorization": f"Bearer {key}"}, timeout=10, **kwargs)

        alices = as_(ALICE, "POST", "/_sandbox/snapshots", json={}).json()
        assert as_(BOB, "GET", "/_sandbox/snapshots").json() == []
        for method, path in [("GET", ""), ("POST", "/restore"), ("DELETE", "")]:
            assert as_(BOB, method, f"/_sandbox/snapshots/{alices['id']}{path}").status_code == 404
        bobs_setup = as_(BOB, "POST", "/payments/setups", json=SETUP).json()
        as_(ALICE, "POST", "/payments/setups", json=SETUP)
        assert as_(ALICE, "POST", f"/_sandbox/snapshots/{alices['id']}/restore").status_code == 200
        assert as_(ALICE, "GET", "/_sandbox/stats").json()["setups"] == 0
        assert as_(BOB, "GET", f"/payments/setups/{bobs_setup['id']}").status_code == 200  # Bob's world untouched
        assert as_(ALICE, "GET", "/_sandbox/snapshots").json() == [alices]  # a restore keeps the shelf
        assert not team.errors, team.errors


def test_a_reset_forgets_the_accounts_snapshots(control):
    snapshot = take(control)
    assert call(control, "POST", "/_sandbox/reset").status_code == 200
    assert call(control, "GET", "/_sandbox/snapshots").json() == []
    assert call(control, "POST", f"/_sandbox/snapshots/{snapshot['id']}/restore").status_code == 404


def test_a_delivery_in_flight_when_the_snapshot_was_taken_is_sent_again_after_a_restore():
    from octopus_nb.sandbox import snapshots
    from octopus_nb.sandbox.models import SandboxState

    state = SandboxState(seed=7)
    state.control.configure_webhooks({"url": "http://127.0.0.1:9/hooks", "signature_key": "in-flight-key"})
    setup = state.payment_api.create_payment_setup(SETUP)
    state.payment_api.confirm_payment_setup(setup["id"], "octopus")
    (claimed,) = state.control.claim_due_webhooks()  # the POST is under way
    saved = snapshots.take(state)
    state.control.record_webhook_attempt(claimed, 200)
    assert [d["status_code"] for d in state.control.webhook_deliveries()] == [200]
    fresh = SandboxState(seed=7)
    snapshots.fill(fresh, saved)
    assert fresh.control.webhook_deliveries() == [] and not fresh.control.webhooks_settled()
    fresh.control.record_webhook_attempt(claimed, 200)  # the old state's answer does not reach the copy
    (again,) = fresh.control.claim_due_webhooks()
    assert again.event_id == claimed.event_id and again.body == claimed.body
    fresh.control.record_webhook_attempt(again, 204)
    assert [d["status_code"] for d in fresh.control.webhook_deliveries()] == [204]


def test_a_restored_states_operations_act_on_the_restored_state_only():
    """The API parts hold no data, only the state and its parts: after a fill they are the fresh state's."""
    from octopus_nb.sandbox import snapshots
    from octopus_nb.sandbox.models import SandboxState

    state = SandboxState(seed=7)
    setup = state.payment_api.create_payment_setup(SETUP)
    saved = snapshots.take(state)
    fresh = SandboxState(seed=7)
    snapshots.fill(fresh, saved)
    for part in (fresh.payment_api, fresh.control, fresh.workflows):
        assert part._state is fresh
    assert fresh.control._outbox is fresh._outbox and fresh.control._faults is fresh._faults
    assert fresh.control._idempotency is fresh._idempotency and fresh.control._registry is fresh.workflows.registry
    fresh.payment_api.confirm_payment_setup(setup["id"], "octopus")
    fresh.control.advance_clock(60)
    assert state.stats()["payments"] == 0 and fresh.stats()["payments"] == 1
    assert state.now() != fresh.now()


def test_unseeded_the_clock_reads_taken_at_again_so_a_pending_payment_has_as_long_left():
    from datetime import timedelta

    from octopus_nb.sandbox import snapshots
    from octopus_nb.sandbox.models import SandboxState

    state = SandboxState()  # wall-clock time, OS randomness
    setup = state.payment_api.create_payment_setup(SETUP)
    payment = state.payment_api.confirm_payment_setup(setup["id"], "octopus")
    saved = snapshots.take(state)
    time.sleep(0.05)
    fresh = SandboxState()
    snapshots.fill(fresh, saved)
    assert timedelta(0) <= fresh.clock.now() - saved.taken_at < timedelta(seconds=0.04)
    assert fresh.payment_api.get_payment(payment["id"])["status"] == "Pending"
    assert state.payment_api.get_payment(payment["id"]) == fresh.payment_api.get_payment(payment["id"])


def test_a_snapshots_own_idempotency_key_is_free_after_a_restore(control):
    """The snapshot request's key was in flight as it was taken; in the restored account no request is."""
    taken = call(control, "POST", "/_sandbox/snapshots", json={}, headers={"Cko-Idempotency-Key": "snap-key"})
    assert taken.status_code == 201
    restore(control, taken.json()["id"])
    again = call(control, "POST", "/_sandbox/snapshots", json={}, headers={"Cko-Idempotency-Key": "snap-key"})
    assert again.status_code == 201 and again.json()["id"] != taken.json()["id"]  # runs: not 409 request_in_progress
