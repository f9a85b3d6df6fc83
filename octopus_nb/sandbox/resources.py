"""The sandbox's resources as plain data, and the Octopus lifecycle as a table.

No behaviour beyond derived values: the state's operations (``payment_api``, through the ledger)
create and change these under ``models.SandboxState``'s lock, and ``views.py`` turns them into wire JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

#: The Octopus lifecycle as data (auto-captured: there is no separate authorization step).
TRANSITIONS = {
    "Pending": {"Captured", "Declined", "Expired"},
    "Captured": {"Partially Refunded", "Refunded"},
    "Partially Refunded": {"Partially Refunded", "Refunded"},
}
REFUNDABLE = {"Captured", "Partially Refunded"}
#: Statuses in which the customer's money was taken (``approved: true`` on the wire).
APPROVED = REFUNDABLE | {"Refunded"}
#: A setup may be confirmed again only after its latest payment ended in one of these.
RETRYABLE = {"Declined", "Expired"}


def is_transition(current: str, new: str) -> bool:
    """True when :data:`TRANSITIONS` lets a payment move from ``current`` to ``new``."""
    return new in TRANSITIONS.get(current, ())


@dataclass
class PaymentSetup:
    id: str
    fields: dict  #: the writable fields as last sent (after validation and defaults)
    latest_payment_id: str | None = None


@dataclass
class Action:
    id: str
    type: str
    processed_on: datetime
    amount: int
    approved: bool
    response_code: str
    response_summary: str
    reference: str | None = None


@dataclass
class Payment:
    id: str
    setup_id: str
    amount: int
    currency: str
    reference: str | None
    description: str | None
    payment_type: str
    customer: dict
    token: str
    requested_on: datetime
    expires_on: datetime
    success_url: str | None
    failure_url: str | None
    metadata: dict | None = None  #: the setup's metadata at confirm, carried on webhook events
    status: str = "Pending"
    actions: list[Action] = field(default_factory=list)  #: oldest first
    total_refunded: int = 0

    @property
    def total_captured(self) -> int:
        return self.amount if self.status in APPROVED else 0


@dataclass
class Event:
    """A webhook event, recorded when the lifecycle moves; delivery is the outbox's job."""

    id: str
    type: str
    timestamp: datetime
    payment_id: str  #: its subject (``/workflows/events/subject/{payment_id}``)
    action_id: str | None
    body: dict
    processing_channel_id: str | None = None  #: what a ``processing_channel`` workflow condition matches
