"""The desktop page behind ``processing.landing_url`` (contract §9.1, sandbox rules).

It shows the amount, the reference, the time left and the QR code of ``octopus_uri`` that the
Octopus App scans, and follows the payment: ``static/follow.js`` polls the token's status route,
and a no-script refresh reloads the page, which answers a 303 to the merchant's page once the
payment has settled. The customer acts on the phone (``octopus_app.py``), never here.
"""

from __future__ import annotations

import base64
from importlib.resources import files
from urllib.parse import quote, urlencode

from .._shared.qrimage import qr_png
from .exceptions import SandboxError
from .handlers import encode
from .octopus_app import APP_PATH
from .pages import PageHandler

LANDING_PATH = "/_sandbox/octopus/oos/payment/"
STATUS_PATH = LANDING_PATH + "status"
SCRIPT_PATH = "/_sandbox/octopus/static/follow.js"
#: how often the page looks at the payment: the browser follows within about a second
POLL_SECONDS = 1
#: the same without JavaScript: a meta refresh, so the page follows within about two
REFRESH_SECONDS = 2


def time_left(seconds: int) -> str:
    """``mm:ss`` until ``expires_on`` (hours folded into minutes: the window is 15 minutes)."""
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


class LandingPageHandler(PageHandler):
    """The desktop page: the QR code while Pending; a 303 to the merchant once settled."""

    def get(self) -> None:
        token = self.get_argument("token", "")
        try:
            view = self.state.payment_api.customer_view(token)
        except SandboxError as error:
            return self.send_problem(error)
        if view["status"] != "Pending":
            if view["outcome_url"] is None:
                return self.send_closed(view["status"])
            return self.redirect(view["outcome_url"], status=303)
        self.send_page(
            200,
            "landing.html",
            title="Pay with Octopus",
            **self.payment_summary(view),
            payment_status=view["status"],
            expires_on=view["expires_on"],
            expires_in=time_left(view["expires_in_seconds"]),
            octopus_uri=view["octopus_uri"],
            qr_base64=base64.b64encode(qr_png(view["octopus_uri"])).decode("ascii"),
            status_url=STATUS_PATH + "?" + urlencode({"token": token}),
            script_url=SCRIPT_PATH,
            app_url=APP_PATH + "?uri=" + quote(view["octopus_uri"], safe=""),
            poll_ms=POLL_SECONDS * 1000,
            refresh_seconds=REFRESH_SECONDS,
        )


class LandingStatusHandler(PageHandler):
    """``GET …/payment/status?token=T``: what the page's script polls (JSON; 404 for an unknown token)."""

    def get(self) -> None:
        try:
            view = self.state.payment_api.customer_view(self.get_argument("token", ""))
        except SandboxError as error:
            return self.send(*self.error_outcome(error))
        self.set_header("Cache-Control", "no-store")
        self.send(
            200,
            encode(
                {
                    "status": view["status"],
                    "expires_on": view["expires_on"],
                    "expires_in_seconds": view["expires_in_seconds"],
                    "redirect_url": view["outcome_url"],
                }
            ),
        )


class FollowScriptHandler(PageHandler):
    """The page's one script, served from this origin so the policy can stay ``script-src 'self'``."""

    SCRIPT = files(__package__).joinpath("static/follow.js").read_bytes()

    def get(self) -> None:
        self.set_header("Content-Type", "text/javascript; charset=utf-8")
        self.set_header("Cache-Control", "no-cache")
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(self.SCRIPT)
