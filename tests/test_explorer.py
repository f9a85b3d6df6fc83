"""The flow explorer's methods (what its buttons call) and the state diagram it draws.

Against the session's real sandbox (conftest), over real sockets; the browser side is
``test_browser_explorer.py``.
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest
from conftest import KO_URL, OK_URL

import octopus_nb
from octopus_nb.client import Client
from octopus_nb.errors import NotASandboxError, ValidationError
from octopus_nb.ui import FlowExplorer
from octopus_nb.ui.diagram import STATES, flow_diagram_svg
from octopus_nb.ui.explorer_layout import STEPS

READY = dict(amount=1000, currency="HKD", success_url=OK_URL, failure_url=KO_URL, reference="ORD-5023-4E89")


@pytest.fixture
def explorer(client):
    made = FlowExplorer(client)
    yield made
    made.close()


def test_starts_empty_with_the_example_in_the_form(explorer):
    assert (explorer.state, explorer.status, explorer.step, explorer.path) == ("start", None, "create", ["start"])
    assert explorer.form_values()["amount"] == 1000 and explorer.form_values()["reference"] is None
    assert repr(explorer) == "<FlowExplorer custom step=create state=start>"
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/plain"] == repr(explorer)
    assert "application/vnd.jupyter.widget-view+json" in bundle
    # The only exchange so far: pointing the sandbox's webhooks at the explorer's receiver.
    assert [(ex.method, ex.path, ex.status) for ex in explorer.client.history] == [("PUT", "/_sandbox/webhooks", 200)]


def test_the_whole_flow_from_code(explorer):
    setup = explorer.create(**READY)
    assert setup["payment_methods"]["octopus"]["status"] == "ready"
    assert (explorer.state, explorer.status, explorer.step) == ("ready", "ready", "readiness")
    assert "octopus-readiness-status-octopus" in explorer.panels["readiness"].value and ">ready<" in explorer.panels["readiness"].value
    assert explorer.fields["amount"].value == "1000"  # the arguments are typed into the form

    payment = explorer.confirm()
    assert payment["status"] == "Pending" and explorer.step == "redirect"
    assert bytes(explorer.layout.qr.value).startswith(b"\x89PNG") and explorer.layout.qr.layout.display is None
    assert payment["processing"]["octopus_uri"] in explorer.panels["targets"].value
    assert explorer.redirect_targets().android == payment["processing"]["octopus_uri"]

    captured = explorer.act("approve")
    assert captured["status"] == explorer.status == explorer.state == "Captured"
    assert explorer.step == "outcome" and [a["type"] for a in explorer.actions] == ["Capture"]
    assert "Captured" in explorer.panels["outcome"].value

    answer = explorer.refund(500)
    assert answer["action_id"].startswith("act_")
    assert explorer.status == "Partially Refunded"
    assert explorer.payment["balances"]["available_to_refund"] == 500
    explorer.refund()  # an empty refund field: everything still available
    assert explorer.status == "Refunded"
    assert explorer.path == ["start", "ready", "Pending", "Captured", "Partially Refunded", "Refunded"]
    assert 'class="node current" data-state="Refunded"' in explorer.panels["diagram"].value
    assert explorer.last_error is None and explorer.panels["error"].value == ""


def test_readiness_shows_each_flag_with_its_fix_and_update_makes_it_ready(explorer):
    explorer.create(**{**READY, "amount": 1005})
    assert (explorer.state, explorer.status) == ("not_ready", "invalid")
    frame = explorer.check_readiness()
    assert frame["flag"].tolist() == ["amount_must_end_in_zero"]
    assert "amount_must_end_in_zero" in explorer.panels["readiness"].value
    assert "try 1000, not 1005" in explorer.panels["readiness"].value  # errors.FIXES, filled in
    assert explorer.buttons["confirm"].disabled is False  # the API decides; the confirm page warns

    updated = explorer.update(amount=1000)
    assert updated["amount"] == 1000 and updated["reference"] == "ORD-5023-4E89"  # other fields kept
    assert explorer.path == ["start", "not_ready", "ready"]


def test_from_code_errors_raise_and_show_in_the_error_box(explorer):
    with pytest.raises(ValueError, match="create one first"):
        explorer.confirm()
    assert "create one first" in explorer.panels["error"].value
    with pytest.raises(ValidationError) as caught:
        explorer.create(**{**READY, "currency": "hkd"})
    assert caught.value.error_codes == ["currency_invalid"]
    assert explorer.last_error is caught.value
    assert "currency_invalid" in explorer.panels["error"].value and "upper-case ISO 4217" in explorer.panels["error"].value
    assert explorer.state == "start"  # nothing moved
    explorer.create(**READY)
    assert explorer.panels["error"].value == "" and explorer.last_error is None


def test_buttons_read_the_form_and_never_raise(explorer):
    explorer.buttons["refund"].click()  # too early: shown, not raised
    assert "No payment yet" in explorer.panels["error"].value
    explorer.fields["amount"].value = "2000"
    explorer.fields["reference"].value = "ORD-CLICK"
    explorer.buttons["create"].click()
    assert explorer.setup["amount"] == 2000 and explorer.setup["reference"] == "ORD-CLICK"
    explorer.buttons["to_confirm"].click()
    assert explorer.step == "confirm"
    explorer.buttons["confirm"].click()
    assert explorer.status == "Pending"
    explorer.buttons["to_customer"].click()
    explorer.buttons["approve"].click()
    assert explorer.status == "Captured" and explorer.step == "outcome"
    explorer.layout.refund_amount.value = "1234"
    explorer.buttons["refund"].click()
    assert "amount_must_end_in_zero" in explorer.panels["error"].value and explorer.status == "Captured"


def test_buttons_are_enabled_only_when_their_step_makes_sense(explorer):
    b = explorer.buttons
    assert b["confirm"].disabled and b["approve"].disabled and b["refund"].disabled
    explorer.create(**READY)
    assert not b["confirm"].disabled and b["approve"].disabled
    explorer.confirm()
    assert b["confirm"].disabled and not b["approve"].disabled and b["refund"].disabled
    explorer.act("decline")
    assert explorer.status == "Declined" and not b["confirm"].disabled and b["refund"].disabled
    explorer.confirm()  # after a decline the customer may try again: a new payment
    assert explorer.path[-3:] == ["Pending", "Declined", "Pending"]
    explorer.act("expire")
    assert explorer.status == "Expired"
    explorer.confirm()
    explorer.buttons["fail_capture"].click()  # the customer approves, the capture fails
    assert explorer.status == "Declined" and explorer.payment["approved"] is False
    assert not b["confirm"].disabled and b["fail_capture"].disabled
    assert 'class="edge taken"' in explorer.diagram_svg()


def test_the_stepper_shows_one_page_per_step(explorer):
    for step in STEPS:
        assert explorer.go(step) == step
        assert explorer.layout.pages.selected_index == STEPS.index(step)
    with pytest.raises(ValueError, match="Unknown step"):
        explorer.go("pay")


def test_new_payment_clears_the_form_and_keeps_the_history(explorer):
    explorer.create(**READY)
    explorer.confirm()
    exchanges = len(explorer.client.history)
    assert explorer.new_payment() == "start"
    assert explorer.setup is None and explorer.payment is None and explorer.path == ["start"]
    assert all(field.value == "" for field in explorer.fields.values())
    assert explorer.layout.qr.layout.display == "none" and explorer.step == "create"
    assert len(explorer.client.history) == exchanges
    explorer.create(**READY)  # and a second flow works from there
    assert explorer.state == "ready"


def test_history_panel_lists_every_exchange_newest_first_each_expandable(explorer):
    explorer.create(**READY)
    explorer.check_readiness()
    panel = explorer.panels["history"].value
    assert panel.count("class='octopus-history-row'") == len(explorer.client.history) == 3
    assert panel.count("<details>") == 3
    assert panel.index("GET</b>") < panel.index("POST</b>") < panel.index("PUT</b>")
    assert "&quot;success_url&quot;" in panel  # the full request body, escaped
    frame = explorer.history_frame()
    assert frame["method"].tolist() == ["GET", "POST", "PUT"]
    assert "latency_ms" not in frame.columns


def test_webhook_events_arrive_in_the_events_panel(explorer):
    explorer.create(**READY)
    explorer.confirm()
    explorer.act("approve")
    types = sorted(event["type"] for event in explorer.wait_for_events(3))
    assert types == ["payment_capture_pending", "payment_captured", "payment_pending"]
    assert explorer.panels["events"].value.count("class='octopus-event-row'") == 3


def test_the_events_panel_counts_what_the_receiver_kept_dropped_and_rejected(explorer):
    assert "octopus-events-counts" not in explorer.panels["events"].value  # nothing arrived yet
    settings = explorer.webhook_chaos(duplicate_rate=0.5, reorder=True, forged_rate=0.5)
    assert settings["duplicate_rate"] == 0.5 and settings["reorder"] is True and settings["forged_rate"] == 0.5
    assert [ex.path for ex in explorer.client.history][-2:] == ["/_sandbox/webhooks", "/_sandbox/webhooks"]
    for action in ("approve", "fail_capture"):
        explorer.new_payment()
        explorer.create(**READY)
        explorer.confirm()
        explorer.act(action)
    explorer.wait_for_events(6)
    explorer.refresh_events()
    log = octopus_nb.webhook_deliveries(explorer.client)
    kinds = [entry["kind"] for entry in log]
    counts = explorer.webhook_counts()
    assert counts == {"deliveries": len(log), "accepted": 6, "duplicates": kinds.count("duplicate"), "rejected": kinds.count("forgery")}
    assert counts["duplicates"] and counts["rejected"]
    panel = explorer.panels["events"].value
    assert panel.count("class='octopus-event-row'") == 6  # each real event once
    assert (f"<b>6</b> accepted · <b>{counts['duplicates']}</b> duplicates dropped · <b>{counts['rejected']}</b> rejected") in panel
    assert explorer.webhook_chaos() == {"url": explorer.feed.receiver.url}  # off again
    with pytest.raises(ValidationError):
        explorer.webhook_chaos(forged_rate=2)
    assert explorer.last_error is not None and "webhooks_invalid" in explorer.panels["error"].value


def test_webhooks_off_leaves_a_clear_empty_panel(client):
    explorer = FlowExplorer(client, webhooks=False)
    assert len(client.history) == 0 and explorer.events == []
    assert "Webhooks are off" in explorer.panels["events"].value
    with pytest.raises(RuntimeError, match="Webhooks are off"):
        explorer.wait_for_events(1)
    with pytest.raises(RuntimeError, match="Webhooks are off"):
        explorer.webhook_chaos(duplicate_rate=0.5)
    assert explorer.webhook_counts() is None and len(client.history) == 0
    assert explorer.buttons["events"].disabled


def test_against_checkout_sandbox_the_customer_buttons_are_disabled():
    client = Client("https://abcdefgh.api.sandbox.checkout.com", "sk_sbox_" + "a" * 27, environment="sandbox")
    explorer = FlowExplorer(client)
    assert len(client.history) == 0  # no webhook set-up attempted on Checkout.com
    assert not explorer.can_play_customer
    assert "Octopus App" in explorer.panels["customer"].value and "Dashboard" in explorer.panels["events"].value
    explorer.flow.payment = {"id": "pay_" + "a" * 26, "status": "Pending"}
    explorer.render()
    assert all(explorer.buttons[name].disabled for name in ("approve", "decline", "expire", "fail_capture"))
    assert not explorer.buttons["refresh_customer"].disabled
    with pytest.raises(NotASandboxError):
        explorer.act("approve")
    assert len(client.history) == 0 and "NotASandboxError" in explorer.panels["error"].value
    explorer.close()


def test_default_client_is_the_seeded_embedded_sandbox():
    explorer = FlowExplorer()
    try:
        assert explorer.client.environment == "embedded"
        assert explorer.create(**READY)["id"] == "set_s2jhtlgmxgedn73u55xtplpft7"  # seed 7
    finally:
        explorer.close()
    assert not explorer.client.sandbox.is_running()


def test_unknown_customer_action_is_refused_before_any_request(explorer):
    explorer.create(**READY)
    explorer.confirm()
    sent = len(explorer.client.history)
    with pytest.raises(ValueError, match="Unknown customer action"):
        explorer.act("pay")
    assert len(explorer.client.history) == sent


# --- the diagram -----------------------------------------------------------------------------


def test_diagram_is_deterministic_well_formed_and_id_free():
    path = ["start", "not_ready", "ready", "Pending", "Captured"]
    svg = flow_diagram_svg("Captured", path)
    assert svg == flow_diagram_svg("Captured", list(path))
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert not [el for el in root.iter() if "id" in el.attrib]
    assert "Octopus payment flow; current state: Captured" in svg


@pytest.mark.parametrize("current", STATES)
def test_diagram_highlights_exactly_the_current_state(current):
    svg = flow_diagram_svg(current, ["start", current])
    assert svg.count('class="node current"') == 1
    assert f'class="node current" data-state="{current}"' in svg
    assert svg.count('data-state="') == len(STATES)


def test_diagram_outlines_the_path_and_thickens_the_edges_taken():
    svg = flow_diagram_svg("Partially Refunded", ["start", "ready", "Pending", "Captured", "Partially Refunded"])
    assert svg.count('class="node visited"') == 4
    assert svg.count('class="edge taken"') == 4  # start→ready, ready→Pending, Pending→Captured, Captured→PR
    plain = flow_diagram_svg("start", ["start"])
    assert 'class="edge taken"' not in plain and 'class="node visited"' not in plain
    assert plain != svg


def test_diagram_refuses_unknown_states():
    with pytest.raises(ValueError, match="Unknown flow state 'Authorized'"):
        flow_diagram_svg("Authorized", [])
    with pytest.raises(ValueError, match="Unknown flow state"):
        flow_diagram_svg("start", ["start", "paid"])


def test_package_connect_is_what_the_explorer_uses():
    # The explorer imports nothing the package doesn't export (connect from octopus_nb).
    assert octopus_nb.connect is octopus_nb.environments.connect


def test_the_explorer_carries_a_static_picture_of_its_state(explorer):
    import base64
    import re

    from conftest import decode_qr

    explorer.create(**READY)
    explorer.confirm()
    explorer.act("approve")
    bundle = explorer._repr_mimebundle_()
    picture = bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle and bundle["text/plain"] == repr(explorer)
    assert "<svg" in picture and 'class="node current" data-state="Captured"' in picture
    for panel in ("readiness", "summary", "targets", "outcome", "history"):
        assert explorer.panels[panel].value in picture
    assert explorer.panels["events"].value not in picture or not explorer.panels["events"].value  # events are live only
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', picture).group(1))
    assert decode_qr(png) == [explorer.payment["processing"]["octopus_uri"]]
    assert picture == explorer.picture()  # the same state, the same picture


# --- the customer's journey: the desktop and the phone side by side, the explorer following ---------


def test_on_a_sandbox_the_form_returns_to_the_loopback_merchant(explorer):
    merchant = explorer.merchant
    assert explorer.form_values()["success_url"] == merchant.success_url
    assert explorer.form_values()["failure_url"] == merchant.failure_url
    assert merchant.success_url.startswith("http://127.0.0.1:") and merchant.success_url.endswith("/return/success")


def test_the_redirect_step_shows_the_desktop_page_and_the_phone_side_by_side(explorer):
    explorer.create(amount=1000, currency="HKD")
    payment = explorer.confirm()
    journey = explorer.panels["journey"].value
    assert f"src='{payment['processing']['landing_url']}'" in journey
    assert f"src='{octopus_nb.app_url(explorer.client, payment)}'" in journey
    assert journey.count("<iframe title=") == 2
    assert "<iframe" not in explorer.picture()  # the static picture shows nothing live


def test_paying_on_the_phone_moves_the_explorer_without_a_click(explorer):
    explorer.create(amount=1000, currency="HKD")
    payment = explorer.confirm()
    landed = octopus_nb.press_in_app(explorer.client, payment, "pay")  # the phone, not the explorer
    assert landed.heading == "Paid"
    explorer.feed.wait_for(2)
    deadline = time.monotonic() + 5
    while explorer.status != "Captured" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (explorer.status, explorer.state, explorer.step) == ("Captured", "Captured", "redirect")
    assert [a["type"] for a in explorer.actions] == ["Capture"]
    assert "Captured" in explorer.panels["status"].value
    # the desktop, reloaded, lands on the merchant's page, which verified the payment
    desktop = octopus_nb.open_landing_page(explorer.client, payment)
    assert desktop.heading == "Thank you: your payment was received"
    assert explorer.merchant.returns[-1]["status"] == "Captured"


def test_acting_from_code_adds_no_follow_up_request(explorer):
    """Code-driven runs stay repeatable: the events of an action the explorer took fetch nothing more."""
    explorer.create(amount=1000, currency="HKD")
    explorer.confirm()
    explorer.act("approve")
    explorer.feed.wait_for(3)
    explorer.refresh_events()
    before = len(explorer.client.history)
    assert explorer.follow() is False and len(explorer.client.history) == before
