"""Notebook suite: ``pytest --nbval`` over notebooks/ vs as many trivial one-cell notebooks; parallel vs serial.

The baseline is the floor nbval can't go under: pytest start-up plus one kernel start per
notebook. A second, informational baseline adds the imports every notebook pays for
(``import octopus_nb, pandas``), to show what the notebooks' own cells cost. The trivial
notebooks are written into a temporary directory; all suites run with the same flags
(``--nbval-sanitize-with notebooks/sanitize.cfg`` when that file exists), interleaved. A third row
runs the same notebooks with pytest-xdist (``-n 2 --dist loadfile``: each notebook whole on one
worker, as ``make test`` does) against the serial run of the same round.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import ROOT, Row, clean_env, median, ratio

ROWS = ("notebook suite (pytest --nbval)", "notebook suite vs kernel + imports floor", "notebook suite, 2 workers vs serial")
GOAL = 1.3
PARALLEL_GOAL = 0.65
#: how make test spreads the notebooks: nbval needs each notebook whole on one worker
PARALLEL = ["-n", "2", "--dist", "loadfile"]
NOTEBOOKS = ROOT / "notebooks"
SANITIZE = NOTEBOOKS / "sanitize.cfg"


#: the one cell of each baseline notebook: nothing, then the imports every notebook pays for
#: (each ends with ``client.history.to_frame()``, so each kernel imports pandas)
FLOORS = {"kernel": "x = 1", "imports": "import octopus_nb, pandas"}


def _trivial_notebook(source: str) -> dict:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": [{"cell_type": "code", "id": "trivial", "metadata": {}, "execution_count": 1, "source": source, "outputs": []}],
    }


def _pytest(targets: list[Path], cwd: Path, extra: tuple[str, ...] = ()) -> tuple[float, subprocess.CompletedProcess]:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval", "--nbval-current-env", "-p", "no:python", *extra]
    if SANITIZE.exists():
        command += ["--nbval-sanitize-with", str(SANITIZE)]
    started = time.perf_counter()
    done = subprocess.run([*command, *map(str, targets)], cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=1800)
    return time.perf_counter() - started, done


def run(quick: bool = False) -> list[Row]:
    found = sorted(p for p in NOTEBOOKS.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not found:
        return [Row(ROWS[0], "no notebooks", note="notebooks/ has no .ipynb files yet")]
    rounds = 1 if quick else 3
    found = found[:1] if quick else found  # --quick only checks that the benchmark runs
    with tempfile.TemporaryDirectory(prefix="octopus-bench-nb-") as tmp:
        suites = {"ours": found, "parallel": found}
        for name, source in FLOORS.items():
            suites[name] = [Path(tmp, f"{name}-{i:02d}.ipynb") for i in range(len(found))]
            for path in suites[name]:
                path.write_text(json.dumps(_trivial_notebook(source)))
        times: dict[str, list[float]] = {name: [] for name in suites}
        for i in range(rounds):
            for name in list(suites) if i % 2 == 0 else reversed(suites):
                extra = tuple(PARALLEL) if name == "parallel" else ()
                elapsed, done = _pytest(suites[name], ROOT if name in ("ours", "parallel") else Path(tmp), extra)
                if done.returncode != 0:
                    tail = " | ".join(done.stdout.strip().splitlines()[-3:])
                    return [Row(title, f"failed (exit {done.returncode})", met=False, note=f"{name} suite: {tail}") for title in ROWS]
                times[name].append(elapsed)
    o, k, m, par = (median(times[name]) for name in ("ours", "kernel", "imports", "parallel"))
    return [
        Row(
            ROWS[0],
            f"{o:.1f} s",
            f"{k:.1f} s",
            ratio(o, k),
            f"≤ {GOAL:.1f}×",
            o / k <= GOAL,
            note=f"{len(found)} notebooks, median of {rounds} interleaved runs; baseline: {len(found)} one-cell "
            f"notebooks (`{FLOORS['kernel']}`) under the same pytest --nbval flags (pytest + kernel start-up floor)",
        ),
        Row(
            ROWS[1],
            f"{o:.1f} s",
            f"{m:.1f} s",
            ratio(o, m),
            note=f"informational: the same, but each baseline cell runs `{FLOORS['imports']}`, "
            "so the ratio shows what the notebooks' own cells cost beyond kernel start and imports",
        ),
        Row(
            ROWS[2],
            f"{par:.1f} s",
            f"{o:.1f} s",
            ratio(par, o),
            f"≤ {PARALLEL_GOAL:.2f}×",
            par / o <= PARALLEL_GOAL,
            note=f"pytest-xdist `{' '.join(PARALLEL)}` against the serial suite above, same rounds, interleaved",
        ),
    ]
