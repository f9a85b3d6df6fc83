"""The client: history and its redaction, retries with idempotency keys, timeouts, errors."""

import json
import re
import socket

import pandas as pd
import pytest
from conftest import ready_setup

import octopus_nb
from octopus_nb.client import Client, default_retry


def test_history_records_every_exchange_without_the_key(client, sandbox):
    setup = ready_setup(client)
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    with pytest.raises(octopus_nb.NotFoundError):
        octopus_nb.get_payment(client, "pay_missing")
    frame = client.history.to_frame()
    assert list(frame.columns) == [
        "time",
        "method",
        "path",
        "status",
        "latency_ms",
        "attempts",
        "request_id",
        "idempotency_key",
        "request_body",
        "response_body",
        "error_codes",
        "error",
    ]
    assert list(frame["status"]) == [200, 202, 404]
    assert list(frame["method"]) == ["POST", "POST", "GET"]
    assert frame.loc[0, "request_body"]["amount"] == 1000
    assert frame.loc[1, "response_body"]["id"] == payment["id"]
    assert frame["idempotency_key"].notna().tolist() == [True, True, False]
    assert frame["request_id"].notna().all()
    assert str(frame["time"].dt.tz) == "UTC"
    assert pd.api.types.is_float_dtype(frame["latency_ms"]) and (frame["latency_ms"] > 0).all()
    assert sandbox.secret_key not in frame.to_csv() and "Bearer" not in frame.to_csv()


def test_history_narrows_to_one_setup_or_payment(client):
    first = ready_setup(client)
    second = ready_setup(client, reference="ORD-2")
    payment = octopus_nb.confirm_payment_setup(client, second["id"])
    octopus_nb.get_payment(client, payment["id"])
    assert len(client.history.to_frame(related_to=first["id"])) == 1
    assert list(client.history.to_frame(related_to=second["id"])["path"]) == [
        "/payments/setups",
        f"/payments/setups/{second['id']}/confirm/octopus",
    ]
    assert len(client.history.to_frame(related_to=payment["id"])) == 2  # confirm + get


def test_errors_are_recorded_with_their_codes(client):
    with pytest.raises(octopus_nb.ValidationError) as caught:
        octopus_nb.create_payment_setup(client, amount=1234.5, currency="hkd")
    assert "amount_invalid" in str(caught.value) and "currency_invalid" in str(caught.value)
    assert client.history.to_frame().loc[0, "error_codes"] == "amount_invalid, currency_invalid"


def test_fix_messages_use_the_callers_values(client, control):
    payment = octopus_nb.confirm_payment_setup(client, ready_setup(client)["id"])
    control.post(f"{control.base_url}/_sandbox/payments/{payment['id']}/approve")
    with pytest.raises(octopus_nb.ValidationError, match="try 1230, not 1234"):
        octopus_nb.refund_payment(client, payment["id"], amount=1234)


def test_results_are_dicts_with_status_and_a_readable_repr(client):
    setup = ready_setup(client)
    assert isinstance(setup, dict) and setup.status == 200 and setup.request_id
    from IPython.lib.pretty import pretty

    assert pretty(setup) == json.dumps(setup, indent=2, ensure_ascii=False)


def test_every_post_and_put_carries_a_fresh_idempotency_key(client):
    setup = ready_setup(client)
    octopus_nb.update_payment_setup(client, setup["id"], **octopus_nb.writable_fields(setup))
    keys = [e.idempotency_key for e in client.history]
    assert all(keys) and len(set(keys)) == 2


def test_seeded_clients_make_repeatable_idempotency_keys():
    one, two = Client("http://x", "k", seed=3), Client("http://x", "k", seed=3)
    assert [one.new_idempotency_key() for _ in range(3)] == [two.new_idempotency_key() for _ in range(3)]
    assert Client("http://x", "k").new_idempotency_key() != Client("http://x", "k").new_idempotency_key()


def test_repr_masks_the_key(client, sandbox):
    assert sandbox.secret_key not in repr(client)
    assert "sk_sbox_…" in repr(client)


# --- retries and unreachable servers ------------------------------------------------------


def _answer_in_turn(httpserver, statuses):
    """The server answers ``statuses`` in turn, then 200 ``{"id": "set_ok"}``; any method, any path."""
    for status in statuses:
        httpserver.expect_ordered_request(re.compile(".*")).respond_with_json({}, status=status)
    httpserver.expect_ordered_request(re.compile(".*")).respond_with_json({"id": "set_ok"})
    return httpserver.url_for("").rstrip("/")


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_transient_statuses_are_retried_with_the_same_idempotency_key(httpserver, status):
    waits = []
    url = _answer_in_turn(httpserver, [status, status])
    with Client(url, "sk_sbox_" + "a" * 27, retry=default_retry(sleep=waits.append)) as client:
        result = octopus_nb.create_payment_setup(client, amount=1000, currency="HKD")
    assert result["id"] == "set_ok"
    keys = {request.headers["Cko-Idempotency-Key"] for request, _ in httpserver.log}
    assert len(httpserver.log) == 3 and len(keys) == 1
    assert client.history[0].attempts == 3 and len(client.history) == 1
    assert waits == [0.2]  # urllib3: no wait before the first retry, then doubling from 0.2 s


def test_gets_are_retried_and_other_errors_are_not(httpserver):
    url = _answer_in_turn(httpserver, [503, 422])
    with Client(url, "k", retry=default_retry(sleep=lambda seconds: None)) as client:
        with pytest.raises(octopus_nb.ValidationError):
            octopus_nb.get_payment(client, "pay_1")
    assert len(httpserver.log) == 2


def test_persistent_failure_surfaces_the_last_status_after_the_back_off_schedule(httpserver):
    waits = []
    url = _answer_in_turn(httpserver, [503] * 10)
    with Client(url, "k", retry=default_retry(sleep=waits.append)) as client:
        with pytest.raises(octopus_nb.CheckoutApiError) as caught:
            octopus_nb.get_payment(client, "pay_1")
    assert caught.value.status == 503 and len(httpserver.log) == 6
    assert waits == [0.2, 0.4, 0.8, 1.6]


def test_retry_after_is_honoured_instead_of_the_back_off(httpserver):
    waits = []
    httpserver.expect_ordered_request("/payments/pay_1").respond_with_json({}, status=429, headers={"Retry-After": "3"})
    httpserver.expect_ordered_request("/payments/pay_1").respond_with_json({"id": "pay_1"})
    with Client(httpserver.url_for("").rstrip("/"), "k", retry=default_retry(sleep=waits.append)) as client:
        assert octopus_nb.get_payment(client, "pay_1")["id"] == "pay_1"
    assert waits == [3.0]


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_refused_connection_raises_api_unreachable_saying_what_to_do():
    key = "sk_sbox_" + "b" * 27
    waits = []
    with Client(f"http://127.0.0.1:{_free_port()}", key, retry=default_retry(sleep=waits.append)) as client:
        with pytest.raises(octopus_nb.ApiUnreachable) as caught:
            octopus_nb.create_payment_setup(client, amount=1000, currency="HKD", idempotency_key="retry-me")
    message = str(caught.value)
    assert "sandbox running" in message and "retry-me" in message and key not in message
    assert isinstance(caught.value, octopus_nb.OctopusError)
    import requests

    assert isinstance(caught.value, requests.RequestException)
    assert client.history[0].status is None and client.history[0].error == "ConnectionError"
    assert waits == [0.2, 0.4, 0.8, 1.6]  # retried with back-off before giving up


def test_a_silent_server_times_out():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        with Client(
            f"http://127.0.0.1:{listener.getsockname()[1]}", "k", timeout=(0.5, 0.2), retry=octopus_nb.client.Retry(0, read=False)
        ) as client:
            with pytest.raises(octopus_nb.ApiUnreachable, match="ReadTimeout|ConnectionError"):
                octopus_nb.get_payment(client, "pay_1")
    finally:
        listener.close()


def test_a_webhook_signing_key_is_sent_but_recorded_masked(client, control):
    octopus_nb.control.configure_webhooks(client, "http://127.0.0.1:9/hooks", "whsec-do-not-show")
    assert "whsec-do-not-show" not in client.history.to_frame().to_csv()
    assert client.history[0].request_body["signature_key"] == "***"


# --- a duplicate still in flight (409 request_in_progress) and refusals (403) -------------------

IN_PROGRESS = {"request_id": "r1", "error_type": "conflict", "error_codes": ["request_in_progress"]}


def test_a_duplicate_in_flight_is_retried_with_the_same_key_and_back_off(httpserver):
    waits = []
    for _ in range(2):
        httpserver.expect_ordered_request("/payments/setups").respond_with_json(IN_PROGRESS, status=409)
    httpserver.expect_ordered_request("/payments/setups").respond_with_json({"id": "set_ok"})
    with Client(httpserver.url_for("").rstrip("/"), "k", retry=default_retry(sleep=waits.append)) as client:
        assert octopus_nb.create_payment_setup(client, amount=1000, currency="HKD")["id"] == "set_ok"
    keys = {request.headers["Cko-Idempotency-Key"] for request, _ in httpserver.log}
    assert len(httpserver.log) == 3 and len(keys) == 1
    assert waits == [0.2]  # the same schedule as a 429
    assert len(client.history) == 1 and client.history[0].attempts == 3 and client.history[0].status == 200


def test_a_duplicate_still_in_flight_after_every_retry_says_what_happened(httpserver):
    httpserver.expect_request("/payments/setups").respond_with_json(IN_PROGRESS, status=409)
    with Client(httpserver.url_for("").rstrip("/"), "k", retry=default_retry(sleep=lambda seconds: None)) as client:
        with pytest.raises(octopus_nb.ConflictError, match="still being processed.*same key") as caught:
            octopus_nb.create_payment_setup(client, amount=1000, currency="HKD")
    assert caught.value.error_codes == ["request_in_progress"] and client.history[0].attempts == 6


def test_other_conflicts_are_not_retried(httpserver):
    body = {"request_id": "r1", "error_type": "conflict", "error_codes": ["payment_setup_already_confirmed"]}
    httpserver.expect_request("/payments/setups/set_1/confirm/octopus").respond_with_json(body, status=409)
    with Client(httpserver.url_for("").rstrip("/"), "k", retry=default_retry(sleep=lambda seconds: None)) as client:
        with pytest.raises(octopus_nb.ConflictError):
            octopus_nb.confirm_payment_setup(client, "set_1")
    assert len(httpserver.log) == 1


def test_a_refused_refund_raises_its_own_error_naming_the_refundable_statuses(httpserver):
    body = {"request_id": "r1", "error_type": "action_not_allowed", "error_codes": ["refund_not_allowed"]}
    httpserver.expect_request("/payments/pay_1/refunds").respond_with_json(body, status=403)
    with Client(httpserver.url_for("").rstrip("/"), "k") as client:
        with pytest.raises(octopus_nb.RefundNotAllowedError) as caught:
            octopus_nb.refund_payment(client, "pay_1", amount=500)
    assert isinstance(caught.value, octopus_nb.ActionNotAllowedError) and caught.value.status == 403
    assert "Captured or Partially Refunded" in str(caught.value) and "Pending" in str(caught.value)


def test_the_readable_history_cuts_ids_shows_ms_and_folds_bodies(client):
    setup = ready_setup(client)
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    with pytest.raises(octopus_nb.RefundNotAllowedError):
        octopus_nb.refund_payment(client, payment["id"], amount=500)
    page = client.history._repr_html_()
    assert f"POST /payments/{payment['id'][:8]}…/refunds" in page and f'title="/payments/{payment["id"]}/refunds"' in page
    assert page.count("<details><summary>details</summary>") == 3 and "refund_not_allowed" in page
    assert re.search(r"<td>\d+\.\d ms</td>", page) and "0 days" not in page
    request_id = client.history[0].request_id
    assert f">{request_id[:8]}…<" in page and f'title="{request_id}"' in page  # short, the full one on hover
    text = str(client.history.table(related_to=payment["id"]))
    assert text.splitlines()[0].split()[:3] == ["#", "time", "call"] and len(text.splitlines()) == 3
    assert repr(client.history) == "<History of 3 exchanges>"
    assert client.history.to_frame().loc[2, "request_id"] == client.history[2].request_id  # raw frame: full values
