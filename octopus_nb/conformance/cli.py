"""``python -m octopus_nb conformance record|compare``: the recorder and the comparison as commands.

``record`` runs the probe scenario against one target and writes the recording; ``compare``
prints the differences and exits 0 (none), 1 (some) or 2 (a file that cannot be compared), so a
CI job or a shell script can gate on it. The key is read from the settings, never printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..environments import connect_target
from ..errors import OctopusError
from .compare import compare
from .probe import record
from .recording import Recording

#: Longest value shown in a cell of the printed table (a whole missing object can be long).
CELL_WIDTH = 60
TARGET_HELP = (
    "embedded (the embedded sandbox, seed 7), sandbox (Checkout.com's sandbox from the CKO_* settings) or a base URL (with CKO_SECRET_KEY)"
)


def add_parser(subparsers) -> argparse.ArgumentParser:  # noqa: ANN001 - argparse's private subparsers type
    """Register ``conformance record`` and ``conformance compare`` on ``python -m octopus_nb``'s subcommands."""
    parser = subparsers.add_parser("conformance", help="record a server's answers to the probe scenario; compare recordings")
    commands = parser.add_subparsers(dest="conformance_command", required=True)
    recorder = commands.add_parser("record", help="run the probe scenario against a target and save the recording")
    recorder.add_argument("--target", required=True, help=TARGET_HELP)
    recorder.add_argument("--out", required=True, help="where to write the recording (JSON)")
    recorder.add_argument(
        "--confirm-response",
        choices=("payment", "setup"),
        help="embedded only: which published confirm answer the sandbox gives (default payment)",
    )
    recorder.set_defaults(run=run_record)
    comparer = commands.add_parser("compare", help="print the differences between two recordings (exit 1 if any)")
    comparer.add_argument("a", help="the reference recording")
    comparer.add_argument("b", help="the recording checked against it")
    comparer.set_defaults(run=run_compare)
    return parser


def run_record(args: argparse.Namespace) -> int:
    """Record ``args.target`` into ``args.out``; 2 with a one-line reason when it cannot."""
    try:
        # As the notebooks choose a server; production is refused, since the probe creates payments.
        with connect_target(target=args.target, confirm_response=args.confirm_response) as client:
            recording = record(client)
        recording.save(args.out)
    except (OctopusError, OSError) as exc:
        print(f"conformance record: {exc}", file=sys.stderr)
        return 2
    print(f"recorded {len(recording)} exchanges from {recording.target} into {args.out}")
    return 0


def run_compare(args: argparse.Namespace) -> int:
    """Print where ``args.b`` differs from ``args.a``: 0 none, 1 some, 2 a file is missing or not a recording."""
    recordings = []
    for path in (args.a, args.b):
        try:
            recordings.append(Recording.load(path))
        except (OSError, ValueError) as exc:
            print(f"conformance compare: {path}: {exc}", file=sys.stderr)
            return 2
    differences = compare(*recordings)
    if differences.empty:
        print(f"no difference: {args.b} conforms to {args.a} ({len(recordings[0])} exchanges)")
        return 0
    shown = differences.assign(a=differences["a"].map(_cell), b=differences["b"].map(_cell))
    print(shown.to_string(index=False))
    print(f"{len(differences)} differences")
    return 1


def _cell(value: Any) -> str:
    """A value as compact JSON text ("—" when absent), cut to :data:`CELL_WIDTH` characters."""
    if value is None:
        return "—"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= CELL_WIDTH else text[: CELL_WIDTH - 1] + "…"
