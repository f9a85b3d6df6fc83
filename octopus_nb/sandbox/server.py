"""The sandbox as a server: ``make_app``, the embeddable :class:`Sandbox` thread, and ``main()``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
from typing import Sequence

import tornado.httpserver
import tornado.netutil

from .handlers import ROUTES, NotFoundHandler, SandboxApplication
from .models import SandboxState

#: Bodies above this are refused before they are read (the API's bodies are a few KB).
MAX_BODY_BYTES = 1024 * 1024
_access_log = logging.getLogger("octopus_nb.sandbox.access")


def _log_request(handler) -> None:  # noqa: ANN001
    # tornado logs 4xx as warnings to stderr by default, which would land, unordered, in notebook
    # outputs; every request is logged here at DEBUG instead (turn it on with logging config).
    request = handler.request
    _access_log.debug("%d %s %s %.2fms", handler.get_status(), request.method, request.uri, 1000 * request.request_time())


class SandboxAlreadyRunning(RuntimeError):
    """``start()`` on a running sandbox, or ``stop()`` on a stopped one."""


def make_app(state: SandboxState) -> SandboxApplication:
    """The tornado application serving ``state`` (contract §1-§6)."""
    return SandboxApplication(
        state, ROUTES, default_handler_class=NotFoundHandler, compress_response=False, log_function=_log_request
    )


class Sandbox:
    """A Checkout.com Payment Setup sandbox served from a background thread.

    The socket is bound in the caller's thread (port 0 picks a free one), so a bind error surfaces
    in ``start()`` and ``base_url`` is known at once.

    >>> with Sandbox(seed=7) as sb:
    ...     sb.base_url  # doctest: +SKIP
    'http://127.0.0.1:40123'
    """

    def __init__(self, seed: int | None = None, secret_key: str | None = None, host: str = "127.0.0.1", port: int = 0):
        #: the sandbox's state: setups, payments, clock, ids; shared by every handler
        self.state = SandboxState(seed=seed, secret_key=secret_key)
        #: the tornado application (its ``errors`` list collects handler bugs)
        self.app = make_app(self.state)
        self.host = host
        self.port = port
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._serving = threading.Event()

    @property
    def secret_key(self) -> str:
        return self.state.secret_key

    @property
    def base_url(self) -> str:
        if not self.is_running():
            raise SandboxAlreadyRunning("Sandbox is not running: call start() or use `with Sandbox() as sb:`")
        return self.state.base_url

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions raised inside handlers: bugs, which tests turn into failures."""
        return self.app.errors

    def is_running(self) -> bool:
        return self._thread is not None

    def start(self) -> "Sandbox":
        if self.is_running():
            raise SandboxAlreadyRunning("Sandbox is already running at " + self.state.base_url)
        sockets = tornado.netutil.bind_sockets(self.port, self.host)
        port = sockets[0].getsockname()[1]
        shown_host = f"[{self.host}]" if ":" in self.host else self.host
        self.state.base_url = f"http://{shown_host}:{port}"
        self._serving.clear()
        # A daemon thread, so a kernel or script that forgets stop() can still exit.
        self._thread = threading.Thread(target=self._serve, args=(sockets,), name="octopus-sandbox", daemon=True)
        self._thread.start()
        self._serving.wait()
        return self

    def _serve(self, sockets: list) -> None:
        asyncio.run(self._main(sockets))

    async def _main(self, sockets: list) -> None:
        server = tornado.httpserver.HTTPServer(self.app, max_body_size=MAX_BODY_BYTES, xheaders=False)
        server.add_sockets(sockets)
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        self._serving.set()
        await self._stopping.wait()
        server.stop()
        await server.close_all_connections()

    def stop(self) -> None:
        if not self.is_running():
            raise SandboxAlreadyRunning("Sandbox is not running")
        # The event loop belongs to the server thread; only call_soon_threadsafe may reach it.
        assert self._loop is not None and self._stopping is not None
        self._loop.call_soon_threadsafe(self._stopping.set)
        self._thread.join()
        self._thread = None

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.state.base_url if self.is_running() else "stopped"
        return f"<Sandbox seed={self.state.seed} {where}>"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m octopus_nb.sandbox``: serve until interrupted, printing the base URL first."""
    parser = argparse.ArgumentParser(prog="python -m octopus_nb.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind; 0 picks a free one")
    parser.add_argument("--seed", type=int, default=None, help="seed for repeatable ids, tokens and clock")
    parser.add_argument("--secret-key", default=None, help="the API key to accept (default: the documented sandbox key)")
    args = parser.parse_args(argv)

    try:
        sandbox = Sandbox(seed=args.seed, secret_key=args.secret_key, host=args.host, port=args.port)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    try:
        sandbox.start()
    except OSError as exc:
        print(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc} (try --port 0 for a free port)", file=sys.stderr)
        return 2
    try:
        print(sandbox.base_url, flush=True)
        print(f"octopus-nb sandbox serving {sandbox.base_url} (seed={args.seed}); Ctrl-C stops it", file=sys.stderr, flush=True)
        done.wait()
    finally:
        sandbox.stop()
    return 0
