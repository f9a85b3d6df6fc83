"""The contract's changes of 2026-11-29 (CONTRACT.md §8), on the wire: raw ``requests`` over real sockets.

Each test names the §8 item it shows. Status codes and bodies are asserted on raw responses (the
``control`` session), not through the toolkit's client, whose handling of 409 and 403 is its own
subject.
"""

from __future__ import annotations

import threading
import time

import pytest
import requests
from conftest import KO_URL, OK_URL, SEED

import octopus_nb
from octopus_nb._shared.contract import CUSTOMER_ACTIONS, METADATA_LIMITS, WRITABLE_FIELDS
from octopus_nb.control import simulate_customer
from octopus_nb.sandbox import Sandbox

JSON = "application/json; charset=utf-8"
READY = {"amount": 1000, "currency": "HKD", "reference": "ORD-1", "settings": {"success_url": OK_URL, "failure_url": KO_URL}}


def post(control, path, body=None, key=None, **kwargs) -> requests.Response:
    headers = {"Cko-Idempotency-Key": key} if key is not None else {}
    return control.post(control.base_url + path, json=body, headers=headers, timeout=10, **kwargs)


def stats(control) -> dict:
    return control.get(control.base_url + "/_sandbox/stats").json()


def faults(control, **body) -> None:
    assert control.put(control.base_url + "/_sandbox/faults", json=body).status_code == 200


def error_body(response: requests.Response, error_type: str, codes: list[str]) -> dict:
    return {"request_id": response.headers["Cko-Request-Id"], "error_type": error_type, "error_codes": codes}


def confirmed(control, body=None) -> dict:
    setup = post(control, "/payments/setups", body or READY).json()
    answer = post(control, f"/payments/setups/{setup['id']}/confirm/octopus")
    assert answer.status_code == 202
    return answer.json()


# --- §8.1 idempotency: only 2xx is stored; 409 while in flight; latency holds the key -----------


def test_a_refused_request_does_not_consume_its_key(control):
    refused = post(control, "/payments/setups", {"amount": 1000}, key="fix-me")
    assert refused.status_code == 422 and refused.json()["error_codes"] == ["currency_required"]
    corrected = post(control, "/payments/setups", READY, key="fix-me")
    assert corrected.status_code == 200  # the same key runs the corrected request
    again = post(control, "/payments/setups", READY, key="fix-me")
    assert (again.status_code, again.content) == (200, corrected.content)
    assert stats(control)["setups"] == 1
    # and once a 2xx is stored, a different request under the key is refused
    other = post(control, "/payments/setups", {**READY, "amount": 2000}, key="fix-me")
    assert other.status_code == 422 and other.json()["error_codes"] == ["idempotency_key_reused"]


@pytest.mark.parametrize(
    "path, first_body, status",
    [
        ("/payments/setups/{setup}/confirm/card", None, 422),  # payment_method_not_supported
        ("/payments/{payment}/refunds", {"amount": 100}, 403),  # Pending: not refundable
        ("/_sandbox/payments/{captured}/approve", None, 409),  # not Pending
    ],
)
def test_no_refusal_is_replayed_under_its_key(control, path, first_body, status):
    setup = post(control, "/payments/setups", READY).json()["id"]
    pending = confirmed(control)["id"]
    captured = confirmed(control)["id"]
    post(control, f"/_sandbox/payments/{captured}/approve")
    path = path.format(setup=setup, payment=pending, captured=captured)
    first = post(control, path, first_body, key="k-refused")
    second = post(control, path, first_body, key="k-refused")
    assert first.status_code == second.status_code == status
    # not a replay: each answer is a fresh one, with its own request id in the body
    assert first.json()["request_id"] != second.json()["request_id"]


def test_a_duplicate_in_flight_gets_409_and_a_replay_afterwards_gets_the_first_answer(control):
    """Request A sleeps under the latency fault with its key claimed; B, the same key, meanwhile: 409."""
    faults(control, latency_ms=800)
    before = control.get(control.base_url + "/_sandbox/stats").json()["requests"]
    answers: dict = {}
    first = threading.Thread(target=lambda: answers.update(a=post(control, "/payments/setups", READY, key="busy")))
    first.start()
    deadline = time.monotonic() + 5
    while stats(control)["requests"] == before:  # A reached the handler: its key is claimed (same loop tick)
        assert time.monotonic() < deadline, "request A never arrived"
    duplicate = post(control, "/payments/setups", READY, key="busy")
    first.join(10)
    assert duplicate.status_code == 409
    assert duplicate.headers["Content-Type"] == JSON
    assert duplicate.json() == error_body(duplicate, "conflict", ["request_in_progress"])
    assert answers["a"].status_code == 200
    faults(control)
    replay = post(control, "/payments/setups", READY, key="busy")
    assert (replay.status_code, replay.content) == (200, answers["a"].content)
    assert stats(control)["setups"] == 1


def test_an_error_fault_answers_before_the_key_is_claimed(control):
    faults(control, error_rate=1, status=503, latency_ms=50)
    assert post(control, "/payments/setups", READY, key="k-503").status_code == 503
    faults(control)
    created = post(control, "/payments/setups", READY, key="k-503")
    assert created.status_code == 200 and stats(control)["setups"] == 1


def test_a_dropped_2xx_is_stored_and_a_dropped_refusal_is_not(control):
    faults(control, drop_rate=1)
    with pytest.raises(requests.ConnectionError):
        post(control, "/payments/setups", {"amount": 1005, "currency": "hkd"}, key="k-drop-422")  # refused, dropped
    with pytest.raises(requests.ConnectionError):
        post(control, "/payments/setups", READY, key="k-drop-200")  # done, dropped
    faults(control)
    assert stats(control)["setups"] == 1
    # the refusal was not stored: the corrected request runs under its key
    assert post(control, "/payments/setups", READY, key="k-drop-422").status_code == 200
    # the 2xx was: the retry replays it, and nothing happens twice
    replay = post(control, "/payments/setups", READY, key="k-drop-200")
    assert replay.status_code == 200 and stats(control)["setups"] == 2
    assert post(control, "/payments/setups", READY, key="k-drop-200").content == replay.content


# --- §8.2 the two confirm shapes -----------------------------------------------------------------


@pytest.fixture(scope="module")
def setup_mode():
    """A second sandbox whose confirm answers with the PaymentSetup (200)."""
    with Sandbox(seed=SEED, confirm_response="setup") as sandbox:
        yield sandbox
        assert not sandbox.errors, sandbox.errors


@pytest.fixture
def setup_control(setup_mode):
    setup_mode.reset()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {setup_mode.secret_key}"
    session.base_url = setup_mode.base_url
    yield session
    session.close()


def test_the_default_confirm_is_the_seed_payment_with_202(sandbox, control):
    assert sandbox.confirm_response == "payment"
    payment = confirmed(control)
    assert set(payment) == {"id", "status", "reference", "customer", "processing", "_links"}


def test_setup_mode_confirm_answers_200_with_the_setup_and_its_latest_payment(setup_mode, setup_control):
    assert setup_mode.confirm_response == "setup"
    setup = post(setup_control, "/payments/setups", READY).json()
    answer = post(setup_control, f"/payments/setups/{setup['id']}/confirm/octopus")
    assert answer.status_code == 200 and answer.headers["Content-Type"] == JSON
    body = answer.json()
    assert body["id"] == setup["id"] and body["payment_methods"] == setup["payment_methods"]
    latest = body["latest_payment"]
    assert latest["id"].startswith("pay_") and latest["status"] == "Pending"
    token = latest["processing"]["token"]
    assert latest["processing"] == {
        "landing_url": f"{setup_mode.base_url}/_sandbox/octopus/oos/payment/?token={token}",
        "octopus_uri": f"octopus://payment?token={token}",
        "token": token,
    }
    assert setup_control.get(f"{setup_mode.base_url}/payments/setups/{setup['id']}").json() == body
    # the rest of the flow is the same in both modes
    assert post(setup_control, f"/_sandbox/payments/{latest['id']}/approve").json()["status"] == "Captured"
    assert post(setup_control, f"/payments/{latest['id']}/refunds", {"amount": 500}).status_code == 202


def test_setup_mode_survives_reset(setup_mode, setup_control):
    assert setup_control.post(setup_mode.base_url + "/_sandbox/reset").status_code == 200
    setup_mode.reset()
    setup = post(setup_control, "/payments/setups", READY).json()
    assert post(setup_control, f"/payments/setups/{setup['id']}/confirm/octopus").status_code == 200
    assert setup_mode.confirm_response == "setup"


def test_both_modes_give_the_same_ids_for_a_seed(control, setup_control):
    """Only the answer's shape differs: the payment created is the same."""
    payment = confirmed(control)
    setup = post(setup_control, "/payments/setups", READY).json()
    latest = post(setup_control, f"/payments/setups/{setup['id']}/confirm/octopus").json()["latest_payment"]
    assert latest["id"] == payment["id"] and latest["processing"]["token"] == payment["processing"]["token"]


@pytest.mark.parametrize("mode", ["payment", "setup"])
def test_confirm_accepts_an_empty_body_sent_as_json_like_both_sdks(control, setup_control, mode):
    session = control if mode == "payment" else setup_control
    setup = post(session, "/payments/setups", READY).json()
    answer = session.post(
        f"{session.base_url}/payments/setups/{setup['id']}/confirm/octopus",
        data=b"",
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == {"payment": 202, "setup": 200}[mode], answer.content
    with_object = session.post(
        f"{session.base_url}/payments/setups/{post(session, '/payments/setups', READY).json()['id']}/confirm/octopus",
        data=b"{}",
        headers={"Content-Type": "application/json"},
    )
    assert with_object.status_code == answer.status_code


def test_an_unknown_confirm_response_is_refused_at_construction():
    with pytest.raises(ValueError, match="'payment', 'setup'"):
        Sandbox(confirm_response="both")


# --- §8.3 refund of a payment that is not refundable: 403 ---------------------------------------


@pytest.mark.parametrize("ending", [None, "decline", "expire", "fail_capture", "refunded"])
def test_refunding_a_payment_that_is_not_refundable_is_403_and_changes_nothing(control, ending):
    payment = confirmed(control)["id"]
    if ending == "refunded":
        post(control, f"/_sandbox/payments/{payment}/approve")
        assert post(control, f"/payments/{payment}/refunds").status_code == 202
    elif ending:
        assert post(control, f"/_sandbox/payments/{payment}/{ending}").status_code == 200
    before = (stats(control), control.get(f"{control.base_url}/payments/{payment}").json())
    refused = post(control, f"/payments/{payment}/refunds", {"amount": 100}, key="k-" + str(ending))
    assert refused.status_code == 403 and refused.headers["Content-Type"] == JSON
    assert refused.json() == error_body(refused, "action_not_allowed", ["refund_not_allowed"])
    after = (stats(control), control.get(f"{control.base_url}/payments/{payment}").json())
    assert after[0]["refunds"] == before[0]["refunds"] and after[1] == before[1]


# --- §8.4 setup fields ---------------------------------------------------------------------------

ECHOED = {
    "billing_descriptor": {"name": "OCTOPUS SHOP", "city": "Hong Kong", "reference": "ORD-1"},
    "presentment_details": {"amount": 1000, "currency": "HKD"},
    "terminal": {"id": "T0000001", "local_date_time": "2026-04-30T17:00:00+08:00"},
    "account_funding_transaction": {"enabled": False},
    "risk": {"enabled": False},
    "industry": {"accommodation": [{"name": "Harbour Hotel", "number_of_rooms": 1}]},
}


@pytest.mark.parametrize("payment_type", ["regular", "Regular", "REGULAR", "moto", "installment", "PayLater"])
def test_payment_type_is_case_insensitive_and_answered_in_lower_case(control, payment_type):
    # §9.3: Checkout.com's sandbox answers payment_type in lower case whatever case was sent
    created = post(control, "/payments/setups", {**READY, "payment_type": payment_type})
    assert created.status_code == 200 and created.json()["payment_type"] == payment_type.lower()
    setup_id = created.json()["id"]
    assert control.get(f"{control.base_url}/payments/setups/{setup_id}").json()["payment_type"] == payment_type.lower()
    updated = control.put(f"{control.base_url}/payments/setups/{setup_id}", json={**READY, "payment_type": payment_type.upper()})
    assert updated.json()["payment_type"] == payment_type.lower()
    payment = post(control, f"/payments/setups/{setup_id}/confirm/octopus").json()
    assert control.get(f"{control.base_url}/payments/{payment['id']}").json()["payment_type"] == payment_type.lower()
    assert post(control, "/payments/setups", READY).json()["payment_type"] == "regular"  # the default, too


@pytest.mark.parametrize("payment_type", ["weekly", "Regular ", "", 3, None])
def test_payment_type_outside_the_list_is_422(control, payment_type):
    response = post(control, "/payments/setups", {**READY, "payment_type": payment_type})
    if payment_type is None:  # null is "not sent": the default
        assert response.status_code == 200 and response.json()["payment_type"] == "regular"
    else:
        assert response.status_code == 422 and response.json()["error_codes"] == ["payment_type_invalid"]


@pytest.mark.parametrize(
    "channel, ok",
    [
        ("pc_" + "q" * 26, True),
        ("pc_" + "AbC_19" * 4 + "zz", True),
        ("pc_" + "a" * 25, False),
        ("pc_" + "a" * 26 + "\n", False),
        ("pc_" + "\u00e9" * 26, False),
        ("pc_" + "a" * 26 + "x", False),
    ],
)
def test_processing_channel_id_pattern(control, channel, ok):
    response = post(control, "/payments/setups", {**READY, "processing_channel_id": channel})
    if ok:
        assert response.status_code == 200 and response.json()["processing_channel_id"] == channel
    else:
        assert response.status_code == 422 and response.json()["error_codes"] == ["processing_channel_id_invalid"]


@pytest.mark.parametrize(
    "metadata",
    [
        {f"k{i}": "v" for i in range(METADATA_LIMITS["max_keys"] + 1)},
        {"long": "x" * (METADATA_LIMITS["max_string_length"] + 1)},
        {"null": None},
        {"list": [1, 2]},
        {"nested": {"a": 1}},
        ["not", "an", "object"],
        "text",
    ],
)
def test_metadata_outside_the_limits_is_422_metadata_invalid_on_create_and_update(control, metadata):
    created = post(control, "/payments/setups", {**READY, "metadata": metadata})
    assert created.status_code == 422 and created.json() == error_body(created, "request_invalid", ["metadata_invalid"])
    setup_id = post(control, "/payments/setups", READY).json()["id"]
    before = control.get(f"{control.base_url}/payments/setups/{setup_id}").json()
    updated = control.put(f"{control.base_url}/payments/setups/{setup_id}", json={**READY, "metadata": metadata})
    assert updated.status_code == 422 and updated.json()["error_codes"] == ["metadata_invalid"]
    assert control.get(f"{control.base_url}/payments/setups/{setup_id}").json() == before


def test_metadata_within_the_limits_is_echoed(control):
    metadata = {f"k{i}": i for i in range(METADATA_LIMITS["max_keys"] - 3)}
    metadata.update(text="x" * METADATA_LIMITS["max_string_length"], flag=True, ratio=0.5)
    created = post(control, "/payments/setups", {**READY, "metadata": metadata})
    assert created.status_code == 200 and created.json()["metadata"] == metadata


def test_sdk_documented_fields_are_echoed_exactly_on_create_update_and_get(control):
    created = post(control, "/payments/setups", {**READY, **ECHOED})
    assert created.status_code == 200
    assert {name: created.json()[name] for name in ECHOED} == ECHOED
    setup_id = created.json()["id"]
    assert {name: control.get(f"{control.base_url}/payments/setups/{setup_id}").json()[name] for name in ECHOED} == ECHOED
    changed = {**ECHOED, "risk": {"enabled": True}, "terminal": {"id": "T0000002"}}
    updated = control.put(f"{control.base_url}/payments/setups/{setup_id}", json={**READY, **changed})
    assert {name: updated.json()[name] for name in ECHOED} == changed
    # a PUT replaces every writable field: what it leaves out is gone, and risk is the default again
    bare = control.put(f"{control.base_url}/payments/setups/{setup_id}", json=READY).json()
    assert bare["risk"] == {"enabled": True} and not (set(ECHOED) - {"risk"}) & set(bare)
    assert set(ECHOED) <= set(WRITABLE_FIELDS)


def test_risk_defaults_to_enabled(control):
    assert post(control, "/payments/setups", READY).json()["risk"] == {"enabled": True}
    assert post(control, "/payments/setups", {**READY, "risk": None}).json()["risk"] == {"enabled": True}


# --- §8.5 fail_capture ----------------------------------------------------------------------------


def test_fail_capture_declines_the_payment(control):
    payment = confirmed(control)["id"]
    failed = post(control, f"/_sandbox/payments/{payment}/fail_capture")
    assert failed.status_code == 200
    assert (failed.json()["status"], failed.json()["approved"]) == ("Declined", False)
    actions = control.get(f"{control.base_url}/payments/{payment}/actions").json()
    assert [(a["type"], a["approved"]) for a in actions] == [("Capture", False)]
    again = post(control, f"/_sandbox/payments/{payment}/fail_capture")
    assert again.status_code == 409 and again.json() == error_body(again, "conflict", ["payment_not_pending"])
    assert post(control, "/_sandbox/payments/pay_" + "a" * 26 + "/fail_capture").status_code == 404


def test_fail_capture_is_a_customer_action_of_the_toolkit(client, control):
    assert "fail_capture" in CUSTOMER_ACTIONS
    setup = octopus_nb.create_payment_setup(client, amount=1000, currency="HKD", success_url=OK_URL, failure_url=KO_URL)
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    simulate_customer(client, payment["id"], "fail_capture")
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Declined"
