"""HTTP for the sandbox's own control surface (``/_sandbox/``, contract §6, sandbox rules).

The customer's actions, the clock, stats, reset, webhook settings, deliveries and flush, faults:
each handler parses, makes one model call and sends, like the API's in ``handlers.py``.
"""

from __future__ import annotations

from .exceptions import InvalidRequest, MalformedRequest, SandboxError
from .handlers import ApiHandler, encode


class ControlHandler(ApiHandler):
    is_api_route = False


class CustomerActionHandler(ControlHandler):
    async def post(self, payment_id: str, action: str) -> None:
        operation = {
            "approve": self.state.payment_api.approve_payment,
            "decline": self.state.payment_api.decline_payment,
            "expire": self.state.payment_api.expire_payment,
            "fail_capture": self.state.payment_api.fail_capture,
        }[action]
        await self.perform(lambda: operation(payment_id))


class ClockHandler(ControlHandler):
    async def get(self) -> None:
        await self.perform(lambda: {"now": self.state.now()})

    async def post(self) -> None:
        def advance() -> dict:
            body = self.json_body()
            if not isinstance(body, dict):
                raise MalformedRequest()
            return self.state.control.advance_clock(body.get("advance_seconds"))

        await self.perform(advance)


class StatsHandler(ControlHandler):
    async def get(self) -> None:
        await self.perform(self.state.stats)


class ResetHandler(ControlHandler):
    async def post(self) -> None:
        def reset() -> dict:
            return {"now": self.application.reset(self.state).now()}

        await self.perform(reset)


class WebhooksHandler(ControlHandler):
    async def get(self) -> None:
        await self.perform(self.state.control.webhooks_view)

    async def put(self) -> None:
        await self.perform(lambda: self.state.control.configure_webhooks(self.json_body()))


class WebhookDeliveriesHandler(ControlHandler):
    async def get(self) -> None:
        await self.perform(self.state.control.webhook_deliveries)


class WebhookFlushHandler(ControlHandler):
    """``POST /_sandbox/webhooks/flush``: answer once every due delivery has been attempted.

    Sandbox rule: deliveries run off the request path, so a test or a notebook that wants to see
    them calls this (optional body ``{"timeout_seconds": 0 < t <= 30}``, default 5) and gets
    ``{"settled": true, "webhook_deliveries": n}``; ``settled`` is false if the time ran out.
    Retries not yet due on the sandbox clock are not waited for: advance the clock first.
    """

    async def post(self) -> None:
        try:
            body = self.json_body(optional=True)
            timeout = 5 if body is None else (body.get("timeout_seconds", 5) if isinstance(body, dict) else None)
            if isinstance(timeout, bool) or not (isinstance(timeout, (int, float)) and 0 < timeout <= 30):
                raise InvalidRequest("timeout_seconds_invalid")
        except SandboxError as error:
            return self.send(*self.error_outcome(error))
        worker = self.application.webhook_worker
        settled = await worker.drain(timeout, self.state) if worker is not None else self.state.control.webhooks_settled()
        self.send(200, encode({"settled": settled, "webhook_deliveries": self.state.control.webhook_delivery_count()}))


class FaultsHandler(ControlHandler):
    async def get(self) -> None:
        await self.perform(self.state.control.get_faults)

    async def put(self) -> None:
        await self.perform(lambda: self.state.control.set_faults(self.json_body()))
