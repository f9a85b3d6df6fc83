"""Snapshots of one account (sandbox rules): everything it knows, taken whole and put back exactly.

A snapshot is every data attribute of a :class:`~octopus_nb.sandbox.models.SandboxState` (all but
its configuration and its lock): the ledger, the idempotency records, the workflows, the outbox and
its delivery log, faults and chaos, the clock, the counters and every seeded random stream, in the
state they were in. The operations' parts (``payment_api``, ``control``, ``workflows``) hold no data,
only the state and its parts, so they are copied with the rest and come back acting on the new state. It is pickled in memory, never written anywhere: pickle copies a graph of
objects exactly (shared references stay shared) and faster than ``copy.deepcopy``, and the bytes
are immutable, so one snapshot restores as often as asked. What lies outside the account, and what
never changes once made (events, actions, finished attempts), is kept by reference (``_Pickler``).

Restoring builds a fresh state for the account and fills it from the snapshot before anyone can see
it; ``Accounts.replace`` then swaps it in, as a reset does. A request already under way keeps the
state it started with (handlers read their state once), so it finishes against the old state or
the new one, never a mixture; the same requests then get the same answers, byte for byte, as they
did after the snapshot was taken. This is the in-memory kind; with a state file, ``shelves.FileShelf``
copies the file's tables instead.
"""

from __future__ import annotations

import contextlib
import contextvars
import gc
import io
import pickle
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .clock import isoformat
from .exceptions import InvalidRequest
from .idempotency import StoredResponse
from .models import SandboxState
from .outbox import DeliveryAttempt
from .resources import Action, Event
from .store import MemoryLog

#: A state's attributes that are how it was built, not what it knows: never copied, never replaced.
CONFIGURATION = frozenset({"seed", "secret_key", "base_url", "confirm_response", "store", "_lock", "_bookkeeping"})
_STATE = "state"


@dataclass(frozen=True)
class Snapshot:
    """One account's data at one moment: the pickled attributes and what they point at outside."""

    id: str
    name: str | None
    taken_at: datetime  #: sandbox time
    counts: dict
    data: bytes = field(repr=False)
    outside: tuple = field(repr=False, default=())  #: objects kept by reference (``_Pickler``)

    def view(self) -> dict:
        """The wire shape (``POST /_sandbox/snapshots`` and the list)."""
        return {"id": self.id, "name": self.name, "taken_at": isoformat(self.taken_at), "counts": self.counts}


class _Pickler(pickle.Pickler):
    """Pickles an account's data; what lies outside it, or never changes, is written as a reference.

    Outside: the state itself (the new state takes its place), the webhook worker's wake-up (which
    holds the whole application) and the OS's unseeded randomness (no state to copy). Never
    changing once made, so shared between the account and its snapshots rather than copied: events
    (with their bodies, most of the bytes), payment actions, finished delivery attempts and stored
    idempotent answers. ``reducer_override`` is not called for plain dicts, lists and strings, so
    this costs one Python call per object of a class, not per value.
    """

    def __init__(self, file: io.BytesIO, state: SandboxState):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.outside: list[Any] = [state, state._outbox._on_change]
        self._index = {id(state): 0, id(state._outbox._on_change): 1}

    def reducer_override(self, obj: Any) -> Any:  # noqa: ANN401 - pickle's protocol
        index = self._index.get(id(obj))
        if index is None:
            if not _shared(obj):
                return NotImplemented
            index = self._index[id(obj)] = len(self.outside)
            self.outside.append(obj)
        return _outside, (index,)


def _shared(obj: Any) -> bool:  # noqa: ANN401 - any object pickled
    """Whether ``obj`` is kept by reference: it never changes once made, or has no state to copy."""
    kind = type(obj)
    if kind is Event or kind is Action or kind is random.SystemRandom:
        return True
    if kind is DeliveryAttempt:
        return obj.done
    return kind is StoredResponse and obj.status is not None


#: what ``_outside`` answers from while a snapshot is read (the new state first)
_LOADING: contextvars.ContextVar[tuple] = contextvars.ContextVar("snapshot_outside")


def _outside(index: int) -> Any:  # noqa: ANN401 - whatever was kept by reference
    return _LOADING.get()[index]


@contextlib.contextmanager
def _no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic collector: reading a big account makes it run over and over, doubling the time, to free nothing."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def counts(state: SandboxState) -> dict:
    """What a snapshot is listed with: the account's resources and deliveries (``/_sandbox/stats``)."""
    stats = state.stats()
    return {name: stats[name] for name in ("setups", "payments", "refunds", "webhook_deliveries")}


def take(state: SandboxState, name: str | None = None, snapshot_id: str = "") -> Snapshot:
    """Copy everything ``state`` knows, under its lock, so no operation is half in it."""
    if state.store is not None:
        raise InvalidRequest("snapshots_need_memory_state")
    with state.transaction():
        buffer = io.BytesIO()
        pickler = _Pickler(buffer, state)
        with _no_cyclic_gc():
            pickler.dump({key: value for key, value in vars(state).items() if key not in CONFIGURATION})
        outside = (None, *pickler.outside[1:])  # never the state itself: a snapshot must not keep an old state alive
        return Snapshot(snapshot_id, name, state.clock.now(), counts(state), buffer.getvalue(), outside)


def fill(fresh: SandboxState, snapshot: Snapshot, in_place: bool = False) -> None:
    """Give a freshly built state of the same account (or, ``in_place``, the one it was taken of) everything ``snapshot`` holds.

    Sandbox rule: the clock reads ``taken_at`` again. Seeded, it never moved on its own; unseeded
    (wall time), the offset is set back by the time that passed, so a pending payment has as long
    left as it had. Requests and deliveries in flight when it was taken finish on the old state, so
    in a fresh one their idempotency keys are free again and the deliveries are sent again (at
    least once); ``in_place`` (a scenario undone under the lock it held throughout), the requests
    are still this state's and keep their keys.
    """
    token = _LOADING.set((fresh, *snapshot.outside[1:]))
    with _no_cyclic_gc():
        try:
            data = pickle.loads(snapshot.data)
        finally:
            _LOADING.reset(token)
    vars(fresh).update(data)
    fresh.clock.offset += snapshot.taken_at - fresh.clock.now()
    for delivery in fresh._outbox._queue:
        # in flight when taken: its answer goes to the old state, so this copy sends it again
        delivery.in_flight = None
    log = fresh._outbox._log
    if isinstance(log, MemoryLog):  # always, in memory (``take`` refuses a state file)
        log[:] = [attempt for attempt in log if attempt.done]
    stored = fresh._idempotency._stored
    if not in_place and isinstance(stored, dict):
        for key in [key for key, response in stored.items() if response.status is None]:
            del stored[key]
