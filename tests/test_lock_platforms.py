"""The locks are complete on every supported Python and platform, proven offline.

``make`` installs with ``pip install --require-hashes``: on a machine where a resolution needs a package
the lock does not pin (``appnope`` on macOS, ``pywinpty`` on Windows) or pins a release that refuses
that Python (``soupsieve`` 4.1.3 on Debian 12's 3.11.2), pip stops. So for each (Python, platform) pair
in ``tools/lock_platforms.py`` these tests walk the requirements from ``pyproject.toml`` through each
pinned release's own Requires-Dist and Requires-Python (recorded by ``make lock`` from the index) and
fail on anything a resolution there would need and the lock lacks. The recording is checked against
the metadata of the packages installed here, so it cannot drift from what pip reads.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tomllib
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("lock_platforms", ROOT / "tools" / "lock_platforms.py")
assert _spec and _spec.loader
lock_platforms = importlib.util.module_from_spec(_spec)
sys.modules["lock_platforms"] = lock_platforms  # dataclasses look their module up by name
_spec.loader.exec_module(lock_platforms)

LOCKS = {
    "requirements.txt": (ROOT / "requirements.txt", lock_platforms.LOCK_GROUPS),
    "binder": (ROOT / "binder" / "requirements.txt", ("notebook",)),
}
RECORDED = json.loads(lock_platforms.METADATA.read_text())
ENVIRONMENTS = {environment.name: environment for environment in lock_platforms.ENVIRONMENTS}


@pytest.fixture(scope="module")
def parsed() -> dict:
    """Each lock's pins and its groups' requirements, read once for the 60 cases below."""
    return {lock: (lock_platforms.read_lock(path), lock_platforms.direct_requirements(groups)) for lock, (path, groups) in LOCKS.items()}


@pytest.mark.parametrize("environment", ENVIRONMENTS)
@pytest.mark.parametrize("lock", LOCKS)
def test_the_lock_pins_everything_a_resolution_needs_there(parsed, lock, environment):
    path, _ = LOCKS[lock]
    pins, roots = parsed[lock]
    found = lock_platforms.problems(pins, roots, RECORDED, ENVIRONMENTS[environment])
    assert not found, f"{path.name} on {environment}: " + "; ".join(found) + " (run make lock)"


def test_the_matrix_is_what_the_readme_and_pyproject_promise():
    pythons = {environment.python.rsplit(".", 1)[0] for environment in lock_platforms.ENVIRONMENTS}
    assert pythons == {"3.11", "3.12", "3.13", "3.14"}
    assert set(lock_platforms.PLATFORMS) == {"linux-x86_64", "linux-aarch64", "macos-arm64", "macos-x86_64", "windows-amd64"}
    requires_python = SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"])
    floor = min(lock_platforms.PYTHONS, key=lambda version: tuple(map(int, version.split("."))))
    assert floor in requires_python and "3.10.13" not in requires_python, "test from requires-python's floor"
    assert "3.11.2" in lock_platforms.PYTHONS, "Debian 12's Python"
    section = (ROOT / "README.md").read_text().split("## Supported platforms", 1)[1].split("\n## ", 1)[0]
    for words in ("3.11", "3.14", "Linux", "macOS", "Windows", "WSL"):
        assert words in section, f"README's Supported platforms should mention {words}"


@pytest.mark.parametrize(
    ("dropped", "environment", "expected"),
    [
        ("appnope", "cpython-3.12.0-macos-arm64", "needs appnope"),
        ("pywinpty", "cpython-3.13.0-windows-amd64", "pins no pywinpty here"),
    ],
)
def test_a_lock_missing_a_platform_requirement_fails_there_only(dropped, environment, expected):
    """The check itself: the real lock with one platform's pin taken out is reported on that platform."""
    pins = [pin for pin in lock_platforms.read_lock(ROOT / "requirements.txt") if pin.name != dropped]
    roots = lock_platforms.direct_requirements(lock_platforms.LOCK_GROUPS)
    found = lock_platforms.problems(pins, roots, RECORDED, ENVIRONMENTS[environment])
    assert any(expected in problem for problem in found), found
    assert not lock_platforms.problems(pins, roots, RECORDED, ENVIRONMENTS["cpython-3.11.7-linux-x86_64"])


def test_a_release_that_refuses_the_python_fails():
    """soupsieve 4.1.3 needs Python >= 3.11.5: pinned for every Python, it breaks Debian 12's 3.11.2."""
    pins = [
        replace(pin, marker=None) if pin.name == "soupsieve" else pin
        for pin in lock_platforms.read_lock(ROOT / "requirements.txt")
        if not (pin.name == "soupsieve" and pin.version != "4.1.3")
    ]
    found = lock_platforms.problems(
        pins, lock_platforms.direct_requirements(lock_platforms.LOCK_GROUPS), RECORDED, ENVIRONMENTS["cpython-3.11.2-linux-x86_64"]
    )
    assert "soupsieve==4.1.3 requires Python >=3.11.5" in found


def test_a_pin_without_hashes_or_pinned_twice_fails():
    pins = lock_platforms.read_lock(ROOT / "requirements.txt")
    requests_pin = next(pin for pin in pins if pin.name == "requests")
    broken = [replace(pin, hashes=0) if pin is requests_pin else pin for pin in pins] + [replace(requests_pin, version="2.0.0")]
    found = lock_platforms.problems(
        broken, lock_platforms.direct_requirements(lock_platforms.LOCK_GROUPS), RECORDED, ENVIRONMENTS["cpython-3.12.0-linux-aarch64"]
    )
    assert f"requests=={requests_pin.version} has no hash" in found
    assert any("requests is pinned twice" in problem for problem in found)


def test_the_recorded_metadata_is_what_the_installed_releases_declare():
    """Every release installed here was recorded with the Requires-Dist and Requires-Python it declares."""
    compared = 0
    for pin in lock_platforms.read_lock(ROOT / "requirements.txt"):
        key = f"{pin.name}=={pin.version}"
        assert key in RECORDED, f"{key} is pinned but not recorded in {lock_platforms.METADATA.name}: run make lock"
        try:
            installed = metadata.distribution(pin.name)
        except metadata.PackageNotFoundError:
            continue
        if installed.version != pin.version:
            continue  # another fork's release (or a stale .venv, which test_binder reports)
        declared = sorted(str(Requirement(line)) for line in installed.requires or ())
        assert sorted(str(Requirement(line)) for line in RECORDED[key]["requires_dist"]) == declared, key
        assert SpecifierSet(RECORDED[key]["requires_python"] or "") == SpecifierSet(installed.metadata["Requires-Python"] or ""), key
        compared += 1
    assert compared > 100
    stale = sorted(set(RECORDED) - {f"{pin.name}=={pin.version}" for pin in lock_platforms.read_lock(ROOT / "requirements.txt")})
    assert not stale, f"recorded but no longer pinned: {stale} (run make lock)"
