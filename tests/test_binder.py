"""The locks: every package pinned with hashes, compiled from pyproject.toml, and Binder's a subset.

``make lock`` compiles ``requirements.txt`` (the toolkit and every group) and
``binder/requirements.txt`` (the toolkit and ``notebook``, at the same versions) with uv. These
tests check, offline, that the locks are what that command makes of ``pyproject.toml``: each
entry is ``name==version`` with hashes; each group's direct dependencies are locked at a version
their range allows; and each lock holds exactly the packages its groups need — the closure of
the direct dependencies through the installed packages' own metadata (``make`` installs from the
lock, so an installed version that differs is a stale venv or a hand edit). A range changed or a
dependency added in pyproject.toml without ``make lock`` fails here.
"""

from __future__ import annotations

import re
import stat
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from test_lock_platforms import lock_platforms

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
LOCK = ROOT / "requirements.txt"
BINDER_LOCK = BINDER / "requirements.txt"
#: the groups each lock is compiled from (Makefile, `lock:`)
LOCK_GROUPS = {LOCK: ("notebook", "test", "browser", "docs", "lint"), BINDER_LOCK: ("notebook",)}
#: what Binder must not install: the tests, the browser driver, the docs tool
NOT_ON_BINDER = {"pytest", "playwright", "hypothesis", "checkout-sdk", "schemathesis", "nbval", "pytest-xdist", "mkdocs", "mkdocs-jupyter"}


def _lock(path: Path) -> dict[str, str]:
    """``{canonical name: version}`` of the pins that apply on this Python and platform.

    The locks are universal (tools/lock_platforms.py): a pin may carry markers, and a package may be
    pinned twice, once per Python range; test_lock_platforms checks every other Python and platform.
    """
    environment = {**default_environment(), "extra": ""}
    pins: dict[str, str] = {}
    for pin in lock_platforms.read_lock(path):
        assert pin.hashes, f"{path.name}: {pin.name}=={pin.version} is pinned without a hash"
        if pin.applies(environment):
            assert pin.name not in pins, f"{path.name}: {pin.name} is pinned twice for this Python"
            pins[pin.name] = pin.version
    return pins


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _direct(groups: tuple[str, ...]) -> list[Requirement]:
    project = _project()
    lines = list(project["dependencies"])
    for group in groups:
        lines += project["optional-dependencies"][group]
    return [Requirement(line) for line in lines]


def _closure(roots: list[Requirement]) -> set[str]:
    """Every package the roots need on this Python, from the installed distributions' metadata."""
    environment = default_environment()
    needed: set[str] = set()
    seen: set[tuple[str, str]] = set()
    todo = [(canonicalize_name(req.name), extra) for req in roots for extra in ("", *req.extras)]
    while todo:
        name, extra = todo.pop()
        if (name, extra) in seen:
            continue
        seen.add((name, extra))
        needed.add(name)
        for line in metadata.distribution(name).requires or ():
            req = Requirement(line)
            if req.marker and not req.marker.evaluate({**environment, "extra": extra}):
                continue
            todo += [(canonicalize_name(req.name), sub) for sub in ("", *req.extras)]
    return needed


@pytest.mark.parametrize("path", [LOCK, BINDER_LOCK], ids=["requirements.txt", "binder"])
def test_every_locked_package_is_pinned_with_hashes(path):
    pins = _lock(path)
    assert len(pins) > 20
    header = path.read_text().splitlines()[:2]
    assert header[1].strip() == "#    make lock", f"{path.name} should be written by `make lock`, not by hand"


@pytest.mark.parametrize("path", [LOCK, BINDER_LOCK], ids=["requirements.txt", "binder"])
def test_each_direct_dependency_is_locked_within_its_range(path):
    pins = _lock(path)
    for req in _direct(LOCK_GROUPS[path]):
        name = canonicalize_name(req.name)
        assert name in pins, f"pyproject.toml asks for {req}; {path.name} lacks it: run make lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"{path.name} pins {name}=={pins[name]} outside pyproject.toml's {req}: run make lock"
        )


@pytest.mark.parametrize("path", [LOCK, BINDER_LOCK], ids=["requirements.txt", "binder"])
def test_each_lock_holds_exactly_what_its_groups_need(path):
    pins = _lock(path)
    installed = {name: metadata.version(name) for name in pins if _installed(name)}
    missing = sorted(set(pins) - set(installed))
    assert not missing, f"locked but not installed (run make): {missing}"
    stale = {name: (pins[name], installed[name]) for name in pins if installed[name] != pins[name]}
    assert not stale, f"locked version vs installed (run make): {stale}"
    needed = _closure(_direct(LOCK_GROUPS[path]))
    assert needed - set(pins) == set(), f"needed but not in {path.name}: run make lock"
    assert set(pins) - needed == set(), f"in {path.name} but needed by nothing in pyproject.toml: run make lock"


def _installed(name: str) -> bool:
    try:
        metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return False
    return True


def test_binder_installs_only_the_notebooks_needs_at_the_same_versions():
    binder, full = _lock(BINDER_LOCK), _lock(LOCK)
    assert not NOT_ON_BINDER & binder.keys(), f"Binder would install {sorted(NOT_ON_BINDER & binder.keys())}"
    for name in ("pandas", "ipywidgets", "qrcode", "pillow", "requests", "tornado", "ipykernel", "jupyterlab"):
        assert name in binder, f"binder/requirements.txt does not pin {name}"
    differ = {name: (version, full.get(name)) for name, version in binder.items() if full.get(name) != version}
    assert not differ, f"binder/requirements.txt vs requirements.txt: {differ}"


def test_binder_installs_the_package_after_the_lock():
    """pip's hash-checking mode refuses '.', so repo2docker's postBuild installs octopus_nb, with no deps."""
    post_build = BINDER / "postBuild"
    assert post_build.stat().st_mode & stat.S_IXUSR, "repo2docker runs postBuild only if it is executable"
    text = post_build.read_text()
    assert text.startswith("#!/bin/bash\n") and "set -euo pipefail" in text
    assert re.search(r"-m pip install .*--no-deps \.$", text, re.M)


def test_binder_has_no_competing_config():
    assert BINDER.is_dir()
    assert not (ROOT / ".binder").exists(), "binder/ and .binder/ together make repo2docker fail"
    assert not (BINDER / "environment.yml").exists(), "environment.yml would win over requirements.txt"


def test_runtime_txt_names_a_supported_python():
    text = (BINDER / "runtime.txt").read_text()
    assert text.strip() == text.rstrip("\n") and text.count("\n") <= 1, "one line, no stray whitespace"
    match = re.fullmatch(r"python-(3)\.(\d+)", text.strip())
    assert match, "runtime.txt must read python-X.Y (python3.11 without the dash is invalid for repo2docker)"
    minor = int(match.group(2))
    assert 8 <= minor <= 14, "repo2docker supports Python 3.8-3.14"
    # Without runtime.txt repo2docker picks Python 3.10; the project's venv (and CI) use 3.11.
    assert minor == 11, "the notebooks are executed and tested on Python 3.11"
