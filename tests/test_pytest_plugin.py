"""The pytest plugin, as a merchant's project uses it: installed, no conftest, under pytest-xdist.

Each case writes a small test project with pytester and runs it in a subprocess, so the plugin is
found through its ``pytest11`` entry point exactly as in a user's suite.
"""

from __future__ import annotations

import pytest

import octopus_nb
from octopus_nb.sandbox import Sandbox

#: A merchant's own code and its tests: every test must find the sandbox as new, whoever ran before.
MERCHANT_TESTS = '''
import octopus_nb
import pytest

FIRST_SETUP_ID = "{first_setup_id}"


def checkout(client, amount):
    """The merchant's function under test: create a ready setup, confirm it, return the payment."""
    setup = octopus_nb.create_payment_setup(
        client, amount=amount, currency="HKD",
        success_url="https://shop.example/ok", failure_url="https://shop.example/ko",
    )
    return octopus_nb.confirm_payment_setup(client, setup["id"])


@pytest.mark.parametrize("n", range(6))
def test_each_test_starts_from_an_empty_seeded_sandbox(octopus_client, octopus_sandbox, n):
    assert len(octopus_client.history) == 0
    setup = octopus_nb.create_payment_setup(octopus_client, amount=1000 + 10 * n, currency="HKD")
    assert setup["id"] == FIRST_SETUP_ID  # reset: the seeded id stream starts over
    assert octopus_sandbox.base_url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("n", range(4))
def test_faults_set_by_one_test_do_not_reach_the_next(octopus_client, n):
    assert octopus_nb.inject_faults(octopus_client) is not None
    payment = checkout(octopus_client, 1000)
    assert payment["status"] == "Pending"
    octopus_nb.inject_faults(octopus_client, error_rate=1.0, status=503)


def test_the_merchant_function_is_tested_against_the_sandbox(octopus_client):
    payment = checkout(octopus_client, 2500 * 10)
    assert octopus_nb.simulate_customer(octopus_client, payment["id"], "approve")["status"] == "Captured"
'''


#: A merchant's suite has none of our own test tools: leaving them out here (nbval alone costs ~4 s of
#: CPU per pytest process) keeps each run to its point, octopus_nb found through its entry point.
NOT_A_MERCHANTS_PLUGINS = ("-p", "no:nbval", "-p", "no:schemathesis")


@pytest.fixture
def merchant_project(pytester):
    with Sandbox(seed=7) as reference, octopus_nb.connect(base_url=reference.base_url, secret_key=reference.secret_key) as client:
        first_setup_id = octopus_nb.create_payment_setup(client, amount=1000, currency="HKD")["id"]
    pytester.makepyfile(test_merchant=MERCHANT_TESTS.format(first_setup_id=first_setup_id))
    return pytester


def test_fixtures_work_without_a_conftest(merchant_project):
    result = merchant_project.runpytest_subprocess(*NOT_A_MERCHANTS_PLUGINS, "-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=11)


def test_fixtures_are_isolated_per_test_and_per_worker_under_xdist(merchant_project):
    result = merchant_project.runpytest_subprocess(*NOT_A_MERCHANTS_PLUGINS, "-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=11)
    result.stdout.fnmatch_lines(["*2 workers*"])


def test_the_seed_option_changes_the_ids(merchant_project):
    result = merchant_project.runpytest_subprocess(
        *NOT_A_MERCHANTS_PLUGINS, "-p", "no:cacheprovider", "-p", "no:xdist", "--octopus-seed", "8"
    )
    result.assert_outcomes(passed=5, failed=6)  # the six id checks expect seed 7's first setup id


def test_the_confirm_response_option_picks_the_shape(pytester):
    pytester.makepyfile(
        test_shape="""
import octopus_nb

def test_confirm_answers_with_the_setup(octopus_client):
    setup = octopus_nb.create_payment_setup(octopus_client, amount=1000, currency="HKD",
        success_url="https://shop.example/ok", failure_url="https://shop.example/ko")
    answer = octopus_nb.confirm_payment_setup(octopus_client, setup["id"])
    assert answer.status == 200 and answer["latest_payment"]["status"] == "Pending"
"""
    )
    result = pytester.runpytest_subprocess(
        *NOT_A_MERCHANTS_PLUGINS, "-p", "no:cacheprovider", "-p", "no:xdist", "--octopus-confirm-response", "setup"
    )
    result.assert_outcomes(passed=1)


def test_the_receiver_fixture_is_subscribed_to_the_tests_sandbox(pytester):
    pytester.makepyfile(
        test_hooks="""
import octopus_nb

def test_events_reach_the_receiver(octopus_client, octopus_receiver):
    setup = octopus_nb.create_payment_setup(octopus_client, amount=1000, currency="HKD",
        success_url="https://shop.example/ok", failure_url="https://shop.example/ko")
    payment = octopus_nb.confirm_payment_setup(octopus_client, setup["id"])
    octopus_nb.simulate_customer(octopus_client, payment["id"], "approve")
    events = octopus_receiver.wait_for(3)
    assert sorted(e["type"] for e in events) == ["payment_capture_pending", "payment_captured", "payment_pending"]  # any order
    assert octopus_receiver.rejected == 0

def test_the_next_test_has_a_fresh_subscription(octopus_client, octopus_receiver):
    from octopus_nb.workflows import list_workflows
    assert len(list_workflows(octopus_client)) == 1
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist")
    result.assert_outcomes(passed=2)


def test_the_options_are_documented_in_help(pytester):
    pytester.runpytest_subprocess(*NOT_A_MERCHANTS_PLUGINS, "--help").stdout.fnmatch_lines(
        ["*--octopus-seed*", "*--octopus-confirm-response*"]
    )


def test_the_scenario_fixture_hands_the_test_a_named_scenarios_resources(pytester):
    pytester.makepyfile(
        test_scenario="""
import octopus_nb
import pytest

@pytest.mark.octopus_scenario("captured")
def test_a_captured_payment_can_be_refunded(octopus_client, octopus_scenario):
    assert octopus_scenario["status"] == "Captured"
    octopus_nb.refund_payment(octopus_client, octopus_scenario["payment_id"], amount=500)
    assert octopus_nb.get_payment(octopus_client, octopus_scenario["payment_id"])["status"] == "Partially Refunded"

@pytest.mark.octopus_scenario([{"create": {"amount": 1000, "currency": "HKD"}}])
def test_steps_work_too(octopus_client, octopus_scenario):
    setup = octopus_nb.get_payment_setup(octopus_client, octopus_scenario["setup_id"])
    assert octopus_scenario["payment_id"] is None and setup["amount"] == 1000

def test_without_the_marker_the_fixture_says_what_it_needs(octopus_scenario):
    pass
"""
    )
    result = pytester.runpytest_subprocess(*NOT_A_MERCHANTS_PLUGINS, "-p", "no:cacheprovider", "-p", "no:xdist", "--strict-markers")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*octopus_scenario needs its scenario*"])
