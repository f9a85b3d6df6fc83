"""octopus-nb: accept Octopus (Hong Kong) payments through Checkout.com's Payment Setup API.

The flow, one function per step::

    client = octopus_nb.connect()            # embedded sandbox on loopback; no account needed
    setup = octopus_nb.create_payment_setup(client, amount=1000, currency="HKD",
        success_url="https://example.com/ok", failure_url="https://example.com/ko")
    setup["payment_methods"]["octopus"]["status"]   # "ready"
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    payment["processing"]["landing_url"]            # redirect the customer here

``client.history.to_frame()`` shows every exchange. pandas, qrcode and ipywidgets are imported
only by the functions that need them, so ``import octopus_nb`` stays fast.
"""

from ._shared.version import __version__ as __version__  # the public version; re-exported, not used here
from .client import Client
from .control import (
    advance_clock,
    configure_webhooks,
    flush_webhooks,
    inject_faults,
    simulate_customer,
    webhook_chaos,
    webhook_deliveries,
)
from .environments import connect, connect_target
from .errors import (
    ActionNotAllowedError,
    ApiUnreachable,
    AuthenticationError,
    CheckoutApiError,
    ConfigurationError,
    ConflictError,
    NotASandboxError,
    NotFoundError,
    OctopusError,
    RateLimitError,
    RefundNotAllowedError,
    ScenarioFailedError,
    SignatureError,
    ValidationError,
    WaitTimeoutError,
)
from .journey import Visit, app_url, open_landing_page, press_in_app
from .lifecycle import RedirectTargets, payment_of, redirect_targets, wait_for_payment
from .qr import QrCode, qr_code
from .receiver import WebhookReceiver
from .steps import (
    confirm_payment_setup,
    create_payment_setup,
    get_payment,
    get_payment_actions,
    get_payment_setup,
    refund_payment,
    update_payment_setup,
    writable_fields,
)
from .timetravel import branch, restore, run_scenario, snapshot
from .webhooks import verify_signature
from .workflows import list_workflows, payment_events, reflow, remove_workflows, subscribe

__all__ = [
    "ActionNotAllowedError",
    "ApiUnreachable",
    "AuthenticationError",
    "CheckoutApiError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "NotFoundError",
    "OctopusError",
    "RateLimitError",
    "RefundNotAllowedError",
    "SignatureError",
    "ValidationError",
    "confirm_payment_setup",
    "connect",
    "connect_target",
    "create_payment_setup",
    "get_payment",
    "get_payment_actions",
    "get_payment_setup",
    "refund_payment",
    "update_payment_setup",
    "writable_fields",
    # lifecycle: redirect, play the customer, wait; QR codes; webhooks
    "NotASandboxError",
    "QrCode",
    "RedirectTargets",
    "WaitTimeoutError",
    "WebhookReceiver",
    "configure_webhooks",
    "flush_webhooks",
    "qr_code",
    "redirect_targets",
    "simulate_customer",
    "verify_signature",
    "payment_of",
    "wait_for_payment",
    "webhook_chaos",
    "webhook_deliveries",
    # the customer's journey on the sandbox: the simulated Octopus App and the customer's devices
    "Visit",
    "app_url",
    "open_landing_page",
    "press_in_app",
    # webhooks through the Workflows API (the same on the sandbox and on Checkout.com)
    "list_workflows",
    "payment_events",
    "reflow",
    "remove_workflows",
    "subscribe",
    # the sandbox's clock and faults (sandbox rules)
    "advance_clock",
    "inject_faults",
    # time travel on the sandbox: snapshots, branches, scenarios (sandbox rules)
    "ScenarioFailedError",
    "branch",
    "restore",
    "run_scenario",
    "snapshot",
]
