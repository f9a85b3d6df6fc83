"""Property-based contract test: schemathesis generates requests from ``openapi.yaml``, sends them to a
live sandbox over real sockets, and checks every answer against the document (status code, content
type, headers, body schema, no 5xx, 401 without the key, invalid data refused, valid data accepted).

Seeded and bounded: ``deterministic`` generation (Hypothesis ``derandomize``), no example database,
a few examples per operation, and neither the coverage nor the stateful phase, so the whole module
takes seconds on two cores and fuzzes the same requests on every run.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from octopus_nb.sandbox import handlers

SPEC_PATH = Path(handlers.__file__).with_name("openapi.yaml")
#: examples per operation: small, so the module stays well under 30 s on two cores
MAX_EXAMPLES = 20

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_path(SPEC_PATH, config=CONFIG).exclude(
    # A generated webhook URL would send the sandbox's deliveries to whatever host it names: tests
    # only ever talk to loopback. test_webhook_delivery.py covers this route with a real receiver.
    path="/_sandbox/webhooks",
    method="PUT",
)


#: Operations whose bodies carry webhook ``headers``: a header name must be an HTTP token, which
#: OpenAPI 3.0 cannot say of an object's keys (``propertyNames`` is 3.1), so schema-valid and
#: schema-invalid bodies there are not what the sandbox accepts and refuses; every other check
#: runs, and test_workflows.py holds the header rules on the wire.
HEADER_KEYED = {
    ("POST", "/workflows"),
    ("POST", "/workflows/{workflow_id}/actions"),
    ("PUT", "/workflows/{workflow_id}/actions/{action_id}"),
}


#: Operations whose valid bodies may still be refused with 422 once run: a scenario's steps are
#: well formed by the schema, yet a step may be refused or an expectation fail when it runs (the
#: answer names the step); test_scenarios.py holds those rules on the wire.
RUN_CHECKED = {("POST", "/_sandbox/scenarios")}


@schema.parametrize()
# The fixture runs once per operation; each example resets the sandbox itself (below), so an idempotency
# key one example used can't make another's valid request a 422 idempotency_key_reused.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
def test_every_answer_follows_the_document(case, sandbox):
    sandbox.reset()
    keyed = (case.method.upper(), case.path) in HEADER_KEYED | RUN_CHECKED
    case.call_and_validate(
        base_url=sandbox.base_url,
        headers={"Authorization": f"Bearer {sandbox.secret_key}"},
        timeout=10,
        excluded_checks=[positive_data_acceptance, negative_data_rejection] if keyed else None,
    )
    # faults accepted by PUT /_sandbox/faults end with the reset before the next example
