"""What a state file saves beside its tables, and takes back on restart: one small row and the seeded streams.

The tables (setups, payments, idempotency records, the delivery log...) live in ``store.py``; this
is the rest of a :class:`~octopus_nb.sandbox.models.SandboxState`: counters, the clock, the fault
settings, the queued deliveries, and the random streams ids are drawn from (the workflows, with
the shortcut's URL, key and chaos, are rows of their own table).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from .store import SqliteStore, random_state, set_random_state

if TYPE_CHECKING:
    from .faults import FaultInjector
    from .models import SandboxState
    from .outbox import WebhookOutbox
    from .workflows import WorkflowRegistry


class StateFile:
    """Saves one state's small values with every transaction (``commit``) and takes them back (``restore``)."""

    def __init__(
        self,
        state: SandboxState,
        store: SqliteStore,
        faults: FaultInjector,
        outbox: WebhookOutbox,
        registry: WorkflowRegistry,
    ):
        self.state, self.store, self.faults, self.outbox, self.registry = state, store, faults, outbox, registry

    def streams(self) -> dict[str, Any]:
        """The seeded streams by the name each is saved under."""
        return {
            "random": self.state.random,
            "faults_random": self.faults.random,
            "chaos_random": self.outbox.chaos.random,
            "workflows_random": self.registry.random,
        }

    def meta(self) -> dict:
        """One small row, plus the streams that may have been drawn from since the last commit.

        A stream's state is 2.5 KB, so it is saved only when it may have been drawn from; the
        request-id stream is saved as a count (each id is one 128-bit draw) and replayed on restore,
        so the bookkeeping every request does costs one small row.
        """
        state = self.state
        offset = state.clock.offset
        meta: dict = {
            "state": {
                "seed": state.seed,
                "requests": state.requests,
                "request_ids": state.request_ids,
                "refunds": state.refunds,
                "default_processing_channel_id": state.default_processing_channel_id,
                "clock": [offset.days, offset.seconds, offset.microseconds],
                "faults": self.faults.settings,
                "outbox": self.outbox.snapshot(),
            }
        }
        drawn = {
            "random": state.ids_drawn,
            "faults_random": bool(self.faults.settings),
            "chaos_random": self.outbox.chaos.drawn,
            "workflows_random": self.registry.drawn,
        }
        state.ids_drawn = self.outbox.chaos.drawn = self.registry.drawn = False
        for name, stream in self.streams().items():
            saved = random_state(stream) if drawn[name] else None
            if saved is not None:
                meta[name] = saved
        return meta

    def commit(self) -> None:
        self.store.commit(self.meta())

    def restore(self) -> None:
        """Take back what :meth:`meta` saved; idempotency keys in flight when the process stopped are freed."""
        state, saved = self.state, self.store.meta_json("state")
        state.requests, state.refunds = saved["requests"], saved["refunds"]
        state.default_processing_channel_id = saved["default_processing_channel_id"]
        state.clock.offset = timedelta(*saved["clock"])
        self.faults.settings = saved["faults"]
        self.outbox.restore(saved["outbox"])
        if saved["outbox"].get("url") and self.registry.shortcut() is None:
            # written before workflows: its PUT /_sandbox/webhooks settings become the shortcut workflow
            old = saved["outbox"]
            self.registry.configure_shortcut({"url": old["url"], "signature_key": old["signature_key"], **old["chaos"]})
        for name, stream in self.streams().items():
            set_random_state(stream, self.store.meta(name))
        if state.seed is not None:
            for _ in range(saved["request_ids"] - state.request_ids):
                state.request_random.getrandbits(128)
        state.request_ids = saved["request_ids"]
        # Their requests never answered (nothing was sent), so a retry with the key must run.
        self.store.write("DELETE FROM idempotency WHERE json_extract(v, '$.status') IS NULL")
