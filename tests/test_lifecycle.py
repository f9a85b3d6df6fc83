"""Step 3 and after: redirect targets, playing the customer, waiting for the outcome."""

from __future__ import annotations

import io
import sys

import pytest
from conftest import pending_payment, ready_setup

import octopus_nb
from octopus_nb._shared.contract import TERMINAL_STATUSES
from octopus_nb.lifecycle import IOS_URL_TEMPLATE

REAL_SANDBOX_KEY = "sk_sbox_" + "a" * 27


# --- redirect_targets -------------------------------------------------------------------------


def test_redirect_targets_from_confirm_answer(client):
    payment = pending_payment(client)
    targets = octopus_nb.redirect_targets(payment)
    token = payment["processing"]["token"]
    assert targets.desktop == payment["processing"]["landing_url"]
    assert targets.desktop.startswith(client.base_url + "/_sandbox/octopus/oos/payment/?token=")
    assert targets.android == payment["processing"]["octopus_uri"] == f"octopus://payment?token={token}"
    assert targets.ios == IOS_URL_TEMPLATE.format(token=token)
    assert targets.token == token and targets.payment_id == payment["id"]


def test_redirect_targets_same_from_payment_and_setup(client):
    setup = ready_setup(client)
    confirmed = octopus_nb.confirm_payment_setup(client, setup["id"])
    from_confirm = octopus_nb.redirect_targets(confirmed)
    assert octopus_nb.redirect_targets(octopus_nb.get_payment(client, confirmed["id"])) == from_confirm
    assert octopus_nb.redirect_targets(octopus_nb.get_payment_setup(client, setup["id"])) == from_confirm


def test_redirect_targets_ios_template_is_overridable(client):
    payment = pending_payment(client)
    targets = octopus_nb.redirect_targets(payment, ios_template="myoctopus://pay/{token}")
    assert targets.ios == "myoctopus://pay/" + payment["processing"]["token"]


def test_redirect_targets_ios_return_url_is_appended_percent_encoded(client):
    payment = pending_payment(client)
    plain = octopus_nb.redirect_targets(payment)
    targets = octopus_nb.redirect_targets(payment, ios_return_url="myshop://octopus/done?order=7&x=é")
    assert targets.ios == plain.ios + "&return=myshop%3A%2F%2Foctopus%2Fdone%3Forder%3D7%26x%3D%C3%A9"
    assert (targets.desktop, targets.android) == (plain.desktop, plain.android)  # only iOS takes a return URL
    assert octopus_nb.redirect_targets(payment, ios_return_url="").ios == plain.ios


def test_payment_of_finds_the_payment_in_either_confirm_shape(client):
    payment = pending_payment(client)
    as_setup = {"id": "set_1", "payment_methods": {}, "latest_payment": payment}
    assert octopus_nb.payment_of(payment) is payment and octopus_nb.payment_of(as_setup) is payment
    assert octopus_nb.redirect_targets(as_setup) == octopus_nb.redirect_targets(payment)
    assert octopus_nb.qr_code(as_setup) == octopus_nb.qr_code(payment)


def test_redirect_targets_repr_is_deterministic_and_html_escapes():
    payment = {
        "id": "pay_x",
        "processing": {
            "landing_url": "https://h/?token=t&x=<b>",
            "octopus_uri": "octopus://payment?token=t",
            "token": "t",
        },
    }
    targets = octopus_nb.redirect_targets(payment)
    assert "0x" not in repr(targets) and "pay_x" in repr(targets)
    assert "&lt;b&gt;" in targets._repr_html_() and "<b>" not in targets._repr_html_()


def test_redirect_targets_of_unconfirmed_setup_says_confirm_first(client):
    with pytest.raises(ValueError, match="confirm it first"):
        octopus_nb.redirect_targets(ready_setup(client))


# --- simulate_customer --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "status", "approved"),
    [("approve", "Captured", True), ("decline", "Declined", False), ("expire", "Expired", False)],
)
def test_simulate_customer(client, action, status, approved):
    payment = pending_payment(client)
    after = octopus_nb.simulate_customer(client, payment["id"], action)
    assert (after["status"], after["approved"]) == (status, approved)
    assert octopus_nb.get_payment(client, payment["id"])["status"] == status
    last = client.history[-2]  # the control call is in the history, like any other exchange
    assert (last.method, last.path, last.status) == ("POST", f"/_sandbox/payments/{payment['id']}/{action}", 200)


def test_simulate_customer_second_action_conflicts(client):
    payment = pending_payment(client)
    octopus_nb.simulate_customer(client, payment["id"], "approve")
    with pytest.raises(octopus_nb.ConflictError) as caught:
        octopus_nb.simulate_customer(client, payment["id"], "decline")
    assert caught.value.status == 409 and "payment_not_pending" in caught.value.error_codes


def test_simulate_customer_unknown_action_lists_valid_ones(client):
    with pytest.raises(ValueError, match="'approve', 'decline', 'expire'"):
        octopus_nb.simulate_customer(client, "pay_x", "refund")
    assert len(client.history) == 0


@pytest.mark.parametrize(
    ("environment", "base_url"),
    [("sandbox", "https://abcd1234.api.sandbox.checkout.com"), ("production", "https://abcd1234.api.checkout.com")],
)
def test_simulate_customer_refuses_checkout_com_before_any_request(environment, base_url):
    key = REAL_SANDBOX_KEY if environment == "sandbox" else "sk_" + "a" * 27
    client = octopus_nb.Client(base_url, key, environment=environment)

    def no_network(*args, **kwargs):
        raise AssertionError("simulate_customer() must refuse before sending anything")

    client.session.request = no_network
    with pytest.raises(octopus_nb.NotASandboxError, match="Octopus App") as caught:
        octopus_nb.simulate_customer(client, "pay_x", "approve")
    assert isinstance(caught.value, octopus_nb.ConfigurationError)
    assert key not in str(caught.value)
    assert len(client.history) == 0


# --- wait_for_payment ---------------------------------------------------------------------------


def test_wait_for_payment_returns_captured_after_approve(client, capsys):
    payment = pending_payment(client)
    octopus_nb.simulate_customer(client, payment["id"], "approve")
    settled = octopus_nb.wait_for_payment(client, payment["id"], timeout=5)
    assert settled["status"] == "Captured"
    assert capsys.readouterr() == ("", "")  # already settled: nothing printed (nbval compares streams)


def test_wait_for_payment_times_out_on_pending_with_last_status(client, capsys):
    payment = pending_payment(client)
    with pytest.raises(octopus_nb.WaitTimeoutError, match=r"still Pending after 0\.05 s") as caught:
        octopus_nb.wait_for_payment(client, payment["id"], timeout=0.05, interval=0.01)
    assert isinstance(caught.value, TimeoutError)
    assert "simulate_customer" in str(caught.value)
    assert capsys.readouterr() == ("", "")  # stderr is not a terminal here, as in a notebook


def test_wait_for_payment_progress_hook_sees_each_poll(client):
    payment = pending_payment(client)
    seen = []

    def progress(current, elapsed):
        seen.append(current["status"])
        if len(seen) == 2:
            octopus_nb.simulate_customer(client, payment["id"], "decline")

    settled = octopus_nb.wait_for_payment(client, payment["id"], timeout=5, interval=0.01, progress=progress)
    assert settled["status"] == "Declined"
    assert seen == ["Pending", "Pending", "Declined"]


def test_terminal_statuses_cover_the_octopus_outcomes():
    assert {"Captured", "Declined", "Expired", "Refunded", "Partially Refunded", "Canceled"} == TERMINAL_STATUSES


def test_wait_for_payment_reports_on_stderr_only_in_a_terminal(client, monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    payment = pending_payment(client)
    with pytest.raises(octopus_nb.WaitTimeoutError):
        octopus_nb.wait_for_payment(client, payment["id"], timeout=0.03, interval=0.01)
    assert f"\rwaiting for {payment['id']}: Pending (" in terminal.getvalue()


def test_in_a_kernel_progress_is_one_widget_displayed_once(client, sandbox, monkeypatch, capsys):
    import threading
    from types import SimpleNamespace

    import IPython
    import IPython.display

    monkeypatch.setattr(IPython, "get_ipython", lambda: SimpleNamespace(kernel=object()))  # as in Jupyter
    payment = pending_payment(client)
    approve = threading.Timer(0.2, sandbox.state.payment_api.approve_payment, args=(payment["id"],))
    approve.start()
    try:
        final = octopus_nb.wait_for_payment(client, payment["id"], timeout=5, interval=0.05)
    finally:
        approve.join()
    assert final["status"] == "Captured"
    shown = capsys.readouterr().out  # outside a kernel, display() prints the widget's text/plain
    assert shown.count("waiting for") == 1 and f"<waiting for {payment['id']}: Pending when the wait began>" in shown


def test_the_progress_widget_carries_a_static_picture(client):
    from octopus_nb.lifecycle import _wait_widget

    widget = _wait_widget()("pay_" + "a" * 26, "Pending")
    bundle = widget._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # live in JupyterLab
    assert bundle["text/html"].startswith("<div class='octopus-wait'>Waited for <code>pay_")
    assert "HTML(" not in bundle["text/plain"]
