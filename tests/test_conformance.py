"""The conformance recorder: the embedded sandbox against its golden recording, and the tools themselves.

``test_the_embedded_sandbox_still_answers_as_recorded`` is the wire regression test: any change in
what the sandbox answers to the probe scenario fails it. When behaviour changes on purpose,
re-record and commit the file:

    .venv/bin/python -m octopus_nb conformance record --target embedded --out tests/golden/embedded.json
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import octopus_nb
from octopus_nb.conformance import NotARecordingError, Recording, compare, record
from octopus_nb.conformance.probe import wrong_key

GOLDEN = Path(__file__).parent / "golden" / "embedded.json"
REPOSITORY = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def embedded():
    """A fresh recording of the embedded sandbox, seed 7 (what the golden file holds)."""
    with octopus_nb.connect(seed=7) as client:
        return record(client)


def edited(recording: Recording, step: str, edit) -> Recording:
    """A copy of ``recording`` with ``edit(step_as_dict)`` applied to one step; ``edit=None`` drops the step."""
    document = json.loads(recording.to_json())
    document["steps"] = [item for item in document["steps"] if item["step"] != step or edit is not None]
    for item in document["steps"]:
        if item["step"] == step:
            edit(item)
    return Recording.from_json(json.dumps(document))


def conformance(*args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CKO_")}
    environment["PYTHONPATH"] = str(REPOSITORY)
    return subprocess.run(
        [sys.executable, "-m", "octopus_nb", "conformance", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**environment, **(env or {})},
    )


def test_the_embedded_sandbox_still_answers_as_recorded(embedded):
    golden = Recording.load(GOLDEN)
    assert compare(golden, embedded).empty, compare(golden, embedded).to_string()
    assert embedded.to_json() == GOLDEN.read_text(), "the wire changed outside contract fields: re-record (module docstring)"


def test_two_seeds_give_byte_identical_files(tmp_path, embedded):
    with octopus_nb.connect(seed=8) as client:
        record(client).save(tmp_path / "seed8.json")
    embedded.save(tmp_path / "seed7.json")
    assert (tmp_path / "seed7.json").read_bytes() == (tmp_path / "seed8.json").read_bytes()


def test_save_and_load_round_trip(tmp_path, embedded):
    text = embedded.save(tmp_path / "r.json").read_text()
    assert Recording.load(tmp_path / "r.json") == embedded
    assert text.endswith("}\n") and text == json.dumps(json.loads(text), sort_keys=True, indent=2) + "\n"


def test_made_up_values_become_numbered_placeholders(embedded):
    confirm = embedded.step("confirm").response_body
    assert confirm["id"] == "<payment_id:1>" and confirm["customer"]["id"] == "<customer_id:1>"
    assert confirm["processing"]["octopus_uri"] == "octopus://payment?token=<token:1>"
    assert confirm["processing"]["landing_url"].startswith("http://<host>/")
    assert embedded.step("get_payment").response_body["expires_on"] == "<timestamp>"
    assert embedded.step("create").response_body["id"] == "<setup_id:1>"
    # The replay shows the same key and the same setup: nothing was created twice.
    replayed = embedded.step("create_replayed")
    assert replayed.idempotency_key == embedded.step("create").idempotency_key == "<idempotency_key:1>"
    assert replayed.response_body == embedded.step("create").response_body
    assert embedded.step("create_key_reused").response_body["error_codes"] == ["idempotency_key_reused"]


def test_every_readiness_row_is_probed(embedded):
    flags = {
        step.step: step.response_body["payment_methods"]["octopus"]["flags"]
        for step in embedded
        if step.step.startswith("create_") and step.status == 200 and step.step != "create_replayed"
    }
    assert flags == {
        "create_currency_not_hkd": ["currency_not_supported"],
        "create_octopus_excluded": ["payment_method_excluded"],
        "create_amount_not_ending_in_0": ["amount_must_end_in_zero"],
        "create_without_success_url": ["success_url_required"],
        "create_without_failure_url": ["failure_url_required"],
    }


def test_the_wrong_key_probe_gets_401_and_no_key_is_kept(client, sandbox):
    recording = record(client)
    step = recording.step("wrong_key")
    assert (step.status, step.response_body, step.headers["Cko-Request-Id"]) == (401, None, True)
    assert sandbox.secret_key not in recording.to_json() and "Authorization" not in recording.to_json()


def test_a_recording_holds_no_secret(tmp_path):
    key = wrong_key("sandbox")
    with octopus_nb.connect(seed=7, secret_key=key) as client:
        text = record(client).save(tmp_path / "r.json").read_text()
    assert key not in text and "sk_" not in text


def test_no_control_route_is_called(client):
    recording = record(client)
    assert not [step.path for step in recording if "/_sandbox/" in step.path]
    assert not [exchange.path for exchange in client.history if "/_sandbox/" in exchange.path]


def test_recording_leaves_the_clients_retries_and_hooks_as_they_were(client):
    adapters = list(client.session.adapters.values())
    before = [adapter.max_retries for adapter in adapters], client.retry, list(client.session.hooks["response"])
    record(client)
    assert ([adapter.max_retries for adapter in adapters], client.retry, list(client.session.hooks["response"])) == before


def _drop(name):
    return lambda item: item["response_body"].pop(name)


def _set(name, value):
    return lambda item: item["response_body"].__setitem__(name, value)


FLAGS = "payment_methods.octopus.flags"


@pytest.mark.parametrize(
    "step, edit, expected",
    [
        ("create", _drop("reference"), ["field missing", "reference", "ORD-5023-4E89", None]),
        ("create", _set("surprise", 1), ["field extra", "surprise", None, 1]),
        ("create", _set("amount", "1000"), ["JSON type", "amount", "integer", "string"]),
        ("confirm", lambda item: item.update(status=200), ["status", "", 202, 200]),
        (
            "create_amount_not_ending_in_0",
            lambda item: item["response_body"]["payment_methods"]["octopus"].update(flags=[]),
            ["value", FLAGS, ["amount_must_end_in_zero"], []],
        ),
        (
            "confirm_again",
            _set("error_codes", ["request_in_progress"]),
            ["value", "error_codes", ["payment_setup_already_confirmed"], ["request_in_progress"]],
        ),
        (
            "get_setup_unknown",
            lambda item: item["headers"].update({"Content-Type": "text/html"}),
            ["field extra", "headers.Content-Type", None, "text/html"],
        ),
        ("get_payment_unknown", None, ["step missing", "", 404, None]),
    ],
    ids=["drop", "add", "type", "status", "flag", "error-code", "header", "step"],
)
def test_compare_finds_each_aspect(embedded, step, edit, expected):
    differences = compare(embedded, edited(embedded, step, edit))
    method, path = embedded.step(step).method, embedded.step(step).path
    assert differences.values.tolist() == [[step, method, path, *expected]]


def test_compare_ignores_values_the_contract_leaves_free_and_reports_extra_steps(embedded):
    reworded = edited(embedded, "create", _set("description", "something else"))
    assert compare(embedded, reworded).empty
    differences = compare(edited(embedded, "wrong_key", None), embedded)
    assert differences[["step", "aspect", "a", "b"]].values.tolist() == [["wrong_key", "step extra", None, 401]]


def test_loading_something_else_says_what_is_wrong(tmp_path):
    (tmp_path / "other.json").write_text('{"steps": []}')
    with pytest.raises(NotARecordingError, match="not a conformance recording"):
        Recording.load(tmp_path / "other.json")


def test_the_command_line_records_and_compares(tmp_path, sandbox):
    fresh = tmp_path / "fresh.json"
    recorded = conformance(
        "record", "--target", sandbox.base_url, "--out", str(fresh), cwd=tmp_path, env={"CKO_SECRET_KEY": sandbox.secret_key}
    )
    assert recorded.returncode == 0, recorded.stderr
    assert sandbox.secret_key not in recorded.stdout + recorded.stderr
    same = conformance("compare", str(GOLDEN), str(fresh), cwd=tmp_path)
    assert (same.returncode, same.stderr) == (0, ""), same.stdout

    edited(Recording.load(fresh), "confirm", lambda item: item.update(status=200)).save(tmp_path / "changed.json")
    changed = conformance("compare", str(GOLDEN), str(tmp_path / "changed.json"), cwd=tmp_path)
    assert changed.returncode == 1 and "confirm" in changed.stdout and "status" in changed.stdout

    (tmp_path / "other.json").write_text("[1, 2]")
    for path in (tmp_path / "missing.json", tmp_path / "other.json"):
        refused = conformance("compare", str(GOLDEN), str(path), cwd=tmp_path)
        assert refused.returncode == 2 and refused.stdout == "" and len(refused.stderr.splitlines()) == 1
        assert path.name in refused.stderr


def test_the_cli_records_either_confirm_shape_and_refuses_production(tmp_path):
    assert conformance("record", "--target", "embedded", "--out", "p.json", cwd=tmp_path).returncode == 0
    assert conformance("record", "--target", "embedded", "--confirm-response", "setup", "--out", "s.json", cwd=tmp_path).returncode == 0
    differing = conformance("compare", "p.json", "s.json", cwd=tmp_path)
    assert differing.returncode == 1 and "latest_payment" in differing.stdout and "202" in differing.stdout
    refused = conformance("record", "--target", "production", "--out", "x.json", cwd=tmp_path)
    assert refused.returncode == 2 and "refused" in refused.stderr and not (tmp_path / "x.json").exists()
    wrong = conformance("record", "--target", "http://127.0.0.1:9", "--confirm-response", "setup", "--out", "x.json", cwd=tmp_path)
    assert wrong.returncode == 2 and "embedded" in wrong.stderr
