"""Run a command against a separate sandbox process: ``python tools/second_process.py -- make test-notebooks-live``.

``make test-notebooks-second-process`` uses it to prove, without an account at Checkout.com, that
the notebooks run against any target: it starts ``python -m octopus_nb.sandbox`` as its own process
on a free loopback port with another seed than the stored outputs' (so every id differs), runs the
command with ``OCTOPUS_NB_TARGET`` set to that process's base URL and ``CKO_SECRET_KEY`` to a random,
well-formed key, and always stops the process afterwards (also on Ctrl-C or a failure). The exit
status is the command's.

With ``--each PATH ...`` every path gets an account of its own on **one** process (``--account``,
as a team shares one sandbox), and the command runs once: ``{paths}`` in it becomes the paths,
``{workers}`` the ``--jobs`` (how many run at once, for pytest-xdist's ``-n``), and
``OCTOPUS_NB_ACCOUNT_KEYS`` tells ``-p account_per_notebook`` (tools/account_per_notebook.py, on the
command's ``PYTHONPATH``) each path's key, so each notebook's kernel talks to its own account: a
notebook's clock jump, webhook settings and faults stay there (where they would otherwise expire
another notebook's pending payments and send their events to its receiver). A path's key is derived
from it, so its account's seeded streams (ids, which requests a fault hits) repeat from run to run;
the command's own ``CKO_SECRET_KEY`` (what it asks before any notebook runs, as whether the target
has ``/_sandbox/`` routes) has an account of its own too.
``--together`` then runs the command once more on the same process, ``{workers}`` 0 (one after
another, in pytest's own process), in one account the paths share, as a team's runs meet on one
key: so each must show only what it made itself. The sandbox's log comes last.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import IO

#: Not the notebooks' seed (7): the ids, tokens and request ids all differ from the stored outputs.
SEED = 8
#: seconds to wait for the sandbox to print its base URL, and to stop after SIGTERM
START_TIMEOUT = STOP_TIMEOUT = 20
_KEY_BODY = "abcdefghijklmnopqrstuvwxyz234567"


def key_for(name: str) -> str:
    """A sandbox-shaped key of ``name``'s own: the same every run, so its account's seeded streams
    (ids, and which requests an injected fault hits) repeat, as a fresh process's did."""
    digest = hashlib.sha256(name.encode()).digest()
    return "sk_sbox_" + "".join(_KEY_BODY[byte % 32] for byte in digest[:27])


def random_key() -> str:
    """A random sandbox-shaped key (``sk_sbox_`` + 27 characters): the process accepts only this one."""
    return "sk_sbox_" + "".join(secrets.choice(_KEY_BODY) for _ in range(27))


def start_sandbox(seed: int, secret_key: str | Sequence[str], log: IO[str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``python -m octopus_nb.sandbox`` on a free loopback port; return the process and its base URL.

    ``secret_key``: the one key it accepts; a list: an account for each (``--account``).
    Its log (stderr) goes to ``log``, or stays on the terminal.
    """
    if isinstance(secret_key, str):
        keys = ["--secret-key", secret_key]
    else:
        keys = [part for key in secret_key for part in ("--account", key)]
    process = subprocess.Popen(
        [sys.executable, "-m", "octopus_nb.sandbox", "--host", "127.0.0.1", "--port", "0", "--seed", str(seed), *keys],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        base_url = _first_line(process)
    except BaseException:
        stop(process)
        raise
    return process, base_url


def _first_line(process: subprocess.Popen) -> str:
    """The base URL the sandbox prints first (the log goes to stderr, which stays on the terminal)."""
    timer = threading.Timer(START_TIMEOUT, process.kill)  # a sandbox that never prints is not waited for forever
    timer.start()
    try:
        line = process.stdout.readline().strip()
    finally:
        timer.cancel()
    if not line.startswith("http://"):
        raise RuntimeError(f"the sandbox process did not print its base URL (exit status {process.poll()}): {line!r}")
    return line


def stop(process: subprocess.Popen) -> None:
    """SIGTERM (the sandbox stops cleanly on it), then SIGKILL if it has not gone within STOP_TIMEOUT."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    if process.stdout is not None:
        process.stdout.close()


def run_against(command: Sequence[str], base_url: str, key: str, account: str = "one key", env: dict[str, str] | None = None) -> int:
    """``command``'s exit status, pointed at ``base_url`` with ``key`` (and ``env`` on top)."""
    print(f"sandbox at {base_url} ({account})", flush=True)
    env = {**os.environ, "OCTOPUS_NB_TARGET": base_url, "CKO_SECRET_KEY": key, **(env or {})}
    env.pop("CKO_ENVIRONMENT", None)
    return subprocess.call(list(command), env=env)


def run(command: Sequence[str], seed: int) -> int:
    """``command``'s exit status, run against a fresh sandbox process (one random key) that is stopped afterwards."""
    key = random_key()
    process, base_url = start_sandbox(seed, key)
    try:
        print(f"sandbox process {process.pid} (seed {seed})", flush=True)
        return run_against(command, base_url, key)
    finally:
        stop(process)


#: what a failure of each run is reported as
EACH, TOGETHER = "(an account per path)", "(all, one shared key)"


def expand(command: Sequence[str], paths: Sequence[str], workers: int) -> list[str]:
    """``command`` with ``{paths}`` (a word of its own: one word per path; inside a word: space-separated)
    and ``{workers}`` filled in."""
    words: list[str] = []
    for word in command:
        if word == "{paths}":
            words.extend(paths)
        else:
            words.append(word.replace("{paths}", " ".join(paths)).replace("{workers}", str(workers)))
    return words


def run_each(command: Sequence[str], paths: Sequence[str], seed: int, jobs: int, together: bool = False) -> list[str]:
    """``command`` once against one process, each path in an account of its own, then (``together``)
    once more in one account for all; which of the two runs failed (``EACH``, ``TOGETHER``)."""
    keys = {path: key_for(path) for path in paths}
    own_key, shared_key = key_for(EACH), key_for(TOGETHER)
    # tools/ on the path for -p account_per_notebook, in both runs; the keys only side by side
    plugin_path = {"PYTHONPATH": os.pathsep.join(filter(None, [str(Path(__file__).resolve().parent), os.environ.get("PYTHONPATH")]))}
    plugin_keys = {"OCTOPUS_NB_ACCOUNT_KEYS": json.dumps({str(Path(path).resolve()): key for path, key in keys.items()})}
    with tempfile.TemporaryFile("w+") as log:
        process, base_url = start_sandbox(seed, [*keys.values(), own_key, shared_key], log=log)
        print(f"sandbox process {process.pid} at {base_url} (seed {seed}, an account per path and two more)", flush=True)
        try:
            failed = []
            side_by_side = f"an account per path, {jobs} at once"
            if run_against(expand(command, paths, jobs), base_url, own_key, account=side_by_side, env={**plugin_path, **plugin_keys}):
                failed.append(EACH)
            if together:
                shared = "every path in one account, one after another"
                if run_against(expand(command, paths, 0), base_url, shared_key, account=shared, env=plugin_path):
                    failed.append(TOGETHER)
        finally:
            stop(process)
            log.seek(0)
            print(log.read(), end="", flush=True)
    return failed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/second_process.py", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED, help=f"the sandbox process's seed (default {SEED})")
    parser.add_argument("--each", nargs="+", metavar="PATH", help="an account per path; the command runs once, {paths} the paths")
    parser.add_argument("--jobs", type=int, default=1, help="with --each: {workers}, how many paths run at once (default 1)")
    parser.add_argument("--together", action="store_true", help="with --each: then one run of all the paths, sharing one account")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run (after --)")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("name a command to run, e.g. -- make test-notebooks-live")
    if not args.each:
        if args.together:
            parser.error("--together needs --each")
        return run(command, args.seed)
    failed = run_each(command, args.each, args.seed, max(args.jobs, 1), args.together)
    if failed:
        print(f"failed against the sandbox process: {', '.join(sorted(failed))}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
