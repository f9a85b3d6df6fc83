"""PaymentForm: a view over the flow controller; every button is a method, clicks never raise."""

from __future__ import annotations

import pytest

import octopus_nb
from octopus_nb.ui import PaymentForm

from conftest import KO_URL, OK_URL

READY = dict(amount=1000, currency="HKD", success_url=OK_URL, failure_url=KO_URL)


@pytest.mark.parametrize("shape", ["payment", "setup"])
def test_the_form_confirms_in_either_shape_and_plays_every_customer_action(shape):
    with octopus_nb.connect(seed=7, confirm_response=shape) as client:
        form = PaymentForm(client, **READY)
        assert form.submit()["payment_methods"]["octopus"]["status"] == "ready"
        payment = form.confirm()
        assert payment["id"].startswith("pay_") and form.payment["status"] == "Pending"
        assert payment["processing"]["octopus_uri"] in form.links.value and form.qr.value  # redirect table + QR
        assert set(form.buttons) >= set(octopus_nb._shared.contract.CUSTOMER_ACTIONS)
        form.buttons["fail_capture"].click()
        assert form.payment["status"] == "Declined" and form.payment["approved"] is False
        assert form.buttons["fail_capture"].disabled and not form.buttons["confirm"].disabled
        form.buttons["confirm"].click()  # a declined payment may be tried again
        form.buttons["approve"].click()
        assert form.payment["status"] == "Captured"
