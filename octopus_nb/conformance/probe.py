"""``record(client)``: the probe scenario, one fixed list of requests that any server can answer.

It needs no customer and no control route (nothing under ``/_sandbox/``), so it runs unchanged
against the embedded sandbox, a sandbox process, or Checkout.com's own sandbox; the recordings can
then be compared (:func:`octopus_nb.conformance.compare`) to settle what public sources leave open.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, Any, cast

from urllib3.util.retry import Retry

from ..client import Client, path_segment
from ..errors import CheckoutApiError
from ..lifecycle import payment_of
from ..readiness import EXAMPLE_SETUP
from ..steps import writable_fields

if TYPE_CHECKING:
    from requests.adapters import HTTPAdapter
from .recording import HEADERS, Recording

#: One answer per request: a retried 429/5xx would be recorded as if the retry's answer were the
#: first. Without retries the recording shows exactly what the server said; no answer at all
#: raises ``ApiUnreachable`` and stops the recording rather than leaving a hole in it.
NO_RETRIES = Retry(0, read=False)
REFERENCE = "ORD-5023-4E89"
#: Well-formed ids nobody created: what a 404 looks like.
UNKNOWN_SETUP_ID = "set_" + "z" * 26
UNKNOWN_PAYMENT_ID = "pay_" + "z" * 26
_KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"

SETUPS = "/payments/setups"
SETUP = "/payments/setups/{setup_id}"
CONFIRM = "/payments/setups/{setup_id}/confirm/octopus"
PAYMENT = "/payments/{payment_id}"
ACTIONS = "/payments/{payment_id}/actions"
REFUNDS = "/payments/{payment_id}/refunds"


def seed_body(processing_channel_id: str | None = None) -> dict:
    """The seed page's example setup as a request body (the step functions' flat URLs moved into ``settings``)."""
    fields = dict(EXAMPLE_SETUP)
    settings = {name: fields.pop(name) for name in ("success_url", "failure_url")}
    body = {**fields, "reference": REFERENCE, "settings": settings}
    if processing_channel_id:
        body["processing_channel_id"] = processing_channel_id
    return body


def readiness_probes(body: dict) -> list[tuple[str, dict]]:
    """One create per row of the contract's readiness table (§3), each breaking only that row."""
    settings = body["settings"]
    return [
        ("create_currency_not_hkd", {**body, "currency": "USD"}),
        ("create_octopus_excluded", {**body, "settings": {**settings, "excluded_payment_methods": ["octopus"]}}),
        ("create_amount_not_ending_in_0", {**body, "amount": 1001}),
        ("create_without_success_url", {**body, "settings": {"failure_url": settings["failure_url"]}}),
        ("create_without_failure_url", {**body, "settings": {"success_url": settings["success_url"]}}),
    ]


#: Bodies the API must refuse: 422 listing every problem, and 400 for a body that is not an object.
BAD_BODIES: tuple[tuple[str, Any], ...] = (
    ("create_empty_body", {}),
    ("create_invalid_fields", {"amount": 0, "currency": "hkd", "settings": {"success_url": "not a url"}}),
    ("create_not_an_object", []),
)


def wrong_key(environment: str) -> str:
    """A random key of the right shape for ``environment``: well-formed, so only the server can refuse it."""
    prefix = "sk_" if environment == "production" else "sk_sbox_"
    body = "".join(secrets.choice(_KEY_ALPHABET) for _ in range(26))
    return prefix + body + secrets.choice(_KEY_ALPHABET + "*#$=")


class _Probe:
    """Sends the scenario's requests and keeps each exchange, errors included (they are data here)."""

    def __init__(self, client: Client):
        self.client = client
        self.exchanges: list[dict] = []
        self._headers: dict = {}

    def send(
        self,
        step: str,
        method: str,
        template: str,
        *,
        ids: dict | None = None,
        client: Client | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
    ) -> Any:
        """One request; its answer (None when it was an error), after recording the exchange."""
        client = client or self.client
        path = template.format(**{name: path_segment(value) for name, value in (ids or {}).items()})
        try:
            result = client.request(method, path, body=body, idempotency_key=idempotency_key)
        except CheckoutApiError:
            result = None
        exchange = client.history[-1]
        self.exchanges.append(
            {
                "step": step,
                "method": method,
                "path": template,
                "idempotency_key": exchange.idempotency_key,
                "request_body": exchange.request_body,
                "status": exchange.status,
                "headers": self._headers,
                "response_body": exchange.response_body,
            }
        )
        return result

    @contextmanager
    def listening(self, client: Client) -> Iterator[None]:
        """Keep the headers of ``client``'s answers (the history has none) and send without retries."""

        def keep(response, *args, **kwargs):  # noqa: ANN001 - requests' hook signature
            self._headers = {"Cko-Request-Id": "Cko-Request-Id" in response.headers}
            self._headers.update({name: response.headers[name] for name in HEADERS[1:] if name in response.headers})

        # urllib3 retries through the adapters, the client itself a 409 in progress: turn off both.
        adapters = cast("list[HTTPAdapter]", list(client.session.adapters.values()))  # Client mounts HTTPAdapters only
        adapter_retries, client_retry = [adapter.max_retries for adapter in adapters], client.retry
        client.session.hooks["response"].append(keep)
        for adapter in adapters:
            adapter.max_retries = NO_RETRIES
        client.retry = NO_RETRIES
        try:
            yield
        finally:
            client.session.hooks["response"].remove(keep)
            for adapter, retry in zip(adapters, adapter_retries):
                adapter.max_retries = retry
            client.retry = client_retry


def record(client: Client) -> Recording:
    """Run the probe scenario against ``client``'s server; return every exchange as a :class:`Recording`.

    The client's retries are off while it records (and restored after); its history keeps the raw
    exchanges. The 401 probe uses a second client with a random key: the real key is never
    needed for it, and never stored anywhere in the recording.

    >>> recording = record(octopus_nb.connect(seed=7))  # doctest: +SKIP

    Raises:
        ApiUnreachable: a request got no answer at all.
    """
    probe = _Probe(client)
    intruder = Client(client.base_url, wrong_key(client.environment), environment=client.environment, retry=NO_RETRIES)
    with ExitStack() as stack:
        stack.enter_context(intruder)
        stack.enter_context(probe.listening(client))
        stack.enter_context(probe.listening(intruder))
        _scenario(probe, client, intruder)
    return Recording.from_exchanges(probe.exchanges, target=client.environment, base_url=client.base_url)


def _scenario(probe: _Probe, client: Client, intruder: Client) -> None:
    body = seed_body(client.processing_channel_id)
    replay_key = client.new_idempotency_key()
    setup = probe.send("create", "POST", SETUPS, body=body, idempotency_key=replay_key) or {}
    for step, changed in readiness_probes(body):
        probe.send(step, "POST", SETUPS, body=changed)
    for step, bad in BAD_BODIES:
        probe.send(step, "POST", SETUPS, body=bad)
    # Steps that need the setup are left out when the create failed: compare() shows them missing.
    setup_id = setup.get("id")
    if setup_id:
        ids = {"setup_id": setup_id}
        probe.send("get_setup", "GET", SETUP, ids=ids)
        update = {**writable_fields(setup), "description": "Octopus payment, updated"}
        probe.send("update_setup", "PUT", SETUP, ids=ids, body=update)
        confirmed = probe.send("confirm", "POST", CONFIRM, ids=ids) or {}
        probe.send("confirm_again", "POST", CONFIRM, ids=ids)
        probe.send("update_after_confirm", "PUT", SETUP, ids=ids, body=update)
        probe.send("get_setup_after_confirm", "GET", SETUP, ids=ids)
        payment_id = payment_of(confirmed).get("id")
        if payment_id:
            ids = {"payment_id": payment_id}
            probe.send("get_payment", "GET", PAYMENT, ids=ids)
            probe.send("get_payment_actions", "GET", ACTIONS, ids=ids)
            probe.send("refund_pending", "POST", REFUNDS, ids=ids, body={"amount": body["amount"]})
    probe.send("get_setup_unknown", "GET", SETUP, ids={"setup_id": UNKNOWN_SETUP_ID})
    probe.send("get_payment_unknown", "GET", PAYMENT, ids={"payment_id": UNKNOWN_PAYMENT_ID})
    probe.send("wrong_key", "GET", SETUP, ids={"setup_id": setup_id or UNKNOWN_SETUP_ID}, client=intruder)
    probe.send("create_replayed", "POST", SETUPS, body=body, idempotency_key=replay_key)
    probe.send("create_key_reused", "POST", SETUPS, body={**body, "amount": 2000}, idempotency_key=replay_key)
