"""``Client``: one ``requests.Session`` bound to one Checkout.com environment.

It owns everything about talking to the API: base URL, the secret key (sent, never shown),
timeouts, the retry policy, idempotency keys and the :class:`~octopus_nb.history.History`.
``request()`` is the one door: it returns the JSON body or raises one of
:mod:`octopus_nb.errors`; step functions in :mod:`octopus_nb.steps` only call it.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from ._shared.version import __version__
from .errors import ApiUnreachable, CheckoutApiError, error_class
from .history import Exchange, History

#: (connect, read) seconds. requests has no default timeout; a silent server must not hang a notebook.
DEFAULT_TIMEOUT = (3.05, 15.0)
#: Transient answers worth another try (Checkout.com documents 429 and 502; 503/504 are gateways').
RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: A 409 with this code means "the first request with this idempotency key is still running":
#: Checkout.com documents it as safe to retry with the same key, so the client does, like a 429.
IN_PROGRESS_CODE = "request_in_progress"
USER_AGENT = f"octopus-nb/{__version__}"
#: Request fields that are secrets in their own right (the webhook signing key): sent, but
#: recorded in the history as "***", like the Authorization header is never recorded at all.
SECRET_FIELDS = frozenset({"signature_key"})


class BackoffRetry(Retry):
    """urllib3's ``Retry`` with its waits going through ``sleep`` (``time.sleep`` unless given).

    Tests and notebooks that exercise retries pass a recorder instead, and see the back-off
    schedule without waiting through it.
    """

    def __init__(self, *args: Any, sleep: Callable[[float], None] = time.sleep, **kwargs: Any):
        super().__init__(*args, **kwargs)
        #: how a wait between attempts happens
        self.wait = sleep

    def new(self, **kw: Any) -> BackoffRetry:
        # urllib3 makes a new Retry after every attempt; the wait must travel with it.
        return super().new(sleep=self.wait, **kw)

    def sleep(self, response: Any = None) -> None:
        """Wait as ``Retry-After`` says when the server sent one, else the exponential back-off."""
        retry_after = self.get_retry_after(response) if self.respect_retry_after_header and response else None
        wait = retry_after or self.get_backoff_time()
        if wait > 0:
            self.wait(wait)


def default_retry(sleep: Callable[[float], None] = time.sleep) -> BackoffRetry:
    """Retries for transient failures, where safe.

    GETs are safe; POST and PUT are made safe by the ``Cko-Idempotency-Key`` every one of them
    carries (a retry replays the first answer instead of acting twice). Back-off: none before the
    first retry, then 0.2 s, 0.4 s, ... up to 2 s, or what ``Retry-After`` says. ``sleep`` is how a wait happens (tests pass a recorder).
    """
    return BackoffRetry(
        total=5,
        backoff_factor=0.1,
        backoff_max=2.0,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET", "POST", "PUT"}),
        raise_on_status=False,
        respect_retry_after_header=True,
        sleep=sleep,
    )


#: Environments that are Checkout.com itself, where no ``/_sandbox/`` route exists.
CHECKOUT_ENVIRONMENTS = ("sandbox", "production")


def path_segment(resource_id: str) -> str:
    """``resource_id`` as one URL path segment, whatever it contains ("../", "?", NUL): it can't reach another route."""
    return quote(str(resource_id), safe="")


def mask_key(secret_key: str) -> str:
    """``sk_sbox_…``: enough to tell which kind of key, nothing to use."""
    return secret_key[: 8 if secret_key.startswith("sk_sbox_") else 3] + "…"


class ApiResult(dict):
    """A JSON object from the API: a plain dict, shown as indented JSON in a notebook."""

    #: HTTP status of the answer
    status: int = 0
    #: ``Cko-Request-Id`` of the answer
    request_id: str | None = None

    def _repr_pretty_(self, printer, cycle) -> None:  # noqa: ANN001 - IPython's signature
        printer.text(json.dumps(self, indent=2, ensure_ascii=False))


class ApiResultList(list):
    """A JSON array from the API (payment actions), shown as indented JSON in a notebook."""

    status: int = 0
    request_id: str | None = None
    _repr_pretty_ = ApiResult._repr_pretty_


class Client:
    """A connection to one Checkout.com environment (real sandbox, production, or embedded).

    Make one with :func:`octopus_nb.connect`; pass it to the step functions.
    """

    def __init__(
        self,
        base_url: str,
        secret_key: str,
        *,
        environment: str = "custom",
        processing_channel_id: str | None = None,
        timeout: float | tuple[float, float] = DEFAULT_TIMEOUT,
        retry: Retry | None = None,
        seed: int | None = None,
        sandbox: Any = None,
    ):
        #: scheme://host[:port], no trailing slash
        self.base_url = base_url.rstrip("/")
        #: "embedded", "sandbox", "production" or "custom" (any other base URL)
        self.environment = environment
        #: sent with every create unless the caller gives one
        self.processing_channel_id = processing_channel_id
        self.timeout = timeout
        #: every exchange, oldest first; never holds the Authorization header
        self.history = History()
        #: the embedded :class:`~octopus_nb.sandbox.Sandbox`, when this client started one
        self.sandbox = sandbox
        self._secret_key = secret_key
        # Seeded keys make a notebook's history repeat byte for byte; unseeded ones are UUID4s.
        self._key_random = random.Random(seed) if seed is not None else None
        self.session = requests.Session()
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        #: the retry policy: urllib3 applies it to connection errors and RETRY_STATUSES, the client to 409 in progress
        self.retry = retry if retry is not None else default_retry()
        adapter = HTTPAdapter(max_retries=self.retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @property
    def is_checkout(self) -> bool:
        """True when this client talks to Checkout.com itself (its sandbox or production)."""
        return self.environment in CHECKOUT_ENVIRONMENTS

    def new_idempotency_key(self) -> str:
        if self._key_random is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(int=self._key_random.getrandbits(128), version=4))

    def request(self, method: str, path: str, *, body: Any = None, idempotency_key: str | None = None) -> Any:
        """Send one API request; return its JSON body, or raise.

        Raises:
            CheckoutApiError: the API answered non-2xx (subclassed by status).
            ApiUnreachable: no answer after retries.
        """
        headers = {"Authorization": f"Bearer {self._secret_key}"}
        if method in ("POST", "PUT"):
            idempotency_key = idempotency_key or self.new_idempotency_key()
            headers["Cko-Idempotency-Key"] = idempotency_key
        data = None
        if body is not None:
            data = json.dumps(body, separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        started = time.perf_counter()
        url = self.base_url + path
        retry, attempts = self.retry, 0
        while True:
            try:
                response = self.session.request(method, url, data=data, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                self._record(method, path, started, idempotency_key, body, error=exc, attempts=attempts + 1)
                raise ApiUnreachable(self._unreachable_message(method, path, idempotency_key, exc)) from exc
            attempts += _attempts(response)
            document = _json_or_text(response)
            if not _in_progress(response, document):
                break
            try:  # the same key again after a back-off, at most the policy's total times
                retry = retry.increment(method, url)
            except MaxRetryError:
                break
            retry.sleep()
        self._record(method, path, started, idempotency_key, body, response=response, document=document, attempts=attempts)
        if not response.ok:
            raise self._api_error(method, path, response, document, body)
        result = ApiResultList(document) if isinstance(document, list) else ApiResult(document or {})
        result.status, result.request_id = response.status_code, response.headers.get("Cko-Request-Id")
        return result

    def _record(self, method, path, started, idempotency_key, body, *, response=None, document=None, error=None, attempts=1):  # noqa: ANN001
        latency = timedelta(seconds=time.perf_counter() - started)
        when = _server_time(response) if response is not None else datetime.now(UTC)
        codes = document.get("error_codes", ()) if isinstance(document, dict) else ()
        self.history.record(
            Exchange(
                time=when,
                method=method,
                path=path,
                status=response.status_code if response is not None else None,
                latency=latency,
                attempts=attempts,
                request_id=response.headers.get("Cko-Request-Id") if response is not None else None,
                idempotency_key=idempotency_key,
                request_body=_redacted(body),
                response_body=document,
                error_codes=tuple(codes) if isinstance(codes, list) else (),
                error=type(error).__name__ if error is not None else None,
            )
        )

    def _api_error(self, method, path, response, document, body) -> CheckoutApiError:  # noqa: ANN001
        document = document if isinstance(document, dict) else {}
        codes = document.get("error_codes")
        codes = [code for code in codes if isinstance(code, str)] if isinstance(codes, list) else []
        return error_class(response.status_code, codes)(
            response.status_code,
            method=method,
            path=path,
            request_id=document.get("request_id") or response.headers.get("Cko-Request-Id"),
            error_type=document.get("error_type"),
            error_codes=codes,
            request_body=_redacted(body) if isinstance(body, dict) else None,
        )

    def _unreachable_message(self, method: str, path: str, idempotency_key: str | None, exc: Exception) -> str:
        message = f"No answer from {self.base_url} for {method} {path} ({type(exc).__name__}) after retries."
        if self.environment in ("embedded", "custom"):
            message += " Is the sandbox running? `python -m octopus_nb.sandbox` or octopus_nb.connect() starts one."
        if idempotency_key:
            message += f" The server may have acted: retry only with idempotency_key={idempotency_key!r}."
        return message

    def close(self) -> None:
        """Close the connections, and stop the embedded sandbox if this client started it."""
        self.session.close()
        if self.sandbox is not None and self.sandbox.is_running():
            self.sandbox.stop()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<octopus_nb.Client {self.environment} {self.base_url} key={mask_key(self._secret_key)}>"


def _redacted(body: Any, parent: str | None = None) -> Any:
    """``body`` with every secret masked, however deep: ``signature_key``, and a workflow action's ``signature.key``."""
    if isinstance(body, dict):
        return {
            key: "***" if key in SECRET_FIELDS or (parent == "signature" and key == "key") else _redacted(value, key)
            for key, value in body.items()
        }
    if isinstance(body, list):
        return [_redacted(value, parent) for value in body]
    return body


def _attempts(response: requests.Response) -> int:
    """How many times urllib3 sent the request that got ``response`` (1 + its retries)."""
    retries = getattr(response.raw, "retries", None)
    return 1 + len(retries.history) if retries is not None else 1


def _in_progress(response: requests.Response, document: Any) -> bool:
    codes = document.get("error_codes") if response.status_code == 409 and isinstance(document, dict) else None
    return isinstance(codes, list) and IN_PROGRESS_CODE in codes


def _json_or_text(response: requests.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _server_time(response: requests.Response) -> datetime:
    """The answer's ``Date`` (the embedded sandbox sends its own clock), else the client's clock."""
    try:
        return parsedate_to_datetime(response.headers["Date"])
    except (KeyError, TypeError, ValueError):
        return datetime.now(UTC)
