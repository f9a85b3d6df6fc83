"""``tools/second_process.py``: each run against its own sandbox process, also several at once (``--jobs``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: the command each run executes: it reports the target it was given, and fails for the path "b"
REPORT = "import os, sys; print('ran', sys.argv[1], 'against', os.environ['OCTOPUS_NB_TARGET']); sys.exit(sys.argv[1] == 'b')"


def test_runs_side_by_side_each_get_a_process_of_their_own_and_print_whole():
    result = subprocess.run(
        [sys.executable, "tools/second_process.py", "--jobs", "2", "--each", "a", "b", "c", "--", sys.executable, "-c", REPORT, "{path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "failed against a fresh sandbox process: b" in result.stderr
    # a run's lines together, in order: ours, the command's, then the sandbox's own log
    runs = re.findall(r"sandbox process \d+ at (\S+) .*\nran (\w) against (\S+)\noctopus-nb sandbox serving (\S+) ", result.stdout)
    assert sorted(path for _, path, _, _ in runs) == ["a", "b", "c"], result.stdout
    assert all(started == given == logged for started, _, given, logged in runs), "each run talks to its own process"
    assert len({started for started, _, _, _ in runs}) == 3, "a fresh process per run"
