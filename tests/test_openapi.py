"""``octopus_nb/sandbox/openapi.yaml``: it parses, it is OpenAPI, and it documents every route served."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from octopus_nb._shared.contract import METADATA_LIMITS, PAYMENT_TYPES, WRITABLE_FIELDS
from octopus_nb.sandbox import handlers, urls
from octopus_nb.sandbox.validation import setup_field_errors

yaml = pytest.importorskip("yaml")  # PyYAML (pinned in requirements.txt)

SPEC_PATH = Path(handlers.__file__).with_name("openapi.yaml")
VERBS = ("get", "put", "post", "delete", "patch", "head", "options")


@pytest.fixture(scope="module")
def spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))


def _concrete_paths(pattern: str) -> list[str]:
    """Sample paths a route pattern matches: one per alternative, ids filled in."""
    pattern = pattern.replace("([^/]+)", "x1").replace("/?", "/")
    alternation = re.search(r"\(([a-z_|]+)\)", pattern)
    if not alternation:
        return [pattern]
    return [pattern.replace(alternation.group(0), choice) for choice in alternation.group(1).split("|")]


def _template_regex(template: str) -> re.Pattern:
    return re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$")


def _handler_verbs(handler: type) -> set[str]:
    """Verbs the handler answers itself (the rest are tornado's 405)."""
    return {verb for verb in VERBS if getattr(handler, verb) is not getattr(handlers.tornado.web.RequestHandler, verb)}


def test_it_is_an_openapi_3_document_with_bearer_auth(spec):
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {
        **spec["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }
    assert spec["security"] == [{"bearerAuth": []}]
    assert spec["components"]["parameters"]["IdempotencyKey"]["name"] == "Cko-Idempotency-Key"
    assert set(spec["components"]["headers"]) >= {"Cko-Request-Id", "Cko-Version"}


def test_every_served_route_and_verb_is_documented(spec):
    documented = {template: _template_regex(template) for template in spec["paths"]}
    for pattern, handler in urls.ROUTES:
        for path in _concrete_paths(pattern):
            matches = [template for template, regex in documented.items() if regex.match(path)]
            assert matches, f"{pattern} ({path}) is served but not documented"
            verbs = set().union(*(set(spec["paths"][template]) & set(VERBS) for template in matches))
            assert _handler_verbs(handler) <= verbs, (pattern, _handler_verbs(handler) - verbs)


def test_every_documented_path_is_served(spec):
    routes = [re.compile("^" + pattern + "$") for pattern, _ in urls.ROUTES]
    for template in spec["paths"]:
        sample = re.sub(r"\{[^}]+\}", "x1", template)
        assert any(route.match(sample) for route in routes), f"{template} is documented but not served"


def test_every_keyed_operation_documents_401_and_the_contract_headers(spec):
    for template, item in spec["paths"].items():
        for verb in set(item) & set(VERBS):
            operation = item[verb]
            if operation.get("security") == []:
                continue  # the landing page: the customer's browser has no key
            assert "401" in operation["responses"], (verb, template)
            ok = next(code for code in operation["responses"] if code.startswith("2"))
            answer = operation["responses"][ok]
            answer = _resolve(spec, answer)
            assert {"Cko-Request-Id", "Cko-Version"} <= set(answer.get("headers", {})), (verb, template)
            if verb in ("post", "put"):
                names = [_resolve(spec, parameter).get("name") for parameter in operation.get("parameters", [])]
                assert "Cko-Idempotency-Key" in names or template == "/_sandbox/webhooks/flush", (verb, template)


def test_every_ref_resolves(spec):
    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                _resolve(spec, node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)


def test_error_bodies_follow_the_contract(spec):
    schemas = spec["components"]["schemas"]
    assert schemas["ValidationError"]["required"] == ["request_id", "error_type", "error_codes"]
    assert schemas["MalformedError"]["properties"]["error_type"]["enum"] == ["request_malformed"]
    assert schemas["ConflictError"]["properties"]["error_type"]["enum"] == ["conflict"]
    assert "content" not in spec["components"]["responses"]["Unauthorized"]  # empty body
    assert "content" not in spec["components"]["responses"]["NotFound"]


def test_the_2026_11_29_changes_are_described(spec):
    paths, schemas = spec["paths"], spec["components"]["schemas"]
    confirm = paths["/payments/setups/{setup_id}/confirm/{payment_method_name}"]["post"]["responses"]
    assert _resolve(spec, confirm["202"]["content"]["application/json"]["schema"]) is schemas["ConfirmedPayment"]
    assert _resolve(spec, confirm["200"]["content"]["application/json"]["schema"]) is schemas["ConfirmedSetup"]
    assert schemas["ConfirmResponse"]["oneOf"] == [
        {"$ref": "#/components/schemas/ConfirmedPayment"},
        {"$ref": "#/components/schemas/ConfirmedSetup"},
    ]
    refund = paths["/payments/{payment_id}/refunds"]["post"]["responses"]
    assert _resolve(spec, refund["403"])["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ActionNotAllowedError"}
    assert schemas["ActionNotAllowedError"]["properties"]["error_codes"]["items"]["enum"] == ["refund_not_allowed"]
    assert "request_in_progress" in schemas["ConflictError"]["properties"]["error_codes"]["items"]["enum"]
    for path, verb in (
        ("/payments/setups", "post"),
        ("/payments/setups/{setup_id}", "put"),
        ("/payments/setups/{setup_id}/confirm/{payment_method_name}", "post"),
        ("/payments/{payment_id}/refunds", "post"),
    ):
        assert "409" in paths[path][verb]["responses"], (verb, path)  # a duplicate in flight
    assert "/_sandbox/payments/{payment_id}/fail_capture" in paths
    assert set(schemas["Event"]["required"]) == {"id", "source", "type", "timestamp", "version", "data", "_links"}
    assert "payment_capture_declined" in schemas["Event"]["properties"]["type"]["enum"]
    assert set(schemas["Event"]["properties"]["_links"]["required"]) == {"self", "subject"}
    assert schemas["Metadata"]["maxProperties"] == METADATA_LIMITS["max_keys"]
    assert schemas["Metadata"]["additionalProperties"]["anyOf"][0]["maxLength"] == METADATA_LIMITS["max_string_length"]
    assert set(WRITABLE_FIELDS) <= set(schemas["PaymentSetupRequest"]["properties"])


@pytest.mark.parametrize("value", [*PAYMENT_TYPES, "regular", "MOTO", "moto", "PAYLATER", "Weekly", "Regular ", "", "regulars"])
def test_the_payment_type_pattern_agrees_with_the_sandbox(spec, value):
    pattern = re.compile(spec["components"]["schemas"]["PaymentType"]["pattern"])
    documented = bool(pattern.search(value)) and not value.endswith("\n")
    accepted = "payment_type_invalid" not in setup_field_errors({"amount": 1000, "currency": "HKD", "payment_type": value})
    assert documented == accepted


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_webhook_chaos_is_described(spec):
    from octopus_nb.sandbox.chaos import CHAOS_OFF, DELIVERY_KINDS, WEBHOOK_FIELDS

    schemas = spec["components"]["schemas"]
    config, settings = schemas["WebhookConfig"], schemas["WebhookSettings"]
    assert set(config["properties"]) == WEBHOOK_FIELDS and config["additionalProperties"] is False
    assert set(settings["properties"]) == {"url", *CHAOS_OFF} and settings["required"] == ["url"]
    for name in ("duplicate_rate", "forged_rate"):
        assert (config["properties"][name]["minimum"], config["properties"][name]["maximum"]) == (0, 1)
    assert config["properties"]["reorder"]["type"] == "boolean"
    assert "webhooks_invalid" in spec["paths"]["/_sandbox/webhooks"]["put"]["description"]
    delivery = schemas["Delivery"]
    assert delivery["properties"]["kind"]["enum"] == list(DELIVERY_KINDS) and "kind" not in delivery["required"]
    for verb in ("get", "put"):
        answer = spec["paths"]["/_sandbox/webhooks"][verb]["responses"]["200"]["content"]["application/json"]["schema"]
        assert answer == {"$ref": "#/components/schemas/WebhookSettings"}
