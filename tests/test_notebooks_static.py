"""The committed notebooks, checked without running them (nbval re-runs them; this reads the files).

- every code cell was executed and kept its output, except the cells tagged to be skipped;
- no output holds a secret key or an ``Authorization: Bearer`` value;
- every stored QR code decodes, to a URL/URI that the same notebook shows as text;
- widgets, inline PNGs and pandas tables are there (the saved notebook is worth reading on GitHub);
- the house rules of STYLE.md §8: connect first (through ``connect_target``, so ``OCTOPUS_NB_TARGET``
  picks the server), errors only in ``raises-exception`` cells, the history last, one README line per
  notebook, sanitize files nbval can parse;
- every cell that calls a ``/_sandbox/`` helper is tagged ``simulator-only`` (skipped against
  Checkout.com, see notebooks/conftest.py), and only known tags are used.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
NUMBERED = [path for path in NOTEBOOKS if re.match(r"\d\d-", path.name)]
SKIP_TAGS = {"nbval-skip", "skip-execution"}
#: every tag a notebook cell may carry (a misspelt one would silently do nothing)
KNOWN_TAGS = SKIP_TAGS | {"raises-exception", "simulator-only", "seed-dependent"}
#: calls that need the simulator's /_sandbox/ routes (octopus_nb.control, the form's and explorer's customer buttons)
SIMULATOR_CALL = re.compile(
    r"\b(simulate_customer|advance_clock|configure_webhooks|flush_webhooks|webhook_deliveries|inject_faults"
    r"|act_as_customer|explorer\.act)\("
)
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Checkout.com secret keys (sandbox and live), as the contract defines them
KEY = re.compile(r"sk_(sbox_)?[a-z2-7]{26}[a-z2-7*#$=]")
#: "Bearer <anything>" except the shell variable the curl export writes instead of the key
BEARER = re.compile(r"Bearer (?!\$CKO_SECRET_KEY\b)")


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _code_cells(notebook: dict) -> list[dict]:
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def _text(value) -> str:  # noqa: ANN001 - nbformat stores text as a string or a list of lines
    return "".join(value) if isinstance(value, list) else str(value)


def _tags(cell: dict) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _texts(notebook: dict) -> list[str]:
    """Every textual piece of every output: streams, text/* and JSON data, errors."""
    texts = []
    for cell in _code_cells(notebook):
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                texts.append(_text(output["text"]))
            elif output["output_type"] == "error":
                texts += [output["ename"], output["evalue"], *output.get("traceback", [])]
            else:
                for mime, value in output.get("data", {}).items():
                    if not mime.startswith("image/") or mime == "image/svg+xml":
                        texts.append(_text(value) if isinstance(value, (str, list)) else json.dumps(value))
    return texts


def _outputs(notebook: dict):
    for cell in _code_cells(notebook):
        for output in cell.get("outputs", []):
            yield cell, output


def test_there_are_notebooks():
    assert len(NUMBERED) >= 7


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_every_code_cell_was_executed_with_its_output(path):
    for n, cell in enumerate(_code_cells(_load(path)), start=1):
        where = f"{path.name} code cell {n} ({_text(cell['source'])[:40]!r})"
        if _tags(cell) & SKIP_TAGS:
            assert _tags(cell) >= SKIP_TAGS, f"{where}: tag both nbval-skip and skip-execution (nbval ignores the latter)"
            assert cell["execution_count"] is None and not cell["outputs"], f"{where}: a skipped cell keeps no output"
            continue
        assert cell["execution_count"] is not None, f"{where} was not executed: run `make notebooks`"
        errors = [output for output in cell["outputs"] if output["output_type"] == "error"]
        if "raises-exception" in _tags(cell):
            assert errors, f"{where} is tagged raises-exception but stored no error"
        else:
            assert not errors, f"{where} stored an error but is not tagged raises-exception"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_no_secret_reaches_a_stored_output(path):
    notebook = _load(path)
    for text in _texts(notebook) + [json.dumps(notebook["metadata"])]:
        assert not KEY.search(text), f"{path.name}: a key-shaped string is stored in an output"
        assert not BEARER.search(text), f"{path.name}: an Authorization value is stored in an output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_stored_qr_codes_decode_to_what_the_notebook_shows(path):
    zxingcpp = pytest.importorskip("zxingcpp")
    from PIL import Image

    notebook = _load(path)
    shown = "\n".join(text for text in _texts(notebook))
    for _cell, output in _outputs(notebook):
        png = output.get("data", {}).get("image/png")
        if png is None:
            continue
        label = _text(output.get("data", {}).get("text/plain", ""))
        codes = [
            code
            for code in zxingcpp.read_barcodes(Image.open(io.BytesIO(base64.b64decode(_text(png)))))
            if code.format == zxingcpp.BarcodeFormat.QRCode
        ]
        if label.startswith("<QR code of"):
            assert codes, f"{path.name}: a stored QR code ({label}) does not decode"
        for code in codes:
            assert re.match(r"^[a-z][a-z0-9+.-]*://", code.text), f"{path.name}: QR holds {code.text!r}, not a URL/URI"
            # The loopback port is the one thing that differs run to run; the stored text and image agree.
            assert code.text in shown, f"{path.name}: QR code of {code.text!r}, which no text output shows"


def test_widgets_pngs_and_tables_are_stored():
    kinds = {"widget": set(), "png": set(), "table": set()}
    for path in NOTEBOOKS:
        for _, output in _outputs(_load(path)):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                kinds["widget"].add(path.name)
            if "image/png" in data:
                kinds["png"].add(path.name)
            if "<table" in _text(data.get("text/html", "")):
                kinds["table"].add(path.name)
    assert all(kinds.values()), f"missing from every stored output: {[kind for kind, names in kinds.items() if not names]}"
    assert {"01-quickstart.ipynb", "03-confirm-and-redirect.ipynb"} <= kinds["png"], "the QR code is shown inline"
    assert {"02-readiness.ipynb", "03-confirm-and-redirect.ipynb"} <= kinds["widget"], "the form is shown"
    assert {path.name for path in NUMBERED} <= kinds["table"], "every numbered notebook shows a pandas table"


@pytest.mark.parametrize("path", NUMBERED, ids=lambda path: path.name)
def test_house_rules(path):
    notebook = _load(path)
    cells = notebook["cells"]
    assert cells[0]["cell_type"] == "markdown" and _text(cells[0]["source"]).startswith("# "), "a title first"
    assert "learn" in _text(cells[0]["source"]), "then what you'll learn"
    code = _code_cells(notebook)
    assert "octopus_nb.connect_target(seed=7)" in _text(code[0]["source"]), "the first code cell connects to the target"
    for previous, cell in zip(cells, cells[1:]):
        if cell["cell_type"] == "code":
            assert previous["cell_type"] == "markdown", (
                f"{path.name}: say what to look for before {_text(cell['source'])[:40]!r} (a markdown cell)"
            )
    last = code[-1]
    assert _text(last["source"]).strip().endswith(".history"), "each notebook ends with the history (client.history)"
    assert any("<table" in _text(o.get("data", {}).get("text/html", "")) for o in last["outputs"])


# The numbered notebooks are (re-)executed by `make notebooks`, which normalises their metadata.
@pytest.mark.parametrize("path", NUMBERED, ids=lambda path: path.name)
def test_metadata_is_normalised(path):
    notebook = _load(path)
    assert "widgets" not in notebook["metadata"], "saved widget state churns on every run: `make notebooks` drops it"
    assert notebook["metadata"].get("kernelspec", {}).get("name") == "python3"
    for cell in _code_cells(notebook):
        assert "execution" not in cell.get("metadata", {}), "per-cell timings churn: re-execute with `make notebooks`"


def test_readme_has_one_line_per_notebook():
    readme = (NOTEBOOK_DIR / "README.md").read_text(encoding="utf-8")
    for path in NOTEBOOKS:
        lines = [line for line in readme.splitlines() if f"({path.name})" in line]
        assert len(lines) == 1, f"notebooks/README.md should have one line for {path.name}"


def _sanitize_rules(name: str) -> list[tuple[str, str]]:
    text = (NOTEBOOK_DIR / name).read_text(encoding="utf-8")
    assert "\r" not in text
    # nbval's own parser (nbval/plugin.py get_sanitize_patterns)
    rules = re.findall(r"^regex: (.*)$\n^replace: (.*)$", text, flags=re.MULTILINE)
    lines = text.splitlines()
    assert len(rules) == sum(line.startswith("regex:") for line in lines) >= 1, "every regex: line needs its replace: line"
    for n, line in enumerate(lines):
        if line.startswith("regex: "):
            assert lines[n - 1].startswith("#"), f"sanitize rule {line!r} needs a comment line above it"
            re.compile(line[len("regex: ") :])
        assert line == line.rstrip(), f"{name}: trailing space in {line!r} (nbval keeps it)"
    return rules


def test_sanitize_file_is_what_nbval_parses():
    for pattern, _ in _sanitize_rules("sanitize.cfg"):
        # Only what no seed can fix: the loopback port and latencies.
        assert "127" in pattern or " ms" in pattern, f"unexpected sanitize rule {pattern!r}"


def test_live_sanitize_file_masks_what_differs_between_servers_and_nothing_else():
    rules = _sanitize_rules("sanitize-live.cfg")
    stored = "<octopus_nb.Client embedded http://127.0.0.1:35445 key=sk_sbox_…> set_s2jhtlgmxgedn73u55xtplpft7"
    live = "<octopus_nb.Client custom http://127.0.0.1:41002 key=sk_sbox_…> set_4lajlj6hdu6gdpmrcg4be4umr4"

    def sanitize(text: str) -> str:
        for pattern, replacement in rules:  # in file order, as nbval applies them
            text = re.sub(pattern, replacement, text)
        return text

    assert sanitize(stored) == sanitize(live)
    for kept in (
        "Captured",
        "payment_setup_already_confirmed",
        "amount=1000",
        "https://example.com/payments/success",
        "422 request_invalid",
        "ORD-5023-4E89",
        "octopus://payment?token=",
    ):
        assert kept in sanitize(kept), f"sanitize-live.cfg must not mask {kept!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_simulator_calls_are_tagged_simulator_only(path):
    for cell in _code_cells(_load(path)):
        tags, source = _tags(cell), _text(cell["source"])
        assert tags <= KNOWN_TAGS, f"{path.name}: unknown tags {sorted(tags - KNOWN_TAGS)} on {source[:40]!r}"
        if tags & SKIP_TAGS or "simulator-only" in tags:
            continue
        refused = any(output.get("ename") == "NotASandboxError" for output in cell["outputs"])
        assert refused or not SIMULATOR_CALL.search(source), (
            f"{path.name}: {source[:50]!r} needs the simulator: tag it simulator-only (and the cells that need its result)"
        )
