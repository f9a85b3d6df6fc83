"""The sandbox as a server: ``make_app``, the embeddable :class:`Sandbox` thread, and ``main()``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import threading
from typing import Sequence

import tornado.httpclient

from .._shared.serving import ServerThread
from .handlers import MAX_BODY_BYTES, ROUTES, NotFoundHandler, SandboxApplication
from .models import SandboxState

__all__ = [
    "MAX_BODY_BYTES", "DRAIN_BODY_BYTES", "Sandbox", "SandboxAlreadyRunning", "WebhookWorker", "main", "make_app",
]

#: tornado reads bodies up to this size, so one over MAX_BODY_BYTES still gets its 400 answer:
#: refusing before reading would close the socket under a client still sending, which it sees as
#: a reset connection, not an answer. Past this the server stops reading and closes.
DRAIN_BODY_BYTES = 16 * MAX_BODY_BYTES
_access_log = logging.getLogger("octopus_nb.sandbox.access")


def _log_request(handler) -> None:  # noqa: ANN001
    # tornado logs 4xx as warnings to stderr by default, which would land, unordered, in notebook
    # outputs; every request is logged here at DEBUG instead (turn it on with logging config).
    request = handler.request
    _access_log.debug("%d %s %s %.2fms", handler.get_status(), request.method, request.uri, 1000 * request.request_time())


class SandboxAlreadyRunning(RuntimeError):
    """``start()`` on a running sandbox, or ``stop()`` on a stopped one."""


#: Sandbox rule (contract §5): a receiver that has not answered within 5 s has failed.
WEBHOOK_TIMEOUT = 5.0
#: How often the worker looks at the outbox unwoken; it matters only without a seed, where the clock
#: is real time and brings retries and expiries due on its own.
WEBHOOK_POLL_SECONDS = 1.0


class WebhookWorker:
    """Delivers the outbox's due webhooks from the sandbox's event loop, off the request path.

    The model decides what is due and records attempts; this only does the POSTs. It never holds
    the state's lock across I/O: it claims due deliveries (lock), POSTs them concurrently (no lock),
    then records each result (lock).
    """

    def __init__(self, state: SandboxState, errors: list[BaseException]):
        self.state = state
        #: the app's list of handler bugs; an unexpected exception while delivering lands here too
        self.errors = errors
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._running = False

    async def run(self) -> None:
        """Deliver until cancelled: claim what is due, POST it, sleep until woken (or the poll)."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        self.state.wake_webhooks = self.wake
        self._running = True
        # Our own client (not tornado's per-loop shared one), closed when the worker stops.
        client = tornado.httpclient.AsyncHTTPClient(force_instance=True, max_clients=64)
        try:
            while True:
                self._wake.clear()  # before claiming, so a wake during the POSTs is not lost
                batch = self.state.claim_due_webhooks()
                if batch:
                    await asyncio.gather(*(self._attempt(client, delivery) for delivery in batch))
                    continue
                try:
                    await asyncio.wait_for(self._wake.wait(), WEBHOOK_POLL_SECONDS)
                except asyncio.TimeoutError:
                    pass  # the poll: with a real clock, retries come due without a wake
        finally:
            self._running = False
            self.state.wake_webhooks = lambda: None
            client.close()

    def wake(self) -> None:
        """Tell the worker the outbox changed; safe from any thread, never blocks."""
        loop, wake = self._loop, self._wake
        if loop is None or wake is None:
            return
        try:
            loop.call_soon_threadsafe(wake.set)
        except RuntimeError:
            pass  # the loop closed as the sandbox stopped: nothing is delivered any more

    async def _attempt(self, client: tornado.httpclient.AsyncHTTPClient, delivery) -> None:  # noqa: ANN001
        request = tornado.httpclient.HTTPRequest(
            delivery.url,
            method="POST",
            body=delivery.body,
            headers=delivery.headers,
            connect_timeout=WEBHOOK_TIMEOUT,
            request_timeout=WEBHOOK_TIMEOUT,
            follow_redirects=False,
            user_agent="octopus-nb-sandbox-webhooks",
        )
        status_code = None
        try:
            response = await client.fetch(request, raise_error=False)
            status_code = None if response.code == 599 else response.code
        except (OSError, tornado.httpclient.HTTPClientError, asyncio.TimeoutError):
            pass  # refused, reset or timed out: "no answer", recorded below and retried later
        except Exception as exc:  # a bug here must fail the tests, but must not stall the outbox
            self.errors.append(exc)
        self.state.record_webhook_attempt(delivery, status_code)

    async def drain(self, timeout: float) -> bool:
        """Wait until every delivery due now has been attempted; False if ``timeout`` ran out first."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.wake()
        while not self.state.webhooks_settled():
            if not self._running or loop.time() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True


def make_app(state: SandboxState) -> SandboxApplication:
    """The tornado application serving ``state`` (contract §1-§6), with its webhook worker (not started)."""
    app = SandboxApplication(
        state, ROUTES, default_handler_class=NotFoundHandler, compress_response=False, log_function=_log_request
    )
    app.webhook_worker = WebhookWorker(state, app.errors)
    return app


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
        self._server = ServerThread(
            self.app, host, port, name="octopus-sandbox", max_body_size=DRAIN_BODY_BYTES,
            background=self.app.webhook_worker.run,
        )

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
        return self._server.is_running()

    def start(self) -> "Sandbox":
        if self.is_running():
            raise SandboxAlreadyRunning("Sandbox is already running at " + self.state.base_url)
        self.state.base_url = self._server.start()
        return self

    def stop(self) -> None:
        if not self.is_running():
            raise SandboxAlreadyRunning("Sandbox is not running")
        self._server.stop()

    def flush_webhooks(self, timeout: float = 5.0) -> list[dict]:
        """Wait until every webhook delivery due now has been attempted; return the deliveries log.

        Deliveries run off the request path, so tests and notebooks call this before looking at
        a receiver. Retries not yet due on the sandbox clock are not waited for: advance the
        clock (``POST /_sandbox/clock``) first. The same over HTTP: ``POST /_sandbox/webhooks/flush``.

        Raises:
            TimeoutError: a delivery was still in flight (a slow receiver) after ``timeout`` seconds.
        """
        if not self.is_running():
            raise SandboxAlreadyRunning("Sandbox is not running: start it before flushing webhooks")
        if self._server.in_server_thread():
            raise RuntimeError("flush_webhooks() would block the sandbox's own event loop; await the worker's drain()")
        if not self._server.run(self.app.webhook_worker.drain(timeout), timeout + WEBHOOK_TIMEOUT):
            raise TimeoutError(f"webhook deliveries still in flight after {timeout} s (a receiver answers slowly?)")
        return self.state.webhook_deliveries()

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
