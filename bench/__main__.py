"""``python -m bench [--quick] [--only NAME ...]``: run the benchmarks, print one table.

The table is Markdown, ready for docs/performance.md; notes on how each figure
was taken follow it. A benchmark that breaks prints its rows as errors and the exit status is 1;
missed goals are reported in the table, not by the exit status.
"""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
import time
import traceback

from . import Row, machine

#: run order: cheapest and least disturbing first; the load test and notebooks last
MODULES = ("client_overhead", "cold_start", "history_scale", "persistence", "timetravel", "accounts", "throughput", "notebooks")
HEADER = ("measurement", "ours", "baseline", "ratio", "goal", "met?")


def _met(value: bool | None) -> str:
    return "—" if value is None else ("yes" if value else "**no**")


def print_table(rows: list[Row]) -> None:
    cells = [HEADER] + [(r.measurement, r.ours, r.baseline, r.ratio, r.goal, _met(r.met)) for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(HEADER))]
    line = lambda row: "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |"  # noqa: E731
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print(line(row))
    print()
    for r in rows:
        if r.note:
            print(f"- {r.measurement}: {r.note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks the benchmarks run, figures mean nothing")
    parser.add_argument("--only", nargs="+", choices=MODULES, metavar="NAME", help=f"some of: {', '.join(MODULES)}")
    args = parser.parse_args(argv)

    print(f"command: {shlex.join([sys.executable, '-m', 'bench', *(argv if argv is not None else sys.argv[1:])])}")
    print(f"machine: {machine()}")
    print(f"started: {time.strftime('%Y-%m-%d %H:%M:%S %z')}" + ("  (--quick: figures are not meaningful)" if args.quick else ""))
    print(flush=True)
    rows: list[Row] = []
    broken = False
    for name in args.only or MODULES:
        module = importlib.import_module(f"{__package__}.{name}")
        started = time.perf_counter()
        try:
            rows.extend(module.run(quick=args.quick))
        except Exception as exc:  # a broken benchmark must not hide the others' figures
            broken = True
            traceback.print_exc()
            rows.extend(Row(title, f"error: {type(exc).__name__}", met=False, note=str(exc)[:300]) for title in module.ROWS)
        print(f"[{name}: {time.perf_counter() - started:.1f} s]", file=sys.stderr, flush=True)
    print_table(rows)
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
