"""MkDocs hook: the README and the notebooks become pages from where they live in the repository.

The README is the home page, ``notebooks/README.md`` the notebooks' index and every
``notebooks/*.ipynb`` a page rendered by mkdocs-jupyter from its stored outputs. Adding them here,
before mkdocs-jupyter looks at the files (higher priority runs first), keeps one copy of each.
"""

from __future__ import annotations

from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parent.parent


@event_priority(100)
def on_files(files, config):
    # Real files under src_dir=ROOT (not File.generated): mkdocs-jupyter's wrapper recomputes
    # abs_src_path from src_dir, which a generated file does not have. README.md is served as index.
    pages = ["README.md", "notebooks/README.md"]
    pages += [f"notebooks/{nb.name}" for nb in sorted((ROOT / "notebooks").glob("*.ipynb"))]
    for src_uri in pages:
        files.append(File(src_uri, src_dir=str(ROOT), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    return files
