"""Bad input, generated: every route answers a contract 4xx, never a 5xx, a drop or a traceback.

Requests go straight over the socket with ``http.client`` (requests/urllib3 would normalise
paths and refuse odd headers): wrong types, nulls, huge strings, non-UTF-8 bytes, non-JSON,
deeply nested JSON, bodies over the 1 MiB limit, missing or malformed keys, random methods,
``../`` and percent-encoded NUL in ids. A refused request must change nothing: each one is
bracketed by a snapshot of ``/_sandbox/stats`` and of every resource the test created.

Hypothesis is derandomized, so CI fuzzes the same requests every run. ``FUZZED`` counts the
requests sent; the last test reports the figure (``pytest -rP tests/test_fuzz.py`` shows it).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
from collections import Counter
from urllib.parse import quote, urlsplit

import pytest
from conftest import KO_URL, OK_URL, SEED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from octopus_nb.sandbox import Sandbox, server
from octopus_nb.sandbox.exceptions import InvalidRequest

JSON_TYPE = "application/json; charset=utf-8"
#: requests sent by the fuzzers in this module, by test
FUZZED: Counter = Counter()
#: The fuzzers' fixed budget, in requests: derandomized, so every run sends the same ones. 1,200 to every
#: route and a fifth of that in the setup-confirm shape keep make test's fuzzing to ~10 s on 2 cores;
#: OCTOPUS_NB_FUZZ_EXAMPLES=10000 digs deeper (and takes ~8 times longer).
FUZZ_EXAMPLES = int(os.environ.get("OCTOPUS_NB_FUZZ_EXAMPLES", "1200"))
FUZZ_SETTINGS = settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
TORNADO_METHODS = {"GET", "HEAD", "POST", "DELETE", "PATCH", "PUT", "OPTIONS"}
CONTRACT_4XX = {400, 401, 403, 404, 405, 409, 410, 422}  # 410: the landing page's used token
TRACEBACK_MARKERS = (b"Traceback (most recent call last)", b'File "/', b"site-packages", b"Error:")


class Raw:
    """One keep-alive ``http.client`` connection; a dropped connection fails the test, never retried."""

    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname, parts.port
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        self.recent: list = []  #: the last few exchanges, for the message when a connection drops

    def send(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None):
        """(status, headers, body); raises AssertionError if the server closed without answering."""
        conn = self.conn
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
            response = conn.getresponse()
            data = response.read()
        except (TimeoutError, ConnectionError, http.client.HTTPException) as exc:
            conn.close()
            raise AssertionError(
                f"dropped connection on {method} {path[:120]!r}: {exc!r}; before it on this connection: {self.recent}"
            ) from None
        self.recent = self.recent[-3:] + [
            (
                method,
                path[:80],
                {k: str(v)[:40] for k, v in (headers or {}).items()},
                len(body or b""),
                response.status,
                response.getheaders(),
            )
        ]
        framed = response.getheader("Content-Length") is not None or "chunked" in response.getheader("Transfer-Encoding", "")
        if response.will_close or not framed:
            # the answer ran to the end of the connection (tornado's bare 400 has no length):
            # http.client reconnects on the next request
            conn.close()
        return response.status, response.headers, data

    def close(self) -> None:
        self.conn.close()


# --- the world each fuzzer works on --------------------------------------------------------


#: a setup with every optional field the contract keeps (metadata at its limits, the echoed SDK fields)
FULL_SETUP = {
    "amount": 1000,
    "currency": "HKD",
    "reference": "FUZZ-2",
    "payment_type": "regular",
    "processing_channel_id": "pc_" + "Fz_9" * 6 + "zz",
    "settings": {"success_url": OK_URL, "failure_url": KO_URL},
    "metadata": {**{f"k{i}": i for i in range(17)}, "text": "m" * 255, "flag": True, "ratio": 0.5},
    "billing_descriptor": {"name": "FUZZ SHOP", "city": "Hong Kong", "reference": "FUZZ-2"},
    "presentment_details": {"amount": 1000, "currency": "HKD"},
    "terminal": {"id": "T0000001", "local_date_time": "2026-04-30T17:00:00+08:00"},
    "account_funding_transaction": {"enabled": False},
    "risk": {"enabled": False},
    "industry": {"airline": []},
}


class World:
    """Resources in every state, made through the API, and a snapshot of all of them."""

    def __init__(self, sandbox):
        self.key = sandbox.secret_key
        self.state = sandbox.state
        self.last = None
        self.auth = {"Authorization": f"Bearer {self.key}"}
        self.raw = Raw(sandbox.base_url)
        self.probe = Raw(sandbox.base_url)  # snapshots go on their own connection
        setup_body = {
            "amount": 1000,
            "currency": "HKD",
            "reference": "FUZZ-1",
            "settings": {"success_url": OK_URL, "failure_url": KO_URL},
        }
        self.open_setup = self._ok("POST", "/payments/setups", setup_body)["id"]
        pending_setup = self._ok("POST", "/payments/setups", FULL_SETUP)["id"]
        self.pending = self._confirm(pending_setup)
        captured_setup = self._ok("POST", "/payments/setups", setup_body)["id"]
        captured = self._confirm(captured_setup)["id"]
        self._ok("POST", f"/_sandbox/payments/{captured}/approve")
        failed_setup = self._ok("POST", "/payments/setups", FULL_SETUP)["id"]
        failed = self._confirm(failed_setup)["id"]
        self._ok("POST", f"/_sandbox/payments/{failed}/fail_capture")
        self.setups = [self.open_setup, pending_setup, captured_setup, failed_setup]
        self.payments = [self.pending["id"], captured, failed]
        self.token = self.pending["processing"]["token"]

    def _confirm(self, setup_id: str) -> dict:
        """The payment a confirm created, in either confirm shape (the payment, or the setup holding it)."""
        answer = self._ok("POST", f"/payments/setups/{setup_id}/confirm/octopus")
        return answer["latest_payment"] if self.state.confirm_response == "setup" else answer

    def _ok(self, method: str, path: str, document=None) -> dict:
        body = json.dumps(document).encode() if document is not None else None
        status, _, data = self.probe.send(method, path, {**self.auth, "Content-Type": "application/json"}, body)
        assert status in (200, 202), (method, path, status, data)
        return json.loads(data)

    def snapshot(self) -> dict:
        """Everything a refused request must leave alone (the request counter aside).

        Read from the model in-process: the same views the API serves, without the round trips.
        """
        state = self.state
        stats = state.stats()
        view = {name: stats[name] for name in ("setups", "payments", "refunds")}
        view["clock"] = state.now()
        view["faults"] = state.control.get_faults()
        view["webhooks"] = state.control.webhooks_view()  # a refused PUT changes neither the url nor the chaos
        view["confirm_response"] = state.confirm_response
        view["events"] = [event.id for event in state.events]  # a refusal emits no webhook event
        view["idempotency_keys"] = state.idempotency_keys()  # and consumes no key (only 2xx are stored)
        for setup_id in self.setups:
            view[setup_id] = state.payment_api.get_payment_setup(setup_id)
        for payment_id in self.payments:
            view[payment_id] = state.payment_api.get_payment(payment_id)
            view[payment_id + "/actions"] = state.payment_api.get_payment_actions(payment_id)
        return view

    def close(self) -> None:
        self.raw.close()
        self.probe.close()


@pytest.fixture
def world(sandbox):
    made = World(sandbox)
    yield made
    made.close()


# --- strategies ----------------------------------------------------------------------------

# Path templates of every route (contract §3, §4, §6); {s} a setup id, {p} a payment id.
API_ROUTES = [
    ("POST", "/payments/setups"),
    ("GET", "/payments/setups/{s}"),
    ("PUT", "/payments/setups/{s}"),
    ("POST", "/payments/setups/{s}/confirm/{m}"),
    ("GET", "/payments/{p}"),
    ("GET", "/payments/{p}/actions"),
    ("POST", "/payments/{p}/refunds"),
]
CONTROL_ROUTES = [
    ("POST", "/_sandbox/payments/{p}/approve"),
    ("POST", "/_sandbox/payments/{p}/decline"),
    ("POST", "/_sandbox/payments/{p}/expire"),
    ("POST", "/_sandbox/payments/{p}/fail_capture"),
    ("GET", "/_sandbox/clock"),
    ("POST", "/_sandbox/clock"),
    ("GET", "/_sandbox/stats"),
    ("PUT", "/_sandbox/webhooks"),
    ("GET", "/_sandbox/webhooks/deliveries"),
    ("PUT", "/_sandbox/faults"),
    ("GET", "/_sandbox/openapi.yaml"),
    ("POST", "/_sandbox/reset"),  # only ever sent refused (bad key or method): a reset would be a 200
    ("GET", "/nowhere/{s}"),
]
LANDING = "/_sandbox/octopus/oos/payment/"
APP = "/_sandbox/octopus/app"

TRAVERSALS = [
    "..",
    "../..",
    "%2e%2e",
    "..%2f..%2f_sandbox%2freset",
    "%2e%2e%2f_sandbox%2fstats",
    "%00",
    "set_%00",
    "pay_%00%00",
    "%ff%fe",
    "%c0%af",
    "%ed%a0%80",
    "a%0d%0aX-Injected:%201",
    "%20",
    "+",
    "%25",
    "~",
    "pay_" + "a" * 26,
    "set_" + "a" * 26,
    "set_AAAAAAAAAAAAAAAAAAAAAAAAAA",
    "a" * 4000,
    "%F0%9F%90%99",
]
RAW_TRAVERSALS = ["../_sandbox/reset", "../../_sandbox/stats", "./", "..;/", "%2e%2e/", "x/../y"]


def _id_strategy(known: list[str]):
    encoded_text = st.text(max_size=60).map(lambda text: quote(text, safe=""))
    return st.one_of(
        st.sampled_from(known),
        st.sampled_from(TRAVERSALS),
        encoded_text,
        st.sampled_from(RAW_TRAVERSALS),  # left raw: the server must not normalise the path
    )


json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
urls = st.one_of(
    st.just(OK_URL),
    st.text(max_size=30),
    st.sampled_from(["ftp://x", "http://", "https://a b", "https://x/" + "y" * 300]),
    json_values,
)
setup_like = st.fixed_dictionaries(
    {},
    optional={
        "amount": st.one_of(st.integers(min_value=-(10**12), max_value=10**12), json_values, st.just(10**40)),
        "currency": st.one_of(st.sampled_from(["HKD", "hkd", "USD", "", "HKDD"]), json_values),
        "processing_channel_id": st.one_of(st.just("pc_" + "a" * 26), json_values),
        "payment_type": st.one_of(st.sampled_from(["Regular", "regular", "MOTO", "moTo", "PAYLATER", "Weekly", "regular "]), json_values),
        "reference": st.one_of(st.text(max_size=200), json_values),
        "description": st.one_of(st.text(max_size=200), json_values),
        "settings": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "success_url": urls,
                    "failure_url": urls,
                    "capture": json_values,
                    "excluded_payment_methods": st.one_of(json_values, st.lists(json_values, max_size=3)),
                },
            ),
        ),
        "customer": st.one_of(
            json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "email": st.one_of(json_values, st.fixed_dictionaries({"address": json_values, "verified": json_values})),
                    "name": json_values,
                    "id": st.one_of(st.just("cus_" + "b" * 26), json_values),
                    "phone": st.one_of(json_values, st.fixed_dictionaries({"country_code": json_values, "number": json_values})),
                },
            ),
        ),
        "order": json_values,
        "billing": json_values,
        "metadata": st.one_of(
            json_values,
            st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=300), st.floats(), st.booleans(), json_values), max_size=24),
        ),
        **{
            name: json_values
            for name in (
                "billing_descriptor",
                "presentment_details",
                "terminal",
                "account_funding_transaction",
                "risk",
                "industry",
            )
        },
    },
)
refund_like = st.fixed_dictionaries({}, optional={"amount": json_values | st.integers(-(10**6), 10**6), "reference": json_values})
control_like = st.fixed_dictionaries(
    {},
    optional={
        "advance_seconds": st.one_of(json_values, st.floats(), st.just(10**400 // 10**390)),
        "url": json_values,
        "signature_key": json_values,
        "error_rate": json_values,
        "drop_rate": json_values,
        "status": json_values,
        "latency_ms": json_values,
        "duplicate_rate": json_values | st.floats(-1, 2),
        "reorder": json_values,
        "forged_rate": json_values | st.floats(-1, 2),
    },
)


def _nested(depth: int, opener: str) -> bytes:
    closer = {"[": "]", '{"a":': "}"}[opener]
    return (opener * depth + "1" + closer * depth).encode()


bodies = st.one_of(
    st.none(),
    st.just(b""),
    json_values.map(lambda value: json.dumps(value).encode()),
    setup_like.map(lambda value: json.dumps(value).encode()),
    refund_like.map(lambda value: json.dumps(value).encode()),
    control_like.map(lambda value: json.dumps(value).encode()),
    st.binary(max_size=300),  # mostly not UTF-8, never JSON
    st.text(max_size=200).map(str.encode),
    st.tuples(st.integers(1, 200_000), st.sampled_from(["[", '{"a":'])).map(lambda args: _nested(*args)),
    st.integers(1_000, 300_000).map(lambda size: json.dumps({"amount": 1000, "currency": "HKD", "reference": "x" * size}).encode()),
    st.sampled_from(
        [
            b"\xef\xbb\xbf{}",
            '{"amount": 1000}'.encode("utf-16"),
            b'{"amount": 1' + b"0" * 5000 + b"}",
            b"NaN",
            b'{"amount": 1000, "amount": "x"}',
            b"[]",
            b"null",
            b'"text"',
            b"{",
            b"\x00",
            b'{"\xff": 1}',
        ]
    ),
)
bad_keys = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "",
            "Bearer",
            "Bearer ",
            "bearer {key}",
            "Bearer  {key}",
            "Bearer {key} ",
            "Basic {key}",
            "{key}",
            "Bearer sk_sbox_" + "a" * 27,
            "Bearer sk_" + "a" * 27,
            "Bearer sk_sbox_",
            "Bearer {key}x",
            "Bearer " + "k" * 5000,
        ]
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=60),
    st.binary(max_size=40).map(lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"")),
)
idempotency_keys = st.one_of(
    st.none(),
    st.none(),
    st.uuids().map(str),
    st.sampled_from(["", "\t", "k" * 256, "k" * 255, "same-key", "é", "key with spaces"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=40),
)
content_types = st.one_of(
    st.none(),
    st.just("application/json"),
    st.sampled_from(
        ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin-1", "*/*"]
    ),
)
methods = st.one_of(
    st.sampled_from(sorted(TORNADO_METHODS)),
    st.sampled_from(["TRACE", "PROPFIND", "FOO", "get", "Post", "M-SEARCH"]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ_-", min_size=1, max_size=12),
)


@st.composite
def fuzzed_requests(draw, world: World):
    """One request: a route (sometimes with another method), an id, a key, headers and a body."""
    method, template = draw(st.sampled_from(API_ROUTES + CONTROL_ROUTES))
    if draw(st.integers(0, 4)) == 0:
        method = draw(methods)
    path = template.format(
        s=draw(_id_strategy(world.setups)),
        p=draw(_id_strategy(world.payments)),
        m=draw(st.sampled_from(["octopus", "card", "OCTOPUS", "%00", "..", "octopus%2f..", "alipay_hk"])),
    )
    if draw(st.integers(0, 6)) == 0:
        path += draw(st.sampled_from(["?", "?a=1&a=2", "?token=%00", "#frag", "/", "//", "?" + "q" * 3000]))
    authorization = draw(st.one_of(st.just("Bearer {key}"), st.just("Bearer {key}"), bad_keys))
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization.replace("{key}", world.key) if isinstance(authorization, str) else authorization
    for name, strategy in (("Cko-Idempotency-Key", idempotency_keys), ("Content-Type", content_types)):
        value = draw(strategy)
        if value is not None:
            headers[name] = value
    body = draw(bodies)
    if malformed_http(headers):
        # Known limit, below the API: tornado refuses such a message at its headers and closes
        # without reading the body, so with a body in flight the client may see a reset instead
        # of the bare 400. Sent without one, the refusal is always seen.
        body = None
    if template == "/_sandbox/reset" and headers.get("Authorization") == f"Bearer {world.key}" and method in ("POST", "Post"):
        method = "DELETE"  # a real reset is a 200 that forgets everything: tested in test_api.py
    return method, path, headers, body


# --- the oracle ----------------------------------------------------------------------------


def check_answer(method: str, path: str, status: int, headers, data: bytes, replay_possible: bool = False) -> None:
    """What every answer must be: a contract status, the contract headers and body shape."""
    where = f"{method} {path[:100]!r} → {status} {data[:200]!r}"
    assert status < 500, where
    assert status in CONTRACT_4XX or 200 <= status < 400, where
    for marker in TRACEBACK_MARKERS:
        assert marker not in data, where
    if path.startswith((LANDING, APP)):
        return  # HTML for the customer's devices: their own test files check the pages
    assert headers.get("Cko-Request-Id"), where
    assert headers.get("Cko-Version"), where
    if status in (401, 404, 405) or method == "HEAD":
        assert data == b"", where
        return
    if path.startswith("/_sandbox/openapi.yaml") and status == 200:
        return
    assert headers.get("Content-Type") == JSON_TYPE, where
    document = json.loads(data)
    if status >= 400:
        # a replay under an idempotency key is the stored answer, byte for byte: its first request id
        assert replay_possible or document["request_id"] == headers["Cko-Request-Id"], where
        expected_type = {400: "request_malformed", 403: "action_not_allowed", 409: "conflict", 422: "request_invalid"}.get(status)
        if expected_type:
            assert document["error_type"] == expected_type, where
        if status in (403, 409, 422):
            codes = document["error_codes"]
            assert codes and all(isinstance(code, str) for code in codes), where


def _needs_key_refused(method: str, path: str, headers: dict, world: World) -> bool:
    """True when the contract says 401: a routed method, without the right key, off the customer's pages."""
    return (
        method in TORNADO_METHODS
        and _stripped(headers.get("Authorization")) != f"Bearer {world.key}"  # HTTP strips a header's outer spaces
        and not path.startswith((LANDING, APP))
        and "%" not in path.split("?")[0]  # an id that isn't UTF-8 is refused (400) before the key is read
        and not _form_content_type(headers)
    )


def _stripped(value):
    return value.strip(" \t") if isinstance(value, str) else value


def _form_content_type(headers: dict) -> bool:
    # tornado parses form bodies before any handler code runs; one that doesn't parse is a
    # contract-shaped 400 request_malformed, ahead of the key check (the sandbox never reads forms)
    content_type = headers.get("Content-Type", "")
    return content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded"))


_CONTROL_CHARACTERS = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def malformed_http(headers: dict) -> bool:
    """Header values with control characters aren't HTTP: tornado refuses them before routing."""
    return any(_CONTROL_CHARACTERS.search(value if isinstance(value, bytes) else value.encode("latin-1")) for value in headers.values())


def send_checked(world: World, method: str, path: str, headers: dict, body: bytes | None, counter: str):
    before = world.snapshot()
    assert before["faults"] == {} and before["webhooks"] == {"url": None}, world.last
    world.last = (method, path, headers, body[:100] if body else body)
    status, answer_headers, data = world.raw.send(method, path, headers, body)
    FUZZED[counter] += 1
    if malformed_http(headers):
        # tornado's own "400 Bad Request", written before any handler runs (so no Cko-Request-Id)
        assert (status, data) == (400, b""), (method, path, headers, status, data[:200])
        assert world.snapshot() == before
        return status
    check_answer(method, path, status, answer_headers, data, replay_possible="Cko-Idempotency-Key" in headers)
    if _needs_key_refused(method, path, headers, world):
        assert status == 401, (method, path, headers.get("Authorization"), status)
    if status >= 400:
        assert world.snapshot() == before, f"refused {method} {path[:100]!r} ({status}) changed state"
    elif path.startswith("/_sandbox/faults"):
        world.raw.send("PUT", "/_sandbox/faults", {**world.auth, "Content-Type": "application/json"}, b"{}")
    elif path.startswith("/_sandbox/webhooks") and method.upper() == "PUT":
        # an accepted setting (url, key or chaos) is turned off again, as faults are
        world.raw.send("PUT", "/_sandbox/webhooks", {**world.auth, "Content-Type": "application/json"}, b"{}")
    return status


# --- the fuzzers ---------------------------------------------------------------------------


def fuzz_routes(world: World, counter: str, max_examples: int) -> Counter:
    """Send ``max_examples`` fuzzed requests through ``send_checked``; the statuses they got."""
    statuses: Counter = Counter()

    @settings(FUZZ_SETTINGS, max_examples=max_examples)
    @given(data=st.data())
    def fuzz(data):
        method, path, headers, body = data.draw(fuzzed_requests(world))
        statuses[send_checked(world, method, path, headers, body, counter)] += 1

    fuzz()
    return statuses


def test_fuzzed_requests_to_every_route_get_contract_answers(sandbox, world):
    statuses = fuzz_routes(world, "routes", FUZZ_SETTINGS.max_examples)
    assert FUZZED["routes"] >= FUZZ_EXAMPLES // 3  # hypothesis may stop early on a small strategy, not this early
    # the fuzzer reached the interesting answers, not only 401s
    assert {400, 401, 404, 405, 409, 422} <= set(statuses), statuses  # 403 is rarer: test_fidelity.py


@pytest.fixture(scope="module")
def setup_mode_sandbox():
    """A sandbox whose confirm answers 200 with the PaymentSetup (contract §4's second shape)."""
    with Sandbox(seed=SEED, confirm_response="setup") as sandbox:
        yield sandbox


@pytest.fixture
def setup_mode_world(setup_mode_sandbox):
    setup_mode_sandbox.reset()
    setup_mode_sandbox.errors.clear()
    made = World(setup_mode_sandbox)
    yield made
    made.close()
    assert not setup_mode_sandbox.errors, f"the sandbox raised inside a handler: {setup_mode_sandbox.errors!r}"


def test_fuzzed_requests_in_the_setup_confirm_shape_get_contract_answers(setup_mode_world):
    """The same oracle and state check with ``confirm_response="setup"`` (fewer examples: the routes are the same)."""
    statuses = fuzz_routes(setup_mode_world, "setup-mode routes", FUZZ_EXAMPLES // 5)
    assert FUZZED["setup-mode routes"] >= FUZZ_EXAMPLES // 10
    assert {400, 401, 404, 422} <= set(statuses), statuses


@pytest.mark.parametrize("token", ["", "%00", "../../_sandbox/reset", "a" * 26, "x" * 3000, "%ff", None])
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_the_landing_page_refuses_unknown_tokens_cleanly(sandbox, world, token, method):
    """No key here (the customer's browser): unknown, odd or missing tokens are a 4xx, never a 5xx."""
    path = LANDING if token is None else f"{LANDING}?token={token}&action=approve"
    status = send_checked(world, method, path, {}, b"", "landing")
    assert 400 <= status < 500


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "%00",
        "octopus%3A%2F%2Fpayment%3Ftoken%3D" + "a" * 26,
        "x" * 3000,
        "%ff",
        "octopus://payment?token=%00&return=%ff",
        "octopus%3A%2F%2F%5B",
        None,
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_the_simulated_app_refuses_odd_links_cleanly(sandbox, world, uri, method):
    """No key here either (the customer's phone): odd, unknown or missing URIs are a 4xx page, never a 5xx."""
    path = APP if uri is None else f"{APP}?uri={uri}&action=pay"
    status = send_checked(world, method, path, {}, b"", "landing")
    assert 400 <= status < 500


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize(
    "method, template",
    [
        ("POST", "/payments/setups"),
        ("PUT", "/payments/setups/{s}"),
        ("POST", "/payments/{p}/refunds"),
        ("POST", "/_sandbox/clock"),
        ("GET", "/payments/{p}"),
        ("POST", "/payments/setups/{s}/confirm/octopus"),
    ],
)
def test_bodies_over_the_limit_get_400_request_body_too_large_not_a_dropped_connection(sandbox, world, method, template, chunked):
    """Sandbox rule: over ``MAX_BODY_BYTES`` is 400 ``request_malformed`` [request_body_too_large]."""
    path = template.format(s=world.open_setup, p=world.payments[1])
    for size in (server.MAX_BODY_BYTES + 1, 3 * server.MAX_BODY_BYTES):
        body = b'{"amount": 1000, "currency": "HKD", "reference": "' + b"x" * size + b'"}'
        before = world.snapshot()
        if chunked:
            status, headers, data = _send_chunked(world, method, path, body)
        else:
            status, headers, data = world.raw.send(method, path, {**world.auth, "Content-Type": "application/json"}, body)
        FUZZED["oversized"] += 1
        check_answer(method, path, status, headers, data)
        assert status == 400 and json.loads(data)["error_codes"] == ["request_body_too_large"]
        assert world.snapshot() == before
    # and without the key: still an answer (401), not a reset connection
    status, _, data = world.raw.send(method, path, {}, b"x" * (2 * server.MAX_BODY_BYTES))
    FUZZED["oversized"] += 1
    assert status == 401 and data == b""


def test_a_body_exactly_at_the_limit_is_read_and_judged_on_its_content(sandbox, world):
    filler = server.MAX_BODY_BYTES - len(b'{"amount": 1000, "currency": "HKD", "order": {"x": ""}}')
    body = b'{"amount": 1000, "currency": "HKD", "order": {"x": "' + b"y" * filler + b'"}}'
    assert len(body) == server.MAX_BODY_BYTES
    status, headers, data = world.raw.send("POST", "/payments/setups", {**world.auth, "Content-Type": "application/json"}, body)
    FUZZED["oversized"] += 1
    assert status == 200, data[:200]
    status, headers, data = world.raw.send("POST", "/payments/setups", world.auth, body + b" ")
    FUZZED["oversized"] += 1
    assert status == 400 and json.loads(data)["error_codes"] == ["request_body_too_large"]


def test_the_drain_limit_itself_still_gets_an_answer(sandbox, world):
    """Up to ``DRAIN_BODY_BYTES`` the server reads the body, so the client always sees the 400."""
    body = b"z" * server.DRAIN_BODY_BYTES
    status, _, data = world.raw.send("POST", "/payments/setups", world.auth, body)
    FUZZED["oversized"] += 1
    assert status == 400 and json.loads(data)["error_codes"] == ["request_body_too_large"]


def _send_chunked(world: World, method: str, path: str, body: bytes):
    conn = http.client.HTTPConnection(world.raw.host, world.raw.port, timeout=10)
    try:
        chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
        conn.request(method, path, body=chunks, headers={**world.auth, "Content-Type": "application/json"}, encode_chunked=True)
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    except (ConnectionError, http.client.HTTPException) as exc:
        raise AssertionError(f"dropped connection on chunked {method} {path}: {exc!r}") from None
    finally:
        conn.close()


@pytest.mark.parametrize("depth", [10, 900, 5_000, 100_000, 1_000_000])
@pytest.mark.parametrize("opener", ["[", '{"a":'])
def test_deeply_nested_json_is_refused_or_accepted_never_a_crash(sandbox, world, depth, opener):
    for path, wrap in (
        ("/payments/setups", lambda inner: b'{"amount": 1000, "currency": "HKD", "metadata": {"n": ' + inner + b"}}"),
        ("/payments/setups", lambda inner: inner),
        (f"/payments/{world.payments[1]}/refunds", lambda inner: b'{"reference": ' + inner + b"}"),
        ("/_sandbox/clock", lambda inner: b'{"advance_seconds": ' + inner + b"}"),
    ):
        body = wrap(_nested(depth, opener))
        if len(body) > server.MAX_BODY_BYTES:
            body = body[: server.MAX_BODY_BYTES]  # truncated: unbalanced, so malformed
        status = send_checked(world, "POST", path, {**world.auth, "Content-Type": "application/json"}, body, "nested")
        assert status in (200, 400, 422), (depth, path, status)


def test_raw_bytes_in_the_request_line_and_headers_never_crash_the_server(sandbox, world):
    """Below HTTP itself: tornado refuses malformed requests with its own bare 400 and closes.

    That answer predates routing, so it has no ``Cko-Request-Id``; what matters is that the
    server answers, survives, and serves the next request.
    """
    garbage = [
        b"GET /payments/\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer " + world.key.encode() + b"\r\n\r\n",
        b"GET /payments/%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer \xff\xfe\r\n\r\n",
        b"POST /payments/setups HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST /payments/setups HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        b"POST /payments/setups HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n\r\n",
        b"GET /payments/setups HTTP/9.9\r\nHost: x\r\n\r\n",
        b"\x00\x01\x02\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header Name: x\r\n\r\n",
    ]
    for request in garbage:
        before = world.snapshot()
        with socket.create_connection((world.raw.host, world.raw.port), timeout=10) as sock:
            sock.sendall(request)
            answer = _read_all(sock)
        FUZZED["raw"] += 1
        assert answer.startswith(b"HTTP/1.1 4"), (request[:60], answer[:200])
        assert b"Traceback" not in answer
        assert world.snapshot() == before


def test_headers_over_tornados_64_kib_limit_close_the_connection_and_the_server_lives_on(sandbox, world):
    """A known limit, below the API: tornado closes the connection on a header block over 64 KiB.

    It sends no answer first (``max_header_size``); the next connection is served as usual.
    """
    with socket.create_connection((world.raw.host, world.raw.port), timeout=10) as sock:
        sock.sendall(b"GET /payments/setups HTTP/1.1\r\nHost: x\r\nX: " + b"y" * 70_000 + b"\r\n\r\n")
        assert _read_all(sock) == b""
    FUZZED["raw"] += 1
    assert world.raw.send("GET", "/_sandbox/stats", world.auth)[0] == 200


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_the_clock_cannot_be_advanced_past_the_end_of_time(sandbox, world):
    """Year 9999 is datetime's limit: advancing past it is a 422, not an OverflowError (500)."""
    year = 366 * 24 * 3600
    with pytest.raises(InvalidRequest) as refused:
        for _ in range(9000):
            sandbox.state.control.advance_clock(year)
    assert refused.value.error_codes == ["advance_seconds_invalid"]
    status = send_checked(
        world,
        "POST",
        "/_sandbox/clock",
        {**world.auth, "Content-Type": "application/json"},
        json.dumps({"advance_seconds": year}).encode(),
        "clock",
    )
    assert status == 422
    # the API keeps answering (GETs compute expiry against the clock)
    assert world.raw.send("GET", f"/payments/{world.payments[0]}", world.auth)[0] == 200


def test_zz_figures(request):
    """Report how many requests this module fuzzed (pytest -rP shows it)."""
    if not FUZZED["routes"]:
        pytest.skip("run the whole module for the figure")
    total = sum(FUZZED.values())
    print(f"requests fuzzed: {total} ({dict(FUZZED)})")
    assert total >= FUZZ_EXAMPLES
