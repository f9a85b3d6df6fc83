"""Benchmarks for octopus-nb: ``python -m bench`` (or ``make bench``) prints one table.

Each module measures one thing against a baseline taken in the same run, interleaved where it
can be, and reports medians, because these machines are small and noisy (2 cores). Every module
has ``ROWS`` (its row names, printed even when it fails) and ``run(quick) -> list[Row]``;
``quick`` uses tiny counts so CI can check that the benchmarks still run.
"""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from octopus_nb.sandbox.models import DEFAULT_SECRET_KEY

#: the repository root (bench/ sits in it)
ROOT = Path(__file__).resolve().parent.parent
#: the embedded sandbox's documented key; the separate sandbox process accepts it by default
SANDBOX_KEY = DEFAULT_SECRET_KEY
#: one realistic create body, the same for every client and server measured
SETUP_BODY = {
    "amount": 1000,
    "currency": "HKD",
    "reference": "ORD-5023-4E89",
    "description": "Set of 3 masks",
    "settings": {"success_url": "https://example.com/payments/success", "failure_url": "https://example.com/payments/fail"},
}


@dataclass
class Row:
    """One line of the table."""

    measurement: str
    ours: str
    baseline: str = "—"
    ratio: str = "—"
    goal: str = "—"
    #: True / False, or None when there is no goal or no figure
    met: bool | None = None
    #: how the figure was taken, or why it is missing; printed under the table
    note: str = ""


def median(values) -> float:
    return statistics.median(values)


def ratio(ours: float, baseline: float) -> str:
    return f"{ours / baseline:.2f}×" if baseline else "—"


def clean_env() -> dict:
    """The environment without ``CKO_*`` settings, so ``connect()`` always means the embedded sandbox."""
    return {k: v for k, v in os.environ.items() if not k.startswith("CKO_")}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def sandbox_process(seed: int = 7, *options: str) -> Iterator[str]:
    """``python -m octopus_nb.sandbox`` in its own process (its own GIL), with ``options``; yields its base URL.

    The URL is a :class:`Served`: it also carries the process's ``pid`` (memory benchmarks read its RSS).
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "octopus_nb.sandbox", "--port", "0", "--seed", str(seed), *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=clean_env(),
        cwd=ROOT,
    )
    try:
        base_url = proc.stdout.readline().strip()
        if not base_url.startswith("http://"):
            raise RuntimeError(f"the sandbox did not print its base URL (exit {proc.poll()})")
        yield Served(base_url, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Served(str):
    """A sandbox process's base URL (a ``str``), with its ``pid`` and ``host``/``port``."""

    def __new__(cls, base_url: str, pid: int) -> Served:
        served = super().__new__(cls, base_url)
        served.pid = pid
        served.host, port = base_url.removeprefix("http://").split(":")
        served.port = int(port)
        return served


def machine() -> str:
    """CPU model, cores and Python: what the figures depend on."""
    model = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()} ({sys.executable})"
    )
