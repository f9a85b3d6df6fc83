"""The toolkit's time travel: snapshot, restore, branch and run_scenario, over real sockets."""

from __future__ import annotations

import json

import pytest
from conftest import KO_URL, OK_URL, pending_payment, ready_setup

import octopus_nb
from octopus_nb.timetravel import SCENARIOS, load_scenario

SETUP = {"amount": 1000, "currency": "HKD", "settings": {"success_url": OK_URL, "failure_url": KO_URL}}


def stats(client) -> dict:
    return client.request("GET", "/_sandbox/stats")


def test_restore_takes_the_account_back_and_the_same_steps_give_the_same_ids(client):
    setup = ready_setup(client)
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    saved = octopus_nb.snapshot(client, "pending")
    assert saved["name"] == "pending" and saved["counts"]["payments"] == 1
    declined = octopus_nb.simulate_customer(client, payment["id"], "decline")
    retry = octopus_nb.confirm_payment_setup(client, setup["id"])
    assert octopus_nb.restore(client, saved["id"])["id"] == saved["id"]
    assert octopus_nb.simulate_customer(client, payment["id"], "decline") == declined
    again = octopus_nb.confirm_payment_setup(client, setup["id"])
    assert again == retry and again.request_id == retry.request_id  # the same ids, tokens, times and request ids
    octopus_nb.restore(client, saved)
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Pending"


def test_branch_restores_on_leaving_even_when_the_block_fails(client):
    payment = pending_payment(client)
    with octopus_nb.branch(client):
        octopus_nb.simulate_customer(client, payment["id"], "approve")
        assert octopus_nb.get_payment(client, payment["id"])["status"] == "Captured"
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Pending"
    with pytest.raises(ZeroDivisionError), octopus_nb.branch(client):
        octopus_nb.simulate_customer(client, payment["id"], "decline")
        1 / 0
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Pending"
    assert client.request("GET", "/_sandbox/snapshots") == []  # a branch leaves no snapshot behind


@pytest.mark.parametrize("name", SCENARIOS)
def test_run_scenario_reaches_each_built_in_and_answers_as_the_sandbox_does(client, control, name):
    made = octopus_nb.run_scenario(client, name)
    assert made["name"] == name and made["ids"]["setups"] == [made["setup_id"]]
    # the sandbox's own runner, from the same start, makes the same resources with the same ids
    control.post(control.base_url + "/_sandbox/reset", timeout=10)
    at_once = control.post(control.base_url + "/_sandbox/scenarios", json={"name": name}, timeout=10).json()
    assert made == at_once


def test_run_scenario_shows_every_step_in_the_history(client):
    octopus_nb.run_scenario(client, "refunded")
    paths = [(exchange.method, exchange.path.split("/")[1:3]) for exchange in client.history]
    assert ("POST", ["payments", "setups"]) in paths and ("POST", ["_sandbox", "payments"]) in paths
    assert any(exchange.path.endswith("/refunds") for exchange in client.history)


def test_a_failing_step_raises_naming_it_and_the_account_is_as_it_was(client):
    octopus_nb.run_scenario(client, "pending")
    before = stats(client)
    steps = [{"create": SETUP}, {"confirm": {}}, {"customer": "approve"}, {"refund": {"amount": 9990}}]
    with pytest.raises(octopus_nb.ScenarioFailedError) as failed:
        octopus_nb.run_scenario(client, steps)
    assert failed.value.step == 3 and "refund" in failed.value.reason
    assert failed.value.error_codes and "Nothing was changed" in str(failed.value)
    after = stats(client)
    assert {k: after[k] for k in ("setups", "payments", "refunds")} == {k: before[k] for k in ("setups", "payments", "refunds")}
    assert client.request("GET", "/_sandbox/snapshots") == []


def test_an_expectation_that_fails_is_a_failed_step(client):
    with pytest.raises(octopus_nb.ScenarioFailedError) as failed:
        octopus_nb.run_scenario(client, [{"create": SETUP}, {"confirm": {}}, {"expect": {"status": "Captured"}}])
    assert failed.value.step == 2 and failed.value.error_codes == ["expectation_failed"]
    assert stats(client)["setups"] == 0


def test_a_malformed_scenario_is_refused_before_any_request(client):
    with pytest.raises(octopus_nb.ScenarioFailedError) as failed:
        octopus_nb.run_scenario(client, [{"create": SETUP}, {"dance": {}}])
    assert failed.value.step == 1
    with pytest.raises(octopus_nb.ScenarioFailedError, match="no scenario 'happy'"):
        octopus_nb.run_scenario(client, "happy")
    assert len(client.history) == 0


def test_a_scenario_file_is_json(tmp_path):
    path = tmp_path / "retry.json"
    path.write_text(json.dumps({"steps": [{"create": SETUP}, {"confirm": {}}, {"customer": "decline"}]}))
    assert load_scenario(str(path)) == (None, json.loads(path.read_text())["steps"])
    assert load_scenario(path)[1][2] == {"customer": "decline"}
    with pytest.raises(octopus_nb.ScenarioFailedError, match="cannot read"):
        load_scenario(tmp_path / "missing.json")


@pytest.mark.parametrize(
    "call",
    [
        lambda client: octopus_nb.snapshot(client),
        lambda client: octopus_nb.restore(client, "snap_x"),
        lambda client: octopus_nb.branch(client).__enter__(),
        lambda client: octopus_nb.run_scenario(client, "captured"),
    ],
)
def test_time_travel_is_refused_on_checkout_com_before_any_request(call):
    client = octopus_nb.Client("https://abcdefgh.api.sandbox.checkout.com", "sk_sbox_" + "a" * 27, environment="sandbox")
    with pytest.raises(octopus_nb.NotASandboxError):
        call(client)
    assert len(client.history) == 0


def test_the_command_line_runs_a_scenario_against_a_sandbox_process_and_prints_the_ids(sandbox, control, capsys, monkeypatch, tmp_path):
    from octopus_nb.__main__ import main

    monkeypatch.setenv("CKO_SECRET_KEY", sandbox.secret_key)
    assert main(["scenario", "run", "partially_refunded", "--target", sandbox.base_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["setup", "payment", "refund"]
    payment_id = lines[1].split()[1]
    assert lines[1].endswith("(Partially Refunded)")
    assert control.get(f"{control.base_url}/payments/{payment_id}", timeout=10).json()["status"] == "Partially Refunded"
    steps = tmp_path / "declined.json"
    steps.write_text(json.dumps({"steps": [{"create": SETUP}, {"confirm": {}}, {"customer": "decline"}]}))
    assert main(["scenario", "run", str(steps), "--target", sandbox.base_url, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "Declined"
    steps.write_text(json.dumps({"steps": [{"create": SETUP}, {"customer": "decline"}]}))
    assert main(["scenario", "run", str(steps), "--target", sandbox.base_url]) == 2  # malformed: nothing ran
    assert "step 1" in capsys.readouterr().err.lower()
    steps.write_text(json.dumps({"steps": [{"create": SETUP}, {"confirm": {}}, {"expect": {"status": "Captured"}}]}))
    before = control.get(control.base_url + "/_sandbox/stats", timeout=10).json()["setups"]
    assert main(["scenario", "run", str(steps), "--target", sandbox.base_url]) == 1
    assert "Step 2" in capsys.readouterr().err
    assert control.get(control.base_url + "/_sandbox/stats", timeout=10).json()["setups"] == before


def test_the_command_line_lists_the_built_ins(capsys):
    from octopus_nb.__main__ import main

    assert main(["scenario", "list"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == list(SCENARIOS)
    assert "customer approve" in out
