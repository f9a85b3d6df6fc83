"""The flow explorer in real JupyterLab, in a real (headless) Chromium: run the notebook, then click a payment through.

Run with ``.venv/bin/pytest -m browser tests/test_browser_explorer.py`` (deselected by default).

JupyterLab runs as a subprocess on 127.0.0.1 with a fixed token, serving a temporary *copy* of
``notebooks/`` (running cells never rewrites the committed notebooks), with temporary workspace and
settings directories (the settings turn off the news toast that would cover the page). Playwright
drives Debian's ``chromium`` through ``executable_path``, never ``playwright install``.

The notebook's cells drive one payment from code; the test then presses *New payment* and drives a
second one through the app's own widgets, from an empty form, as a person would. Another test opens
an explorer made with ``rewind=True`` and tries three outcomes of one payment with the customer's
buttons and *Branch*, then audits the app with axe-core. Screenshots of each step go to
``artifacts/browser/`` (git-ignored).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import decode_qr

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "flow_explorer.ipynb"
ARTIFACTS = ROOT / "artifacts" / "browser"
TOKEN = "octopus-explorer-browser-test"
#: JupyterLab's news/update toast, switched off (schema: @jupyterlab/apputils-extension/notification.json)
NOTIFICATION_SETTINGS = {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True}
SERVER_START_SECONDS = 30
STEP_TIMEOUT_MS = 15_000
#: Opening a notebook and starting its kernel: in CI, beside the unit tests, once over 15 s.
OPEN_TIMEOUT_MS = 60_000

NOTEBOOK_OPEN = """() => {
  const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  return !!nb && !!nb.context && nb.context.isReady && !!nb.content && nb.content.widgets.length > 0;
}"""
KERNEL_IDLE = """() => {
  const nb = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const kernel = nb && nb.sessionContext && nb.sessionContext.session && nb.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle';
}"""
ALL_CELLS_RUN = """() => {
  const nb = window.jupyterapp.shell.currentWidget;
  const kernel = nb.sessionContext.session.kernel;
  const code = nb.content.widgets.filter(cell => cell.model.type === 'code');
  return kernel.status === 'idle' && code.length > 0 && code.every(cell => cell.model.executionCount !== null);
}"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """A JupyterLab server on loopback serving a temp copy of notebooks/; stopped at teardown, always."""
    base = tmp_path_factory.mktemp("lab")
    root = base / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    settings = base / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    (settings / "notification.jupyterlab-settings").write_text(json.dumps(NOTIFICATION_SETTINGS))
    # Render every cell, not only those in view (JupyterLab 4 windowing), so selectors find them.
    tracker = base / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True)
    (tracker / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    for name in ("workspaces", "runtime", "config"):
        (base / name).mkdir()
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={root}",
        f"--IdentityProvider.token={TOKEN}",
        f"--LabApp.workspaces_dir={base / 'workspaces'}",
        f"--LabApp.user_settings_dir={base / 'settings'}",
        "--LabApp.expose_app_in_browser=True",
    ]
    # The kernels import this checkout's package, even where the venv's editable install is another checkout's.
    pythonpath = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {
        **os.environ,
        "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
        "JUPYTER_CONFIG_DIR": str(base / "config"),
        "PYTHONPATH": pythonpath,
    }
    log = (base / "server.log").open("wb")
    # Its own process group, so teardown can stop the server and the kernels it started, and only those.
    server = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if server.poll() is not None:
                pytest.fail(f"jupyter lab exited with {server.returncode}: {(base / 'server.log').read_text()[-2000:]}")
            try:
                if requests.get(f"{url}/api/status", params={"token": TOKEN}, timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                log_tail = (base / "server.log").read_text()[-2000:]
                pytest.fail(f"jupyter lab did not answer in {SERVER_START_SECONDS} s: {log_tail}")
            time.sleep(0.2)
        yield url
    finally:
        _stop(server)
        log.close()


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
    try:
        os.killpg(server.pid, signal.SIGKILL)  # kernels left behind in the group, if any
    except ProcessLookupError:
        pass


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1600})
    try:
        yield context.new_page()
    finally:
        context.close()


def open_notebook(page, lab: str, name: str, *, kernel: bool = True) -> None:  # noqa: ANN001 - a Playwright page
    """Open ``name`` in JupyterLab as a fresh visitor; wait until its cells are there (and its kernel idle)."""
    page.goto(f"{lab}/lab/tree/{name}?token={TOKEN}&reset")
    page.wait_for_function(NOTEBOOK_OPEN, timeout=OPEN_TIMEOUT_MS, polling=200)
    if kernel:
        page.wait_for_function(KERNEL_IDLE, timeout=OPEN_TIMEOUT_MS, polling=200)


def run_all_cells(page) -> None:  # noqa: ANN001 - a Playwright page
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_function(ALL_CELLS_RUN, timeout=OPEN_TIMEOUT_MS, polling=200)


def _shot(locator, name: str) -> bytes:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return locator.screenshot(path=str(ARTIFACTS / name))


def create_in_explorer(app, amount: int, reference: str, shot) -> None:  # noqa: ANN001 - Playwright locators
    """Fill the explorer's form as a person would and create the setup; wait until it is ready."""
    from playwright.sync_api import expect

    app.locator(".octopus-explorer-field-amount input").fill(str(amount))
    app.locator(".octopus-explorer-field-currency input").fill("HKD")
    app.locator(".octopus-explorer-field-success-url input").fill("https://example.com/payments/success")
    app.locator(".octopus-explorer-field-failure-url input").fill("https://example.com/payments/failure")
    app.locator(".octopus-explorer-field-reference input").fill(reference)
    expect(app.locator(".octopus-explorer-message-amount")).to_contain_text("✓")
    shot(app, "02-create-form.png")
    app.locator("button.octopus-explorer-create").click()
    expect(app.locator(".octopus-readiness-status-octopus")).to_have_text("ready", timeout=STEP_TIMEOUT_MS)
    expect(app.locator(".octopus-explorer-readiness")).to_contain_text(f"{amount} HKD")
    expect(app.locator(".octopus-explorer-error")).to_have_text("")
    shot(app, "03-readiness.png")


def confirm_and_approve_in_explorer(app, page, shot) -> None:  # noqa: ANN001 - Playwright objects
    """Confirm, check that the QR code shown decodes to the payment's own URI, then approve as the customer."""
    from playwright.sync_api import expect

    app.locator("button.octopus-explorer-next-confirm").click()
    app.locator("button.octopus-explorer-confirm").click()
    qr = app.locator("img.octopus-explorer-qr")
    expect(qr).to_be_visible(timeout=STEP_TIMEOUT_MS)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=qr.element_handle(), timeout=STEP_TIMEOUT_MS)
    expect(app.locator(".octopus-explorer-payment-status")).to_have_text("Pending")
    octopus_uri = app.locator(".octopus-target-android").inner_text()
    assert octopus_uri.startswith("octopus://payment?token=")
    assert decode_qr(shot(qr, "04-qr.png")) == [octopus_uri]  # the QR shown is the payment's own URI
    shot(app, "04-redirect.png")
    app.locator("button.octopus-explorer-next-customer").click()
    app.locator("button.octopus-explorer-approve").click()
    expect(app.locator(".octopus-outcome-status")).to_have_text("Captured", timeout=STEP_TIMEOUT_MS)
    expect(app.locator(".octopus-explorer-diagram g.node.current")).to_have_attribute("data-state", "Captured")


def test_explorer_notebook_runs_then_a_second_payment_is_clicked_through(lab, page):
    from playwright.sync_api import expect

    started = time.monotonic()
    open_notebook(page, lab, NOTEBOOK)
    run_all_cells(page)

    app = page.locator(".octopus-explorer")
    expect(app).to_have_count(1)
    # The notebook's cells drove the first payment from code; the live app shows where they left it.
    expect(app.locator(".octopus-outcome-status")).to_have_text("Partially Refunded", timeout=STEP_TIMEOUT_MS)
    app.scroll_into_view_if_needed()
    _shot(app, "01-after-run-all.png")
    rows_before = app.locator(".octopus-history-row").count()

    # A second payment, through the widgets, from an empty form.
    app.locator("button.octopus-explorer-new").click()
    amount = app.locator(".octopus-explorer-field-amount input")
    expect(amount).to_have_value("", timeout=STEP_TIMEOUT_MS)
    expect(app.locator(".octopus-explorer-state")).to_have_text("start")
    create_in_explorer(app, 2000, "ORD-BROWSER-2", _shot)

    confirm_and_approve_in_explorer(app, page, _shot)
    _shot(app, "05-outcome.png")

    # History: newest first, 4 more exchanges (create, confirm, approve, actions), each expandable.
    rows = app.locator(".octopus-history-row")
    expect(rows).to_have_count(rows_before + 4)
    newest = rows.first
    expect(newest).to_contain_text("/actions")
    expect(rows.nth(1)).to_contain_text("/approve")
    newest.locator("summary").click()
    expect(newest.locator("pre").nth(1)).to_contain_text('"type": "Capture"')
    expect(app.locator(".octopus-event-row").first).to_be_visible()
    history = app.locator(".octopus-explorer-history")
    history.scroll_into_view_if_needed()
    _shot(history, "06-history.png")
    page.screenshot(path=str(ARTIFACTS / "07-page.png"), full_page=True)
    assert time.monotonic() - started < 60


def test_a_committed_notebook_opens_cleanly_before_anything_runs(lab, page):
    """What a Binder visitor sees first: the stored outputs, and each widget as its static picture.

    The notebook is untrusted when freshly opened, so JupyterLab shows a widget output's safe form,
    the (sanitized) ``text/html`` picture of the form's state, rather than the widget, until the cells
    run. No saved widget state is needed for that, which is why ``make notebooks`` drops it.
    """
    from playwright.sync_api import expect

    open_notebook(page, lab, "02-readiness.ipynb", kernel=False)
    picture = page.locator(".octopus-picture").last
    expect(picture).to_be_attached(timeout=STEP_TIMEOUT_MS)
    expect(picture).to_contain_text("A picture of this form when the cell ran")
    expect(picture).to_contain_text("octopus is ready")
    picture.scroll_into_view_if_needed()
    _shot(page, "08-opened-before-running.png")
    assert page.get_by_text("Error displaying widget").count() == 0
    assert page.locator(".jp-OutputArea-output").count() >= 10  # the stored outputs are all there


def test_the_history_table_reads_well_at_jupyterlabs_default_width(lab, browser):
    """The quickstart run in JupyterLab at a laptop's width: one line per call, nothing cut off.

    Latency in milliseconds, ids shortened (whole on hover), bodies folded: each row fits one line
    and the table fits the output area, so nobody scrolls sideways to read a call.
    """
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        open_notebook(page, lab, "01-quickstart.ipynb")
        run_all_cells(page)
        table = page.locator("table.octopus-history").last
        expect(table).to_be_visible(timeout=STEP_TIMEOUT_MS)
        table.scroll_into_view_if_needed()
        _shot(table, "09-history-table.png")
        rows = table.locator("tbody tr")
        assert rows.count() == 4 and "ms" in rows.first.inner_text()
        heights = [rows.nth(i).bounding_box()["height"] for i in range(rows.count())]
        header = table.locator("thead tr").bounding_box()["height"]
        assert max(heights) <= header * 1.5, heights  # one line per call (bodies folded)
        area = table.locator("xpath=ancestor::div[contains(@class, 'jp-OutputArea-output')]").first
        assert table.bounding_box()["width"] <= area.bounding_box()["width"] + 1  # no sideways scrolling
        rows.first.locator("summary").click()
        expect(rows.first.locator("pre").first).to_contain_text('"amount": 1000')
        _shot(table, "10-history-table-opened.png")
    finally:
        context.close()


#: A one-cell notebook: an explorer with Rewind and Branch, its payment confirmed from code.
BRANCH_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "branches",
            "metadata": {},
            "outputs": [],
            "source": (
                "import octopus_nb\n"
                "from octopus_nb.ui import FlowExplorer\n"
                "explorer = FlowExplorer(octopus_nb.connect(seed=7), rewind=True)\n"
                "explorer.create(amount=1000, currency='HKD', reference='ORD-BRANCH-1')\n"
                "explorer.confirm()\n"
                "explorer"
            ),
        }
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def test_three_outcomes_of_one_payment_with_the_customers_buttons_and_branch(lab, page):
    from browser_support import assert_accessible
    from playwright.sync_api import expect

    # Written through the server's contents API into its temporary root (never into notebooks/).
    put = requests.put(
        f"{lab}/api/contents/branches.ipynb", params={"token": TOKEN}, json={"type": "notebook", "content": BRANCH_NOTEBOOK}, timeout=10
    )
    assert put.status_code in (200, 201), put.text
    open_notebook(page, lab, "branches.ipynb")
    run_all_cells(page)
    app = page.locator(".octopus-explorer")
    expect(app.locator(".octopus-explorer-payment-status")).to_have_text("Pending", timeout=STEP_TIMEOUT_MS)
    branch, diagram = app.locator("button.octopus-explorer-branch"), app.locator(".octopus-explorer-diagram")
    expect(branch).to_be_disabled()  # no customer's choice yet: nothing to branch from

    app.locator("button.octopus-explorer-next-customer").click()
    for number, (button, outcome) in enumerate((("approve", "Captured"), ("decline", "Declined"), ("expire", "Expired")), start=1):
        app.locator(f"button.octopus-explorer-{button}").click()
        expect(app.locator(".octopus-outcome-status")).to_have_text(outcome, timeout=STEP_TIMEOUT_MS)
        expect(diagram).to_contain_text(f"branch {number}: {outcome} (current)")
        if number < 3:
            expect(branch).to_be_enabled()
            branch.click()
            expect(app.locator(".octopus-explorer-payment-status")).to_have_text("Pending", timeout=STEP_TIMEOUT_MS)
            expect(diagram.locator("g.node.current")).to_have_attribute("data-state", "Pending")
            expect(branch).to_be_disabled()
            # back where the customer chose: the customer step, its buttons ready for another outcome
            expect(app.locator(".octopus-explorer-steps button.mod-active")).to_have_text("5 Customer")
    for label in ("branch 1: Captured — approve", "branch 2: Declined — decline", "branch 3: Expired (current) — expire"):
        expect(diagram).to_contain_text(label)
    expect(diagram.locator("g.edge.branch")).to_have_count(2)
    expect(app.locator(".octopus-explorer-error")).to_have_text("")
    app.scroll_into_view_if_needed()
    _shot(app, "11-branches.png")
    assert_accessible(page, "explorer-branches", context=".octopus-explorer")
