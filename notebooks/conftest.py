"""nbval and the notebooks' target (``OCTOPUS_NB_TARGET``): which cells run, which are compared.

nbval collects every code cell as one item. Against a target without the simulator's ``/_sandbox/``
routes (Checkout.com's sandbox), the cells tagged ``simulator-only`` — playing the customer, the
clock, faults, webhook settings, and the cells that need their results — are skipped at collection.
``OCTOPUS_NB_TARGET=sandbox`` is known to have none, so nothing is asked; for a base URL the server
itself is asked once (``GET /_sandbox/stats``), and nobody else.

Cells tagged ``seed-dependent`` show what the simulator's own seeded random stream decided (which
requests an injected fault hit, so how many attempts each call took). They run everywhere and are
compared against the embedded sandbox (seed 7, the stored outputs); another server draws its own.

Only nbval's items are touched, so this file changes nothing for ``pytest tests/``.
"""

from __future__ import annotations

import pytest

SIMULATOR_ONLY = "simulator-only"
SEED_DEPENDENT = "seed-dependent"


def pytest_collection_modifyitems(config, items):  # noqa: ANN001 - pytest's hook signature
    cells = [item for item in items if _is_notebook_cell(item)]
    if not cells:
        return
    from octopus_nb.environments import target_kind

    kind = target_kind()
    if kind != "embedded":
        for item in cells:
            if SEED_DEPENDENT in _tags(item):
                item.options["check"] = False  # run it, but its draws are this server's own
    simulator_cells = [item for item in cells if SIMULATOR_ONLY in _tags(item)]
    if simulator_cells and not _has_simulator(kind):
        reason = "simulator-only: the target has no /_sandbox/ routes (Checkout.com), nobody plays the customer"
        for item in simulator_cells:
            item.add_marker(pytest.mark.skip(reason=reason))


def _is_notebook_cell(item) -> bool:  # noqa: ANN001 - any pytest item
    return type(item).__name__ == "IPyNbCell" and hasattr(item, "cell") and hasattr(item, "options")


def _tags(item) -> set[str]:  # noqa: ANN001 - nbval's IPyNbCell
    return set(item.cell.get("metadata", {}).get("tags", []))


def _has_simulator(kind: str) -> bool:
    """Does the target serve ``/_sandbox/``? Checkout.com never does: it is not asked."""
    if kind == "embedded":
        return True
    if kind == "sandbox":
        return False
    from octopus_nb import NotFoundError, connect_target

    with connect_target() as client:
        if client.is_checkout:  # Checkout.com's own host, given as a URL
            return False
        try:
            client.request("GET", "/_sandbox/stats")
        except NotFoundError:
            return False
    return True
