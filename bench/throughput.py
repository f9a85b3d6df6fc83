"""Sandbox under load: 8 concurrent keep-alive clients on create-setup (POST) + get-setup (GET).

Side by side with Stoplight Prism (``prism mock``) serving an OpenAPI document of the same routes,
once per document: the sandbox's own ``octopus_nb/sandbox/openapi.yaml`` (Prism generates and
validates more, so it is slower) and the minimal ``bench/openapi-prism.yaml`` (Prism's fastest
case). Each gets its own rows, so no figure depends on picking the document. All servers run as
separate processes; rounds alternate which goes first. Load comes from ``wrk`` (``apt-get install wrk``) with ``mix.lua``,
or, without wrk, from 8 Python threads (which cap the figures: the row says so).
Prism is installed with npm into a cache outside the repository on first use.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import requests

from . import ROOT, SANDBOX_KEY, SETUP_BODY, Row, free_port, median, ratio, sandbox_process

ROWS = ("sandbox throughput, 8 clients", "sandbox p99 latency, 8 clients")
GOAL_X = 3.0
CLIENTS = 8
PRISM_VERSION = "5.14.2"
CACHE = Path(os.environ.get("OCTOPUS_NB_BENCH_CACHE", Path.home() / ".cache" / "octopus-nb-bench"))
#: tried in order; OCTOPUS_NB_BENCH_PRISM_SPEC=path puts another document first
SPECS = tuple(
    Path(p) if Path(p).is_absolute() else ROOT / p
    for p in (os.environ.get("OCTOPUS_NB_BENCH_PRISM_SPEC"), "octopus_nb/sandbox/openapi.yaml", "bench/openapi-prism.yaml")
    if p
)
BODY = json.dumps(SETUP_BODY, separators=(",", ":"))
SETUP_ID = re.compile(r"^set_[a-z2-7]{26}$")
HEADERS = {"Authorization": f"Bearer {SANDBOX_KEY}", "Accept": "application/json"}


class Unavailable(Exception):
    """Prism (the baseline) can't be run here; the rows say why instead of failing."""


def prism_command() -> list[str]:
    """The ``prism`` executable, installed on first use (never into the repository)."""
    prefix = CACHE / f"prism-{PRISM_VERSION}"
    prism = prefix / "node_modules" / ".bin" / "prism"
    if prism.exists():
        return [str(prism)]
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise Unavailable("node/npm not found")
    try:
        done = subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(prefix),
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                f"@stoplight/prism-cli@{PRISM_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    except subprocess.TimeoutExpired:
        raise Unavailable("npm install timed out") from None
    if done.returncode != 0 or not prism.exists():
        raise Unavailable(f"npm install failed: {done.stderr.strip()[-200:]}")
    return [str(prism)]


@contextmanager
def prism_process(command: list[str], spec: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [*command, "mock", "-h", "127.0.0.1", "-p", str(port), str(spec)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(base_url + "/", timeout=1)
                break
            except requests.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise Unavailable(f"prism did not start (exit {proc.poll()})") from None
                time.sleep(0.2)
        yield base_url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # its own session: the node process and nothing else of ours
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_prisms(stack: ExitStack) -> tuple[dict[str, tuple[str, str]], dict[str, str]]:
    """Prism mocking each OpenAPI document in turn: ({label: (base URL, setup id)}, {label or "prism": note}).

    Every document is measured, not just one: how fast Prism answers depends on the document it
    mocks (the full one makes it generate and validate more), and the table must not pick.
    """
    try:
        command = prism_command()
    except Unavailable as why:
        return {}, {"prism": str(why)}
    servers, notes = {}, {}
    for spec in SPECS:
        if not spec.exists():
            continue
        label = f"Prism ({spec.name})"
        attempt = ExitStack()
        try:
            url = attempt.enter_context(prism_process(command, spec))
            servers[label] = (url, create_one(url))
        except Unavailable as exc:
            attempt.close()
            notes[label] = f"{spec.relative_to(ROOT)}: {exc}"
            continue
        stack.callback(attempt.close)
        notes[label] = f"Prism {PRISM_VERSION} mocking {spec.relative_to(ROOT)}"
    return servers, notes or {"prism": "no OpenAPI document found"}


def create_one(base_url: str) -> str:
    """A setup id for the GETs; also proves the server answers the load's requests with 200."""
    with requests.Session() as session:
        made = session.post(base_url + "/payments/setups", data=BODY, timeout=10, headers={**HEADERS, "Content-Type": "application/json"})
        setup_id = made.json().get("id", "") if made.status_code == 200 else ""
        if not SETUP_ID.match(setup_id):  # Prism may generate "string"; it is stateless, any valid id does
            setup_id = "set_7hjyvw3mzu2ebhq5ygvljadfga"
        got = session.get(f"{base_url}/payments/setups/{setup_id}", headers=HEADERS, timeout=10)
    if made.status_code != 200 or got.status_code != 200:
        raise Unavailable(f"POST answered {made.status_code}, GET {got.status_code}")
    return setup_id


def wrk_load(base_url: str, setup_id: str, seconds: int) -> dict:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CLIENTS}",
            f"-d{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(ROOT / "bench" / "mix.lua"),
            base_url,
            "--",
            SANDBOX_KEY,
            setup_id,
            BODY,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    m = dict((k, int(v)) for k, v in re.findall(r"(\w+)=(\d+)", out.split("BENCH", 1)[1]))
    return {
        "rps": m["requests"] / (m["duration_us"] / 1e6),
        "p50_ms": m["p50_us"] / 1000,
        "p99_ms": m["p99_us"] / 1000,
        "bad": m["errors"] + m["non2xx"],
    }


def python_load(base_url: str, setup_id: str, seconds: float) -> dict:
    """Fallback without wrk: 8 threads, each with its own keep-alive session, same mix."""
    deadline = time.perf_counter() + seconds

    def client(first: int) -> tuple[list[float], int]:
        latencies, bad = [], 0
        with requests.Session() as session:
            n = first
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                if n % 2:
                    answer = session.get(f"{base_url}/payments/setups/{setup_id}", headers=HEADERS, timeout=5)
                else:
                    answer = session.post(
                        base_url + "/payments/setups", data=BODY, timeout=5, headers={**HEADERS, "Content-Type": "application/json"}
                    )
                latencies.append(time.perf_counter() - started)
                bad += answer.status_code != 200
                n += 1
        return latencies, bad

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(client, range(CLIENTS)))
    elapsed = time.perf_counter() - started
    latencies = sorted(x for lat, _ in results for x in lat)
    return {
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99)],
        "bad": sum(bad for _, bad in results),
    }


def run(quick: bool = False) -> list[Row]:
    rounds, seconds, warmup = (1, 1, 1) if quick else (5, 3, 3)
    load = wrk_load if shutil.which("wrk") else python_load
    how = "wrk -t1 -c8 + mix.lua" if load is wrk_load else "8 Python threads (wrk not found: figures capped by the client)"
    with sandbox_process() as sandbox_url, ExitStack() as stack:
        servers = {"ours": (sandbox_url, create_one(sandbox_url))}
        prisms, notes = start_prisms(stack)
        servers.update(prisms)
        results: dict[str, list[dict]] = {name: [] for name in servers}
        for url, setup_id in servers.values():
            load(url, setup_id, warmup)  # Prism's JIT warms up; the same courtesy for the sandbox
        order = list(servers)
        for i in range(rounds):
            for name in order if i % 2 == 0 else reversed(order):
                results[name].append(load(*servers[name], seconds))

    def figure(name: str, key: str) -> float:
        return median(r[key] for r in results[name])

    ours_rps, ours_p99, ours_p50 = figure("ours", "rps"), figure("ours", "p99_ms"), figure("ours", "p50_ms")
    common = f"median of {rounds} interleaved {seconds} s rounds after {warmup} s warm-up; load: {how}"
    if not prisms:
        note = f"{common}; baseline unavailable: {'; '.join(notes.values())}"
        return [
            Row(ROWS[0], f"{ours_rps:.0f} req/s", "baseline unavailable", goal=f"≥ {GOAL_X:.2f}×", note=note),
            Row(ROWS[1], f"{ours_p99:.1f} ms", "baseline unavailable", goal="< Prism's", note=f"p50 {ours_p50:.1f} ms"),
        ]
    rows = []
    for label in prisms:
        bad = sum(r["bad"] for r in results["ours"]) + sum(r["bad"] for r in results[label])
        clean = bad == 0  # a goal counts as met only if every answer during the load was 200
        prism_rps, prism_p99, prism_p50 = figure(label, "rps"), figure(label, "p99_ms"), figure(label, "p50_ms")
        rows += [
            Row(
                f"{ROWS[0]} vs {label}",
                f"{ours_rps:.0f} req/s",
                f"{prism_rps:.0f} req/s",
                ratio(ours_rps, prism_rps),
                f"≥ {GOAL_X:.2f}×",
                clean and ours_rps >= GOAL_X * prism_rps,
                note=f"{common}; baseline: {notes[label]}; 50/50 POST /payments/setups + GET /payments/setups/{{id}}"
                + ("" if clean else f"; {bad} non-200 answers"),
            ),
            Row(
                f"{ROWS[1]} vs {label}",
                f"{ours_p99:.1f} ms",
                f"{prism_p99:.1f} ms",
                ratio(ours_p99, prism_p99),
                "< Prism's",
                clean and ours_p99 < prism_p99,
                note=f"p50: ours {ours_p50:.1f} ms, {label} {prism_p50:.1f} ms",
            ),
        ]
    return rows
