"""The sandbox's webhook delivery (contract §5, §6): signed POSTs to a real receiver, retries on the clock.

The receiver is a small ``http.server`` on loopback, in a daemon thread. Nothing here sleeps:
``Sandbox.flush_webhooks()`` (or ``POST /_sandbox/webhooks/flush``) returns once every due
delivery has been attempted, and retries come due by advancing the sandbox clock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

import octopus_nb
from conftest import pending_payment

KEY = "whsec_test_key"


class Receiver:
    """A loopback HTTP server recording every POST; ``answers`` scripts its status codes."""

    def __init__(self):
        self.received: list[tuple[dict, bytes]] = []  #: (headers, raw body), in arrival order
        self.answers: list[int] = []  #: statuses to answer with, in order; then ``default``
        self.default = 200
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.received.append((dict(self.headers), body))
                    status = receiver.answers.pop(0) if receiver.answers else receiver.default
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/cko"
        # A daemon thread, so a failing test can't hang the run on a receiver left serving.
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def events(self) -> list[dict]:
        with self._lock:
            return [json.loads(body) for _, body in self.received]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


@pytest.fixture
def hooked(control, receiver):
    """Webhooks pointed at the receiver."""
    response = control.put(control.base_url + "/_sandbox/webhooks", json={"url": receiver.url, "signature_key": KEY})
    assert response.status_code == 200 and response.json() == {"url": receiver.url}
    return receiver


def deliveries(control) -> list[dict]:
    return control.get(control.base_url + "/_sandbox/webhooks/deliveries").json()


def advance(control, seconds):
    response = control.post(control.base_url + "/_sandbox/clock", json={"advance_seconds": seconds})
    assert response.status_code == 200
    return response.json()["now"]


def assert_signed(receiver: Receiver):
    for headers, body in receiver.received:
        assert headers["Content-Type"] == "application/json"
        expected = hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest()
        assert headers["Cko-Signature"] == expected
        assert octopus_nb.verify_signature(body, headers["Cko-Signature"], KEY)


def test_approve_delivers_pending_capture_pending_captured_signed(client, sandbox, control, hooked):
    payment = pending_payment(client)
    control.post(f"{control.base_url}/_sandbox/payments/{payment['id']}/approve")
    log = sandbox.flush_webhooks()
    types = ["payment_pending", "payment_capture_pending", "payment_captured"]
    assert sorted(e["type"] for e in hooked.events()) == sorted(types)
    assert_signed(hooked)
    assert [(d["type"], d["status_code"], d["attempt"], d["url"]) for d in log] == [
        (t, 200, 1, hooked.url) for t in types
    ]
    captured = next(e for e in hooked.events() if e["type"] == "payment_captured")
    assert captured["id"].startswith("evt_") and captured["data"]["id"] == payment["id"]
    assert captured["data"]["status"] == "Captured" and captured["data"]["action_id"].startswith("act_")
    assert captured["data"]["amount"] == 1000 and captured["data"]["currency"] == "HKD"
    assert captured["_links"]["payment"]["href"] == payment["_links"]["self"]["href"]
    assert {d["event_id"] for d in log} == {e["id"] for e in hooked.events()}
    assert control.get(control.base_url + "/_sandbox/stats").json()["webhook_deliveries"] == 3


def test_decline_delivers_payment_declined(client, sandbox, control, hooked):
    payment = pending_payment(client)
    control.post(f"{control.base_url}/_sandbox/payments/{payment['id']}/decline")
    sandbox.flush_webhooks()
    assert sorted(e["type"] for e in hooked.events()) == ["payment_declined", "payment_pending"]
    declined = next(e for e in hooked.events() if e["type"] == "payment_declined")
    assert declined["data"]["status"] == "Declined"
    assert_signed(hooked)


def test_expiry_by_the_clock_delivers_payment_expired(client, sandbox, control, hooked):
    payment = pending_payment(client)
    sandbox.flush_webhooks()
    advance(control, 901)
    sandbox.flush_webhooks()
    expired = [e for e in hooked.events() if e["type"] == "payment_expired"]
    assert len(expired) == 1 and expired[0]["data"]["id"] == payment["id"]
    assert expired[0]["data"]["status"] == "Expired"
    assert_signed(hooked)


def test_landing_page_approval_is_delivered_too(client, sandbox, control, hooked):
    payment = pending_payment(client)
    requests.post(payment["processing"]["landing_url"] + "&action=approve", allow_redirects=False, timeout=5)
    sandbox.flush_webhooks()
    assert "payment_captured" in {e["type"] for e in hooked.events()}


def test_refund_events(client, sandbox, control, hooked):
    payment = pending_payment(client)
    control.post(f"{control.base_url}/_sandbox/payments/{payment['id']}/approve")
    octopus_nb.refund_payment(client, payment["id"], amount=500)
    types = [d["type"] for d in sandbox.flush_webhooks()]
    assert types[-2:] == ["payment_refund_pending", "payment_refunded"]


def attempts_of(log: list[dict], event_id: str) -> list[dict]:
    return [d for d in log if d["event_id"] == event_id]


def test_failed_delivery_is_retried_only_when_the_clock_reaches_5_minutes(client, sandbox, control, hooked):
    hooked.answers = [500]
    pending_payment(client)
    log = sandbox.flush_webhooks()
    assert [(d["type"], d["status_code"], d["attempt"]) for d in log] == [("payment_pending", 500, 1)]
    event_id, first_at = log[0]["event_id"], log[0]["attempted_at"]

    advance(control, 299)
    assert sandbox.flush_webhooks() == log  # 4 min 59 s: not yet due
    assert len(hooked.received) == 1

    now = advance(control, 1)
    log = sandbox.flush_webhooks()
    assert [(d["event_id"], d["status_code"], d["attempt"]) for d in log] == [(event_id, 500, 1), (event_id, 200, 2)]
    assert log[1]["attempted_at"] == now != first_at
    assert len(hooked.received) == 2
    assert hooked.received[0][1] == hooked.received[1][1]  # the same bytes, the same signature
    assert_signed(hooked)
    assert deliveries(control) == log
    assert control.get(control.base_url + "/_sandbox/stats").json()["webhook_deliveries"] == 2

    advance(control, 24 * 3600)  # delivered: never again (the payment's expiry is a new event)
    log = sandbox.flush_webhooks()
    assert len(attempts_of(log, event_id)) == 2
    assert [d["type"] for d in log[2:]] == ["payment_expired"]


def test_retry_schedule_then_give_up_after_8_retries(client, sandbox, control, hooked):
    hooked.default = 503
    payment = pending_payment(client)
    control.post(f"{control.base_url}/_sandbox/payments/{payment['id']}/decline")
    log = sandbox.flush_webhooks()
    assert len(log) == 2  # payment_pending, payment_declined
    for minutes in (5, 10, 15, 30, 60, 240, 720, 720):
        advance(control, minutes * 60 - 1)
        assert len(sandbox.flush_webhooks()) == len(log)  # one second early: nothing
        advance(control, 1)
        now_log = sandbox.flush_webhooks()
        assert len(now_log) == len(log) + 2  # each event retried once more
        log = now_log
    for event_id in {d["event_id"] for d in log}:
        attempts = attempts_of(log, event_id)
        assert [d["attempt"] for d in attempts] == list(range(1, 10))
        assert {d["status_code"] for d in attempts} == {503}
    advance(control, 7 * 24 * 3600)
    assert len(sandbox.flush_webhooks()) == 18  # given up after the 8th retry
    assert len(hooked.received) == 18


def test_a_long_clock_jump_delivers_every_retry_that_came_due(client, sandbox, control, hooked):
    hooked.default = 500
    pending_payment(client)
    event_id = sandbox.flush_webhooks()[0]["event_id"]
    advance(control, 24 * 3600)  # retries due at +5, +15, +30, +60 min, +2 h, +6 h, +18 h; the last at +30 h
    attempts = attempts_of(sandbox.flush_webhooks(), event_id)
    assert [d["attempt"] for d in attempts] == list(range(1, 9))
    assert [d["attempted_at"][11:19] for d in attempts] == [
        "09:00:00", "09:05:00", "09:15:00", "09:30:00", "10:00:00", "11:00:00", "15:00:00", "03:00:00",
    ]  # stamped when each was due (seeded clock starts 09:00), not all "now"


def test_refused_connection_is_recorded_with_null_status_and_retried(client, sandbox, control, receiver):
    receiver.close()  # nobody listens on this port any more
    control.put(control.base_url + "/_sandbox/webhooks", json={"url": receiver.url, "signature_key": KEY})
    pending_payment(client)
    log = sandbox.flush_webhooks()
    assert [(d["status_code"], d["attempt"]) for d in log] == [(None, 1)]
    advance(control, 300)
    assert [(d["status_code"], d["attempt"]) for d in sandbox.flush_webhooks()] == [(None, 1), (None, 2)]


def test_flush_route_waits_for_delivery(client, control, hooked):
    pending_payment(client)
    response = control.post(control.base_url + "/_sandbox/webhooks/flush")
    assert response.status_code == 200
    assert response.json() == {"settled": True, "webhook_deliveries": 1}
    assert len(hooked.received) == 1
    for bad in ({"timeout_seconds": 0}, {"timeout_seconds": 31}, {"timeout_seconds": "5"}):
        answer = control.post(control.base_url + "/_sandbox/webhooks/flush", json=bad)
        assert answer.status_code == 422 and answer.json()["error_codes"] == ["timeout_seconds_invalid"]


def test_api_response_never_waits_for_a_slow_receiver(client, sandbox, control):
    """A receiver that never answers: the confirm still returns at once; the attempt times out later."""
    gate = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            gate.wait(10)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        control.put(
            control.base_url + "/_sandbox/webhooks",
            json={"url": f"http://127.0.0.1:{server.server_address[1]}/", "signature_key": KEY},
        )
        payment = pending_payment(client)  # would take ≥ 5 s if delivery were on the request path
        assert payment.status == 202
        assert client.history.to_frame()["latency"].max().total_seconds() < 2
        with pytest.raises(TimeoutError):
            sandbox.flush_webhooks(timeout=0.2)
        assert deliveries(control) == []  # in flight: not listed yet
    finally:
        gate.set()
        sandbox.flush_webhooks()
        server.shutdown()
        server.server_close()
    assert [d["status_code"] for d in deliveries(control)] == [200]


def test_no_webhook_configured_means_no_delivery(client, sandbox, control):
    payment = pending_payment(client)
    control.post(f"{control.base_url}/_sandbox/payments/{payment['id']}/approve")
    assert sandbox.flush_webhooks() == []
    assert control.get(control.base_url + "/_sandbox/stats").json()["webhook_deliveries"] == 0


def test_turning_delivery_off_drops_pending_retries(client, sandbox, control, hooked):
    hooked.answers = [500]
    pending_payment(client)
    sandbox.flush_webhooks()
    for off in ({}, {"url": None}):
        response = control.put(control.base_url + "/_sandbox/webhooks", json=off)
        assert response.status_code == 200 and response.json() == {"url": None}
    assert control.get(control.base_url + "/_sandbox/webhooks").json() == {"url": None}
    advance(control, 3600)
    assert len(sandbox.flush_webhooks()) == 1 and len(hooked.received) == 1


def test_reset_forgets_pending_deliveries(client, sandbox, control, hooked):
    hooked.answers = [500]
    pending_payment(client)
    sandbox.flush_webhooks()
    control.post(control.base_url + "/_sandbox/reset")
    assert deliveries(control) == []
    assert control.get(control.base_url + "/_sandbox/webhooks").json() == {"url": None}
    advance(control, 3600)
    assert sandbox.flush_webhooks() == [] and len(hooked.received) == 1


@pytest.mark.parametrize(
    "body, codes",
    [
        ({"url": "ftp://example.com/hook", "signature_key": KEY}, ["webhook_url_invalid"]),
        ({"url": "/relative", "signature_key": KEY}, ["webhook_url_invalid"]),
        ({"url": "http://example.com:99999/", "signature_key": KEY}, ["webhook_url_invalid"]),
        ({"url": 42, "signature_key": KEY}, ["webhook_url_invalid"]),
        ({"url": "https://example.com/hook"}, ["signature_key_invalid"]),
        ({"url": "https://example.com/hook", "signature_key": ""}, ["signature_key_invalid"]),
        ({"url": "nope", "signature_key": 7}, ["webhook_url_invalid", "signature_key_invalid"]),
    ],
)
def test_webhook_configuration_is_validated(control, body, codes):
    response = control.put(control.base_url + "/_sandbox/webhooks", json=body)
    assert response.status_code == 422
    assert response.json()["error_type"] == "request_invalid" and response.json()["error_codes"] == codes
    assert control.put(control.base_url + "/_sandbox/webhooks", data=b"[]").status_code == 400


def test_deliveries_are_deterministic_for_a_seed(client, sandbox, control, hooked):
    """Same seed, same steps: the same log (ids, order, timestamps), as notebooks need."""

    def run() -> list[dict]:
        control.post(control.base_url + "/_sandbox/reset")
        control.put(control.base_url + "/_sandbox/webhooks", json={"url": hooked.url, "signature_key": KEY})
        for _ in range(3):
            payment = pending_payment(client)
            control.post(f"{control.base_url}/_sandbox/payments/{payment['id']}/approve")
        return sandbox.flush_webhooks()

    first = run()
    assert len(first) == 9 and run() == first
