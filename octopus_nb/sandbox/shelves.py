"""Where an account's snapshots are kept: in memory beside its state, or in its state file (``--state``).

In memory (``MemoryShelf``) a snapshot is the pickled state (``snapshots.py``). With a state file
(``FileShelf``) it is a copy of every table of the file, made in the file itself, so snapshots
survive a restart; restoring writes the copy back and builds the state from the file, exactly as
a restart does (the seeded streams continue where they were). Either way a restore swaps a new
state in (``Accounts.replace``), so requests under way finish on the old one, and a reset forgets
the account's snapshots.
"""

from __future__ import annotations

import json
import random
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any

from . import snapshots
from .clock import isoformat
from .exceptions import InvalidRequest, NotFound
from .models import SandboxState
from .store import KV_TABLES, SqliteStore

#: Sandbox rule: an account keeps at most this many snapshots (each holds a whole account).
MAX_SNAPSHOTS = 100
#: the state file's tables a snapshot copies (everything the account knows)
FILE_TABLES = ("meta", *KV_TABLES, "awaiting", "events", "attempts")
#: builds, fills (the callable) and swaps in a new state for an account (``Accounts.replace``)
Replace = Callable[[SandboxState, Callable[[SandboxState], None]], SandboxState]
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def _checked(name: Any, held: int) -> str | None:  # noqa: ANN401 - a request's JSON
    if name is not None and not (isinstance(name, str) and 1 <= len(name) <= 100):
        raise InvalidRequest("snapshot_name_invalid")
    if held >= MAX_SNAPSHOTS:
        raise InvalidRequest("snapshot_limit_reached")
    return name


def _token(stream: random.Random) -> str:
    return "".join(stream.choice(_BASE32) for _ in range(26))


class MemoryShelf:
    """One in-memory account's snapshots by id, oldest first."""

    def __init__(self, seed: int | None):
        self._snapshots: dict[str, snapshots.Snapshot] = {}
        #: snapshot ids have their own stream, so taking one never shifts the account's ids
        self._random = random.Random(f"{seed}:snapshots") if seed is not None else random.SystemRandom()

    def add(self, state: SandboxState, name: Any = None) -> dict:  # noqa: ANN401 - a request's JSON
        name = _checked(name, len(self._snapshots))
        snapshot = snapshots.take(state, name, "snap_" + _token(self._random))
        self._snapshots[snapshot.id] = snapshot
        return snapshot.view()

    def _get(self, snapshot_id: str) -> snapshots.Snapshot:
        found = self._snapshots.get(snapshot_id)
        if found is None:
            raise NotFound("snapshot_not_found")
        return found

    def view(self, snapshot_id: str) -> dict:
        return self._get(snapshot_id).view()

    def remove(self, snapshot_id: str) -> None:
        self._get(snapshot_id)
        del self._snapshots[snapshot_id]

    def views(self) -> list[dict]:
        return [snapshot.view() for snapshot in self._snapshots.values()]

    def restore(self, state: SandboxState, snapshot_id: str, replace: Replace) -> SandboxState:
        snapshot = self._get(snapshot_id)
        return replace(state, lambda fresh: snapshots.fill(fresh, snapshot))


class FileShelf:
    """One state file's snapshots: a row in ``snapshots`` and a copy of each table (``snapshot_<id>_<table>``)."""

    def __init__(self, store: SqliteStore, seed: int | None):
        self._store, self._seed = store, seed
        store.write(
            "CREATE TABLE IF NOT EXISTS snapshots (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, name TEXT, taken_at TEXT NOT NULL, counts TEXT NOT NULL)"
        )

    def add(self, state: SandboxState, name: Any = None) -> dict:  # noqa: ANN401 - a request's JSON
        name = _checked(name, len(self.views()))
        store = self._store
        store.lock.commit()  # everything so far in the file, this request's bookkeeping included
        seq = store.execute("SELECT coalesce(max(seq), 0) + 1 FROM snapshots").fetchone()[0]
        stream = random.Random(f"{self._seed}:snapshots:{seq}") if self._seed is not None else random.SystemRandom()
        snapshot_id = "snap_" + _token(stream)
        for table in FILE_TABLES:
            store.write(f'CREATE TABLE "snapshot_{snapshot_id}_{table}" AS SELECT * FROM {table}')
        counts = snapshots.counts(state)
        taken_at = state.clock.now()
        store.write(
            "INSERT INTO snapshots (id, seq, name, taken_at, counts) VALUES (?, ?, ?, ?, ?)",
            (snapshot_id, seq, name, taken_at.isoformat(), json.dumps(counts)),
        )
        return {"id": snapshot_id, "name": name, "taken_at": isoformat(taken_at), "counts": counts}

    def _row(self, snapshot_id: str) -> tuple:
        row = self._store.execute("SELECT id, name, taken_at, counts FROM snapshots WHERE id = ?", (snapshot_id,)).fetchone()
        if row is None:
            raise NotFound("snapshot_not_found")
        return row

    @staticmethod
    def _view(row: tuple) -> dict:
        snapshot_id, name, taken_at, counts = row
        return {"id": snapshot_id, "name": name, "taken_at": isoformat(datetime.fromisoformat(taken_at)), "counts": json.loads(counts)}

    def view(self, snapshot_id: str) -> dict:
        return self._view(self._row(snapshot_id))

    def views(self) -> list[dict]:
        rows = self._store.execute("SELECT id, name, taken_at, counts FROM snapshots ORDER BY seq").fetchall()
        return [self._view(row) for row in rows]

    def remove(self, snapshot_id: str) -> None:
        self._row(snapshot_id)
        for table in FILE_TABLES:
            self._store.write(f'DROP TABLE "snapshot_{snapshot_id}_{table}"')
        self._store.write("DELETE FROM snapshots WHERE id = ?", (snapshot_id,))

    def restore(self, state: SandboxState, snapshot_id: str, replace: Replace) -> SandboxState:
        """Write the copy back into the tables, then build the state from the file (a restart's path)."""
        taken_at = datetime.fromisoformat(self._row(snapshot_id)[2])
        store = self._store
        store.lock.commit()
        for held in store._tables.values():
            held.forget()  # rows read before the restore are not the restored ones
        for table in FILE_TABLES:
            store.write(f"DELETE FROM {table}")
            store.write(f'INSERT INTO {table} SELECT * FROM "snapshot_{snapshot_id}_{table}"')
        store._written, store._last = dict(store.execute("SELECT k, v FROM meta")), {}
        # Their requests finish on the old state: the keys claimed when it was taken are free again.
        store.write("DELETE FROM idempotency WHERE json_extract(v, '$.status') IS NULL")

        def clock_back(fresh: SandboxState) -> None:
            fresh.clock.offset += taken_at - fresh.clock.now()  # unseeded: the time that passed since

        return replace(state, clock_back)


class SnapshotShelves:
    """Every account's shelf, kept beside its state (weakly: a reset's new state starts with none).

    A restore's new state takes the old one's shelf (:meth:`carry`), so an account's snapshots
    outlive restores but not a reset, which forgets everything the account knows (with a state
    file, ``SqliteStore.clear`` drops the copies).
    """

    def __init__(self) -> None:
        self._shelves: weakref.WeakKeyDictionary[SandboxState, MemoryShelf | FileShelf] = weakref.WeakKeyDictionary()

    def of(self, state: SandboxState) -> MemoryShelf | FileShelf:
        shelf = self._shelves.get(state)
        if shelf is None:
            made = MemoryShelf(state.seed) if state.store is None else FileShelf(state.store, state.seed)
            shelf = self._shelves.setdefault(state, made)
        return shelf

    def carry(self, old: SandboxState, new: SandboxState) -> None:
        self._shelves[new] = self.of(old)
