"""The routing table: path pattern → handler (like moto's ``urls.py``); ``server.make_app`` serves it."""

from __future__ import annotations

from . import controls, handlers, landing, octopus_app
from . import snapshot_handlers as snapshots
from . import workflow_handlers as workflows

_ID = r"([^/]+)"
ROUTES = [
    # the API (contract §3-§4)
    (r"/payments/setups", handlers.PaymentSetupsHandler),
    (rf"/payments/setups/{_ID}", handlers.PaymentSetupHandler),
    (rf"/payments/setups/{_ID}/confirm/{_ID}", handlers.ConfirmPaymentSetupHandler),
    (rf"/payments/{_ID}", handlers.PaymentHandler),
    (rf"/payments/{_ID}/actions", handlers.PaymentActionsHandler),
    (rf"/payments/{_ID}/refunds", handlers.RefundsHandler),
    # webhooks as Checkout.com configures them: the Workflows API (contract §9.2; docs/workflows.md)
    (r"/workflows", workflows.WorkflowsHandler),
    (r"/workflows/event-types", workflows.EventTypesHandler),
    (r"/workflows/events/reflow", workflows.ReflowHandler),
    (rf"/workflows/events/subject/{_ID}", workflows.SubjectEventsHandler),
    (rf"/workflows/events/subject/{_ID}/reflow", workflows.ReflowSubjectHandler),
    (rf"/workflows/events/subject/{_ID}/workflow/{_ID}/reflow", workflows.ReflowSubjectHandler),
    (rf"/workflows/events/{_ID}", workflows.EventHandler),
    (rf"/workflows/events/{_ID}/actions/{_ID}", workflows.InvocationsHandler),
    (rf"/workflows/events/{_ID}/reflow", workflows.ReflowEventHandler),
    (rf"/workflows/events/{_ID}/workflow/{_ID}/reflow", workflows.ReflowEventHandler),
    (rf"/workflows/{_ID}", workflows.WorkflowHandlerById),
    (rf"/workflows/{_ID}/conditions", workflows.ConditionsHandler),
    (rf"/workflows/{_ID}/conditions/{_ID}", workflows.ConditionHandler),
    (rf"/workflows/{_ID}/actions", workflows.ActionsHandler),
    (rf"/workflows/{_ID}/actions/{_ID}", workflows.ActionHandler),
    (rf"/workflows/{_ID}/test", workflows.TestWorkflowHandler),
    (rf"/events/{_ID}", workflows.EventHandler),
    # the sandbox's own control surface (contract §6)
    (rf"/_sandbox/payments/{_ID}/(approve|decline|expire|fail_capture)", controls.CustomerActionHandler),
    (r"/_sandbox/clock", controls.ClockHandler),
    (r"/_sandbox/stats", controls.StatsHandler),
    (r"/_sandbox/reset", controls.ResetHandler),
    (r"/_sandbox/webhooks", controls.WebhooksHandler),
    (r"/_sandbox/webhooks/deliveries", controls.WebhookDeliveriesHandler),
    (r"/_sandbox/webhooks/flush", controls.WebhookFlushHandler),
    (r"/_sandbox/faults", controls.FaultsHandler),
    # time travel: an account's snapshots, and scenarios run in one call (docs/timetravel.md)
    (r"/_sandbox/snapshots", snapshots.SnapshotsHandler),
    (rf"/_sandbox/snapshots/{_ID}", snapshots.SnapshotHandler),
    (rf"/_sandbox/snapshots/{_ID}/restore", snapshots.SnapshotRestoreHandler),
    (r"/_sandbox/scenarios", snapshots.ScenariosHandler),
    # the customer's devices: the desktop page, and the Octopus App on the phone (no key: the token)
    (r"/_sandbox/octopus/oos/payment/?", landing.LandingPageHandler),
    (landing.STATUS_PATH, landing.LandingStatusHandler),
    (landing.SCRIPT_PATH, landing.FollowScriptHandler),
    (landing.APP_PATH, octopus_app.OctopusAppHandler),
]
#: what answers a path no route matches (401 without the key, else an empty 404)
DEFAULT_HANDLER = handlers.NotFoundHandler
