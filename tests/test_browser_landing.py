"""The sandbox's desktop landing page in a real (headless) Chromium: it shows, scans, and follows.

Run with ``.venv/bin/pytest -m browser tests/test_browser_landing.py``. Uses Debian's ``chromium``
through Playwright's ``executable_path`` (never ``playwright install``); screenshots go to
``artifacts/`` (git-ignored) for a person to look at.

The page is the merchant's checkout on a desktop: the payment, the time left and the QR code the
Octopus App scans. It has no buttons: the customer pays on the phone (the simulated Octopus App,
``tests/test_browser_journey.py`` plays both devices), and the page follows the payment to the
merchant's success or failure page.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from browser_support import ARTIFACTS, desktop_context, is_outcome, payment_id_in, route_example_merchant
from conftest import KO_URL, OK_URL, decode_qr, pending_payment

import octopus_nb

#: The page polls once a second; a busy CI machine (the unit tests beside it) can take several polls.
FOLLOW_MS = 10_000

pytestmark = pytest.mark.browser


@pytest.fixture
def context(browser):
    opened = desktop_context(browser)
    # The success/failure URLs are https://example.com/..., unreachable offline: answer them here.
    route_example_merchant(opened)
    yield opened
    opened.close()


@pytest.fixture
def page(context):
    return context.new_page()


def test_landing_page_shows_the_payment_and_a_qr_code_that_scans(client, page):
    payment = pending_payment(client)
    ARTIFACTS.mkdir(exist_ok=True)

    response = page.goto(payment["processing"]["landing_url"])
    assert response is not None and response.status == 200
    assert page.locator("#reference").inner_text() == "ORD-5023-4E89"
    assert page.locator("#amount").inner_text() == "HK$10.00"
    assert page.locator("#status").inner_text() == "Pending"
    assert page.locator("#expires_in").inner_text() == "15:00"  # the sandbox clock stands still until moved
    full = page.screenshot(path=str(ARTIFACTS / "landing-page.png"), full_page=True)
    qr_png = page.locator("img#qr").screenshot(path=str(ARTIFACTS / "landing-page-qr.png"))
    assert decode_qr(qr_png) == [payment["processing"]["octopus_uri"]]
    assert decode_qr(full) == [payment["processing"]["octopus_uri"]]  # and from the whole page, as a phone sees it
    # The customer acts on the phone now: the desktop page has nothing to press.
    assert page.get_by_role("button").count() == 0
    assert page.locator("form").count() == 0


def test_time_left_follows_the_sandbox_clock_without_a_reload(client, page):
    payment = pending_payment(client)
    page.goto(payment["processing"]["landing_url"])
    octopus_nb.advance_clock(client, 5 * 60 + 30)
    page.wait_for_function("() => document.getElementById('expires_in').textContent === '09:30'", timeout=FOLLOW_MS)
    assert page.locator("#status").inner_text() == "Pending"


def test_sandbox_app_link_opens_the_app_and_the_page_follows_to_success(client, context, page):
    payment = pending_payment(client)
    page.goto(payment["processing"]["landing_url"])
    link = page.locator("a#sandbox-app")
    assert link.inner_text() == "Sandbox only: open the simulated Octopus App"

    with context.expect_page() as opened:
        link.click()
    app = opened.value
    app.wait_for_load_state()
    assert app.url == octopus_nb.app_url(client, payment["processing"]["octopus_uri"])
    app.locator("#pay").click()
    app.locator("#result").wait_for()

    page.wait_for_url(lambda url: is_outcome(url, OK_URL), timeout=FOLLOW_MS)
    assert payment_id_in(page.url) == [payment["id"]]
    page.screenshot(path=str(ARTIFACTS / "landing-page-after-pay.png"))
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Captured"


def test_page_follows_a_decline_to_the_failure_url(client, page):
    payment = pending_payment(client)
    page.goto(payment["processing"]["landing_url"])
    octopus_nb.simulate_customer(client, payment["id"], "decline")
    page.wait_for_url(lambda url: is_outcome(url, KO_URL), timeout=FOLLOW_MS)
    assert payment_id_in(page.url) == [payment["id"]]


def test_landing_page_loads_nothing_from_the_network_and_polls_its_own_origin(client, sandbox, page):
    payment = pending_payment(client)
    requested, problems = [], []
    page.on("request", lambda request: requested.append(request.url))
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))

    response = page.goto(payment["processing"]["landing_url"])
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy
    polls = lambda: [url for url in requested if urlsplit(url).path == "/_sandbox/octopus/oos/payment/status"]  # noqa: E731
    for _ in range(50):  # a poll a second; up to 10 s for two on a busy machine
        if len(polls()) >= 2:
            break
        page.wait_for_timeout(200)
    assert len(polls()) >= 2

    origin = urlsplit(sandbox.base_url).netloc
    assert {urlsplit(url).netloc for url in requested} == {origin}  # data: images are not requests
    assert not problems, problems  # no CSP refusal, no failed poll


def test_unknown_token_is_a_404_page(sandbox, page):
    response = page.goto(f"{sandbox.base_url}/_sandbox/octopus/oos/payment/?token=not-a-token")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Payment not found"
    assert re.search(r"not valid", page.locator("#problem").inner_text())
