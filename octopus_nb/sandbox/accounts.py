"""Accounts: every secret key its own world (contract §9.4, sandbox rules).

As Checkout.com isolates accounts by key (and moto or LocalStack by access key), a sandbox with
accounts holds one :class:`~octopus_nb.sandbox.models.SandboxState` per key: its own setups,
payments, ids and tokens, clock, faults, webhook chaos, workflows, idempotency records and stats.
A request reaches only its key's account, so another account's resource answers exactly as an
unknown one does; the customer's pages, which carry no key, reach a payment through its token.

Without accounts (one key, the default) nothing changes: the one state answers everything, with
the seed as given. With accounts, each account's streams derive from the seed and its key, so an
account starts the same way whatever other accounts did first.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
from collections.abc import Callable, Iterable

from .models import SECRET_KEY_PATTERN, SandboxState

#: builds an account's state: (its key, its seed) → state
MakeState = Callable[[str, "int | None"], SandboxState]


def account_seed(seed: int | None, key: str) -> int | None:
    """The seed of ``key``'s account: derived from the sandbox's seed and the key (None: unseeded)."""
    if seed is None:
        return None
    return int.from_bytes(hashlib.sha256(f"{seed}:{key}".encode()).digest()[:8], "big")


def check_key(key: str) -> str:
    """``key`` if it has Checkout.com's secret-key shape, else ``ValueError`` (no client could use it).

    The message never repeats the key, not even a part: a mistyped key may be a real one.
    """
    if not SECRET_KEY_PATTERN.match(key):
        raise ValueError("secret_key must look like sk_sbox_ + 27 characters of [a-z2-7] (the last may be *#$=)")
    return key


class Accounts:
    """The sandbox's accounts by key; thread-safe (accounts are added and reset under one lock)."""

    def __init__(
        self,
        make_state: MakeState,
        seed: int | None,
        default_key: str,
        keys: Iterable[str] = (),
        any_key: bool = False,
    ):
        self._make, self._seed, self.any_key = make_state, seed, any_key
        keys = [check_key(key) for key in keys]
        #: True when there are accounts (``secret_keys`` or ``any_key``); False: one key, today's sandbox
        self.enabled = bool(keys) or any_key
        #: the account ``Sandbox.state`` and ``Sandbox.secret_key`` name: the first key, or the default one
        self.default_key = keys[0] if keys else check_key(default_key)
        self._lock = threading.Lock()
        self._states: dict[str, SandboxState] = {}
        for key in keys or [self.default_key]:
            self._states[key] = self._new(key)
        # Requests with no account's key are answered by a state that holds nothing: their request id
        # and Date come from it, so they draw nothing from any account's streams.
        self._nobody: SandboxState | None = None

    def _new(self, key: str) -> SandboxState:
        return self._make(key, account_seed(self._seed, key) if self.enabled else self._seed)

    @property
    def default(self) -> SandboxState:
        return self._states[self.default_key]

    def all(self) -> list[SandboxState]:
        with self._lock:
            return list(self._states.values())

    def for_key(self, key: str) -> SandboxState | None:
        """The account of ``key``; with ``any_key`` a new, empty one for a key of the right shape."""
        state = self._states.get(key)
        if state is None and self.any_key and SECRET_KEY_PATTERN.match(key):
            with self._lock:
                state = self._states.get(key) or self._states.setdefault(key, self._new(key))
        return state

    def for_token(self, token: str) -> SandboxState | None:
        """The account holding the payment of a landing-page or app token (tokens are unguessable)."""
        return next((state for state in self.all() if state.payment_api.has_token(token)), None)

    def nobody(self) -> SandboxState:
        """A state with no resources and an unknown key, for requests no account owns."""
        if self._nobody is None:
            with self._lock:
                if self._nobody is None:
                    key = "sk_sbox_" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz234567") for _ in range(27))
                    self._nobody = SandboxState(secret_key=key)  # in memory, whatever the accounts use
        return self._nobody

    def replace(self, state: SandboxState, fill: Callable[[SandboxState], None]) -> SandboxState:
        """Swap in, for ``state``'s account, a fresh state that ``fill`` gave its data before anyone sees it.

        How a snapshot is restored: like a reset, requests already under way finish on the old state.
        """
        fresh = self._new(state.secret_key)
        fill(fresh)
        with self._lock:
            self._states[state.secret_key] = fresh
        return fresh

    def reset(self, key: str | None = None) -> SandboxState:
        """A fresh state for ``key``'s account (None: every account, back to the configured keys)."""
        with self._lock:
            if key is None:
                configured = [k for k in self._states if k == self.default_key or not self.any_key]
                self._states = {k: self._new(k) for k in configured}
                return self._states[self.default_key]
            self._states[key] = self._new(key)
            return self._states[key]
