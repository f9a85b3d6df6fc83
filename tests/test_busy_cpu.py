"""``tools/busy_cpu.py``: the machine's busy CPU while a command runs, processes it never waits for included."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPIN = "import time\nend = time.process_time() + 1\nwhile time.process_time() < end:\n    pass\n"


def test_counts_a_process_its_command_never_waits_for_and_passes_the_exit_status_on(tmp_path):
    spin = tmp_path / "spin.py"
    spin.write_text(SPIN)
    # sh starts the spinner in the background and never waits for it, as Chromium's renderers end
    # outside the test run: time(1) would not count its second of CPU
    command = f"{sys.executable} {spin} & sleep 2; exit 3"
    result = subprocess.run(
        [sys.executable, "tools/busy_cpu.py", "--", "sh", "-c", command], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3
    (cpu,) = re.findall(r"s wall, (\d+) s of CPU busy", result.stderr)
    assert int(cpu) >= 1, result.stderr
