"""Shared fixtures: one real sandbox per session, reset before each test, checked after it.

As in pytest-httpserver, the server starts once (session scope) and each test gets it reset, so
tests are fast and isolated. A test fails at teardown if the sandbox raised inside a handler.
"""

from __future__ import annotations

import io
import os
import shutil

import pytest
import requests

import octopus_nb
from octopus_nb.sandbox import Sandbox

SEED = 7
OK_URL = "https://example.com/payments/success"
KO_URL = "https://example.com/payments/failure"


@pytest.fixture(scope="session")
def _running_sandbox():
    with Sandbox(seed=SEED) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(_running_sandbox):
    """The session's sandbox, reset to its seeded start; fails the test on any handler exception."""
    _running_sandbox.reset()
    _running_sandbox.errors.clear()
    yield _running_sandbox
    errors = list(_running_sandbox.errors)
    _running_sandbox.errors.clear()
    assert not errors, f"the sandbox raised inside a handler: {errors!r}"


@pytest.fixture
def client(sandbox):
    """The package's own client, bound to the running sandbox over a real socket."""
    with octopus_nb.connect(base_url=sandbox.base_url, secret_key=sandbox.secret_key) as client:
        yield client


@pytest.fixture
def control(sandbox):
    """A bare requests session carrying the key, for raw HTTP and the /_sandbox/ control routes."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {sandbox.secret_key}"
    session.base_url = sandbox.base_url
    yield session
    session.close()


def ready_setup(client, **overrides):
    """A setup Octopus is ready for: HKD, amount ending in 0, both redirect URLs."""
    fields = dict(amount=1000, currency="HKD", success_url=OK_URL, failure_url=KO_URL, reference="ORD-5023-4E89")
    fields.update(overrides)
    return octopus_nb.create_payment_setup(client, **fields)


def pending_payment(client):
    """A confirmed setup's payment, Pending."""
    return octopus_nb.confirm_payment_setup(client, ready_setup(client)["id"])


# --- real-browser tests (pytest -m browser) -------------------------------------------------

#: Headless flags for Debian's chromium on a machine with no network but loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright through ``executable_path`` (never ``playwright install``)."""
    executable = shutil.which("chromium")
    if executable is None:
        message = "Debian's chromium is not installed (apt-get install chromium chromium-driver)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)  # CI installs it: missing is a bug
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def decode_qr(png: bytes) -> list[str]:
    """What a phone would read from a picture: every QR code in the PNG, decoded by zxing-cpp."""
    import zxingcpp
    from PIL import Image

    return [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


#: The tests that take seconds each (subprocesses, fuzzing, builds, kill -9 cycles), by file or by test:
#: ``make check`` deselects them (``-m "not slow"``) to stay fast; ``make test`` runs them all. One list
#: here rather than a mark in each file, so adding or dropping one touches one line.
SLOW = (
    "tests/test_pytest_plugin.py",  # pytest in subprocesses, through the plugin's entry point
    "tests/test_notebook_targets.py::test_checkout_sandbox_target_skips_every_simulator_only_cell_and_stays_on_loopback",
    "tests/test_notebook_targets.py::test_a_url_with_the_simulator_runs_every_cell_and_compares_all_but_seed_dependent_ones",
    "tests/test_notebook_targets.py::test_an_unknown_target_stops_the_run_before_any_cell",
    "tests/test_fuzz.py::test_fuzzed_requests_to_every_route_get_contract_answers",
    "tests/test_fuzz.py::test_fuzzed_requests_in_the_setup_confirm_shape_get_contract_answers",
    "tests/test_docs.py",  # builds the docs site
    "tests/test_bench.py",
    "tests/test_persistence.py::test_kill_9_under_load_loses_nothing_acknowledged",
    "tests/test_demo.py::test_demo_runs_the_quickstart_to_captured",
    "tests/test_demo.py::test_demo_is_repeatable_with_a_seed",
    "tests/test_fault_flows.py::test_flows_under_faults_complete_exactly_once",
    "tests/test_second_process.py",  # sandbox processes
    "tests/test_busy_cpu.py",  # a command of two seconds
    "tests/test_accounts_load.py",  # sixteen accounts driving flows for seconds
    "tests/test_accounts.py::test_faults_hit_only_their_account_and_latency_delays_only_its_own_requests",  # a 3 s fault
    # command lines, each run as a process of its own
    "tests/test_conformance.py::test_the_command_line_records_and_compares",
    "tests/test_conformance.py::test_the_cli_records_either_confirm_shape_and_refuses_production",
    "tests/test_console_script.py::test_its_help_lists_the_commands_of_python_m_octopus_nb",
    "tests/test_console_script.py::test_sandbox_serves_as_python_m_octopus_nb_sandbox_does",
    "tests/test_console_script.py::test_a_bad_sandbox_option_exits_2_like_the_module",
)


@pytest.hookimpl(tryfirst=True)  # before -m deselects by mark
def pytest_collection_modifyitems(items):
    """Mark the SLOW tests ``slow`` (test_habits.py checks that each entry still names a test)."""
    for item in items:
        node_id = item.nodeid.split("[", 1)[0]
        if any(node_id == entry or node_id.startswith(entry + "::") for entry in SLOW):
            item.add_marker(pytest.mark.slow)
