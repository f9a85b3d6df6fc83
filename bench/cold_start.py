"""Cold start: a fresh interpreter that imports octopus_nb, starts the embedded sandbox, creates a setup.

Baselines are run interleaved with it: ``python -c pass`` (the interpreter floor) and
``python -c "import requests"`` (the floor of any requests-based client). A separate run lists
the heavy modules that must stay off this path (pandas, qrcode, ipywidgets, ...).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time

from . import Row, clean_env, median, ratio

ROWS = ("cold start: import + connect() + create", "cold start: heavy modules loaded")
GOAL_SECONDS = 1.0
OURS = (
    "import octopus_nb; c = octopus_nb.connect(); "
    "octopus_nb.create_payment_setup(c, amount=1000, currency='HKD', "
    "success_url='https://example.com/ok', failure_url='https://example.com/ko'); c.close()"
)
BASELINES = {"import requests": "import requests", "pass": "pass"}
#: imported only by the functions that need them (frames, QR codes, widgets)
HEAVY = ("pandas", "numpy", "qrcode", "PIL", "ipywidgets", "IPython", "dotenv")


def _wall(code: str, cwd: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=cwd, env=clean_env(), stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def run(quick: bool = False) -> list[Row]:
    repeats = 2 if quick else 11
    # An empty working directory: connect() reads a .env there, and there must be none.
    with tempfile.TemporaryDirectory(prefix="octopus-bench-") as cwd:
        times: dict[str, list[float]] = {"ours": [], **{name: [] for name in BASELINES}}
        for _ in range(repeats):
            times["ours"].append(_wall(OURS, cwd))
            for name, code in BASELINES.items():
                times[name].append(_wall(code, cwd))
        probe = f"{OURS}; import sys; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
        loaded = subprocess.run(
            [sys.executable, "-c", probe], check=True, cwd=cwd, env=clean_env(), capture_output=True, text=True
        ).stdout.split()
    ours, floor, bare = median(times["ours"]), median(times["pass"]), median(times["import requests"])
    return [
        Row(
            ROWS[0],
            f"{ours:.3f} s",
            f"{bare:.3f} s",
            ratio(ours, bare),
            f"≤ {GOAL_SECONDS:.1f} s median",
            ours <= GOAL_SECONDS,
            note=f'median of {repeats} fresh processes; baseline `python -c "import requests"`, interleaved; '
            f"interpreter floor `python -c pass` = {floor:.3f} s",
        ),
        Row(
            ROWS[1],
            ", ".join(loaded) or "none",
            goal="none of " + ", ".join(HEAVY),
            met=not loaded,
            note="modules in sys.modules after the cold-start command (check with `python -X importtime`)",
        ),
    ]
