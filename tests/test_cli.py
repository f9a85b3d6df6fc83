"""`python -m octopus_nb.sandbox` as a process, driven by an independent client.

The independent client is Checkout.com's own, unmodified Python SDK (checkout-sdk 4.8.1): if it
can run the whole flow against our sandbox and read its errors, the sandbox speaks the real wire.
The process runs once per confirm shape (``--confirm-response payment|setup``, contract §4).
"""

import subprocess
import sys
import warnings

import pytest
import requests
from checkout_sdk.checkout_sdk import CheckoutSdk
from checkout_sdk.environment import Environment
from checkout_sdk.exception import CheckoutApiException
from checkout_sdk.payments.payments import RefundRequest
from checkout_sdk.payments.setups.setups import PaymentSetupsRequest, Settings

KEY = "sk_sbox_" + "clitestkey" * 2 + "abcdef" + "#"


@pytest.fixture(scope="module", params=["payment", "setup"])
def confirm_response(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def served(confirm_response):
    """The sandbox process, on a free port; yields its printed base URL, then checks a clean exit."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "octopus_nb.sandbox",
            "--port",
            "0",
            "--seed",
            "7",
            "--secret-key",
            KEY,
            "--confirm-response",
            confirm_response,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = process.stdout.readline().strip()
    assert base_url.startswith("http://127.0.0.1:"), process.stderr.read()
    yield base_url
    process.terminate()
    assert process.wait(timeout=10) == 0


def sdk(base_url, secret_key=KEY):
    base = base_url + "/"
    environment = Environment(base, base + "connect/token", base, base, base, base, base, is_sandbox=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # use_legacy_domain(): the only way to a loopback host
        return CheckoutSdk.builder().secret_key(secret_key).environment(environment).use_legacy_domain().build()


def setup_request(amount=1000, currency="HKD"):
    request = PaymentSetupsRequest()
    request.amount, request.currency, request.reference = amount, currency, "ORD-5023-4E89"
    request.settings = Settings()
    request.settings.success_url = "https://example.com/payments/success"
    request.settings.failure_url = "https://example.com/payments/failure"
    return request


def test_the_process_prints_its_base_url_and_serves(served):
    response = requests.get(served + "/_sandbox/stats", headers={"Authorization": f"Bearer {KEY}"})
    assert response.status_code == 200 and "setups" in response.json()


def test_the_official_sdk_completes_the_flow(served, confirm_response):
    api = sdk(served)
    setup = api.setups.create_payment_setup(setup_request())
    assert setup.http_metadata.status_code == 200
    assert setup.payment_methods.octopus.status == "ready"
    assert api.setups.get_payment_setup(setup.id).id == setup.id

    update = setup_request(amount=2000)
    assert api.setups.update_payment_setup(setup.id, update).amount == 2000

    confirmed = api.setups.confirm_payment_setup(setup.id, "octopus")
    if confirm_response == "payment":  # the seed page's shape
        assert confirmed.http_metadata.status_code == 202
        payment = confirmed
    else:  # the PaymentSetup, the payment under latest_payment
        assert confirmed.http_metadata.status_code == 200 and confirmed.id == setup.id
        payment = confirmed.latest_payment
    assert payment.status == "Pending"
    assert payment.processing.octopus_uri == f"octopus://payment?token={payment.processing.token}"

    details = api.payments.get_payment_details(payment.id)
    assert details.status == "Pending" and details.amount == 2000

    approved = requests.post(f"{served}/_sandbox/payments/{payment.id}/approve", headers={"Authorization": f"Bearer {KEY}"})
    assert approved.json()["status"] == "Captured"
    assert api.payments.get_payment_details(payment.id).status == "Captured"

    refund = RefundRequest()
    refund.amount, refund.reference = 500, "RF-1"
    accepted = api.payments.refund_payment(payment.id, refund, idempotency_key="refund-once")
    assert accepted.http_metadata.status_code == 202 and accepted.action_id.startswith("act_")
    assert api.payments.get_payment_details(payment.id).status == "Partially Refunded"
    actions = api.payments.get_payment_actions(payment.id)
    assert [a.type for a in actions.items] == ["Refund", "Capture"]


def test_the_official_sdk_reads_our_errors(served):
    api = sdk(served)
    with pytest.raises(CheckoutApiException) as invalid:
        api.setups.create_payment_setup(setup_request(amount=-1, currency="hkd"))
    assert invalid.value.http_metadata.status_code == 422
    assert invalid.value.error_type == "request_invalid"
    assert invalid.value.error_details == ["amount_invalid", "currency_invalid"]
    assert invalid.value.request_id

    with pytest.raises(CheckoutApiException) as unauthorized:
        sdk(served, "sk_sbox_" + "x" * 27).setups.get_payment_setup("set_x")
    assert unauthorized.value.http_metadata.status_code == 401

    with pytest.raises(CheckoutApiException) as missing:
        api.setups.get_payment_setup("set_" + "a" * 26)
    assert missing.value.http_metadata.status_code == 404

    setup = api.setups.create_payment_setup(setup_request())
    api.setups.confirm_payment_setup(setup.id, "octopus")
    with pytest.raises(CheckoutApiException) as conflict:
        api.setups.confirm_payment_setup(setup.id, "octopus")
    assert conflict.value.http_metadata.status_code == 409
    assert conflict.value.error_details == ["payment_setup_already_confirmed"]

    payment_id = api.setups.get_payment_setup(setup.id).latest_payment.id
    with pytest.raises(CheckoutApiException) as not_allowed:
        api.payments.refund_payment(payment_id, RefundRequest())
    assert not_allowed.value.http_metadata.status_code == 403
    assert not_allowed.value.error_type == "action_not_allowed"
    assert not_allowed.value.error_details == ["refund_not_allowed"]


def test_the_cli_refuses_a_busy_port(served):
    port = served.rsplit(":", 1)[1]
    result = subprocess.run([sys.executable, "-m", "octopus_nb.sandbox", "--port", port], capture_output=True, text=True, timeout=20)
    assert result.returncode == 2 and "cannot serve on" in result.stderr and "Traceback" not in result.stderr


def test_the_cli_names_both_confirm_shapes_when_given_another():
    result = subprocess.run(
        [sys.executable, "-m", "octopus_nb.sandbox", "--port", "0", "--confirm-response", "both"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2 and "--confirm-response" in result.stderr
    assert "'payment'" in result.stderr and "'setup'" in result.stderr and "Traceback" not in result.stderr


def test_the_cli_refuses_a_key_no_client_could_send():
    result = subprocess.run(
        [sys.executable, "-m", "octopus_nb.sandbox", "--port", "0", "--secret-key", "hunter2"],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert result.returncode == 2 and "secret_key must look like sk_sbox_" in result.stderr
