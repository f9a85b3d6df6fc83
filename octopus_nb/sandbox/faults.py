"""Fault injection on API routes (contract §6, sandbox rules): the settings, and seeded draws.

Faults draw from their own random stream, so injecting them never shifts ids or request ids.
Not locked on its own: ``control_api.ControlApi`` calls it under ``models.SandboxState``'s one lock.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from .exceptions import InvalidRequest, MalformedRequest
from .validation import is_int, is_number, is_rate

#: Statuses fault injection may answer with (the ones a real gateway sends under load).
FAULT_STATUSES = (500, 502, 503, 429)
#: Longest injected latency: long enough to trip any client timeout, short enough not to hang a test run.
MAX_FAULT_LATENCY_MS = 60_000
_KNOWN = {"error_rate", "status", "latency_ms", "drop_rate"}


@dataclass(frozen=True)
class FaultPlan:
    """What fault injection does to one API request, drawn before the request is handled."""

    error_status: int | None = None  #: answer with this status at once, doing nothing
    latency: float = 0.0  #: seconds to wait once the idempotency key is claimed (before an error: at once)
    drop: bool = False  #: do the work, then close the connection without answering


class FaultInjector:
    """The faults set with ``PUT /_sandbox/faults`` (``{}``: none) and the stream they draw from."""

    def __init__(self, seed: int | None):
        #: the current settings, as accepted (``None`` values dropped)
        self.settings: dict = {}
        #: the faults' own seeded stream (a state file saves it)
        self.random = random.Random(seed + 2) if seed is not None else random.SystemRandom()

    def configure(self, body: Any) -> dict:
        """Configure faults for API routes; ``{}`` turns them off.

        Sandbox rule: ``error_rate`` (0..1) answers with ``status`` (500, 502, 503 or 429; default
        500) before doing anything (no idempotency key is claimed); ``latency_ms`` (0..60000)
        delays every API request, *after* its idempotency key is claimed, so the request is in
        flight meanwhile; ``drop_rate`` (0..1) does the work (a 2xx is stored under the key), then
        closes the connection without an answer. Unknown fields are refused, so a typo can't
        silently inject nothing.

        Raises:
            MalformedRequest, InvalidRequest (``faults_invalid``)
        """
        if not isinstance(body, dict):
            raise MalformedRequest()
        faults = {name: value for name, value in body.items() if value is not None}
        status, latency = faults.get("status", 500), faults.get("latency_ms", 0)
        valid = (
            set(faults) <= _KNOWN
            and all(is_rate(faults.get(rate, 0)) for rate in ("error_rate", "drop_rate"))
            and is_int(status)
            and status in FAULT_STATUSES
            and is_number(latency)
            and 0 <= latency <= MAX_FAULT_LATENCY_MS
        )
        if not valid:
            raise InvalidRequest("faults_invalid")
        self.settings = faults
        return dict(faults)

    def draw(self) -> FaultPlan:
        """Decide, from the seeded fault stream, what happens to one API request."""
        faults = self.settings
        if not faults:
            return FaultPlan()
        latency = faults.get("latency_ms", 0) / 1000
        error_rate, drop_rate = faults.get("error_rate", 0), faults.get("drop_rate", 0)
        if error_rate and self.random.random() < error_rate:
            return FaultPlan(error_status=faults.get("status", 500), latency=latency)
        drop = bool(drop_rate) and self.random.random() < drop_rate
        return FaultPlan(latency=latency, drop=drop)
