"""What the sandbox refuses: one class per wire error family.

The model raises these and never sees HTTP; ``handlers.py`` owns the one table mapping each class
to a status code, and puts ``error_type`` and ``error_codes`` on the wire as they are.
"""

from __future__ import annotations


class SandboxError(Exception):
    """A request the sandbox refuses; ``error_codes`` go on the wire as they are."""

    error_type = "request_invalid"

    def __init__(self, *error_codes: str):
        super().__init__(", ".join(error_codes) or self.error_type)
        self.error_codes = list(error_codes)


class InvalidRequest(SandboxError):
    """422: the body parsed but broke a rule; lists every problem found."""


class MalformedRequest(SandboxError):
    """400: the body is not a JSON object."""

    error_type = "request_malformed"


class NotFound(SandboxError):
    """404: no such setup, payment or token."""

    error_type = "not_found"


class Conflict(SandboxError):
    """409: the resource is in a state that forbids this operation."""

    error_type = "conflict"


class ActionNotAllowed(SandboxError):
    """403: the resource exists but this action is not allowed on it (a refund of an unrefundable payment)."""

    error_type = "action_not_allowed"


class InFlight(Conflict):
    """409 ``request_in_progress``: the same idempotency key is still being processed.

    A ``Conflict`` on the wire (CONTRACT §1, changed 2026-11-29 from 429, which is kept for rate
    limits); its own class so the idempotency store's refusal is easy to tell apart in tests.
    """
