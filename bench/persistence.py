"""Persistence: the sandbox with ``--state PATH`` (SQLite) against the in-memory sandbox.

Two figures. Latency: the four-call flow create setup → confirm → approve (``/_sandbox`` control
route) → get payment, one keep-alive client, against two sandbox processes (``--state`` and
in-memory) in alternating rounds; the ratio is the median of per-round ratios. Memory: the
sandbox process's resident set (``VmRSS`` from ``/proc``) after a 500-flow warm-up, then after
5,000 and 50,000 flows (two client threads, so the server is kept busy), for each mode.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from . import SANDBOX_KEY, SETUP_BODY, Row, median, sandbox_process

ROWS = (
    "persistence: flow latency, --state vs in-memory",
    "persistence: RSS growth after 5,000 flows",
    "persistence: RSS growth after 50,000 flows",
)
GOAL_RATIO = 1.5
GOAL_GROWTH_MB = 20
_HEADERS = {"Authorization": f"Bearer {SANDBOX_KEY}", "Content-Type": "application/json"}
_BODY = json.dumps(SETUP_BODY).encode()


@contextlib.contextmanager
def sandbox(state: Path | None) -> Iterator[tuple[str, int, int]]:
    """``python -m octopus_nb.sandbox`` (with ``--state`` when given); yields host, port and pid."""
    with sandbox_process(7, *(["--state", str(state)] if state is not None else [])) as served:
        yield served.host, served.port, served.pid


def call(conn: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None) -> dict:
    """One request on a keep-alive connection; its JSON answer (a non-2xx raises)."""
    conn.request(method, path, body=body, headers=_HEADERS)
    response = conn.getresponse()
    data = response.read()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path} answered {response.status}: {data[:200]!r}")
    return json.loads(data)


def flow(conn: http.client.HTTPConnection) -> None:
    """create → confirm → approve → get: the flow the issue measures."""
    setup = call(conn, "POST", "/payments/setups", _BODY)
    payment = call(conn, "POST", f"/payments/setups/{setup['id']}/confirm/octopus")
    call(conn, "POST", f"/_sandbox/payments/{payment['id']}/approve")
    assert call(conn, "GET", f"/payments/{payment['id']}")["status"] == "Captured"


def _flows(host: str, port: int, count: int, threads: int = 1) -> None:
    def work(n: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        for _ in range(n):
            flow(conn)
        conn.close()

    shares = [count // threads + (i < count % threads) for i in range(threads)]
    workers = [threading.Thread(target=work, args=(n,)) for n in shares]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc")


def _latency(rounds: int, flows: int, warmup: int, directory: Path) -> tuple[list[float], list[float]]:
    with sandbox(None) as memory, sandbox(directory / "latency.db") as stored:
        conns = {
            name: http.client.HTTPConnection(host, port, timeout=30) for name, (host, port, _) in (("memory", memory), ("state", stored))
        }
        timings: dict[str, list[float]] = {"memory": [], "state": []}
        for conn in conns.values():
            for _ in range(warmup):
                flow(conn)
        for i in range(rounds):
            order = ("memory", "state") if i % 2 == 0 else ("state", "memory")
            for name in order:
                started = time.perf_counter()
                for _ in range(flows):
                    flow(conns[name])
                timings[name].append((time.perf_counter() - started) / flows)
        for conn in conns.values():
            conn.close()
    return timings["state"], timings["memory"]


def _growth(state: Path | None, checkpoints: tuple[int, ...], warmup: int) -> tuple[list[float], float]:
    """RSS growth (MB) over the warm-up figure after each checkpoint's number of flows, and the final RSS."""
    with sandbox(state) as (host, port, pid):
        _flows(host, port, warmup)
        time.sleep(0.2)
        base = rss_mb(pid)
        done, growth = 0, []
        for checkpoint in checkpoints:
            _flows(host, port, checkpoint - done, threads=2)
            done = checkpoint
            growth.append(rss_mb(pid) - base)
        return growth, rss_mb(pid)


def run(quick: bool = False) -> list[Row]:
    rounds, flows, warmup = (2, 3, 3) if quick else (20, 20, 100)
    checkpoints = (20, 50) if quick else (5_000, 50_000)
    with tempfile.TemporaryDirectory(prefix="octopus-bench-state-") as tmp:
        directory = Path(tmp)
        state_times, memory_times = _latency(rounds, flows, warmup, directory)
        state_growth, _ = _growth(directory / "growth.db", checkpoints, warmup=20 if quick else 500)
        memory_growth, _ = _growth(None, checkpoints, warmup=20 if quick else 500)
        db_mb = sum(f.stat().st_size for f in directory.glob("growth.db*")) / 1e6
    paired = median(s / m for s, m in zip(state_times, memory_times))
    rows = [
        Row(
            ROWS[0],
            f"{median(state_times) * 1000:.2f} ms",
            f"{median(memory_times) * 1000:.2f} ms",
            f"{paired:.2f}×",
            f"≤ {GOAL_RATIO:.1f}×",
            paired <= GOAL_RATIO,
            note=f"create → confirm → approve → get, one keep-alive client; median of {rounds} alternating rounds × "
            f"{flows} flows (ratio: median of per-round ratios); baseline: the same sandbox in memory",
        )
    ]
    for index, count in enumerate(checkpoints):
        per_flow_kb = memory_growth[index] * 1024 / count
        rows.append(
            Row(
                ROWS[index + 1],
                f"{state_growth[index]:.1f} MB",
                f"{memory_growth[index]:.1f} MB (in memory)",
                goal=f"≤ {GOAL_GROWTH_MB} MB with --state",
                met=state_growth[index] <= GOAL_GROWTH_MB,
                note=f"VmRSS of the sandbox process after {count:,} flows minus after the warm-up; in memory that is "
                f"{per_flow_kb:.1f} KB per flow" + (f"; the state file then held {db_mb:.0f} MB" if index else ""),
            )
        )
    return rows


if __name__ == "__main__":
    for row in run(quick="--quick" in sys.argv):
        print(row)
