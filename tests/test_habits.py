"""The habits ``make check`` keeps: its list of slow tests stays true to the suite."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import SLOW

ROOT = Path(__file__).resolve().parent.parent


def test_every_slow_entry_names_a_file_or_test_that_exists():
    for entry in SLOW:
        path, _, name = entry.partition("::")
        assert (ROOT / path).is_file(), f"conftest.SLOW: {path} does not exist"
        if name:
            assert re.search(rf"^def {re.escape(name)}\(", (ROOT / path).read_text(), re.M), f"conftest.SLOW: no {entry}"
