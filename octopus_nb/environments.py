"""``connect()``: which server a client talks to, with which key — and what it refuses.

Production is reached only with ``allow_production=True``; a sandbox key never goes to
production, nor a live key to the sandbox. With no arguments and no ``CKO_*`` settings, the
embedded sandbox starts on loopback, so everything works offline.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .client import DEFAULT_TIMEOUT, Client
from .errors import ConfigurationError

SANDBOX_URL = "https://{prefix}.api.sandbox.checkout.com"
PRODUCTION_URL = "https://{prefix}.api.checkout.com"
#: The embedded sandbox's seed when none is given: same ids every run, so notebooks reproduce.
DEFAULT_SEED = 7
SETTINGS = ("CKO_ENVIRONMENT", "CKO_SECRET_KEY", "CKO_PREFIX", "CKO_PROCESSING_CHANNEL_ID")
#: Which server the notebooks talk to (:func:`connect_target`): unset or ``embedded``, ``sandbox``, or a base URL.
TARGET_VARIABLE = "OCTOPUS_NB_TARGET"

_SANDBOX_KEY = re.compile(r"^sk_sbox_[a-z2-7]{26}[a-z2-7*#$=]$")
_LIVE_KEY = re.compile(r"^sk_(?!sbox_)[a-z2-7]{26}[a-z2-7*#$=]$")
_PREFIX = re.compile(r"^(pl-)?[a-z0-9]{1,32}$")


def settings_from_environment(environ: Mapping[str, str] | None = None, dotenv: str | Path = ".env") -> dict:
    """``CKO_*`` settings: process environment first, then a ``.env`` file in the working directory."""
    from_file: dict = {}
    if Path(dotenv).is_file():
        from dotenv import dotenv_values

        from_file = {k: v for k, v in dotenv_values(dotenv).items() if k in SETTINGS and v}
    environ = os.environ if environ is None else environ
    return {**from_file, **{k: v for k, v in environ.items() if k in SETTINGS and v}}


def environment_of_url(base_url: str) -> str:
    """ "production", "sandbox" or "custom" for a base URL, judged by its host."""
    host = (urlsplit(base_url).hostname or "").lower()
    if host == "api.sandbox.checkout.com" or host.endswith(".api.sandbox.checkout.com"):
        return "sandbox"
    if host.endswith("checkout.com"):
        return "production"
    return "custom"


def check_key(secret_key: str | None, environment: str) -> str:
    """The key, if its shape fits the environment; else a ConfigurationError saying why."""
    if not secret_key:
        raise ConfigurationError(f"No secret key for the {environment} environment: pass secret_key= or set CKO_SECRET_KEY.")
    if environment == "sandbox" and not _SANDBOX_KEY.match(secret_key):
        if _LIVE_KEY.match(secret_key):
            raise ConfigurationError("That is a production key: it is never sent to the sandbox. Use an sk_sbox_ key.")
        raise ConfigurationError("The sandbox key should look like sk_sbox_ followed by 27 characters.")
    if environment == "production" and not _LIVE_KEY.match(secret_key):
        if _SANDBOX_KEY.match(secret_key):
            raise ConfigurationError("That is a sandbox key (sk_sbox_): it is never sent to production.")
        raise ConfigurationError("The production key should look like sk_ followed by 27 characters.")
    return secret_key


def _refuse_production(allow_production: bool) -> None:
    if not allow_production:
        raise ConfigurationError(
            "Refusing to talk to Checkout.com production: real money moves there. If you mean it, pass allow_production=True to connect()."
        )


def connect(
    environment: str | None = None,
    *,
    secret_key: str | None = None,
    prefix: str | None = None,
    processing_channel_id: str | None = None,
    base_url: str | None = None,
    seed: int | None = None,
    allow_production: bool = False,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    confirm_response: str | None = None,
) -> Client:
    """A client for the embedded sandbox (default), a running server, or a Checkout.com environment.

    - ``connect()``: starts the embedded sandbox (``Sandbox(seed=7)``) on loopback, when no
      ``CKO_*`` settings exist; ``connect(seed=N)`` always does, with that seed.
    - ``connect(base_url=..., secret_key=...)``: an already running sandbox or compatible server.
    - ``connect("sandbox", secret_key=..., prefix=...)``: ``https://{prefix}.api.sandbox.checkout.com``;
      key, prefix and channel default to ``CKO_SECRET_KEY``, ``CKO_PREFIX``,
      ``CKO_PROCESSING_CHANNEL_ID`` (environment, then ``.env``).
    - ``connect("production", ..., allow_production=True)``: only with the explicit opt-in.
    - ``confirm_response="payment"|"setup"``: which of the two published confirm answers the
      embedded sandbox gives (default ``"payment"``, the seed page's); embedded only.

    >>> client = connect()  # doctest: +SKIP

    Raises:
        ConfigurationError: a refused combination (also a ``ValueError``), with the fix.
    """
    settings = settings_from_environment()
    if confirm_response is not None and (base_url is not None or environment not in (None, "embedded")):
        raise ConfigurationError(
            "confirm_response= sets up the embedded sandbox; a running server or Checkout.com answers as it does "
            "(start a separate sandbox with python -m octopus_nb.sandbox --confirm-response setup)."
        )
    if base_url is not None:
        if environment is not None or seed is not None:
            raise ConfigurationError("base_url= names the server itself: leave out environment and seed.")
        kind = environment_of_url(base_url)
        if kind == "production":
            _refuse_production(allow_production)
        key = secret_key or settings.get("CKO_SECRET_KEY")
        key = check_key(key, kind) if kind != "custom" else _require(key, "the server at " + base_url)
        return Client(base_url, key, environment=kind, processing_channel_id=processing_channel_id, timeout=timeout)

    if environment is None:
        configured = seed is None and confirm_response is None and "CKO_SECRET_KEY" in settings
        environment = settings.get("CKO_ENVIRONMENT", "sandbox") if configured else "embedded"

    if environment == "embedded":
        from .sandbox import Sandbox  # the client needs the sandbox only here

        seed = DEFAULT_SEED if seed is None else seed
        shape: dict[str, Any] = {} if confirm_response is None else {"confirm_response": confirm_response}
        sandbox = Sandbox(seed=seed, secret_key=secret_key, **shape).start()
        return Client(
            sandbox.base_url,
            sandbox.secret_key,
            environment="embedded",
            processing_channel_id=processing_channel_id,
            timeout=timeout,
            seed=seed,
            sandbox=sandbox,
        )
    if environment not in ("sandbox", "production"):
        raise ConfigurationError(f"Unknown environment {environment!r}: use 'sandbox', 'production' or 'embedded'.")
    if seed is not None:
        raise ConfigurationError("seed= applies to the embedded sandbox only; Checkout.com chooses real ids.")
    if environment == "production":
        _refuse_production(allow_production)
    key = check_key(secret_key or settings.get("CKO_SECRET_KEY"), environment)
    prefix = prefix or settings.get("CKO_PREFIX")
    if not prefix or not _PREFIX.match(prefix):
        raise ConfigurationError(
            "Checkout.com needs your account prefix (the first 8 characters of your client id after cli_): pass prefix= or set CKO_PREFIX."
        )
    template = SANDBOX_URL if environment == "sandbox" else PRODUCTION_URL
    return Client(
        template.format(prefix=prefix),
        key,
        environment=environment,
        processing_channel_id=processing_channel_id or settings.get("CKO_PROCESSING_CHANNEL_ID"),
        timeout=timeout,
    )


def target_kind(target: str | None = None) -> str:
    """``"embedded"``, ``"sandbox"`` or ``"url"`` for a target (default: ``$OCTOPUS_NB_TARGET``); refuses the rest.

    Raises:
        ConfigurationError: production (by name or by URL), or a value that is none of the three.
    """
    target = _target(target)
    if target in ("", "embedded"):
        return "embedded"
    if target == "sandbox":
        return "sandbox"
    if target.startswith(("http://", "https://")) and urlsplit(target).hostname:
        if environment_of_url(target) == "production":
            raise ConfigurationError(
                f"The target points at Checkout.com production ({target}): the notebooks and the probe never run "
                "there. Use sandbox, or a sandbox's base URL."
            )
        return "url"
    if target == "production":
        raise ConfigurationError(
            "The target production is refused: the notebooks and the probe create and refund payments, and real money "
            "moves there. Use sandbox (Checkout.com's sandbox from CKO_*)."
        )
    raise ConfigurationError(
        f"Unknown target {target!r} ({TARGET_VARIABLE} or --target): use embedded (or leave it unset), sandbox, "
        "or a base URL such as http://127.0.0.1:8080."
    )


def connect_target(
    seed: int = DEFAULT_SEED,
    *,
    target: str | None = None,
    timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
    confirm_response: str | None = None,
) -> Client:
    """The client a notebook runs against: the target ``$OCTOPUS_NB_TARGET`` names (or ``target=``).

    - unset or ``embedded``: ``connect(seed=seed)``, the embedded sandbox on loopback (no account);
    - ``sandbox``: Checkout.com's sandbox from ``CKO_SECRET_KEY``, ``CKO_PREFIX`` and
      ``CKO_PROCESSING_CHANNEL_ID`` (environment, then ``.env``);
    - an ``http://`` or ``https://`` base URL: that server (``python -m octopus_nb.sandbox``, say),
      with ``CKO_SECRET_KEY``.

    ``seed`` and ``confirm_response`` are for the embedded sandbox only (another server chooses its
    own ids and answers; ``confirm_response`` there is refused, as by :func:`connect`). Production is
    never reachable through it: its name, its URL and a live key are refused before any request.

    >>> client = connect_target(seed=7)  # doctest: +SKIP

    Raises:
        ConfigurationError: production, an unknown target, a missing or misshapen key or prefix.
    """
    kind = target_kind(target)
    if kind == "embedded":
        return connect(seed=seed, timeout=timeout, confirm_response=confirm_response)
    settings = settings_from_environment()
    if _LIVE_KEY.match(settings.get("CKO_SECRET_KEY", "")):
        raise ConfigurationError("CKO_SECRET_KEY is a production key: the notebooks never use one. Use an sk_sbox_ key.")
    if kind == "sandbox":
        return connect("sandbox", timeout=timeout, confirm_response=confirm_response)
    return connect(
        base_url=_target(target),
        processing_channel_id=settings.get("CKO_PROCESSING_CHANNEL_ID"),
        timeout=timeout,
        confirm_response=confirm_response,
    )


def _target(target: str | None) -> str:
    return (os.environ.get(TARGET_VARIABLE, "") if target is None else target).strip()


def _require(secret_key: str | None, what: str) -> str:
    if not secret_key:
        raise ConfigurationError(f"No secret key for {what}: pass secret_key=.")
    return secret_key
