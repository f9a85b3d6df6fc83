"""The landing page (contract §4, §6): the customer's browser, a one-time token, a QR code, a 303.

Driven with plain ``requests`` as a browser would (no key, form POST, redirects inspected by
hand); the headless-Chromium version lives in test_browser_landing.py.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import octopus_nb
from conftest import KO_URL, OK_URL, pending_payment, ready_setup, decode_qr
from octopus_nb.qr import qr_png

HTML = "text/html; charset=utf-8"


def landing(payment: dict) -> str:
    return payment["processing"]["landing_url"]


def act(payment: dict, action: str, token: str | None = None) -> requests.Response:
    """Press a button: POST the form to ``?token=T&action=...``, not following the redirect."""
    token = token or payment["processing"]["token"]
    url = landing(payment).split("?")[0]
    return requests.post(url, params={"token": token, "action": action}, allow_redirects=False, timeout=5)


def decode_page_qr(page: str) -> list[str]:
    match = re.search(r'<img id="qr" [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert match, page
    return decode_qr(base64.b64decode(match.group(1)))


def test_page_shows_reference_amount_status_and_a_qr_of_the_octopus_uri(client):
    payment = pending_payment(client)
    response = requests.get(landing(payment), timeout=5)  # no Authorization: the customer's browser
    assert response.status_code == 200
    assert response.headers["Content-Type"] == HTML
    assert response.headers["Cache-Control"] == "no-store"
    page = response.text
    assert '<dd id="reference">ORD-5023-4E89</dd>' in page
    assert '<dd id="amount" class="amount">HK$10.00</dd>' in page
    assert '<dd id="status">Pending</dd>' in page
    assert decode_page_qr(page) == [payment["processing"]["octopus_uri"]]
    # no external resources: nothing the page loads comes from the network
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert 'action="?token=' + payment["processing"]["token"] + '&amp;action=approve"' in page
    assert 'action="?token=' + payment["processing"]["token"] + '&amp;action=decline"' in page


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


def test_approve_redirects_303_to_success_url_and_captures(client):
    payment = pending_payment(client)
    response = act(payment, "approve")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{OK_URL}?cko-payment-id={payment['id']}"
    details = octopus_nb.get_payment(client, payment["id"])
    assert details["status"] == "Captured" and details["approved"] is True


def test_decline_redirects_303_to_failure_url_and_declines(client):
    payment = pending_payment(client)
    response = act(payment, "decline")
    assert response.status_code == 303
    assert response.headers["Location"] == f"{KO_URL}?cko-payment-id={payment['id']}"
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Declined"


def test_redirect_keeps_an_existing_query_string(client):
    setup = ready_setup(client, success_url="https://shop.example/done?order=42&lang=en#top")
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    location = act(payment, "approve").headers["Location"]
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("https", "shop.example", "/done", "top")
    assert parse_qs(parts.query) == {"order": ["42"], "lang": ["en"], "cko-payment-id": [payment["id"]]}


def test_a_browser_following_the_redirect_lands_on_the_success_url(client, sandbox):
    # The success URL is the sandbox's own (404) path here, so the redirect is followed for real.
    own = f"{sandbox.base_url}/shop/done"
    setup = ready_setup(client, success_url=own)
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    response = requests.post(landing(payment) + "&action=approve", timeout=5)
    assert [r.status_code for r in response.history] == [303]
    assert response.url == f"{own}?cko-payment-id={payment['id']}"
    assert response.request.method == "GET"  # 303: the browser follows with GET


def test_token_is_single_use_410(client):
    payment = pending_payment(client)
    assert act(payment, "approve").status_code == 303
    again = act(payment, "decline")
    assert again.status_code == 410
    assert again.headers["Content-Type"] == HTML
    assert "already been used" in again.text
    assert requests.get(landing(payment), timeout=5).status_code == 410
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Captured"


def test_unknown_token_404_page(client, sandbox):
    url = f"{sandbox.base_url}/_sandbox/octopus/oos/payment/"
    for response in (
        requests.get(url, params={"token": "nope"}, timeout=5),
        requests.get(url, timeout=5),
        requests.post(url, params={"token": "nope", "action": "approve"}, allow_redirects=False, timeout=5),
    ):
        assert response.status_code == 404
        assert response.headers["Content-Type"] == HTML
        assert "not valid" in response.text


def test_bad_action_400_page_changes_nothing(client):
    payment = pending_payment(client)
    for action in ("capture", "", "APPROVE"):
        response = act(payment, action)
        assert response.status_code == 400
        assert response.headers["Content-Type"] == HTML
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Pending"
    assert act(payment, "approve").status_code == 303  # the token was not spent


def test_expired_payment_410_page(client, control):
    payment = pending_payment(client)
    control.post(control.base_url + "/_sandbox/clock", json={"advance_seconds": 901})
    for response in (requests.get(landing(payment), timeout=5), act(payment, "approve")):
        assert response.status_code == 410
        assert "expired" in response.text
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Expired"


@pytest.mark.parametrize("elsewhere", ["decline", "approve", "fail_capture"])
def test_payment_settled_elsewhere_410_page(client, control, elsewhere):
    payment = pending_payment(client)
    assert control.post(f"{control.base_url}/_sandbox/payments/{payment['id']}/{elsewhere}").status_code == 200
    response = act(payment, "approve")
    assert response.status_code == 410 and "no longer waiting" in response.text


def test_reference_is_escaped(client):
    setup = ready_setup(client, reference='<script>alert("x")</script>&')
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    page = requests.get(landing(payment), timeout=5).text
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page


def test_landing_page_needs_no_key_but_control_routes_do(client, sandbox):
    payment = pending_payment(client)
    assert requests.get(landing(payment), timeout=5).status_code == 200
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
