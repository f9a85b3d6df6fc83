"""The embedded Checkout.com sandbox: a stateful simulator of the Payment Setup API on loopback.

``models`` holds state and rules, ``handlers`` the HTTP surface, ``server`` the thread and CLI.
"""

from .models import DEFAULT_SECRET_KEY, SandboxState
from .server import Sandbox, SandboxAlreadyRunning, make_app

__all__ = ["DEFAULT_SECRET_KEY", "Sandbox", "SandboxAlreadyRunning", "SandboxState", "make_app"]
