"""A stand-in for the Octopus App on the customer's phone (contract §9.1, sandbox rules).

``GET /_sandbox/octopus/app?uri=<octopus_uri or iOS URL>`` is what the app shows when the QR code
is scanned or the merchant's app hands it the URI: the merchant's reference, the amount, and
**Pay**, **Cancel** and the sandbox-only **Pay, capture fails**. Like the real app it needs no API
key, only the URI (its token). After a button, it shows the result, or with a ``return=`` URL (the
iOS form) sends the phone back to the merchant's app with ``cko-payment-id`` appended.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tornado import httputil

from .exceptions import Conflict, MalformedRequest, SandboxError
from .pages import PageHandler
from .validation import with_payment_id

APP_PATH = "/_sandbox/octopus/app"
#: the app's buttons → the customer outcome each plays (``payment_api.CUSTOMER_OUTCOMES``)
BUTTONS = {"pay": "approve", "cancel": "decline", "pay_capture_fails": "fail_capture"}
#: what the app shows after each button: (title, text)
RESULTS = {
    "approve": ("Paid", "Octopus has paid the merchant."),
    "decline": ("Payment cancelled", "You cancelled this payment; nothing was charged."),
    "fail_capture": ("Payment failed", "You approved, but the capture failed: nothing was charged."),
}
#: return URLs the app refuses to open: they would run code or read files instead of opening an app
UNSAFE_SCHEMES = {"javascript", "data", "vbscript", "file", "blob"}


def parse_octopus_uri(uri: str) -> tuple[str, str | None]:
    """``octopus://payment?token=T[&return=R]`` → ``(T, R or None)``.

    Raises:
        MalformedRequest: ``uri_invalid`` (not an Octopus payment URI), ``token_missing``,
            ``return_invalid`` (a return that is not an absolute URL, or one that runs code).
    """
    try:
        parts = urlsplit(uri)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        raise MalformedRequest("uri_invalid") from None
    if parts.scheme != "octopus" or parts.netloc != "payment" or parts.path not in ("", "/"):
        raise MalformedRequest("uri_invalid")
    query = parse_qs(parts.query)
    token = (query.get("token") or [""])[0]
    if not token:
        raise MalformedRequest("token_missing")
    returns = query.get("return")
    return_url = returns[0] if returns else None
    if return_url is not None:
        try:
            scheme = urlsplit(return_url).scheme.lower()
        except ValueError:
            scheme = ""
        if not scheme or scheme in UNSAFE_SCHEMES:
            raise MalformedRequest("return_invalid")
    return token, return_url


class OctopusAppHandler(PageHandler):
    """The phone: GET shows the payment and its buttons; POST presses one."""

    device = "phone"

    def account_of_request(self) -> dict[str, str]:
        # Asked before tornado parses the body (the request id is made first), so a button's form
        # is read here; its uri wins over the query's, as get_argument has it.
        arguments: dict = {}
        httputil.parse_body_arguments(self.request.headers.get("Content-Type", ""), self.request.body, arguments, {})
        posted = arguments.get("uri")
        uri = posted[-1].decode("utf-8", "replace") if posted else self.raw_query_argument("uri")
        try:
            token, _ = parse_octopus_uri(uri)
        except SandboxError:
            token = ""  # the page says what is wrong with the link; no account is reached
        return {"token": token}

    def get(self) -> None:
        uri = self.get_argument("uri", "")
        try:
            token, _ = parse_octopus_uri(uri)
            view = self.state.payment_api.customer_view(token)
        except SandboxError as error:
            return self.send_problem(error)
        if view["status"] != "Pending":
            return self.send_closed(view["status"])
        self.send_page(
            200,
            "octopus_app.html",
            title="Octopus",
            **self.payment_summary(view),
            uri=uri,
            app_path=APP_PATH,
        )

    def post(self) -> None:
        uri = self.get_argument("uri", "")
        try:
            token, return_url = parse_octopus_uri(uri)
            outcome = BUTTONS.get(self.get_argument("action", ""))
            if outcome is None:
                raise MalformedRequest("action_invalid")
            view = self.state.payment_api.customer_acts(token, outcome)
        except Conflict:
            return self.send_closed(self.state.payment_api.customer_view(token)["status"])
        except SandboxError as error:
            return self.send_problem(error)
        if return_url is not None:
            return self.redirect(with_payment_id(return_url, view["payment_id"]), status=303)
        title, text = RESULTS[outcome]
        self.send_page(200, "octopus_app_result.html", title=title, text=text, payment_status=view["status"], **self.payment_summary(view))
