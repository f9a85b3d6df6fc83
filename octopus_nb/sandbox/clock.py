"""Sandbox time: a clock that moves only when told to (seeded), and Checkout.com's timestamp shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

#: Where a seeded sandbox's clock starts (the seed page's "Last updated" day).
SEEDED_EPOCH = datetime(2026, 4, 30, 9, 0, 0, tzinfo=UTC)
#: The sandbox clock stops here, well before datetime's year 9999 (expiries and retries add to it).
CLOCK_LIMIT = datetime(9000, 1, 1, tzinfo=UTC)


class SandboxClock:
    """The sandbox's notion of now.

    Seeded: starts at :data:`SEEDED_EPOCH` and moves only when advanced, so timestamps repeat
    from run to run. Unseeded: follows the wall clock, plus whatever was advanced.
    """

    def __init__(self, frozen: bool):
        self._frozen = frozen
        self._offset = timedelta(0)

    def now(self) -> datetime:
        base = SEEDED_EPOCH if self._frozen else datetime.now(UTC)
        return base + self._offset

    @property
    def offset(self) -> timedelta:
        """How far the clock was advanced in all (what a state file keeps)."""
        return self._offset

    @offset.setter
    def offset(self, value: timedelta) -> None:
        self._offset = value

    def advance(self, seconds: float) -> datetime:
        self._offset += timedelta(seconds=seconds)
        return self.now()


def isoformat(moment: datetime) -> str:
    """Checkout.com's timestamp shape: UTC with a ``Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
