"""The customer's journey in a real (headless) Chromium: a desktop follows while a phone pays.

Run with ``.venv/bin/pytest -q -m browser tests/test_browser_journey.py -p no:xdist``.

Two browser contexts play the customer's two devices: a desktop (1280×800) on the merchant's
checkout, i.e. the sandbox's landing page, and a phone (390×844, touch, mobile user agent) that
scans the desktop's QR code and opens the simulated Octopus App. Whatever settles the payment (Pay,
Cancel, the clock, code), the desktop must end up on the merchant's page, which is a real loopback
``WebhookReceiver`` that looks the payment up itself. axe-core audits every page either device
sees. Screenshots of each step, desktop and phone side by side, go to ``artifacts/journey-*.png``
(git-ignored).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

import pytest
import requests
from browser_support import (
    ARRIVAL_SECONDS,
    Journey,
    assert_accessible,
    desktop_context,
    is_outcome,
    payment_id_in,
    phone_context,
    single_shot,
    wait_for_outcome,
)
from conftest import decode_qr, ready_setup

import octopus_nb

pytestmark = pytest.mark.browser

REFERENCE = "ORD-5023-4E89"


@pytest.fixture
def merchant(client):
    """The merchant's site on loopback: its success, failure and app-return pages verify the payment."""
    with octopus_nb.WebhookReceiver("journey-signing-key", client=client) as receiver:
        yield receiver


@pytest.fixture
def payment(client, merchant):
    """A Pending payment whose redirect URLs are the merchant's own pages."""
    setup = ready_setup(client, success_url=merchant.success_url, failure_url=merchant.failure_url)
    return octopus_nb.confirm_payment_setup(client, setup["id"])


def _devices(browser, **desktop_options):
    desktop, phone = desktop_context(browser, **desktop_options), phone_context(browser)
    journey = Journey(desktop.new_page(), phone.new_page())
    for page in (journey.desktop, journey.phone):
        # A blocked script, a CSP refusal or a failed poll shows here first.
        page.on("console", lambda message: _console_error(journey, message))
        page.on("pageerror", lambda error: journey.errors.append(str(error)))
    return journey, (desktop, phone)


def _console_error(journey: Journey, message) -> None:
    where = message.location.get("url", "")
    # The browser's own favicon fetch is no part of the pages (the loopback merchant answers it 405).
    if message.type == "error" and urlsplit(where).path != "/favicon.ico":
        journey.errors.append(f"{message.text} ({where})")


@pytest.fixture
def journey(browser):
    journey, contexts = _devices(browser)
    yield journey
    for context in contexts:
        context.close()


@pytest.fixture
def journey_without_js(browser):
    """The desktop with JavaScript turned off (the phone keeps it): the page must follow by refresh."""
    journey, contexts = _devices(browser, java_script_enabled=False)
    yield journey
    for context in contexts:
        context.close()


# --- steps ----------------------------------------------------------------------------------------


def open_checkout(journey: Journey, payment: dict) -> str:
    """The desktop opens ``landing_url``; return the URI its QR code holds, read from a screenshot of it
    as rendered (the whole page's took Chromium and the decoder four times as long)."""
    response = journey.desktop.goto(payment["processing"]["landing_url"])
    assert response is not None and response.status == 200
    assert journey.desktop.locator("#status").inner_text() == "Pending"
    decoded = decode_qr(journey.desktop.locator("img#qr").screenshot())
    assert decoded == [payment["processing"]["octopus_uri"]], "the desktop's QR code, as a phone reads it"
    return decoded[0]


def open_app(journey: Journey, client, uri: str, step: str) -> None:
    """The phone opens the simulated Octopus App for ``uri`` and shows what the customer pays."""
    response = journey.phone.goto(octopus_nb.app_url(client, uri))
    assert response is not None and response.status == 200
    assert journey.phone.locator("#reference").inner_text() == REFERENCE
    assert journey.phone.locator("#amount").inner_text() == "HK$10.00"
    journey.shot(step)


def tap(page, selector: str) -> float:
    """Tap a button on the phone (a touch, not a mouse click); return the monotonic time just before."""
    start = time.monotonic()
    page.locator(selector).tap()
    return start


def assert_on_merchant_page(page, merchant, expected_url: str, payment: dict, status: str) -> None:
    """``page`` is on the merchant's ``expected_url`` page for ``payment``, which found ``status`` itself."""
    assert is_outcome(page.url, expected_url) and payment_id_in(page.url) == [payment["id"]]
    # The merchant's page looked the payment up itself (get_payment), as a real one must.
    assert page.locator("#verified-status").inner_text() == status
    assert page.locator("#payment-id").inner_text() == payment["id"]
    heading = "Thank you: your payment was received" if status == "Captured" else "Your payment did not go through"
    assert page.locator("h1").inner_text() == heading
    kind = {merchant.success_url: "success", merchant.failure_url: "failure", merchant.app_return_url: "app"}
    returned = [(r["page"], r["payment_id"], r["status"]) for r in merchant.returns]
    assert (kind[expected_url], payment["id"], status) in returned


# --- the journeys ---------------------------------------------------------------------------------


def test_pay_on_phone_sends_desktop_to_success(client, merchant, payment, journey):
    uri = open_checkout(journey, payment)
    open_app(journey, client, uri, "pay-1-scanned")

    start = tap(journey.phone, "#pay")
    took = wait_for_outcome(journey.desktop, merchant.success_url, since=start)
    assert took < ARRIVAL_SECONDS
    assert journey.phone.locator("#result").is_visible()
    assert journey.phone.locator("#status").inner_text() == "Captured"
    assert_on_merchant_page(journey.desktop, merchant, merchant.success_url, payment, "Captured")
    journey.shot("pay-2-paid")
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Captured"
    assert not journey.errors


def test_a_second_tap_on_a_stale_app_page_is_already_paid(client, merchant, payment, journey):
    uri = open_checkout(journey, payment)
    open_app(journey, client, uri, "twice-1-scanned")
    stale = journey.phone.context.new_page()  # the same app page, left open in another tab
    stale.goto(octopus_nb.app_url(client, uri))

    start = tap(journey.phone, "#pay")
    wait_for_outcome(journey.desktop, merchant.success_url, since=start)
    with stale.expect_navigation() as navigation:
        stale.locator("#pay").tap()
    assert navigation.value is not None and navigation.value.status == 409
    assert stale.locator("h1").inner_text() == "Already paid"
    captures = [a for a in octopus_nb.get_payment_actions(client, payment["id"]) if a["type"] == "Capture"]
    assert len(captures) == 1, "the second tap charged nothing"
    single_shot(stale, "twice-2-stale-tab", "phone, second tab")


@pytest.mark.parametrize("button, step", [("#cancel", "cancel"), ("#pay-capture-fails", "capture-fails")])
def test_cancel_or_a_failed_capture_on_the_phone_sends_the_desktop_to_failure(client, merchant, payment, journey, button, step):
    uri = open_checkout(journey, payment)
    open_app(journey, client, uri, f"{step}-1-scanned")

    start = tap(journey.phone, button)
    assert wait_for_outcome(journey.desktop, merchant.failure_url, since=start) < ARRIVAL_SECONDS
    assert journey.phone.locator("#status").inner_text() == "Declined"
    assert_on_merchant_page(journey.desktop, merchant, merchant.failure_url, payment, "Declined")
    journey.shot(f"{step}-2-declined")
    assert not journey.errors


def test_expiry_by_the_clock_sends_desktop_to_failure_and_the_app_refuses(client, merchant, payment, journey):
    uri = open_checkout(journey, payment)
    open_app(journey, client, uri, "expire-1-scanned")

    start = time.monotonic()
    octopus_nb.advance_clock(client, 16 * 60)
    assert wait_for_outcome(journey.desktop, merchant.failure_url, since=start) < ARRIVAL_SECONDS
    assert_on_merchant_page(journey.desktop, merchant, merchant.failure_url, payment, "Expired")

    # The customer taps Pay on the app page they still have open: too late, nothing changes.
    with journey.phone.expect_navigation() as navigation:
        journey.phone.locator("#pay").tap()
    assert navigation.value is not None and navigation.value.status == 409
    assert "expired" in journey.phone.locator("h1").inner_text().lower()
    journey.shot("expire-2-expired")
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Expired"


@pytest.mark.parametrize(
    "action, outcome, status",
    [
        ("approve", "success", "Captured"),
        ("decline", "failure", "Declined"),
        ("fail_capture", "failure", "Declined"),
        ("expire", "failure", "Expired"),
    ],
)
def test_desktop_follows_simulate_customer_from_code(client, merchant, payment, journey, action, outcome, status):
    uri = open_checkout(journey, payment)
    open_app(journey, client, uri, f"code-{action}-1-waiting")
    expected = merchant.success_url if outcome == "success" else merchant.failure_url

    start = time.monotonic()
    octopus_nb.simulate_customer(client, payment["id"], action)
    assert wait_for_outcome(journey.desktop, expected, since=start) < ARRIVAL_SECONDS
    assert_on_merchant_page(journey.desktop, merchant, expected, payment, status)
    # The phone's app, opened again, says the payment is closed (409) instead of offering Pay.
    response = journey.phone.reload()
    assert response is not None and response.status == 409
    assert journey.phone.locator("#pay").count() == 0
    journey.shot(f"code-{action}-2-settled")


def test_desktop_without_javascript_follows_by_refresh(client, merchant, payment, journey_without_js):
    journey = journey_without_js
    uri = open_checkout(journey, payment)
    refresh = journey.desktop.locator("noscript").first.inner_html()
    assert 'http-equiv="refresh"' in refresh
    open_app(journey, client, uri, "nojs-1-scanned")

    start = tap(journey.phone, "#pay")
    assert wait_for_outcome(journey.desktop, merchant.success_url, since=start) < ARRIVAL_SECONDS
    assert_on_merchant_page(journey.desktop, merchant, merchant.success_url, payment, "Captured")
    journey.shot("nojs-2-paid")


def test_ios_return_url_sends_phone_back_to_the_merchant_app(client, merchant, payment, journey):
    targets = octopus_nb.redirect_targets(payment, ios_return_url=merchant.app_return_url)
    assert "return=" in targets.ios
    open_checkout(journey, payment)
    open_app(journey, client, targets.ios, "ios-1-opened")

    with journey.phone.expect_response(lambda response: response.request.method == "POST") as pressed:
        start = tap(journey.phone, "#pay")
    assert pressed.value.status == 303  # the app hands the phone back to the merchant's app
    assert wait_for_outcome(journey.phone, merchant.app_return_url, since=start) < ARRIVAL_SECONDS
    assert_on_merchant_page(journey.phone, merchant, merchant.app_return_url, payment, "Captured")
    # The desktop checkout, still open, follows too.
    wait_for_outcome(journey.desktop, merchant.success_url, since=start)
    journey.shot("ios-2-returned")


def test_landing_url_opened_after_settling_answers_303_to_the_outcome(client, merchant, payment, journey):
    octopus_nb.simulate_customer(client, payment["id"], "decline")
    landing_url = payment["processing"]["landing_url"]
    raw = requests.get(landing_url, allow_redirects=False, timeout=5)
    assert raw.status_code == 303
    assert payment_id_in(raw.headers["Location"]) == [payment["id"]]

    journey.desktop.goto(landing_url)
    wait_for_outcome(journey.desktop, merchant.failure_url)
    assert_on_merchant_page(journey.desktop, merchant, merchant.failure_url, payment, "Declined")
    single_shot(journey.desktop, "settled-landing-303", "desktop")


# --- accessibility: every page either device can see ---------------------------------------------


def test_axe_landing_page_app_page_and_result_page(client, merchant, payment, journey):
    uri = open_checkout(journey, payment)
    assert_accessible(journey.desktop, "landing")
    open_app(journey, client, uri, "a11y-1-landing-and-app")
    assert_accessible(journey.phone, "app")
    journey.phone.locator("#pay").tap()
    journey.phone.locator("#result").wait_for()
    assert_accessible(journey.phone, "app-result")
    wait_for_outcome(journey.desktop, merchant.success_url)
    assert_accessible(journey.desktop, "merchant-success")  # the loopback merchant's page too
    journey.shot("a11y-2-result")


def _problem_targets(client, sandbox, paid_uri):
    app = f"{sandbox.base_url}/_sandbox/octopus/app"
    return {
        "landing-404-unknown-token": ("desktop", f"{sandbox.base_url}/_sandbox/octopus/oos/payment/?token=nope", 404),
        "app-400-not-octopus": ("phone", octopus_nb.app_url(client, "https://example.com/pay?token=x"), 400),
        "app-400-no-token": ("phone", octopus_nb.app_url(client, "octopus://payment"), 400),
        "app-400-no-uri": ("phone", app, 400),
        "app-404-unknown-token": ("phone", octopus_nb.app_url(client, "octopus://payment?token=nope"), 404),
        "app-409-already-paid": ("phone", octopus_nb.app_url(client, paid_uri), 409),
    }


PROBLEM_PAGES = [
    "landing-404-unknown-token",
    "app-400-not-octopus",
    "app-400-no-token",
    "app-400-no-uri",
    "app-404-unknown-token",
    "app-409-already-paid",
]


@pytest.mark.parametrize("name", PROBLEM_PAGES)
def test_axe_problem_pages(client, sandbox, payment, journey, name):
    octopus_nb.simulate_customer(client, payment["id"], "approve")
    device, url, status = _problem_targets(client, sandbox, payment["processing"]["octopus_uri"])[name]
    page = journey.desktop if device == "desktop" else journey.phone
    response = page.goto(url)
    assert response is not None and response.status == status
    assert response.headers["content-type"].startswith("text/html")
    assert page.locator("h1").inner_text()  # a page naming the problem, not an empty 4xx
    assert page.locator("#problem").inner_text()
    if name == "app-409-already-paid":
        assert "already paid" in page.locator("h1").inner_text().lower()
    single_shot(page, f"problem-{name}", device)
    assert_accessible(page, f"problem-{name}")


def test_axe_runs_under_the_pages_csp_and_sees_a_planted_violation(client, payment, journey):
    """The audit itself: axe-core runs inside the landing page's strict CSP and reports what is there."""
    from browser_support import axe_violations

    open_checkout(journey, payment)
    journey.desktop.evaluate("""() => {
        const img = document.createElement('img');
        img.id = 'planted';
        img.src = document.getElementById('qr').src;  // a data: image, allowed by the page's CSP
        document.body.appendChild(img);               // and no alt text: axe's image-alt (critical)
    }""")
    found = {v["id"]: v for v in axe_violations(journey.desktop, "self-check-planted")}
    assert "image-alt" in found and found["image-alt"]["impact"] == "critical"
    assert [node["target"] for node in found["image-alt"]["nodes"]] == [["#planted"]]
