"""A loopback merchant: a real HTTP server that receives webhooks and serves the return pages.

For notebooks and tests: it verifies every delivery's ``Cko-Signature``, answers 401 to bad
signatures, and drops repeats (delivery is at least once). It also serves the merchant's return
pages (``success_url``, ``failure_url``, ``app_return_url``), which look the payment up with the
client they were given and record every return (:mod:`octopus_nb.returns`). Point the octopus_nb sandbox at it
with :func:`octopus_nb.control.configure_webhooks`; :func:`octopus_nb.control.webhook_chaos`
then tests it with repeated, shuffled and forged deliveries, and :meth:`WebhookReceiver.counts`
says what it made of them.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any

from ._shared.contract import SIGNATURE_HEADER
from ._shared.serving import ServerThread
from .errors import WaitTimeoutError
from .returns import PAGES, ReturnPages
from .webhooks import FRAME_COLUMNS, event_row, parse_event, verify_signature

#: a webhook body is a few hundred bytes; anything far larger is not Checkout.com
MAX_BODY_BYTES = 256 * 1024
#: where the merchant's return pages are served: ``/return/success``, ``/return/failure``, ``/return/app``
RETURN_PATH = "/return"

if TYPE_CHECKING:
    from .client import Client

_log = logging.getLogger("octopus_nb.receiver")


def _make_app(receiver: WebhookReceiver):
    """The tornado app: any POST, on any path, goes to ``receiver.accept``.

    tornado is imported here, not at the top, so ``import octopus_nb`` does not load it.
    """
    import tornado.web

    class DeliveryHandler(tornado.web.RequestHandler):
        def set_default_headers(self) -> None:
            self.clear_header("Server")

        def post(self, *_: str) -> None:
            self.set_status(receiver.accept(self.request.body, self.request.headers.get(SIGNATURE_HEADER)))
            self.finish()

    class ReturnHandler(tornado.web.RequestHandler):
        """``GET /return/{page}?cko-payment-id=…``: the customer back at the merchant's page."""

        def set_default_headers(self) -> None:
            self.clear_header("Server")

        def get(self, page: str) -> None:
            status, body = receiver.return_pages.visit(page, self.get_argument("cko-payment-id", ""))
            self.set_status(status)
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Cache-Control", "no-store")
            self.finish(body)

    def quiet_log(handler: tornado.web.RequestHandler) -> None:
        # tornado's default access log writes 4xx to stderr, which would land in notebook outputs.
        _log.debug("%d %s %s", handler.get_status(), handler.request.method, handler.request.uri)

    pages = "|".join(PAGES)
    return tornado.web.Application([(rf"{RETURN_PATH}/({pages})", ReturnHandler), (r"/.*", DeliveryHandler)], log_function=quiet_log)


class WebhookReceiver:
    """A merchant on loopback: webhooks on ``http://127.0.0.1:{port}/webhooks``, return pages beside them.

    Give it the merchant's ``client`` and its return pages (:attr:`success_url`, :attr:`failure_url`,
    :attr:`app_return_url`) verify each returning payment with ``get_payment``; :attr:`returns`
    lists every return.

    Bad or missing signature → 401, not recorded (counted in ``rejected``). A repeated event id →
    200 (so the sender stops retrying) but recorded once (counted in ``duplicates``). The server
    runs in a daemon thread; the socket is bound in ``start()``, so ``url`` is known at once.

    >>> with WebhookReceiver("my-signing-key") as receiver:  # doctest: +SKIP
    ...     configure_webhooks(client, receiver)
    ...     ...  # confirm, approve
    ...     receiver.wait_for(3)
    ...     receiver.to_frame()
    """

    def __init__(
        self,
        signature_key: str | bytes,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/webhooks",
        client: Client | None = None,
    ):
        if not signature_key:
            raise ValueError("A signature key is needed to verify deliveries (any non-empty string you also give the sender).")
        #: the key deliveries are verified with; give the sender the same (never in repr, url or events)
        self.signature_key = signature_key.decode("utf-8") if isinstance(signature_key, bytes) else signature_key
        self.host = host
        self.port = port
        self.path = "/" + path.lstrip("/")
        self._events: list[dict] = []
        self._seen: set[str] = set()
        self._duplicates = 0
        self._rejected = 0
        # One condition guards the records; wait_for() sleeps on it until a delivery notifies.
        self._changed = threading.Condition()
        self._base: str | None = None  #: http://host:port while running
        self._server: ServerThread | None = None
        #: the return pages, verifying with ``client`` (the merchant's own API client)
        self.return_pages = ReturnPages(client)

    # --- what arrived -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """Where to deliver: ``http://host:port/webhooks`` (any path on this server is accepted)."""
        return self._running_base() + self.path

    @property
    def success_url(self) -> str:
        """The merchant's success page, for ``settings.success_url``."""
        return self._page_url("success")

    @property
    def failure_url(self) -> str:
        """The merchant's failure page, for ``settings.failure_url``."""
        return self._page_url("failure")

    @property
    def app_return_url(self) -> str:
        """Where the merchant's (iOS) app gets control back: ``redirect_targets(..., ios_return_url=)``."""
        return self._page_url("app")

    @property
    def returns(self) -> list[dict]:
        """Every customer who came back, oldest first: ``page``, ``payment_id``, ``status`` found, ``at``."""
        return self.return_pages.returns

    def _page_url(self, page: str) -> str:
        return f"{self._running_base()}{RETURN_PATH}/{page}"

    def _running_base(self) -> str:
        if self._base is None:
            raise RuntimeError("WebhookReceiver is not running: call start() or use `with WebhookReceiver(key) as r:`")
        return self._base

    @property
    def events(self) -> list[dict]:
        """Accepted events (parsed envelopes), in arrival order; a copy, safe to keep."""
        with self._changed:
            return list(self._events)

    @property
    def duplicates(self) -> int:
        """Deliveries of an event id already recorded (answered 200, not recorded again)."""
        with self._changed:
            return self._duplicates

    @property
    def rejected(self) -> int:
        """Deliveries refused: missing or wrong signature (401), or a signed body that is not an event (400)."""
        with self._changed:
            return self._rejected

    def counts(self) -> dict[str, int]:
        """What arrived, by outcome: ``deliveries`` (every POST), ``accepted`` (events kept, once
        each), ``duplicates`` (repeats dropped) and ``rejected`` (bad signature, or not an event).

        Under webhook chaos, ``accepted`` is the number of real events and ``rejected`` the
        number of forgeries; ``deliveries`` is the sum of the other three.

        >>> receiver.counts()  # doctest: +SKIP
        {'deliveries': 24, 'accepted': 13, 'duplicates': 8, 'rejected': 3}
        """
        with self._changed:
            accepted, duplicates, rejected = len(self._events), self._duplicates, self._rejected
        return {"deliveries": accepted + duplicates + rejected, "accepted": accepted, "duplicates": duplicates, "rejected": rejected}

    def to_frame(self):
        """A pandas DataFrame of the accepted events, one row each, in arrival order (``FRAME_COLUMNS``)."""
        import pandas as pd

        rows = [event_row(event, received=n) for n, event in enumerate(self.events, start=1)]
        frame = pd.DataFrame.from_records(rows, columns=list(FRAME_COLUMNS))
        frame["received"] = frame["received"].astype("int64")
        frame["amount"] = frame["amount"].astype("Int64")
        return frame

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        """Block until at least ``count`` events were accepted; return them all.

        Delivery runs off the sender's request path, so events arrive a moment after the API call
        that caused them. This sleeps on a condition, woken by each delivery: no polling.

        Raises:
            WaitTimeoutError: fewer than ``count`` after ``timeout`` seconds (the message says how many).
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._events) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    types = ", ".join(str(event.get("type")) for event in self._events) or "none"
                    raise WaitTimeoutError(
                        f"{len(self._events)} of {count} webhook events after {timeout:g} s (got: {types}; "
                        f"{self._rejected} rejected, {self._duplicates} duplicates). Is the sender pointed "
                        "at this receiver's url with the same signature key (configure_webhooks)?"
                    )
                self._changed.wait(remaining)
            return list(self._events)

    def wait_for_deliveries(self, count: int, timeout: float = 5.0) -> dict[str, int]:
        """Block until at least ``count`` deliveries arrived, whatever became of them; return :meth:`counts`.

        For watching a receiver under webhook chaos, where a duplicate or a forgery adds no event.

        Raises:
            WaitTimeoutError: fewer than ``count`` after ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self._events) + self._duplicates + self._rejected < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise WaitTimeoutError(f"fewer than {count} webhook deliveries after {timeout:g} s")
                self._changed.wait(remaining)
        return self.counts()

    def clear(self) -> None:
        """Forget what arrived (events, seen ids, counters, returns)."""
        self.return_pages.clear()
        with self._changed:
            self._events.clear()
            self._seen.clear()
            self._duplicates = self._rejected = 0

    def accept(self, raw_body: bytes, signature: str | None) -> int:
        """Verify, de-duplicate and record one delivery; the HTTP status to answer (what the server calls)."""
        # Every outcome notifies: wait_for() wakes for events, wait_for_deliveries() for any POST.
        if not verify_signature(raw_body, signature, self.signature_key):
            with self._changed:
                self._rejected += 1
                self._changed.notify_all()
            return 401
        event = parse_event(raw_body)
        if event is None:
            with self._changed:
                self._rejected += 1
                self._changed.notify_all()
            return 400
        with self._changed:
            if event["id"] in self._seen:
                self._duplicates += 1
            else:
                self._seen.add(event["id"])
                self._events.append(event)
            self._changed.notify_all()
        return 200

    # --- the server thread ------------------------------------------------------------------

    def is_running(self) -> bool:
        return self._server is not None

    def start(self) -> WebhookReceiver:
        if self.is_running():
            raise RuntimeError("WebhookReceiver is already running at " + self.url)
        server = ServerThread(_make_app(self), self.host, self.port, name="octopus-webhooks", max_body_size=MAX_BODY_BYTES)
        self._base = server.start()
        # Started again after stop(), it comes back at the same URL (the sender still has it).
        self.port = int(self._base.rsplit(":", 1)[1])
        self._server = server
        return self

    def stop(self) -> None:
        if self._server is None:  # not is_running(): the same test, spelled so type checkers see it
            raise RuntimeError("WebhookReceiver is not running")
        self._server.stop()
        self._server = None
        self._base = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        # No url (its port changes every run, and notebooks are compared) and never the key.
        state = "running" if self.is_running() else "stopped"
        with self._changed:
            counts = f"events={len(self._events)} duplicates={self._duplicates} rejected={self._rejected}"
        return f"<WebhookReceiver {state} {counts}>"
