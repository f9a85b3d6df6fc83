"""Run a command against a separate sandbox process: ``python tools/second_process.py -- make test-notebooks-live``.

``make test-notebooks-second-process`` uses it to prove, without an account, that the notebooks run
against any target: it starts ``python -m octopus_nb.sandbox`` as its own process on a free loopback
port with another seed than the stored outputs' (so every id differs) and a random, well-formed
key, runs the command with ``OCTOPUS_NB_TARGET`` set to that process's base URL and
``CKO_SECRET_KEY`` to its key, and always stops the process afterwards (also on Ctrl-C or a
failure). The exit status is the command's.

With ``--each PATH ...`` the command runs once per path, ``{path}`` in it replaced by the path, each
time against a fresh process: every notebook gets a simulator of its own, as it gets its own
embedded sandbox when the stored outputs are made (a simulator's clock, webhook settings and faults
are shared by everyone who talks to it: notebook 04's clock would expire another notebook's
pending payments, and their events would reach its receiver). ``--jobs N`` runs N of them at once
(each still with its own process; ``make`` uses one per core), printing each run's output whole
when it ends, so the runs' lines never interleave.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import IO

#: Not the notebooks' seed (7): the ids, tokens and request ids all differ from the stored outputs.
SEED = 8
#: seconds to wait for the sandbox to print its base URL, and to stop after SIGTERM
START_TIMEOUT = STOP_TIMEOUT = 20
_KEY_BODY = "abcdefghijklmnopqrstuvwxyz234567"


def random_key() -> str:
    """A random sandbox-shaped key (``sk_sbox_`` + 27 characters): the process accepts only this one."""
    return "sk_sbox_" + "".join(secrets.choice(_KEY_BODY) for _ in range(27))


def start_sandbox(seed: int, secret_key: str, log: IO[str] | None = None) -> tuple[subprocess.Popen, str]:
    """Start ``python -m octopus_nb.sandbox`` on a free loopback port; return the process and its base URL.

    Its log (stderr) goes to ``log``, or stays on the terminal.
    """
    process = subprocess.Popen(
        [sys.executable, "-m", "octopus_nb.sandbox", "--host", "127.0.0.1", "--port", "0", "--seed", str(seed), "--secret-key", secret_key],
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


def run(command: Sequence[str], seed: int, out: IO[str] | None = None, log: IO[str] | None = None) -> int:
    """``command``'s exit status, run against a fresh sandbox process that is stopped afterwards.

    With ``out`` (a file) what the run prints goes there, and the sandbox's log to ``log``: a file each,
    as two processes writing one file would overwrite each other's lines.
    """
    key = random_key()
    process, base_url = start_sandbox(seed, key, log=log)
    try:
        print(f"sandbox process {process.pid} at {base_url} (seed {seed}, a random key)", file=out or sys.stdout, flush=True)
        env = {**os.environ, "OCTOPUS_NB_TARGET": base_url, "CKO_SECRET_KEY": key}
        env.pop("CKO_ENVIRONMENT", None)
        return subprocess.call(list(command), env=env, stdout=out, stderr=out and subprocess.STDOUT)
    finally:
        stop(process)


def run_captured(command: Sequence[str], seed: int) -> tuple[int, str]:
    """``run``, its output kept and returned, the sandbox's log last (for runs side by side)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as log:
        status = run(command, seed, out=out, log=log)
        out.seek(0)
        log.seek(0)
        return status, out.read() + log.read()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python tools/second_process.py", description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=SEED, help=f"the sandbox process's seed (default {SEED})")
    parser.add_argument("--each", nargs="+", metavar="PATH", help="run the command once per path ({path}), each against a fresh process")
    parser.add_argument("--jobs", type=int, default=1, help="with --each: how many runs at once (default 1)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command to run (after --)")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("name a command to run, e.g. -- make test-notebooks-live")
    if not args.each:
        return run(command, args.seed)
    commands = {path: [part.replace("{path}", path) for part in command] for path in args.each}
    if args.jobs <= 1:
        failed = [path for path in args.each if run(commands[path], args.seed)]
    else:
        failed = []
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            runs = {pool.submit(run_captured, commands[path], args.seed): path for path in args.each}
            for done in concurrent.futures.as_completed(runs):
                status, output = done.result()
                print(output, end="", flush=True)
                if status:
                    failed.append(runs[done])
    if failed:
        print(f"failed against a fresh sandbox process: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
