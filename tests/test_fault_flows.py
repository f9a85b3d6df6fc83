"""Whole flows under injected faults: retries plus idempotency keys complete each one exactly once.

``PUT /_sandbox/faults`` makes the API answer 5xx/429 *before* doing anything (``error_rate``)
or do the work and then hang up (``drop_rate``): the second kind is the dangerous one, since only
the ``Cko-Idempotency-Key`` the client reuses on its retry keeps the work from happening twice.
``/_sandbox/stats`` proves nothing was duplicated or lost; the client's history proves each
logical call shows up once, with its final status.
"""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import KO_URL, OK_URL
from urllib3.util.retry import Retry

import octopus_nb
from octopus_nb.control import inject_faults, simulate_customer

FLOWS = 60
#: (error_rate, status, drop_rate) per run: a fault on about half of all API requests
FAULT_MIXES = [(0.3, 503, 0.2), (0.25, 429, 0.25), (0.2, 500, 0.3)]
#: every logical API call a flow makes (the customer's approve goes to /_sandbox/, which faults spare)
CALLS_PER_FLOW = {"POST": 4, "GET": 3}  # create, confirm, 2 refunds; get x2, actions


def patient_retry() -> Retry:
    """More attempts than the default, no back-off: the sandbox answers at once, only the odds vary.

    At a fault rate of ~50 %, 25 attempts all failing has odds of ~1e-8 per call.
    """
    return Retry(
        total=25,
        connect=5,
        read=25,
        status=25,
        backoff_factor=0,
        status_forcelist=frozenset({429, 500, 502, 503, 504}),
        allowed_methods=frozenset({"GET", "POST", "PUT"}),
        raise_on_status=False,
        respect_retry_after_header=False,
    )


def one_flow(client, number: int) -> dict:
    """create → confirm → (customer approves) → get → refund part → refund rest → get → actions."""
    setup = octopus_nb.create_payment_setup(
        client, amount=1000 + 10 * number, currency="HKD", success_url=OK_URL, failure_url=KO_URL, reference=f"FLOW-{number}"
    )
    assert setup["payment_methods"]["octopus"]["status"] == "ready"
    payment = octopus_nb.confirm_payment_setup(client, setup["id"])
    assert payment.status == 202 and payment["status"] == "Pending"
    simulate_customer(client, payment["id"], "approve")
    assert octopus_nb.get_payment(client, payment["id"])["status"] == "Captured"
    octopus_nb.refund_payment(client, payment["id"], amount=400, reference=f"RF-{number}-1")
    octopus_nb.refund_payment(client, payment["id"], reference=f"RF-{number}-2")  # the rest
    final = octopus_nb.get_payment(client, payment["id"])
    assert final["status"] == "Refunded"
    assert final["balances"] == {"total_captured": 1000 + 10 * number, "total_refunded": 1000 + 10 * number, "available_to_refund": 0}
    actions = octopus_nb.get_payment_actions(client, payment["id"])
    assert [action["type"] for action in actions] == ["Refund", "Refund", "Capture"]
    return {"setup": setup["id"], "payment": payment["id"]}


@pytest.mark.parametrize("error_rate, status, drop_rate", FAULT_MIXES)
def test_flows_under_faults_complete_exactly_once(sandbox, error_rate, status, drop_rate):
    with octopus_nb.Client(sandbox.base_url, sandbox.secret_key, retry=patient_retry(), timeout=(2, 5)) as client:
        inject_faults(client, error_rate=error_rate, status=status, drop_rate=drop_rate)
        client.history.clear()
        flows = [one_flow(client, number) for number in range(FLOWS)]
        inject_faults(client)
        stats = sandbox.state.stats()

        # no duplicates, no losses: exactly one setup, payment and two refunds per flow
        assert len({flow["setup"] for flow in flows}) == len({flow["payment"] for flow in flows}) == FLOWS
        assert (stats["setups"], stats["payments"], stats["refunds"]) == (FLOWS, FLOWS, 2 * FLOWS)
        for flow in flows:
            payment = sandbox.state.payments[flow["payment"]]
            assert [action.type for action in payment.actions] == ["Capture", "Refund", "Refund"]

        # history: one row per logical call (approve included, the fault toggles not), final status only
        rows = [row for row in client.history if row.path != "/_sandbox/faults"]
        per_method = Counter(row.method for row in rows if not row.path.startswith("/_sandbox/"))
        assert per_method == {method: count * FLOWS for method, count in CALLS_PER_FLOW.items()}
        assert len(rows) == FLOWS * (sum(CALLS_PER_FLOW.values()) + 1)
        assert all(row.status in (200, 202) and row.error is None for row in rows)
        keys = [row.idempotency_key for row in rows if row.method == "POST"]
        assert len(keys) == len(set(keys)), "one fresh idempotency key per logical POST"

        # the faults were real: retries happened, and every attempt reached the server
        api_rows = [row for row in rows if not row.path.startswith("/_sandbox/")]
        retried = sum(row.attempts - 1 for row in api_rows)
        assert retried > 0.3 * len(api_rows), (retried, len(api_rows))
        assert stats["requests"] == sum(row.attempts for row in api_rows)
        frame = client.history.to_frame()
        assert len(frame) == len(client.history)
        _FIGURES.update(flows=FLOWS, api_calls=len(api_rows), attempts=sum(row.attempts for row in api_rows))
        FIGURES.append(dict(_FIGURES, error_rate=error_rate, status=status, drop_rate=drop_rate))


def test_a_drop_without_a_key_would_duplicate_so_every_post_carries_one(sandbox):
    """Why the keys matter: the same POST, dropped once, replayed with its key, creates one setup."""
    with octopus_nb.Client(sandbox.base_url, sandbox.secret_key, retry=patient_retry()) as client:
        inject_faults(client, drop_rate=1.0)
        with pytest.raises(octopus_nb.ApiUnreachable) as unreachable:
            octopus_nb.create_payment_setup(client, amount=1000, currency="HKD", idempotency_key="flow-key-1")
        assert "flow-key-1" in str(unreachable.value)  # the message names the key to retry with
        inject_faults(client)
        created = sandbox.state.stats()["setups"]
        assert created == 1  # the server did the work every time it was dropped... once, thanks to the key
        again = octopus_nb.create_payment_setup(client, amount=1000, currency="HKD", idempotency_key="flow-key-1")
        assert again["id"] in sandbox.state.setups and sandbox.state.stats()["setups"] == 1


_FIGURES: dict = {}
#: one entry per fault mix run, for the report
FIGURES: list = []


def test_zz_figures():
    if not FIGURES:
        pytest.skip("run the whole module for the figures")
    for figure in FIGURES:
        print(f"flows under faults: {figure}")
