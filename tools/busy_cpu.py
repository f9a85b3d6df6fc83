"""Run a command and report its wall time and the machine's busy CPU meanwhile: ``python tools/busy_cpu.py -- make test``.

``time`` counts only the processes its command waited for, down the chain: Chromium's processes end
outside it, so ``time make test-browser`` reported 94 s of CPU where the machine was busy 193 s. The machine's own counters (``/proc/stat``: user, nice, system, irq, softirq)
count everything, so on an otherwise idle machine this is what the command costs; on a shared one,
its neighbours too. Linux only. The exit status is the command's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence

BUSY_FIELDS = (0, 1, 2, 5, 6)  # user, nice, system, irq, softirq: what is not idle, iowait or steal


def busy_seconds() -> float:
    """The machine's busy CPU seconds since boot, all cores together."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()[1:]
    return sum(int(fields[index]) for index in BUSY_FIELDS) / os.sysconf("SC_CLK_TCK")


def main(argv: Sequence[str] | None = None) -> int:
    command = list(sys.argv[1:] if argv is None else argv)
    command = command[1:] if command[:1] == ["--"] else command
    if not command:
        print("usage: python tools/busy_cpu.py -- COMMAND ...", file=sys.stderr)
        return 2
    busy, started = busy_seconds(), time.monotonic()
    status = subprocess.call(command)
    wall, cpu = time.monotonic() - started, busy_seconds() - busy
    cores = os.cpu_count() or 1
    print(f"{' '.join(command)}: {wall:.1f} s wall, {cpu:.0f} s of CPU busy ({cpu / wall / cores:.0%} of {cores} cores)", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
