"""The docs site (``make docs``): built offline from the README, docs/, the docstrings and the notebooks.

One build of the sources as they are, as ``make docs`` runs it (``--strict``), kept in
build/docs-site/ under a digest of everything the build reads: the unit run and the browser run of
``make test`` share it, and a run after a change builds again. Every
notebook gets its page; each page carries the PNGs the notebook stores (the QR codes and any
static picture of a widget, as image/png outputs, inside HTML outputs or as attachments), and
each QR code on a page decodes to a URL the page shows as text. Every public name has its entry
in the API reference, generated from its docstring; no link between pages, and no anchor, is
broken. The README stays a front door: short, linking every page, sharing no paragraph with
them. The browser test opens one page in headless Chromium and screenshots it.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import html
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from conftest import decode_qr

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ARTIFACTS = ROOT / "artifacts" / "docs"
DATA_PNG = re.compile(r'<img\b[^>]*\bsrc="data:image/png;base64,([A-Za-z0-9+/=\s]+)"')
BUILD_SECONDS = 120


#: what the build reads: the pages, the notebooks, the docstrings, the hooks, the pinned versions
BUILD_INPUTS = ("mkdocs.yml", "README.md", "requirements.txt", "docs", "notebooks", "bench/README.md", "octopus_nb")
BUILT = ROOT / "build" / "docs-site"


def _inputs_digest() -> str:
    """A digest of every file the build reads (paths and bytes) and of the Python that runs it."""
    digest = hashlib.sha256(sys.version.encode())
    for name in BUILD_INPUTS:
        path = ROOT / name
        for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if file.is_file() and "__pycache__" not in file.parts and ".ipynb_checkpoints" not in file.parts:
                digest.update(f"\0{file.relative_to(ROOT)}\0".encode() + file.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = BUILT / _inputs_digest()
    if (out / "index.html").exists():
        return out  # built from these very inputs, by this run's other pytest or an earlier one
    building = tmp_path_factory.mktemp("site")
    # not --quiet, as make docs is: a failure then says why
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(building)]
    # The build must not reach the network: no proxy to reach it through, and nothing is executed.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "https_proxy": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=BUILD_SECONDS)
    assert done.returncode == 0, f"mkdocs build failed:\n{done.stdout}\n{done.stderr}"
    shutil.rmtree(BUILT, ignore_errors=True)  # older builds: only the latest is kept
    BUILT.mkdir(parents=True, exist_ok=True)
    try:
        building.rename(out)  # whole or not at all; index.html is what marks a build done
    except OSError:  # the other pytest of the run finished the same build first
        return out if (out / "index.html").exists() else building
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
    shown = html.unescape(re.sub(r"<[^>]+>", "", home))
    assert "Two commands" in shown and "make test" in shown and "Where to go next" in shown
    assert 'href="notebooks/index.html"' in home  # the README's link to notebooks/README.md
    assert 'href="sandbox.html"' in home  # its link to docs/sandbox.md, mapped by the hook
    assert 'href="reference/toolkit.html"' in home


README = ROOT / "README.md"
#: a quarter of the 43 KB README that carried the whole reference
README_MAX_BYTES = 11_000
#: the pages written in docs/ (the API reference under docs/reference/ is reached from its first page)
DOC_PAGES = sorted(path.name for path in (ROOT / "docs").glob("*.md"))


def test_the_readme_is_a_front_door():
    """Short, and it links every page of docs/, so a new page is not one nobody finds."""
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes: reference text belongs in docs/"
    linked = set(re.findall(r"\]\(docs/([\w-]+\.md)", README.read_text()))
    assert not set(DOC_PAGES) - linked, "README.md's 'Where to go next' misses a page"


def test_every_page_is_in_the_nav():
    """A page of docs/ missing from mkdocs.yml's nav is built but reachable only by a link."""
    import yaml

    def pages(items) -> list[str]:
        found = []
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            found += pages(value) if isinstance(value, list) else [value]
        return found

    nav = pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"])
    written = {str(path.relative_to(ROOT / "docs")) for path in (ROOT / "docs").rglob("*.md")}
    assert not written - set(nav), "pages missing from mkdocs.yml's nav"


def _paragraphs(path: Path) -> set[str]:
    """The prose paragraphs of a Markdown file (no code blocks, tables, headings or short lines), normalised."""
    text = re.sub(r"^```.*?^```", "", path.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL)
    paragraphs = (" ".join(block.split()) for block in re.split(r"\n\s*\n", text))
    return {p for p in paragraphs if len(p) >= 80 and not p.startswith(("#", "|", ":::"))}


def test_each_piece_of_text_lives_in_one_place():
    """No paragraph is in two Markdown sources of the site: the README links into the pages instead."""
    sources = [README, ROOT / "notebooks" / "README.md", ROOT / "bench" / "README.md"]
    sources += sorted(ROOT.glob("docs/**/*.md"))
    seen: dict[str, Path] = {}
    for source in (path.relative_to(ROOT) for path in sources):
        for paragraph in _paragraphs(ROOT / source):
            assert paragraph not in seen, f"{source} and {seen[paragraph]} both say: {paragraph[:80]}…"
            seen[paragraph] = source


def _fixtures(module_path: Path) -> list[str]:
    """The functions the module decorates with ``pytest.fixture`` (read statically, as the docs build reads it)."""
    tree = ast.parse(module_path.read_text(encoding="utf-8"))
    return [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d).split("(")[0] in ("pytest.fixture", "fixture") for d in node.decorator_list)
    ]


def _public_names() -> list[tuple[str, object]]:
    """Every public name the reference documents: (the name as imported, the object)."""
    names = []
    for module_name in ("octopus_nb", "octopus_nb.sandbox", "octopus_nb.conformance"):
        module = importlib.import_module(module_name)
        names += [(f"{module_name}.{name}", getattr(module, name)) for name in module.__all__]
    receiver = importlib.import_module("octopus_nb.receiver")
    names.append(("octopus_nb.receiver.WebhookReceiver", receiver.WebhookReceiver))
    plugin = importlib.import_module("octopus_nb.pytest_plugin")
    names += [(f"octopus_nb.pytest_plugin.{name}", getattr(plugin, name)) for name in _fixtures(Path(plugin.__file__))]
    return names


PUBLIC = _public_names()


def test_the_plugin_has_its_fixtures():
    """The fixture scan finds the fixtures (else the reference test below would check none of them)."""
    fixtures = {name.rsplit(".", 1)[1] for name, _ in PUBLIC if name.startswith("octopus_nb.pytest_plugin.")}
    assert {"octopus_sandbox", "octopus_client"} <= fixtures


ROLE = re.compile(r":\w+:`(~?)([\w.]+)`")


def _role_text(match: re.Match) -> str:
    """What a Sphinx role shows: its target, or only the last name after ~ (docs/griffe_markdown.py)."""
    return match[2].rsplit(".", 1)[-1] if match[1] else match[2]


def _letters(text: str) -> str:
    """Text without punctuation and spaces: markup and roles differ from the docstring in those only."""
    return re.sub(r"\W", "", text)


@pytest.mark.parametrize("name, obj", PUBLIC, ids=[name for name, _ in PUBLIC])
def test_every_public_name_has_its_reference_entry(site, name, obj):
    """An entry generated from the docstring: a heading with the name's anchor, its docstring's first line under it."""
    canonical = f"{getattr(obj, '__module__', '')}.{getattr(obj, '__qualname__', '')}"
    for page in sorted((site / "reference").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        anchor = next((a for a in (name, canonical) if f'id="{a}"' in text), None)
        if anchor:
            break
    else:
        pytest.fail(f"{name} has no entry in the API reference (docs/reference/*.md)")
    start = text.index(f'id="{anchor}"')
    following = text.find('class="doc doc-heading"', text.index(">", start))  # the next entry
    entry = text[start : following if following > 0 else None]
    doc = None if isinstance(obj, str) else getattr(obj, "__doc__", None)
    if doc:  # plain values (DEFAULT_SECRET_KEY) carry no docstring of their own
        first_line = ROLE.sub(_role_text, doc.strip().splitlines()[0])
        shown = _letters(html.unescape(re.sub(r"<[^>]+>", "", entry)))
        assert _letters(first_line) in shown, f"{name}: its entry does not show its docstring ({first_line!r})"


def test_the_reference_reads_as_markdown(site):
    """No Sphinx role is shown as text and every >>> example is a code block (docs/griffe_markdown.py)."""
    for page in sorted((site / "reference").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        prose = re.sub(r"<pre\b.*?</pre>", "", text, flags=re.DOTALL)
        assert not re.search(r":(?:func|meth|class|exc|attr|data|mod|obj):", prose), f"{page.name}: a role shown as text"
        assert "&gt;&gt;&gt;" not in prose and "<blockquote>" not in prose, f"{page.name}: an example outside a code block"
        assert "# doctest:" not in text, f"{page.name}: doctest flags shown"


class _Links(HTMLParser):
    """A page's ids, and the targets of its links and images (tags only: code shown as text is not a link)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        self.targets += [attributes[name] for name in ("href", "src") if attributes.get(name)]


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_no_internal_link_is_broken(site):
    """Every relative href and src on every page names a file of the site, and an id on it when it has an anchor.

    The theme's 404 page links from the site's root (``/assets/...``), as a server answers it for any path.
    """
    pages = {page: _parse(page) for page in sorted(site.rglob("*.html"))}
    broken = []
    for page, links in pages.items():
        for target in links.targets:
            parts = urlsplit(target)
            if parts.scheme or parts.netloc:
                continue
            base = site if parts.path.startswith("/") else page.parent
            path = (base / unquote(parts.path).lstrip("/")).resolve() if parts.path else page
            if path.is_dir():
                path = path / "index.html"
            if not path.is_file():
                broken.append(f"{page.relative_to(site)}: {target} (no such file)")
            elif parts.fragment and path.suffix == ".html":
                if unquote(parts.fragment) not in pages[path].ids:
                    broken.append(f"{page.relative_to(site)}: {target} (no such anchor)")
    assert not broken, "broken links:\n" + "\n".join(broken)


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
