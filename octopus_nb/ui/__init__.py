"""The notebook UI: a flow controller with no widgets, and two views over it.

- :class:`Flow` (``ui/flow.py``): the flow's state and operations; no ipywidgets.
- :class:`PaymentForm` (``ui/form.py``) and :class:`FlowExplorer` (``ui/explorer.py``): ipywidgets
  views, layout and bindings only. ``ui/diagram.py`` draws the state diagram (SVG); ``ui/templates/``
  holds the HTML panels and their one stylesheet.

The views load lazily, so ``import octopus_nb.ui.flow`` never imports ipywidgets.

>>> from octopus_nb.ui import FlowExplorer  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

#: public name → the module that defines it (imported on first use)
_HOMES = {"Flow": ".flow", "PaymentForm": ".form", "FlowExplorer": ".explorer"}

__all__ = ["Flow", "FlowExplorer", "PaymentForm"]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_HOMES[name], __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
