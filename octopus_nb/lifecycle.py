"""Step 3 of the Octopus flow and what follows it: redirect the customer, then learn the outcome.

- :func:`redirect_targets`: where to send the customer — desktop, Android or iOS (the seed page's
  three ways).
- :func:`wait_for_payment`: poll ``GET /payments/{id}`` until the payment is settled.

Everything goes through :meth:`Client.request`, so each call shows in ``client.history``.
"""

from __future__ import annotations

import functools
import html
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from ._shared.contract import TERMINAL_STATUSES
from .client import ApiResult, Client
from .errors import WaitTimeoutError
from .steps import get_payment

#: iOS: Checkout.com says only "use ``processing.token`` to construct a URL using a custom URL
#: scheme to invoke the Octopus App" and does NOT publish the scheme. This default mirrors the
#: Android ``octopus_uri`` shape; it is an assumption, not a documented Checkout.com value —
#: confirm the real scheme with Octopus/Checkout.com and pass ``ios_template=``.
IOS_URL_TEMPLATE = "octopus://payment?token={token}"


#: The octopus_nb sandbox's pages: its landing page (``processing.landing_url``) and its stand-in
#: for the Octopus App (sandbox rules, contract §9.1).
SANDBOX_LANDING_PATH = "/_sandbox/octopus/oos/payment/"
SANDBOX_APP_PATH = "/_sandbox/octopus/app"


def app_page_url(base_url: str, uri: str) -> str:
    """The simulated Octopus App's page on the sandbox at ``base_url``, opened with ``uri``."""
    return f"{base_url}{SANDBOX_APP_PATH}?uri={quote(uri, safe='')}"


#: The seed page's three ways to reach the Octopus App: (attribute, device, how to use the target).
DEVICES = (
    ("desktop", "Desktop browser", "redirect to the landing page; the customer scans its QR code"),
    ("android", "Android app", "pass to the Octopus App"),
    ("ios", "iOS app", "open this URL (custom scheme: an assumption, see IOS_URL_TEMPLATE)"),
)


@dataclass(frozen=True)
class RedirectTargets:
    """Where to send the customer for one pending Octopus payment, per device.

    ``desktop`` is the landing page showing a QR code that the Octopus App scans; ``android`` is
    passed to the Octopus App; ``ios`` opens the app through a custom URL scheme built from
    ``token`` (the scheme is an assumption: see :data:`IOS_URL_TEMPLATE`).
    """

    payment_id: str
    #: ``processing.landing_url``: a web page with the QR code (desktop browsers)
    desktop: str
    #: ``processing.octopus_uri``: hand this to the Octopus App (Android)
    android: str
    #: ``ios_template`` filled with ``processing.token`` (iOS; scheme not published by Checkout.com)
    ios: str
    #: ``processing.token``: the one-time token inside all three
    token: str
    #: on the octopus_nb sandbox, the simulated app's page that plays each device (desktop, Android,
    #: iOS: the app as opened by that device's target); empty elsewhere
    apps: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"RedirectTargets(payment_id={self.payment_id!r},\n"
            f"    desktop={self.desktop!r},\n"
            f"    android={self.android!r},\n"
            f"    ios={self.ios!r})"
        )

    def rows(self) -> list[tuple[str, str, str, str]]:
        """``(device, how, target, sandbox app)`` for desktop, Android and iOS: the one table every view shows.

        The last column is the simulated app's page that plays that device on the octopus_nb
        sandbox (the QR code scanned, ``octopus_uri`` or the iOS URL opened), "" elsewhere.
        """
        apps = self.apps or ("",) * len(DEVICES)
        return [(device, how, getattr(self, name), app) for (name, device, how), app in zip(DEVICES, apps)]

    def _repr_html_(self) -> str:
        body = "".join(
            f"<tr><th>{html.escape(device)}</th><td><code>{html.escape(url)}</code></td>"
            f"<td>{html.escape(how)}</td>"
            + (f'<td><a href="{html.escape(app)}" target="_blank">simulated app</a></td>' if self.apps else "")
            + "</tr>"
            for device, how, url, app in self.rows()
        )
        sandbox = "<th>in the sandbox</th>" if self.apps else ""
        return (
            f"<table><caption>Redirect targets for {html.escape(self.payment_id)}</caption>"
            f"<tr><th>device</th><th>target</th><th>how</th>{sandbox}</tr>{body}</table>"
        )


def redirect_targets(
    payment: Mapping[str, Any], *, ios_return_url: str | None = None, ios_template: str = IOS_URL_TEMPLATE
) -> RedirectTargets:
    """The three ways to send the customer to Octopus, as the seed page describes them.

    Accepts a confirm response, a ``GET /payments/{id}`` response, or a setup that has a
    ``latest_payment`` (either confirm shape). ``ios_template`` is formatted with ``token=``; its
    default is **not** a documented Checkout.com value (see :data:`IOS_URL_TEMPLATE`). With
    ``ios_return_url`` (your app's own URL, e.g. ``"myshop://octopus/done"``) the iOS URL gets
    ``&return=<percent-encoded URL>``, the form Octopus integrations document for handing control
    back to your app after payment.

    >>> redirect_targets(payment).android  # doctest: +SKIP
    'octopus://payment?token=...'

    Raises:
        ValueError: the mapping has no ``processing`` object (e.g. a setup not yet confirmed).
    """
    processing = processing_of(payment)
    token = processing["token"]
    landing, android = processing["landing_url"], processing["octopus_uri"]
    ios = _ios_url(ios_template.format(token=token), ios_return_url)
    return RedirectTargets(
        payment_id=str(payment_of(payment).get("id", "")),
        desktop=landing,
        android=android,
        ios=ios,
        token=token,
        apps=_sandbox_apps(landing, (android, android, ios)),
    )


def _sandbox_apps(landing_url: str, uris: tuple[str, ...]) -> tuple[str, ...]:
    """The simulated app's page for each URI, when ``landing_url`` is the octopus_nb sandbox's page."""
    parts = urlsplit(landing_url)
    if parts.path != SANDBOX_LANDING_PATH or parts.scheme not in ("http", "https"):
        return ()
    return tuple(app_page_url(f"{parts.scheme}://{parts.netloc}", uri) for uri in uris)


def _ios_url(url: str, return_url: str | None) -> str:
    if not return_url:
        return url
    return f"{url}{'&' if '?' in url else '?'}return={quote(return_url, safe='')}"


def processing_of(payment: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``processing`` object (landing_url, octopus_uri, token) of a payment, confirm answer or setup.

    Raises:
        ValueError: there is none, with what to do instead.
    """
    processing = payment_of(payment).get("processing")
    if not isinstance(processing, Mapping) or not all(
        isinstance(processing.get(key), str) for key in ("landing_url", "octopus_uri", "token")
    ):
        if "payment_methods" in payment and "latest_payment" not in payment:
            raise ValueError(
                "This payment setup has no payment yet: confirm it first with "
                "confirm_payment_setup(client, setup['id']) and pass the answer."
            )
        raise ValueError(
            "No processing.landing_url / octopus_uri / token here: pass the answer of "
            "confirm_payment_setup() or get_payment() for an Octopus payment."
        )
    return processing


def payment_of(document: Mapping[str, Any]) -> Mapping[str, Any]:
    """The payment inside an answer: a setup's ``latest_payment`` (newest SDKs), else the document itself.

    >>> payment_of({"id": "ps_1", "latest_payment": {"id": "pay_1"}})["id"]
    'pay_1'
    """
    latest = document.get("latest_payment")
    return latest if isinstance(latest, Mapping) else document


def wait_for_payment(
    client: Client,
    payment_id: str,
    timeout: float = 30.0,
    interval: float = 0.5,
    progress: Callable[[ApiResult, float], Any] | None = None,
) -> ApiResult:
    """Poll ``GET /payments/{id}`` until the payment is settled; return it.

    Settled means one of :data:`TERMINAL_STATUSES`. Use it after redirecting the customer, where a
    notebook cannot see the Octopus App: it returns the final state instead of redrawing a cell.

    Progress: ``progress(payment, elapsed_seconds)`` is called after every poll, for widgets or
    logs. Without it: in a terminal, one line on stderr, redrawn with ``\r``; in a Jupyter kernel,
    one small widget, shown once when waiting begins and then updated through its own state. Never
    ``clear_output`` or a display update: nbval cannot compare those, while it ignores widget
    state, so a cell's stored output does not depend on how many polls it took. Nothing is shown
    when the payment is already settled at the first poll.

    >>> wait_for_payment(client, payment["id"], timeout=60)["status"]  # doctest: +SKIP
    'Captured'

    Raises:
        WaitTimeoutError: still not settled after ``timeout`` seconds (also a ``TimeoutError``);
            the message gives the last status.
    """
    if timeout < 0 or interval <= 0:
        raise ValueError("timeout must be >= 0 and interval > 0 (seconds).")
    report = progress if progress is not None else (_terminal_progress(payment_id) or _kernel_progress(payment_id))
    started = time.monotonic()
    polls = 0
    while True:
        payment = get_payment(client, payment_id)
        polls += 1
        elapsed = time.monotonic() - started
        if report is not None and (progress is not None or polls > 1 or payment["status"] not in TERMINAL_STATUSES):
            report(payment, elapsed)
        if payment["status"] in TERMINAL_STATUSES:
            return payment
        if elapsed >= timeout:
            raise WaitTimeoutError(
                f"Payment {payment_id} is still {payment['status']} after {timeout:g} s ({polls} polls). " + _hint(client, payment)
            )
        time.sleep(min(interval, max(timeout - elapsed, 0.0)) or interval)


def _hint(client: Client, payment: Mapping[str, Any]) -> str:
    if payment.get("status") != "Pending":
        return "Wait longer, or check get_payment_actions()."
    if client.is_checkout:
        return (
            "The customer has not acted yet: they scan the landing page's QR code and approve in the "
            f"Octopus App before expires_on ({payment.get('expires_on', 'unknown')}). "
            "Wait longer, or pass a larger timeout=."
        )
    return (
        "Nobody has acted as the customer: call simulate_customer(client, payment_id, 'approve'), "
        "or open app_url(client, payment) (the simulated Octopus App) and press Pay."
    )


def _terminal_progress(payment_id: str) -> Callable[[ApiResult, float], None] | None:
    """A stderr reporter when stderr is an interactive terminal; None otherwise (notebooks, CI logs)."""
    stream = sys.stderr
    isatty = getattr(stream, "isatty", None)
    if stream is None or isatty is None or not isatty():
        return None

    def report(payment: ApiResult, elapsed: float) -> None:
        # A terminal redraws the one line with \r; the final status ends it with a newline.
        done = payment["status"] in TERMINAL_STATUSES
        stream.write(f"\rwaiting for {payment_id}: {payment['status']} ({elapsed:.1f} s)" + ("\n" if done else ""))
        stream.flush()

    return report


def _kernel_progress(payment_id: str) -> Callable[[ApiResult, float], None] | None:
    """A progress widget when running in a Jupyter kernel; None elsewhere.

    The widget is displayed once, with text that does not depend on timing, and later polls only
    change its ``value`` (a widget state message, which nbval ignores), so executed notebooks
    reproduce however long the wait took.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None or getattr(shell, "kernel", None) is None:
        return None
    label = None

    def report(payment: ApiResult, elapsed: float) -> None:
        nonlocal label
        from IPython.display import display

        status = payment["status"]
        if label is None:
            label = _wait_widget()(payment_id, status)
            display(label)
        elif status in TERMINAL_STATUSES:
            label.value = html.escape(f"{payment_id}: {status} after {elapsed:.1f} s")
        else:
            label.value = html.escape(f"waiting for {payment_id}: {status} ({elapsed:.1f} s)")

    return report


@functools.cache
def _wait_widget() -> type:
    """The progress widget's class, made on first use so ``import octopus_nb`` never loads ipywidgets.

    Live, it is an ``HTML`` widget whose value each poll updates. Where widgets can't run (GitHub,
    nbviewer, the docs site, an untrusted notebook) it shows a static picture instead, as the forms
    and the explorer do: the wait as it began, and where its outcome is. It can't picture the final
    status, because it is displayed before that is known and nbval can't compare an updated display.
    """
    import ipywidgets

    class WaitProgress(ipywidgets.HTML):
        def __init__(self, payment_id: str, status: str):
            super().__init__(value=html.escape(f"waiting for {payment_id}: {status}"))
            self._picture = (
                f"<div class='octopus-wait'>Waited for <code>{html.escape(payment_id)}</code> "
                f"({html.escape(status)} when the wait began): <code>wait_for_payment</code> returns the "
                "payment once it settled.</div>"
            )
            self._text = f"<waiting for {payment_id}: {status} when the wait began>"

        def _repr_mimebundle_(self, **kwargs: Any) -> dict:
            bundle = super()._repr_mimebundle_(**kwargs)
            bundle["text/plain"], bundle["text/html"] = self._text, self._picture
            return bundle

        def __repr__(self) -> str:
            return self._text

    return WaitProgress
