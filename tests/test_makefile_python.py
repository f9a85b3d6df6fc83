"""``make`` picks a supported interpreter for .venv and says which, or why none fits (``make which-python``)."""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _which_python(*settings: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", "-s", "which-python", *settings], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_the_first_candidate_that_runs_and_is_supported_is_used(tmp_path):
    broken = tmp_path / "python3.11"  # what a pyenv shim of an unselected version does: it exists, and fails
    broken.write_text("#!/bin/sh\necho 'pyenv: python3.11: command not found' >&2\nexit 127\n")
    broken.chmod(0o755)
    result = _which_python(f"PYTHON_CANDIDATES={broken} {sys.executable}")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"make: using {sys.executable}, Python {platform.python_version()}"


def test_no_supported_candidate_says_what_was_tried_and_how_to_name_one(tmp_path):
    result = _which_python("PYTHON_CANDIDATES=no-such-python3.11 no-such-python3")
    assert result.returncode != 0
    assert "no supported Python found: tried no-such-python3.11 no-such-python3" in result.stderr
    assert "CPython 3.11 to 3.14" in result.stderr and "make PYTHON=" in result.stderr


def test_a_named_python_outside_the_range_is_refused_with_its_version(tmp_path):
    old = tmp_path / "python3.10"
    # a stand-in for an old Python: fails make's version check, reports 3.10.13 when asked its version
    old.write_text('#!/bin/sh\ncase "$*" in *python_version*) echo 3.10.13 ;; *) exit 1 ;; esac\n')
    old.chmod(0o755)
    result = _which_python(f"PYTHON={old}")
    assert result.returncode != 0
    assert f"{old} is Python 3.10.13; CPython 3.11 to 3.14 is needed" in result.stderr
