"""The benchmarks run and print every row (figures are not asserted: they live in docs/performance.md, not in tests)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_quick_bench_prints_every_row_it_measures():
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--only", "client_overhead", "cold_start", "history_scale", "timetravel"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = ("client overhead: full flow", "cold start: import + connect() + create", "history: to_frame() of", "time travel: restore of")
    for row in rows:
        assert row in result.stdout
    assert "| error" not in result.stdout
