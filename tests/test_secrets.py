"""Secrets and boundaries: the key stays secret, production needs an opt-in, the sandbox stays local.

The key never shows in ``repr(client)``, exception messages, logs, ``history.to_frame()`` or
notebook outputs; the repository holds no key-shaped string but the documented public default
(``octopus_nb.sandbox.DEFAULT_SECRET_KEY``), which must not appear in notebook outputs either.
Refused configurations fail before any socket opens. Landing-page tokens can't be guessed and
work once; the webhook receiver refuses forgeries and repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import re
import socket
import subprocess
from pathlib import Path

import pytest
import requests
from conftest import KO_URL, OK_URL

import octopus_nb
from octopus_nb.environments import connect
from octopus_nb.sandbox import DEFAULT_SECRET_KEY, Sandbox, SandboxState

ROOT = Path(__file__).resolve().parent.parent
KEY_SHAPE = re.compile(r"sk_(?:sbox_)?[a-z2-7]{26}[a-z2-7*#$=]")
BEARER_TOKEN = re.compile(r"Bearer\s+[A-Za-z0-9_\-.~+/*#$=]{16,}")
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def _random_key(prefix: str = "sk_sbox_") -> str:
    chooser = random.SystemRandom()
    return prefix + "".join(chooser.choice(_BASE32) for _ in range(26)) + chooser.choice(_BASE32 + "*#$=")


SECRET = _random_key()
LIVE_SECRET = _random_key("sk_")


@pytest.fixture(scope="module")
def private_sandbox():
    """A sandbox with a fresh, never-written key: anywhere it shows up is a leak."""
    with Sandbox(seed=11, secret_key=SECRET) as sandbox:
        yield sandbox


@pytest.fixture
def secret_client(private_sandbox):
    private_sandbox.reset()
    with octopus_nb.connect(base_url=private_sandbox.base_url, secret_key=SECRET) as client:
        yield client
    assert not private_sandbox.errors


def _leaks(text: str, key: str = SECRET) -> bool:
    return key in text or key[8:] in text  # the key, or its secret part without the prefix


def _flow(client) -> dict:
    setup = octopus_nb.create_payment_setup(client, amount=1000, currency="HKD", success_url=OK_URL, failure_url=KO_URL)
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    octopus_nb.control.simulate_customer(client, payment["id"], "approve")
    octopus_nb.refund_payment(client, payment["id"], amount=400)
    octopus_nb.get_payment_actions(client, payment["id"])
    return payment


# --- the key in what the client shows -------------------------------------------------------


def test_the_key_is_not_in_the_clients_repr_or_its_attributes_shown(secret_client):
    assert not _leaks(repr(secret_client)) and not _leaks(str(secret_client))
    assert "sk_sbox_" in repr(secret_client)  # the kind of key is shown, nothing to use


def test_the_key_is_not_in_any_error_message(private_sandbox, secret_client):
    errors = []
    with pytest.raises(octopus_nb.NotFoundError) as not_found:
        octopus_nb.get_payment(secret_client, "pay_" + "a" * 26)
    errors.append(not_found.value)
    with pytest.raises(octopus_nb.ValidationError) as invalid:
        octopus_nb.create_payment_setup(secret_client, amount=1234, currency="hkd")
    errors.append(invalid.value)
    wrong = _random_key()
    with octopus_nb.connect(base_url=private_sandbox.base_url, secret_key=wrong) as stranger:
        with pytest.raises(octopus_nb.AuthenticationError) as refused:
            octopus_nb.get_payment(stranger, "pay_" + "a" * 26)
        assert not _leaks(repr(stranger), wrong)
    errors.append(refused.value)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with octopus_nb.connect(base_url=f"http://127.0.0.1:{closed_port}", secret_key=SECRET) as nowhere:
        nowhere.session.adapters["http://"].max_retries.total = 0
        with pytest.raises(octopus_nb.ApiUnreachable) as unreachable:
            octopus_nb.create_payment_setup(nowhere, amount=1000, currency="HKD")
    errors.append(unreachable.value)
    for error in errors:
        shown = " ".join([str(error), repr(error), repr(error.args), repr(getattr(error, "__cause__", None))])
        assert not _leaks(shown) and not _leaks(shown, wrong), type(error)
        assert not BEARER_TOKEN.search(shown)


def test_the_key_is_not_in_the_logs_even_at_debug(secret_client, caplog):
    names = ["", "urllib3", "requests", "octopus_nb", "tornado", "tornado.access", "tornado.application", "tornado.general"]
    with caplog.at_level(logging.DEBUG):
        for name in names:
            logging.getLogger(name).setLevel(logging.DEBUG)
        _flow(secret_client)
        with pytest.raises(octopus_nb.CheckoutApiError):
            octopus_nb.refund_payment(secret_client, "pay_" + "b" * 26, amount=5)
    text = caplog.text + " ".join(repr(record.args) for record in caplog.records)
    assert caplog.records, "DEBUG logging captured nothing: the test would prove nothing"
    assert not _leaks(text) and not BEARER_TOKEN.search(text)


def test_the_key_is_not_in_the_history_frame(secret_client):
    _flow(secret_client)
    frame = secret_client.history.to_frame()
    assert len(frame) >= 5
    for column in frame.columns:
        for cell in frame[column]:
            assert not _leaks(str(cell)) and not _leaks(repr(cell)), column
    assert "Authorization" not in frame.to_csv()


# --- the repository and the notebooks -------------------------------------------------------


def _repository_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    return [ROOT / name.decode() for name in listed if name and (ROOT / name.decode()).is_file()]


def test_the_repository_holds_no_key_but_the_documented_default():
    found = {}
    for path in _repository_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # binary (images): keys are text
        keys = {key for key in KEY_SHAPE.findall(text) if key != DEFAULT_SECRET_KEY and not _placeholder(key)}
        tokens = {token for token in BEARER_TOKEN.findall(text) if DEFAULT_SECRET_KEY not in token and not _placeholder(token.split()[-1])}
        if keys or tokens:
            found[str(path.relative_to(ROOT))] = sorted(keys | tokens)
    assert not found, f"key-shaped strings in the repository: {found}"
    assert SECRET not in "".join(found)  # (and this run's key was never written anywhere)


def _placeholder(key: str) -> bool:
    """A test's made-up key ("sk_sbox_aaaa…", "sk_sbox_wrongwrong…"): too few distinct characters.

    27 random base32 characters have about 18 distinct ones; below 9 is not a generated key.
    """
    secret = key.rsplit("_", 1)[-1]
    return len(set(secret)) < 9


def _notebook_outputs(path: Path) -> str:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    outputs = [cell.get("outputs", []) for cell in notebook.get("cells", [])]
    return json.dumps(outputs, ensure_ascii=False)


def test_notebook_outputs_hold_no_key_not_even_the_public_default():
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks
    for path in notebooks:
        outputs = _notebook_outputs(path)
        assert DEFAULT_SECRET_KEY not in outputs, path.name
        assert not KEY_SHAPE.search(outputs), (path.name, KEY_SHAPE.search(outputs))
        assert not BEARER_TOKEN.search(outputs), path.name


# --- production only on purpose; keys only where they belong --------------------------------


@pytest.fixture
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test: refusals must come before the network."""

    def refuse(*args, **kwargs):
        pytest.fail(f"a connection was attempted: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    for name in ("CKO_ENVIRONMENT", "CKO_SECRET_KEY", "CKO_PREFIX", "CKO_PROCESSING_CHANNEL_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(ROOT / "tests")  # no .env here


@pytest.mark.parametrize(
    "arguments",
    [
        dict(environment="production", secret_key=LIVE_SECRET, prefix="abcd1234"),
        dict(base_url="https://abcd1234.api.checkout.com", secret_key=LIVE_SECRET),
        dict(environment="production", secret_key=SECRET, prefix="abcd1234", allow_production=True),
        dict(base_url="https://abcd1234.api.checkout.com", secret_key=SECRET, allow_production=True),
        dict(environment="sandbox", secret_key=LIVE_SECRET, prefix="abcd1234"),
        dict(base_url="https://abcd1234.api.sandbox.checkout.com", secret_key=LIVE_SECRET),
        dict(environment="sandbox", secret_key="not-a-key", prefix="abcd1234"),
    ],
    ids=[
        "production-no-opt-in",
        "production-url-no-opt-in",
        "sandbox-key-to-production",
        "sandbox-key-to-production-url",
        "live-key-to-sandbox",
        "live-key-to-sandbox-url",
        "malformed-key",
    ],
)
def test_refused_configurations_fail_before_any_network(no_network, arguments):
    with pytest.raises(octopus_nb.ConfigurationError) as refused:
        connect(**arguments)
    assert isinstance(refused.value, ValueError)
    message = str(refused.value)
    assert not _leaks(message, LIVE_SECRET) and not _leaks(message, SECRET)
    if "allow_production" not in arguments and (
        arguments.get("environment") == "production" or "api.checkout" in arguments.get("base_url", "")
    ):
        assert "allow_production=True" in message


def test_production_with_the_opt_in_and_a_live_key_is_configured_without_connecting(no_network):
    with connect("production", secret_key=LIVE_SECRET, prefix="abcd1234", allow_production=True) as client:
        assert client.base_url == "https://abcd1234.api.checkout.com" and client.environment == "production"
        assert not _leaks(repr(client), LIVE_SECRET)


# --- the sandbox's own boundaries -----------------------------------------------------------


def test_the_sandbox_binds_loopback_by_default(sandbox):
    import inspect

    from octopus_nb.sandbox import server

    assert inspect.signature(Sandbox).parameters["host"].default == "127.0.0.1"
    assert sandbox.base_url.startswith("http://127.0.0.1:")
    parser_default = re.search(r'"--host", default="([^"]+)"', inspect.getsource(server.main))
    assert parser_default and parser_default.group(1) == "127.0.0.1"
    with octopus_nb.connect(seed=1) as embedded:
        assert embedded.base_url.startswith("http://127.0.0.1:")


CONTROL_ROUTES = [
    ("POST", "/_sandbox/payments/pay_aaaaaaaaaaaaaaaaaaaaaaaaaa/approve"),
    ("POST", "/_sandbox/payments/pay_aaaaaaaaaaaaaaaaaaaaaaaaaa/decline"),
    ("POST", "/_sandbox/payments/pay_aaaaaaaaaaaaaaaaaaaaaaaaaa/expire"),
    ("GET", "/_sandbox/clock"),
    ("POST", "/_sandbox/clock"),
    ("GET", "/_sandbox/stats"),
    ("POST", "/_sandbox/reset"),
    ("GET", "/_sandbox/webhooks"),
    ("PUT", "/_sandbox/webhooks"),
    ("GET", "/_sandbox/webhooks/deliveries"),
    ("POST", "/_sandbox/webhooks/flush"),
    ("GET", "/_sandbox/faults"),
    ("PUT", "/_sandbox/faults"),
]


@pytest.mark.parametrize("method, path", CONTROL_ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer " + DEFAULT_SECRET_KEY[:-1] + "a", "Basic x"])
def test_control_routes_need_the_key(sandbox, method, path, authorization):
    before = sandbox.state.stats()
    headers = {"Authorization": authorization} if authorization else {}
    response = requests.request(method, sandbox.base_url + path, headers=headers, json={"advance_seconds": 60}, timeout=10)
    assert response.status_code == 401 and response.content == b""
    assert response.headers["Cko-Request-Id"]
    assert sandbox.state.stats() == {**before, "requests": before["requests"]}


def test_unseeded_landing_tokens_are_unguessable_and_distinct():
    state = SandboxState(seed=None)
    assert isinstance(state.random, random.SystemRandom)
    tokens = []
    for _ in range(300):
        setup = state.payment_api.create_payment_setup(
            {"amount": 1000, "currency": "HKD", "settings": {"success_url": OK_URL, "failure_url": KO_URL}}
        )
        tokens.append(state.payment_api.confirm_payment_setup(setup["id"], "octopus")["processing"]["token"])
    assert len(set(tokens)) == len(tokens)
    assert all(len(token) >= 26 and set(token) <= set(_BASE32) for token in tokens)
    # 26 base32 characters are 130 bits: no two tokens share even a long prefix by chance
    assert max(len(_common_prefix(a, b)) for a, b in zip(sorted(tokens), sorted(tokens)[1:])) < 8


def _common_prefix(first: str, second: str) -> str:
    size = 0
    while size < min(len(first), len(second)) and first[size] == second[size]:
        size += 1
    return first[:size]


def test_a_token_pays_once_and_a_guessed_one_reaches_nothing(sandbox, client):
    setup = octopus_nb.create_payment_setup(client, amount=1000, currency="HKD", success_url=OK_URL, failure_url=KO_URL)
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    app = sandbox.base_url + "/_sandbox/octopus/app"
    uri = payment["processing"]["octopus_uri"]
    first = requests.post(app, data={"uri": uri, "action": "pay"}, allow_redirects=False, timeout=10)
    assert first.status_code == 200
    for button in ("pay", "cancel"):
        assert requests.post(app, data={"uri": uri, "action": button}, allow_redirects=False, timeout=10).status_code == 409
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Captured"
    guessed = uri[:-5] + "aaaaa"
    assert requests.post(app, data={"uri": guessed, "action": "pay"}, allow_redirects=False, timeout=10).status_code == 404
    assert requests.get(payment["processing"]["landing_url"][:-5] + "aaaaa", timeout=10).status_code == 404


def test_the_webhook_receiver_refuses_forgeries_wrong_keys_and_repeats():
    from octopus_nb.receiver import WebhookReceiver as receiver_class

    key = "whsec-" + _random_key()[8:]
    event = {
        "id": "evt_" + "c" * 26,
        "type": "payment_captured",
        "source": "gateway",
        "timestamp": "2026-04-30T09:00:00.000Z",
        "data": {"id": "pay_" + "d" * 26, "amount": 1000, "currency": "HKD", "status": "Captured"},
        "_links": {},
    }
    body = json.dumps(event).encode()
    good = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    with receiver_class(key) as receiver:

        def deliver(payload: bytes, signature: str | None) -> int:
            headers = {"Content-Type": "application/json"}
            if signature is not None:
                headers["Cko-Signature"] = signature
            return requests.post(receiver.url, data=payload, headers=headers, timeout=10).status_code

        assert deliver(body, None) == 401
        assert deliver(body, "0" * 64) == 401
        assert deliver(body, hmac.new(b"wrong-key", body, hashlib.sha256).hexdigest()) == 401
        assert deliver(body, good.upper()) in (200, 401)  # the contract says lowercase hex
        assert deliver(body + b" ", good) == 401  # the signature covers the raw bytes
        assert deliver(body, good) == 200
        assert deliver(body, good) == 200  # a repeat: acknowledged, not recorded again
        assert [recorded["id"] for recorded in receiver.events] == [event["id"]]
        assert receiver.duplicates >= 1 and receiver.rejected >= 4
        assert not _leaks(repr(receiver), key) and key not in repr(receiver) and key not in receiver.url
