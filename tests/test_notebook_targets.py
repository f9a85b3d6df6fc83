"""The notebooks' targets (``OCTOPUS_NB_TARGET``) as nbval sees them, in a pytest subprocess.

With ``OCTOPUS_NB_TARGET=sandbox`` and well-formed fake credentials, every cell tagged
``simulator-only`` is skipped at collection and no socket leaves loopback: a guard plugin makes any
connection (or name lookup) beyond 127.0.0.1 fail and records it. Only the simulator-only cells are
kept for the run, so nothing else executes (and no kernel starts: they are skipped before setup).
With a base URL that serves ``/_sandbox/`` (an embedded sandbox on loopback), nothing is skipped and
the ``seed-dependent`` cells are run but not compared (those runs only collect: no cell executes).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from octopus_nb.sandbox import Sandbox

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
FAKE_KEY = "sk_sbox_" + "q" * 26 + "="

GUARD = '''
"""Loaded with -p: refuse (and record) every connection or name lookup beyond loopback."""
import json, os, socket

LOG = os.environ["GUARD_LOG"]
LOOPBACK = ("127.0.0.1", "::1", "localhost")
_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def _note(what, address):
    with open(LOG, "a") as log:
        log.write(json.dumps([what, repr(address)]) + "\\n")
    raise OSError(f"guard: {what} to {address!r} would leave loopback")


def _checked(address):
    return not isinstance(address, tuple) or address[0] in LOOPBACK


def connect(self, address):
    return _connect(self, address) if _checked(address) else _note("connect", address)


def connect_ex(self, address):
    return _connect_ex(self, address) if _checked(address) else _note("connect_ex", address)


def getaddrinfo(host, *args, **kwargs):
    if host is None or (host.decode() if isinstance(host, bytes) else host) in LOOPBACK:
        return _getaddrinfo(host, *args, **kwargs)
    return _note("getaddrinfo", host)


socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo
'''

REPORT = '''
"""Loaded with -p: record each nbval cell's tags, skip marks and check option; keep only simulator-only cells."""
import json, os

import pytest

CELLS = {}


@pytest.hookimpl(trylast=True)  # after notebooks/conftest.py has marked the cells
def pytest_collection_modifyitems(config, items):
    for item in items:
        tags = item.cell.get("metadata", {}).get("tags", [])
        CELLS[item.nodeid] = {"tags": tags, "skip_marked": item.get_closest_marker("skip") is not None,
                              "check": bool(item.options["check"]), "outcome": None}
    keep = os.environ.get("RUN_SIMULATOR_CELLS") == "1"
    items[:] = [item for item in items if keep and "simulator-only" in CELLS[item.nodeid]["tags"]]


def pytest_runtest_logreport(report):
    if report.nodeid in CELLS and (report.when == "setup" or report.outcome != "passed"):
        CELLS[report.nodeid]["outcome"] = report.outcome


def pytest_sessionfinish(session):
    with open(os.environ["REPORT_JSON"], "w") as out:
        json.dump(CELLS, out)
'''


def _run_collection(
    tmp_path: Path, target: str, *, run_simulator_cells: bool = False, **env: str
) -> tuple[dict, list[str], subprocess.CompletedProcess]:
    """Collect every notebook under ``target`` in a guarded pytest subprocess; run the simulator-only cells if asked.

    Returns each cell's record (tags, skip mark, check option, outcome), the refused attempts to
    leave loopback, and the finished process.
    """
    (tmp_path / "guard_plugin.py").write_text(GUARD)
    (tmp_path / "report_plugin.py").write_text(REPORT)
    log, report = tmp_path / "guard.log", tmp_path / "cells.json"
    environ = {key: value for key, value in os.environ.items() if not key.startswith(("CKO_", "OCTOPUS_NB_"))}
    environ.update(
        OCTOPUS_NB_TARGET=target,
        GUARD_LOG=str(log),
        REPORT_JSON=str(report),
        PYTHONPATH=str(tmp_path),
        RUN_SIMULATOR_CELLS="1" if run_simulator_cells else "0",
        **env,
    )
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        "-p",
        "guard_plugin",
        "-p",
        "report_plugin",
        "-p",
        "nbval",
        "--nbval",
        "--nbval-current-env",
        "--nbval-sanitize-with",
        "notebooks/sanitize-live.cfg",
        "-p",
        "no:python",
        "notebooks/",
    ]
    result = subprocess.run(command, cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300)
    cells = json.loads(report.read_text()) if report.exists() else {}
    attempts = log.read_text().splitlines() if log.exists() else []
    return cells, attempts, result


def _tagged(tag: str) -> int:
    count = 0
    for path in NOTEBOOKS.glob("*.ipynb"):
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        count += sum(tag in cell.get("metadata", {}).get("tags", []) for cell in cells if cell["cell_type"] == "code")
    return count


def test_checkout_sandbox_target_skips_every_simulator_only_cell_and_stays_on_loopback(tmp_path):
    cells, attempts, result = _run_collection(
        tmp_path,
        "sandbox",
        run_simulator_cells=True,
        CKO_SECRET_KEY=FAKE_KEY,
        CKO_PREFIX="abcd1234",
        CKO_PROCESSING_CHANNEL_ID="pc_" + "q" * 26,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert attempts == [], f"tried to leave loopback: {attempts}"
    simulator = {node: cell for node, cell in cells.items() if "simulator-only" in cell["tags"]}
    assert len(simulator) == _tagged("simulator-only") >= 20
    assert all(cell["skip_marked"] and cell["outcome"] == "skipped" for cell in simulator.values()), simulator
    others = [node for node, cell in cells.items() if cell["skip_marked"] and "simulator-only" not in cell["tags"]]
    assert others == [], f"only simulator-only cells are skipped: {others}"
    assert f"{len(simulator)} skipped" in result.stdout


def test_a_url_with_the_simulator_runs_every_cell_and_compares_all_but_seed_dependent_ones(tmp_path):
    with Sandbox(seed=8, secret_key=FAKE_KEY) as sandbox:  # the conftest asks it for /_sandbox/ at collection
        cells, attempts, result = _run_collection(tmp_path, sandbox.base_url, CKO_SECRET_KEY=FAKE_KEY)
    assert attempts == [] and cells, result.stdout[-3000:] + result.stderr[-3000:]
    assert not any(cell["skip_marked"] for cell in cells.values())
    unchecked = {node for node, cell in cells.items() if not cell["check"]}
    assert unchecked == {node for node, cell in cells.items() if "seed-dependent" in cell["tags"]}
    assert len(unchecked) == _tagged("seed-dependent") >= 1


def test_an_unknown_target_stops_the_run_before_any_cell(tmp_path):
    cells, attempts, result = _run_collection(tmp_path, "production", CKO_SECRET_KEY=FAKE_KEY, CKO_PREFIX="abcd1234")
    assert result.returncode != 0 and attempts == []
    assert "The target production is refused" in result.stdout + result.stderr


@pytest.mark.parametrize("tag", ["simulator-only", "seed-dependent"])
def test_tags_are_used(tag):
    assert _tagged(tag) >= 1


def test_the_guard_refuses_and_records_before_any_traffic(tmp_path):
    (tmp_path / "guard_plugin.py").write_text(GUARD)
    log = tmp_path / "guard.log"
    probe = (
        "import guard_plugin, socket\n"
        "for call in (lambda: socket.socket().connect(('192.0.2.1', 443)),  # TEST-NET-1: never routed\n"
        "             lambda: socket.getaddrinfo('abcd1234.api.sandbox.checkout.com', 443)):\n"
        "    try:\n        call()\n    except OSError as error:\n        assert 'guard' in str(error), error\n"
    )
    environ = {**os.environ, "GUARD_LOG": str(log), "PYTHONPATH": str(tmp_path)}
    subprocess.run([sys.executable, "-c", probe], env=environ, check=True, timeout=60)
    assert [json.loads(line)[0] for line in log.read_text().splitlines()] == ["connect", "getaddrinfo"]
