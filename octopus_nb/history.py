"""Every request/response a client makes, kept in order, and shown as a pandas DataFrame.

The ``Authorization`` header is never recorded: there is no field for it. pandas is imported only
when a frame is asked for, so recording stays cheap and ``import octopus_nb`` stays fast.
"""

from __future__ import annotations

import json
import operator
import threading
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Iterator


@dataclass(frozen=True)
class Exchange:
    """One API call as the client saw it (after any retries)."""

    #: server time of the answer (the response's ``Date``; the sandbox's clock), else the client's
    time: datetime
    method: str
    path: str
    #: HTTP status, or None when no answer came
    status: int | None
    #: wall time from sending to the last byte, retries included
    latency: timedelta
    #: attempts made (1 + retries done by urllib3)
    attempts: int
    request_id: str | None
    idempotency_key: str | None
    request_body: Any
    response_body: Any
    error_codes: tuple[str, ...]
    #: why no answer came (connection refused, dropped, timed out), else None
    error: str | None = None

    def mentions(self, resource_id: str) -> bool:
        """True when the id is in the path or either body: how a frame is narrowed to one resource."""
        if resource_id in self.path:
            return True
        return resource_id in json.dumps([self.request_body, self.response_body], default=str)


COLUMNS = tuple(f.name for f in fields(Exchange))
#: Named selections of :data:`COLUMNS`, one per view (``frame[list(SUMMARY_COLUMNS)]``).
#: What each call did, with retries and error codes (``PaymentForm``'s table); no latency, which
#: differs run to run.
SUMMARY_COLUMNS = ("time", "method", "path", "status", "attempts", "error_codes")
#: Each call with its ``Cko-Request-Id``, to quote to support (the flow explorer's history).
TRACE_COLUMNS = ("time", "method", "path", "status", "request_id", "error_codes")
#: Each call with how long it took (``python -m octopus_nb demo``, printed, never compared).
TIMING_COLUMNS = ("time", "method", "path", "status", "attempts", "latency")
# A shallow row: dataclasses.astuple deep-copies every body, ~10x slower and ~2x the memory
# for a large history (bench/history_scale.py); the frame shares the recorded bodies instead.
_row = operator.attrgetter(*COLUMNS)


class History:
    """Append-only record of a client's exchanges; thread-safe."""

    def __init__(self) -> None:
        self._exchanges: list[Exchange] = []
        self._lock = threading.Lock()

    def record(self, exchange: Exchange) -> None:
        with self._lock:
            self._exchanges.append(exchange)

    def clear(self) -> None:
        with self._lock:
            self._exchanges.clear()

    def __len__(self) -> int:
        return len(self._exchanges)

    def __iter__(self) -> Iterator[Exchange]:
        with self._lock:
            return iter(list(self._exchanges))

    def __getitem__(self, index: int) -> Exchange:
        return self._exchanges[index]

    def to_frame(self, related_to: str | None = None):
        """A pandas DataFrame, one row per exchange, oldest first.

        ``related_to`` narrows it to the rows that mention one setup, payment or action id, e.g.
        ``history.to_frame(related_to=payment["id"])`` for a payment's timeline.
        """
        import pandas as pd

        rows = list(self)
        if related_to is not None:
            rows = [row for row in rows if row.mentions(related_to)]
        frame = pd.DataFrame.from_records([_row(row) for row in rows], columns=COLUMNS)
        frame["status"] = frame["status"].astype("Int64")
        frame["time"] = pd.to_datetime(frame["time"], utc=True)
        frame["latency"] = pd.to_timedelta(frame["latency"])
        frame["error_codes"] = frame["error_codes"].map(", ".join)
        return frame

    def to_curl(self, base_url: str, *, related_to: str | None = None, key_variable: str = "CKO_SECRET_KEY") -> list[str]:
        """Each exchange as a ``curl`` command, to replay or share; the key stays a shell variable.

        The ``Authorization`` header is written as ``Bearer $CKO_SECRET_KEY`` (the key is never
        recorded, so it cannot leak here); bodies are sent as the client sent them, and POST/PUT
        keep their ``Cko-Idempotency-Key``, so replaying one is safe.

        >>> print("\n".join(client.history.to_curl(client.base_url)))  # doctest: +SKIP
        """
        import shlex

        commands = []
        for row in self:
            if related_to is not None and not row.mentions(related_to):
                continue
            parts = ["curl", "-X", row.method, shlex.quote(base_url.rstrip("/") + row.path),
                     "-H", f'"Authorization: Bearer ${key_variable}"']
            if row.idempotency_key:
                parts += ["-H", shlex.quote(f"Cko-Idempotency-Key: {row.idempotency_key}")]
            if row.request_body is not None:
                body = json.dumps(row.request_body, separators=(",", ":"))
                parts += ["-H", shlex.quote("Content-Type: application/json"), "--data", shlex.quote(body)]
            commands.append(" ".join(parts))
        return commands

    def __repr__(self) -> str:
        return f"<History of {len(self)} exchanges>"
