"""Webhook signatures: ``Cko-Signature`` is the lowercase hex HMAC-SHA256 of the raw body.

The sandbox signs deliveries with :func:`sign`; receivers check them with :func:`verify_signature`.
"""

from __future__ import annotations

import hashlib
import hmac


def _key_bytes(key: str | bytes) -> bytes:
    return key if isinstance(key, bytes) else key.encode("utf-8")


def sign(raw_body: bytes, key: str | bytes) -> str:
    """The ``Cko-Signature`` for a body: lowercase hex HMAC-SHA256 of the raw bytes under ``key``.

    >>> sign(b'{"id":"evt_1"}', "whsec")  # doctest: +ELLIPSIS
    '...'
    """
    return hmac.new(_key_bytes(key), raw_body, hashlib.sha256).hexdigest()


def verify_signature(raw_body: bytes, signature: str | None, key: str | bytes) -> bool:
    """True when ``signature`` is the HMAC-SHA256 of ``raw_body`` under ``key``; constant-time.

    Pass the body exactly as received (bytes): parsing and re-serialising JSON changes it.
    Hex case is ignored; a missing or non-text signature is simply False. Constant time, so timing
    does not reveal how much of a forged signature was right.

    >>> verify_signature(body, request.headers["Cko-Signature"], key)  # doctest: +SKIP
    True
    """
    if not isinstance(signature, str) or not isinstance(raw_body, (bytes, bytearray)):
        return False
    expected = sign(bytes(raw_body), key).encode("ascii")
    # Bytes, not str: compare_digest refuses non-ASCII str, and a forged header may contain any.
    return hmac.compare_digest(expected, signature.strip().lower().encode("utf-8", "surrogateescape"))
