"""HTTP only: each handler parses the request, makes one model call and sends the result.

Status codes live here (``STATUS_FOR``), because they are HTTP; the model raises
:class:`~octopus_nb.sandbox.models.SandboxError` subclasses and never sees a request.
"""

from __future__ import annotations

import json
from typing import Any, Callable

import tornado.web
from tornado.httputil import format_timestamp

from . import models
from .models import SandboxError

JSON_CONTENT_TYPE = "application/json; charset=utf-8"

#: model error → HTTP status (the contract's §2)
STATUS_FOR = {
    models.MalformedRequest: 400,
    models.NotFound: 404,
    models.Conflict: 409,
    models.InvalidRequest: 422,
    models.InFlight: 429,
}
#: statuses whose body is empty on the wire (401 is sent from ``prepare``)
EMPTY_BODY = {401, 404, 405}


def encode(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class SandboxApplication(tornado.web.Application):
    """The tornado app, holding the one :class:`SandboxState` every handler works on."""

    def __init__(self, state: models.SandboxState, routes: list, **settings):
        #: the sandbox's state; handlers reach it as ``self.application.state``
        self.state = state
        #: unexpected exceptions raised in handlers (bugs); tests fail when this is not empty
        self.errors: list[BaseException] = []
        super().__init__(routes, **settings)


class ApiHandler(tornado.web.RequestHandler):
    """Base for every route: contract headers, auth, JSON in and out, idempotency, error bodies."""

    application: SandboxApplication
    #: the control routes and the API need the key; the landing page (the customer's browser) does not
    requires_key = True
    #: API routes count in ``/_sandbox/stats`` and may see injected faults; control routes do not
    is_api_route = True

    @property
    def state(self) -> models.SandboxState:
        return self.application.state

    def set_default_headers(self) -> None:
        # Called again when an error clears the response, so the request id is made only once.
        if not hasattr(self, "request_id"):
            self.request_id = self.state.new_request_id()
        self.set_header("Cko-Request-Id", self.request_id)
        self.set_header("Cko-Version", models.API_VERSION)
        self.set_header("Date", format_timestamp(self.state.clock.now()))
        self.clear_header("Server")
        self.clear_header("Content-Type")

    def prepare(self) -> None:
        if self.is_api_route:
            self.state.count_request()
        if self.requires_key and not self._authenticated():
            self.set_status(401)
            self.finish()

    def _authenticated(self) -> bool:
        scheme, _, key = self.request.headers.get("Authorization", "").partition(" ")
        return scheme == "Bearer" and bool(models.SECRET_KEY_PATTERN.match(key)) and self.state.is_valid_key(key)

    # --- request and response --------------------------------------------------------------

    def json_body(self, optional: bool = False) -> Any:
        """The body as JSON; ``MalformedRequest`` (400) if it is not valid UTF-8 JSON."""
        raw = self.request.body
        if not raw.strip():
            if optional:
                return None
            raise models.MalformedRequest()
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise models.MalformedRequest() from None

    def send(self, status: int, body: bytes) -> None:
        self.set_status(status)
        if body:
            self.set_header("Content-Type", JSON_CONTENT_TYPE)
            self.write(body)
        self.finish()

    def error_outcome(self, error: SandboxError) -> tuple[int, bytes]:
        status = STATUS_FOR[type(error)]
        if status in EMPTY_BODY:
            return status, b""
        document: dict = {"request_id": self.request_id, "error_type": error.error_type}
        if error.error_codes:
            document["error_codes"] = error.error_codes
        return status, encode(document)

    def outcome(self, operation: Callable[[], Any], status: int) -> tuple[int, bytes]:
        try:
            return status, encode(operation())
        except SandboxError as error:
            return self.error_outcome(error)

    def perform(self, operation: Callable[[], Any], status: int = 200) -> None:
        """Run one model operation and send its result, honouring ``Cko-Idempotency-Key``."""
        key = self.request.headers.get("Cko-Idempotency-Key")
        if key is None or self.request.method not in ("POST", "PUT"):
            return self.send(*self.outcome(operation, status))
        fingerprint = self.state.fingerprint(self.request.method, self.request.path, self.request.body)
        try:
            if not 1 <= len(key) <= 255 or not key.isprintable():
                raise models.InvalidRequest("idempotency_key_invalid")
            stored = self.state.begin_idempotent(key, fingerprint)
        except SandboxError as error:
            return self.send(*self.error_outcome(error))
        if stored is not None:
            return self.send(*stored)
        try:
            result = self.outcome(operation, status)
        except BaseException:
            self.state.finish_idempotent(key, 500, b"")  # release the key: a retry may run
            raise
        self.state.finish_idempotent(key, *result)
        self.send(*result)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Framework errors (405, oversized or unparsable requests) get contract-shaped bodies."""
        if status_code == 400:
            self.write(encode({"request_id": self.request_id, "error_type": "request_malformed"}))
            self.set_header("Content-Type", JSON_CONTENT_TYPE)
        elif status_code >= 500:
            self.write(encode({"request_id": self.request_id, "error_type": "internal_error"}))
            self.set_header("Content-Type", JSON_CONTENT_TYPE)
        self.finish()

    def log_exception(self, typ, value, tb) -> None:  # noqa: ANN001 - tornado's signature
        if not isinstance(value, tornado.web.HTTPError):
            self.application.errors.append(value)
        super().log_exception(typ, value, tb)


# --- the API (contract §3-§4) -----------------------------------------------------------------


class PaymentSetupsHandler(ApiHandler):
    def post(self) -> None:
        self.perform(lambda: self.state.create_payment_setup(self.json_body()))


class PaymentSetupHandler(ApiHandler):
    def get(self, setup_id: str) -> None:
        self.perform(lambda: self.state.get_payment_setup(setup_id))

    def put(self, setup_id: str) -> None:
        self.perform(lambda: self.state.update_payment_setup(setup_id, self.json_body()))


class ConfirmPaymentSetupHandler(ApiHandler):
    def post(self, setup_id: str, payment_method_name: str) -> None:
        self.perform(lambda: self.state.confirm_payment_setup(setup_id, payment_method_name), 202)


class PaymentHandler(ApiHandler):
    def get(self, payment_id: str) -> None:
        self.perform(lambda: self.state.get_payment(payment_id))


class PaymentActionsHandler(ApiHandler):
    def get(self, payment_id: str) -> None:
        self.perform(lambda: self.state.get_payment_actions(payment_id))


class RefundsHandler(ApiHandler):
    def post(self, payment_id: str) -> None:
        self.perform(lambda: self.state.refund_payment(payment_id, self.json_body(optional=True)), 202)


class NotFoundHandler(ApiHandler):
    """Unknown paths: 401 without the key (as everywhere), else 404 with an empty body."""

    def prepare(self) -> None:
        super().prepare()
        if not self._finished:
            self.send(404, b"")


# --- the control surface (contract §6, sandbox rules) ----------------------------------------


class ControlHandler(ApiHandler):
    is_api_route = False


class CustomerActionHandler(ControlHandler):
    def post(self, payment_id: str, action: str) -> None:
        operation = {
            "approve": self.state.approve_payment,
            "decline": self.state.decline_payment,
            "expire": self.state.expire_payment,
        }[action]
        self.perform(lambda: operation(payment_id))


class ClockHandler(ControlHandler):
    def get(self) -> None:
        self.perform(lambda: {"now": self.state.now()})

    def post(self) -> None:
        def advance() -> dict:
            body = self.json_body()
            if not isinstance(body, dict):
                raise models.MalformedRequest()
            return self.state.advance_clock(body.get("advance_seconds"))

        self.perform(advance)


class StatsHandler(ControlHandler):
    def get(self) -> None:
        self.perform(self.state.stats)


class ResetHandler(ControlHandler):
    def post(self) -> None:
        def reset() -> dict:
            self.state.reset()
            return {"now": self.state.now()}

        self.perform(reset)


_ID = r"([^/]+)"
ROUTES = [
    (r"/payments/setups", PaymentSetupsHandler),
    (rf"/payments/setups/{_ID}", PaymentSetupHandler),
    (rf"/payments/setups/{_ID}/confirm/{_ID}", ConfirmPaymentSetupHandler),
    (rf"/payments/{_ID}", PaymentHandler),
    (rf"/payments/{_ID}/actions", PaymentActionsHandler),
    (rf"/payments/{_ID}/refunds", RefundsHandler),
    (rf"/_sandbox/payments/{_ID}/(approve|decline|expire)", CustomerActionHandler),
    (r"/_sandbox/clock", ClockHandler),
    (r"/_sandbox/stats", StatsHandler),
    (r"/_sandbox/reset", ResetHandler),
]
