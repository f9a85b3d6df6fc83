"""A pytest plugin: the embedded sandbox as fixtures in your own test suite, no conftest needed.

Installed with octopus-nb and registered through the ``pytest11`` entry point. As in
pytest-httpserver, one server starts per test session (per xdist worker: each worker is its own
process, with its own sandbox on its own port) and every test gets it reset, so tests are fast,
isolated, and their results do not depend on which worker ran them.

- ``octopus_sandbox``: the running :class:`~octopus_nb.sandbox.Sandbox`, reset before the test
  (state, clock, ids, faults, webhook settings); ``base_url`` and ``secret_key`` point a client
  of yours at it. A test fails at teardown if the sandbox raised inside a handler.
- ``octopus_client``: an :class:`octopus_nb.Client` bound to it, with an empty history.
- ``octopus_receiver``: a running :class:`~octopus_nb.receiver.WebhookReceiver`, already
  subscribed to that sandbox through the Workflows API (every Octopus event, a fresh random
  signing key per test): ``octopus_receiver.wait_for(n)`` after the API calls under test.
- ``octopus_scenario``: the ids a scenario made on that sandbox before the test, named by the
  test's ``@pytest.mark.octopus_scenario("captured")`` marker (a built-in, a JSON file or steps).

Options: ``--octopus-seed`` (default 7: the same ids every run) and ``--octopus-confirm-response``
(``payment``, the default, or ``setup``: which published confirm answer the sandbox gives).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

DEFAULT_SEED = 7


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("octopus", "octopus-nb embedded sandbox")
    group.addoption(
        "--octopus-seed",
        type=int,
        default=DEFAULT_SEED,
        dest="octopus_seed",
        help=f"seed of the embedded sandbox behind the octopus_sandbox fixture (default {DEFAULT_SEED})",
    )
    group.addoption(
        "--octopus-confirm-response",
        choices=("payment", "setup"),
        default="payment",
        dest="octopus_confirm_response",
        help="confirm's answer in the embedded sandbox: the payment (202, default) or the setup (200, latest_payment)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "octopus_scenario(scenario): the scenario the octopus_scenario fixture runs (a built-in's name, a .json file or steps)"
    )


@pytest.fixture(scope="session")
def octopus_sandbox_server(request: pytest.FixtureRequest) -> Iterator:
    """The session's (or xdist worker's) embedded sandbox, started once; prefer ``octopus_sandbox``."""
    from octopus_nb.sandbox import Sandbox  # imported on use: a suite that never asks pays nothing

    options = request.config.getoption
    with Sandbox(seed=options("octopus_seed"), confirm_response=options("octopus_confirm_response")) as sandbox:
        yield sandbox


@pytest.fixture
def octopus_sandbox(octopus_sandbox_server) -> Iterator:  # noqa: ANN001 - a Sandbox
    """The embedded sandbox, reset to its seeded start for this test; fails it on a handler exception."""
    octopus_sandbox_server.reset()
    octopus_sandbox_server.errors.clear()
    yield octopus_sandbox_server
    errors = list(octopus_sandbox_server.errors)
    octopus_sandbox_server.errors.clear()
    if errors:
        pytest.fail(f"the octopus sandbox raised inside a handler: {errors!r}", pytrace=False)


@pytest.fixture
def octopus_client(octopus_sandbox) -> Iterator:  # noqa: ANN001 - a Sandbox
    """An ``octopus_nb.Client`` for ``octopus_sandbox``, with an empty history; closed after the test."""
    import octopus_nb

    with octopus_nb.connect(base_url=octopus_sandbox.base_url, secret_key=octopus_sandbox.secret_key) as client:
        yield client


@pytest.fixture
def octopus_receiver(octopus_client) -> Iterator:  # noqa: ANN001 - a Client
    """A webhook receiver subscribed to the test's sandbox (``POST /workflows``), stopped after the test."""
    import secrets

    from octopus_nb.receiver import WebhookReceiver
    from octopus_nb.workflows import subscribe

    with WebhookReceiver(secrets.token_urlsafe(24)) as receiver:  # a new key per test: none is ever written down
        subscribe(octopus_client, receiver)
        yield receiver


@pytest.fixture
def octopus_scenario(request: pytest.FixtureRequest, octopus_client) -> dict:  # noqa: ANN001 - a Client
    """The ids the test's ``octopus_scenario`` marker's scenario made: ``{"setup_id", "payment_id", "status", "ids"}``."""
    from octopus_nb.timetravel import run_scenario

    marker = request.node.get_closest_marker("octopus_scenario")
    if marker is None or len(marker.args) != 1:
        pytest.fail('octopus_scenario needs its scenario: @pytest.mark.octopus_scenario("captured")', pytrace=False)
    return run_scenario(octopus_client, marker.args[0])
