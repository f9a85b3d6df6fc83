"""The docs site (``make docs``): built offline from the README and the notebooks' stored outputs.

One build per module into a temporary folder, as ``make docs`` runs it (``--strict``). Every
notebook gets its page; each page carries the PNGs the notebook stores (the QR codes and any
static picture of a widget, as image/png outputs, inside HTML outputs or as attachments), and
each QR code on a page decodes to a URL the page shows as text. The browser test opens one page
in headless Chromium and screenshots it.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import decode_qr

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ARTIFACTS = ROOT / "artifacts" / "docs"
DATA_PNG = re.compile(r'<img\b[^>]*\bsrc="data:image/png;base64,([A-Za-z0-9+/=\s]+)"')
BUILD_SECONDS = 120


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)]
    # The build must not reach the network: no proxy to reach it through, and nothing is executed.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_SECONDS)
    assert done.returncode == 0, f"mkdocs build failed:\n{done.stdout}\n{done.stderr}"
    return out


#: the order in which nbconvert's HTML picks one representation of an output (widget views have
#: no saved state here, so they fall through to the next one)
SHOWN = ("text/html", "text/markdown", "image/svg+xml", "text/latex", "image/png", "image/jpeg", "text/plain")


def _stored_pngs(notebook: Path) -> Counter:
    """Every PNG the notebook shows as stored: image/png outputs, PNGs inside HTML outputs, attachments."""
    pngs: Counter = Counter()
    for cell in json.loads(notebook.read_text())["cells"]:
        for attachment in cell.get("attachments", {}).values():
            if "image/png" in attachment:
                pngs[base64.b64decode(attachment["image/png"])] += 1
        for output in cell.get("outputs", ()):
            data = output.get("data", {})
            shown = next((mime for mime in SHOWN if mime in data), None)
            if shown == "image/png":
                pngs[base64.b64decode(data["image/png"])] += 1
            elif shown == "text/html":
                markup = "".join(data["text/html"])
                pngs.update(base64.b64decode(re.sub(r"\s", "", m)) for m in DATA_PNG.findall(markup))
    return pngs


def test_the_readme_is_the_home_page(site):
    home = (site / "index.html").read_text()
    assert "Two commands" in home and "make test" in home
    assert 'href="notebooks/index.html"' in home  # the README's link to notebooks/README.md


def test_the_build_wrote_nothing_in_the_checkout(site):
    assert not (ROOT / ".cache" / "mkdocs-jupyter").exists(), "mkdocs-jupyter's cache is off (mkdocs.yml)"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[nb.stem for nb in NOTEBOOKS])
def test_every_notebook_has_its_page_with_its_stored_images(site, notebook):
    page = site / "notebooks" / f"{notebook.stem}.html"
    assert page.is_file(), f"no page for {notebook.name}"
    text = page.read_text()
    shown = [base64.b64decode(re.sub(r"\s", "", match)) for match in DATA_PNG.findall(text)]
    assert Counter(shown) == _stored_pngs(notebook), "the page's PNGs are not the ones the notebook stores"
    assert (site / "notebooks" / notebook.name).is_file(), "the .ipynb itself is offered for download"
    visible = html.unescape(re.sub(r"<[^>]+>", " ", text))
    for png in shown:
        for url in decode_qr(png):
            assert url in visible, f"{notebook.name}: a QR code decodes to {url!r}, which the page does not show"


def test_the_qr_notebooks_show_a_qr_code(site):
    """At least the quickstart's QR code is on its page and decodes to the payment's Octopus URI."""
    text = (site / "notebooks" / "01-quickstart.html").read_text()
    decoded = [url for match in DATA_PNG.findall(text) for url in decode_qr(base64.b64decode(re.sub(r"\s", "", match)))]
    assert decoded and all(url.startswith("octopus://payment?token=") for url in decoded)


@pytest.mark.browser
def test_a_notebook_page_renders_in_chromium(site, browser):
    """The quickstart's page straight from disk (file://, nothing served), as a reader would open it offline."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    try:
        page = context.new_page()
        page.goto((site / "notebooks" / "01-quickstart.html").as_uri())
        expect(page.locator("h1").first).to_be_visible()
        assert page.locator("nav").count() > 0  # the theme's navigation came with the page
        qr = page.locator('img[src^="data:image/png"]').first
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle())
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "01-quickstart.png"), full_page=True)
        qr.scroll_into_view_if_needed()
        url = decode_qr(qr.screenshot(path=str(ARTIFACTS / "01-quickstart-qr.png")))
        assert url and url[0].startswith("octopus://payment?token=")
    finally:
        context.close()
