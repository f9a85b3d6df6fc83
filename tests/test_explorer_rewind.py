"""The explorer's Rewind (``FlowExplorer(..., rewind=True)``): back to just before the last action, account and flow."""

from __future__ import annotations

import pytest
from conftest import KO_URL, OK_URL

from octopus_nb.client import Client
from octopus_nb.ui.explorer import FlowExplorer

READY = dict(amount=1000, currency="HKD", success_url=OK_URL, failure_url=KO_URL, reference="ORD-5023-4E89")


@pytest.fixture
def explorer(client):
    made = FlowExplorer(client, webhooks=False, rewind=True)
    yield made
    made.close()


def test_rewind_tries_every_ending_of_one_payment(explorer, control):
    explorer.create(**READY)
    pending = explorer.confirm()
    assert explorer.buttons["rewind"].disabled is False
    endings, captured_by = {}, None
    for action in ("approve", "decline", "fail_capture"):
        endings[action] = explorer.act(action)["status"]
        captured_by = captured_by or explorer.actions[0]["id"]
        assert explorer.rewind() == "Pending" and explorer.step == "redirect"
        assert control.get(f"{control.base_url}/payments/{pending['id']}", timeout=10).json()["status"] == "Pending"
    assert endings == {"approve": "Captured", "decline": "Declined", "fail_capture": "Declined"}
    assert explorer.path == ["start", "ready", "Pending"] and explorer.payment["id"] == pending["id"]
    # the same step again after a rewind gives the same answer, ids included
    assert explorer.act("approve")["status"] == "Captured" and explorer.actions[0]["id"] == captured_by


def test_rewind_goes_back_step_by_step_to_the_start_and_keeps_no_snapshot(explorer, control):
    explorer.create(**READY)
    explorer.confirm()
    explorer.act("approve")
    assert [explorer.rewind() for _ in range(3)] == ["Pending", "ready", "start"]
    assert explorer.setup is None and explorer.step == "create"
    assert control.get(control.base_url + "/_sandbox/stats", timeout=10).json()["setups"] == 0
    assert control.get(control.base_url + "/_sandbox/snapshots", timeout=10).json() == []
    assert explorer.buttons["rewind"].disabled is True
    with pytest.raises(ValueError, match="Nothing to rewind"):
        explorer.rewind()


def test_a_refused_action_leaves_nothing_to_rewind_to_and_the_history_shows_only_the_flow(explorer):
    with pytest.raises(Exception):  # noqa: B017 - the API's refusal, whatever its class
        explorer.create(**{**READY, "amount": "ten"})
    assert not explorer.timeline.can_rewind
    explorer.create(**READY)
    assert [exchange.path for exchange in explorer.client.history] == ["/payments/setups", "/payments/setups"]


def test_without_rewind_or_on_checkout_there_is_no_timeline(client):
    plain = FlowExplorer(client, webhooks=False)
    try:
        plain.create(**READY)
        assert not plain.timeline.enabled and plain.buttons["rewind"].disabled
    finally:
        plain.close()
    checkout = Client("https://abcdefgh.api.sandbox.checkout.com", "sk_sbox_" + "a" * 27, environment="sandbox")
    assert not FlowExplorer(checkout, rewind=True).timeline.enabled
    assert len(checkout.history) == 0
