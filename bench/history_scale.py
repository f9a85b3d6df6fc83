"""History at scale: the cost of recording one exchange, and ``to_frame()`` over 100,000 of them.

It runs in a fresh interpreter (``python -m bench.history_scale N``), so the peak-RSS figure
is not hidden by memory that earlier benchmarks already used. Each exchange is a realistic create:
request and response bodies parsed from JSON, as the client records them.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import timeit
from datetime import UTC, datetime, timedelta

from . import ROOT, SETUP_BODY, Row, clean_env, median, ratio

ROWS = ("history: record one exchange", "history: to_frame() of 100k exchanges", "history: to_frame() peak memory")
GOAL_RECORD_US = 10.0  # 1% of a ~1 ms loopback request
GOAL_FRAME_SECONDS = 1.0
GOAL_FRAME_MB = 200.0

_RESPONSE = json.dumps(
    {
        "id": "set_pdmsqc4kxz5dk6q5pahcoxxv7e",
        "processing_channel_id": "pc_kgqgb3hpbtae7pdvlqytbp3nvi",
        **SETUP_BODY,
        "payment_type": "Regular",
        "payment_methods": {"octopus": {"status": "ready", "flags": []}},
        "available_payment_methods": ["octopus"],
        "_links": {"self": {"href": "http://127.0.0.1:8080/payments/setups/set_pdmsqc4kxz5dk6q5pahcoxxv7e"}},
    }
)
_REQUEST = json.dumps(SETUP_BODY)


def _exchange(i: int):  # noqa: ANN202
    from octopus_nb.history import Exchange

    return Exchange(
        time=datetime(2026, 4, 30, 9, tzinfo=UTC) + timedelta(seconds=i),
        method="POST",
        path="/payments/setups",
        status=200,
        latency=timedelta(microseconds=900 + i % 500),
        attempts=1,
        request_id=f"{i:032x}",
        idempotency_key=f"{i + 1:032x}",
        request_body=json.loads(_REQUEST),
        response_body=json.loads(_RESPONSE),
        error_codes=(),
    )


def _max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(count: int, repeats: int) -> dict:
    """Everything, in this process; ``run()`` calls it in a fresh one."""
    import pandas as pd

    from octopus_nb.history import COLUMNS, FIELDS, History

    # Recording: History.record (lock + append) vs a bare list.append of the same object.
    one, history, plain = _exchange(0), History(), []
    loops = max(count // 10, 1000)
    record = [timeit.timeit(lambda: history.record(one), number=loops) / loops for _ in range(repeats + 4)]
    append = [timeit.timeit(lambda: plain.append(one), number=loops) / loops for _ in range(repeats + 4)]

    history = History()
    before = _max_rss_mb()
    for i in range(count):
        history.record(_exchange(i))
    held = _max_rss_mb() - before
    # Memory first: ru_maxrss is a high-water mark, so the first frame shows the real peak growth.
    before = _max_rss_mb()
    frame = history.to_frame()
    peak = _max_rss_mb() - before
    assert len(frame) == count and tuple(frame.columns) == COLUMNS
    del frame

    def timed(fn) -> float:  # noqa: ANN001
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started

    rows = [tuple(getattr(e, name) for name in FIELDS) for e in history]
    floor = lambda: pd.DataFrame.from_records(rows, columns=COLUMNS)  # noqa: E731
    frames, floors = [], []
    for _ in range(repeats):  # interleaved
        frames.append(timed(history.to_frame))
        floors.append(timed(floor))
    return {
        "record_us": median(record) * 1e6,
        "append_us": median(append) * 1e6,
        "frame_s": median(frames),
        "floor_s": median(floors),
        "peak_mb": peak,
        "held_mb": held,
    }


def run(quick: bool = False) -> list[Row]:
    count, repeats = (2_000, 1) if quick else (100_000, 5)
    out = subprocess.run(
        [sys.executable, "-m", "bench.history_scale", str(count), str(repeats)],
        check=True,
        capture_output=True,
        text=True,
        env=clean_env(),
        cwd=ROOT,
    ).stdout
    m = json.loads(out.strip().splitlines()[-1])
    label = ROWS[1] if count == 100_000 else ROWS[1].replace("100k", f"{count:,}")
    return [
        Row(
            ROWS[0],
            f"{m['record_us']:.2f} µs",
            f"{m['append_us']:.2f} µs",
            ratio(m["record_us"], m["append_us"]),
            f"≤ {GOAL_RECORD_US:.0f} µs",
            m["record_us"] <= GOAL_RECORD_US,
            note="History.record (lock + append) vs list.append of the same Exchange; goal = 1% of a 1 ms request",
        ),
        Row(
            label,
            f"{m['frame_s']:.3f} s",
            f"{m['floor_s']:.3f} s",
            ratio(m["frame_s"], m["floor_s"]),
            f"≤ {GOAL_FRAME_SECONDS:.0f} s",
            m["frame_s"] <= GOAL_FRAME_SECONDS,
            note=f"median of {repeats}, pandas already imported; baseline: pd.DataFrame.from_records of the "
            "same rows as tuples (no column conversions)",
        ),
        Row(
            ROWS[2],
            f"{m['peak_mb']:.0f} MB",
            goal=f"≤ {GOAL_FRAME_MB:.0f} MB",
            met=m["peak_mb"] <= GOAL_FRAME_MB,
            note=f"growth of peak RSS during the first to_frame() of {count:,} exchanges, frame kept; "
            f"the exchanges themselves hold {m['held_mb']:.0f} MB",
        ),
    ]


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]), int(sys.argv[2]))))
