"""MkDocs hook: pages that live outside ``docs/`` join the site from where they are in the repository.

The README is the home page, ``notebooks/README.md`` the notebooks' index, every
``notebooks/*.ipynb`` a page rendered by mkdocs-jupyter from its stored outputs, and
``bench/README.md`` the page on how each benchmark figure is taken. Adding them here, before
mkdocs-jupyter looks at the files (higher priority runs first), keeps one copy of each.

Links are written for the repository, so they work on GitHub: the README links
``docs/sandbox.md``, a page in ``docs/`` links ``../notebooks/README.md``. On the site ``docs/``
is the root, so each relative link is mapped from the repository's layout to the site's before
MkDocs checks it; a link to a file that is not a page is left as written, and the strict build
fails on it (mkdocs.yml's ``validation``).
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent
#: under "mkdocs.", so a warning fails the strict build
log = logging.getLogger("mkdocs.hooks.links")
DOCS = "docs/"
#: the nav entry that the hook fills with the index and every notebook (mkdocs.yml names it once)
NOTEBOOKS_NAV = "notebooks/README.md"
#: a Markdown link or image target: ](path#anchor "title"); absolute URLs and bare anchors don't match
LINK = re.compile(r'(\]\()(?![a-z][a-z0-9+.-]*:|/|#)([^)\s#]+)((?:#[^)\s]*)?(?:\s+"[^"]*")?\))')
FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r'<h[1-6][^>]*\bid="([^"]+)"[^>]*>(.*?)</h[1-6]>', re.DOTALL)


def outside_pages() -> list[str]:
    """The pages that live outside docs/, by their path in the repository (their path on the site too)."""
    notebooks = [f"notebooks/{nb.name}" for nb in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    return ["README.md", "notebooks/README.md", *notebooks, "bench/README.md"]


def on_config(config):
    # One nav entry names the notebooks' index; the notebooks themselves are whatever notebooks/ holds.
    notebooks = [page for page in outside_pages() if page.endswith(".ipynb")]

    def fill(items: list) -> None:
        for index, item in enumerate(items):
            if isinstance(item, dict):
                ((title, value),) = item.items()
                if value == NOTEBOOKS_NAV:
                    items[index] = {title: [NOTEBOOKS_NAV, *notebooks]}
                elif isinstance(value, list):
                    fill(value)

    fill(config.nav or [])
    return config


@event_priority(100)
def on_files(files, config):
    # Real files under src_dir=ROOT (not File.generated): mkdocs-jupyter's wrapper recomputes
    # abs_src_path from src_dir, which a generated file does not have. README.md is served as index.
    for src_uri in outside_pages():
        files.append(File(src_uri, src_dir=str(ROOT), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    return files


def site_path(repo_path: str) -> str | None:
    """Where a file of the repository is on the site (its src_uri), or None if it is not a page."""
    if repo_path.startswith(DOCS) and (ROOT / repo_path).is_file():
        return repo_path[len(DOCS):]
    return repo_path if repo_path in outside_pages() else None


def on_page_markdown(markdown, page, config, files):
    src_uri = page.file.src_uri
    if not src_uri.endswith(".md"):
        return markdown  # notebooks are rendered by mkdocs-jupyter from the .ipynb
    in_docs = Path(page.file.abs_src_path).resolve().is_relative_to(ROOT / "docs")
    repo_dir = posixpath.dirname(DOCS + src_uri if in_docs else src_uri)

    def relink(match: re.Match) -> str:
        repo_path = posixpath.normpath(posixpath.join(repo_dir, match[2]))
        target = site_path(repo_path)
        if target is None:
            # even where the same path happens to be a page of the site, the link is broken on GitHub
            log.warning("%s links %s, which is not a page (%s in the repository)", src_uri, match[2], repo_path)
            return match[0]
        return match[1] + posixpath.relpath(target, posixpath.dirname(src_uri) or ".") + match[3]

    # code blocks are shown as written
    pieces, last = [], 0
    for fence in FENCE.finditer(markdown):
        pieces += [LINK.sub(relink, markdown[last:fence.start()]), fence[0]]
        last = fence.end()
    return "".join(pieces + [LINK.sub(relink, markdown[last:])])


def _words(markup: str) -> list[str]:
    return re.findall(r"\w+", re.sub(r"<[^>]+>", " ", markup).lower())


def _within(words: list[str], heading: list[str]) -> bool:
    """True when ``words`` appear in ``heading`` in order, maybe with others between (the code)."""
    rest = iter(heading)
    return all(word in rest for word in words)


def on_page_content(html, page, config, files):
    # mkdocs-jupyter's table of contents slugs a heading without its code ("Android: `octopus_uri`"
    # → #android) while nbconvert's heading keeps it (#android-octopus_uri): point each such entry
    # at its heading: the next one in the page whose words hold the entry's title in order.
    if not page.file.src_uri.endswith(".ipynb"):
        return html
    headings = [(anchor, _words(text)) for anchor, text in HEADING.findall(html)]
    ids = {anchor for anchor, _ in headings}
    position = 0

    def walk(items) -> None:
        nonlocal position
        for item in items:
            if item.id in ids:
                position = next(i for i, (anchor, _) in enumerate(headings) if anchor == item.id)
            else:
                title = _words(item.title)
                found = next((i for i in range(position, len(headings)) if _within(title, headings[i][1])), None)
                if title and found is not None:
                    item.id, position = headings[found][0], found
            walk(item.children)

    walk(page.toc)
    return html
