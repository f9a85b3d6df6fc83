"""Stable placeholders for everything a server makes up: ids, tokens, request ids, times, hosts.

Two recordings of the same behaviour must be the same file, whichever seed, port or account made
them. Each made-up value becomes ``<kind:N>``, N counting distinct values of that kind in order of
first appearance (steps in order, object keys sorted), so a value that reappears (the setup id in a
link, the token inside ``octopus_uri``) keeps its number and the file still shows what repeats.
Times become ``<timestamp>`` and the server's host and port ``<host>``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

#: Id prefix (Checkout.com's ``pay_…`` style) → placeholder kind; other prefixes become ``<{prefix}_id:N>``.
ID_KINDS = {
    "set": "setup_id",
    "pay": "payment_id",
    "cus": "customer_id",
    "act": "action_id",
    "pc": "processing_channel_id",
    "evt": "event_id",
    "src": "source_id",
    "ent": "entity_id",
}
#: Object keys whose string values are made up by someone (server or client), whatever they look like.
KEYED_KINDS = {
    "token": "token",
    "request_id": "request_id",
    "idempotency_key": "idempotency_key",
    "processing_channel_id": "processing_channel_id",
    "action_id": "action_id",
}
_ID = re.compile(r"\b([a-z]{2,4})_[a-z0-9]{20,40}\b")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_LOOPBACK = re.compile(r"(?<=://)(?:127\.0\.0\.1|localhost|\[::1\])(?::\d+)?")
#: Shorter made-up values are replaced only where they are a whole string, never inside one.
_MIN_EMBEDDED = 8


class Placeholders:
    """Names made-up values as they are first seen, then rewrites documents with those names.

    Use :meth:`collect` over every document in order, then :meth:`apply` to each.
    """

    def __init__(self, base_url: str | None = None):
        self._names: dict[str, str] = {}
        self._counts: Counter = Counter()
        self._host = urlsplit(base_url).netloc if base_url else ""
        self._embedded: re.Pattern | None = None

    def collect(self, value: Any, key: str | None = None) -> None:
        """Give a placeholder to every made-up value in ``value`` not named yet."""
        if isinstance(value, Mapping):
            for child in sorted(value):
                self.collect(value[child], child)
        elif isinstance(value, list):
            for item in value:
                self.collect(item, key)
        elif isinstance(value, str):
            if key in KEYED_KINDS and value:
                self._name(KEYED_KINDS[key], value)
            for match in _ID.finditer(value):
                prefix = match.group(1)
                self._name(ID_KINDS.get(prefix, f"{prefix}_id"), match.group(0))

    def apply(self, value: Any) -> Any:
        """``value`` with every collected value, time and host replaced (a new document)."""
        if isinstance(value, Mapping):
            return {key: self.apply(child) for key, child in value.items()}
        if isinstance(value, list):
            return [self.apply(item) for item in value]
        if isinstance(value, str):
            return self._text(value)
        return value

    def _name(self, kind: str, literal: str) -> None:
        if literal not in self._names:
            self._counts[kind] += 1
            self._names[literal] = f"<{kind}:{self._counts[kind]}>"
            self._embedded = None

    def _text(self, text: str) -> str:
        if text in self._names:
            return self._names[text]
        text = self._embedded_pattern().sub(lambda match: self._names[match.group(0)], text)
        if self._host:
            text = text.replace(self._host, "<host>")
        text = _LOOPBACK.sub("<host>", text)
        return _TIMESTAMP.sub("<timestamp>", text)

    def _embedded_pattern(self) -> re.Pattern:
        if self._embedded is None:
            # Longest first, so a value containing another is replaced whole; "(?!)" matches nothing.
            literals = sorted((name for name in self._names if len(name) >= _MIN_EMBEDDED), key=len, reverse=True)
            self._embedded = re.compile("|".join(map(re.escape, literals)) or "(?!)")
        return self._embedded


def replace_made_up_values(documents: Iterable[Mapping[str, Any]], base_url: str | None = None) -> list[dict]:
    """Every document with its made-up values named in order of first appearance across all of them."""
    documents = list(documents)
    placeholders = Placeholders(base_url)
    for document in documents:
        placeholders.collect(document)
    return [placeholders.apply(document) for document in documents]
