"""The explorer's timeline (``FlowExplorer(..., rewind=True)``): Rewind, back to just before the last
action, account and flow; and Branch, keep a line's outcome, go back to the branch point, try another.

Against the session's real sandbox (conftest), over real sockets; the account itself is read
through the bare ``control`` session, so "it went back" is the server's word, not the explorer's.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest
from conftest import KO_URL, OK_URL

from octopus_nb.client import Client
from octopus_nb.errors import NotASandboxError
from octopus_nb.ui.diagram import BranchLine, flow_diagram_svg
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


# --- Branch ------------------------------------------------------------------------------


def _status(control, payment_id: str) -> str:
    return control.get(f"{control.base_url}/payments/{payment_id}", timeout=10).json()["status"]


def test_approve_branch_decline_branch_expire_keeps_three_outcomes_of_one_payment(explorer, control):
    explorer.create(**READY)
    pending = explorer.confirm()
    explorer.act("approve")
    captured_by = explorer.actions[0]["id"]
    assert _status(control, pending["id"]) == "Captured"

    assert explorer.branch() == "Pending" and explorer.step == "redirect"
    assert _status(control, pending["id"]) == "Pending"  # the account went back, not only the explorer
    assert explorer.payment["id"] == pending["id"] and explorer.path == ["start", "ready", "Pending"]
    explorer.act("decline")
    assert _status(control, pending["id"]) == "Declined"

    assert explorer.branch() == "Pending"
    assert _status(control, pending["id"]) == "Pending"
    explorer.act("expire")

    branches = explorer.branches
    assert [(b.number, b.outcome, b.current) for b in branches] == [(1, "Captured", False), (2, "Declined", False), (3, "Expired", True)]
    assert {b.payment_id for b in branches} == {pending["id"]}
    assert [b.steps for b in branches] == [("approve",), ("decline",), ("expire",)]
    assert [b.path for b in branches] == [("Pending", "Captured"), ("Pending", "Declined"), ("Pending", "Expired")]
    frame = explorer.branches_frame()
    assert list(frame["outcome"]) == ["Captured", "Declined", "Expired"] and list(frame["current"]) == [False, False, True]

    diagram = explorer.panels["diagram"].value
    for label in ("branch 1: Captured — approve", "branch 2: Declined — decline", "branch 3: Expired (current) — expire"):
        assert label in diagram
    assert 'class="node current" data-state="Expired"' in diagram
    assert 'class="node branch" data-state="Captured"' in diagram and 'class="node branch" data-state="Declined"' in diagram
    assert diagram.count('class="edge branch"') == 2 and 'stroke-dasharray="6 4"' in diagram  # dashed, not colour alone

    # the snapshot's restore is exact: approving again after a branch gives the first branch's ids
    explorer.branch()
    assert explorer.act("approve")["status"] == "Captured" and explorer.actions[0]["id"] == captured_by


def test_branch_undoes_every_step_since_the_customers_choice_at_once(explorer, control):
    explorer.create(**READY)
    pending = explorer.confirm()
    explorer.act("approve")
    explorer.refund(500)
    assert _status(control, pending["id"]) == "Partially Refunded"
    explorer.branch()
    assert _status(control, pending["id"]) == "Pending"
    assert control.get(control.base_url + "/_sandbox/stats", timeout=10).json()["refunds"] == 0
    (kept,) = explorer.branches
    assert (kept.outcome, kept.steps, kept.path) == (
        "Partially Refunded",
        ("approve", "refund"),
        ("Pending", "Captured", "Partially Refunded"),
    )
    # Rewind from the branch point goes on backwards: before confirm, then before create; no snapshot is left behind
    assert [explorer.rewind() for _ in range(2)] == ["ready", "start"]
    assert control.get(control.base_url + "/_sandbox/snapshots", timeout=10).json() == []


def test_branch_is_disabled_and_refused_with_nothing_to_branch_from(explorer):
    assert explorer.buttons["branch"].disabled is True
    explorer.create(**READY)
    explorer.confirm()
    assert explorer.buttons["branch"].disabled is True and explorer.buttons["rewind"].disabled is False
    with pytest.raises(ValueError, match="Nothing to branch from"):
        explorer.branch()
    assert "Nothing to branch from" in explorer.panels["error"].value
    explorer.act("decline")
    assert explorer.buttons["branch"].disabled is False
    explorer.buttons["branch"].click()  # the button calls the method
    assert explorer.state == "Pending" and explorer.last_error is None
    # back at the branch point, no choice made since: nothing to branch from until the customer acts
    assert explorer.buttons["branch"].disabled is True
    assert [b.outcome for b in explorer.branches] == ["Declined"]


def test_branches_belong_to_their_payment(explorer):
    explorer.create(**READY)
    explorer.confirm()
    explorer.act("approve")
    explorer.branch()
    explorer.new_payment()
    assert explorer.branches == [] and "branch 1" not in explorer.diagram_svg()
    explorer.create(**{**READY, "amount": 2000})
    explorer.confirm()
    explorer.act("decline")
    assert [b.label for b in explorer.branches] == ["branch 1: Declined (current)"]


def test_branch_is_refused_without_rewind_and_on_checkout(client):
    plain = FlowExplorer(client, webhooks=False)
    try:
        plain.create(**READY)
        plain.confirm()
        plain.act("approve")
        assert plain.buttons["branch"].disabled is True
        assert plain.buttons["branch"] not in plain.widget.children  # not laid out beside the stepper
        with pytest.raises(ValueError, match=r"FlowExplorer\(client, rewind=True\)"):
            plain.branch()
        assert plain.status == "Captured"
    finally:
        plain.close()
    checkout = Client("https://abcdefgh.api.sandbox.checkout.com", "sk_sbox_" + "a" * 27, environment="sandbox")
    explorer = FlowExplorer(checkout, rewind=True)
    with pytest.raises(NotASandboxError, match="Branch needs the octopus_nb sandbox"):
        explorer.branch()
    assert len(checkout.history) == 0


def test_the_static_picture_shows_the_branches_and_repeats_on_a_seeded_sandbox(sandbox):
    def run() -> str:
        sandbox.reset()
        with Client(sandbox.base_url, sandbox.secret_key, seed=7) as client:  # seeded idempotency keys too
            explorer = FlowExplorer(client, webhooks=False, rewind=True)
            try:
                explorer.create(**READY)
                explorer.confirm()
                explorer.act("approve")
                explorer.branch()
                explorer.act("fail_capture")
                return explorer.picture()
            finally:
                explorer.close()

    first = run()
    assert "branch 1: Captured — approve" in first and "branch 2: Declined (current) — fail_capture" in first
    enabled = re.search(r"Buttons enabled here: ([^<]*)</p>", first).group(1).split(", ")
    assert "Rewind" in enabled and "Branch" in enabled
    assert run() == first


# --- the diagram's branches ------------------------------------------------------------------


def test_the_diagram_draws_branches_dashed_tagged_and_named_in_a_legend():
    path = ["start", "ready", "Pending", "Expired"]
    lines = [
        BranchLine(1, "branch 1: Captured — approve", ("Pending", "Captured")),
        BranchLine(2, "branch 2: Refunded — approve → refund", ("Pending", "Captured", "Refunded")),
        BranchLine(3, "branch 3: Expired (current) — expire", ("Pending", "Expired"), current=True),
    ]
    svg = flow_diagram_svg("Expired", path, lines)
    assert svg == flow_diagram_svg("Expired", list(path), list(lines))
    root = ET.fromstring(svg)
    assert not [el for el in root.iter() if "id" in el.attrib]
    assert root.get("height") == str(250 + 12 + 20 * 3)  # a legend row per branch under the drawing
    legend = [
        g.find("{http://www.w3.org/2000/svg}text").text
        for g in root.iter("{http://www.w3.org/2000/svg}g")
        if "branch-legend" in g.get("class")
    ]
    assert legend == [line.label for line in lines]
    tags = {
        g.get("data-outcome"): g.find("{http://www.w3.org/2000/svg}text").text
        for g in root.iter("{http://www.w3.org/2000/svg}g")
        if g.get("class") == "branch-tag"
    }
    assert tags == {"Captured": "branch 1", "Refunded": "branch 2", "Expired": "branch 3"}
    assert svg.count('class="edge branch"') == 2  # Pending→Captured, Captured→Refunded; the current line stays "taken"
    assert svg.count('class="edge taken"') == 3
    assert "; branches: branch 1: Captured — approve; branch 2" in root.find("{http://www.w3.org/2000/svg}title").text
    # without branches, the diagram is exactly as before
    assert flow_diagram_svg("Expired", path, []) == flow_diagram_svg("Expired", path)
    assert "branch" not in flow_diagram_svg("Expired", path)


def test_the_diagram_refuses_a_branch_through_an_unknown_state():
    with pytest.raises(ValueError, match="Unknown flow state 'Paid'"):
        flow_diagram_svg("Pending", ["start", "Pending"], [BranchLine(1, "branch 1: Paid", ("Pending", "Paid"))])
