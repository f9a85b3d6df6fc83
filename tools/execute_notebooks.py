"""Re-execute the walkthrough notebooks in place: ``python tools/execute_notebooks.py`` (``make notebooks``).

A development tool: it works only in a checkout (it rewrites ``notebooks/``), so it is not installed
with the package.

Run it after a deliberate change in behaviour, review the diff, commit: nbval then checks that
every later run reproduces these stored outputs. Each notebook runs top to bottom in a fresh
``python3`` kernel (this venv's), with ``notebooks/`` as the working directory, exactly as nbval
runs it. Cells tagged ``raises-exception`` may raise (nbclient honours the tag); any other error
stops with the notebook unchanged. Cells tagged ``skip-execution`` (the ones that need real
Checkout.com credentials) are not run and keep no output.

Normalisation, so that re-running changes only what really changed:

- ``metadata.widgets`` (saved widget state) is dropped. Its model ids are random on every run, so
  keeping it would rewrite the whole blob each time; without it GitHub and nbviewer show a
  widget's text form (``<PaymentForm set_… octopus=ready …>``) instead of drawing it. Run the
  notebook (or open it on Binder) to get live widgets.
- The ``model_id`` in each widget output is replaced by a stable one derived from the notebook
  name and the widget's order (the saved ids point at no saved state anyway).
- Per-cell ``metadata.execution`` timings are dropped; the kernelspec and language info are fixed.

The stored outputs are always the embedded sandbox's (seed 7): ``OCTOPUS_NB_TARGET`` is removed from
the kernel's environment, so a shell that points the notebooks elsewhere cannot change them.

What still changes from run to run is what no seed can fix: the embedded sandbox's loopback port
and request latencies (``notebooks/sanitize.cfg`` masks exactly those for nbval).
"""

from __future__ import annotations

import argparse
import os
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

#: the checkout's notebooks folder
NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
KERNEL_NAME = "python3"
#: seconds a cell may take (the slowest waits on retries with back-off, a few seconds)
CELL_TIMEOUT = 120
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL_NAME}
_MODEL_IDS = uuid.UUID("6f63746f-7075-732d-6e62-2d6e6f746562")  # uuid5 namespace for stable model ids


def notebook_paths(directory: Path = NOTEBOOK_DIR) -> list[Path]:
    """Every notebook in ``notebooks/``, in name order (``01-quickstart.ipynb`` ... ``flow_explorer.ipynb``)."""
    return sorted(directory.glob("*.ipynb"))


def execute(path: Path, timeout: int = CELL_TIMEOUT):
    """Run one notebook top to bottom in a fresh kernel; return the executed, normalised notebook."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL_NAME,
        timeout=timeout,
        allow_errors=False,  # errors are allowed only in cells tagged raises-exception
        record_timing=False,
        store_widget_state=True,  # False crashes nbclient's Output-widget hook (see the testing notes)
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return normalise(notebook, path.stem)


def normalise(notebook, name: str):
    """Drop run-specific metadata and renumber widget model ids (see the module docstring)."""
    notebook.metadata.pop("widgets", None)
    notebook.metadata["kernelspec"] = dict(KERNELSPEC)
    language = notebook.metadata.get("language_info", {})
    notebook.metadata["language_info"] = {
        key: language[key] for key in ("name", "file_extension", "mimetype", "pygments_lexer") if key in language
    }
    count = 0
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        for output in cell.get("outputs", []):
            view = output.get("data", {}).get(WIDGET_VIEW)
            if view is not None:
                count += 1
                view["model_id"] = uuid.uuid5(_MODEL_IDS, f"{name}:{count}").hex
    return notebook


def main(argv: Sequence[str] | None = None) -> int:
    """Execute every notebook (or the ones named) in place; print one line per notebook."""
    import nbformat

    parser = argparse.ArgumentParser(prog="python tools/execute_notebooks.py", description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="notebooks to run (default: all in notebooks/)")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell")
    args = parser.parse_args(argv)
    os.environ.pop("OCTOPUS_NB_TARGET", None)  # the kernel inherits it: stored outputs are the embedded sandbox's
    paths = args.notebooks or notebook_paths()
    if not paths:
        print(f"no notebooks found in {NOTEBOOK_DIR}", file=sys.stderr)
        return 1
    for path in paths:
        executed = execute(path.resolve(), timeout=args.timeout)
        nbformat.write(executed, path)
        print(f"executed {path.name}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
