"""Webhook chaos (contract §5-§6, sandbox rules): repeated, shuffled and forged deliveries, seeded.

The receivers are real servers: ``octopus_nb.receiver.WebhookReceiver`` (verifies, drops repeats,
answers forgeries 401) and pytest-httpserver's session server where the raw bytes matter. Nothing
sleeps: ``flush_webhooks`` returns once every due delivery was attempted, retries come due on the
sandbox clock.
"""

from __future__ import annotations

import json
import threading
from collections import Counter

import pytest
from conftest import KO_URL, OK_URL
from werkzeug import Request, Response

import octopus_nb
from octopus_nb.control import advance_clock, configure_webhooks, flush_webhooks, webhook_chaos, webhook_deliveries
from octopus_nb.receiver import WebhookReceiver
from octopus_nb.sandbox.chaos import CHAOS_OFF, WebhookChaos
from octopus_nb.webhooks import verify_signature

KEY = "whsec-chaos-key"
CHAOS = {"duplicate_rate": 0.5, "reorder": True, "forged_rate": 0.5}
OFF = {"duplicate_rate": 0.0, "reorder": False, "forged_rate": 0.0}


@pytest.fixture
def receiver():
    with WebhookReceiver(KEY) as running:
        yield running


def start_payment(client, reference: str, amount: int = 2000) -> dict:
    setup = octopus_nb.create_payment_setup(
        client,
        amount=amount,
        currency="HKD",
        success_url=OK_URL,
        failure_url=KO_URL,
        reference=reference,
    )
    return octopus_nb.confirm_payment_setup(client, setup["id"])


def play_flow(client) -> list[dict]:
    """Five payments: approved (then refunded in two parts), declined, capture failed, expired, approved."""
    payments = [start_payment(client, f"ORD-CHAOS-{n}") for n in range(5)]
    approved, declined, failed, expired, second = payments
    octopus_nb.simulate_customer(client, approved["id"], "approve")
    octopus_nb.simulate_customer(client, declined["id"], "decline")
    octopus_nb.simulate_customer(client, failed["id"], "fail_capture")
    octopus_nb.simulate_customer(client, second["id"], "approve")
    octopus_nb.refund_payment(client, approved["id"], amount=500)
    octopus_nb.refund_payment(client, approved["id"])
    advance_clock(client, 15 * 60)  # expires the fourth
    return payments


def run(sandbox, client, receiver, **chaos) -> dict:
    """From a fresh sandbox: webhooks to ``receiver``, ``chaos`` set, the flow played and flushed."""
    sandbox.reset()
    receiver.clear()
    configure_webhooks(client, receiver)
    settings = webhook_chaos(client, **chaos)
    payments = play_flow(client)
    assert flush_webhooks(client)["settled"] is True
    state = sandbox.state
    return {
        "settings": settings,
        "log": webhook_deliveries(client),
        "events": [event.id for event in state.events],
        "ids": [(p["id"], p["processing"]["token"]) for p in payments],
        "actions": [[a["id"] for a in octopus_nb.get_payment_actions(client, p["id"])] for p in payments],
        "setups": sorted(state.setups),
        "stats": client.request("GET", "/_sandbox/stats"),
    }


def kinds(log: list[dict]) -> Counter:
    return Counter(entry["kind"] for entry in log)


# --- the receiver under chaos -----------------------------------------------------------------


def test_receiver_keeps_every_real_event_once_and_rejects_every_forgery(sandbox, client, receiver):
    calm = run(sandbox, client, receiver)
    calm_counts = receiver.counts()
    chaotic = run(sandbox, client, receiver, **CHAOS)
    counts = receiver.counts()

    real = set(calm["events"])
    assert len(real) == 17 and {event["id"] for event in receiver.events} == real == set(chaotic["events"])
    assert len(receiver.events) == len(real)  # each real event exactly once
    log = chaotic["log"]
    assert kinds(log)["duplicate"] > 0 and kinds(log)["forgery"] > 0
    assert counts == {
        "deliveries": len(log),
        "accepted": len(real),
        "duplicates": kinds(log)["duplicate"],
        "rejected": kinds(log)["forgery"],
    }
    assert calm_counts == {"deliveries": len(real), "accepted": len(real), "duplicates": 0, "rejected": 0}
    assert all(entry["status_code"] == 401 for entry in log if entry["kind"] == "forgery")
    assert all(entry["status_code"] == 200 for entry in log if entry["kind"] != "forgery")
    # every POST counts in the stats, duplicates and forgeries too: the stats match the log
    assert chaotic["stats"]["webhook_deliveries"] == len(log)
    assert chaotic["stats"]["webhook_deliveries"] == flush_webhooks(client)["webhook_deliveries"]
    # the receiver's table holds only real events, in the columns the notebooks use
    assert sorted(receiver.to_frame()["event_id"]) == sorted(real)


def test_the_log_marks_duplicates_and_forgeries(sandbox, client, receiver):
    log = run(sandbox, client, receiver, **CHAOS)["log"]
    assert set(kinds(log)) == {"delivery", "duplicate", "forgery"}
    by_event = {}
    for entry in log:
        by_event.setdefault(entry["event_id"], []).append(entry)
    for entries in by_event.values():
        assert [e["kind"] for e in entries].count("delivery") == 1  # one real delivery per event, then extras
        assert len({(e["type"], e["attempted_at"], e["attempt"]) for e in entries}) == 1
    for entry in log:
        assert set(entry) == {"event_id", "type", "url", "status_code", "attempt", "attempted_at", "kind"}


def test_same_seed_same_chaos(sandbox, client, receiver):
    first = run(sandbox, client, receiver, **CHAOS)
    second = run(sandbox, client, receiver, **CHAOS)
    assert first["log"] == second["log"] and first["events"] == second["events"]
    other = run(sandbox, client, receiver, duplicate_rate=0.3, forged_rate=0.3)
    assert [(e["event_id"], e["kind"]) for e in other["log"]] != [(e["event_id"], e["kind"]) for e in first["log"]]


def test_ids_and_tokens_are_the_same_with_chaos_on_and_off(sandbox, client, receiver):
    calm = run(sandbox, client, receiver, **OFF)
    chaotic = run(sandbox, client, receiver, **CHAOS)
    for name in ("events", "ids", "actions", "setups"):
        assert calm[name] == chaotic[name], name
    assert {e["event_id"] for e in calm["log"]} == {e["event_id"] for e in chaotic["log"]}


def test_reorder_shuffles_some_action_and_loses_nothing(sandbox, client, receiver):
    calm = [entry["event_id"] for entry in run(sandbox, client, receiver, **OFF)["log"]]
    log = run(sandbox, client, receiver, reorder=True)["log"]
    shuffled = [entry["event_id"] for entry in log]
    assert kinds(log) == {"delivery": len(calm)}  # no extras: reorder alone only changes the order
    assert shuffled != calm and sorted(shuffled) == sorted(calm)
    # the shuffle stays within an action: a second event sent before its first
    order = {event_id: n for n, event_id in enumerate(calm)}
    swapped = [(a, b) for a, b in zip(shuffled, shuffled[1:]) if order[a] > order[b]]
    assert swapped and all(order[a] - order[b] == 1 for a, b in swapped)
    assert {event["id"] for event in receiver.events} == set(calm) and receiver.duplicates == receiver.rejected == 0


def test_duplicates_are_the_same_bytes_and_forgeries_a_tampered_copy_never_retried(sandbox, client, httpserver):
    """Raw bytes at a pytest-httpserver receiver that answers 500: real deliveries retry, extras don't."""
    received: list[tuple[str, bytes]] = []
    lock = threading.Lock()

    def answer(request: Request) -> Response:
        with lock:
            received.append((request.headers.get("Cko-Signature"), request.get_data()))
        return Response(status=500)

    httpserver.expect_request("/hooks", method="POST").respond_with_handler(answer)
    configure_webhooks(client, httpserver.url_for("/hooks"), KEY)
    webhook_chaos(client, duplicate_rate=1.0, forged_rate=1.0)
    payment = start_payment(client, "ORD-CHAOS-RAW")
    octopus_nb.simulate_customer(client, payment["id"], "approve")
    flush_webhooks(client)
    first = webhook_deliveries(client)
    assert [e["kind"] for e in first] == ["delivery", "duplicate", "forgery"] * 3  # reorder off: extras follow
    valid = [body for signature, body in received if verify_signature(body, signature, KEY)]
    forged = [(signature, body) for signature, body in received if not verify_signature(body, signature, KEY)]
    # (the POSTs of one batch run concurrently, so arrival order is not compared)
    assert len(valid) == 6 and len(forged) == 3
    assert set(Counter(valid).values()) == {2}  # each duplicate is its delivery's exact bytes
    real = {json.loads(body)["id"]: json.loads(body) for body in valid}
    for signature, body in forged:
        assert len(signature) == 64 and signature == signature.lower()
        tampered = json.loads(body)
        assert tampered["data"]["amount"] == 10 * real[tampered["id"]]["data"]["amount"]
        assert {**tampered, "data": {**tampered["data"], "amount": 2000}} == real[tampered["id"]]

    advance_clock(client, 5 * 60)  # the first retry of each real delivery comes due
    flush_webhooks(client)
    retries = webhook_deliveries(client)[len(first) :]
    assert [(e["kind"], e["attempt"]) for e in retries] == [("delivery", 2)] * 3
    assert [e["event_id"] for e in retries] == [e["event_id"] for e in first if e["kind"] == "delivery"]
    httpserver.check_handler_errors()


# --- the settings ---------------------------------------------------------------------------


def test_settings_show_the_chaos_and_webhook_chaos_keeps_url_and_key(sandbox, client, receiver, control):
    configure_webhooks(client, receiver)
    assert control.get(control.base_url + "/_sandbox/webhooks").json() == {"url": receiver.url}
    settings = webhook_chaos(client, duplicate_rate=0.25, reorder=True)
    assert settings == {"url": receiver.url, "duplicate_rate": 0.25, "reorder": True, "forged_rate": 0.0}
    assert control.get(control.base_url + "/_sandbox/webhooks").json() == settings
    # the key was neither sent nor recorded: the sandbox kept its own
    assert [(ex.method, ex.path) for ex in client.history][-2:] == [("GET", "/_sandbox/webhooks"), ("PUT", "/_sandbox/webhooks")]
    assert all(KEY not in repr(ex) for ex in list(client.history))
    pending = start_payment(client, "ORD-CHAOS-KEY")
    receiver.wait_for(1)
    assert receiver.events[0]["data"]["id"] == pending["id"] and receiver.rejected == 0  # still signed with KEY
    # off again: the settings are back to their old shape; configure_webhooks replaces them, chaos off
    assert webhook_chaos(client) == {"url": receiver.url}
    webhook_chaos(client, forged_rate=1.0)
    assert configure_webhooks(client, receiver) == {"url": receiver.url}


def test_the_key_is_kept_only_for_the_url_already_set(sandbox, control, receiver):
    put = lambda body: control.put(control.base_url + "/_sandbox/webhooks", json=body)  # noqa: E731
    assert put({"url": receiver.url, "signature_key": KEY}).status_code == 200
    assert put({"url": receiver.url, "reorder": True}).json() == {
        "url": receiver.url,
        "duplicate_rate": 0,
        "reorder": True,
        "forged_rate": 0,
    }
    refused = put({"url": "https://example.com/elsewhere", "reorder": True})
    assert refused.status_code == 422 and refused.json()["error_codes"] == ["signature_key_invalid"]


def test_webhook_chaos_needs_a_webhook_url_first(client):
    with pytest.raises(ValueError, match="configure_webhooks"):
        webhook_chaos(client, duplicate_rate=0.5)
    assert [(ex.method, ex.path) for ex in client.history] == [("GET", "/_sandbox/webhooks")]


@pytest.mark.parametrize(
    "bad",
    [
        {"duplicate_rate": -0.1},
        {"duplicate_rate": 1.5},
        {"duplicate_rate": "x"},
        {"duplicate_rate": True},
        {"forged_rate": -0.1},
        {"forged_rate": 1.5},
        {"forged_rate": "x"},
        {"forged_rate": [0.5]},
        {"reorder": "yes"},
        {"reorder": 1},
        {"colour": "red"},
        {"duplicate_rate": 0.5, "signature_key_": KEY},
    ],
)
def test_bad_values_are_refused_and_nothing_changes(sandbox, control, receiver, bad):
    url = control.base_url + "/_sandbox/webhooks"
    before = control.put(url, json={"url": receiver.url, "signature_key": KEY, "forged_rate": 0.5}).json()
    for body in ({"url": receiver.url, **bad}, {"url": receiver.url, "signature_key": KEY, **bad}, bad, {"url": None, **bad}):
        response = control.put(url, json=body)
        assert response.status_code == 422, body
        assert response.json()["error_type"] == "request_invalid" and response.json()["error_codes"] == ["webhooks_invalid"]
        assert control.get(url).json() == before
    assert control.get(control.base_url + "/_sandbox/webhooks/deliveries").json() == []


def test_the_toolkit_refuses_bad_values_with_the_sandboxs_422(client, receiver):
    configure_webhooks(client, receiver)
    with pytest.raises(octopus_nb.ValidationError) as refused:
        webhook_chaos(client, duplicate_rate=1.5)
    assert refused.value.error_codes == ["webhooks_invalid"]
    assert client.request("GET", "/_sandbox/webhooks") == {"url": receiver.url}


def test_chaos_off_is_todays_behaviour(sandbox, client, receiver, control):
    """Explicit zeros, or no chaos fields at all: the same log, in the shape it had before chaos."""
    plain = run(sandbox, client, receiver, **OFF)
    assert plain["settings"] == {"url": receiver.url}
    sandbox.reset()
    receiver.clear()
    configure_webhooks(client, receiver)
    play_flow(client)
    flush_webhooks(client)
    untouched = webhook_deliveries(client)
    assert untouched == plain["log"]
    assert all(set(entry) == {"event_id", "type", "url", "status_code", "attempt", "attempted_at"} for entry in untouched)
    assert [entry["type"] for entry in untouched[:5]] == ["payment_pending"] * 5  # event order, as before


def test_the_log_keeps_its_kind_marker_once_chaos_was_on_until_a_reset(sandbox, client, receiver):
    configure_webhooks(client, receiver)
    webhook_chaos(client, duplicate_rate=1.0)
    start_payment(client, "ORD-CHAOS-1")
    webhook_chaos(client)
    start_payment(client, "ORD-CHAOS-2")
    flush_webhooks(client)
    assert [entry["kind"] for entry in webhook_deliveries(client)] == ["delivery", "duplicate", "delivery"]
    sandbox.reset()
    assert client.request("GET", "/_sandbox/webhooks") == {"url": None}


def test_turning_delivery_off_turns_chaos_off(sandbox, control, receiver):
    url = control.base_url + "/_sandbox/webhooks"
    control.put(url, json={"url": receiver.url, "signature_key": KEY, **CHAOS})
    assert control.put(url, json={}).json() == {"url": None}
    assert control.put(url, json={"url": receiver.url, "signature_key": KEY}).json() == {"url": receiver.url}


# --- the plan, without HTTP ---------------------------------------------------------------------


def test_the_plan_is_seeded_and_draws_nothing_when_off():
    off = WebhookChaos(7)
    assert off.plan(3, dict(CHAOS_OFF)) == [(0, "delivery"), (1, "delivery"), (2, "delivery")]
    assert not off.drawn
    calm, chaotic = WebhookChaos(7), WebhookChaos(7)
    plans = [chaotic.plan(2, dict(CHAOS)) for _ in range(20)]
    assert calm.random.random() == WebhookChaos(7).random.random()  # the stream is the chaos's own
    again = WebhookChaos(7)
    assert [again.plan(2, dict(CHAOS)) for _ in range(20)] == plans
    for plan in plans:
        assert sorted(i for i, kind in plan if kind == "delivery") == [0, 1]
    assert any([i for i, kind in plan if kind == "delivery"] == [1, 0] for plan in plans)
