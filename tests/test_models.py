"""The sandbox's rules, tested directly on a SandboxState and its parts: no HTTP involved."""

import pytest

from octopus_nb._shared.contract import MAX_AMOUNT
from octopus_nb.sandbox import make_app
from octopus_nb.sandbox.exceptions import ActionNotAllowed, Conflict, InvalidRequest, MalformedRequest, NotFound
from octopus_nb.sandbox.models import SandboxState

OK, KO = "https://example.com/ok", "https://example.com/ko"
READY = {"amount": 1000, "currency": "HKD", "settings": {"success_url": OK, "failure_url": KO}}


@pytest.fixture
def state():
    return SandboxState(seed=7, base_url="http://sandbox.test")


@pytest.fixture
def api(state):
    """The state's Payment Setup API (setups, payments, refunds, the customer)."""
    return state.payment_api


@pytest.mark.parametrize(
    ("change", "status", "flags"),
    [
        ({}, "ready", []),
        ({"currency": "USD"}, "unavailable", ["currency_not_supported"]),
        (
            {"settings": {"success_url": OK, "failure_url": KO, "excluded_payment_methods": ["octopus"]}},
            "unavailable",
            ["payment_method_excluded"],
        ),
        ({"amount": 1005}, "invalid", ["amount_must_end_in_zero"]),
        ({"settings": {"failure_url": KO}}, "action_required", ["success_url_required"]),
        ({"settings": {"success_url": OK}}, "action_required", ["failure_url_required"]),
        ({"settings": {}}, "action_required", ["success_url_required", "failure_url_required"]),
        # every applicable flag is listed; the status is the first row's
        (
            {"currency": "EUR", "amount": 1234, "settings": {}},
            "unavailable",
            ["currency_not_supported", "amount_must_end_in_zero", "success_url_required", "failure_url_required"],
        ),
    ],
)
def test_every_readiness_row(api, change, status, flags):
    setup = api.create_payment_setup({**READY, **change})
    assert setup["payment_methods"]["octopus"] == {"status": status, "flags": flags}
    assert setup["available_payment_methods"] == ([] if status == "unavailable" else ["octopus"])


def test_validation_lists_every_problem(api):
    with pytest.raises(InvalidRequest) as caught:
        api.create_payment_setup(
            {
                "amount": -5,
                "currency": "hkd",
                "processing_channel_id": "pc_nope",
                "payment_type": "Weekly",
                "reference": "r" * 81,
                "description": "d" * 101,
                "settings": {"success_url": "ftp://x", "failure_url": "not a url"},
                "customer": {"email": "someone@example.com"},
            }
        )
    assert caught.value.error_codes == [
        "amount_invalid",
        "currency_invalid",
        "processing_channel_id_invalid",
        "payment_type_invalid",
        "reference_invalid",
        "description_invalid",
        "success_url_invalid",
        "failure_url_invalid",
        "customer_email_invalid",
    ]


@pytest.mark.parametrize("body", [None, [], "text", 12])
def test_a_body_that_is_not_an_object_is_malformed(api, body):
    with pytest.raises(MalformedRequest):
        api.create_payment_setup(body)


def test_required_fields(api):
    with pytest.raises(InvalidRequest) as caught:
        api.create_payment_setup({})
    assert caught.value.error_codes == ["amount_required", "currency_required"]


@pytest.mark.parametrize("amount", [True, 10.0, "1000", 0, MAX_AMOUNT + 10])
def test_amount_must_be_a_positive_integer(api, amount):
    with pytest.raises(InvalidRequest, match="amount_invalid"):
        api.create_payment_setup({**READY, "amount": amount})


def test_defaults_and_ignored_fields(state, api):
    setup = api.create_payment_setup({**READY, "unknown_field": 1})
    assert "unknown_field" not in setup
    assert setup["payment_type"] == "regular"  # answered in lower case (contract §9.3)
    assert setup["processing_channel_id"] == state.default_processing_channel_id
    assert setup["id"].startswith("set_") and len(setup["id"]) == 30


def test_lifecycle_approve_then_refund_in_parts(api):
    setup = api.create_payment_setup(READY)
    payment = api.confirm_payment_setup(setup["id"], "octopus")
    assert payment["status"] == "Pending"
    assert api.approve_payment(payment["id"])["status"] == "Captured"
    api.refund_payment(payment["id"], {"amount": 300})
    assert api.get_payment(payment["id"])["status"] == "Partially Refunded"
    with pytest.raises(InvalidRequest, match="refund_amount_exceeds_balance"):
        api.refund_payment(payment["id"], {"amount": 800})
    api.refund_payment(payment["id"], None)  # the rest
    details = api.get_payment(payment["id"])
    assert details["status"] == "Refunded"
    assert details["balances"] == {"total_captured": 1000, "total_refunded": 1000, "available_to_refund": 0}
    assert [a["type"] for a in api.get_payment_actions(payment["id"])] == ["Refund", "Refund", "Capture"]
    with pytest.raises(ActionNotAllowed, match="refund_not_allowed"):
        api.refund_payment(payment["id"], {"amount": 10})


@pytest.mark.parametrize(("amount", "code"), [(15, "amount_must_end_in_zero"), (0, "amount_invalid"), ("5", "amount_invalid")])
def test_refund_amount_rules(api, amount, code):
    payment = api.confirm_payment_setup(api.create_payment_setup(READY)["id"], "octopus")
    api.approve_payment(payment["id"])
    with pytest.raises(InvalidRequest, match=code):
        api.refund_payment(payment["id"], {"amount": amount})


def test_pending_payments_cannot_be_refunded(api):
    payment = api.confirm_payment_setup(api.create_payment_setup(READY)["id"], "octopus")
    with pytest.raises(ActionNotAllowed, match="refund_not_allowed"):
        api.refund_payment(payment["id"], {})


@pytest.mark.parametrize("ending", ["decline_payment", "expire_payment"])
def test_after_declined_or_expired_the_setup_can_be_confirmed_again(api, ending):
    setup = api.create_payment_setup(READY)
    first = api.confirm_payment_setup(setup["id"], "octopus")
    getattr(api, ending)(first["id"])
    second = api.confirm_payment_setup(setup["id"], "octopus")
    assert second["id"] != first["id"]
    assert api.get_payment_setup(setup["id"])["latest_payment"]["id"] == second["id"]


def test_a_live_payment_blocks_a_second_confirm_and_an_update(api):
    setup = api.create_payment_setup(READY)
    api.confirm_payment_setup(setup["id"], "octopus")
    with pytest.raises(Conflict, match="payment_setup_already_confirmed"):
        api.confirm_payment_setup(setup["id"], "octopus")
    with pytest.raises(Conflict, match="payment_setup_already_confirmed"):
        api.update_payment_setup(setup["id"], READY)


def test_confirm_refuses_unready_setups_with_their_flags(api):
    setup = api.create_payment_setup({**READY, "amount": 1001})
    with pytest.raises(InvalidRequest) as caught:
        api.confirm_payment_setup(setup["id"], "octopus")
    assert caught.value.error_codes == ["amount_must_end_in_zero"]
    with pytest.raises(InvalidRequest, match="payment_method_not_supported"):
        api.confirm_payment_setup(setup["id"], "card")
    with pytest.raises(NotFound):
        api.confirm_payment_setup("set_unknown", "octopus")


def test_only_pending_payments_take_customer_actions(api):
    payment = api.confirm_payment_setup(api.create_payment_setup(READY)["id"], "octopus")
    api.decline_payment(payment["id"])
    for act in (
        api.approve_payment,
        api.decline_payment,
        api.expire_payment,
        api.fail_capture,
    ):
        with pytest.raises(Conflict, match="payment_not_pending"):
            act(payment["id"])


def test_the_clock_expires_pending_payments_after_15_minutes(state, api):
    payment = api.confirm_payment_setup(api.create_payment_setup(READY)["id"], "octopus")
    state.control.advance_clock(899)
    assert api.get_payment(payment["id"])["status"] == "Pending"
    state.control.advance_clock(1)
    assert api.get_payment(payment["id"])["status"] == "Expired"
    assert [e.type for e in state.events] == ["payment_pending", "payment_expired"]


@pytest.mark.parametrize("seconds", [-1, "10", None, float("nan"), 10**12])
def test_clock_refuses_bad_advances(state, seconds):
    with pytest.raises(InvalidRequest, match="advance_seconds_invalid"):
        state.control.advance_clock(seconds)


def test_events_follow_the_lifecycle(state, api):
    payment = api.confirm_payment_setup(api.create_payment_setup(READY)["id"], "octopus")
    api.approve_payment(payment["id"])
    api.refund_payment(payment["id"], {"amount": 500})
    assert [e.type for e in state.events] == [
        "payment_pending",
        "payment_capture_pending",
        "payment_captured",
        "payment_refund_pending",
        "payment_refunded",
    ]
    captured = state.events[2].body
    assert captured["data"]["id"] == payment["id"] and captured["data"]["action_id"].startswith("act_")
    assert captured["_links"]["subject"]["href"] == f"http://sandbox.test/workflows/events/subject/{payment['id']}"


def test_customers_are_reused_by_email(api):
    customer = {"email": {"address": "chan@example.com", "verified": True}, "name": "Chan Tai Man"}
    first = api.confirm_payment_setup(api.create_payment_setup({**READY, "customer": customer})["id"], "octopus")
    second = api.confirm_payment_setup(api.create_payment_setup({**READY, "customer": customer})["id"], "octopus")
    assert first["customer"]["id"] == second["customer"]["id"]


def test_one_seed_gives_identical_state_and_reset_restarts_it(state):
    def run(s):
        payment = s.payment_api.confirm_payment_setup(s.payment_api.create_payment_setup(READY)["id"], "octopus")
        s.payment_api.approve_payment(payment["id"])
        return s.payment_api.get_payment(payment["id"]), s.new_request_id()

    first = run(state)
    assert run(SandboxState(seed=7, base_url="http://sandbox.test")) == first
    app = make_app(seed=7)  # no server: reset swaps in a fresh state built with the same arguments
    app.serve_at("http://sandbox.test")
    used = app.state
    assert run(used) == first
    app.reset()
    assert app.state is not used and run(app.state) == first
    assert run(SandboxState(seed=8, base_url="http://sandbox.test")) != first


def test_unseeded_tokens_come_from_the_os():
    api = SandboxState().payment_api
    tokens = {api.confirm_payment_setup(api.create_payment_setup(READY)["id"], "octopus")["processing"]["token"] for _ in range(50)}
    assert len(tokens) == 50 and all(len(t) == 26 for t in tokens)


def test_transitions_are_checked_in_one_place(state, api):
    payment = api.confirm_payment_setup(api.create_payment_setup(READY)["id"], "octopus")
    stored = state.payments[payment["id"]]
    with pytest.raises(Conflict):
        state.ledger.move(stored, "Refunded")  # Pending → Refunded is not a transition


@pytest.mark.parametrize("url", ["https://example.com/a\x01b", "https://ex\x7fample.com/", "https://example.com/\x00"])
def test_redirect_urls_with_control_characters_are_invalid(api, url):
    with pytest.raises(InvalidRequest, match="success_url_invalid"):
        api.create_payment_setup({**READY, "settings": {"success_url": url, "failure_url": KO}})


# --- 2026-11-29 contract changes, at the model level (the wire is tested in test_fidelity.py) ---


def test_fail_capture_declines_after_capture_pending(state, api):
    setup = api.create_payment_setup(READY)
    payment = api.confirm_payment_setup(setup["id"], "octopus")
    failed = api.fail_capture(payment["id"])
    assert (failed["status"], failed["approved"]) == ("Declined", False)
    assert "refund" not in failed["_links"]
    assert [e.type for e in state.events] == ["payment_pending", "payment_capture_pending", "payment_capture_declined"]
    assert state.events[-1].body["data"]["action_id"] == api.get_payment_actions(payment["id"])[0]["id"]
    assert [(a["type"], a["approved"]) for a in api.get_payment_actions(payment["id"])] == [("Capture", False)]
    with pytest.raises(ActionNotAllowed, match="refund_not_allowed"):
        api.refund_payment(payment["id"], {})
    # Declined: the customer may try again on the same setup
    assert api.confirm_payment_setup(setup["id"], "octopus")["status"] == "Pending"


def test_confirm_response_setup_returns_the_setup_with_latest_payment():
    api = SandboxState(seed=7, base_url="http://sandbox.test", confirm_response="setup").payment_api
    setup = api.create_payment_setup(READY)
    confirmed = api.confirm_payment_setup(setup["id"], "octopus")
    assert confirmed["id"] == setup["id"] and confirmed["latest_payment"]["status"] == "Pending"
    assert set(confirmed["latest_payment"]["processing"]) == {"landing_url", "octopus_uri", "token"}
    assert confirmed == api.get_payment_setup(setup["id"])
    with pytest.raises(ValueError, match="'payment', 'setup'"):
        SandboxState(seed=7, confirm_response="Setup")


@pytest.mark.parametrize("payment_type", ["regular", "REGULAR", "Regular", "moto", "payLater", "unscheduled"])
def test_payment_type_is_case_insensitive_and_answered_in_lower_case(api, payment_type):
    setup = api.create_payment_setup({**READY, "payment_type": payment_type})
    assert setup["payment_type"] == payment_type.lower()
    payment = api.confirm_payment_setup(setup["id"], "octopus")
    assert api.get_payment(payment["id"])["payment_type"] == payment_type.lower()


@pytest.mark.parametrize("payment_type", ["Weekly", "", "regular ", 1, ["Regular"], "Regulär"])
def test_payment_type_outside_the_list_is_invalid(api, payment_type):
    with pytest.raises(InvalidRequest) as caught:
        api.create_payment_setup({**READY, "payment_type": payment_type})
    assert caught.value.error_codes == ["payment_type_invalid"]


@pytest.mark.parametrize(
    "channel, valid",
    [
        ("pc_" + "a" * 26, True),
        ("pc_" + "A1_" * 8 + "zz", True),
        ("pc_" + "a" * 25, False),
        ("pc_" + "a" * 27, False),
        ("pc_" + "a" * 26 + "\n", False),
        ("pc_" + "é" * 26, False),
        ("PC_" + "a" * 26, False),
        ("pc_" + "a-" * 13, False),
    ],
)
def test_processing_channel_id_follows_the_api_reference_pattern(api, channel, valid):
    if valid:
        assert api.create_payment_setup({**READY, "processing_channel_id": channel})["processing_channel_id"] == channel
    else:
        with pytest.raises(InvalidRequest, match="processing_channel_id_invalid"):
            api.create_payment_setup({**READY, "processing_channel_id": channel})


@pytest.mark.parametrize(
    "metadata, valid",
    [
        ({}, True),
        ({f"k{i}": i for i in range(20)}, True),
        ({f"k{i}": i for i in range(21)}, False),
        ({"s": "x" * 255, "n": 1.5, "i": -3, "b": False}, True),
        ({"s": "x" * 256}, False),
        ({"none": None}, False),
        ({"list": [1]}, False),
        ({"object": {"a": 1}}, False),
        ({"nan": float("nan")}, False),
        ([["a", 1]], False),
        ("text", False),
    ],
)
def test_metadata_limits(api, metadata, valid):
    if valid:
        assert api.create_payment_setup({**READY, "metadata": metadata})["metadata"] == metadata
    else:
        with pytest.raises(InvalidRequest) as caught:
            api.create_payment_setup({**READY, "metadata": metadata})
        assert caught.value.error_codes == ["metadata_invalid"]


ECHOED = {
    "billing_descriptor": {"name": "OCTOPUS SHOP", "city": "Hong Kong", "reference": "ORD-1"},
    "presentment_details": {"amount": 1000, "currency": "HKD"},
    "terminal": {"id": "T0000001", "local_date_time": "2026-04-30T17:00:00+08:00"},
    "account_funding_transaction": {"enabled": False, "purpose": "family_support"},
    "risk": {"enabled": False},
    "industry": {"airline": [{"ticket": {"number": "123"}}], "extra": ["kept", 1, None]},
}


def test_sdk_documented_fields_are_echoed_exactly_and_risk_defaults_to_enabled(api):
    created = api.create_payment_setup({**READY, **ECHOED})
    assert {name: created[name] for name in ECHOED} == ECHOED
    assert {name: api.get_payment_setup(created["id"])[name] for name in ECHOED} == ECHOED
    updated = api.update_payment_setup(created["id"], READY)  # a PUT replaces them all
    assert updated["risk"] == {"enabled": True} and not set(ECHOED) - {"risk"} & set(updated)


def test_the_idempotency_store_keeps_only_2xx_answers(state):
    fingerprint = state.fingerprint("POST", "/payments/setups", b"{}")
    assert state.begin_idempotent("k", fingerprint) is None
    state.finish_idempotent("k", 422, b'{"error_type":"request_invalid"}')
    assert state.begin_idempotent("k", state.fingerprint("POST", "/payments/setups", b"{ }")) is None  # key free
    state.finish_idempotent("k", 200, b'{"id":"set_x"}')
    assert state.begin_idempotent("k", state.fingerprint("POST", "/payments/setups", b"{ }")) == (200, b'{"id":"set_x"}')
    with pytest.raises(InvalidRequest, match="idempotency_key_reused"):
        state.begin_idempotent("k", fingerprint)
