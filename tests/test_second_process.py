"""``tools/second_process.py`` and ``tools/account_per_notebook.py``: one sandbox process for a run side by
side, each file in an account of its own, then for a run one after another in one account they share."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: plugins these pytest runs do not use (nbval's imports alone take about 1.5 s)
NOT_NEEDED = ("-p", "no:cacheprovider", "-p", "no:nbval", "-p", "no:schemathesis")
TOOLS = ROOT / "tools"
#: a test file that makes one setup with the key it was given and records the key and its account's count
RECORDS = """
import json, os, pathlib, requests

def test_in_its_account():
    target, key = os.environ["OCTOPUS_NB_TARGET"], os.environ["CKO_SECRET_KEY"]
    auth = {"Authorization": "Bearer " + key}
    requests.post(target + "/payments/setups", json={"amount": 1000, "currency": "HKD"}, headers=auth, timeout=5).raise_for_status()
    stats = requests.get(target + "/_sandbox/stats", headers=auth, timeout=5).json()
    with open(os.environ["RECORDS"], "a") as records:
        records.write(json.dumps([pathlib.Path(__file__).stem, key, stats["setups"]]) + "\\n")
"""


def _second_process(tmp_path: Path, *options: str) -> tuple[subprocess.CompletedProcess, list[list]]:
    paths = []
    for name in "abc":
        path = tmp_path / f"test_{name}.py"
        path.write_text(RECORDS)
        paths.append(str(path))
    records = tmp_path / "records.jsonl"
    command = [sys.executable, "-m", "pytest", "-q", *NOT_NEEDED, "-n", "{workers}", "-p", "account_per_notebook", "{paths}"]
    result = subprocess.run(
        [sys.executable, "tools/second_process.py", "--jobs", "2", *options, "--each", *paths, "--", *command],
        cwd=ROOT,
        env={**_environ(), "RECORDS": str(records)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result, [json.loads(line) for line in records.read_text().splitlines()]


def _environ() -> dict[str, str]:
    """This run's environment less any target or key of its own."""
    return {name: value for name, value in os.environ.items() if not name.startswith(("CKO_", "OCTOPUS_NB_"))}


def test_side_by_side_each_file_has_an_account_of_its_own_then_together_they_share_one(tmp_path):
    result, records = _second_process(tmp_path, "--together")
    side_by_side, together = records[:3], records[3:]
    assert re.search(r"sandbox at \S+ \(an account per path, 2 at once\)", result.stdout)
    assert sorted(name for name, _, _ in side_by_side) == ["test_a", "test_b", "test_c"]
    assert len({key for _, key, _ in side_by_side}) == 3, "a key each"
    assert [setups for _, _, setups in side_by_side] == [1, 1, 1], "each file sees only its own account"

    assert re.search(r"sandbox at \S+ \(every path in one account, one after another\)", result.stdout)
    (shared,) = {key for _, key, _ in together}
    assert shared not in {key for _, key, _ in side_by_side}, "the shared account is none of the files' own"
    assert [setups for _, _, setups in together] == [1, 2, 3], "one account, one file after another"
    assert "octopus-nb sandbox serving" in result.stdout.splitlines()[-1], "the sandbox's log comes last"


def test_together_needs_each():
    result = subprocess.run(
        [sys.executable, "tools/second_process.py", "--together", "--", "true"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "--together needs --each" in result.stderr


@pytest.fixture
def plugin(pytester, monkeypatch):
    monkeypatch.syspath_prepend(str(TOOLS))
    pytester.makepyfile(test_one="import os\ndef test_key():\n    print('key', os.environ.get('CKO_SECRET_KEY'))\n")
    return pytester


def test_a_file_left_out_of_the_keys_fails_rather_than_share_a_key(plugin, monkeypatch):
    monkeypatch.setenv("OCTOPUS_NB_ACCOUNT_KEYS", json.dumps({str(plugin.path / "elsewhere.py"): "sk_sbox_x"}))
    monkeypatch.setenv("CKO_SECRET_KEY", "sk_sbox_shared")
    result = plugin.runpytest(*NOT_NEEDED, "-p", "account_per_notebook", "-p", "no:xdist")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*test_one.py has no account of its own in OCTOPUS_NB_ACCOUNT_KEYS*"])


def test_without_the_keys_the_plugin_changes_nothing(plugin, monkeypatch):
    monkeypatch.delenv("OCTOPUS_NB_ACCOUNT_KEYS", raising=False)
    monkeypatch.setenv("CKO_SECRET_KEY", "sk_sbox_shared")
    result = plugin.runpytest(*NOT_NEEDED, "-p", "account_per_notebook", "-p", "no:xdist", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*key sk_sbox_shared"])
