"""One account's world: ``SandboxState`` builds the parts, holds the one lock, the seeded streams and the bookkeeping.

The operations live in three parts, each taking the state's lock: ``payment_api`` (``PaymentApi``:
setups, confirm, payments, refunds and the customer's outcomes), ``workflow_api`` (``WorkflowApi``:
the Workflows API) and ``control_api`` (``ControlApi``: the clock, webhook settings and deliveries,
faults). They hold no data of their own. The data lives in the parts below them, each holding one
idea: ``resources`` (the data and the lifecycle table), ``ledger`` (the resources held, their
lookups and status changes), ``idempotency`` (the key store), ``outbox`` (webhook deliveries;
``chaos`` repeats, shuffles and forges them), ``workflows`` (which webhook actions get which
events), ``faults`` (fault injection), ``views`` (wire JSON), ``validation`` (request rules and
readiness), ``clock`` (sandbox time), ``store`` (where the collections live: dicts, or an SQLite
file with one transaction per call; ``state_file`` saves the rest). Nothing here knows about HTTP:
methods are named after API operations, take plain data and return plain data (what the handlers
serialise), and raise ``exceptions.SandboxError`` subclasses that ``handlers.py`` maps to status
codes. Time comes from the sandbox clock and randomness from one seedable ``random.Random``, so a
seed makes every id, token and timestamp repeatable. The accounts of a sandbox, one state per
key, are ``accounts.Accounts``.
"""

from __future__ import annotations

import hmac
import random
import re
import threading
from collections.abc import Callable

from .clock import SandboxClock, isoformat
from .control_api import ControlApi
from .faults import FaultInjector
from .idempotency import IdempotencyStore, fingerprint
from .ledger import Ledger
from .outbox import WebhookOutbox
from .payment_api import PaymentApi
from .state_file import StateFile
from .store import SqliteStore
from .workflow_api import WorkflowApi
from .workflows import WorkflowRegistry

#: The key the embedded sandbox accepts unless told otherwise. Documented and not secret: it only
#: opens a sandbox on your own loopback interface.
DEFAULT_SECRET_KEY = "sk_sbox_octopusnbsandboxdefaultkey="
SECRET_KEY_PATTERN = re.compile(r"^sk_(sbox_)?[a-z2-7]{26}[a-z2-7*#$=]$")
#: The two published shapes of the confirm answer (contract §4): the seed page's payment (the
#: default), or the PaymentSetup with the payment under ``latest_payment`` (the SDKs' reading).
CONFIRM_RESPONSES = ("payment", "setup")
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


class SandboxState:
    """Everything one account knows, and the parts that act on it. Thread-safe: every operation takes ``self._lock``.

    The operations are the parts': ``state.payment_api``, ``state.workflows`` and ``state.control``;
    the state itself keeps the request bookkeeping (ids, counters, idempotency keys).

    To start over, build a new one with the same arguments (``Sandbox.reset()`` does), so
    resetting can't drift from constructing.
    """

    def __init__(
        self,
        seed: int | None = None,
        secret_key: str | None = None,
        base_url: str = "",
        on_outbox_change: Callable[[], None] | None = None,
        confirm_response: str = "payment",
        store: SqliteStore | None = None,
    ):
        if store is not None and store.restored:
            seed = store.meta_json("state")["seed"]  # a state file keeps the seed it was made with
        #: the seed this state was built with
        self.seed = seed
        if confirm_response not in CONFIRM_RESPONSES:
            raise ValueError(f"confirm_response must be one of {', '.join(map(repr, CONFIRM_RESPONSES))}, not {confirm_response!r}")
        #: what confirm answers with: ``"payment"`` (202, the seed page) or ``"setup"`` (200, PaymentSetup)
        self.confirm_response = confirm_response
        #: the one API key accepted (``Authorization: Bearer <key>``)
        self.secret_key = secret_key or DEFAULT_SECRET_KEY
        if not SECRET_KEY_PATTERN.match(self.secret_key):
            # Requests are refused unless the key has Checkout.com's shape, so no client could get in.
            raise ValueError("secret_key must look like sk_sbox_ + 27 characters of [a-z2-7] (the last may be *#$=)")
        #: scheme://host:port that links point at (the server's bound address)
        self.base_url = base_url
        #: resource ids and tokens; unseeded, they come from the OS and cannot be guessed
        self.random = random.Random(seed) if seed is not None else random.SystemRandom()
        #: request ids come from their own stream, so an extra GET never shifts resource ids
        self.request_random = random.Random(seed + 1) if seed is not None else random.SystemRandom()
        self.clock = SandboxClock(frozen=seed is not None)
        #: whether the id stream was drawn from since a state file last saved it; request ids made so far
        self.ids_drawn, self.request_ids = True, 0
        self.default_processing_channel_id = self.new_id("pc")
        self.requests = 0
        self.refunds = 0
        self._idempotency = IdempotencyStore(self.clock, store)
        #: webhook deliveries; ``on_outbox_change`` (called with the lock held, must not block) tells
        #: whoever delivers that some may have come due: the server passes its worker's wake-up
        self._outbox = WebhookOutbox(self.clock, on_outbox_change or (lambda: None), seed, store)
        registry = WorkflowRegistry(seed, store, on_removed=self._outbox.cancel)
        self._outbox.router = registry.targets
        #: the Workflows API (``/workflows``, ``/workflows/events``): which webhook actions get which events
        self.workflows = WorkflowApi(self, registry, self._outbox)
        self._faults = FaultInjector(seed)
        #: setups, payments, customers and events; read them through the operations of ``payment_api``
        self.ledger = Ledger(self.new_id, self.clock, self._outbox, base_url, store)
        self.setups, self.payments, self.events = self.ledger.setups, self.ledger.payments, self.ledger.events
        #: the Payment Setup API (``/payments/setups``, ``/payments``) and the customer's outcomes
        self.payment_api = PaymentApi(self)
        #: the sandbox's own controls (``/_sandbox/``: clock, webhooks, faults) and the webhook worker's hand-off
        self.control = ControlApi(self, self._idempotency, self._outbox, registry, self._faults)
        #: where the state is kept between runs (None: in memory only)
        self.store = store
        if store is None:
            self._lock = self._bookkeeping = threading.RLock()
        else:
            # One transaction per outermost hold of the lock, committed as it is released.
            self._lock = store.lock
            #: the lock for bookkeeping saved with the request's operation (``TransactionLock.deferred``)
            self._bookkeeping = store.lock.deferred
            state_file = StateFile(self, store, self._faults, self._outbox, registry)
            with self._lock:
                store.lock.commit = state_file.commit
                if store.restored:
                    state_file.restore()

    # --- a state file (``store.py``) ------------------------------------------------------

    def commit(self) -> None:
        """Save whatever bookkeeping is not saved yet (the handlers call it as each answer goes out)."""
        if self.store is not None:
            with self._lock:
                pass

    def transaction(self):  # noqa: ANN201 - the lock
        """Hold the lock: with a state file, everything done inside is one transaction, committed on leaving.

        The handlers wrap an operation and its idempotency record in one, so a 2xx is committed
        before it is sent.
        """
        return self._lock

    def bookkeeping(self):  # noqa: ANN201 - the lock
        """Hold the lock for bookkeeping: with a state file, saved with the request's operation (``TransactionLock.deferred``)."""
        return self._bookkeeping

    # --- ids, request bookkeeping ----------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        """A fresh resource id, ``prefix_`` + 26 base32 characters from the id stream."""
        return prefix + "_" + self.new_token()

    def new_token(self) -> str:
        """26 base32 characters from the id stream (a landing-page token, or an id's tail)."""
        self.ids_drawn = True
        return "".join(self.random.choice(_BASE32) for _ in range(26))

    def new_request_id(self) -> str:
        """A fresh ``Cko-Request-Id`` (UUID-shaped, as Checkout.com's are)."""
        with self._bookkeeping:
            bits = self.request_random.getrandbits(128)
            self.request_ids += 1
        hex32 = f"{bits:032x}"
        return f"{hex32[:8]}-{hex32[8:12]}-4{hex32[13:16]}-a{hex32[17:20]}-{hex32[20:]}"

    def count_request(self) -> None:
        with self._bookkeeping:
            self.requests += 1

    def is_valid_key(self, presented: str) -> bool:
        return hmac.compare_digest(presented.encode(), self.secret_key.encode())

    def stats(self) -> dict:
        with self._lock:
            return {
                "setups": len(self.setups),
                "payments": len(self.payments),
                "refunds": self.refunds,
                "webhook_deliveries": self._outbox.delivery_count(),
                "requests": self.requests,
            }

    def now(self) -> str:
        with self._lock:
            return isoformat(self.clock.now())

    # --- idempotency (contract §1) ---------------------------------------------------------

    #: what makes two requests "the same" under one key: ``fingerprint(method, path, body)``
    fingerprint = staticmethod(fingerprint)

    def begin_idempotent(self, key: str, fingerprint: str) -> tuple[int, bytes] | None:
        """Claim ``key``, or return the stored (status, body) to replay (see ``IdempotencyStore.begin``)."""
        with self._bookkeeping:
            return self._idempotency.begin(key, fingerprint)

    def finish_idempotent(self, key: str, status: int, body: bytes) -> None:
        """Store a 2xx response for ``key``; any other status releases the key, so a corrected request runs."""
        with self._lock:
            self._idempotency.finish(key, status, body)

    def idempotency_keys(self) -> dict[str, int | None]:
        """The keys held (stored 2xx status, or None in flight): what tests check a refusal left alone."""
        with self._lock:
            return self._idempotency.claimed()
