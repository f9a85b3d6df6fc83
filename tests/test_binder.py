"""Binder runs the notebooks with the pins they were executed with, on the Python they were run on.

repo2docker reads only ``binder/`` when that folder exists (the root requirements.txt is then
ignored, and the package is not installed unless binder/requirements.txt says ``.``), so the two
files must agree by hand: this test is what keeps them in step.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;#]+)")


def _requirements(path: Path) -> tuple[dict[str, str], list[str]]:
    """(``{normalised name: version}`` for the ``==`` pins, other non-comment lines)."""
    pins: dict[str, str] = {}
    others: list[str] = []
    for raw in path.read_text().splitlines():
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        if match:
            name = re.sub(r"[-_.]+", "-", match.group(1)).lower()
            assert name not in pins, f"{path.name}: {name} is pinned twice"
            pins[name] = match.group(3)
        else:
            others.append(line)
    return pins, others


def test_binder_has_no_competing_config():
    assert BINDER.is_dir()
    assert not (ROOT / ".binder").exists(), "binder/ and .binder/ together make repo2docker fail"
    assert not (BINDER / "environment.yml").exists(), "environment.yml would win over requirements.txt"


def test_binder_pins_equal_requirements():
    root_pins, root_others = _requirements(ROOT / "requirements.txt")
    binder_pins, binder_others = _requirements(BINDER / "requirements.txt")
    assert not root_others, f"requirements.txt should hold only == pins, found {root_others}"
    shared = root_pins.keys() & binder_pins.keys()
    assert {name: binder_pins[name] for name in shared} == {name: root_pins[name] for name in shared}
    # Everything the notebooks import at run time must be there, pinned the same.
    for name in ("pandas", "ipywidgets", "qrcode", "pillow", "requests", "tornado", "ipykernel", "jupyterlab"):
        assert name in binder_pins, f"binder/requirements.txt does not pin {name}"
    missing = sorted(root_pins.keys() - binder_pins.keys())
    assert not missing, f"binder/requirements.txt lacks pins from requirements.txt: {missing}"
    extra = sorted(binder_pins.keys() - root_pins.keys())
    assert not extra, f"binder/requirements.txt pins packages requirements.txt does not: {extra}"


def test_binder_installs_the_package_last():
    _, others = _requirements(BINDER / "requirements.txt")
    assert others == ["."], "binder/requirements.txt should end with '.' (install octopus_nb itself) and nothing else"
    lines = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines() if line.strip()]
    assert lines[-1] == "."


def test_runtime_txt_names_a_supported_python():
    text = (BINDER / "runtime.txt").read_text()
    assert text.strip() == text.rstrip("\n") and text.count("\n") <= 1, "one line, no stray whitespace"
    match = re.fullmatch(r"python-(3)\.(\d+)", text.strip())
    assert match, "runtime.txt must read python-X.Y (python3.11 without the dash is invalid for repo2docker)"
    minor = int(match.group(2))
    assert 8 <= minor <= 14, "repo2docker supports Python 3.8-3.14"
    # Without runtime.txt repo2docker picks Python 3.10; the project's venv (and CI) use 3.11.
    assert minor == 11, "the notebooks are executed and tested on Python 3.11"
