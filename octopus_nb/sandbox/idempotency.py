"""The ``Cko-Idempotency-Key`` store: which keys are claimed, and the responses to replay.

Not locked on its own: ``models.SandboxState`` (its request bookkeeping) and ``control_api`` (the
clock's sweep) call it under the state's one lock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from .clock import SandboxClock
from .exceptions import InFlight, InvalidRequest
from .store import SqliteStore

#: Sandbox rule: an idempotency key is remembered for 24 hours of sandbox time.
IDEMPOTENCY_WINDOW = timedelta(hours=24)
#: How often (sandbox time) records past the window are removed: an expired record already answers
#: as absent, so this only keeps a long-lived sandbox's memory and state file from growing with its requests.
SWEEP_EVERY = timedelta(hours=1)


def fingerprint(method: str, path: str, body: bytes) -> str:
    """What makes two requests "the same" under one key: method, path and the raw body."""
    return hashlib.sha256(method.encode() + b" " + path.encode() + b"\n" + body).hexdigest()


@dataclass
class StoredResponse:
    fingerprint: str
    stored_at: datetime
    status: int | None = None  #: None while the first request is in flight; then always a 2xx
    body: bytes = b""


class IdempotencyStore:
    """Keys → the first request's fingerprint and, once it finished, its response."""

    def __init__(self, clock: SandboxClock, store: SqliteStore | None = None):
        self._clock = clock
        self._stored: dict[str, StoredResponse] = {} if store is None else store.table("idempotency", _encode, _decode)
        self._next_sweep = clock.now() + SWEEP_EVERY

    def begin(self, key: str, fingerprint: str) -> tuple[int, bytes] | None:
        """Claim ``key`` for a request, or return the stored (status, body) to replay.

        Sandbox rule: same key and same method/path/body within 24 h replays the stored 2xx;
        a key whose first request is still being processed is ``request_in_progress`` (409),
        whatever this request's body (the first may yet fail and free the key); a different
        request under a key holding a stored 2xx is ``idempotency_key_reused`` (422).

        Raises:
            InFlight, InvalidRequest
        """
        now = self._clock.now()
        self.sweep()
        stored = self._stored.get(key)
        if stored and now - stored.stored_at > IDEMPOTENCY_WINDOW:
            stored = None
        if stored is None:
            self._stored.pop(key, None)  # a key used again goes to the end, with its new time
            self._stored[key] = StoredResponse(fingerprint, now)
            return None
        if stored.status is None:
            raise InFlight("request_in_progress")
        if stored.fingerprint != fingerprint:
            raise InvalidRequest("idempotency_key_reused")
        return stored.status, stored.body

    def sweep(self) -> None:
        """Remove the stored answers older than the window, at most once per :data:`SWEEP_EVERY` of sandbox time."""
        now = self._clock.now()
        if now < self._next_sweep:
            return
        self._next_sweep = now + SWEEP_EVERY
        cutoff = now - IDEMPOTENCY_WINDOW
        if isinstance(self._stored, dict):
            for key in [key for key, stored in self._stored.items() if stored.status is not None and stored.stored_at < cutoff]:
                del self._stored[key]
        else:  # the state file's table: one statement, in this request's transaction
            self._stored.delete_where(
                "json_extract(v, '$.status') IS NOT NULL AND json_extract(v, '$.stored_at') < ?", (cutoff.isoformat(),)
            )

    def claimed(self) -> dict[str, int | None]:
        """Every key held: its stored status, or None while its first request is in flight."""
        return {key: stored.status for key, stored in self._stored.items()}

    def finish(self, key: str, status: int, body: bytes) -> None:
        """Store a 2xx answer for ``key``; any other status releases the key.

        Checkout.com documents that only successful responses are stored, so a refused request
        does not consume its key: the corrected request, sent with the same key, runs.
        """
        if 200 <= status < 300 and key in self._stored:
            self._stored[key].status, self._stored[key].body = status, body
        else:
            self._stored.pop(key, None)


def _encode(stored: StoredResponse) -> dict:
    return {
        "fingerprint": stored.fingerprint,
        "stored_at": stored.stored_at.isoformat(),
        "status": stored.status,
        "body": stored.body.decode("latin-1"),  # any bytes, losslessly
    }


def _decode(data: dict) -> StoredResponse:
    return StoredResponse(data["fingerprint"], datetime.fromisoformat(data["stored_at"]), data["status"], data["body"].encode("latin-1"))
