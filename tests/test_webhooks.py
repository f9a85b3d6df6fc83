"""Webhook signatures, and the receiver as a real HTTP server (no mocks)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
import requests
from conftest import pending_payment

import octopus_nb
from octopus_nb.control import flush_webhooks
from octopus_nb.receiver import WebhookReceiver
from octopus_nb.webhooks import FRAME_COLUMNS, sign, verify_event, verify_signature

KEY = "whsec-test-key-2f9c"
BODY = (
    b'{"id":"evt_abc","type":"payment_captured","source":"gateway","timestamp":"2026-04-30T10:00:00Z","version":"1.0.0",'
    b'"data":{"id":"pay_1","amount":1000,"status":"Captured"}}'
)


def event_body(event_id: str, event_type: str = "payment_captured", **data) -> bytes:
    envelope = {
        "id": event_id,
        "type": event_type,
        "source": "gateway",
        "timestamp": "2026-04-30T10:00:00Z",
        "version": "1.0.0",
        "data": {"id": "pay_1", "action_id": "act_1", "amount": 1000, "currency": "HKD", "status": "Captured", **data},
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def deliver(receiver: WebhookReceiver, body: bytes, signature: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Cko-Signature"] = signature
    return requests.post(receiver.url, data=body, headers=headers, timeout=5)


@pytest.fixture
def receiver():
    with WebhookReceiver(KEY) as running:
        yield running


# --- signatures -------------------------------------------------------------------------------


def test_sign_is_lowercase_hex_hmac_sha256():
    expected = hmac.new(KEY.encode(), BODY, hashlib.sha256).hexdigest()
    assert sign(BODY, KEY) == expected == expected.lower()


def test_verify_signature_valid():
    assert verify_signature(BODY, sign(BODY, KEY), KEY)
    assert verify_signature(BODY, sign(BODY, KEY).upper(), KEY)  # hex case is not meaningful


def test_verify_signature_tampered_body():
    tampered = BODY.replace(b"1000", b"9000")
    assert not verify_signature(tampered, sign(BODY, KEY), KEY)


def test_verify_signature_wrong_key():
    assert not verify_signature(BODY, sign(BODY, "another-key"), KEY)


@pytest.mark.parametrize("signature", [None, "", "zz", "é" * 64, sign(BODY, KEY)[:-1]])
def test_verify_signature_garbage_is_false_not_an_error(signature):
    assert not verify_signature(BODY, signature, KEY)


def test_verify_signature_needs_the_raw_bytes():
    # Re-serialised JSON is a different byte string: verify what arrived, before parsing.
    reserialised = json.dumps(json.loads(BODY)).encode()
    assert not verify_signature(reserialised, sign(BODY, KEY), KEY)


def test_verify_event_raises_signature_error():
    assert verify_event(BODY, sign(BODY, KEY), KEY)["id"] == "evt_abc"
    with pytest.raises(octopus_nb.SignatureError, match="raw bytes"):
        verify_event(BODY, sign(BODY, "wrong"), KEY)


# --- the receiver -----------------------------------------------------------------------------


def test_receiver_accepts_valid_delivery(receiver):
    body = event_body("evt_1")
    assert deliver(receiver, body, sign(body, KEY)).status_code == 200
    assert receiver.wait_for(1, timeout=2) == [json.loads(body)]
    assert (receiver.rejected, receiver.duplicates) == (0, 0)


def test_receiver_rejects_bad_or_missing_signature_with_401(receiver):
    body = event_body("evt_1")
    assert deliver(receiver, body, sign(body, "wrong-key")).status_code == 401
    assert deliver(receiver, body, None).status_code == 401
    assert deliver(receiver, body.replace(b"1000", b"10"), sign(body, KEY)).status_code == 401
    assert receiver.events == [] and receiver.rejected == 3


def test_receiver_rejects_signed_non_event_with_400(receiver):
    for body in (b"[1,2]", b"not json", b'{"type":"no id"}'):
        assert deliver(receiver, body, sign(body, KEY)).status_code == 400
    assert receiver.events == [] and receiver.rejected == 3


def test_receiver_records_duplicate_event_id_once(receiver):
    body = event_body("evt_1")
    for _ in range(3):  # at-least-once delivery: the retry must be acknowledged, not re-processed
        assert deliver(receiver, body, sign(body, KEY)).status_code == 200
    assert len(receiver.events) == 1 and receiver.duplicates == 2


def test_receiver_counts_every_delivery_by_outcome(receiver):
    body = event_body("evt_counted")
    assert receiver.counts() == {"deliveries": 0, "accepted": 0, "duplicates": 0, "rejected": 0}
    for signature in (sign(body, KEY), sign(body, KEY), "0" * 64, None):
        receiver.accept(body, signature)
    receiver.accept(b"[]", sign(b"[]", KEY))
    assert receiver.counts() == {"deliveries": 5, "accepted": 1, "duplicates": 1, "rejected": 3}
    assert receiver.wait_for_deliveries(5, timeout=0) == receiver.counts()
    with pytest.raises(octopus_nb.WaitTimeoutError, match="fewer than 6 webhook deliveries"):
        receiver.wait_for_deliveries(6, timeout=0.01)
    receiver.clear()
    assert receiver.counts()["deliveries"] == 0


def test_receiver_frame_and_repr(receiver):
    for n, kind in enumerate(("payment_pending", "payment_captured"), start=1):
        body = event_body(f"evt_{n}", kind)
        deliver(receiver, body, sign(body, KEY))
    frame = receiver.to_frame()
    assert tuple(frame.columns) == FRAME_COLUMNS
    assert frame["received"].tolist() == [1, 2]
    assert frame["type"].tolist() == ["payment_pending", "payment_captured"]
    assert frame["payment_id"].tolist() == ["pay_1", "pay_1"] and frame["amount"].tolist() == [1000, 1000]
    assert repr(receiver) == "<WebhookReceiver running events=2 duplicates=0 rejected=0>"
    assert KEY not in repr(receiver) and KEY not in receiver.url


def test_receiver_empty_frame_has_the_columns():
    assert tuple(WebhookReceiver(KEY).to_frame().columns) == FRAME_COLUMNS


def test_receiver_wait_for_times_out_clearly(receiver):
    with pytest.raises(octopus_nb.WaitTimeoutError, match="0 of 1 webhook events after 0.05 s"):
        receiver.wait_for(1, timeout=0.05)


def test_receiver_lifecycle_errors():
    receiver = WebhookReceiver(KEY)
    with pytest.raises(RuntimeError, match="not running"):
        receiver.url
    with receiver:
        with pytest.raises(RuntimeError, match="already running"):
            receiver.start()
    with pytest.raises(RuntimeError, match="not running"):
        receiver.stop()
    with pytest.raises(ValueError):
        WebhookReceiver("")


def test_configure_webhooks_refuses_checkout_com_before_any_request():
    base_url = "https://abcd1234.api.sandbox.checkout.com"
    client = octopus_nb.Client(base_url, "sk_sbox_" + "a" * 27, environment="sandbox")
    with pytest.raises(octopus_nb.NotASandboxError):
        octopus_nb.configure_webhooks(client, "https://example.com/hook", KEY)
    with pytest.raises(octopus_nb.NotASandboxError):
        octopus_nb.webhook_deliveries(client)
    with pytest.raises(octopus_nb.NotASandboxError):
        flush_webhooks(client)
    with pytest.raises(octopus_nb.NotASandboxError):
        octopus_nb.webhook_chaos(client, duplicate_rate=0.5)
    assert len(client.history) == 0


# --- end to end with the sandbox ----------------------------------------------------------------


def test_sandbox_delivers_signed_lifecycle_events(client, receiver):
    octopus_nb.configure_webhooks(client, receiver)
    payment = pending_payment(client)
    octopus_nb.simulate_customer(client, payment["id"], "approve")
    events = receiver.wait_for(3, timeout=10)
    assert sorted(event["type"] for event in events) == sorted(["payment_pending", "payment_capture_pending", "payment_captured"])
    assert {event["data"]["id"] for event in events} == {payment["id"]}
    assert receiver.rejected == 0  # every delivery carried a valid Cko-Signature
    assert flush_webhooks(client)["settled"] is True
    deliveries = octopus_nb.webhook_deliveries(client)
    assert {d["event_id"] for d in deliveries} == {event["id"] for event in events}
    assert all(d["url"] == receiver.url and d["status_code"] == 200 for d in deliveries)
