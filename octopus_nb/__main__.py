"""``python -m octopus_nb demo``: the quickstart in a terminal, on the embedded sandbox (``make demo``).

It runs the seed page's three steps — create a payment setup, confirm it with Octopus, redirect the
customer — then plays the customer (a sandbox rule: on Checkout.com the customer approves in the
Octopus App), waits for the outcome and prints the history. No account, no network: everything
happens on 127.0.0.1, seeded, so the ids are the same every run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def demo(seed: int = 7, show_qr: bool = True, out=None) -> int:  # noqa: ANN001 - a text stream
    """Run the quickstart against a fresh embedded sandbox, printing each step to ``out``."""
    import octopus_nb
    from octopus_nb.readiness import EXAMPLE_SETUP, readiness_frame

    out = out or sys.stdout

    def say(*lines: str) -> None:
        print(*lines, sep="\n", file=out, flush=True)

    with octopus_nb.connect(seed=seed) as client:
        say(f"octopus-nb demo: one Octopus payment on the embedded sandbox ({client.base_url}, seed {seed})", "")

        say("1. Create a payment setup (POST /payments/setups)")
        setup = octopus_nb.create_payment_setup(client, **EXAMPLE_SETUP, reference="ORD-5023-4E89")
        octopus = setup["payment_methods"]["octopus"]
        say(
            f"   setup {setup['id']}: HK${setup['amount'] / 100:.2f} ({setup['amount']} {setup['currency']} minor units)",
            f"   readiness: octopus is {octopus['status']}",
            "",
        )
        say(_indent(readiness_frame(setup).to_string(index=False)), "")

        say("2. Confirm it with Octopus (POST /payments/setups/{id}/confirm/octopus)")
        payment = octopus_nb.payment_of(octopus_nb.confirm_payment_setup(client, setup["id"]))  # either confirm shape
        say(f"   payment {payment['id']}: {payment['status']}", "")

        say("3. Redirect the customer")
        targets = octopus_nb.redirect_targets(payment)
        say(
            f"   desktop browser: {targets.desktop}",
            "                    (the landing page shows the QR code below; the Octopus App scans it)",
            f"   Android app:     {targets.android}",
            f"   iOS app:         {targets.ios}   (URL scheme assumed: see lifecycle.IOS_URL_TEMPLATE)",
            "",
        )
        if show_qr:
            qr = octopus_nb.qr_code(payment)
            say(f"   QR code of {qr.data}:", qr.text())

        say("4. The customer approves in the Octopus App (sandbox: simulate_customer plays the customer)")
        octopus_nb.simulate_customer(client, payment["id"], "approve")
        final = octopus_nb.wait_for_payment(client, payment["id"], timeout=10)
        balances = final["balances"]
        say(
            f"   payment {final['id']}: {final['status']} "
            f"(captured {balances['total_captured']}, refundable {balances['available_to_refund']})",
            "",
        )

        say("History (client.history; to_frame() for the raw DataFrame):")
        say(_indent(str(client.history.table())))
    return 0 if final["status"] == "Captured" else 1


def _indent(text: str, prefix: str = "   ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def main(argv: Sequence[str] | None = None) -> int:
    """``octopus-nb`` (the console script) and ``python -m octopus_nb``: demo, conformance, scenario, sandbox."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["sandbox"]:
        # The sandbox's own command line, whole (its options and --help): octopus-nb sandbox --port 0
        from .sandbox.server import main as sandbox_main

        return sandbox_main(argv[1:])
    parser = argparse.ArgumentParser(prog="octopus-nb", description="octopus-nb command line (also python -m octopus_nb)")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("demo", help="run the quickstart in this terminal, on the embedded sandbox")
    run.add_argument("--seed", type=int, default=7, help="sandbox seed (same ids every run; default 7)")
    run.add_argument("--no-qr", action="store_true", help="do not draw the QR code")
    from .conformance.cli import add_parser as add_conformance_parser

    add_conformance_parser(commands)
    from .scenario_cli import add_parser as add_scenario_parser

    add_scenario_parser(commands)
    commands.add_parser(
        "sandbox",
        add_help=False,  # parsed by the sandbox itself, above
        help="serve the sandbox until interrupted (python -m octopus_nb.sandbox; sandbox --help for its options)",
    )
    args = parser.parse_args(argv)
    if args.command in ("conformance", "scenario"):
        return args.run(args)
    if hasattr(sys.stdout, "reconfigure"):
        # The QR code is drawn with block characters; never crash on a terminal that lacks them.
        sys.stdout.reconfigure(errors="replace")
    return demo(seed=args.seed, show_qr=not args.no_qr)


if __name__ == "__main__":
    sys.exit(main())
