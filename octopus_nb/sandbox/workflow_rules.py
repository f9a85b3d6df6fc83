"""What a workflow, condition or webhook action body must look like: pure checks returning error codes.

Checkout.com's SDKs (checkout-sdk-python 4.8.1 ``checkout_sdk/workflows``, checkout-sdk-node 5.2.1
``api/workflows``) give the field names; neither publishes error codes for these routes, so the
codes are sandbox rules, named as the setup routes name theirs (``<field>_invalid``). Every problem
found is listed, not only the first.
"""

from __future__ import annotations

import re
from typing import Any

from .validation import is_webhook_url

#: the condition types the SDKs know, and the one list field each carries
CONDITION_FIELDS = {"event": "events", "entity": "entities", "processing_channel": "processing_channels"}
#: the only action type the SDKs know
ACTION_TYPES = ("webhook",)
#: the only signature method the SDKs document
SIGNATURE_METHOD = "HMACSHA256"
WORKFLOW_FIELDS = frozenset({"name", "active", "conditions", "actions"})
PATCH_FIELDS = frozenset({"name", "active"})
#: ``retry`` is documented on webhook actions by checkout-sdk-node 5.2.1 (``retry.enabled``)
ACTION_FIELDS = frozenset({"type", "url", "headers", "signature", "retry"})
SIGNATURE_FIELDS = frozenset({"method", "key"})
#: headers the sandbox sets itself on every delivery; an action may not replace them (sandbox rule)
RESERVED_HEADERS = frozenset({"content-type", "cko-signature", "content-length", "host"})
#: a header name is an HTTP token, its value printable ASCII (anything else could not be sent)
HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,255}\Z")
HEADER_VALUE = re.compile(r"^[\x20-\x7e]{0,4096}\Z")
MAX_NAME_LENGTH = 255
MAX_KEY_LENGTH = 1024


def _is_text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= limit


def _is_text_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_text(item, 255) for item in value)


def name_errors(body: dict, required: bool) -> list[str]:
    if "name" not in body:
        return ["workflow_name_required"] if required else []
    return [] if _is_text(body["name"], MAX_NAME_LENGTH) else ["workflow_name_invalid"]


def workflow_errors(body: dict) -> list[str]:
    """``POST /workflows``: a name, ``active`` (default true), lists of conditions and actions."""
    codes = [] if set(body) <= WORKFLOW_FIELDS else ["workflow_invalid"]
    codes += name_errors(body, required=True)
    if not isinstance(body.get("active", True), bool):
        codes.append("workflow_active_invalid")
    for field, check in (("conditions", condition_errors), ("actions", action_errors)):
        items = body.get(field, [])
        if not isinstance(items, list):
            codes.append(f"workflow_{field}_invalid")
            continue
        for item in items:
            codes += [code for code in check(item) if code not in codes]
    return _unique(codes)


def patch_errors(body: dict) -> list[str]:
    """``PATCH /workflows/{id}``: ``name`` and ``active`` only (conditions and actions have their own routes)."""
    codes = [] if set(body) <= PATCH_FIELDS else ["workflow_invalid"]
    codes += name_errors(body, required=False)
    if not isinstance(body.get("active", True), bool):
        codes.append("workflow_active_invalid")
    return codes


def condition_errors(body: Any) -> list[str]:
    """One condition: ``event`` (``events: {source: [types]}``), ``entity`` or ``processing_channel`` (lists of ids)."""
    if not isinstance(body, dict):
        return ["condition_invalid"]
    kind = body.get("type")
    field = CONDITION_FIELDS.get(kind) if isinstance(kind, str) else None
    if field is None:
        return ["condition_type_invalid"]
    codes = [] if set(body) <= {"type", field} else ["condition_invalid"]
    value = body.get(field)
    if kind == "event":
        valid = (
            isinstance(value, dict)
            and bool(value)
            and all(isinstance(source, str) and _is_text_list(types) for source, types in value.items())
        )
    else:
        valid = _is_text_list(value)
    if not valid:
        codes.append(f"condition_{field}_invalid")
    return codes


def action_errors(body: Any) -> list[str]:
    """One webhook action: an http(s) ``url``, string ``headers``, ``signature {method: HMACSHA256, key}``."""
    if not isinstance(body, dict):
        return ["action_invalid"]
    if body.get("type") not in ACTION_TYPES:
        return ["action_type_invalid"]
    codes = [] if set(body) <= ACTION_FIELDS else ["action_invalid"]
    if not is_webhook_url(body.get("url")):
        codes.append("action_url_invalid")
    headers = body.get("headers", {})
    if headers is None:
        headers = {}
    if not (
        isinstance(headers, dict)
        and all(
            isinstance(name, str)
            and HEADER_NAME.match(name)
            and name.lower() not in RESERVED_HEADERS
            and isinstance(value, str)
            and HEADER_VALUE.match(value)
            for name, value in headers.items()
        )
    ):
        codes.append("action_headers_invalid")
    signature = body.get("signature")
    if not isinstance(signature, dict):
        codes.append("signature_required")
    else:
        if not set(signature) <= SIGNATURE_FIELDS:
            codes.append("signature_invalid")
        if signature.get("method", SIGNATURE_METHOD) != SIGNATURE_METHOD:
            codes.append("signature_method_invalid")
        if not _is_text(signature.get("key"), MAX_KEY_LENGTH):
            codes.append("signature_key_invalid")
    retry = body.get("retry")
    if retry is not None and not (isinstance(retry, dict) and set(retry) <= {"enabled"} and isinstance(retry.get("enabled", True), bool)):
        codes.append("action_retry_invalid")
    return codes


def event_types_errors(body: Any, known: tuple[str, ...]) -> list[str]:
    """``POST /workflows/{id}/test``: ``event_types``, a non-empty list of the event types the sandbox emits."""
    types = body.get("event_types") if isinstance(body, dict) else None
    if not (
        isinstance(body, dict)
        and set(body) <= {"event_types"}
        and isinstance(types, list)
        and types
        and all(isinstance(name, str) and name in known for name in types)
    ):
        return ["event_types_invalid"]
    return []


def reflow_errors(body: dict) -> list[str]:
    """``POST /workflows/events/reflow``: one of ``events`` / ``subjects`` (lists of ids), optional ``workflows``."""
    codes = [] if set(body) <= {"events", "subjects", "workflows"} else ["reflow_invalid"]
    chosen = [field for field in ("events", "subjects") if body.get(field) is not None]
    if len(chosen) != 1:
        codes.append("reflow_subjects_or_events_required")
    for field in ("events", "subjects", "workflows"):
        if body.get(field) is not None and not _is_text_list(body[field]):
            codes.append(f"reflow_{field}_invalid")
    return _unique(codes)


def _unique(codes: list[str]) -> list[str]:
    return list(dict.fromkeys(codes))
