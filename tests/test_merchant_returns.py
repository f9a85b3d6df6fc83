"""The loopback merchant's return pages: the customer comes back, the merchant verifies (contract §9.1).

``WebhookReceiver(key, client=client)`` serves ``success_url``, ``failure_url`` and
``app_return_url``; each return is recorded and its payment looked up with ``get_payment``, so
the page says what the API says, whichever URL the customer arrived at.
"""

from __future__ import annotations

import pytest
import requests
from conftest import ready_setup

import octopus_nb


@pytest.fixture
def merchant(client):
    with octopus_nb.WebhookReceiver("merchant-signing-key", client=client) as receiver:
        yield receiver


def merchant_payment(client, merchant) -> dict:
    setup = ready_setup(client, success_url=merchant.success_url, failure_url=merchant.failure_url)
    return octopus_nb.confirm_payment_setup(client, setup["id"])


def verified(page: str) -> str:
    return page.split('<dd id="verified-status">')[1].split("</dd>")[0]


def test_return_urls_are_the_merchants_pages_on_loopback(merchant):
    base = merchant.url.removesuffix("/webhooks")
    assert (merchant.success_url, merchant.failure_url, merchant.app_return_url) == (
        f"{base}/return/success",
        f"{base}/return/failure",
        f"{base}/return/app",
    )


def test_return_urls_need_a_running_receiver():
    with pytest.raises(RuntimeError, match="not running"):
        octopus_nb.WebhookReceiver("key").success_url


def test_the_desktop_follows_the_payment_to_the_success_page_which_verifies_it(client, merchant):
    payment = merchant_payment(client, merchant)
    still = octopus_nb.open_landing_page(client, payment)
    assert (still.status_code, still.heading) == (200, "Pay with Octopus") and merchant.returns == []
    assert octopus_nb.press_in_app(client, payment, "pay").heading == "Paid"
    landed = octopus_nb.open_landing_page(client, payment)
    assert landed.url == f"{merchant.success_url}?cko-payment-id={payment['id']}"
    assert landed.heading == "Thank you: your payment was received"
    assert [{k: r[k] for k in ("page", "payment_id", "status")} for r in merchant.returns] == [
        {"page": "success", "payment_id": payment["id"], "status": "Captured"}
    ]
    assert merchant.returns[0]["at"].endswith("+00:00")
    # the merchant's lookup is the merchant's own API call, in its history
    assert client.history.to_frame()["path"].iloc[-1] == f"/payments/{payment['id']}"


@pytest.mark.parametrize("button, status", [("cancel", "Declined"), ("pay_capture_fails", "Declined")])
def test_a_failed_payment_lands_on_the_failure_page(client, merchant, button, status):
    payment = merchant_payment(client, merchant)
    octopus_nb.press_in_app(client, payment, button)
    landed = octopus_nb.open_landing_page(client, payment)
    assert landed.url.startswith(merchant.failure_url) and landed.heading == "Your payment did not go through"
    assert merchant.returns[-1]["status"] == status


def test_a_typed_success_url_is_not_trusted(client, merchant):
    """The lesson: arriving at success_url proves nothing; the page says what the API says."""
    payment = merchant_payment(client, merchant)
    page = requests.get(merchant.success_url, params={"cko-payment-id": payment["id"]}, timeout=5)
    assert page.status_code == 200 and "<h1>We are still waiting for your payment</h1>" in page.text
    assert verified(page.text) == "Pending"
    forged = requests.get(merchant.success_url, params={"cko-payment-id": "pay_" + "a" * 26}, timeout=5)
    assert "<h1>We could not check this payment</h1>" in forged.text and "404" in verified(forged.text)
    assert [r["status"] for r in merchant.returns] == ["Pending", None]


def test_the_ios_return_sends_the_phone_to_the_merchants_app_page(client, merchant):
    payment = merchant_payment(client, merchant)
    ios = octopus_nb.redirect_targets(payment, ios_return_url=merchant.app_return_url).ios
    landed = octopus_nb.press_in_app(client, ios, "pay")
    assert landed.url == f"{merchant.app_return_url}?cko-payment-id={payment['id']}"
    assert landed.heading == "Thank you: your payment was received"
    assert merchant.returns[-1]["page"] == "app"


def test_a_custom_scheme_return_is_where_the_phone_was_sent_not_fetched(client, merchant):
    payment = merchant_payment(client, merchant)
    ios = octopus_nb.redirect_targets(payment, ios_return_url="myshop://octopus/done").ios
    landed = octopus_nb.press_in_app(client, ios, "pay")
    assert (landed.status_code, landed.url) == (303, f"myshop://octopus/done?cko-payment-id={payment['id']}")
    assert merchant.returns == []


def test_a_return_without_a_payment_id_is_a_400_page_and_not_recorded(merchant):
    page = requests.get(merchant.failure_url, timeout=5)
    assert page.status_code == 400 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>No payment id in this return</h1>" in page.text and merchant.returns == []


def test_without_a_client_nothing_is_verified_and_the_page_says_so(client):
    with octopus_nb.WebhookReceiver("key") as merchant:
        payment = merchant_payment(client, merchant)
        octopus_nb.simulate_customer(client, payment["id"], "approve")
        landed = octopus_nb.open_landing_page(client, payment)
        assert landed.heading == "We could not check this payment"
        assert merchant.returns[0]["status"] is None


def test_clear_forgets_returns_too_and_the_pages_escape_what_they_show(client, merchant):
    page = requests.get(merchant.success_url, params={"cko-payment-id": "<b>x</b>"}, timeout=5).text
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert len(merchant.returns) == 1
    merchant.clear()
    assert merchant.returns == []


def test_the_devices_are_refused_on_checkout_before_any_request():
    checkout = octopus_nb.connect("sandbox", secret_key="sk_sbox_" + "a" * 27, prefix="vkuhvk4v")
    payment = {"id": "pay_x", "processing": {"landing_url": "https://x", "octopus_uri": "octopus://payment?token=t", "token": "t"}}
    for play in (lambda: octopus_nb.open_landing_page(checkout, payment), lambda: octopus_nb.press_in_app(checkout, payment, "pay")):
        with pytest.raises(octopus_nb.NotASandboxError):
            play()
    with pytest.raises(ValueError, match="Unknown button"):
        octopus_nb.press_in_app(checkout, payment, "approve")
    assert len(checkout.history) == 0
