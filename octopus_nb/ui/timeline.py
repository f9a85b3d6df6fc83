"""The explorer's Rewind: a snapshot of the sandbox account before each step, and the flow as it was.

Sandbox rule (``/_sandbox/snapshots``): before an action that changes the account (create, update,
confirm, the customer's buttons, refund) the timeline takes a snapshot and keeps the flow's own
record (setup, payment, actions, path, the step shown); :meth:`Timeline.rewind` restores the last
one, so "what if the customer had declined instead?" is one click. Its snapshots go through a
client of their own, so the app's history shows only the flow's requests. Webhook events already
received stay received: a merchant can't unreceive them. Off on Checkout.com, which has no snapshots.

:meth:`Timeline.branch` keeps the outcome reached (a :class:`Branch`) and goes back to the branch
point: the moment before the customer's latest choice (approve, decline, expire, fail_capture)
that the flow still continues from, where the diagram forks. Every step since is undone at once,
a refund after the approval included, so the next choice is tried on the same Pending payment.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .._shared.contract import CUSTOMER_ACTIONS
from ..client import Client
from ..control import is_sandbox, require_sandbox
from ..timetravel import _forget, restore, snapshot
from .diagram import BranchLine
from .flow import Flow

#: How many steps back the explorer can go (each is a snapshot of the account, kept until used or dropped).
MAX_REWINDS = 20
_FLOW_RECORD = ("setup", "payment", "actions", "_path")


def _id(resource: Mapping[str, Any] | None) -> str | None:
    return None if resource is None else resource.get("id")


@dataclass
class Mark:
    """One point to rewind to: the account's snapshot, the flow's record, the step shown."""

    snapshot_id: str
    flow: dict
    step: str
    label: str


@dataclass(frozen=True)
class Branch:
    """One line tried from a branch point, and where it ended."""

    #: 1 for the first line tried from this branch point, then 2, 3...
    number: int
    #: the payment's status at the end of the line (``"Captured"``...), else the flow's state
    outcome: str
    #: the payment the line ended with (a retry after a decline is a new payment)
    payment_id: str | None
    #: the actions taken on the line, the customer's choice first (``("approve", "refund")``)
    steps: tuple[str, ...]
    #: the diagram's states from the branch point on (``("Pending", "Captured")``)
    path: tuple[str, ...]
    #: True for the line the flow is on now (not branched away from yet)
    current: bool = False
    #: the Pending payment at the branch point: branches with the same one are alternatives
    point: str | None = None

    @property
    def label(self) -> str:
        """``"branch 1: Captured"`` (``" (current)"`` added for the line the flow is on)."""
        return f"branch {self.number}: {self.outcome}" + (" (current)" if self.current else "")

    def line(self) -> BranchLine:
        """The branch as the diagram draws it: the label, then the steps taken."""
        return BranchLine(self.number, f"{self.label} — {' → '.join(self.steps)}", self.path, self.current)


class Timeline:
    """The explorer's points to rewind to, newest last, and the branches taken from the latest branch point."""

    def __init__(self, client: Client, enabled: bool = True):
        #: False on Checkout.com or when the explorer was made without rewind
        self.enabled = enabled and is_sandbox(client)
        # a client of its own (same server, same key), so the snapshots stay out of the app's history
        self._client = (
            Client(client.base_url, client._secret_key, environment=client.environment, timeout=client.timeout) if self.enabled else client
        )
        self.marks: list[Mark] = []
        #: the lines branched away from (:meth:`branch`), oldest first, all from one branch point
        self.taken: list[Branch] = []

    @property
    def can_rewind(self) -> bool:
        return bool(self.marks)

    def can_branch(self, flow: Flow) -> bool:
        """True when there is a branch point to go back to (the customer chose, and the flow went on from there)."""
        return self._branch_point(flow) is not None

    def branches(self, flow: Flow) -> list[Branch]:
        """The branches from the flow's branch point: those branched away from, then the current line (if it left the point).

        The branch point is the Pending payment before the customer's latest choice; with no such
        choice kept, the flow's payment. Branches taken from another payment's choice are not listed.
        """
        index = self._branch_point(flow)
        point = self._point_of(self.marks[index]) if index is not None else _id(flow.payment)
        same = [branch for branch in self.taken if point is not None and branch.point == point]
        if index is None:
            return same
        return [*same, self._line(flow, index, len(same) + 1)]

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

    def branch(self, flow: Flow) -> str:
        """Keep where the current line ended (a :class:`Branch`) and go back to its branch point; return the step shown then.

        The branch point is the moment before the customer's latest choice the flow still goes on
        from. The account is restored to it in one step and every later point to rewind to is
        dropped: the payment is Pending again, with the ids the snapshot's restore gives.

        Raises:
            NotASandboxError: the client points at Checkout.com (no snapshots there).
            ValueError: made without ``rewind=True``, or no customer's choice to go back before.
        """
        require_sandbox(self._client, "Branch")
        if not self.enabled:
            raise ValueError("Branch needs the explorer's timeline: make it with FlowExplorer(client, rewind=True).")
        index = self._branch_point(flow)
        if index is None:
            raise ValueError(
                "Nothing to branch from: the branch point is the moment before the customer's choice. "
                "Confirm a payment and play the customer first (explorer.act('approve'), or a customer button)."
            )
        kept = self.branches(flow)
        while len(self.marks) > index + 1:
            _forget(self._client, self.marks.pop().snapshot_id)
        step = self.rewind(flow)
        # kept only once the account is back: a failed restore leaves the line current
        self.taken = [*kept[:-1], replace(kept[-1], current=False)]
        return step

    def _branch_point(self, flow: Flow) -> int | None:
        """The index of the latest mark before a customer's choice that the flow's path still continues from."""
        path = flow.path
        for index in range(len(self.marks) - 1, -1, -1):
            mark = self.marks[index]
            before = mark.flow["_path"]
            if mark.label in CUSTOMER_ACTIONS and len(path) > len(before) and path[: len(before)] == before:
                return index
        return None

    @staticmethod
    def _point_of(mark: Mark) -> str | None:
        return _id(mark.flow["payment"])

    def _line(self, flow: Flow, index: int, number: int) -> Branch:
        """The current line from the branch point ``self.marks[index]``, as a branch numbered ``number``."""
        mark = self.marks[index]
        return Branch(
            number=number,
            outcome=flow.status or flow.state,
            payment_id=_id(flow.payment),
            steps=tuple(later.label for later in self.marks[index:]),
            path=tuple(flow.path[len(mark.flow["_path"]) - 1 :]),
            current=True,
            point=self._point_of(mark),
        )

    def close(self) -> None:
        for mark in self.marks:
            _forget(self._client, mark.snapshot_id)
        self.marks, self.taken = [], []
        if self.enabled:
            self._client.close()
