"""``tools/second_process.py``: one sandbox process for every run, each run in an account of its own (``--jobs``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: each run reports its target and key's account (its stats), and fails for the path "b"
REPORT = (
    "import os, sys, requests; target, key = os.environ['OCTOPUS_NB_TARGET'], os.environ['CKO_SECRET_KEY'];"
    "auth = {'Authorization': 'Bearer ' + key};"
    "requests.post(target + '/payments/setups', json={'amount': 1000, 'currency': 'HKD'}, headers=auth, timeout=5);"
    "stats = requests.get(target + '/_sandbox/stats', headers=auth, timeout=5).json();"
    "print('ran', sys.argv[1], 'against', target, 'setups', stats['setups']); sys.exit(sys.argv[1] == 'b')"
)


def test_runs_side_by_side_share_one_process_each_in_its_own_account_and_print_whole():
    result = subprocess.run(
        [sys.executable, "tools/second_process.py", "--jobs", "2", "--each", "a", "b", "c", "--", sys.executable, "-c", REPORT, "{path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "failed against the sandbox process: b" in result.stderr
    (started,) = re.findall(r"sandbox process \d+ at (\S+) \(seed 8, an account per run\)", result.stdout)
    # a run's lines together, in order: ours, then the command's
    runs = re.findall(r"sandbox at (\S+) \(an account of its own\)\nran (\w) against (\S+) setups (\d+)\n", result.stdout)
    assert sorted(path for _, path, _, _ in runs) == ["a", "b", "c"], result.stdout
    assert all(given == target == started for given, _, target, _ in runs), "every run talks to the one process"
    assert [setups for _, _, _, setups in runs] == ["1", "1", "1"], "each run sees only its own account"
    assert "octopus-nb sandbox serving" in result.stdout.split("ran ")[-1], "the sandbox's log comes last"


def test_together_runs_every_path_once_more_in_one_shared_account_of_its_own():
    result = subprocess.run(
        [sys.executable, "tools/second_process.py", "--each", "a", "b", "--together", "--", sys.executable, "-c", REPORT, "{path}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert "failed against the sandbox process: b\n" in result.stderr, "the shared run of 'a b' passed; only b failed"
    shared = re.findall(
        r"sandbox at \S+ \(every path in one account, one after another\)\nran a b against \S+ setups (\d+)\n", result.stdout
    )
    assert shared == ["1"], "the shared run has an account of its own, not a or b's: " + result.stdout


def test_together_needs_each():
    result = subprocess.run(
        [sys.executable, "tools/second_process.py", "--together", "--", "true"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "--together needs --each" in result.stderr
