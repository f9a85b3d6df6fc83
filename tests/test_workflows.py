"""The Workflows API on the wire (contract §9.2, docs/workflows.md): Checkout.com's own Python SDK, and raw HTTP.

Receivers are real servers on loopback (pytest-httpserver, and the toolkit's WebhookReceiver);
every signature is checked with the key its workflow was given.
"""

from __future__ import annotations

import json
import warnings
from collections import Counter

import pytest
from checkout_sdk.checkout_sdk import CheckoutSdk
from checkout_sdk.environment import Environment
from checkout_sdk.exception import CheckoutApiException
from checkout_sdk.payments.setups.setups import PaymentSetupsRequest, Settings
from checkout_sdk.workflows.workflows import (
    CreateWorkflowRequest,
    EntityWorkflowConditionRequest,
    EventWorkflowConditionRequest,
    ProcessingChannelWorkflowConditionRequest,
    ReflowByEventsRequest,
    UpdateWorkflowRequest,
    WebhookSignature,
    WebhookWorkflowActionRequest,
)
from conftest import KO_URL, OK_URL

from octopus_nb._shared.signing import sign
from octopus_nb.sandbox.workflows import SANDBOX_ENTITY_ID

READY = {"amount": 1000, "currency": "HKD", "reference": "ORD-1", "settings": {"success_url": OK_URL, "failure_url": KO_URL}}
KEY_A, KEY_B = "wf-key-a-8V8x0dLK%AyD", "wf-key-b-DNS8JJr"


def sdk(sandbox):
    base = sandbox.base_url + "/"
    environment = Environment(base, base + "connect/token", base, base, base, base, base, is_sandbox=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # use_legacy_domain(): the only way to a loopback host
        return CheckoutSdk.builder().secret_key(sandbox.secret_key).environment(environment).use_legacy_domain().build()


def call(control, method, path, body=None, **kwargs):
    return control.request(method, control.base_url + path, json=body, timeout=10, **kwargs)


def webhook(url, key, headers=None, **extra):
    return {"type": "webhook", "url": url, "headers": headers or {}, "signature": {"method": "HMACSHA256", "key": key}, **extra}


def workflow(url, key, events, name="shop", **extra):
    return {"name": name, "conditions": [{"type": "event", "events": {"gateway": events}}], "actions": [webhook(url, key)], **extra}


def pay(control, outcome="approve") -> str:
    setup = call(control, "POST", "/payments/setups", READY).json()
    payment = call(control, "POST", f"/payments/setups/{setup['id']}/confirm/octopus").json()["id"]
    if outcome:
        assert call(control, "POST", f"/_sandbox/payments/{payment}/{outcome}").status_code == 200
    return payment


def received(httpserver, key):
    """Every delivery the httpserver got, as (event, headers), each signature checked against ``key``."""
    out = []
    for request, _ in httpserver.log:
        body = request.get_data()
        assert request.headers["Cko-Signature"] == sign(body, key)
        out.append((json.loads(body), request.headers))
    return out


# --- Checkout.com's Python SDK, unmodified ------------------------------------------------------


def test_the_python_sdk_creates_a_workflow_whose_webhook_arrives_signed_then_reflows_pauses_and_deletes(sandbox, control, httpserver):
    httpserver.expect_request("/hooks").respond_with_data("", 200)
    api = sdk(sandbox)
    channel = call(control, "POST", "/payments/setups", READY).json()["processing_channel_id"]

    signature = WebhookSignature()
    signature.key, signature.method = KEY_A, "HMACSHA256"
    action = WebhookWorkflowActionRequest()
    action.url, action.headers, action.signature = httpserver.url_for("/hooks"), {"X-Shop": "octopus"}, signature
    events = EventWorkflowConditionRequest()
    events.events = {"gateway": ["payment_pending", "payment_captured"]}
    entity = EntityWorkflowConditionRequest()
    entity.entities = [SANDBOX_ENTITY_ID]
    channels = ProcessingChannelWorkflowConditionRequest()
    channels.processing_channels = [channel]
    request = CreateWorkflowRequest()
    request.name, request.active, request.actions, request.conditions = "python", True, [action], [events, entity, channels]

    created = api.workflows.create_workflow(request)
    assert created.http_metadata.status_code == 201 and created.id.startswith("wf_")
    got = api.workflows.get_workflow(created.id)
    assert (got.name, got.active, len(got.conditions), len(got.actions)) == ("python", True, 3, 1)
    assert got.actions[0].signature.method == "HMACSHA256" and not hasattr(got.actions[0].signature, "key")
    assert [w.id for w in api.workflows.get_workflows().data] == [created.id]

    setup_request = PaymentSetupsRequest()
    setup_request.amount, setup_request.currency, setup_request.reference = 1000, "HKD", "ORD-SDK"
    setup_request.settings = Settings()
    setup_request.settings.success_url, setup_request.settings.failure_url = OK_URL, KO_URL
    setup = api.setups.create_payment_setup(setup_request)
    payment = api.setups.confirm_payment_setup(setup.id, "octopus")
    payment_id = getattr(payment, "latest_payment", payment).id
    call(control, "POST", f"/_sandbox/payments/{payment_id}/approve")
    sandbox.flush_webhooks()

    deliveries = received(httpserver, KEY_A)
    assert sorted(event["type"] for event, _ in deliveries) == ["payment_captured", "payment_pending"]  # order not guaranteed
    assert all(headers["X-Shop"] == "octopus" for _, headers in deliveries)

    subject = api.workflows.get_subject_events(payment_id)
    types = [event.type for event in subject.data]
    assert types == ["payment_pending", "payment_capture_pending", "payment_captured"]
    captured = subject.data[2]
    event = api.workflows.get_event(captured.id)
    assert (event.id, event.source, event.type, event.data.id) == (captured.id, "gateway", "payment_captured", payment_id)
    action_id = got.actions[0].id
    invocations = api.workflows.get_action_invocations(captured.id, action_id)
    assert (invocations.workflow_action_id, invocations.event_id, invocations.status) == (action_id, captured.id, "successful")
    assert len(invocations.action_invocations) == 1 and invocations.action_invocations[0].succeeded

    reflow = ReflowByEventsRequest()
    reflow.events, reflow.workflows = [captured.id], [created.id]
    assert api.workflows.reflow(reflow).http_metadata.status_code == 202
    assert api.workflows.reflow_by_event(captured.id).http_metadata.status_code == 202
    sandbox.flush_webhooks()
    again = received(httpserver, KEY_A)
    assert [event["id"] for event, _ in again[2:]] == [captured.id, captured.id]  # the same event, delivered anew
    assert len(api.workflows.get_action_invocations(captured.id, action_id).action_invocations) == 3

    update = UpdateWorkflowRequest()
    update.active = False
    assert api.workflows.update_workflow(created.id, update).active is False
    pay(control)
    sandbox.flush_webhooks()
    assert len(httpserver.log) == 4  # paused: nothing more

    assert api.workflows.remove_workflow(created.id).http_metadata.status_code == 204
    with pytest.raises(CheckoutApiException) as missing:
        api.workflows.get_workflow(created.id)
    assert missing.value.http_metadata.status_code == 404


# --- delivery per workflow ------------------------------------------------------------------------


def test_two_workflows_with_different_filters_and_keys_each_receive_exactly_their_events(sandbox, control, httpserver):
    httpserver.expect_request("/a").respond_with_data("", 200)
    httpserver.expect_request("/b").respond_with_data("", 200)
    a = call(control, "POST", "/workflows", workflow(httpserver.url_for("/a"), KEY_A, ["payment_pending"])).json()["id"]
    b = call(control, "POST", "/workflows", workflow(httpserver.url_for("/b"), KEY_B, ["payment_captured", "payment_declined"])).json()[
        "id"
    ]
    assert a != b
    captured, declined = pay(control, "approve"), pay(control, "decline")
    sandbox.flush_webhooks()
    by_path = {"/a": [], "/b": []}
    for request, _ in httpserver.log:
        body = request.get_data()
        key = KEY_A if request.path == "/a" else KEY_B
        assert request.headers["Cko-Signature"] == sign(body, key)
        event = json.loads(body)
        by_path[request.path].append((event["type"], event["data"]["id"]))
    assert sorted(by_path["/a"]) == sorted([("payment_pending", captured), ("payment_pending", declined)])
    assert sorted(by_path["/b"]) == sorted([("payment_captured", captured), ("payment_declined", declined)])


def test_a_failed_delivery_retries_on_the_sandbox_clock_per_action_and_deleting_drops_the_retries(sandbox, control, httpserver):
    httpserver.expect_request("/down").respond_with_data("", 503)
    httpserver.expect_request("/up").respond_with_data("", 200)
    down = call(control, "POST", "/workflows", workflow(httpserver.url_for("/down"), KEY_A, ["payment_pending"])).json()["id"]
    call(control, "POST", "/workflows", workflow(httpserver.url_for("/up"), KEY_B, ["payment_pending"]))
    payment = pay(control, None)
    sandbox.flush_webhooks()
    event_id = call(control, "GET", f"/workflows/events/subject/{payment}").json()["data"][0]["id"]
    event = call(control, "GET", f"/workflows/events/{event_id}").json()
    statuses = {item["workflow_id"]: item["status"] for item in event["action_invocations"]}
    assert statuses[down] == "pending" and sorted(statuses.values()) == ["pending", "successful"]
    call(control, "POST", "/_sandbox/clock", {"advance_seconds": 300})
    sandbox.flush_webhooks()
    paths = [r.path for r, _ in httpserver.log]
    assert sorted(paths[:2]) == ["/down", "/up"] and paths[2:] == ["/down"]  # the retry, 5 minutes later
    assert call(control, "DELETE", f"/workflows/{down}").status_code == 204
    call(control, "POST", "/_sandbox/clock", {"advance_seconds": 86400})
    sandbox.flush_webhooks()
    assert len(httpserver.log) == 3  # its retries went with it


def test_the_shortcut_is_one_workflow_receiving_every_octopus_event_and_its_log_keeps_its_shape(sandbox, control, httpserver):
    httpserver.expect_request("/all").respond_with_data("", 200)
    httpserver.expect_request("/wf").respond_with_data("", 200)
    assert call(control, "PUT", "/_sandbox/webhooks", {"url": httpserver.url_for("/all"), "signature_key": KEY_A}).status_code == 200
    call(control, "POST", "/workflows", workflow(httpserver.url_for("/wf"), KEY_B, ["payment_captured"]))
    listed = call(control, "GET", "/workflows").json()["data"]
    assert len(listed) == 2 and listed[0]["active"]
    pay(control)
    sandbox.flush_webhooks()
    log = call(control, "GET", "/_sandbox/webhooks/deliveries").json()
    shortcut = [entry for entry in log if entry["url"].endswith("/all")]
    assert [entry["type"] for entry in shortcut] == ["payment_pending", "payment_capture_pending", "payment_captured"]
    assert all(set(entry) == {"event_id", "type", "url", "status_code", "attempt", "attempted_at"} for entry in shortcut)
    (other,) = [entry for entry in log if entry["url"].endswith("/wf")]
    assert other["type"] == "payment_captured" and other["workflow_id"].startswith("wf_") and other["action_id"].startswith("wfa_")
    assert call(control, "PUT", "/_sandbox/webhooks", {}).json() == {"url": None}
    assert len(call(control, "GET", "/workflows").json()["data"]) == 1


def test_workflow_ids_come_from_their_own_stream_so_resource_ids_do_not_shift(sandbox, control, httpserver):
    plain = pay(control, None)
    sandbox.reset()
    httpserver.expect_request("/x").respond_with_data("", 200)
    call(control, "POST", "/workflows", workflow(httpserver.url_for("/x"), KEY_A, ["payment_pending"]))
    assert pay(control, None) == plain
    sandbox.flush_webhooks()
    assert len(received(httpserver, KEY_A)) == 1


# --- conditions and actions -----------------------------------------------------------------------


def test_conditions_and_actions_are_added_updated_and_removed(sandbox, control, httpserver):
    httpserver.expect_request("/one").respond_with_data("", 200)
    httpserver.expect_request("/two").respond_with_data("", 200)
    wf = call(control, "POST", "/workflows", {"name": "bare"}).json()["id"]
    added = call(control, "POST", f"/workflows/{wf}/actions", webhook(httpserver.url_for("/one"), KEY_A))
    assert added.status_code == 201 and added.json()["id"].startswith("wfa_")
    action = added.json()["id"]
    condition = call(control, "POST", f"/workflows/{wf}/conditions", {"type": "event", "events": {"gateway": ["payment_pending"]}})
    assert condition.status_code == 201 and condition.json()["id"].startswith("wfc_")
    condition = condition.json()["id"]
    updated = call(
        control, "PUT", f"/workflows/{wf}/conditions/{condition}", {"type": "event", "events": {"gateway": ["payment_captured"]}}
    )
    assert updated.status_code == 204 and updated.content == b""
    assert call(control, "PUT", f"/workflows/{wf}/actions/{action}", webhook(httpserver.url_for("/two"), KEY_B)).status_code == 204
    shown = call(control, "GET", f"/workflows/{wf}").json()
    assert shown["conditions"] == [{"id": condition, "type": "event", "events": {"gateway": ["payment_captured"]}}]
    assert shown["actions"][0]["url"].endswith("/two") and KEY_B not in json.dumps(shown)
    pay(control)
    sandbox.flush_webhooks()
    assert [(r.path, json.loads(r.get_data())["type"]) for r, _ in httpserver.log] == [("/two", "payment_captured")]
    received(httpserver, KEY_B)
    assert call(control, "DELETE", f"/workflows/{wf}/conditions/{condition}").status_code == 204
    assert call(control, "DELETE", f"/workflows/{wf}/actions/{action}").status_code == 204
    assert call(control, "GET", f"/workflows/{wf}").json()["conditions"] == []


def test_event_types_list_the_octopus_gateway_events(control):
    (gateway,) = call(control, "GET", "/workflows/event-types").json()
    assert gateway["id"] == "gateway"
    ids = [event["id"] for event in gateway["events"]]
    assert "payment_captured" in ids and "payment_capture_declined" in ids and len(ids) == 9


def test_a_test_sends_one_event_of_each_type_to_that_workflows_actions_only(sandbox, control, httpserver):
    httpserver.expect_request("/t").respond_with_data("", 200)
    wf = call(control, "POST", "/workflows", workflow(httpserver.url_for("/t"), KEY_A, ["payment_pending"], active=False)).json()["id"]
    call(control, "POST", "/workflows", workflow(httpserver.url_for("/other"), KEY_B, ["payment_captured"]))
    answer = call(control, "POST", f"/workflows/{wf}/test", {"event_types": ["payment_captured", "payment_refunded"]})
    assert answer.status_code == 204
    sandbox.flush_webhooks()
    events = [event for event, _ in received(httpserver, KEY_A)]
    assert sorted(event["type"] for event in events) == ["payment_captured", "payment_refunded"]
    assert all(r.path == "/t" for r, _ in httpserver.log)
    for href in (events[0]["_links"]["self"]["href"], events[0]["_links"]["subject"]["href"]):
        assert control.get(href).status_code == 200


def test_every_link_the_sandbox_writes_resolves_with_the_key(sandbox, control, httpserver):
    httpserver.expect_request("/l").respond_with_data("", 200)
    wf = call(control, "POST", "/workflows", workflow(httpserver.url_for("/l"), KEY_A, ["payment_pending"])).json()
    payment = pay(control, None)
    sandbox.flush_webhooks()
    ((event, _),) = received(httpserver, KEY_A)
    hrefs = [wf["_links"]["self"]["href"], event["_links"]["self"]["href"], event["_links"]["subject"]["href"]]
    hrefs += [item["_links"]["self"]["href"] for item in call(control, "GET", "/workflows").json()["data"]]
    subject = call(control, "GET", f"/workflows/events/subject/{payment}").json()
    hrefs += [item["_links"]["self"]["href"] for item in subject["data"]]
    fetched = call(control, "GET", f"/workflows/events/{event['id']}").json()
    hrefs += [item["_links"]["self"]["href"] for item in fetched["action_invocations"]]
    for href in hrefs:
        assert href.startswith(sandbox.base_url) and control.get(href).status_code == 200, href
    assert control.get(event["_links"]["self"]["href"]).json()["id"] == event["id"]


def test_reflow_forms_deliver_the_same_event_again(sandbox, control, httpserver):
    httpserver.expect_request("/r").respond_with_data("", 200)
    wf = call(control, "POST", "/workflows", workflow(httpserver.url_for("/r"), KEY_A, ["payment_pending", "payment_captured"])).json()[
        "id"
    ]
    payment = pay(control)
    sandbox.flush_webhooks()
    first = [event["id"] for event, _ in received(httpserver, KEY_A)]
    for path, body in [
        (f"/workflows/events/{first[0]}/reflow", None),
        (f"/workflows/events/{first[0]}/workflow/{wf}/reflow", None),
        (f"/workflows/events/subject/{payment}/reflow", None),
        (f"/workflows/events/subject/{payment}/workflow/{wf}/reflow", None),
        ("/workflows/events/reflow", {"subjects": [payment]}),
        ("/workflows/events/reflow", {"events": [first[1]], "workflows": [wf]}),
    ]:
        answer = call(control, "POST", path, body)
        assert answer.status_code == 202 and answer.content == b"", path
    sandbox.flush_webhooks()
    ids = Counter(event["id"] for event, _ in received(httpserver, KEY_A))  # arrival order is not guaranteed
    assert ids == Counter(first + [first[0], first[0], *first, *first, *first, first[1]])


# --- refusals -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, codes",
    [
        ({"conditions": []}, ["workflow_name_required"]),
        ({"name": "x", "colour": "red"}, ["workflow_invalid"]),
        ({"name": "x", "active": "yes"}, ["workflow_active_invalid"]),
        ({"name": "x", "conditions": [{"type": "weather"}]}, ["condition_type_invalid"]),
        ({"name": "x", "conditions": [{"type": "event", "events": {"gateway": []}}]}, ["condition_events_invalid"]),
        ({"name": "x", "conditions": [{"type": "entity", "entities": "ent_1"}]}, ["condition_entities_invalid"]),
        ({"name": "x", "actions": [{"type": "email"}]}, ["action_type_invalid"]),
        ({"name": "x", "actions": [webhook("ftp://example.com/h", "k")]}, ["action_url_invalid"]),
        (
            {"name": "x", "actions": [{"type": "webhook", "url": "https://example.com/h", "signature": {"method": "MD5", "key": "k"}}]},
            ["signature_method_invalid"],
        ),
        ({"name": "x", "actions": [webhook("https://example.com/h", "")]}, ["signature_key_invalid"]),
        ({"name": "x", "actions": [{"type": "webhook", "url": "https://example.com/h"}]}, ["signature_required"]),
        ({"name": "x", "actions": [webhook("https://example.com/h", "k", {"Cko-Signature": "mine"})]}, ["action_headers_invalid"]),
        ({"name": "x", "actions": [webhook("https://example.com/h", "k", {"Bad Name": "v"})]}, ["action_headers_invalid"]),
        ({"name": "x", "actions": [webhook("https://example.com/h", "k", {"X-Ok": "a\r\nInjected: 1"})]}, ["action_headers_invalid"]),
        ({"name": "x", "actions": [webhook("https://example.com/h", "k", extra=1)]}, ["action_invalid"]),
        ({"name": "x", "actions": [webhook("https://example.com/h", "k", retry={"enabled": "no"})]}, ["action_retry_invalid"]),
    ],
)
def test_a_bad_workflow_is_422_with_its_codes_and_changes_nothing(control, body, codes):
    answer = call(control, "POST", "/workflows", body)
    assert answer.status_code == 422 and answer.json()["error_codes"] == codes
    assert call(control, "GET", "/workflows").json() == {"data": []}


def test_a_body_that_is_not_a_json_object_is_400_and_unknown_ids_are_404(control):
    wf = call(control, "POST", "/workflows", {"name": "x"}).json()["id"]
    for method, path in [
        ("POST", "/workflows"),
        ("PATCH", f"/workflows/{wf}"),
        ("POST", f"/workflows/{wf}/actions"),
        ("POST", f"/workflows/{wf}/conditions"),
        ("POST", "/workflows/events/reflow"),
    ]:
        answer = control.request(method, control.base_url + path, data=b"[1]", headers={"Content-Type": "application/json"})
        assert answer.status_code == 400 and answer.json()["error_type"] == "request_malformed", path
    for method, path in [
        ("GET", "/workflows/wf_nope"),
        ("PATCH", "/workflows/wf_nope"),
        ("DELETE", "/workflows/wf_nope"),
        ("DELETE", f"/workflows/{wf}/actions/wfa_nope"),
        ("DELETE", f"/workflows/{wf}/conditions/wfc_nope"),
        ("GET", "/workflows/events/evt_nope"),
        ("GET", "/events/evt_nope"),
        ("GET", "/workflows/events/subject/pay_nope"),
        ("POST", "/workflows/events/evt_nope/reflow"),
        ("GET", "/workflows/events/evt_nope/actions/wfa_nope"),
    ]:
        answer = call(control, method, path, {"name": "y"} if method == "PATCH" else None)
        assert answer.status_code == 404 and answer.content == b"", path
    assert call(control, "PATCH", f"/workflows/{wf}", {"conditions": []}).json()["error_codes"] == ["workflow_invalid"]
    assert call(control, "GET", f"/workflows/{wf}").json()["name"] == "x"


def test_a_lower_case_patch_is_a_patch_as_checkout_sdk_node_sends_it(sandbox, control):
    import http.client
    from urllib.parse import urlsplit

    wf = call(control, "POST", "/workflows", {"name": "node"}).json()["id"]
    address = urlsplit(sandbox.base_url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.request(
        "patch",
        f"/workflows/{wf}",
        body=b'{"active": false}',
        headers={"Authorization": f"Bearer {sandbox.secret_key}", "Content-Type": "application/json"},
    )
    answer = connection.getresponse()
    assert (answer.status, json.loads(answer.read())) == (200, {"name": "node", "active": False})
    connection.close()


def test_signature_keys_never_appear_in_answers_reprs_or_the_access_log(sandbox, control, httpserver, caplog):
    import logging

    httpserver.expect_request("/s").respond_with_data("", 200)
    caplog.set_level(logging.DEBUG, logger="octopus_nb.sandbox.access")
    wf = call(control, "POST", "/workflows", workflow(httpserver.url_for("/s"), KEY_A, ["payment_pending"])).json()["id"]
    call(control, "PUT", "/_sandbox/webhooks", {"url": httpserver.url_for("/s"), "signature_key": KEY_B})
    pay(control, None)
    sandbox.flush_webhooks()
    answers = [
        call(control, "GET", path).text
        for path in (f"/workflows/{wf}", "/workflows", "/_sandbox/webhooks", "/_sandbox/webhooks/deliveries")
    ]
    registry = sandbox.state.workflows.registry
    shown = [*answers, repr(registry.all()), repr([t for w in registry.all() for t in w.targets()]), caplog.text]
    for text in shown:
        assert KEY_A not in text and KEY_B not in text


def test_entity_and_processing_channel_conditions_match_only_the_sandboxs_own(sandbox, control, httpserver):
    httpserver.expect_request("/c").respond_with_data("", 200)
    channel = call(control, "POST", "/payments/setups", READY).json()["processing_channel_id"]
    hook = webhook(httpserver.url_for("/c"), KEY_A)
    for name, condition in [
        ("ours", {"type": "entity", "entities": [SANDBOX_ENTITY_ID]}),
        ("other-entity", {"type": "entity", "entities": ["ent_someoneelseentirelyaaaaa"]}),
        ("our-channel", {"type": "processing_channel", "processing_channels": [channel]}),
        ("other-channel", {"type": "processing_channel", "processing_channels": ["pc_" + "q" * 26]}),
        ("no-conditions", None),
    ]:
        body = {"name": name, "actions": [{**hook, "headers": {"X-Workflow": name}}]}
        if condition:
            body["conditions"] = [condition]
        assert call(control, "POST", "/workflows", body).status_code == 201
    pay(control, None)
    sandbox.flush_webhooks()
    assert sorted(request.headers["X-Workflow"] for request, _ in httpserver.log) == ["no-conditions", "our-channel", "ours"]


def test_pausing_drops_queued_retries_and_retry_disabled_is_tried_once(sandbox, control, httpserver):
    httpserver.expect_request("/p").respond_with_data("", 500)
    paused = call(control, "POST", "/workflows", workflow(httpserver.url_for("/p"), KEY_A, ["payment_pending"])).json()["id"]
    once = workflow(httpserver.url_for("/p"), KEY_B, ["payment_pending"])
    once["actions"][0]["retry"] = {"enabled": False}
    call(control, "POST", "/workflows", once)
    pay(control, None)
    sandbox.flush_webhooks()
    assert len(httpserver.log) == 2
    assert call(control, "PATCH", f"/workflows/{paused}", {"active": False}).json() == {"name": "shop", "active": False}
    call(control, "POST", "/_sandbox/clock", {"advance_seconds": 86400})
    sandbox.flush_webhooks()
    assert len(httpserver.log) == 2  # the paused one's retries went; the other was never to be retried


def test_an_updated_action_changes_later_events_only(sandbox, control, httpserver):
    httpserver.expect_request("/old").respond_with_data("", 503)
    httpserver.expect_request("/new").respond_with_data("", 200)
    wf = call(control, "POST", "/workflows", workflow(httpserver.url_for("/old"), KEY_A, ["payment_pending"])).json()["id"]
    action = call(control, "GET", f"/workflows/{wf}").json()["actions"][0]["id"]
    pay(control, None)
    sandbox.flush_webhooks()
    call(control, "PUT", f"/workflows/{wf}/actions/{action}", webhook(httpserver.url_for("/new"), KEY_B))
    pay(control, None)
    call(control, "POST", "/_sandbox/clock", {"advance_seconds": 300})
    sandbox.flush_webhooks()
    seen = sorted((request.path, request.headers["Cko-Signature"] == sign(request.get_data(), KEY_A)) for request, _ in httpserver.log)
    assert seen == [("/new", False), ("/old", True), ("/old", True)]  # the queued retry kept its URL and key
