"""The sandbox as a server: the application and its webhook worker, the embeddable :class:`Sandbox`, ``main()``.

The wiring lives here, not in the state: the application owns the current ``SandboxState``
(``reset()`` swaps in a fresh one built from the same arguments), and builds each one with the
worker's wake-up as its ``on_outbox_change``. Handlers read their account's state (``app.state_for``)
on use, and the worker delivers every account's webhooks.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import tornado.httpclient
import tornado.web

from .._shared.serving import ServerThread
from .accounts import Accounts
from .handlers import MAX_BODY_BYTES
from .models import CONFIRM_RESPONSES, DEFAULT_SECRET_KEY, SandboxState
from .outbox import WebhookDelivery
from .shelves import SnapshotShelves
from .store import SqliteStore, StateFileError
from .urls import DEFAULT_HANDLER, ROUTES

__all__ = [
    "MAX_BODY_BYTES",
    "DRAIN_BODY_BYTES",
    "Sandbox",
    "SandboxAlreadyRunning",
    "SandboxApplication",
    "WebhookWorker",
    "main",
    "make_app",
]

#: tornado reads bodies up to this size, so one over MAX_BODY_BYTES still gets its 400 answer:
#: refusing before reading would close the socket under a client still sending, which it sees as
#: a reset connection, not an answer. Past this the server stops reading and closes.
DRAIN_BODY_BYTES = 16 * MAX_BODY_BYTES
#: the landing page's templates and stylesheet
TEMPLATES = Path(__file__).with_name("templates")
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

    def __init__(self, app: SandboxApplication):
        #: where the current state is (read on each round: ``reset()`` replaces it) and where an
        #: unexpected exception while delivering is recorded, with the handlers' bugs
        self.app = app
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._running = False

    async def run(self) -> None:
        """Deliver until cancelled: claim what is due, POST it, sleep until woken (or the poll)."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        self._running = True
        # Our own client (not tornado's per-loop shared one), closed when the worker stops.
        client = tornado.httpclient.AsyncHTTPClient(force_instance=True, max_clients=64)
        try:
            while True:
                self._wake.clear()  # before claiming, so a wake during the POSTs is not lost
                batch = [(state, delivery) for state in self.app.accounts.all() for delivery in state.control.claim_due_webhooks()]
                if batch:
                    await asyncio.gather(*(self._attempt(client, state, delivery) for state, delivery in batch))
                    continue
                try:
                    await asyncio.wait_for(self._wake.wait(), WEBHOOK_POLL_SECONDS)
                except TimeoutError:
                    pass  # the poll: with a real clock, retries come due without a wake
        finally:
            self._running = False
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

    async def _attempt(self, client: tornado.httpclient.AsyncHTTPClient, state: SandboxState, delivery: WebhookDelivery) -> None:
        """POST one delivery and record the result on the state it came from (a reset meanwhile drops it)."""
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
        except (TimeoutError, OSError, tornado.httpclient.HTTPClientError):
            pass  # refused, reset or timed out: "no answer", recorded below and retried later
        except Exception as exc:  # a bug here must fail the tests, but must not stall the outbox
            self.app.errors.append(exc)
        state.control.record_webhook_attempt(delivery, status_code)

    async def drain(self, timeout: float, state: SandboxState | None = None) -> bool:
        """Wait until every delivery due now has been attempted; False if ``timeout`` ran out first.

        ``state``: that account's deliveries only (the flush route's caller); None: the default account's.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        self.wake()
        while not (state or self.app.state).control.webhooks_settled():
            if not self._running or loop.time() >= deadline:
                return False
            await asyncio.sleep(0.005)
        return True


class SandboxApplication(tornado.web.Application):
    """The tornado app: the routes, the accounts and their states, the webhook worker, handler bugs."""

    def __init__(
        self,
        seed: int | None = None,
        secret_key: str | None = None,
        confirm_response: str = "payment",
        state_path: str | Path | None = None,
        secret_keys: Sequence[str] = (),
        any_key: bool = False,
        **settings,
    ):
        if secret_keys and any_key:
            raise ValueError("give accounts by key (secret_keys / --account) or any_key (--any-key), not both")
        self._seed, self._confirm_response = seed, confirm_response
        self._keys, self._any_key = list(secret_keys), any_key
        #: where the state is kept (``--state PATH``): without accounts one file; with accounts a
        #: folder of files, one per account, each named by a digest of its key; None: memory only
        self.state_path = None if state_path is None else Path(state_path)
        #: each account's state file, open and locked until ``close()``
        self._stores: dict[str, SqliteStore] = {}
        if self.state_path is not None and (secret_keys or any_key):
            if self.state_path.exists() and not self.state_path.is_dir():
                raise StateFileError(f"{self.state_path}: with accounts, --state names a folder (a state file per account)")
            self.state_path.mkdir(parents=True, exist_ok=True)
        #: unexpected exceptions raised in handlers (bugs); tests fail when this is not empty
        self.errors: list[BaseException] = []
        #: delivers the outbox's webhooks off the request path; run by the server thread
        self.webhook_worker = WebhookWorker(self)
        #: each account's snapshots (``snapshot_handlers.py``), kept beside its state
        self.snapshots = SnapshotShelves()
        #: where every account's links point (the bound address, once serving)
        self.base_url = ""
        self._default_key = secret_key or DEFAULT_SECRET_KEY
        #: the accounts by key; without accounts, one (``secret_key``'s)
        self.accounts = self._new_accounts()
        super().__init__(ROUTES, default_handler_class=DEFAULT_HANDLER, template_path=str(TEMPLATES), **settings)

    @property
    def state(self) -> SandboxState:
        """The default account's state (the only one without accounts); ``reset()`` replaces it."""
        return self.accounts.default

    @property
    def store(self) -> SqliteStore | None:
        """The default account's state file (the only one without accounts), or None in memory."""
        return self._stores.get(self.accounts.default_key) if self.state_path is not None else None

    def _new_accounts(self) -> Accounts:
        return Accounts(self._new_state, self._seed, self._default_key, self._keys, self._any_key)

    def _store_for(self, key: str) -> SqliteStore | None:
        """``key``'s state file, opened once (restoring what it holds); None in memory."""
        if self.state_path is None:
            return None
        store = self._stores.get(key)
        if store is None:
            accounts = bool(self._keys) or self._any_key
            digest = hashlib.sha256(key.encode()).hexdigest()[:32]  # never the key itself on disk
            store = self._stores[key] = SqliteStore(self.state_path / f"{digest}.sqlite" if accounts else self.state_path)
        return store

    def _new_state(self, key: str, seed: int | None) -> SandboxState:
        return SandboxState(
            seed,
            key,
            self.base_url,
            on_outbox_change=self.webhook_worker.wake,
            confirm_response=self._confirm_response,
            store=self._store_for(key),
        )

    def state_for(self, key: str | None = None, token: str | None = None) -> SandboxState:
        """The state a request works on: its key's account, or the account of a customer page's token.

        Without accounts, always the one state (today's sandbox). With accounts, a request that
        names no account gets an empty state that accepts no key, so it draws on no account.
        """
        if not self.accounts.enabled:
            return self.accounts.default
        found = self.accounts.for_key(key) if key is not None else self.accounts.for_token(token or "")
        return found or self.accounts.nobody()

    def reset(self, state: SandboxState | None = None) -> SandboxState:
        """Swap in a fresh state built from the same arguments, so resetting can't drift from constructing.

        ``state``: that account only (``POST /_sandbox/reset``); None: every account. Queued webhook
        deliveries are forgotten with the old state; one in flight finishes, but its result is
        dropped. With state files, the account's file is emptied too.
        """
        key = None if state is None else state.secret_key
        stores = [self._stores[k] for k in self._stores if key is None or k == key]
        with contextlib.ExitStack() as held:
            for store in stores:
                held.enter_context(store.lock)
                store.clear()
            return self.accounts.reset(key)

    def serve_at(self, base_url: str) -> None:
        """Point links at the bound address: in memory fresh states (a reset); with state files, the saved ones."""
        self.base_url = base_url
        if self.state_path is None:
            self.accounts.reset()
            return
        self.accounts = self._new_accounts()

    def close(self) -> None:
        """Close the state files and release their locks (nothing to do in memory)."""
        for store in self._stores.values():
            store.close()


def make_app(
    seed: int | None = None,
    secret_key: str | None = None,
    confirm_response: str = "payment",
    state_path: str | Path | None = None,
    secret_keys: Sequence[str] = (),
    any_key: bool = False,
) -> SandboxApplication:
    """The tornado application of a sandbox (contract §1-§6), with its webhook worker (not started).

    ``confirm_response`` picks confirm's answer: ``"payment"`` (202, the seed page's payment) or
    ``"setup"`` (200, the PaymentSetup with the payment under ``latest_payment``); ``reset()`` keeps it.

    ``state_path`` keeps the state in that SQLite file (see ``store.py``): a restart with the
    same path restores everything.

    Raises:
        ValueError: ``secret_key`` does not have Checkout.com's shape, or ``confirm_response`` is
            neither ``"payment"`` nor ``"setup"``.
        StateFileError: ``state_path`` is not a sandbox state file, was written by a newer
            schema, or another running sandbox holds it (the file is left untouched).
    """
    return SandboxApplication(
        seed,
        secret_key,
        confirm_response,
        state_path,
        secret_keys,
        any_key,
        compress_response=False,
        log_function=_log_request,
    )


class Sandbox:
    """A Checkout.com Payment Setup sandbox served from a background thread.

    The socket is bound in the caller's thread (port 0 picks a free one), so a bind error surfaces
    in ``start()`` and ``base_url`` is known at once.

    ``confirm_response`` picks which of the two published confirm answers it serves: ``"payment"``
    (202 with the payment, the seed page; the default) or ``"setup"`` (200 with the PaymentSetup).

    ``state_path`` keeps everything in that SQLite file, committed before each answer is sent;
    a sandbox started again on the same path carries on where it stopped (the seed is the
    file's). Without it the state lives in memory and ``start()`` begins afresh.

    Accounts (contract §9.4): ``secret_keys=[...]`` makes each key its own account, and
    ``any_key=True`` opens a new, empty account for any key of Checkout.com's shape on first use (a
    team's box on a trusted network). ``state`` and ``secret_key`` then name the first (or the
    default) key's account; :meth:`account` any other.

    >>> with Sandbox(seed=7) as sb:
    ...     sb.base_url  # doctest: +SKIP
    'http://127.0.0.1:40123'
    """

    def __init__(
        self,
        seed: int | None = None,
        secret_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        confirm_response: str = "payment",
        state_path: str | Path | None = None,
        secret_keys: Sequence[str] = (),
        any_key: bool = False,
    ):
        #: the tornado application: routes, the accounts' states, the webhook worker, handler bugs
        self.app = make_app(
            seed=seed,
            secret_key=secret_key,
            confirm_response=confirm_response,
            state_path=state_path,
            secret_keys=secret_keys,
            any_key=any_key,
        )
        self.host = host
        self.port = port
        self._server = ServerThread(
            self.app,
            host,
            port,
            name="octopus-sandbox",
            max_body_size=DRAIN_BODY_BYTES,
            background=self.app.webhook_worker.run,
        )

    @property
    def state(self) -> SandboxState:
        """The current state: setups, payments, clock, ids. ``reset()`` replaces it, so don't keep it."""
        return self.app.state

    def account(self, key: str) -> SandboxState:
        """The state of ``key``'s account (with ``any_key``, opened if new); ``KeyError`` if there is none."""
        state = self.app.accounts.for_key(key) if self.app.accounts.enabled else None
        if state is None and key == self.secret_key:
            state = self.state
        if state is None:
            raise KeyError("no account has this key")
        return state

    def reset(self) -> None:
        """Forget everything and restart the seeded sequences: fresh states, built like the first.

        ``POST /_sandbox/reset`` does the same for the caller's account; this resets every account.
        """
        self.app.reset()

    @property
    def secret_key(self) -> str:
        return self.state.secret_key

    @property
    def confirm_response(self) -> str:
        """Confirm's answer shape, fixed at construction: ``"payment"`` (202) or ``"setup"`` (200)."""
        return self.state.confirm_response

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

    def start(self) -> Sandbox:
        if self.is_running():
            raise SandboxAlreadyRunning("Sandbox is already running at " + self.state.base_url)
        # Links name the bound address, known only once bound: the state built with it (fresh, or
        # with a state file the one saved there) is in place before the first request is served.
        self._server.start(before_serving=self.app.serve_at)
        return self

    def stop(self) -> None:
        """Stop serving; with a state file, close it and release its lock."""
        if not self.is_running():
            raise SandboxAlreadyRunning("Sandbox is not running")
        self._server.stop()
        self.app.close()

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
        return self.state.control.webhook_deliveries()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.state.base_url if self.is_running() else "stopped"
        return f"<Sandbox seed={self.state.seed} confirm_response={self.confirm_response!r} {where}>"


def _accounts_note(args: argparse.Namespace) -> str:
    if args.any_key:
        return ", an account for any key"
    return f", {len(args.account)} accounts" if args.account else ""


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m octopus_nb.sandbox``: serve until interrupted, printing the base URL first."""
    parser = argparse.ArgumentParser(prog="python -m octopus_nb.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: loopback only)")
    parser.add_argument("--port", type=int, default=8080, help="port to bind; 0 picks a free one")
    parser.add_argument("--seed", type=int, default=None, help="seed for repeatable ids, tokens and clock")
    parser.add_argument("--secret-key", default=None, help="the API key to accept (default: the documented sandbox key)")
    parser.add_argument(
        "--account",
        metavar="KEY",
        action="append",
        default=[],
        help="an account of its own for this secret key (repeatable): each key sees only its own world",
    )
    parser.add_argument(
        "--any-key",
        action="store_true",
        help="any key of Checkout.com's shape opens its own, empty account on first use (a team's box on a trusted network)",
    )
    parser.add_argument(
        "--confirm-response",
        choices=CONFIRM_RESPONSES,
        default="payment",
        help="confirm answers 202 with the payment (the seed page, default) or 200 with the PaymentSetup",
    )
    parser.add_argument(
        "--state",
        metavar="PATH",
        default=None,
        help="keep the state in this SQLite file; started again with it, the sandbox carries on (the seed is the file's)",
    )
    args = parser.parse_args(argv)
    if args.account and (args.any_key or args.secret_key):
        print("--account names every key itself: leave out --any-key and --secret-key", file=sys.stderr)
        return 2

    try:
        sandbox = Sandbox(
            seed=args.seed,
            secret_key=args.secret_key,
            host=args.host,
            port=args.port,
            confirm_response=args.confirm_response,
            state_path=args.state,
            secret_keys=args.account,
            any_key=args.any_key,
        )
    except (ValueError, StateFileError) as exc:
        print(exc, file=sys.stderr)
        return 2
    done = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: done.set())
    try:
        sandbox.start()
    except OSError as exc:
        sandbox.app.close()
        print(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc} (try --port 0 for a free port)", file=sys.stderr)
        return 2
    try:
        print(sandbox.base_url, flush=True)
        print(
            f"octopus-nb sandbox serving {sandbox.base_url} (seed={args.seed if args.account or args.any_key else sandbox.state.seed}, "
            f"confirm answers with the {sandbox.confirm_response}{f', state in {args.state}' if args.state else ''}"
            f"{_accounts_note(args)}); Ctrl-C stops it",
            file=sys.stderr,
            flush=True,
        )
        done.wait()
    finally:
        sandbox.stop()
    return 0
