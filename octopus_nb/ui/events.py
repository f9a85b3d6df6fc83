"""The webhook events a flow causes: a receiver on loopback, pointed at the sandbox, and a watch on it.

:class:`EventFeed` starts a :class:`~octopus_nb.receiver.WebhookReceiver` (the loopback merchant,
whose return pages verify payments with the flow's client) and tells the octopus_nb sandbox to
deliver to it (:func:`octopus_nb.control.configure_webhooks`). Against Checkout.com it
starts nothing and says why (``note``): there, webhooks go to a public endpoint set in the Dashboard.
No widgets here; a view passes :meth:`EventFeed.watch` the redraw to run when events arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..client import Client
from ..control import configure_webhooks, flush_webhooks, is_sandbox, webhook_chaos
from ..errors import OctopusError, WaitTimeoutError
from ..receiver import WebhookReceiver

#: How long the watch sleeps between checks that it should stop (arrivals wake it at once).
WATCH_POLL_SECONDS = 0.2


class EventFeed:
    """Webhook events for one client, in arrival order; empty (with a ``note``) when none can arrive."""

    def __init__(self, client: Client, *, enabled: bool = True):
        self.client = client
        #: why no events will arrive, when none will; else ""
        self.note = "" if enabled else "Webhooks are off (FlowExplorer(..., webhooks=False))."
        #: the running receiver, or None (webhooks off, Checkout.com, or refused by the sandbox)
        self.receiver: WebhookReceiver | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        if enabled:
            self._start()

    @property
    def active(self) -> bool:
        """True when a receiver is collecting events."""
        return self.receiver is not None

    @property
    def events(self) -> list[dict]:
        """Events received so far, in arrival order (a copy; empty when inactive)."""
        return self.receiver.events if self.receiver is not None else []

    def counts(self) -> dict[str, int] | None:
        """The receiver's counts (deliveries, accepted, duplicates, rejected); None when inactive."""
        return self.receiver.counts() if self.receiver is not None else None

    def chaos(self, duplicate_rate: float = 0.0, reorder: bool = False, forged_rate: float = 0.0) -> dict:
        """Turn webhook chaos on (or, with no arguments, off) for this feed's receiver; return the settings.

        A control call (:func:`octopus_nb.control.webhook_chaos`), so it shows in ``client.history``.

        Raises:
            RuntimeError: inactive (``note`` says why).
        """
        if self.receiver is None:
            raise RuntimeError(f"No webhook receiver: {self.note}")
        return webhook_chaos(self.client, duplicate_rate=duplicate_rate, reorder=reorder, forged_rate=forged_rate)

    def refresh(self) -> list[dict]:
        """Ask the sandbox to finish every due delivery (``POST /_sandbox/webhooks/flush``), then return the events.

        The flush is a control call like any other: it shows in ``client.history``.
        """
        if self.receiver is not None:
            flush_webhooks(self.client)
        return self.events

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        """Wait until at least ``count`` events arrived; return them all.

        Raises:
            RuntimeError: inactive (``note`` says why).
            WaitTimeoutError: fewer than ``count`` after ``timeout`` seconds.
        """
        if self.receiver is None:
            raise RuntimeError(f"No webhook receiver: {self.note}")
        return self.receiver.wait_for(count, timeout=timeout)

    def watch(self, arrived: Callable[[], None]) -> None:
        """Call ``arrived()`` from a daemon thread each time deliveries come in (events, duplicates, rejections).

        Deliveries run off the sandbox's request path, so they land a moment after the call that caused them.
        """
        if self.receiver is None or self._watcher is not None:
            return
        receiver = self.receiver

        def run() -> None:
            seen = receiver.counts()["deliveries"]
            while not self._stop.is_set():
                try:
                    seen = receiver.wait_for_deliveries(seen + 1, timeout=WATCH_POLL_SECONDS)["deliveries"]
                except WaitTimeoutError:
                    continue
                arrived()

        # A daemon, so a notebook that never calls close() still exits.
        self._watcher = threading.Thread(target=run, name="octopus-event-watch", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        """Stop watching and stop the receiver."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
        if self.receiver is not None and self.receiver.is_running():
            self.receiver.stop()

    def _start(self) -> None:
        if not is_sandbox(self.client):
            self.note = (
                "Checkout.com delivers webhooks to a public HTTPS endpoint you register in the Dashboard; "
                "a receiver on this machine's loopback can't get them, so none are shown here."
            )
            return
        # The client's key generator: seeded in the embedded sandbox (so a notebook's history
        # repeats), a UUID4 otherwise. It signs deliveries to a loopback-only receiver.
        # It is the merchant too: its return pages look payments up with this client.
        receiver = WebhookReceiver(self.client.new_idempotency_key(), client=self.client).start()
        try:
            configure_webhooks(self.client, receiver)
        except OctopusError as error:
            receiver.stop()
            self.note = (
                f"This sandbox refused a webhook URL ({error}), so no events will arrive. "
                "Webhooks need a sandbox with PUT /_sandbox/webhooks."
            )
            return
        self.receiver = receiver
