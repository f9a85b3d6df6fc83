"""Accounts (contract §9.4): every secret key its own world, on one sandbox, over real sockets.

Another account's resource answers exactly as an unknown id does; the clock, faults, webhooks,
workflows, idempotency, stats and reset of one account never touch another's; a seeded account
starts the same way whatever the others did; the customer's pages reach a payment by its token.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest
import requests
from conftest import KO_URL, OK_URL

import octopus_nb
from octopus_nb.sandbox import Sandbox

ALICE = "sk_sbox_" + "a" * 26 + "a"
BOB = "sk_sbox_" + "b" * 26 + "b"
CAROL = "sk_sbox_" + "c" * 26 + "c"
SETUP = dict(amount=1000, currency="HKD", success_url=OK_URL, failure_url=KO_URL, reference="ORD-1")


@pytest.fixture
def team():
    with Sandbox(seed=7, secret_keys=[ALICE, BOB]) as sandbox:
        yield sandbox
        assert not sandbox.errors, sandbox.errors


def client_for(sandbox, key):
    return octopus_nb.connect(base_url=sandbox.base_url, secret_key=key)


def raw(sandbox, key, method, path, **kwargs):
    return requests.request(method, sandbox.base_url + path, headers={"Authorization": f"Bearer {key}"}, timeout=10, **kwargs)


def pending(client):
    return octopus_nb.confirm_payment_setup(client, octopus_nb.create_payment_setup(client, **SETUP)["id"])


def test_another_accounts_resource_answers_exactly_as_an_unknown_id(team):
    alice = client_for(team, ALICE)
    payment = pending(alice)
    setup_id = team.state.payments[payment["id"]].setup_id
    unknown_payment, unknown_setup = "pay_" + "z" * 26, "set_" + "z" * 26
    for method, path, body in (
        ("GET", f"/payments/{payment['id']}", None),
        ("GET", f"/payments/{payment['id']}/actions", None),
        ("GET", f"/payments/setups/{setup_id}", None),
        ("PUT", f"/payments/setups/{setup_id}", SETUP),
        ("POST", f"/payments/setups/{setup_id}/confirm/octopus", None),
        ("POST", f"/payments/{payment['id']}/refunds", {}),
        ("POST", f"/_sandbox/payments/{payment['id']}/approve", None),
    ):
        foreign = raw(team, BOB, method, path, json=body)
        unknown = raw(team, BOB, method, path.replace(payment["id"], unknown_payment).replace(setup_id, unknown_setup), json=body)
        assert foreign.status_code == unknown.status_code == 404, path
        assert foreign.content == unknown.content or foreign.json().keys() == unknown.json().keys(), path
    assert octopus_nb.get_payment(alice, payment["id"])["status"] == "Pending"


def test_each_account_has_its_own_clock(team):
    alice, bob = client_for(team, ALICE), client_for(team, BOB)
    payment = pending(alice)
    octopus_nb.advance_clock(bob, 20 * 60)  # Bob looks at an expiry of his own
    assert octopus_nb.get_payment(alice, payment["id"])["status"] == "Pending"
    assert raw(team, ALICE, "GET", "/_sandbox/clock").json() != raw(team, BOB, "GET", "/_sandbox/clock").json()


def test_faults_hit_only_their_account_and_latency_delays_only_its_own_requests(team):
    alice = client_for(team, ALICE)
    octopus_nb.inject_faults(alice, error_rate=1.0, status=503)
    assert raw(team, ALICE, "POST", "/payments/setups", json=SETUP).status_code == 503
    assert raw(team, BOB, "POST", "/payments/setups", json=SETUP).status_code == 200
    octopus_nb.inject_faults(alice, latency_ms=3000)
    slow = threading.Thread(target=raw, args=(team, ALICE, "POST", "/payments/setups"), kwargs={"json": SETUP})
    slow.start()
    time.sleep(0.2)  # Alice's request is now held by her latency fault
    started = time.monotonic()
    assert raw(team, BOB, "POST", "/payments/setups", json=SETUP).status_code == 200
    assert time.monotonic() - started < 2.0 and slow.is_alive()  # Bob was not kept waiting behind her
    slow.join()
    assert raw(team, BOB, "GET", "/_sandbox/faults").json() == {}


def test_webhooks_and_workflows_are_per_account(team):
    alice, bob = client_for(team, ALICE), client_for(team, BOB)
    with octopus_nb.WebhookReceiver("alice-key") as receiver:
        octopus_nb.configure_webhooks(alice, receiver)
        octopus_nb.simulate_customer(bob, pending(bob)["id"], "approve")
        octopus_nb.flush_webhooks(bob)
        octopus_nb.flush_webhooks(alice)
        assert receiver.events == []  # Bob's events never reach Alice's receiver
        octopus_nb.simulate_customer(alice, pending(alice)["id"], "approve")
        receiver.wait_for(3)
    assert raw(team, BOB, "GET", "/workflows").json()["data"] == []
    assert len(raw(team, ALICE, "GET", "/workflows").json()["data"]) == 1
    assert raw(team, BOB, "GET", "/_sandbox/webhooks").json() == {"url": None}


def test_reset_stats_and_idempotency_are_per_account(team):
    alice, bob = client_for(team, ALICE), client_for(team, BOB)
    pending(alice)
    pending(bob)
    key = {"Cko-Idempotency-Key": "same-key-in-two-accounts"}
    first = requests.post(team.base_url + "/payments/setups", json=SETUP, timeout=5, headers={"Authorization": f"Bearer {ALICE}", **key})
    second = requests.post(
        team.base_url + "/payments/setups", json={**SETUP, "amount": 2000}, timeout=5, headers={"Authorization": f"Bearer {BOB}", **key}
    )
    assert first.status_code == second.status_code == 200 and first.json()["amount"] == 1000 and second.json()["amount"] == 2000
    assert raw(team, ALICE, "POST", "/_sandbox/reset").status_code == 200
    assert raw(team, ALICE, "GET", "/_sandbox/stats").json()["setups"] == 0
    assert raw(team, BOB, "GET", "/_sandbox/stats").json()["setups"] == 2


def test_a_key_with_no_account_is_401_and_any_key_opens_an_empty_account():
    with Sandbox(seed=7, secret_keys=[ALICE]) as closed:
        assert raw(closed, CAROL, "GET", "/_sandbox/stats").status_code == 401
        assert raw(closed, "sk_sbox_short", "GET", "/_sandbox/stats").status_code == 401
    with Sandbox(seed=7, any_key=True) as open_box:
        assert raw(open_box, CAROL, "GET", "/_sandbox/stats").json() == {
            "setups": 0,
            "payments": 0,
            "refunds": 0,
            "webhook_deliveries": 0,
            "requests": 0,
        }
        assert raw(open_box, "sk_live_" + "c" * 27, "GET", "/_sandbox/stats").status_code == 401  # not a sandbox key's shape
        assert open_box.account(CAROL).stats()["requests"] == 0


def test_a_seeded_account_starts_the_same_way_whatever_the_others_did():
    def first_ids(sandbox, busy_first: bool):
        if busy_first:
            for _ in range(3):
                pending(client_for(sandbox, BOB))
        payment = pending(client_for(sandbox, ALICE))
        return payment["id"], payment["processing"]["token"]

    with Sandbox(seed=7, secret_keys=[ALICE, BOB]) as quiet, Sandbox(seed=7, secret_keys=[BOB, ALICE]) as busy:
        assert first_ids(quiet, busy_first=False) == first_ids(busy, busy_first=True)
    with Sandbox(seed=7) as single, Sandbox(seed=7, secret_keys=[ALICE]) as team_of_one:
        # an account's stream is its own (seed and key), not the one-key sandbox's
        assert pending(client_for(single, single.secret_key))["id"] != pending(client_for(team_of_one, ALICE))["id"]


def test_the_customers_pages_reach_a_payment_through_its_token_in_any_account(team):
    bob = client_for(team, BOB)
    payment = pending(bob)
    assert requests.get(payment["processing"]["landing_url"], timeout=5).status_code == 200
    assert octopus_nb.press_in_app(bob, payment, "pay").heading == "Paid"
    assert octopus_nb.get_payment(bob, payment["id"])["status"] == "Captured"
    unknown = requests.get(team.base_url + "/_sandbox/octopus/oos/payment/", params={"token": "a" * 26}, timeout=5)
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    "args, says",
    [
        (["--account", ALICE, "--any-key"], "--account names every key itself"),
        (["--account", ALICE, "--secret-key", BOB], "--account names every key itself"),
        (["--account", "hunter2"], "secret_key must look like"),
        (["--any-key", "--state", "a-file"], "with accounts, --state names a folder"),
    ],
)
def test_the_cli_refuses_bad_account_options_in_one_line(tmp_path, args, says):
    (tmp_path / "a-file").write_text("not a folder")
    done = subprocess.run(
        [sys.executable, "-m", "octopus_nb.sandbox", "--port", "0", *args], cwd=tmp_path, capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and says in done.stderr
    assert "hunter2" not in done.stderr and ALICE not in done.stderr


def test_the_cli_serves_two_accounts(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "octopus_nb.sandbox", "--port", "0", "--seed", "7", "--account", ALICE, "--account", BOB],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = process.stdout.readline().strip()
        assert requests.get(base_url + "/_sandbox/stats", headers={"Authorization": f"Bearer {ALICE}"}, timeout=5).ok
        assert requests.get(base_url + "/_sandbox/stats", headers={"Authorization": f"Bearer {BOB}"}, timeout=5).ok
        assert requests.get(base_url + "/_sandbox/stats", headers={"Authorization": f"Bearer {CAROL}"}, timeout=5).status_code == 401
    finally:
        process.terminate()
        process.wait(10)


def test_with_a_state_folder_each_account_keeps_its_own_file_named_by_a_digest(tmp_path):
    folder = tmp_path / "team"
    with Sandbox(seed=7, secret_keys=[ALICE, BOB], state_path=folder) as team:
        alices = pending(client_for(team, ALICE))
        bobs = octopus_nb.create_payment_setup(client_for(team, BOB), **SETUP)
    files = sorted(path.name for path in folder.iterdir() if path.suffix == ".sqlite")
    assert len(files) == 2 and not any(ALICE[8:20] in name or BOB[8:20] in name for name in files)
    for path in folder.iterdir():  # no key is written anywhere in the folder
        assert ALICE.encode() not in path.read_bytes() and BOB.encode() not in path.read_bytes()
    with Sandbox(seed=7, secret_keys=[ALICE, BOB], state_path=folder) as again:
        assert octopus_nb.get_payment(client_for(again, ALICE), alices["id"])["status"] == "Pending"
        assert octopus_nb.get_payment_setup(client_for(again, BOB), bobs["id"])["id"] == bobs["id"]
        assert raw(again, BOB, "GET", f"/payments/{alices['id']}").status_code == 404
