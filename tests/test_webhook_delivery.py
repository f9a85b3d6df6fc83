"""The sandbox's webhook delivery (contract §5, §6): signed POSTs to a real receiver, retries on the clock.

The receiver is pytest-httpserver's session server (the ``httpserver`` fixture, cleared for each
test): a handler scripts its answers, and ``httpserver.log`` is what arrived. Nothing here sleeps:
``Sandbox.flush_webhooks()`` (or ``POST /_sandbox/webhooks/flush``) returns once every due
delivery has been attempted, and retries come due by advancing the sandbox clock.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading

import pytest
from conftest import pending_payment
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import octopus_nb

KEY = "whsec_test_key"
HOOK_PATH = "/hooks/cko"


class Receiver:
    """The httpserver's webhook endpoint: ``answers`` scripts its status codes, its log is what arrived."""

    def __init__(self, httpserver: HTTPServer):
        self.httpserver = httpserver
        self.answers: list[int] = []  #: statuses to answer with, in order; then ``default``
        self.default = 200
        self.url = httpserver.url_for(HOOK_PATH)
        self._lock = threading.Lock()
        httpserver.expect_request(HOOK_PATH, method="POST").respond_with_handler(self._answer)

    def _answer(self, request: Request) -> Response:
        request.get_data()  # read (and cached) now: the log is read after the connection closed
        with self._lock:
            status = self.answers.pop(0) if self.answers else self.default
        return Response(status=status)

    @property
    def received(self) -> list[tuple[dict, bytes]]:
        """(headers, raw body) of every POST, in arrival order."""
        return [(dict(request.headers), request.get_data()) for request, _ in self.httpserver.log]

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver(httpserver):
    receiver = Receiver(httpserver)
    yield receiver
    httpserver.check_handler_errors()  # a bug in a handler fails the test instead of vanishing


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
    assert [(d["type"], d["status_code"], d["attempt"], d["url"]) for d in log] == [(t, 200, 1, hooked.url) for t in types]
    captured = next(e for e in hooked.events() if e["type"] == "payment_captured")
    assert captured["id"].startswith("evt_") and captured["data"]["id"] == payment["id"]
    assert captured["data"]["status"] == "Captured" and captured["data"]["action_id"].startswith("act_")
    assert captured["data"]["amount"] == 1000 and captured["data"]["currency"] == "HKD"
    base = control.base_url
    assert set(captured) == {"id", "source", "type", "timestamp", "version", "data", "_links"}  # the current envelope
    assert captured["source"] == "gateway" and captured["version"] and captured["timestamp"] == log[-1]["attempted_at"]
    assert captured["_links"] == {
        "self": {"href": f"{base}/events/{captured['id']}"},
        "subject": {"href": f"{base}/workflows/events/subject/{payment['id']}"},
    }
    assert list(captured["data"]) == ["id", "action_id", "amount", "currency", "reference", "processed_on", "status"]
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


def test_paying_in_the_simulated_app_is_delivered_too(client, sandbox, control, hooked):
    payment = pending_payment(client)
    octopus_nb.press_in_app(client, payment, "pay")
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
        "09:00:00",
        "09:05:00",
        "09:15:00",
        "09:30:00",
        "10:00:00",
        "11:00:00",
        "15:00:00",
        "03:00:00",
    ]  # stamped when each was due (seeded clock starts 09:00), not all "now"


def test_refused_connection_is_recorded_with_null_status_and_retried(client, sandbox, control):
    closed = HTTPServer(host="127.0.0.1", port=0)
    closed.start()
    url = closed.url_for(HOOK_PATH)
    closed.stop()  # nobody listens on this port any more
    control.put(control.base_url + "/_sandbox/webhooks", json={"url": url, "signature_key": KEY})
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


def test_api_response_never_waits_for_a_slow_receiver(client, sandbox, control, httpserver):
    """A receiver that never answers: the confirm still returns at once; the attempt times out later."""
    gate = threading.Event()

    def slow(request: Request) -> Response:
        gate.wait(10)  # the one deliberate real-time wait: a receiver that has not answered yet
        return Response(status=200)

    httpserver.expect_request("/slow", method="POST").respond_with_handler(slow)
    try:
        control.put(control.base_url + "/_sandbox/webhooks", json={"url": httpserver.url_for("/slow"), "signature_key": KEY})
        payment = pending_payment(client)  # would take ≥ 5 s if delivery were on the request path
        assert payment.status == 202
        assert client.history.to_frame()["latency_ms"].max() < 2000
        with pytest.raises(TimeoutError):
            sandbox.flush_webhooks(timeout=0.2)
        assert deliveries(control) == []  # in flight: not listed yet
    finally:
        gate.set()
        sandbox.flush_webhooks()
    assert [d["status_code"] for d in deliveries(control)] == [200]
    assert len(httpserver.log) == 1
    httpserver.check_handler_errors()


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


def test_fail_capture_delivers_capture_pending_then_capture_declined(client, sandbox, control, hooked):
    payment = octopus_nb.confirm_payment_setup(
        client,
        octopus_nb.create_payment_setup(
            client,
            amount=1000,
            currency="HKD",
            success_url="https://example.com/ok",
            failure_url="https://example.com/ko",
            metadata={"order": "A-1", "attempt": 2, "gift": False},
        )["id"],
    )
    failed = control.post(f"{control.base_url}/_sandbox/payments/{payment['id']}/fail_capture")
    assert failed.status_code == 200 and (failed.json()["status"], failed.json()["approved"]) == ("Declined", False)
    log = sandbox.flush_webhooks()
    assert [d["type"] for d in log] == ["payment_pending", "payment_capture_pending", "payment_capture_declined"]
    declined = next(e for e in hooked.events() if e["type"] == "payment_capture_declined")
    assert declined["data"]["status"] == "Declined" and declined["data"]["action_id"].startswith("act_")
    assert declined["data"]["metadata"] == {"order": "A-1", "attempt": 2, "gift": False}  # the setup's, as sent
    assert declined["source"] == "gateway" and "created_on" not in declined
    assert_signed(hooked)
