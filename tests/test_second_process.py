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
        [sys.executable, "tools/second_process.py", "--jobs", "2", "--each", "a", "b", "c", "--",
         sys.executable, "-c", REPORT, "{path}"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "failed against a fresh sandbox process: b" in result.stderr
    # a run's lines, together: ours, then the command's; the sandbox's own log line may come before or between
    runs = re.findall(r"sandbox process \d+ at (\S+) .*\n(?:octopus-nb sandbox serving .*\n)?ran (\w) against (\S+)\n",
                      result.stdout)
    assert sorted(path for _, path, _ in runs) == ["a", "b", "c"], result.stdout  # each run's lines together
    assert all(started == given for started, _, given in runs), "each run talks to the process started for it"
    assert len({started for started, _, _ in runs}) == 3, "a fresh process per run"
