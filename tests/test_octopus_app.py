"""The simulated Octopus App (contract §9.1): the customer's phone, reached by the URI alone.

Driven with plain ``requests`` as the phone's web view would (no key, form POSTs, redirects by
hand); the two-device journeys in Chromium live in test_browser_journey.py.
"""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from conftest import KO_URL, OK_URL, pending_payment

import octopus_nb

HTML = "text/html; charset=utf-8"
#: each button, the customer action it plays, and the status it leaves
BUTTONS = [("pay", "approve", "Captured"), ("cancel", "decline", "Declined"), ("pay_capture_fails", "fail_capture", "Declined")]


def app(sandbox) -> str:
    return sandbox.base_url + "/_sandbox/octopus/app"


def open_app(sandbox, uri: str) -> requests.Response:
    return requests.get(app(sandbox), params={"uri": uri}, allow_redirects=False, timeout=5)


def press(sandbox, uri: str, button: str) -> requests.Response:
    return requests.post(app(sandbox), data={"uri": uri, "action": button}, allow_redirects=False, timeout=5)


def uri_of(payment: dict) -> str:
    return payment["processing"]["octopus_uri"]


def event_types(sandbox, payment_id: str) -> list[str]:
    return [event.type for event in sandbox.state.events if event.payment_id == payment_id]


def test_the_app_shows_reference_amount_and_three_buttons_without_a_key(client, sandbox):
    response = open_app(sandbox, uri_of(pending_payment(client)))
    assert response.status_code == 200 and response.headers["Content-Type"] == HTML
    page = response.text
    assert '<body class="phone">' in page and '<meta name="viewport" content="width=device-width' in page
    assert '<dd id="reference">ORD-5023-4E89</dd>' in page and '<dd id="amount" class="amount">HK$10.00</dd>' in page
    assert ">Pay</button>" in page and ">Cancel</button>" in page
    assert ">Pay, capture fails (sandbox only)</button>" in page
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


@pytest.mark.parametrize("button, action, status", BUTTONS)
def test_each_button_moves_the_payment_exactly_as_simulate_customer(client, sandbox, button, action, status):
    in_app, by_code = pending_payment(client), pending_payment(client)
    response = press(sandbox, uri_of(in_app), button)
    assert response.status_code == 200 and 'id="result"' in response.text and "browser" in response.text
    octopus_nb.simulate_customer(client, by_code["id"], action)
    paid, simulated = (octopus_nb.get_payment(client, p["id"]) for p in (in_app, by_code))
    assert paid["status"] == simulated["status"] == status
    assert paid["approved"] == simulated["approved"]
    strip = lambda actions: [(a["type"], a["approved"], a["amount"], a["response_code"]) for a in actions]  # noqa: E731
    assert strip(octopus_nb.get_payment_actions(client, in_app["id"])) == strip(octopus_nb.get_payment_actions(client, by_code["id"]))
    assert event_types(sandbox, in_app["id"]) == event_types(sandbox, by_code["id"])


def test_the_ios_url_with_return_sends_the_phone_back_to_the_merchants_app(client, sandbox):
    payment = pending_payment(client)
    ios = octopus_nb.redirect_targets(payment, ios_return_url="myshop://octopus/done?order=42").ios
    assert open_app(sandbox, ios).status_code == 200
    response = press(sandbox, ios, "pay")
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc, location.path) == ("myshop", "octopus", "/done")
    assert parse_qs(location.query) == {"order": ["42"], "cko-payment-id": [payment["id"]]}
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Captured"


def test_cancel_in_the_ios_form_also_returns_and_the_desktop_page_follows_to_failure(client, sandbox):
    payment = pending_payment(client)
    ios = octopus_nb.redirect_targets(payment, ios_return_url="https://shop.example/app-return").ios
    assert press(sandbox, ios, "cancel").headers["Location"] == f"https://shop.example/app-return?cko-payment-id={payment['id']}"
    landing = requests.get(payment["processing"]["landing_url"], allow_redirects=False, timeout=5)
    assert landing.headers["Location"] == f"{KO_URL}?cko-payment-id={payment['id']}"


@pytest.mark.parametrize(
    "uri, status, says",
    [
        ("https://example.com/pay?token=abc", 400, "Not an Octopus link"),
        ("", 400, "Not an Octopus link"),
        ("octopus://other?token=abc", 400, "Not an Octopus link"),
        ("octopus://payment", 400, "No payment in this link"),
        ("octopus://payment?token=", 400, "No payment in this link"),
        ("octopus://payment?token=nosuchtoken", 404, "Payment not found"),
        ("octopus://payment?token=TOKEN&return=javascript%3Aalert(1)", 400, "Bad return address"),
        ("octopus://payment?token=TOKEN&return=no-scheme", 400, "Bad return address"),
        ("octopus://[payment?token=TOKEN", 400, "Not an Octopus link"),
    ],
)
def test_bad_links_are_4xx_pages_and_change_nothing(client, sandbox, uri, status, says):
    payment = pending_payment(client)
    uri = uri.replace("TOKEN", payment["processing"]["token"])
    for response in (open_app(sandbox, uri), press(sandbox, uri, "pay")):
        assert response.status_code == status, response.text
        assert response.headers["Content-Type"] == HTML
        assert f"<h1>{says}</h1>" in response.text and "Traceback" not in response.text
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Pending"


def test_an_unknown_button_is_a_400_page_and_changes_nothing(client, sandbox):
    payment = pending_payment(client)
    for button in ("approve", "", "PAY"):
        response = press(sandbox, uri_of(payment), button)
        assert response.status_code == 400 and "<h1>Unknown action</h1>" in response.text
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Pending"


@pytest.mark.parametrize(
    "settle, title",
    [("approve", "Already paid"), ("decline", "Payment closed"), ("fail_capture", "Payment closed"), ("expire", "Payment expired")],
)
def test_a_payment_no_longer_pending_is_a_page_saying_so_and_nothing_changes(client, sandbox, settle, title):
    payment = pending_payment(client)
    octopus_nb.simulate_customer(client, payment["id"], settle)
    before = octopus_nb.get_payment_actions(client, payment["id"]), event_types(sandbox, payment["id"])
    for response in (open_app(sandbox, uri_of(payment)), press(sandbox, uri_of(payment), "pay")):
        assert response.status_code == 409 and f"<h1>{title}</h1>" in response.text
    assert (octopus_nb.get_payment_actions(client, payment["id"]), event_types(sandbox, payment["id"])) == before


def test_two_phones_pressing_pay_at_once_pay_once(client, sandbox):
    for _ in range(10):
        payment = pending_payment(client)
        start, answers = threading.Barrier(2), []

        def phone() -> None:
            start.wait()
            answers.append(press(sandbox, uri_of(payment), "pay"))

        phones = [threading.Thread(target=phone) for _ in range(2)]
        for thread in phones:
            thread.start()
        for thread in phones:
            thread.join()
        assert sorted(answer.status_code for answer in answers) == [200, 409]
        assert "<h1>Already paid</h1>" in next(a.text for a in answers if a.status_code == 409)
        actions = octopus_nb.get_payment_actions(client, payment["id"])
        assert [action["type"] for action in actions] == ["Capture"]
        assert event_types(sandbox, payment["id"]).count("payment_captured") == 1


def test_the_app_is_never_faulted_and_needs_no_key(client, sandbox):
    payment = pending_payment(client)
    octopus_nb.inject_faults(client, error_rate=1.0, status=503)
    assert open_app(sandbox, uri_of(payment)).status_code == 200
    assert press(sandbox, uri_of(payment), "pay").status_code == 200
    octopus_nb.inject_faults(client)
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Captured"
    assert OK_URL in requests.get(payment["processing"]["landing_url"], allow_redirects=False, timeout=5).headers["Location"]


def test_app_url_points_at_the_app_for_a_payment_or_a_uri(client, sandbox):
    payment = pending_payment(client)
    expected = f"{sandbox.base_url}/_sandbox/octopus/app?uri={quote(uri_of(payment), safe='')}"
    assert octopus_nb.app_url(client, payment) == expected
    assert octopus_nb.app_url(client, uri_of(payment)) == expected
    ios = octopus_nb.redirect_targets(payment, ios_return_url="myshop://done").ios
    assert octopus_nb.app_url(client, ios) == f"{sandbox.base_url}/_sandbox/octopus/app?uri={quote(ios, safe='')}"
    assert requests.get(octopus_nb.app_url(client, payment), timeout=5).status_code == 200


def test_app_url_is_refused_on_checkout_before_any_request():
    client = octopus_nb.connect("sandbox", secret_key="sk_sbox_" + "a" * 27, prefix="vkuhvk4v")
    with pytest.raises(octopus_nb.NotASandboxError):
        octopus_nb.app_url(client, "octopus://payment?token=abc")
    assert len(client.history) == 0


def test_the_redirect_table_shows_the_sandbox_app_that_plays_each_device(client):
    payment = pending_payment(client)
    targets = octopus_nb.redirect_targets(payment, ios_return_url="myshop://done")
    assert [row[3] for row in targets.rows()] == [
        octopus_nb.app_url(client, payment),
        octopus_nb.app_url(client, payment),
        octopus_nb.app_url(client, targets.ios),
    ]
    assert "in the sandbox" in targets._repr_html_() and "simulated app" in targets._repr_html_()
    elsewhere = {
        "id": "pay_1",
        "processing": {
            "landing_url": "https://octopus.example/oos/payment/?token=t",
            "octopus_uri": "octopus://payment?token=t",
            "token": "t",
        },
    }
    live = octopus_nb.redirect_targets(elsewhere)
    assert live.apps == () and [row[3] for row in live.rows()] == ["", "", ""]
    assert "in the sandbox" not in live._repr_html_()
