"""A pytest plugin: each file's tests run with the key of an account of their own (``-p account_per_notebook``).

``tools/second_process.py --each`` starts one sandbox process with an ``--account`` per path and
hands the keys over in ``OCTOPUS_NB_ACCOUNT_KEYS`` (JSON: absolute path → key). Before a file's tests
are set up (under nbval: before the notebook's kernel starts, which inherits the environment), this
sets ``CKO_SECRET_KEY`` to that file's key. So one pytest run, with xdist, runs the notebooks side by
side, each in its own account, as a team's runs meet on one sandbox. Without the variable it does
nothing; a file the variable leaves out fails rather than fall back to a shared key.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

VARIABLE = "OCTOPUS_NB_ACCOUNT_KEYS"
_KEYS = pytest.StashKey[dict[str, str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_KEYS] = json.loads(os.environ.get(VARIABLE) or "{}")


@pytest.hookimpl(tryfirst=True)  # before pytest sets up the file (nbval starts the kernel there)
def pytest_runtest_setup(item: pytest.Item) -> None:
    keys = item.config.stash[_KEYS]
    if not keys:
        return
    key = keys.get(str(Path(item.path).resolve()))
    if key is None:
        pytest.fail(f"{item.path} has no account of its own in {VARIABLE}", pytrace=False)
    os.environ["CKO_SECRET_KEY"] = key
