"""``python -m octopus_nb scenario run NAME|FILE``: reach a state on any octopus_nb sandbox, print the ids.

The steps go through the public API and the control routes over HTTP (``run_scenario``), so it
works against any sandbox process (``--target http://127.0.0.1:8080`` with ``CKO_SECRET_KEY``) and
a suite in another language can set up its state from a shell. Exit 0 with the ids, 1 if a step
failed (the account is left as it was), 2 if the target or the scenario can't be used.
"""

from __future__ import annotations

import argparse
import json
import sys

from ._shared.scenarios import BUILT_IN_SCENARIOS
from .environments import connect_target
from .errors import OctopusError, ScenarioFailedError

TARGET_HELP = "embedded (a fresh embedded sandbox, seed 7; the default) or a sandbox's base URL (with CKO_SECRET_KEY)"


def add_parser(subparsers) -> argparse.ArgumentParser:  # noqa: ANN001 - argparse's private subparsers type
    """Register ``scenario run`` and ``scenario list`` on ``python -m octopus_nb``'s subcommands."""
    parser = subparsers.add_parser("scenario", help="run a scenario (a built-in's name or a JSON file) on a sandbox; list the built-ins")
    commands = parser.add_subparsers(dest="scenario_command", required=True)
    runner = commands.add_parser("run", help="run a scenario and print the ids it made")
    runner.add_argument("scenario", help=f"a built-in ({', '.join(BUILT_IN_SCENARIOS)}) or a .json file of steps")
    runner.add_argument("--target", default="embedded", help=TARGET_HELP)
    runner.add_argument("--json", action="store_true", help="print the answer as one JSON document")
    runner.set_defaults(run=run)
    lister = commands.add_parser("list", help="list the built-in scenarios and their steps")
    lister.set_defaults(run=list_scenarios)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run ``args.scenario`` on ``args.target``; print what it made."""
    from .timetravel import load_scenario, run_scenario

    try:
        load_scenario(args.scenario)  # malformed: refused before connecting
        with connect_target(target=args.target) as client:
            try:
                made = run_scenario(client, args.scenario)
            except ScenarioFailedError as error:
                print(f"scenario run: {error}", file=sys.stderr)
                return 1
    except OctopusError as error:
        print(f"scenario run: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(made, indent=2))
        return 0
    for setup_id in made["ids"]["setups"]:
        print(f"setup    {setup_id}")
    for payment_id in made["ids"]["payments"]:
        status = f"  ({made['status']})" if payment_id == made["payment_id"] else ""
        print(f"payment  {payment_id}{status}")
    for refund_id in made["ids"]["refunds"]:
        print(f"refund   {refund_id}")
    return 0


def list_scenarios(args: argparse.Namespace) -> int:
    """Print each built-in and its steps, one line each."""
    for name, steps in BUILT_IN_SCENARIOS.items():
        print(f"{name:20} " + " → ".join(_brief(step) for step in steps))
    return 0


def _brief(step: dict) -> str:
    """A step in a few words: ``create``, ``customer approve``, ``expect Captured``."""
    ((kind, value),) = step.items()
    if isinstance(value, dict):
        shown = " ".join(str(v) for v in value.values() if not isinstance(v, dict)) if kind in ("expect", "refund") else ""
    else:
        shown = str(value)
    return f"{kind} {shown}".strip()
