"""The toolkit's Workflows API functions (``octopus_nb.workflows``), against the embedded sandbox over real sockets.

They use the public API only (no ``/_sandbox/`` route), so the same calls work on Checkout.com;
the sandbox's customer and clock play the rest. Includes *your endpoint was down*: the receiver
stops, deliveries fail, it comes back at the same URL and catches up through retries and a reflow,
keeping each event exactly once.
"""

from __future__ import annotations

import json

import pytest
from conftest import pending_payment

import octopus_nb
from octopus_nb import workflows
from octopus_nb.control import advance_clock, flush_webhooks, simulate_customer
from octopus_nb.receiver import WebhookReceiver

KEY = "toolkit-test-key"


def test_subscribe_list_and_remove_go_through_the_public_api_and_never_record_the_key(client):
    with WebhookReceiver(KEY) as receiver:
        created = workflows.subscribe(client, receiver, event_types=["payment_captured"])
        assert created.status == 201 and created["id"].startswith("wf_")
        assert [w["id"] for w in workflows.list_workflows(client)] == [created["id"]]
        shown = workflows.get_workflow(client, created["id"])
        assert shown["conditions"][0]["events"] == {"gateway": ["payment_captured"]}
        assert workflows.set_workflow_active(client, created["id"], False)["active"] is False
        assert workflows.remove_workflows(client) == [created["id"]]
        assert workflows.remove_workflows(client) == []  # again: nothing left, nothing fails
    frame = client.history.to_frame()
    assert all(path.startswith("/workflows") for path in frame["path"])
    assert KEY not in json.dumps([str(value) for value in frame.to_dict("records")])
    assert KEY not in repr(client.history)


def test_a_receiver_subscribed_through_a_workflow_gets_the_payments_events_and_they_can_be_fetched(client):
    with WebhookReceiver(KEY) as receiver:
        workflows.subscribe(client, receiver)
        payment = pending_payment(client)
        simulate_customer(client, payment["id"], "approve")
        events = receiver.wait_for(3)
        flush_webhooks(client)  # the receiver may hold an event before the sandbox has recorded its answer
        listed = workflows.payment_events(client, payment["id"])
        assert sorted(e["id"] for e in listed) == sorted(e["id"] for e in events)  # arrival order is not guaranteed
        fetched = workflows.get_event(client, listed[-1]["id"])
        assert fetched["type"] == "payment_captured" and fetched["action_invocations"][0]["status"] == "successful"
        action = fetched["action_invocations"][0]["workflow_action_id"]
        assert workflows.action_invocations(client, listed[-1]["id"], action)["status"] == "successful"


def test_your_endpoint_was_down_it_catches_up_and_keeps_each_event_once(client):
    receiver = WebhookReceiver(KEY).start()
    try:
        workflows.subscribe(client, receiver)
        url = receiver.url
        receiver.stop()  # the endpoint is down
        payment = pending_payment(client)
        simulate_customer(client, payment["id"], "approve")
        flush_webhooks(client)
        events = workflows.payment_events(client, payment["id"])
        statuses = {workflows.get_event(client, e["id"])["action_invocations"][0]["status"] for e in events}
        assert statuses == {"pending"}  # failed once, retries queued
        receiver.start()  # back, at the same URL
        assert receiver.url == url
        workflows.reflow(client, subjects=[payment["id"]])  # catch up now rather than wait for the retries
        receiver.wait_for(3)
        advance_clock(client, 300)  # the retries come due as well: the same events again
        flush_webhooks(client)
        assert sorted(e["id"] for e in receiver.events) == sorted(e["id"] for e in events)  # order is not guaranteed
        assert receiver.counts()["accepted"] == 3 and receiver.duplicates == 3
    finally:
        if receiver.is_running():
            receiver.stop()


def test_reflow_takes_events_or_subjects_not_both(client):
    with pytest.raises(ValueError):
        workflows.reflow(client)
    with pytest.raises(ValueError):
        workflows.reflow(client, events=["evt_x"], subjects=["pay_x"])
    with pytest.raises(octopus_nb.NotFoundError):
        workflows.reflow(client, events=["evt_nope"])


def test_subscribe_needs_a_key_and_event_types(client):
    with pytest.raises(ValueError):
        workflows.subscribe(client, "https://example.com/hooks")
    with pytest.raises(ValueError):
        workflows.subscribe(client, "https://example.com/hooks", "k", event_types=[])
