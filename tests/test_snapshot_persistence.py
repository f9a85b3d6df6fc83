"""Snapshots with a state file (``--state``): kept in the file, exact on restore, surviving a restart and a kill -9."""

from __future__ import annotations

import json
import signal

import requests
from test_persistence import KEY, start_cli
from test_snapshots import SETUP, flow

from octopus_nb.sandbox import Sandbox


def session(sandbox) -> requests.Session:
    control = requests.Session()
    control.headers["Authorization"] = f"Bearer {sandbox.secret_key}"
    control.base_url = sandbox.base_url
    return control


def post(control, path, **kwargs):
    return control.post(control.base_url + path, timeout=10, **kwargs)


def get(control, path):
    return control.get(control.base_url + path, timeout=10).json()


def test_with_a_state_file_a_restore_is_exact_and_survives_a_restart(tmp_path):
    path = tmp_path / "state.sqlite"
    with Sandbox(seed=7, state_path=path) as kept:
        control = session(kept)
        post(control, "/payments/setups", json=SETUP)
        snapshot = post(control, "/_sandbox/snapshots", json={"name": "one setup"}).json()
        assert snapshot["counts"]["setups"] == 1 and snapshot["name"] == "one setup"
        after_snapshot = flow(control)
        assert post(control, f"/_sandbox/snapshots/{snapshot['id']}/restore").status_code == 200
        assert flow(control) == after_snapshot  # byte for byte: ids, tokens, request ids, Date
        assert not kept.errors, kept.errors
    with Sandbox(seed=7, state_path=path) as again:  # a restart: the snapshot is in the file
        control = session(again)
        assert get(control, "/_sandbox/snapshots") == [snapshot]
        assert get(control, "/_sandbox/stats")["setups"] == 3
        assert post(control, f"/_sandbox/snapshots/{snapshot['id']}/restore").status_code == 200
        again_after = flow(control)  # the same requests as before the restart: the same ids and request ids (a new port)
        assert [json.loads(answer[3])["id"] for answer in again_after[:2]] == [json.loads(answer[3])["id"] for answer in after_snapshot[:2]]
        assert [answer[1] for answer in again_after] == [answer[1] for answer in after_snapshot]
        assert get(control, "/_sandbox/stats")["setups"] == 3  # the one kept, and the flow's two
        assert not again.errors, again.errors


def test_with_a_state_file_a_failed_scenario_leaves_the_file_as_it_was_and_a_reset_forgets_snapshots(tmp_path):
    with Sandbox(seed=7, state_path=tmp_path / "state.sqlite") as kept:
        control = session(kept)
        assert post(control, "/_sandbox/scenarios", json={"name": "captured"}).status_code == 201
        before = get(control, "/_sandbox/stats")
        steps = [{"create": SETUP}, {"confirm": {}}, {"expect": {"status": "Captured"}}]
        failed = post(control, "/_sandbox/scenarios", json={"steps": steps})
        assert failed.status_code == 422 and failed.json()["step"] == 2
        assert get(control, "/_sandbox/stats") == before
        assert get(control, "/_sandbox/snapshots") == []  # the scenario's own snapshot is gone
        ready = post(control, "/_sandbox/scenarios", json={"name": "ready"}).json()
        taken = post(control, "/_sandbox/snapshots", json={}).json()
        assert post(control, "/_sandbox/reset").status_code == 200
        assert get(control, "/_sandbox/snapshots") == []
        assert post(control, f"/_sandbox/snapshots/{taken['id']}/restore").status_code == 404
        assert post(control, "/_sandbox/scenarios", json={"name": "captured"}).status_code == 201
        assert post(control, "/_sandbox/scenarios", json={"name": "ready"}).json() == ready  # the ids as before
        assert not kept.errors, kept.errors


def test_a_snapshot_acknowledged_survives_a_kill_9_and_restores_exactly(tmp_path):
    """A 201 for a snapshot means it is in the file: the process killed right after it, the restarted one restores it."""
    path = tmp_path / "state.sqlite"
    process, base_url = start_cli(path)
    try:
        control = requests.Session()
        control.headers["Authorization"] = f"Bearer {KEY}"
        control.base_url = base_url
        post(control, "/payments/setups", json=SETUP)
        snapshot = post(control, "/_sandbox/snapshots", json={"name": "before the kill"})
        assert snapshot.status_code == 201
        after_snapshot = flow(control)
    finally:
        process.send_signal(signal.SIGKILL)  # no clean shutdown: only what each answer committed is there
        assert process.wait(timeout=10) == -signal.SIGKILL
        process.stdout.close()
        process.stderr.close()
    process, base_url = start_cli(path)
    try:
        control.base_url = base_url
        assert get(control, "/_sandbox/snapshots") == [snapshot.json()]
        assert post(control, f"/_sandbox/snapshots/{snapshot.json()['id']}/restore").status_code == 200
        again = flow(control)  # the same requests as after the snapshot: the same ids and request ids (a new port)
        assert [json.loads(answer[3])["id"] for answer in again[:2]] == [json.loads(answer[3])["id"] for answer in after_snapshot[:2]]
        assert [answer[1] for answer in again] == [answer[1] for answer in after_snapshot]
        assert get(control, "/_sandbox/stats")["setups"] == 3
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        process.stderr.close()
