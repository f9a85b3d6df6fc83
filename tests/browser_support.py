"""Helpers for the customer's-journey browser tests: two devices, side-by-side screenshots, axe audits.

- :func:`desktop_context` / :func:`phone_context`: a 1280×800 desktop and a 390×844 touch phone with
  a mobile user agent, in the same (Debian) Chromium.
- :class:`Journey`: one desktop page and one phone page; :meth:`Journey.shot` saves both, side by
  side, as ``artifacts/journey-<step>.png``.
- :func:`wait_for_outcome`: wait until a page is on the merchant's success/failure/return URL
  carrying ``cko-payment-id``, and say how long it took.
- :func:`axe_violations` / :func:`assert_accessible`: axe-core (through ``axe-playwright-python``)
  on the page as it is; the full results go to ``artifacts/axe-<name>.json``.
- :func:`measure_journey`: Pay on the phone → the desktop on the merchant's page, N times; median
  and max. A measurement, not a test: ``.venv/bin/python tests/browser_support.py --runs 20``.
"""

from __future__ import annotations

import io
import json
import os
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[1]
#: git-ignored: screenshots and axe results for a person to look at
ARTIFACTS = ROOT / "artifacts"

DESKTOP = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1}
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "user_agent": ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"),
}
#: the issue's promise: the desktop is on the merchant's page within this long after Pay
ARRIVAL_SECONDS = 5.0
#: axe impacts that fail a test (minor and moderate ones are recorded in the JSON, not failed)
FAILING_IMPACTS = ("serious", "critical")
#: every composed screenshot is scaled to this height, so a desktop and a phone sit side by side
PANEL_HEIGHT = 844
LABEL_HEIGHT = 34


def desktop_context(browser, **options: Any):
    """A desktop browser window, 1280×800 (``java_script_enabled=False`` for the no-script case)."""
    return browser.new_context(**{**DESKTOP, **options})


def phone_context(browser, **options: Any):
    """A phone, 390×844, touch, mobile user agent: where the (simulated) Octopus App runs."""
    return browser.new_context(**{**PHONE, **options})


def route_example_merchant(context) -> None:
    """Answer the conftest's ``https://example.com/...`` redirect URLs inside the browser (offline machine)."""
    context.route(
        "https://example.com/**",
        lambda route: route.fulfill(status=200, content_type="text/html", body="<h1>merchant page</h1>"),
    )


# --- where a page ended up -------------------------------------------------------------------------


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def is_outcome(url: str, expected: str) -> bool:
    """``url`` is ``expected`` (same origin and path, its query kept) with ``cko-payment-id`` added."""
    if _without_query(url) != _without_query(expected):
        return False
    query, wanted = parse_qs(urlsplit(url).query), parse_qs(urlsplit(expected).query)
    return "cko-payment-id" in query and all(query.get(name) == values for name, values in wanted.items())


def payment_id_in(url: str) -> list[str]:
    return parse_qs(urlsplit(url).query).get("cko-payment-id", [])


def wait_for_outcome(page, expected: str, *, seconds: float = ARRIVAL_SECONDS, since: float | None = None) -> float:
    """Wait until ``page`` is on ``expected`` + ``cko-payment-id`` and loaded; return seconds since ``since``.

    Fails (Playwright's TimeoutError) if it is not there within ``seconds`` of ``since`` (default: now).
    """
    since = time.monotonic() if since is None else since
    left_ms = max(1.0, (since + seconds - time.monotonic()) * 1000)
    page.wait_for_url(lambda url: is_outcome(url, expected), timeout=left_ms)
    return time.monotonic() - since


# --- screenshots ----------------------------------------------------------------------------------


def compose(panels: list[tuple[str, bytes]], path: Path) -> Path:
    """Put PNG screenshots side by side, each scaled to one height under its label, into ``path``."""
    from PIL import Image, ImageDraw, ImageFont

    images = []
    for label, png in panels:
        image = Image.open(io.BytesIO(png)).convert("RGB")
        width = round(image.width * PANEL_HEIGHT / image.height)
        images.append((label, image.resize((width, PANEL_HEIGHT), Image.LANCZOS)))
    gap = 16
    total = sum(image.width for _, image in images) + gap * (len(images) + 1)
    canvas = Image.new("RGB", (total, PANEL_HEIGHT + LABEL_HEIGHT + gap), (60, 60, 60))
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=18)
    x = gap
    for label, image in images:
        while len(label) > 4 and draw.textlength(label, font=font) > image.width:
            label = label[:-2] + "…"
        draw.text((x, 8), label, fill=(255, 255, 255), font=font)
        canvas.paste(image, (x, LABEL_HEIGHT))
        x += image.width + gap
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path


@dataclass
class Journey:
    """The customer's two devices: ``desktop`` (the merchant's checkout in a browser) and ``phone``."""

    desktop: Any
    phone: Any
    shots: list[Path] = field(default_factory=list)
    #: console errors and uncaught exceptions on either device (a CSP refusal shows here first)
    errors: list[str] = field(default_factory=list)

    def shot(self, step: str, *, desktop: bool = True, phone: bool = True) -> Path:
        """Screenshot both devices as they are now, side by side, into ``artifacts/journey-<step>.png``."""
        panels = []
        if desktop:
            panels.append((f"desktop: {_path(self.desktop.url)}", _capture(self.desktop)))
        if phone:
            panels.append((f"phone: {_path(self.phone.url)}", _capture(self.phone)))
        path = compose(panels, ARTIFACTS / f"journey-{step}.png")
        self.shots.append(path)
        return path


def _path(url: str) -> str:
    """What a label shows of a URL: its path and query (the loopback origin says nothing)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def single_shot(page, step: str, label: str) -> Path:
    """One device's screenshot, labelled like the journey's, as ``artifacts/journey-<step>.png``."""
    return compose([(f"{label}: {_path(page.url)}", _capture(page))], ARTIFACTS / f"journey-{step}.png")


def _capture(page) -> bytes:
    """A screenshot in CSS pixels: a panel is PANEL_HEIGHT (the phone's 844) tall anyway, and the phone's
    2× capture, only to be scaled down, cost Chromium six times the CPU."""
    return page.screenshot(scale="css")


# --- accessibility ---------------------------------------------------------------------------------


def _axe():
    """axe-playwright-python's runner; missing, a skip here and a failure in CI (like a missing chromium)."""
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        import pytest

        message = "axe-playwright-python is not installed (the browser extra: make lock, then make test)"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    return Axe()


def axe_violations(page, name: str, context: str | None = None) -> list[dict]:
    """Run axe-core on ``page`` as it is; save every violation to ``artifacts/axe-<name>.json``; return them.

    ``context``: a CSS selector to audit only that part (our widget inside JupyterLab, whose own
    chrome is not ours to fix); None audits the whole page.
    """
    results = _axe().run(page, context=context)
    violations = results.response["violations"]
    ARTIFACTS.mkdir(exist_ok=True)
    summary = [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [", ".join(map(str, node["target"])) for node in violation["nodes"]],
            "failure": [node.get("failureSummary", "") for node in violation["nodes"]],
        }
        for violation in violations
    ]
    (ARTIFACTS / f"axe-{name}.json").write_text(json.dumps({"url": page.url, "violations": summary}, indent=2))
    return violations


def describe(violations: list[dict]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at {[', '.join(map(str, n['target'])) for n in v['nodes']]}" for v in violations
    )


def assert_accessible(page, name: str, context: str | None = None) -> None:
    """No serious or critical axe-core violation on ``page``, or its ``context`` (the rest are kept in the JSON)."""
    failing = [v for v in axe_violations(page, name, context) if v["impact"] in FAILING_IMPACTS]
    assert not failing, f"axe-core on {name} ({page.url}):\n{describe(failing)}"


# --- the measurement (not a test) ------------------------------------------------------------------


def measure_journey(runs: int = 20, *, report: Callable[[str], None] = print) -> dict:
    """Pay on the phone → the desktop loaded on the merchant's success page, ``runs`` times; seconds.

    Starts its own sandbox (seed 7), merchant (``WebhookReceiver``) and Chromium; each run is a
    fresh payment, a fresh landing page on the desktop and the app on the phone. The clock starts
    just before the tap on Pay and stops when the desktop has loaded the merchant's page.
    """
    import shutil

    from conftest import CHROMIUM_ARGS, SEED
    from playwright.sync_api import sync_playwright

    import octopus_nb
    from octopus_nb.sandbox import Sandbox

    seconds = []
    with (
        Sandbox(seed=SEED) as sandbox,
        octopus_nb.connect(base_url=sandbox.base_url, secret_key=sandbox.secret_key) as client,
        octopus_nb.WebhookReceiver("measure-journey", client=client) as merchant,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path=shutil.which("chromium"), headless=True, args=CHROMIUM_ARGS)
        try:
            desktop_ctx, phone_ctx = desktop_context(browser), phone_context(browser)
            for run in range(runs):
                setup = octopus_nb.create_payment_setup(
                    client,
                    amount=1000,
                    currency="HKD",
                    reference=f"BENCH-{run:02d}",
                    success_url=merchant.success_url,
                    failure_url=merchant.failure_url,
                )
                payment = octopus_nb.confirm_payment_setup(client, setup["id"])
                desktop, phone = desktop_ctx.new_page(), phone_ctx.new_page()
                desktop.goto(payment["processing"]["landing_url"])
                phone.goto(octopus_nb.app_url(client, payment["processing"]["octopus_uri"]))
                start = time.monotonic()
                phone.locator("#pay").click()
                took = wait_for_outcome(desktop, merchant.success_url, seconds=30, since=start)
                assert payment_id_in(desktop.url) == [payment["id"]]
                seconds.append(took)
                report(f"run {run + 1:2d}: {took:.3f} s")
                desktop.close()
                phone.close()
        finally:
            browser.close()
    figures = {"runs": runs, "median": statistics.median(seconds), "max": max(seconds), "min": min(seconds)}
    report(
        f"Pay → desktop on the merchant's page, {runs} runs: median {figures['median']:.3f} s, "
        f"max {figures['max']:.3f} s (min {figures['min']:.3f} s)"
    )
    return figures


if __name__ == "__main__":
    import argparse
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))  # conftest, when run as a script
    parser = argparse.ArgumentParser(description=measure_journey.__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    measure_journey(parser.parse_args().runs)
