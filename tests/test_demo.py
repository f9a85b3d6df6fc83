"""``python -m octopus_nb demo`` (what ``make demo`` runs), as a user runs it: a subprocess."""

from __future__ import annotations

import re
import subprocess
import sys


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "octopus_nb", *args], capture_output=True, text=True, encoding="utf-8", timeout=60)


def test_demo_runs_the_quickstart_to_captured():
    done = _run("demo")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Captured" in out
    for step in ("1. Create a payment setup", "2. Confirm it with Octopus", "3. Redirect the customer", "4. The customer approves"):
        assert step in out
    assert "octopus is ready" in out
    assert re.search(r"desktop browser: http://127\.0\.0\.1:\d+/_sandbox/octopus/oos/payment/\?token=\w+", out)
    assert re.search(r"Android app: +octopus://payment\?token=\w+", out)
    assert "█" in out, "the QR code is drawn with block characters"
    assert "History" in out and "/payments/setups" in out
    assert "Bearer" not in out and not re.search(r"sk_(sbox_)?[a-z2-7]{26}", out), "the key never reaches the terminal"


def test_demo_is_repeatable_with_a_seed():
    first, second = _run("demo", "--seed", "11", "--no-qr"), _run("demo", "--seed", "11", "--no-qr")
    assert first.returncode == second.returncode == 0
    ids = lambda text: re.findall(r"\b(?:set|pay)_[a-z2-7]{26}\b", text)  # noqa: E731
    assert ids(first.stdout) and ids(first.stdout) == ids(second.stdout)
    assert "█" not in first.stdout


def test_unknown_command_is_a_usage_error():
    done = _run("nonsense")
    assert done.returncode == 2
    assert "demo" in done.stderr
