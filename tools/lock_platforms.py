"""The Pythons and platforms the locks cover, and what each pinned release needs there.

``make lock`` compiles ``requirements.txt`` with uv's universal resolution (one lock, its pins carrying
environment markers), then runs ``python tools/lock_platforms.py record``: for every pinned release it
records the Requires-Python and Requires-Dist that the index publishes (pip's own dry-run report, which
reads the index's metadata without downloading wheels) into ``requirements-metadata.json``.
``tests/test_lock_platforms.py`` then proves offline, for each (Python, platform) pair in
``ENVIRONMENTS``, that the lock pins everything a resolution there needs, at an allowed version, with
hashes; a pinned release never changes its metadata, so the proof holds until the next ``make lock``.

Only ``packaging`` is needed (``make lock`` installs it beside uv), so the tool runs before ``.venv`` exists.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.txt"
METADATA = ROOT / "requirements-metadata.json"
#: the groups (extras) requirements.txt is compiled from (Makefile, `lock:`)
LOCK_GROUPS = ("notebook", "test", "browser", "docs", "lint")

#: The supported CPythons, as full versions: each minor's first release, plus Debian 12's 3.11.2 and this
#: machine's 3.11.7 (the lock forks at 3.11.5 where a newer release needs it: soupsieve, pymdown-extensions).
PYTHONS = ("3.11.0", "3.11.2", "3.11.7", "3.12.0", "3.13.0", "3.14.0")
#: The supported platforms: marker values (PEP 508) and the wheel tags pip reads the metadata for.
PLATFORMS = {
    "linux-x86_64": dict(
        sys_platform="linux",
        platform_system="Linux",
        platform_machine="x86_64",
        os_name="posix",
        tags=(
            "manylinux_2_28_x86_64",
            "manylinux_2_17_x86_64",
            "manylinux2014_x86_64",
            "manylinux_2_5_x86_64",
            "manylinux1_x86_64",
            "linux_x86_64",
        ),
    ),
    "linux-aarch64": dict(
        sys_platform="linux",
        platform_system="Linux",
        platform_machine="aarch64",
        os_name="posix",
        tags=("manylinux_2_28_aarch64", "manylinux_2_17_aarch64", "manylinux2014_aarch64", "linux_aarch64"),
    ),
    "macos-arm64": dict(
        sys_platform="darwin", platform_system="Darwin", platform_machine="arm64", os_name="posix", tags=("macosx_14_0_arm64",)
    ),
    "macos-x86_64": dict(
        sys_platform="darwin", platform_system="Darwin", platform_machine="x86_64", os_name="posix", tags=("macosx_14_0_x86_64",)
    ),
    "windows-amd64": dict(sys_platform="win32", platform_system="Windows", platform_machine="AMD64", os_name="nt", tags=("win_amd64",)),
}


@dataclass(frozen=True)
class Environment:
    """One (Python, platform) pair: the PEP 508 marker values a resolution there is evaluated with."""

    python: str
    platform: str

    @property
    def name(self) -> str:
        return f"cpython-{self.python}-{self.platform}"

    @property
    def markers(self) -> dict[str, str]:
        values = {key: value for key, value in PLATFORMS[self.platform].items() if key != "tags"}
        return {
            **values,
            "python_version": ".".join(self.python.split(".")[:2]),
            "python_full_version": self.python,
            "implementation_name": "cpython",
            "implementation_version": self.python,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_version": "",
        }


ENVIRONMENTS = tuple(Environment(python, platform) for python in PYTHONS for platform in PLATFORMS)


@dataclass(frozen=True)
class Pin:
    """One entry of a lock: ``name==version ; marker``, and how many hashes it carries."""

    name: str
    version: str
    marker: Marker | None
    hashes: int

    def applies(self, environment: dict[str, str]) -> bool:
        return self.marker is None or self.marker.evaluate(environment)


_ENTRY = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")
_HASH = re.compile(r"^\s+--hash=sha256:[0-9a-f]{64}\s*\\?$")


def read_lock(path: Path) -> list[Pin]:
    """Every entry of a uv-compiled lock, failing on a line that is not a pin, a hash or a comment."""
    pins: list[Pin] = []
    current: tuple[str, str, Marker | None] | None = None
    hashes = 0
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if match := _ENTRY.match(line):
            if current:
                pins.append(Pin(*current, hashes))
            name, version, marker = match.groups()
            current, hashes = (canonicalize_name(name), version, Marker(marker) if marker else None), 0
        elif _HASH.match(line) and current:
            hashes += 1
        else:
            raise AssertionError(f"{path.name}:{number}: not a hashed == pin: {line!r}")
    if current:
        pins.append(Pin(*current, hashes))
    return pins


def direct_requirements(groups: tuple[str, ...]) -> list[Requirement]:
    """The toolkit's dependencies and those of the given groups, from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    for group in groups:
        lines += project["optional-dependencies"][group]
    return [Requirement(line) for line in lines]


def problems(pins: list[Pin], roots: list[Requirement], metadata: dict, environment: Environment) -> list[str]:
    """What a resolution of ``roots`` in ``environment`` would miss in the lock; empty when it is complete.

    Walks the requirements from the roots through each pinned release's own Requires-Dist (markers and
    extras evaluated there) and reports a requirement the lock does not pin there, a pin outside a range
    that asks for it, a release whose Requires-Python excludes that Python, two pins that both apply,
    a pin without hashes, and a pin that applies there although nothing needs it.
    """
    markers = environment.markers
    found: list[str] = []
    active: dict[str, Pin] = {}
    for pin in pins:
        if not pin.applies({**markers, "extra": ""}):
            continue
        if pin.name in active:
            found.append(f"{pin.name} is pinned twice: {active[pin.name].version} and {pin.version}")
        active[pin.name] = pin
        if not pin.hashes:
            found.append(f"{pin.name}=={pin.version} has no hash")
    needed: set[str] = set()
    seen: set[tuple[str, str]] = set()
    todo = [(req, "pyproject.toml") for req in roots]
    while todo:
        req, wanted_by = todo.pop()
        name = canonicalize_name(req.name)
        pin = active.get(name)
        if pin is None:
            found.append(f"{wanted_by} needs {req} but the lock pins no {name} here")
            continue
        if not req.specifier.contains(pin.version, prereleases=True):
            found.append(f"{wanted_by} needs {req} but the lock pins {name}=={pin.version}")
        needed.add(name)
        release = metadata.get(f"{name}=={pin.version}")
        if release is None:
            found.append(f"{name}=={pin.version}: no recorded metadata (run make lock)")
            continue
        if not SpecifierSet(release["requires_python"] or "").contains(environment.python, prereleases=True):
            found.append(f"{name}=={pin.version} requires Python {release['requires_python']}")
        for extra in ("", *sorted(req.extras)):
            if (name, extra) in seen:
                continue
            seen.add((name, extra))
            for line in release["requires_dist"]:
                sub = Requirement(line)
                if sub.marker is None or sub.marker.evaluate({**markers, "extra": extra}):
                    todo.append((sub, f"{name}=={pin.version}" + (f"[{extra}]" if extra else "")))
    found += [f"{name}=={active[name].version} applies here but nothing needs it" for name in sorted(set(active) - needed)]
    return found


def record(lock: Path = LOCK, out: Path = METADATA) -> None:
    """Write the index's Requires-Python and Requires-Dist of every pinned release to ``out``.

    For each environment, pip is asked (``--dry-run --no-deps --report``, its tags and Python) about the
    releases that apply there and are not yet recorded, so each release is read once, from a platform
    that has it; the plain ``name==version`` lines keep pip from evaluating markers for its own Python.
    """
    pins = read_lock(lock)
    recorded: dict[str, dict] = {}
    for environment in ENVIRONMENTS:
        wanted = sorted(
            {f"{pin.name}=={pin.version}" for pin in pins if pin.applies({**environment.markers, "extra": ""})} - recorded.keys()
        )
        if not wanted:
            continue
        with tempfile.TemporaryDirectory() as scratch:
            report = Path(scratch) / "report.json"
            tags = [arg for tag in PLATFORMS[environment.platform]["tags"] for arg in ("--platform", tag)]
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--dry-run",
                    "--no-deps",
                    "--ignore-installed",
                    "--target",
                    str(Path(scratch) / "target"),
                    "--implementation",
                    "cp",
                    "--python-version",
                    environment.python,
                    *tags,
                    "--report",
                    str(report),
                    *wanted,
                ],
                check=True,
            )
            for item in json.loads(report.read_text())["install"]:
                meta = item["metadata"]
                recorded[f"{canonicalize_name(meta['name'])}=={meta['version']}"] = {
                    "requires_python": meta.get("requires_python", ""),
                    "requires_dist": meta.get("requires_dist", []),
                }
        missing = set(wanted) - recorded.keys()
        if missing:
            raise SystemExit(f"pip reported no metadata for {sorted(missing)} on {environment.name}")
    out.write_text(json.dumps(dict(sorted(recorded.items())), indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("record", help=f"write {METADATA.name} from the index's metadata of every pin")
    commands.add_parser("check", help="report, for each (Python, platform), what the lock misses")
    args = parser.parse_args(argv)
    if args.command == "record":
        record()
        return 0
    metadata = json.loads(METADATA.read_text())
    failed = 0
    for environment in ENVIRONMENTS:
        found = problems(read_lock(LOCK), direct_requirements(LOCK_GROUPS), metadata, environment)
        print(f"{environment.name}: {'complete' if not found else '; '.join(found)}")
        failed += bool(found)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
