"""The flow explorer as an app: ``make explore`` serves it with Voilà; a payment is clicked through in Chromium.

Run with ``.venv/bin/pytest -m browser tests/test_browser_voila.py`` (deselected by default).

The test runs the documented command itself (docs/explorer.md), ``make explore PORT=<free port>``, in its own process
group (so teardown stops make, Voilà and the kernel it started, and only those), reads the URL it
prints, opens it in Debian's chromium through Playwright and drives one payment through the app's
widgets from its empty form: create → readiness → confirm → the QR code → approve → Captured. No
code is on the page. Screenshots go to ``artifacts/voila/`` (git-ignored).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

# the same server handling and browser page as the explorer's JupyterLab test
from test_browser_explorer import _free_port, _stop, confirm_and_approve_in_explorer, create_in_explorer, page  # noqa: F401 (page is a fixture)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "voila"
SERVER_START_SECONDS = 60
STEP_TIMEOUT_MS = 15_000
#: the first page load starts a kernel, imports pandas and ipywidgets, and runs the notebook
APP_TIMEOUT_MS = 60_000


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    """``make explore`` on a free loopback port; yields the URL it printed; stopped at teardown, always."""
    base = tmp_path_factory.mktemp("voila")
    port = _free_port()
    venv = Path(sys.prefix)
    # -o: take the venv as it is (never reinstall from inside a test); VENV: the one running the tests
    command = ["make", "--no-print-directory", "-o", f"{venv}/.installed", "explore", f"PORT={port}", f"VENV={venv}"]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(base / "runtime")}
    log_path = base / "explore.log"
    log = log_path.open("wb")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while not _listening(port):
            if server.poll() is not None:
                pytest.fail(f"make explore exited with {server.returncode}: {log_path.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"make explore did not listen in {SERVER_START_SECONDS} s: {log_path.read_text()[-2000:]}")
            time.sleep(0.2)
        printed = re.findall(r"http://127\.0\.0\.1:(\d+)/", log_path.read_text())
        assert printed and int(printed[0]) == port, f"make explore should print its URL: {log_path.read_text()}"
        yield f"http://127.0.0.1:{port}/"
    finally:
        _stop(server)
        log.close()


def _shot(locator, name: str) -> bytes:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return locator.screenshot(path=str(ARTIFACTS / name))


def test_a_payment_is_clicked_through_the_app_served_by_voila(voila, page):
    from playwright.sync_api import expect

    page.goto(voila, timeout=APP_TIMEOUT_MS)
    app = page.locator(".octopus-explorer")
    expect(app).to_have_count(1, timeout=APP_TIMEOUT_MS)
    expect(app.locator(".octopus-explorer-state")).to_have_text("start", timeout=STEP_TIMEOUT_MS)
    # An app, not a notebook: the prose is there, the code is not.
    expect(page.get_by_text("Octopus payments, step by step")).to_be_visible()
    assert page.get_by_text("import octopus_nb").count() == 0
    assert page.locator(".jp-CodeCell .jp-InputArea, .jp-InputArea-editor").count() == 0
    _shot(page, "01-opened.png")

    create_in_explorer(app, 3000, "ORD-VOILA-1", _shot)  # over the form's example values

    confirm_and_approve_in_explorer(app, page, _shot)
    rows = app.locator(".octopus-history-row")
    expect(rows.first).to_contain_text("/actions")
    _shot(app, "05-outcome.png")
    page.screenshot(path=str(ARTIFACTS / "06-page.png"), full_page=True)
