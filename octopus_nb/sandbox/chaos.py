"""Webhook chaos (contract §5-§6, sandbox rules): repeated, shuffled and forged deliveries, seeded.

``PUT /_sandbox/webhooks`` accepts ``duplicate_rate`` (0..1), ``reorder`` (bool) and
``forged_rate`` (0..1) besides ``url`` and ``signature_key``; this module checks them and plans,
for the events of one action, which deliveries to send and in what order. Chaos draws from its own
random stream, so turning it on never shifts ids, tokens, request ids or faults. Not locked on its
own: the outbox calls it under ``models.SandboxState``'s one lock.
"""

from __future__ import annotations

import random

from .validation import is_rate

#: The chaos settings and their values when off (the default, and what ``{}`` or a reset gives).
CHAOS_OFF = {"duplicate_rate": 0, "reorder": False, "forged_rate": 0}
#: Every field ``PUT /_sandbox/webhooks`` accepts; any other is refused (422 ``webhooks_invalid``).
WEBHOOK_FIELDS = frozenset({"url", "signature_key", *CHAOS_OFF})
#: What each attempt in the delivery log is: the real delivery (or its retry), a repeat of it, a forgery.
DELIVERY_KINDS = ("delivery", "duplicate", "forgery")


def chaos_settings(body: dict) -> dict | None:
    """The chaos settings in a webhook body (absent or null fields off), or None if any is invalid.

    Invalid: a field ``PUT /_sandbox/webhooks`` does not know, a rate that is not a number in 0..1,
    or a ``reorder`` that is not a boolean.
    """
    if not set(body) <= WEBHOOK_FIELDS:
        return None
    settings = {name: off if body.get(name) is None else body[name] for name, off in CHAOS_OFF.items()}
    valid = is_rate(settings["duplicate_rate"]) and is_rate(settings["forged_rate"]) and isinstance(settings["reorder"], bool)
    return settings if valid else None


def chaos_on(settings: dict) -> bool:
    """True when any chaos setting is on."""
    return settings != CHAOS_OFF


class WebhookChaos:
    """The stream webhook chaos draws from; the settings belong to each webhook action (the shortcut's)."""

    def __init__(self, seed: int | None):
        #: chaos's own seeded stream (a state file saves it)
        self.random = random.Random(seed + 3) if seed is not None else random.SystemRandom()
        #: whether the stream was drawn from since a state file last saved it
        self.drawn = False

    def plan(self, count: int, settings: dict) -> list[tuple[int, str]]:
        """What to send for the ``count`` events of one action: ``(event index, kind)`` in sending order.

        Sandbox rules: each event is delivered once (``"delivery"``); with probability
        ``duplicate_rate`` it is sent a second time (``"duplicate"``: same bytes, valid signature),
        and with probability ``forged_rate`` a forgery follows (``"forgery"``). Extras come right
        after their event; with ``reorder`` the whole group, extras included, is shuffled, so a
        forgery may arrive before the real event. Draws are made in event order, so the same
        seed and the same calls give the same plan.
        """
        duplicate_rate, forged_rate = settings["duplicate_rate"], settings["forged_rate"]
        self.drawn = self.drawn or chaos_on(settings)
        plan = []
        for index in range(count):
            plan.append((index, "delivery"))
            if duplicate_rate and self.random.random() < duplicate_rate:
                plan.append((index, "duplicate"))
            if forged_rate and self.random.random() < forged_rate:
                plan.append((index, "forgery"))
        if settings["reorder"] and len(plan) > 1:
            self.random.shuffle(plan)
        return plan

    def forge(self, event_body: dict) -> tuple[dict, str]:
        """A forgery of an event: a tampered copy (``data.amount`` ×10) and a ``Cko-Signature`` under a wrong key.

        The signature is well-formed (64 lowercase hex digits) but made with a key drawn from the
        chaos stream, never the webhook's: a receiver that verifies answers 401, one that doesn't
        would record an amount that was never paid.
        """
        data = event_body.get("data", {})
        forged = {**event_body, "data": {**data, "amount": data.get("amount", 0) * 10}}
        wrong_key = f"forged-{self.random.getrandbits(128):032x}"
        return forged, wrong_key
