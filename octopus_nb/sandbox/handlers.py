"""HTTP only: each handler parses the request, makes one model call and sends the result.

Status codes live here (``STATUS_FOR``), because they are HTTP; the model raises
:class:`~octopus_nb.sandbox.exceptions.SandboxError` subclasses and never sees a request.
Handlers find the sandbox's current state through the application on each request, never a
reference kept from startup, because ``reset()`` replaces it. The routes are in ``urls.py``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import tornado.web
from tornado.httputil import format_timestamp

from .._shared.contract import API_VERSION
from .exceptions import ActionNotAllowed, Conflict, InFlight, InvalidRequest, MalformedRequest, NotFound, SandboxError
from .models import SECRET_KEY_PATTERN, SandboxState

if TYPE_CHECKING:
    from .server import SandboxApplication

JSON_CONTENT_TYPE = "application/json; charset=utf-8"

#: model error → HTTP status (the contract's §2)
STATUS_FOR = {
    MalformedRequest: 400,
    ActionNotAllowed: 403,
    NotFound: 404,
    Conflict: 409,
    InvalidRequest: 422,
    InFlight: 409,
}
#: confirm's status in each of the two published response shapes (``SandboxState.confirm_response``)
CONFIRM_STATUS = {"payment": 202, "setup": 200}
#: statuses whose body is empty on the wire (401 is sent from ``prepare``)
EMPTY_BODY = {401, 404, 405}
#: Bodies above this are refused with 400 ``request_body_too_large`` (the API's bodies are a few KB).
MAX_BODY_BYTES = 1024 * 1024


def encode(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _refuse_constant(name: str) -> Any:
    # NaN and Infinity are not JSON (Python's parser accepts them): refused as malformed, since
    # a value the sandbox echoes back could not be written as JSON again.
    raise ValueError(f"{name} is not JSON")


class ApiHandler(tornado.web.RequestHandler):
    """Base for every route: contract headers, auth, JSON in and out, idempotency, error bodies."""

    application: SandboxApplication
    #: the control routes and the API need the key; the landing page (the customer's browser) does not
    requires_key = True
    #: API routes count in ``/_sandbox/stats`` and may see injected faults; control routes do not
    is_api_route = True
    #: set per request when drop_rate picks it: the work is done but no answer is sent
    _drop_response = False
    #: seconds the latency fault holds this request (spent once, by ``_hold``)
    _latency = 0.0

    #: the state this request works on, read from the application once (see ``state``)
    _state: SandboxState | None = None

    @property
    def state(self) -> SandboxState:
        """The state of this request's account, fixed for the whole request.

        Read once, so a reset arriving mid-request can't split one request across two states.
        """
        if self._state is None:
            app = self.application
            self._state = app.state_for(**self.account_of_request()) if app.accounts.enabled else app.state
        return self._state

    def account_of_request(self) -> dict[str, str]:
        """What names this request's account (``SandboxApplication.state_for``): its key."""
        scheme, _, key = self.request.headers.get("Authorization", "").partition(" ")
        return {"key": key if scheme == "Bearer" else ""}

    def set_default_headers(self) -> None:
        # Called again when an error clears the response, so the request id is made only once.
        if not hasattr(self, "request_id"):
            self.request_id = self.state.new_request_id()
        self.set_header("Cko-Request-Id", self.request_id)
        self.set_header("Cko-Version", API_VERSION)
        self.set_header("Date", format_timestamp(self.state.clock.now()))
        self.clear_header("Server")
        self.clear_header("Content-Type")

    def finish(self, chunk: Any = None) -> Any:
        # With a state file, the request's bookkeeping (its request id, the count, a fault draw)
        # is saved before any answer leaves, if its operation has not saved it already.
        self.state.commit()
        return super().finish(chunk)

    async def prepare(self) -> None:
        if self.is_api_route:
            self.state.count_request()
            if await self._inject_faults():
                return
        if self.requires_key and not self._authenticated():
            await self._hold()
            self.set_status(401)
            self.finish()
        elif len(self.request.body) > MAX_BODY_BYTES:
            # Sandbox rule: an oversized body is refused with a contract-shaped 400, not a dropped
            # connection; the server has read it (up to DRAIN_BODY_BYTES) so the answer arrives.
            await self._hold()
            self.send(*self.error_outcome(MalformedRequest("request_body_too_large")))

    async def _inject_faults(self) -> bool:
        """Apply ``PUT /_sandbox/faults`` to this API request; True if it was answered already.

        ``error_rate`` answers here, before anything is done (no idempotency key is claimed);
        the latency is otherwise spent by ``_hold()`` once the key is claimed, and ``drop_rate``
        by ``send()``. Never on ``/_sandbox/`` paths, so a test can always turn faults off again.
        """
        if self.request.path.startswith("/_sandbox/"):
            return False
        plan = self.state.control.draw_faults()
        if plan.error_status is not None:
            await asyncio.sleep(plan.latency)  # not time.sleep: other requests keep being served
            error_type = "too_many_requests" if plan.error_status == 429 else "server_error"
            self.send(plan.error_status, encode({"request_id": self.request_id, "error_type": error_type}))
            return True
        self._latency, self._drop_response = plan.latency, plan.drop
        return False

    async def _hold(self) -> None:
        """Spend the latency fault's delay, once per request.

        ``perform`` calls it after claiming the idempotency key, so the request is in flight for
        the whole delay: a duplicate sent meanwhile gets 409 ``request_in_progress`` (contract §6).
        """
        latency, self._latency = self._latency, 0.0
        if latency:
            await asyncio.sleep(latency)  # not time.sleep: other requests keep being served

    def _authenticated(self) -> bool:
        scheme, _, key = self.request.headers.get("Authorization", "").partition(" ")
        return scheme == "Bearer" and bool(SECRET_KEY_PATTERN.match(key)) and self.state.is_valid_key(key)

    # --- request and response --------------------------------------------------------------

    def json_body(self, optional: bool = False) -> Any:
        """The body as JSON; ``MalformedRequest`` (400) if it is not valid UTF-8 JSON.

        ``optional``: an empty body is None (no body sent); a JSON ``null``, or only white space, is
        still not an object (400).
        """
        raw = self.request.body
        if not raw:
            if optional:
                return None
            raise MalformedRequest()
        try:
            document = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise MalformedRequest() from None
        if document is None and optional:
            raise MalformedRequest()
        return document

    def send(self, status: int, body: bytes) -> None:
        if self._drop_response:
            # Sandbox rule (drop_rate): the work is done and stored under any idempotency key,
            # but the client never hears of it. Closing the connection first makes finish() a
            # quiet no-op on the wire, with no error logged.
            self.request.connection.close()  # type: ignore[union-attr]  # an HTTP1Connection, which has close()
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

    async def perform(self, operation: Callable[[], Any], status: int = 200) -> None:
        """Run one model operation and send its result, honouring ``Cko-Idempotency-Key``.

        Sandbox rule (contract §1): only a 2xx is stored under the key; any other answer releases
        it, so nothing a refused request did (nothing) is replayed and a corrected request runs.
        The operation and its idempotency record are one transaction (``state.transaction()``):
        with a state file, the answer is committed before it is sent.
        """
        key = self.request.headers.get("Cko-Idempotency-Key")
        if key is None or self.request.method not in ("POST", "PUT"):
            await self._hold()
            with self.state.transaction():
                result = self.outcome(operation, status)
            return self.send(*result)
        fingerprint = self.state.fingerprint(self.request.method, self.request.path, self.request.body)
        try:
            if not 1 <= len(key) <= 255 or not key.isprintable():
                raise InvalidRequest("idempotency_key_invalid")
            stored = self.state.begin_idempotent(key, fingerprint)
        except SandboxError as error:
            await self._hold()
            return self.send(*self.error_outcome(error))
        if stored is not None:
            await self._hold()
            return self.send(*stored)
        try:
            await self._hold()  # the key is claimed: this request is in flight while it waits
            with self.state.transaction():
                result = self.outcome(operation, status)
                self.state.finish_idempotent(key, *result)
        except BaseException:
            self.state.finish_idempotent(key, 500, b"")  # release the key: a retry may run
            raise
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
    async def post(self) -> None:
        await self.perform(lambda: self.state.payment_api.create_payment_setup(self.json_body()))


class PaymentSetupHandler(ApiHandler):
    async def get(self, setup_id: str) -> None:
        await self.perform(lambda: self.state.payment_api.get_payment_setup(setup_id))

    async def put(self, setup_id: str) -> None:
        await self.perform(lambda: self.state.payment_api.update_payment_setup(setup_id, self.json_body()))


class ConfirmPaymentSetupHandler(ApiHandler):
    """Confirm answers in the sandbox's ``confirm_response`` shape (contract §4): 202 with the
    payment (the seed page), or 200 with the PaymentSetup (the SDK maintainers' reading)."""

    async def post(self, setup_id: str, payment_method_name: str) -> None:
        status = CONFIRM_STATUS[self.state.confirm_response]
        await self.perform(lambda: self.state.payment_api.confirm_payment_setup(setup_id, payment_method_name), status)


class PaymentHandler(ApiHandler):
    async def get(self, payment_id: str) -> None:
        await self.perform(lambda: self.state.payment_api.get_payment(payment_id))


class PaymentActionsHandler(ApiHandler):
    async def get(self, payment_id: str) -> None:
        await self.perform(lambda: self.state.payment_api.get_payment_actions(payment_id))


class RefundsHandler(ApiHandler):
    async def post(self, payment_id: str) -> None:
        await self.perform(lambda: self.state.payment_api.refund_payment(payment_id, self.json_body(optional=True)), 202)


class NotFoundHandler(ApiHandler):
    """Unknown paths: 401 without the key (as everywhere), else 404 with an empty body."""

    async def prepare(self) -> None:
        await super().prepare()
        if not self._finished:
            await self._hold()
            self.send(404, b"")
