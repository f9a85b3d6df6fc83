"""The embedded Checkout.com sandbox: a stateful simulator of the Payment Setup API on loopback.

``models`` holds one account's state (``SandboxState``: its parts, its lock, its seeded streams
and bookkeeping), whose operations are its parts ``payment_api``, ``workflow_api`` and
``control_api``, composing ``resources``, ``ledger``, ``idempotency``, ``outbox``, ``faults``,
``views``, ``validation``, ``clock`` and ``store``, which keeps the state in memory or in an SQLite
file; ``accounts`` holds a sandbox's states, one per key. ``exceptions`` the refusals, ``urls`` the routing table,
``handlers`` the HTTP surface (with ``templates/``), ``server`` the application, the webhook
worker, the thread and the CLI. It imports nothing from ``octopus_nb`` but ``octopus_nb._shared``.
"""

from .models import DEFAULT_SECRET_KEY, SandboxState
from .server import Sandbox, SandboxAlreadyRunning, make_app

__all__ = ["DEFAULT_SECRET_KEY", "Sandbox", "SandboxAlreadyRunning", "SandboxState", "make_app"]
