"""Every request/response a client makes, kept in order; shown as a table people read, or a DataFrame.

``client.history`` shows one short row per call in Jupyter (ids cut to what you recognise, latency
in ms, bodies folded): :class:`HistoryTable`. ``client.history.to_frame()`` is the raw pandas
DataFrame for analysis code (full ids, bodies as dicts, ``latency_ms`` as a float).

The ``Authorization`` header is never recorded: there is no field for it. pandas is imported only
when a frame is asked for, so recording stays cheap and ``import octopus_nb`` stays fast.
"""

from __future__ import annotations

import html
import json
import operator
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any


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


#: The fields of an :class:`Exchange`, in order.
FIELDS = tuple(f.name for f in fields(Exchange))
#: Columns of :meth:`History.to_frame`: the exchange's fields, latency as ``latency_ms`` (a float).
COLUMNS = tuple("latency_ms" if name == "latency" else name for name in FIELDS)
#: Named selections of :data:`COLUMNS`, one per view (``frame[list(SUMMARY_COLUMNS)]``).
#: What each call did, with retries and error codes (``PaymentForm``'s table); no latency, which
#: differs run to run.
SUMMARY_COLUMNS = ("time", "method", "path", "status", "attempts", "error_codes")
#: Each call with its ``Cko-Request-Id``, to quote to support (the flow explorer's history).
TRACE_COLUMNS = ("time", "method", "path", "status", "request_id", "error_codes")
# A shallow row: dataclasses.astuple deep-copies every body, ~10x slower and ~2x the memory
# for a large history (bench/history_scale.py); the frame shares the recorded bodies instead.
_row = operator.attrgetter(*FIELDS)


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

    def table(self, related_to: str | None = None) -> HistoryTable:
        """The readable table (what ``client.history`` shows), optionally one resource's rows only."""
        rows = list(enumerate(self, start=1))
        return HistoryTable((n, row) for n, row in rows if related_to is None or row.mentions(related_to))

    def _repr_html_(self) -> str:
        return self.table()._repr_html_()

    def to_frame(self, related_to: str | None = None):
        """The raw pandas DataFrame, one row per exchange, oldest first: for analysis code.

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
        frame["latency_ms"] = pd.to_timedelta(frame["latency_ms"]).dt.total_seconds() * 1000
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
            parts = [
                "curl",
                "-X",
                row.method,
                shlex.quote(base_url.rstrip("/") + row.path),
                "-H",
                f'"Authorization: Bearer ${key_variable}"',
            ]
            if row.idempotency_key:
                parts += ["-H", shlex.quote(f"Cko-Idempotency-Key: {row.idempotency_key}")]
            if row.request_body is not None:
                body = json.dumps(row.request_body, separators=(",", ":"))
                parts += ["-H", shlex.quote("Content-Type: application/json"), "--data", shlex.quote(body)]
            commands.append(" ".join(parts))
        return commands

    def __repr__(self) -> str:
        return f"<History of {len(self)} exchanges>"


#: An API id (``set_…``, ``pay_…``...) is recognised by its prefix and first four characters.
_ID = re.compile(r"\b((?:set|pay|cus|act|evt|pc)_[a-z2-7]{4})[a-z2-7]{22}\b")
#: Columns of the readable table, in order (bodies are one folded cell).
HEADERS = ("#", "time", "call", "status", "latency", "tries", "request", "errors")
# Two classes and the element outrank JupyterLab's own table rules (right-aligned) without !important.
_STYLE = (
    "<style>.octopus-history-view table.octopus-history :is(td,th){text-align:left;white-space:nowrap;padding:2px 6px;"
    "vertical-align:top}.octopus-history-view table.octopus-history pre{white-space:pre-wrap;margin:0;text-align:left}"
    ".octopus-history-view details[open]{min-width:36em;max-width:60em}"
    ".octopus-history-view .bad{color:#b00020}.octopus-history-view .good{color:#2e7d32}</style>"
)


def short_ids(text: str) -> str:
    """``text`` with each API id cut to its prefix and four characters: ``pay_v4se…``."""
    return _ID.sub(r"\1…", text)


def _short(value: str | None, keep: int = 8) -> str:
    return "" if not value else value[:keep] + ("…" if len(value) > keep else "")


def _cells(number: int, exchange: Exchange) -> tuple[str, ...]:
    status = "no answer" if exchange.status is None else str(exchange.status)
    return (
        str(number),
        exchange.time.strftime("%H:%M:%S"),
        f"{exchange.method} {short_ids(exchange.path)}",
        status if exchange.error is None else f"{status} ({exchange.error})",
        f"{exchange.latency.total_seconds() * 1000:.1f} ms",
        str(exchange.attempts),
        _short(exchange.request_id),
        ", ".join(exchange.error_codes),
    )


def _bodies(exchange: Exchange) -> str:
    parts = [f"<b>idempotency key</b> <code>{html.escape(exchange.idempotency_key)}</code>"] if exchange.idempotency_key else []
    for name, body in (("request", exchange.request_body), ("response", exchange.response_body)):
        if body is not None:
            text = json.dumps(body, indent=2, ensure_ascii=False, default=str)
            parts.append(f"<b>{name}</b><pre>{html.escape(text)}</pre>")
    if not parts:
        return ""
    return "<details><summary>details</summary>" + "".join(parts) + "</details>"


class HistoryTable:
    """A read-only view of some exchanges: ``_repr_html_`` for Jupyter, ``str()`` for terminals."""

    def __init__(self, exchanges: Iterable[tuple[int, Exchange]]):
        #: (number in the whole history, exchange), oldest first
        self.rows = list(exchanges)

    def __str__(self) -> str:
        table = [HEADERS] + [_cells(number, exchange) for number, exchange in self.rows]
        widths = [max(len(row[i]) for row in table) for i in range(len(HEADERS))]
        return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in table)

    def _repr_html_(self) -> str:
        head = "".join(f"<th>{html.escape(name)}</th>" for name in HEADERS) + "<th>more</th>"
        body = []
        for number, exchange in self.rows:
            cells = _cells(number, exchange)
            tone = "good" if exchange.status is not None and exchange.status < 300 else "bad"
            tds = [f"<td>{html.escape(cell)}</td>" for cell in cells]
            tds[2] = f'<td title="{html.escape(exchange.path)}">{html.escape(cells[2])}</td>'
            tds[3] = f'<td class="{tone}">{html.escape(cells[3])}</td>'
            tds[6] = f'<td title="{html.escape(exchange.request_id or "")}">{html.escape(cells[6])}</td>'
            body.append("<tr>" + "".join(tds) + f"<td>{_bodies(exchange)}</td></tr>")
        return (
            f'<div class="octopus-history-view">{_STYLE}<table class="octopus-history"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>"
        )

    def __repr__(self) -> str:
        return f"<HistoryTable of {len(self.rows)} exchanges>"
