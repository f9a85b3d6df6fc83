"""qr_code(): the QR a notebook shows must decode to exactly what the Octopus App scans."""

from __future__ import annotations

import pytest
from conftest import decode_qr as decode
from conftest import pending_payment

import octopus_nb

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_qr_of_payment_encodes_octopus_uri(client):
    payment = pending_payment(client)
    code = octopus_nb.qr_code(payment)
    assert code.data == payment["processing"]["octopus_uri"]
    assert code.png.startswith(PNG_MAGIC)
    assert decode(code.png) == [payment["processing"]["octopus_uri"]]


def test_qr_of_get_payment_and_setup_and_targets_agree(client):
    payment = pending_payment(client)
    fetched = octopus_nb.get_payment(client, payment["id"])
    assert octopus_nb.qr_code(fetched) == octopus_nb.qr_code(payment)
    assert octopus_nb.qr_code(octopus_nb.redirect_targets(payment)).data == payment["processing"]["octopus_uri"]


def test_qr_of_string_is_exact_and_deterministic():
    uri = "octopus://payment?token=zjsdhd3"
    first, second = octopus_nb.qr_code(uri), octopus_nb.qr_code(uri)
    assert decode(first.png) == [uri]
    assert first.png == second.png  # same data, same bytes: executed notebooks reproduce
    assert first._repr_png_() == first.png


def test_repr_names_the_data_and_no_address():
    code = octopus_nb.qr_code("octopus://payment?token=zjsdhd3")
    assert repr(code) == "<QR code of 'octopus://payment?token=zjsdhd3'>"
    assert "0x" not in repr(code)


def test_save_writes_a_png_that_decodes(tmp_path):
    path = tmp_path / "pay.png"
    assert octopus_nb.qr_code("octopus://payment?token=abc").save(path).data == "octopus://payment?token=abc"
    assert path.read_bytes().startswith(PNG_MAGIC)
    assert decode(path.read_bytes()) == ["octopus://payment?token=abc"]


def test_text_is_block_characters_for_a_terminal():
    text = octopus_nb.qr_code("octopus://payment?token=abc").text()
    lines = text.splitlines()
    assert len(lines) > 10 and len(set(map(len, lines))) == 1  # a square-ish block, every row the same width
    assert set(text) <= {"\u2588", "\u2580", "\u2584", "\xa0", " ", "\n"}


def test_bad_inputs_are_refused_with_a_reason(client):
    with pytest.raises(ValueError, match="Nothing to encode"):
        octopus_nb.qr_code("")
    with pytest.raises(ValueError, match="confirm it first"):
        octopus_nb.qr_code(octopus_nb.create_payment_setup(client, amount=1000, currency="HKD"))
    with pytest.raises(TypeError, match="URL string or a payment"):
        octopus_nb.qr_code(42)
