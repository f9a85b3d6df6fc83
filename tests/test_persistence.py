"""A sandbox that forgets nothing: ``Sandbox(state_path=...)`` / ``python -m octopus_nb.sandbox --state PATH``.

Restarting on the same file restores everything; ``kill -9`` under concurrent load loses no
acknowledged answer (every id a client got a 2xx for is there, and its idempotency key replays
it); a file that is not a sandbox's, a newer schema's or one in use is refused with exit 2 and
one line, and left untouched. Everything on 127.0.0.1.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from octopus_nb.sandbox import Sandbox
from octopus_nb.sandbox.store import SCHEMA_VERSION

KEY = "sk_sbox_octopusnbsandboxdefaultkey="
BODY = {
    "amount": 1000,
    "currency": "HKD",
    "reference": "ORD-5023-4E89",
    "settings": {"success_url": "https://example.com/s", "failure_url": "https://example.com/f"},
}


def call(base_url, method, path, body=None, key=None, session=requests, secret_key=KEY):
    headers = {"Authorization": f"Bearer {secret_key}"}
    if key is not None:
        headers["Cko-Idempotency-Key"] = key
    return session.request(method, base_url + path, json=body, headers=headers, timeout=5)


def flow(base_url, n):
    """create → confirm → approve → refund, with idempotency keys; returns what a restart must show."""
    setup = call(base_url, "POST", "/payments/setups", BODY, key=f"create-{n}").json()
    payment = call(base_url, "POST", f"/payments/setups/{setup['id']}/confirm/octopus", key=f"confirm-{n}").json()
    call(base_url, "POST", f"/_sandbox/payments/{payment['id']}/approve")
    refund = call(base_url, "POST", f"/payments/{payment['id']}/refunds", {"amount": 500}, key=f"refund-{n}")
    assert refund.status_code == 202
    return setup, payment, refund.json()


def test_a_restart_restores_everything(tmp_path):
    path = tmp_path / "state.db"
    dead = "http://127.0.0.1:9/hooks"  # nothing listens: every attempt fails, and is logged
    with Sandbox(seed=7, state_path=path) as sandbox:
        url = sandbox.base_url
        assert call(url, "PUT", "/_sandbox/webhooks", {"url": dead, "signature_key": "whsec"}).status_code == 200
        setup, payment, refund = flow(url, 1)
        assert call(url, "PUT", "/_sandbox/faults", {"latency_ms": 1}).status_code == 200
        assert call(url, "POST", "/_sandbox/clock", {"advance_seconds": 90}).json()["now"] == "2026-04-30T09:01:30.000Z"
        deliveries = sandbox.flush_webhooks()
        before = {
            "setup": call(url, "GET", f"/payments/setups/{setup['id']}").json(),
            "payment": call(url, "GET", f"/payments/{payment['id']}").json(),
            "actions": call(url, "GET", f"/payments/{payment['id']}/actions").json(),
            "stats": call(url, "GET", "/_sandbox/stats").json(),
        }
        events = [event.id for event in sandbox.state.events]
    assert len(deliveries) == len(events) == 5  # pending, capture pending, captured, refund pending, refunded
    with Sandbox(seed=7, state_path=path) as sandbox:
        url2 = sandbox.base_url
        after_setup = call(url2, "GET", f"/payments/setups/{setup['id']}").json()
        assert after_setup == {**before["setup"], **_relinked(before["setup"], url, url2)}
        assert call(url2, "GET", f"/payments/{payment['id']}").json()["status"] == "Partially Refunded"
        assert call(url2, "GET", f"/payments/{payment['id']}/actions").json() == before["actions"]
        assert call(url2, "GET", "/_sandbox/clock").json() == {"now": "2026-04-30T09:01:30.000Z"}
        assert call(url2, "GET", "/_sandbox/webhooks").json() == {"url": dead}
        assert call(url2, "GET", "/_sandbox/faults").json() == {"latency_ms": 1}
        assert call(url2, "GET", "/_sandbox/webhooks/deliveries").json() == deliveries
        assert [event.id for event in sandbox.state.events] == events
        # replays with the same keys return the same bodies, and create nothing
        assert call(url2, "POST", "/payments/setups", BODY, key="create-1").json() == setup
        assert call(url2, "POST", f"/payments/setups/{setup['id']}/confirm/octopus", key="confirm-1").json() == payment
        replay = call(url2, "POST", f"/payments/{payment['id']}/refunds", {"amount": 500}, key="refund-1")
        assert replay.status_code == 202 and replay.json() == refund
        stats = call(url2, "GET", "/_sandbox/stats").json()
        assert {k: stats[k] for k in ("setups", "payments", "refunds")} == {"setups": 1, "payments": 1, "refunds": 1}
        assert stats["requests"] > before["stats"]["requests"]  # the count carried on
        assert call(url2, "PUT", "/_sandbox/faults", {}).status_code == 200
        next_setup = call(url2, "POST", "/payments/setups", BODY).json()
    # the seeded id sequence continued: the same calls in one uninterrupted in-memory run give the same next id
    with Sandbox(seed=7) as memory:
        url3 = memory.base_url
        call(url3, "PUT", "/_sandbox/webhooks", {"url": dead, "signature_key": "whsec"})
        flow(url3, 1)
        call(url3, "PUT", "/_sandbox/faults", {"latency_ms": 1})
        call(url3, "POST", "/_sandbox/clock", {"advance_seconds": 90})
        memory.flush_webhooks()
        call(url3, "PUT", "/_sandbox/faults", {})
        assert call(url3, "POST", "/payments/setups", BODY).json()["id"] == next_setup["id"]


def _relinked(view, old, new):
    """The links of a view point at the server that answers (a restart may bind another port)."""
    import json

    return json.loads(json.dumps(view).replace(old, new))


def test_queued_webhook_retries_survive_a_restart(tmp_path):
    path = tmp_path / "state.db"
    dead = "http://127.0.0.1:9/hooks"
    with Sandbox(seed=7, state_path=path) as sandbox:
        call(sandbox.base_url, "PUT", "/_sandbox/webhooks", {"url": dead, "signature_key": "whsec"})
        setup = call(sandbox.base_url, "POST", "/payments/setups", BODY).json()
        call(sandbox.base_url, "POST", f"/payments/setups/{setup['id']}/confirm/octopus")
        first = sandbox.flush_webhooks()
    assert [(d["type"], d["attempt"]) for d in first] == [("payment_pending", 1)]
    with Sandbox(seed=7, state_path=path) as sandbox:
        call(sandbox.base_url, "POST", "/_sandbox/clock", {"advance_seconds": 300})  # the first retry is due
        log = sandbox.flush_webhooks()
    assert [(d["type"], d["attempt"]) for d in log] == [("payment_pending", 1), ("payment_pending", 2)]
    assert log[1]["attempted_at"] == "2026-04-30T09:05:00.000Z"


def test_workflows_events_and_invocations_survive_a_restart(tmp_path):
    path = tmp_path / "state.db"
    with Sandbox(seed=7, state_path=path) as sandbox:
        url = sandbox.base_url
        workflow = call(url, "POST", "/workflows", DEAD_WORKFLOW).json()["id"]
        paused = call(url, "POST", "/workflows", {**DEAD_WORKFLOW, "name": "paused", "active": False}).json()["id"]
        setup = call(url, "POST", "/payments/setups", BODY).json()
        payment = call(url, "POST", f"/payments/setups/{setup['id']}/confirm/octopus").json()["id"]
        sandbox.flush_webhooks()
        shown = call(url, "GET", f"/workflows/{workflow}").json()
        (event,) = call(url, "GET", f"/workflows/events/subject/{payment}").json()["data"]
        action = shown["actions"][0]["id"]
        before = call(url, "GET", f"/workflows/events/{event['id']}/actions/{action}").json()
    assert before["status"] == "pending" and len(before["action_invocations"]) == 1
    with Sandbox(seed=7, state_path=path) as sandbox:
        url = sandbox.base_url
        assert _relinked(
            call(url, "GET", f"/workflows/{workflow}").json(), shown["_links"]["self"]["href"].split("/workflows")[0], url
        ) == _relinked(shown, shown["_links"]["self"]["href"].split("/workflows")[0], url)
        assert call(url, "GET", f"/workflows/{paused}").json()["active"] is False
        assert call(url, "GET", f"/workflows/events/{event['id']}/actions/{action}").json() == before
        call(url, "POST", "/_sandbox/clock", {"advance_seconds": 300})  # its first retry, queued before the restart
        sandbox.flush_webhooks()
        after = call(url, "GET", f"/workflows/events/{event['id']}/actions/{action}").json()
        assert [i["retry"] for i in after["action_invocations"]] == [False, True]
        again = call(url, "POST", "/workflows", {**DEAD_WORKFLOW, "name": "third"}).json()["id"]
    with Sandbox(seed=7, state_path=path) as fresh:  # the workflow id stream continued, it did not restart
        assert again not in (workflow, paused)
        assert len(call(fresh.base_url, "GET", "/workflows").json()["data"]) == 3


def test_a_file_written_before_workflows_keeps_its_webhook_settings_and_queued_retries(tmp_path):
    import json

    path = tmp_path / "state.db"
    dead = "http://127.0.0.1:9/hooks"
    with Sandbox(seed=7, state_path=path) as sandbox:
        call(sandbox.base_url, "PUT", "/_sandbox/webhooks", {"url": dead, "signature_key": "whsec", "reorder": True})
        setup = call(sandbox.base_url, "POST", "/payments/setups", BODY).json()
        call(sandbox.base_url, "POST", f"/payments/setups/{setup['id']}/confirm/octopus")
        sandbox.flush_webhooks()
    # Rewrite the file as the sandbox wrote it before workflows: settings in the outbox, 8-field queue entries.
    db = sqlite3.connect(path)
    state = json.loads(db.execute("SELECT v FROM meta WHERE k = 'state'").fetchone()[0])
    outbox = state["outbox"]
    outbox.update(url=dead, signature_key="whsec", chaos={"duplicate_rate": 0, "reorder": True, "forged_rate": 0})
    outbox["queue"] = [entry[:8] for entry in outbox["queue"]]
    db.execute("UPDATE meta SET v = ? WHERE k = 'state'", (json.dumps(state).encode(),))
    db.execute("DELETE FROM workflows")
    db.commit()
    db.close()
    with Sandbox(seed=7, state_path=path) as sandbox:
        url = sandbox.base_url
        assert call(url, "GET", "/_sandbox/webhooks").json() == {"url": dead, "duplicate_rate": 0, "reorder": True, "forged_rate": 0}
        assert [w["name"] for w in call(url, "GET", "/workflows").json()["data"]] == ["Sandbox webhooks (PUT /_sandbox/webhooks)"]
        call(url, "POST", "/_sandbox/clock", {"advance_seconds": 300})
        log = sandbox.flush_webhooks()
    assert [(d["type"], d["attempt"]) for d in log] == [("payment_pending", 1), ("payment_pending", 2)]


def test_an_unseeded_sandbox_persists_too(tmp_path):
    path = tmp_path / "state.db"
    with Sandbox(state_path=path) as sandbox:
        setup = sandbox.state.payment_api.create_payment_setup(BODY)
        moved = sandbox.state.control.advance_clock(3600)["now"]
    with Sandbox(state_path=path) as sandbox:
        assert sandbox.state.seed is None
        assert sandbox.state.payment_api.get_payment_setup(setup["id"])["id"] == setup["id"]
        assert sandbox.state.now() >= moved  # real time, plus the hour advanced


def test_reset_empties_the_file_and_the_model_api_persists_too(tmp_path):
    path = tmp_path / "state.db"
    with Sandbox(seed=7, state_path=path) as sandbox:
        setup = sandbox.state.payment_api.create_payment_setup(BODY)  # the Python surface commits as well
        sandbox.state.control.advance_clock(60)
    with Sandbox(seed=7, state_path=path) as sandbox:
        assert sandbox.state.payment_api.get_payment_setup(setup["id"])["id"] == setup["id"]
        assert call(sandbox.base_url, "POST", "/_sandbox/reset").json() == {"now": "2026-04-30T09:00:00.000Z"}
        assert sandbox.state.stats()["setups"] == 0
        again = sandbox.state.payment_api.create_payment_setup(BODY)
    assert again["id"] == setup["id"]  # the seeded sequence started over
    with Sandbox(seed=7, state_path=path) as sandbox:
        assert sandbox.state.stats()["setups"] == 1


# --- kill -9 under load ---------------------------------------------------------------------


def start_cli(path: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "octopus_nb.sandbox", "--port", "0", "--seed", "7", "--state", str(path), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base_url = process.stdout.readline().strip()
    assert base_url.startswith("http://127.0.0.1:"), process.stderr.read()
    return process, base_url


#: a workflow whose webhook goes nowhere (nothing listens on port 9): every delivery is queued and retried
DEAD_WORKFLOW = {
    "name": "dead",
    "conditions": [{"type": "event", "events": {"gateway": ["payment_pending"]}}],
    "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/hooks", "signature": {"method": "HMACSHA256", "key": "whsec"}}],
}


def load(base_url: str, worker: int, cycle: int, stop: threading.Event, acknowledged: list, secret_key: str = KEY) -> None:
    """Create and confirm with idempotency keys, in ``secret_key``'s account, until stopped; record every 2xx received."""
    session = requests.Session()
    n = 0
    while not stop.is_set():
        n += 1
        try:
            key = f"c{cycle}-w{worker}-n{n}"
            created = call(base_url, "POST", "/payments/setups", BODY, key=key + "-create", session=session, secret_key=secret_key)
            if created.status_code != 200:
                continue
            setup_id = created.json()["id"]
            acknowledged.append((key + "-create", "/payments/setups", setup_id, f"/payments/setups/{setup_id}", secret_key))
            path = f"/payments/setups/{setup_id}/confirm/octopus"
            confirmed = call(base_url, "POST", path, key=key + "-confirm", session=session, secret_key=secret_key)
            if confirmed.status_code == 202:
                payment_id = confirmed.json()["id"]
                acknowledged.append((key + "-confirm", path, payment_id, f"/payments/{payment_id}", secret_key))
        except requests.RequestException:
            return  # the server was killed: what was not acknowledged may or may not be there
    session.close()


def check_acknowledged(base_url: str, acknowledged: list) -> None:
    """Every id a client got a 2xx for is there, in its account only, and replaying its request with its key returns the same id."""
    session = requests.Session()
    workflows: dict[str, int] = {}
    for key, path, resource_id, get_path, secret_key in acknowledged:
        assert call(base_url, "GET", get_path, session=session, secret_key=secret_key).json()["id"] == resource_id
        for other in {entry[4] for entry in acknowledged} - {secret_key}:  # another account's id is unknown there
            assert call(base_url, "GET", get_path, session=session, secret_key=other).status_code == 404
        body = {"/payments/setups": BODY, "/workflows": DEAD_WORKFLOW}.get(path)
        replay = call(base_url, "POST", path, body, key=key, session=session, secret_key=secret_key)
        assert replay.status_code in (200, 201, 202) and replay.json()["id"] == resource_id, key
        workflows[secret_key] = workflows.get(secret_key, 0) + (path == "/workflows")
        if get_path.startswith("/payments/pay_"):  # its event, and the deliveries queued for it, survived
            subject = call(base_url, "GET", f"/workflows/events/subject/{resource_id}", session=session, secret_key=secret_key)
            (pending,) = subject.json()["data"]
            event = call(base_url, "GET", f"/workflows/events/{pending['id']}", session=session, secret_key=secret_key).json()
            assert len(event["action_invocations"]) >= workflows[secret_key] and event["type"] == "payment_pending", resource_id
    for secret_key in {entry[4] for entry in acknowledged}:
        stats = call(base_url, "GET", "/_sandbox/stats", session=session, secret_key=secret_key).json()
        assert stats["setups"] >= sum(1 for entry in acknowledged if entry[1] == "/payments/setups" and entry[4] == secret_key)
    session.close()


#: the accounts the multi-account run spreads its load over (``--any-key``: each opens on first use)
ACCOUNT_KEYS = ["sk_sbox_" + letter * 27 for letter in "xyz"]


@pytest.mark.parametrize("accounts", [False, True], ids=["one-account", "accounts"])
def test_kill_9_under_load_loses_nothing_acknowledged(tmp_path, accounts):
    path = tmp_path / ("accounts" if accounts else "state.db")
    keys = ACCOUNT_KEYS if accounts else [KEY]
    rng = random.Random(1)
    acknowledged: list = []
    started = time.monotonic()
    checked = 0
    for cycle in range(3):
        process, base_url = start_cli(path, *(["--any-key"] if accounts else []))
        # what the cycle before acknowledged survived its kill (the last restart checks everything)
        check_acknowledged(base_url, acknowledged[checked:])
        checked = len(acknowledged)
        for secret_key in keys:
            created = call(base_url, "POST", "/workflows", DEAD_WORKFLOW, key=f"wf-{cycle}", secret_key=secret_key)
            assert created.status_code == 201
            workflow = created.json()["id"]
            acknowledged.append((f"wf-{cycle}", "/workflows", workflow, f"/workflows/{workflow}", secret_key))
        stop = threading.Event()
        threads = [threading.Thread(target=load, args=(base_url, w, cycle, stop, acknowledged, keys[w % len(keys)])) for w in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(0.2, 0.5))
        process.send_signal(signal.SIGKILL)  # at a random moment, requests in flight
        assert process.wait(timeout=10) == -signal.SIGKILL
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        process.stdout.close()
        process.stderr.close()
    assert len(acknowledged) > 30, len(acknowledged)  # the load did run
    process, base_url = start_cli(path, *(["--any-key"] if accounts else []))
    try:
        check_acknowledged(base_url, acknowledged)
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()
    assert time.monotonic() - started < 60  # a test of minutes would not be run often enough


# --- files refused: exit 2, one line, the file untouched ----------------------------------------


def refused(path: Path) -> str:
    before = (path.read_bytes(), path.stat().st_mtime_ns)
    result = subprocess.run(
        [sys.executable, "-m", "octopus_nb.sandbox", "--port", "0", "--state", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and result.stdout == ""
    message = result.stderr.strip()
    assert message and "\n" not in message and str(path) in message
    assert (path.read_bytes(), path.stat().st_mtime_ns) == before
    return message


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "noise.db"
    path.write_bytes(random.Random(3).randbytes(4096))
    assert "not a sandbox state file" in refused(path)


def test_another_sqlite_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE things (id INTEGER PRIMARY KEY)")
    db.close()
    assert "not a sandbox state file" in refused(path)


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    with Sandbox(seed=7, state_path=path) as sandbox:
        sandbox.state.payment_api.create_payment_setup(BODY)
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.execute("PRAGMA journal_mode=DELETE")  # the header written to the main file
    db.close()
    assert "newer" in refused(path)


def test_a_file_in_use_is_refused(tmp_path):
    path = tmp_path / "busy.db"
    process, base_url = start_cli(path)
    try:
        call(base_url, "POST", "/payments/setups", BODY)
        result = subprocess.run(
            [sys.executable, "-m", "octopus_nb.sandbox", "--port", "0", "--state", str(path)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2 and "in use by another running sandbox" in result.stderr
        assert "\n" not in result.stderr.strip()
        assert call(base_url, "GET", "/_sandbox/stats").json()["setups"] == 1  # the first one still serves
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()
    with pytest.raises(Exception, match="in use"):
        with Sandbox(state_path=path):
            with Sandbox(state_path=path):
                pass


def test_without_a_state_file_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with Sandbox(seed=7) as sandbox:
        sandbox.state.payment_api.create_payment_setup(BODY)
        assert sandbox.state.store is None
    assert os.listdir(tmp_path) == []


def test_request_ids_continue_after_a_restart(tmp_path):
    from octopus_nb.sandbox.models import SandboxState
    from octopus_nb.sandbox.store import SqliteStore

    memory = SandboxState(seed=7)
    expected = [memory.new_request_id() for _ in range(5)]
    store = SqliteStore(tmp_path / "state.db")
    state = SandboxState(seed=7, store=store)
    made = [state.new_request_id() for _ in range(3)]
    state.commit()  # what a handler does as its answer goes out
    store.close()
    store = SqliteStore(tmp_path / "state.db")
    made += [SandboxState(seed=7, store=store).new_request_id() for _ in range(1)]
    store.close()
    assert made == expected[:4]
