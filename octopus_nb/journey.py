"""The customer's journey on the sandbox: the simulated Octopus App, and the customer's devices.

On Checkout.com the customer scans the landing page's QR code (desktop) or the merchant's app
opens ``octopus_uri`` or an iOS URL (phone), pays in the Octopus App, and the browser or app goes
back to the merchant. The octopus_nb sandbox plays the app at :func:`app_url`; the two devices
are played here over plain HTTP, as a browser and a phone would (no API key, nothing in
``client.history``), so a notebook can walk the journey without a phone:

- :func:`press_in_app`: the phone opens the app for a URI and presses Pay, Cancel or capture fails;
- :func:`open_landing_page`: the desktop browser opens (or reloads) ``landing_url`` and follows
  where it is sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import requests

from .client import Client
from .control import require_sandbox
from .lifecycle import app_page_url, processing_of

#: the app's buttons, as :func:`press_in_app` names them, and the form value each sends
BUTTONS = {"pay": "pay", "cancel": "cancel", "pay_capture_fails": "pay_capture_fails"}


def app_url(client: Client, payment_or_uri: Mapping[str, Any] | str) -> str:
    """The simulated Octopus App's page for a payment (its ``octopus_uri``) or for a URI you built.

    Pass a confirm answer, a payment, a confirmed setup, ``octopus_uri`` itself or the iOS URL of
    :func:`redirect_targets` (with ``return=``, the app sends the phone back there after paying).

    >>> app_url(client, payment)  # doctest: +SKIP
    'http://127.0.0.1:…/_sandbox/octopus/app?uri=octopus%3A%2F%2Fpayment%3Ftoken%3D…'

    Raises:
        NotASandboxError: the client points at Checkout.com, where the real app plays the customer.
    """
    require_sandbox(client, "app_url()")
    uri = payment_or_uri if isinstance(payment_or_uri, str) else processing_of(payment_or_uri)["octopus_uri"]
    return app_page_url(client.base_url, uri)


@dataclass(frozen=True)
class Visit:
    """Where a device ended up: the page's URL, its HTTP status and its heading."""

    url: str
    status_code: int
    heading: str

    def __repr__(self) -> str:
        return f"Visit({self.status_code} {self.heading!r} at {self.url})"


def press_in_app(client: Client, payment_or_uri: Mapping[str, Any] | str, button: str = "pay") -> Visit:
    """The phone: open the Octopus App for this payment or URI, and press ``button``.

    ``button`` is ``"pay"``, ``"cancel"`` or ``"pay_capture_fails"`` (sandbox only). The payment
    moves as :func:`simulate_customer` would move it. With a ``return=`` URL the phone is sent
    there (followed when it is http(s), e.g. a :class:`WebhookReceiver`'s ``app_return_url``).

    Raises:
        ValueError: an unknown button. NotASandboxError: the client points at Checkout.com.
    """
    if button not in BUTTONS:
        raise ValueError(f"Unknown button {button!r}: use one of {', '.join(map(repr, BUTTONS))}.")
    url = app_url(client, payment_or_uri)
    uri = payment_or_uri if isinstance(payment_or_uri, str) else processing_of(payment_or_uri)["octopus_uri"]
    with requests.Session() as phone:
        phone.get(url, timeout=10).raise_for_status()
        pressed = phone.post(url.split("?")[0], data={"uri": uri, "action": BUTTONS[button]}, allow_redirects=False, timeout=10)
        return _follow(phone, pressed)


def open_landing_page(client: Client, payment: Mapping[str, Any]) -> Visit:
    """The desktop browser: open ``processing.landing_url`` and follow where the page sends it.

    While the payment is Pending the browser stays on the landing page; once it settled, the page
    sends it to ``success_url`` or ``failure_url`` with ``cko-payment-id``, which is fetched too
    when it is http(s) (a :class:`WebhookReceiver` serves such pages and verifies the payment).

    Raises:
        NotASandboxError: the client points at Checkout.com (whose pages need a real browser).
    """
    require_sandbox(client, "open_landing_page()")
    landing_url = processing_of(payment)["landing_url"]
    with requests.Session() as browser:
        return _follow(browser, browser.get(landing_url, allow_redirects=False, timeout=10))


#: hosts a played device fetches: the sandbox and merchants on this machine, never the Internet
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _follow(device: requests.Session, response: requests.Response) -> Visit:
    """Follow the sandbox's 303 to the merchant when the merchant is on this machine."""
    location = response.headers.get("Location")
    if response.status_code != 303 or not location:
        return Visit(response.url, response.status_code, _heading(response.text))
    parts = urlsplit(location)
    if parts.scheme not in ("http", "https") or parts.hostname not in _LOOPBACK:
        # a custom scheme (the merchant's app) or a merchant elsewhere: where the device was sent
        return Visit(location, 303, "sent to the merchant (not fetched)")
    landed = device.get(location, timeout=10)
    return Visit(landed.url, landed.status_code, _heading(landed.text))


class _FirstHeading(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inside, self.text = False, ""

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.inside = self.inside or (tag == "h1" and not self.text)

    def handle_endtag(self, tag: str) -> None:
        if tag == "h1":
            self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text += data


def _heading(page: str) -> str:
    parser = _FirstHeading()
    parser.feed(page)
    return parser.text.strip()
