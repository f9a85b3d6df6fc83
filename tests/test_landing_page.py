"""The desktop landing page (contract §9.1): a QR code, the time left, and it follows the payment.

Driven with plain ``requests`` as a browser would (no key, redirects inspected by hand); the
headless-Chromium journeys live in test_browser_landing.py and test_browser_journey.py.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
import requests
from conftest import KO_URL, OK_URL, decode_qr, pending_payment, ready_setup

import octopus_nb
from octopus_nb.qr import qr_png
from octopus_nb.sandbox.store import decode_payment, encode_payment

HTML = "text/html; charset=utf-8"


def landing(payment: dict) -> str:
    return payment["processing"]["landing_url"]


def status_of(sandbox, payment: dict) -> requests.Response:
    """What the page's script polls."""
    url = f"{sandbox.base_url}/_sandbox/octopus/oos/payment/status"
    return requests.get(url, params={"token": payment["processing"]["token"]}, timeout=5)


def decode_page_qr(page: str) -> list[str]:
    match = re.search(r'<img id="qr" [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert match, page
    return decode_qr(base64.b64decode(match.group(1)))


def test_page_shows_reference_amount_time_left_and_a_qr_of_the_octopus_uri(client):
    payment = pending_payment(client)
    response = requests.get(landing(payment), timeout=5)  # no Authorization: the customer's browser
    assert response.status_code == 200
    assert response.headers["Content-Type"] == HTML
    assert response.headers["Cache-Control"] == "no-store"
    page = response.text
    assert '<dd id="reference">ORD-5023-4E89</dd>' in page
    assert '<dd id="amount" class="amount">HK$10.00</dd>' in page
    assert '<dd id="status" aria-live="polite">Pending</dd>' in page
    assert '<dd id="expires_in">15:00</dd>' in page  # 15 minutes on the (seeded, frozen) sandbox clock
    assert decode_page_qr(page) == [payment["processing"]["octopus_uri"]]
    # no external resources: nothing the page loads comes from the network
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_the_desktop_page_no_longer_plays_the_customer(client):
    page = requests.get(landing(pending_payment(client)), timeout=5).text
    assert "<form" not in page and "<button" not in page
    assert "Approve" not in page and "Decline" not in page


def test_the_sandbox_link_opens_the_simulated_app_for_this_payment(client):
    payment = pending_payment(client)
    page = requests.get(landing(payment), timeout=5).text
    uri = quote(payment["processing"]["octopus_uri"], safe="")
    assert f'<a id="sandbox-app" href="/_sandbox/octopus/app?uri={uri}"' in page
    assert "Sandbox only" in page
    app = requests.get(urlsplit(landing(payment))._replace(path="/_sandbox/octopus/app", query=f"uri={uri}").geturl(), timeout=5)
    assert app.status_code == 200 and '<dd id="reference">ORD-5023-4E89</dd>' in app.text


def test_the_page_follows_with_a_same_origin_script_and_a_no_script_refresh(client, sandbox):
    payment = pending_payment(client)
    response = requests.get(landing(payment), timeout=5)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert "unsafe-eval" not in policy and "script-src 'self' 'unsafe-inline'" not in policy
    page = response.text
    assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in page
    assert re.findall(r"<script[^>]*>", page) == ['<script src="/_sandbox/octopus/static/follow.js" defer>']
    token = payment["processing"]["token"]
    assert f'data-status-url="/_sandbox/octopus/oos/payment/status?token={token}"' in page
    script = requests.get(sandbox.base_url + "/_sandbox/octopus/static/follow.js", timeout=5)
    assert script.status_code == 200 and script.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert "data-status-url" in script.text and "location.replace" in script.text


def test_page_qr_is_the_shared_generator(client):
    payment = pending_payment(client)
    page = requests.get(landing(payment), timeout=5).text
    expected = base64.b64encode(qr_png(payment["processing"]["octopus_uri"])).decode()
    assert f"data:image/png;base64,{expected}" in page


def test_qr_png_is_deterministic_and_decodes():
    png = qr_png("octopus://payment?token=abc")
    assert png == qr_png("octopus://payment?token=abc")
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert decode_qr(png) == ["octopus://payment?token=abc"]


def test_status_route_while_pending_counts_down_on_the_sandbox_clock(client, sandbox):
    payment = pending_payment(client)
    first = status_of(sandbox, payment)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    assert first.json() == {"status": "Pending", "expires_on": "2026-04-30T09:15:00.000Z", "expires_in_seconds": 900, "redirect_url": None}
    octopus_nb.advance_clock(client, 61)
    assert status_of(sandbox, payment).json()["expires_in_seconds"] == 839
    assert '<dd id="expires_in">13:59</dd>' in requests.get(landing(payment), timeout=5).text


@pytest.mark.parametrize(
    "action, status, target",
    [
        ("approve", "Captured", OK_URL),
        ("decline", "Declined", KO_URL),
        ("fail_capture", "Declined", KO_URL),
        ("expire", "Expired", KO_URL),
    ],
)
def test_once_settled_the_page_sends_the_browser_to_the_outcome_url(client, sandbox, action, status, target):
    payment = pending_payment(client)
    octopus_nb.simulate_customer(client, payment["id"], action)
    expected = f"{target}?cko-payment-id={payment['id']}"
    assert status_of(sandbox, payment).json() == {
        "status": status,
        "expires_on": "2026-04-30T09:15:00.000Z",
        "expires_in_seconds": 0,
        "redirect_url": expected,
    }
    reloaded = requests.get(landing(payment), allow_redirects=False, timeout=5)  # opened or reloaded after it settled
    assert reloaded.status_code == 303 and reloaded.headers["Location"] == expected


def test_expiry_by_the_clock_sends_the_browser_to_the_failure_url(client, sandbox):
    payment = pending_payment(client)
    octopus_nb.advance_clock(client, 15 * 60 + 1)
    assert status_of(sandbox, payment).json()["redirect_url"] == f"{KO_URL}?cko-payment-id={payment['id']}"
    assert requests.get(landing(payment), allow_redirects=False, timeout=5).status_code == 303


def test_a_refunded_payment_still_returns_to_the_success_url(client):
    payment = pending_payment(client)
    octopus_nb.simulate_customer(client, payment["id"], "approve")
    octopus_nb.refund_payment(client, payment["id"])
    location = requests.get(landing(payment), allow_redirects=False, timeout=5).headers["Location"]
    assert location == f"{OK_URL}?cko-payment-id={payment['id']}"


def test_redirect_keeps_an_existing_query_string(client):
    setup = ready_setup(client, success_url="https://shop.example/done?order=42&lang=en#top")
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    octopus_nb.simulate_customer(client, payment["id"], "approve")
    location = requests.get(landing(payment), allow_redirects=False, timeout=5).headers["Location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("https", "shop.example", "/done", "top")
    assert parse_qs(parts.query) == {"order": ["42"], "lang": ["en"], "cko-payment-id": [payment["id"]]}


def test_a_browser_reloading_after_payment_lands_on_the_success_url(client, sandbox):
    # The success URL is the sandbox's own (404) path here, so the redirect is followed for real.
    own = f"{sandbox.base_url}/shop/done"
    setup = ready_setup(client, success_url=own)
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    octopus_nb.simulate_customer(client, payment["id"], "approve")
    response = requests.get(landing(payment), timeout=5)
    assert [r.status_code for r in response.history] == [303]
    assert response.url == f"{own}?cko-payment-id={payment['id']}"


def test_unknown_token_404_page(client, sandbox):
    url = f"{sandbox.base_url}/_sandbox/octopus/oos/payment/"
    for response in (requests.get(url, params={"token": "nope"}, timeout=5), requests.get(url, timeout=5)):
        assert response.status_code == 404
        assert response.headers["Content-Type"] == HTML
        assert "not valid" in response.text
    assert requests.get(url + "status", params={"token": "nope"}, timeout=5).status_code == 404


def test_posting_to_the_page_is_a_405_page_and_changes_nothing(client):
    payment = pending_payment(client)
    response = requests.post(landing(payment) + "&action=approve", allow_redirects=False, timeout=5)
    assert response.status_code == 405 and response.headers["Content-Type"] == HTML
    assert "<h1>" in response.text and "Traceback" not in response.text
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Pending"


def test_a_state_file_from_before_the_journey_still_reads(client, sandbox):
    """Payments saved while the landing page's token was single-use carry ``token_used``."""
    payment = sandbox.state.payments[pending_payment(client)["id"]]
    assert decode_payment({**encode_payment(payment), "token_used": True}) == payment


def test_reference_is_escaped(client):
    setup = ready_setup(client, reference='<script>alert("x")</script>&')
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    page = requests.get(landing(payment), timeout=5).text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page


def test_landing_page_needs_no_key_but_control_routes_do(client, sandbox):
    payment = pending_payment(client)
    assert requests.get(landing(payment), timeout=5).status_code == 200
    assert requests.get(landing(payment).replace("/payment/?", "/payment/status?"), timeout=5).status_code == 200
    for method, path in (
        ("POST", f"/_sandbox/payments/{payment['id']}/approve"),
        ("PUT", "/_sandbox/webhooks"),
        ("GET", "/_sandbox/webhooks/deliveries"),
        ("POST", "/_sandbox/webhooks/flush"),
        ("PUT", "/_sandbox/faults"),
        ("GET", "/_sandbox/faults"),
        ("POST", "/_sandbox/clock"),
        ("GET", "/_sandbox/stats"),
    ):
        response = requests.request(method, sandbox.base_url + path, json={}, timeout=5)
        assert response.status_code == 401, (method, path)
        assert response.content == b""
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Pending"


@pytest.mark.parametrize("amount, shown", [(1000, "HK$10.00"), (10, "HK$0.10"), (123450, "HK$1,234.50")])
def test_amount_is_shown_in_hong_kong_dollars(client, amount, shown):
    setup = ready_setup(client, amount=amount)
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    assert f'<dd id="amount" class="amount">{shown}</dd>' in requests.get(landing(payment), timeout=5).text
