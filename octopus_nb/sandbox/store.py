"""Where a sandbox keeps what it holds: plain dicts in memory, or an SQLite file (``--state PATH``).

The storage seam. The parts that hold collections (``ledger``: setups, payments, tokens, customers,
pending expiries, events; ``idempotency``: the key store; ``outbox``: the delivery log) read and
write through the small table objects made here. In memory they are plain dicts and lists, exactly
as before. In an SQLite file (the standard library's ``sqlite3``, WAL journal) each resource is a
JSON row by id, read when asked for and written back when the state's lock is released: one
transaction per model call (the bookkeeping a request does first, its request id, count, fault
draw and idempotency claim, is saved with its operation), committed before the handler sends its
answer. What is small and changes on every call (the clock, counters, webhook, chaos and fault
settings, the queued webhook deliveries) is one ``meta`` row, and each seeded ``random.Random``
state another, saved in the same transaction, so a restart continues the same id sequence. Nothing per resource stays in memory
between calls, so the process's memory stays flat however much is stored.

Crash safety: the WAL journal with ``synchronous=NORMAL`` survives the process being killed at any
moment (``kill -9``): a committed transaction is in the WAL before the answer is sent. It does not
promise to survive power loss or an OS crash (the last transactions may be lost then).

Not locked on its own: ``models.SandboxState`` uses it under its one lock.
"""

from __future__ import annotations

import json
import marshal
import os
import random
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .resources import Action, Event, Payment, PaymentSetup

if TYPE_CHECKING:
    import sqlite3

#: the layout this code writes; a file written by a later one is refused, not guessed at
SCHEMA_VERSION = 1
#: SQLite's ``application_id`` for a sandbox state file ("OCNB"), in the file's header
APPLICATION_ID = 0x4F434E42
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: the key-value tables (name → what each row holds)
KV_TABLES = ("setups", "payments", "tokens", "customers", "idempotency", "workflows")
_SCHEMA = [
    "CREATE TABLE meta (k TEXT PRIMARY KEY, v BLOB NOT NULL)",
    *(f"CREATE TABLE {name} (k TEXT PRIMARY KEY, v TEXT NOT NULL)" for name in KV_TABLES),
    "CREATE TABLE awaiting (id TEXT PRIMARY KEY, due REAL NOT NULL)",
    "CREATE INDEX awaiting_due ON awaiting (due)",
    "CREATE TABLE events (seq INTEGER PRIMARY KEY, v TEXT NOT NULL)",
    "CREATE TABLE attempts (seq INTEGER PRIMARY KEY, v TEXT NOT NULL)",
]


class StateFileError(Exception):
    """``--state PATH`` can't be used: not a sandbox's file, a newer schema, or in use. One line, with the path."""


def check_state_file(path: Path) -> bool:
    """Whether ``path`` holds a sandbox state (True) or is absent or empty (False: a new one is made).

    Reads only the 100-byte SQLite header, so a file that is refused is left exactly as it was.

    Raises:
        StateFileError: not an SQLite file, an SQLite file that is not a sandbox's, or one written
            by a newer schema.
    """
    try:
        with open(path, "rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise StateFileError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if not header:
        return False
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise StateFileError(f"{path}: not a sandbox state file (not an SQLite database); give a new path")
    version = int.from_bytes(header[60:64], "big")
    application_id = int.from_bytes(header[68:72], "big")
    if application_id != APPLICATION_ID:
        raise StateFileError(f"{path}: an SQLite database, but not a sandbox state file; give a new path")
    if version > SCHEMA_VERSION:
        raise StateFileError(
            f"{path}: written by a newer sandbox (schema {version}; this one reads up to {SCHEMA_VERSION}); upgrade octopus-nb"
        )
    return True


def _encode_meta(value: Any) -> bytes:
    return value if isinstance(value, bytes) else json.dumps(value, separators=(",", ":")).encode()


def random_state(stream: Any) -> bytes | None:
    """A seeded stream's state as bytes (None for ``SystemRandom``: nothing to continue)."""
    if isinstance(stream, random.SystemRandom):
        return None
    return marshal.dumps(stream.getstate())


def set_random_state(stream: Any, saved: bytes | None) -> None:
    if saved is not None:
        stream.setstate(marshal.loads(saved))


class SqliteStore:
    """One sandbox's state file, open and locked for as long as the sandbox runs.

    Raises:
        StateFileError: see :func:`check_state_file`, or another running sandbox holds the file.
    """

    def __init__(self, path: str | os.PathLike):
        import sqlite3  # here, so the in-memory sandbox never pays for importing it

        try:
            import fcntl  # here: POSIX only, and the in-memory sandbox (the default) runs on Windows too
        except ImportError:
            raise StateFileError(
                f"{path}: a state file needs POSIX file locks (fcntl), which this system lacks: "
                "run the sandbox with --state under Linux, macOS or WSL"
            ) from None
        self._fcntl = fcntl
        self.path = Path(path)
        existed = check_state_file(self.path)
        # An OS lock beside the file, held while this store is open; the OS drops it when the
        # process dies (even by kill -9), so a crash never leaves the file locked.
        try:
            self._lock_file = open(str(self.path) + ".lock", "a+")
        except OSError as exc:
            raise StateFileError(f"{self.path}: cannot use it ({exc.strerror or exc})") from None
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.seek(0)
            holder = self._lock_file.read().strip() or "?"
            self._lock_file.close()
            raise StateFileError(f"{self.path}: in use by another running sandbox (pid {holder}); stop it or give another path") from None
        self._lock_file.seek(0)
        self._lock_file.truncate()
        self._lock_file.write(str(os.getpid()))
        self._lock_file.flush()
        self._db = None
        try:
            self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
            if not existed:
                self._create()
            elif self._db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'meta'").fetchone()[0] == 0:
                raise StateFileError(f"{self.path}: an SQLite database, but not a sandbox state file; give a new path")
            # a table added since schema 1 (the workflows): made in an older file when it is opened
            self._db.execute("CREATE TABLE IF NOT EXISTS workflows (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: safe from a process crash, not power loss
        except StateFileError:
            self.close()
            raise
        except sqlite3.Error as exc:
            self.close()
            raise StateFileError(f"{self.path}: not a usable sandbox state file ({exc})") from None
        #: the meta values as last written (what a commit compares against)
        self._written: dict[str, bytes] = dict(self._db.execute("SELECT k, v FROM meta"))
        self._last: dict[str, Any] = {}  #: the meta values as last given to ``commit`` (compared before encoding)
        self._in_transaction = False
        self._tables: dict[str, SqliteTable] = {}
        #: the one lock of whichever state uses this file now (a reset's new state takes it over)
        self.lock = TransactionLock(lambda: self.commit({}))

    def _create(self) -> None:
        # Made in rollback-journal mode, so the header (application_id, user_version) is in the
        # main file before WAL is turned on: check_state_file can read it without SQLite.
        self._db.execute("BEGIN")
        for statement in _SCHEMA:
            self._db.execute(statement)
        self._db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        self._db.execute("COMMIT")

    # --- reading and writing -----------------------------------------------------------------

    @property
    def restored(self) -> bool:
        """True when the file holds a state saved earlier (False: new, or reset)."""
        return "state" in self._written

    def meta(self, name: str) -> bytes | None:
        return self._written.get(name)

    def meta_json(self, name: str, default: Any = None) -> Any:
        value = self._written.get(name)
        return default if value is None else json.loads(value)

    def execute(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        """A read (no transaction needed; it sees this connection's uncommitted writes)."""
        return self._db.execute(sql, params)

    def write(self, sql: str, params: tuple = ()) -> None:
        """A write, inside the transaction opened by the first write since the last commit."""
        if not self._in_transaction:
            self._db.execute("BEGIN IMMEDIATE")
            self._in_transaction = True
        self._db.execute(sql, params)

    def table(self, name: str, encode: Callable[[Any], Any], decode: Callable[[Any], Any]) -> SqliteTable:
        if name not in self._tables:
            self._tables[name] = SqliteTable(self, name, encode, decode)
        return self._tables[name]

    def commit(self, meta: dict[str, Any]) -> None:
        """Write back what changed in this transaction (objects read and changed in place, the meta values), then COMMIT."""
        for table in self._tables.values():
            table.flush()
        for name, value in meta.items():
            if self._last.get(name, _MISSING) == value:
                continue  # the values are fresh objects each time (or replaced, never changed in place)
            self._last[name] = value
            encoded = _encode_meta(value)
            if self._written.get(name) != encoded:
                self.write("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", (name, encoded))
                self._written[name] = encoded
        if self._in_transaction:
            self._in_transaction = False
            self._db.execute("COMMIT")

    def clear(self) -> None:
        """Forget everything stored (``POST /_sandbox/reset``), committed at once."""
        for table in self._tables.values():
            table.forget()
        for name in ("meta", *KV_TABLES, "awaiting", "events", "attempts"):
            self.write(f"DELETE FROM {name}")
        for (name,) in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'snapshot%'").fetchall():
            self.write(f'DROP TABLE "{name}"')  # the account's snapshots (``shelves.FileShelf``) go with it
        self._written, self._last = {}, {}
        self.commit({})

    def close(self) -> None:
        """Close the file and drop the lock (an uncommitted transaction is rolled back)."""
        db, self._db = getattr(self, "_db", None), None
        if db is not None:
            db.close()
        if not self._lock_file.closed:
            self._fcntl.flock(self._lock_file, self._fcntl.LOCK_UN)
            self._lock_file.close()


class SqliteTable:
    """A dict-like view of one key-value table: rows decoded on first use in a transaction, written back at commit.

    Objects read are kept until the commit (with the JSON they were read as), so a change made in
    place (``payment.status = ...``) is written back, and only when it changed something.
    """

    def __init__(self, store: SqliteStore, name: str, encode: Callable[[Any], Any], decode: Callable[[Any], Any]):
        self._store, self._name, self._encode, self._decode = store, name, encode, decode
        self._held: dict[str, tuple[Any, str | None]] = {}  #: key → (object, JSON as read; None: write it)

    def get(self, key: str, default: Any = None) -> Any:
        held = self._held.get(key)
        if held is not None:
            return held[0]
        row = self._store.execute(f"SELECT v FROM {self._name} WHERE k = ?", (key,)).fetchone()
        if row is None:
            return default
        value = self._decode(json.loads(row[0]))
        self._held[key] = (value, row[0])
        return value

    def __getitem__(self, key: str) -> Any:
        value = self.get(key, _MISSING)
        if value is _MISSING:
            raise KeyError(key)
        return value

    def __contains__(self, key: str) -> bool:
        return self.get(key, _MISSING) is not _MISSING

    def __setitem__(self, key: str, value: Any) -> None:
        self._held[key] = (value, None)

    def setdefault(self, key: str, value: Any) -> Any:
        found = self.get(key, _MISSING)
        if found is _MISSING:
            self[key] = found = value
        return found

    def pop(self, key: str, default: Any = None) -> Any:
        value = self.get(key, _MISSING)
        self._held.pop(key, None)
        self._store.write(f"DELETE FROM {self._name} WHERE k = ?", (key,))
        return default if value is _MISSING else value

    def __len__(self) -> int:
        self.flush()
        return self._store.execute(f"SELECT count(*) FROM {self._name}").fetchone()[0]

    def __iter__(self) -> Iterator[str]:
        self.flush()
        return iter([key for (key,) in self._store.execute(f"SELECT k FROM {self._name} ORDER BY rowid")])

    def keys(self) -> list[str]:
        return list(self)

    def items(self) -> list[tuple[str, Any]]:
        return [(key, self[key]) for key in self]

    def values(self) -> list[Any]:
        return [self[key] for key in self]

    def delete_where(self, condition: str, params: tuple = ()) -> None:
        """Delete the rows whose JSON value ``v`` meets an SQL ``condition`` (after writing what is held)."""
        self.flush()
        self._store.write(f"DELETE FROM {self._name} WHERE {condition}", params)

    def flush(self) -> None:
        """Write every object that changed since it was read (or is new); forget them all."""
        held, self._held = self._held, {}
        for key, (value, as_read) in held.items():
            text = json.dumps(self._encode(value), separators=(",", ":"), ensure_ascii=False)
            if text != as_read:
                self._store.write(f"INSERT OR REPLACE INTO {self._name} (k, v) VALUES (?, ?)", (key, text))

    def forget(self) -> None:
        self._held = {}


class _Missing:
    pass


_MISSING = _Missing()


class TransactionLock:
    """The state's one lock, committing the store when the outermost holder releases it.

    A drop-in for ``threading.RLock`` (``with``, ``acquire``, ``release``): the in-memory sandbox
    keeps a plain ``RLock``; a persistent one uses this, so every model call is one transaction,
    committed before the call returns (and so before any answer is sent).
    """

    def __init__(self, commit: Callable[[], None]):
        import threading

        self._lock = threading.RLock()
        self._depth = 0
        #: what runs as the outermost holder lets go (the state using the file sets it)
        self.commit = commit

    def acquire(self) -> bool:
        self._lock.acquire()
        self._depth += 1
        return True

    def release(self) -> None:
        try:
            if self._depth == 1:
                self.commit()
        finally:
            self._depth -= 1
            self._lock.release()

    def __enter__(self) -> TransactionLock:
        return self.acquire() and self

    def __exit__(self, *exc_info: Any) -> None:
        self.release()

    @property
    def deferred(self) -> _DeferredHold:
        """Hold the lock without committing on release: what changed is saved by the next commit.

        For the bookkeeping every request does before its operation (its request id, the request
        count, the fault draw, claiming its idempotency key): the handler commits it all with the
        operation, before the answer is sent, so a request costs one transaction, not four.
        """
        return _DeferredHold(self)


class _DeferredHold:
    def __init__(self, lock: TransactionLock):
        self._lock = lock

    def __enter__(self) -> None:
        self._lock._lock.acquire()
        self._lock._depth += 1

    def __exit__(self, *exc_info: Any) -> None:
        self._lock._depth -= 1
        self._lock._lock.release()


class MemoryAwaiting(dict):
    """Pending payments the clock may expire, by id (in memory: the payments themselves)."""

    def due(self, now: Any) -> list:
        return [payment for payment in self.values() if now >= payment.expires_on]


class SqliteAwaiting:
    """Pending payments the clock may expire: ids and expiry times in a table indexed by time."""

    def __init__(self, store: SqliteStore, payments: SqliteTable):
        self._store, self._payments = store, payments
        #: no payment expires before this (a timestamp; None: none pending), so most checks skip the query
        self._earliest = store.execute("SELECT min(due) FROM awaiting").fetchone()[0]

    def __setitem__(self, payment_id: str, payment: Any) -> None:
        due = payment.expires_on.timestamp()
        self._store.write("INSERT OR REPLACE INTO awaiting (id, due) VALUES (?, ?)", (payment_id, due))
        self._earliest = due if self._earliest is None else min(self._earliest, due)

    def pop(self, payment_id: str, default: Any = None) -> Any:
        self._store.write("DELETE FROM awaiting WHERE id = ?", (payment_id,))
        return default

    def due(self, now: Any) -> list:
        moment = now.timestamp()
        if self._earliest is None or moment < self._earliest:
            return []
        rows = self._store.execute("SELECT id FROM awaiting WHERE due <= ? ORDER BY due, rowid", (moment,)).fetchall()
        self._earliest = self._store.execute("SELECT min(due) FROM awaiting WHERE due > ?", (moment,)).fetchone()[0]
        return [self._payments[payment_id] for (payment_id,) in rows]


class SqliteLog:
    """An append-only list in a table (events, the delivery log): written at once, read back in order."""

    def __init__(self, store: SqliteStore, name: str, encode: Callable[[Any], Any], decode: Callable[[Any], Any]):
        self._store, self._name, self._encode, self._decode = store, name, encode, decode

    def append(self, value: Any, seq: int | None = None) -> None:
        text = json.dumps(self._encode(value), separators=(",", ":"), ensure_ascii=False)
        self._store.write(f"INSERT INTO {self._name} (seq, v) VALUES (?, ?)", (seq, text))

    def __len__(self) -> int:
        return self._store.execute(f"SELECT count(*) FROM {self._name}").fetchone()[0]

    def __iter__(self) -> Iterator[Any]:
        rows = self._store.execute(f"SELECT v FROM {self._name} ORDER BY seq").fetchall()
        return iter([self._decode(json.loads(text)) for (text,) in rows])

    def where(self, field: str, value: str) -> list[Any]:
        """The entries whose ``field`` is ``value``, in order (an event's attempts, a payment's events)."""
        rows = self._store.execute(
            f"SELECT v FROM {self._name} WHERE json_extract(v, ?) = ? ORDER BY seq", (f"$.{field}", value)
        ).fetchall()
        return [self._decode(json.loads(text)) for (text,) in rows]


class MemoryLog(list):
    """An append-only list in memory, with :meth:`SqliteLog.where`."""

    def where(self, field: str, value: str) -> list[Any]:
        return [entry for entry in self if getattr(entry, field) == value]


# --- how each resource is written: JSON-ready dicts, and back ----------------------------------


def encode_setup(setup: PaymentSetup) -> dict:
    return {"id": setup.id, "fields": setup.fields, "latest_payment_id": setup.latest_payment_id}


def decode_setup(data: dict) -> PaymentSetup:
    return PaymentSetup(data["id"], data["fields"], data["latest_payment_id"])


def _encode_action(action: Action) -> dict:
    return {**action.__dict__, "processed_on": action.processed_on.isoformat()}


def encode_payment(payment: Payment) -> dict:
    data = dict(payment.__dict__)
    data["requested_on"], data["expires_on"] = payment.requested_on.isoformat(), payment.expires_on.isoformat()
    data["actions"] = [_encode_action(action) for action in payment.actions]
    return data


def decode_payment(data: dict) -> Payment:
    data = {key: value for key, value in data.items() if key != "token_used"}  # state files before 2026-12
    actions = [Action(**{**a, "processed_on": datetime.fromisoformat(a["processed_on"])}) for a in data["actions"]]
    return Payment(
        **{
            **data,
            "requested_on": datetime.fromisoformat(data["requested_on"]),
            "expires_on": datetime.fromisoformat(data["expires_on"]),
            "actions": actions,
        }
    )


def encode_event(event: Event) -> dict:
    return {**event.__dict__, "timestamp": event.timestamp.isoformat()}


def decode_event(data: dict) -> Event:
    return Event(**{**data, "timestamp": datetime.fromisoformat(data["timestamp"])})


def identity(value: Any) -> Any:
    return value
