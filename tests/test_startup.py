"""A sandbox answers only once it is whole: its links name the address it serves on from the first answer.

Found with ``--state``: a create sent while ``start()`` was still swapping in the state that knows
the bound address came back with host-less links (``/payments/setups/set_…``), once in 15 starts.
"""

from __future__ import annotations

import socket
import threading

import pytest
import requests

from octopus_nb.sandbox import Sandbox
from octopus_nb.sandbox.models import DEFAULT_SECRET_KEY

BODY = {"amount": 1000, "currency": "HKD", "success_url": "https://example.com/ok", "failure_url": "https://example.com/ko"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("persistent", [False, True], ids=["memory", "state-file"])
def test_a_request_sent_at_start_up_gets_links_with_the_host(tmp_path, persistent):
    for attempt in range(15):
        port = free_port()
        answers, started = [], threading.Event()

        def hammer() -> None:
            # Send as early as the port accepts connections, until one request has been answered.
            while not answers:
                try:
                    answers.append(
                        requests.post(
                            f"http://127.0.0.1:{port}/payments/setups",
                            json=BODY,
                            timeout=5,
                            headers={"Authorization": f"Bearer {DEFAULT_SECRET_KEY}"},
                        )
                    )
                except requests.ConnectionError:
                    started.set()

        client = threading.Thread(target=hammer)
        client.start()
        started.wait(5)
        state = tmp_path / f"state-{attempt}.sqlite" if persistent else None
        with Sandbox(seed=7, port=port, state_path=state) as sandbox:
            client.join(10)
            assert answers and answers[0].status_code == 200, answers
            assert answers[0].json()["_links"]["self"]["href"].startswith(sandbox.base_url + "/payments/setups/set_")
