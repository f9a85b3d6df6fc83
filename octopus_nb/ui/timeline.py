"""The explorer's Rewind: a snapshot of the sandbox account before each step, and the flow as it was.

Sandbox rule (``/_sandbox/snapshots``): before an action that changes the account (create, update,
confirm, the customer's buttons, refund) the timeline takes a snapshot and keeps the flow's own
record (setup, payment, actions, path, the step shown); :meth:`Timeline.rewind` restores the last
one, so "what if the customer had declined instead?" is one click. Its snapshots go through a
client of their own, so the app's history shows only the flow's requests. Webhook events already
received stay received: a merchant can't unreceive them. Off on Checkout.com, which has no snapshots.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from ..client import Client
from ..control import is_sandbox
from ..timetravel import _forget, restore, snapshot
from .flow import Flow

#: How many steps back the explorer can go (each is a snapshot of the account, kept until used or dropped).
MAX_REWINDS = 20
_FLOW_RECORD = ("setup", "payment", "actions", "_path")


@dataclass
class Mark:
    """One point to rewind to: the account's snapshot, the flow's record, the step shown."""

    snapshot_id: str
    flow: dict
    step: str
    label: str


class Timeline:
    """The explorer's points to rewind to, newest last."""

    def __init__(self, client: Client, enabled: bool = True):
        #: False on Checkout.com or when the explorer was made without rewind
        self.enabled = enabled and is_sandbox(client)
        # a client of its own (same server, same key), so the snapshots stay out of the app's history
        self._client = (
            Client(client.base_url, client._secret_key, environment=client.environment, timeout=client.timeout) if self.enabled else client
        )
        self.marks: list[Mark] = []

    @property
    def can_rewind(self) -> bool:
        return bool(self.marks)

    def mark(self, flow: Flow, step: str, label: str) -> None:
        """Keep this moment (before ``label``, e.g. ``"approve"``), dropping the oldest past :data:`MAX_REWINDS`."""
        if not self.enabled:
            return
        taken = snapshot(self._client, f"explorer: before {label}")
        record = {name: copy.deepcopy(getattr(flow, name)) for name in _FLOW_RECORD}
        self.marks.append(Mark(taken["id"], record, step, label))
        if len(self.marks) > MAX_REWINDS:
            _forget(self._client, self.marks.pop(0).snapshot_id)

    def drop_last(self) -> None:
        """Forget the last mark (its action failed, so nothing changed since)."""
        if self.marks:
            _forget(self._client, self.marks.pop().snapshot_id)

    def rewind(self, flow: Flow) -> str:
        """Put the account and the flow back as they were before the last action; return the step shown then.

        Raises:
            ValueError: nothing to rewind.
        """
        if not self.marks:
            raise ValueError("Nothing to rewind: each action on the sandbox keeps a point to come back to.")
        mark = self.marks.pop()
        restore(self._client, mark.snapshot_id)
        _forget(self._client, mark.snapshot_id)
        for name, value in mark.flow.items():
            setattr(flow, name, value)
        return mark.step

    def close(self) -> None:
        for mark in self.marks:
            _forget(self._client, mark.snapshot_id)
        self.marks = []
        if self.enabled:
            self._client.close()
