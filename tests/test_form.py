"""PaymentForm: a view over the flow controller; every button is a method, clicks never raise."""

from __future__ import annotations

import pytest
from conftest import KO_URL, OK_URL

import octopus_nb
from octopus_nb.ui import PaymentForm

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


def _picture_of(view) -> str:
    bundle = view._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # JupyterLab still draws the live widget
    return bundle["text/html"]


def test_the_form_carries_a_static_picture_of_its_state():
    import base64
    import re

    from conftest import decode_qr

    pictures = []
    for _ in range(2):
        with octopus_nb.connect(seed=7) as client:
            form = PaymentForm(client, amount=1235, reference="ORD-PIC")
            assert "A picture of this form" in _picture_of(form) and "<img" not in _picture_of(form)
            form.fields["amount"].value = "1230"
            form.submit()
            payment = form.confirm()
            picture = _picture_of(form)
            pictures.append(picture.replace(client.base_url, "BASE"))
    assert pictures[0] == pictures[1]  # deterministic: nbval compares it
    assert "<code>1230</code>" in picture and "<code>ORD-PIC</code>" in picture and "Pending" in picture
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', picture).group(1))
    assert decode_qr(png) == [payment["processing"]["octopus_uri"]]
    assert payment["processing"]["landing_url"].replace("&", "&amp;") in picture and "iOS app" in picture
    assert not re.search(r"\sstyle=", picture)  # classes from the one stylesheet, no inline styles
