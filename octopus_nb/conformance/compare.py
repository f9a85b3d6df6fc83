"""``compare(a, b)``: where two recordings of the probe scenario differ, one row per difference.

Shapes are compared everywhere (a field present on one side only, a JSON type that changed);
values only where the contract fixes them — statuses, readiness flags and status, error types and
codes, ``available_payment_methods``, and the ``Cko-Request-Id`` / ``Content-Type`` headers. Ids,
amounts and URLs may differ between two conformant servers; a status or an error code may not.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .recording import RecordedStep, Recording

COLUMNS = ["step", "method", "path", "aspect", "field", "a", "b"]
#: Body fields (by name, at any depth) whose values are contract.
CONTRACT_FIELDS = frozenset({"status", "flags", "error_type", "error_codes", "available_payment_methods"})
#: Response headers whose values are contract (``Cko-Request-Id`` is recorded as present or not).
CONTRACT_HEADERS = frozenset({"Cko-Request-Id", "Content-Type"})
_JSON_TYPES = (
    (type(None), "null"),
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def compare(a: Recording, b: Recording):
    """A pandas DataFrame of every difference between recordings ``a`` and ``b``; empty means conformant.

    Columns: ``step``, ``method``, ``path`` (template), ``aspect`` (``status``, ``field missing``
    — in a, not in b —, ``field extra`` — in b only —, ``JSON type``, ``value``, ``step missing``,
    ``step extra``), ``field`` (dotted: ``payment_methods.octopus.flags``; ``headers.`` for
    headers; ``[0]`` for list items), and the value in ``a`` and in ``b``.

    >>> compare(Recording.load("tests/golden/embedded.json"), record(client))  # doctest: +SKIP
    """
    import pandas as pd

    return pd.DataFrame(list(_differences(a, b)), columns=COLUMNS)


def _differences(a: Recording, b: Recording) -> Iterator[list]:
    theirs = {_key(step): step for step in b}
    ours = {_key(step) for step in a}
    for step in a:
        other = theirs.get(_key(step))
        if other is None:
            yield _row(step, "step missing", "", step.status, None)
            continue
        if step.status != other.status:
            yield _row(step, "status", "", step.status, other.status)
        for aspect, field, mine, its in _diff(step.headers, other.headers, "headers", CONTRACT_HEADERS):
            yield _row(step, aspect, field, mine, its)
        for aspect, field, mine, its in _diff(step.response_body, other.response_body, "", CONTRACT_FIELDS):
            yield _row(step, aspect, field, mine, its)
    for step in b:
        if _key(step) not in ours:
            yield _row(step, "step extra", "", None, step.status)


def _key(step: RecordedStep) -> tuple[str, str, str]:
    return step.step, step.method, step.path


def _row(step: RecordedStep, aspect: str, field: str, a: Any, b: Any) -> list:
    return [step.step, step.method, step.path, aspect, field, a, b]


def json_type(value: Any) -> str:
    """The JSON type of a parsed value, with ``integer`` told apart from ``number`` (amounts are integers)."""
    for python_type, name in _JSON_TYPES:
        if type(value) is python_type:
            return name
    return type(value).__name__


def _diff(a: Any, b: Any, field: str, contract: frozenset) -> Iterator[tuple[str, str, Any, Any]]:
    if json_type(a) != json_type(b):
        yield "JSON type", field, json_type(a), json_type(b)
        return
    if _name(field) in contract:
        if a != b:
            yield "value", field, a, b
        return
    if isinstance(a, dict):
        for key in sorted(a.keys() | b.keys()):
            child = f"{field}.{key}" if field else key
            if key not in b:
                yield "field missing", child, a[key], None
            elif key not in a:
                yield "field extra", child, None, b[key]
            else:
                yield from _diff(a[key], b[key], child, contract)
    elif isinstance(a, list):
        for index in range(max(len(a), len(b))):
            child = f"{field}[{index}]"
            if index >= len(b):
                yield "field missing", child, a[index], None
            elif index >= len(a):
                yield "field extra", child, None, b[index]
            else:
                yield from _diff(a[index], b[index], child, contract)


def _name(field: str) -> str:
    """The field's own name: ``payment_methods.octopus.flags`` → ``flags``; list items keep their list's name."""
    return field.rsplit(".", 1)[-1].split("[", 1)[0]
