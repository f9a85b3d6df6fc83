"""The sandbox's own controls (contract §5-§6, sandbox rules): its clock, webhooks and faults, under the state's one lock.

What ``controls.py`` (``/_sandbox/clock``, ``/_sandbox/webhooks``, ``/_sandbox/faults``),
``handlers.py`` (a fault drawn for each API request) and the server's webhook worker (claiming due
deliveries, recording each attempt) call. None of it is Checkout.com's API: it is how a test or a
notebook moves time on, points webhooks somewhere and makes the network misbehave.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .clock import CLOCK_LIMIT, isoformat
from .exceptions import InvalidRequest
from .faults import FaultInjector, FaultPlan
from .idempotency import IdempotencyStore
from .outbox import WebhookDelivery, WebhookOutbox
from .validation import is_number
from .workflows import WorkflowRegistry

if TYPE_CHECKING:
    from .models import SandboxState


class ControlApi:
    """One account's clock, webhook settings and deliveries, and faults; ``SandboxState.control``."""

    def __init__(
        self,
        state: SandboxState,
        idempotency: IdempotencyStore,
        outbox: WebhookOutbox,
        registry: WorkflowRegistry,
        faults: FaultInjector,
    ):
        #: the state whose lock, clock and ledger these operations use, and the parts they move
        self._state, self._idempotency, self._outbox, self._registry, self._faults = state, idempotency, outbox, registry, faults

    # --- the clock -------------------------------------------------------------------------

    def advance_clock(self, seconds: Any) -> dict:
        """Sandbox rule: move sandbox time on; pending payments past ``expires_on`` expire."""
        if not is_number(seconds) or not 0 <= seconds <= 366 * 24 * 3600:
            raise InvalidRequest("advance_seconds_invalid")
        state = self._state
        with state.transaction():
            if state.clock.now() + timedelta(seconds=seconds) > CLOCK_LIMIT:
                # datetime ends in year 9999: past it every timestamp, so every answer, would fail
                raise InvalidRequest("advance_seconds_invalid")
            state.clock.advance(seconds)
            self._idempotency.sweep()
            state.ledger.expire_due()
            self._outbox.clock_moved()  # retries may have come due
            return {"now": isoformat(state.clock.now())}

    # --- webhooks: an outbox the server's worker drains (contract §5) ----------------------

    def configure_webhooks(self, body: Any) -> dict:
        """``PUT /_sandbox/webhooks``: the shortcut workflow's url, key and chaos (``configure_shortcut``)."""
        with self._state.transaction():
            if self._registry.configure_shortcut(body):
                self._outbox.marked = True
            return self._registry.shortcut_settings()

    def webhooks_view(self) -> dict:
        with self._state.transaction():
            return self._registry.shortcut_settings()

    def claim_due_webhooks(self) -> list[WebhookDelivery]:
        """Hand the worker every delivery due on the sandbox clock (see ``WebhookOutbox.claim_due``).

        Also expires pending payments that are due first, so an unseeded sandbox (real clock)
        sends ``payment_expired`` without waiting for a request.
        """
        with self._state.transaction():
            self._state.ledger.expire_due()
            return self._outbox.claim_due()

    def record_webhook_attempt(self, delivery: WebhookDelivery, status_code: int | None) -> None:
        with self._state.transaction():
            self._outbox.record(delivery, status_code)

    def webhooks_settled(self) -> bool:
        with self._state.transaction():
            return self._outbox.settled()

    def webhook_deliveries(self) -> list[dict]:
        with self._state.transaction():
            return self._outbox.deliveries()

    def webhook_delivery_count(self) -> int:
        with self._state.transaction():
            return self._outbox.delivery_count()

    # --- fault injection on API routes (sandbox rules) -------------------------------------

    def set_faults(self, body: Any) -> dict:
        """``PUT /_sandbox/faults`` (see ``FaultInjector.configure``)."""
        with self._state.transaction():
            return self._faults.configure(body)

    def get_faults(self) -> dict:
        with self._state.transaction():
            return dict(self._faults.settings)

    def draw_faults(self) -> FaultPlan:
        """This API request's faults: one draw from the fault stream, saved with the request's bookkeeping."""
        with self._state.bookkeeping():
            return self._faults.draw()
