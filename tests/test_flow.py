"""The flow controller (``octopus_nb.ui.flow``) without any widgets: states, path, errors.

Against the session's real sandbox (conftest), over real sockets.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import KO_URL, OK_URL
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octopus_nb.client import Client
from octopus_nb.errors import ConflictError, NotASandboxError, ValidationError
from octopus_nb.ui.events import EventFeed
from octopus_nb.ui.flow import Flow, preview_fields, settings_with_redirects

READY = dict(amount=1000, currency="HKD", success_url=OK_URL, failure_url=KO_URL, reference="ORD-5023-4E89")


@pytest.fixture
def flow(client):
    return Flow(client)


def test_a_new_flow_is_at_the_start(flow):
    assert (flow.state, flow.status, flow.path, flow.setup, flow.payment, flow.actions) == ("start", None, ["start"], None, None, [])
    assert flow.can_play_customer
    assert repr(flow) == "<Flow custom state=start>"


def test_the_whole_flow(flow, client):
    setup = flow.create(**READY)
    assert (flow.state, flow.status) == ("ready", "ready") and flow.setup is setup
    assert flow.inspect()["status"].tolist() == ["ready"]
    payment = flow.confirm()
    assert (payment["status"], flow.state, flow.actions) == ("Pending", "Pending", [])
    assert flow.redirect_targets().android == payment["processing"]["octopus_uri"]
    captured = flow.act("approve")
    assert captured["status"] == flow.status == flow.state == "Captured"
    assert flow.actions == []  # act() does not fetch the actions ...
    assert [a["type"] for a in flow.refresh_actions()] == ["Capture"]  # ... refresh_actions() does
    answer = flow.refund(500)
    assert answer["action_id"].startswith("act_") and flow.status == "Partially Refunded"
    assert [a["type"] for a in flow.actions] == ["Refund", "Capture"]
    flow.refund()  # everything still available
    assert flow.status == "Refunded" and flow.payment["balances"]["available_to_refund"] == 0
    assert flow.path == ["start", "ready", "Pending", "Captured", "Partially Refunded", "Refunded"]
    methods = [(ex.method, ex.path.split("/")[-1]) for ex in client.history]
    assert methods == [
        ("POST", "setups"),
        ("GET", setup["id"]),
        ("POST", "octopus"),
        ("POST", "approve"),
        ("GET", "actions"),
        ("POST", "refunds"),
        ("GET", payment["id"]),
        ("GET", "actions"),
        ("POST", "refunds"),
        ("GET", payment["id"]),
        ("GET", "actions"),
    ]


def test_update_makes_a_setup_ready_and_keeps_the_fields_not_given(flow):
    flow.create(**{**READY, "amount": 1005})
    assert (flow.state, flow.status) == ("not_ready", "invalid")
    updated = flow.update(amount=1000)
    assert updated["amount"] == 1000 and updated["reference"] == "ORD-5023-4E89"
    assert updated["settings"] == {"success_url": OK_URL, "failure_url": KO_URL}
    assert flow.path == ["start", "not_ready", "ready"]
    cleared = flow.update(failure_url=None)  # a cleared field removes the URL
    assert cleared["settings"] == {"success_url": OK_URL}
    assert cleared["payment_methods"]["octopus"]["flags"] == ["failure_url_required"]
    assert flow.path == ["start", "not_ready", "ready", "not_ready"]


def test_settings_merge_writes_pops_and_keeps():
    setup = {"settings": {"success_url": "https://a.example/ok", "excluded_payment_methods": ["octopus"]}}
    fields = {"success_url": "", "failure_url": "https://a.example/ko", "amount": 10}
    assert settings_with_redirects(setup, fields) == {"excluded_payment_methods": ["octopus"], "failure_url": "https://a.example/ko"}
    assert fields == {"amount": 10}  # the URLs moved into settings
    assert setup["settings"]["success_url"] == "https://a.example/ok"  # the setup is not changed


def test_steps_taken_too_early_raise_and_send_nothing(flow, client):
    for step in (flow.inspect, flow.confirm, flow.update):
        with pytest.raises(ValueError, match="create one first"):
            step()
    for step in (flow.outcome, flow.refund, flow.refresh_actions, flow.redirect_targets, lambda: flow.act("approve")):
        with pytest.raises(ValueError, match="No payment yet"):
            step()
    assert len(client.history) == 0 and flow.state == "start"


def test_api_errors_raise_and_change_nothing(flow):
    with pytest.raises(ValidationError) as caught:
        flow.create(**{**READY, "currency": "hkd"})
    assert caught.value.error_codes == ["currency_invalid"]
    assert (flow.state, flow.setup) == ("start", None)
    flow.create(**READY)
    flow.confirm()
    flow.act("decline")
    with pytest.raises(ConflictError):
        flow.act("approve")
    assert flow.state == "Declined"
    with pytest.raises(ValueError, match="Unknown customer action"):
        flow.act("pay")


def test_a_declined_payment_can_be_confirmed_again(flow):
    flow.create(**READY)
    first = flow.confirm()
    flow.act("decline")
    second = flow.confirm()
    assert second["id"] != first["id"] and flow.actions == []
    flow.act("expire")
    assert flow.path == ["start", "ready", "Pending", "Declined", "Pending", "Expired"]
    flow.inspect()  # after a payment that ended, the setup's readiness moves the flow again
    assert flow.path[-2:] == ["Expired", "ready"]
    flow.confirm()
    flow.inspect()  # while a payment is Pending, it does not
    assert flow.state == "Pending"


def test_new_payment_starts_again_and_keeps_the_history(flow, client):
    flow.create(**READY)
    flow.confirm()
    sent = len(client.history)
    assert flow.new_payment() == "start"
    assert (flow.setup, flow.payment, flow.path) == (None, None, ["start"])
    assert len(client.history) == sent


def test_create_without_amount_is_the_apis_to_refuse(flow):
    with pytest.raises(ValidationError) as caught:
        flow.create(currency="HKD")
    assert "amount_required" in caught.value.error_codes


def test_against_checkout_the_customer_cannot_be_played():
    client = Client("https://abcdefgh.api.sandbox.checkout.com", "sk_sbox_" + "a" * 27, environment="sandbox")
    flow = Flow(client)
    assert not flow.can_play_customer
    flow.payment = {"id": "pay_" + "a" * 26, "status": "Pending"}
    with pytest.raises(NotASandboxError):
        flow.act("approve")
    assert len(client.history) == 0


def test_preview_lists_every_field_with_its_fix():
    preview = preview_fields({"amount": 1234, "currency": "HKD", "success_url": OK_URL, "failure_url": ""})
    assert preview["amount"] == ["Octopus amounts are minor units ending in 0 — try 1230, not 1234."]
    assert preview["currency"] == [] and preview["failure_url"] and preview["reference"] == []


def test_event_feed_collects_and_flushes_deliveries(flow, client):
    feed = EventFeed(client)
    try:
        assert feed.active and feed.note == ""
        arrivals = []
        feed.watch(lambda: arrivals.append(len(feed.events)))
        flow.create(**READY)
        flow.confirm()
        flow.act("approve")
        types = sorted(event["type"] for event in feed.refresh())
        assert types == ["payment_capture_pending", "payment_captured", "payment_pending"]
        assert client.history[-1].path == "/_sandbox/webhooks/flush"  # a control call, in the history
        assert feed.wait_for(3) == feed.events
    finally:
        feed.close()
    assert arrivals and arrivals[-1] <= 3
    assert not feed.receiver.is_running()


def test_event_feed_off_or_on_checkout_explains_why():
    off = EventFeed(Client("http://127.0.0.1:9", "sk_sbox_" + "a" * 27), enabled=False)
    assert not off.active and "Webhooks are off" in off.note and off.refresh() == []
    with pytest.raises(RuntimeError, match="Webhooks are off"):
        off.wait_for(1)
    key = "sk_sbox_" + "a" * 27
    checkout = EventFeed(Client("https://abcdefgh.api.sandbox.checkout.com", key, environment="sandbox"))
    assert not checkout.active and "Dashboard" in checkout.note


def test_the_controller_does_not_import_ipywidgets():
    code = "import sys, octopus_nb.ui.flow, octopus_nb.ui.events; assert 'ipywidgets' not in sys.modules, 'ipywidgets'"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- both confirm shapes, the capture that fails ---------------------------------------------


@pytest.mark.parametrize("shape", ["payment", "setup"])
def test_the_flow_reads_either_confirm_shape(shape):
    import octopus_nb

    with octopus_nb.connect(seed=7, confirm_response=shape) as client:
        flow = Flow(client)
        flow.create(**READY)
        payment = flow.confirm()
        assert payment["id"].startswith("pay_") and payment["status"] == "Pending" == flow.state
        if shape == "setup":  # the answer was the setup: the flow keeps it, with the payment inside
            assert flow.setup["latest_payment"]["id"] == payment["id"]
        assert flow.redirect_targets().android == payment["processing"]["octopus_uri"]
        assert octopus_nb.qr_code(payment).data == payment["processing"]["octopus_uri"]
        assert flow.act("approve")["status"] == "Captured"
        assert octopus_nb.wait_for_payment(client, payment["id"], timeout=5)["status"] == "Captured"


def test_a_capture_that_fails_ends_declined_and_can_be_confirmed_again(flow):
    flow.create(**READY)
    flow.confirm()
    declined = flow.act("fail_capture")
    assert (declined["status"], declined["approved"], flow.state) == ("Declined", False, "Declined")
    assert flow.confirm()["status"] == "Pending"
    assert flow.path == ["start", "ready", "Pending", "Declined", "Pending"]


# --- the form's preview agrees with the sandbox on every rule it checks -----------------------


_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=110)
_URLS = st.one_of(
    st.sampled_from(
        ["", OK_URL, KO_URL, OK_URL + "\n", "ftp://x.example", "https://", "https://a b.example", "http://h.example/" + "p" * 240]
    ),
    _TEXT,
)
_FIELDS = st.fixed_dictionaries(
    {
        "amount": st.one_of(st.none(), st.integers(min_value=-5, max_value=10**10 + 5), st.sampled_from([9_999_999_999, 10**10])),
        "currency": st.one_of(st.sampled_from(["", "HKD", "USD", "hkd", "HK", "HKDD", "HKD\n"]), _TEXT),
        "success_url": _URLS,
        "failure_url": _URLS,
        "description": _TEXT,
        "reference": st.one_of(_TEXT, st.text(max_size=90)),
    }
)


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=_FIELDS)
def test_the_form_preview_agrees_with_the_sandbox(client, values):
    import octopus_nb
    from octopus_nb.readiness import field_problems

    body = {name: value for name, value in values.items() if value not in (None, "")}
    settings_ = {name: body.pop(name) for name in ("success_url", "failure_url") if name in body}
    if settings_:
        body["settings"] = settings_
    try:
        setup = client.request("POST", "/payments/setups", body=body)
    except octopus_nb.ValidationError as error:  # 422: validation codes only, readiness not computed
        said = _by_field(error.error_codes)
        previewed = _by_field(code for codes in field_problems(values).values() for code in codes if code in VALIDATION_CODES)
    else:  # 200: the readiness flags, all of them
        said = _by_field(setup["payment_methods"]["octopus"]["flags"])
        previewed = _by_field(code for codes in field_problems(values).values() for code in codes)
    assert previewed == said, (values, said, previewed)


VALIDATION_CODES = {
    "amount_required",
    "amount_invalid",
    "currency_required",
    "currency_invalid",
    "success_url_invalid",
    "failure_url_invalid",
    "description_invalid",
    "reference_invalid",
}


def _by_field(codes) -> dict:
    from octopus_nb.readiness import FIELD_OF

    grouped: dict = {}
    for code in codes:
        if FIELD_OF.get(code):
            grouped.setdefault(FIELD_OF[code], set()).add(code)
    return grouped
