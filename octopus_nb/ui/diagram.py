"""The Octopus flow as a state diagram, drawn as SVG: where a payment is, and how it got there.

:func:`flow_diagram_svg` is a pure function of its two arguments. The layout is fixed, numbers are
formatted the same way every time and there are no ids (no ``<marker id=...>``: arrowheads are
plain polygons), so the same state gives byte-identical SVG and several diagrams can share a page.
nbval compares ``image/svg+xml`` byte for byte; this makes that comparison meaningful.

The states (CONTRACT.md §3-§4)::

    start ─create─▶ setup not ready ◀─update─▶ setup ready ─confirm─▶ Pending
    Pending ─approve─▶ Captured ─refund─▶ Partially Refunded ─refund─▶ Refunded
    Pending ─decline─▶ Declined;  Pending ─capture fails─▶ Declined;  Pending ─lapse─▶ Expired;
    Declined, Expired ─confirm again─▶ Pending (new payment)
"""

from __future__ import annotations

import html
import math

#: Every state the diagram draws, in flow order. ``not_ready`` covers the readiness statuses
#: ``action_required``, ``invalid``, ``unavailable`` and ``initialization_required``.
STATES = (
    "start",
    "not_ready",
    "ready",
    "Pending",
    "Captured",
    "Declined",
    "Expired",
    "Partially Refunded",
    "Refunded",
)

#: state → (label, centre x, centre y) in the 880 × 250 drawing
_NODES = {
    "start": ("No setup yet", 72, 125),
    "not_ready": ("Setup not ready", 252, 55),
    "ready": ("Setup ready", 252, 195),
    "Pending": ("Pending", 432, 125),
    "Captured": ("Captured", 622, 45),
    "Declined": ("Declined", 622, 125),
    "Expired": ("Expired", 622, 205),
    "Partially Refunded": ("Partially Refunded", 812, 125),
    "Refunded": ("Refunded", 812, 45),
}
_WIDTH, _HEIGHT = 880, 250
_NODE_W, _NODE_H = 124, 38

#: (from, to, label, label dx, label dy, end shift x, end shift y): the edges, all straight. A pair
#: of opposite edges (update; decline / confirm again) is drawn as two parallel lines via the shift.
_EDGES = (
    ("start", "not_ready", "create", -36, -4, 0, 0),
    ("start", "ready", "create", -36, 14, 0, 0),
    ("not_ready", "ready", "update", -40, 4, -12, 0),
    ("ready", "not_ready", "update", 6, 4, 12, 0),
    ("ready", "Pending", "confirm", 8, 16, 0, 0),
    ("Pending", "Captured", "approve", -44, -6, 0, 0),
    ("Pending", "Declined", "decline / capture fails", -53, -21, 0, -7),
    ("Declined", "Pending", "confirm again", -32, 15, 0, 7),
    ("Pending", "Expired", "lapse", 20, 0, 3, -6),
    ("Expired", "Pending", "confirm again", -68, 16, -3, 6),
    ("Captured", "Refunded", "refund all", -22, -6, 0, 0),
    ("Captured", "Partially Refunded", "refund part", -66, 14, 0, 0),
    ("Partially Refunded", "Refunded", "refund rest", 6, 4, 0, 0),
)

_BLUE, _PALE_BLUE, _GREY, _PALE, _TEXT = "#1565c0", "#e3f2fd", "#9e9e9e", "#fafafa", "#424242"
_EDGE_GREY = "#bdbdbd"


def _num(value: float) -> str:
    # One decimal, never "-0.0": the same coordinates always print the same way.
    text = f"{value:.1f}"
    text = "0.0" if text == "-0.0" else text
    return text[:-2] if text.endswith(".0") else text


def _check(state: str) -> str:
    if state not in _NODES:
        raise ValueError(f"Unknown flow state {state!r}: use one of {', '.join(map(repr, STATES))}.")
    return state


def _border_point(state: str, toward_x: float, toward_y: float, dx: float, dy: float) -> tuple[float, float]:
    """Where a line from the node's centre shifted by (dx, dy), toward a point, leaves the node's box."""
    _, cx, cy = _NODES[state]
    px, py = cx + dx, cy + dy
    vx, vy = toward_x - px, toward_y - py
    limits = []
    if vx:
        limits.append((cx + math.copysign(_NODE_W / 2, vx) - px) / vx)
    if vy:
        limits.append((cy + math.copysign(_NODE_H / 2, vy) - py) / vy)
    if not limits:
        return px, py
    t = min(limits)
    return px + vx * t, py + vy * t


def _arrowhead(tip_x: float, tip_y: float, from_x: float, from_y: float, colour: str) -> str:
    angle = math.atan2(tip_y - from_y, tip_x - from_x)
    points = [(tip_x, tip_y)]
    for side in (-1, 1):
        points.append(
            (tip_x - 9 * math.cos(angle) + side * 4.5 * math.sin(angle), tip_y - 9 * math.sin(angle) - side * 4.5 * math.cos(angle))
        )
    coords = " ".join(f"{_num(x)},{_num(y)}" for x, y in points)
    return f'<polygon points="{coords}" fill="{colour}"/>'


def _taken(path: list[str]) -> set[tuple[str, str]]:
    return {(a, b) for a, b in zip(path, path[1:]) if a != b}


def flow_diagram_svg(current: str, path: list[str]) -> str:
    """The flow's state diagram as an SVG document (a string), ``current`` highlighted.

    ``path`` is the states visited so far, oldest first (e.g. ``["start", "ready", "Pending"]``):
    those nodes are outlined and the edges between consecutive entries drawn thick. Both use the
    names in :data:`STATES`. Pure and deterministic: fixed layout, no ids, no randomness.

    >>> svg = flow_diagram_svg("Pending", ["start", "ready", "Pending"])
    >>> svg.startswith("<svg") and 'class="node current"' in svg
    True

    Raises:
        ValueError: ``current`` or an entry of ``path`` is not one of :data:`STATES`.
    """
    _check(current)
    path = [_check(state) for state in path]
    visited, taken = set(path) | {current}, _taken(path)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {_HEIGHT}" width="{_WIDTH}" '
        f'height="{_HEIGHT}" class="octopus-flow-diagram" font-family="sans-serif" font-size="12">',
        f"<title>Octopus payment flow; current state: {html.escape(_NODES[current][0])}</title>",
    ]
    for source, target, label, ldx, ldy, shift_x, shift_y in _EDGES:
        on_path = (source, target) in taken
        colour, width = (_BLUE, "2.5") if on_path else (_EDGE_GREY, "1.2")
        _, sx, sy = _NODES[source]
        _, tx, ty = _NODES[target]
        x1, y1 = _border_point(source, tx + shift_x, ty + shift_y, shift_x, shift_y)
        x2, y2 = _border_point(target, sx + shift_x, sy + shift_y, shift_x, shift_y)
        css = "edge taken" if on_path else "edge"
        parts.append(
            f'<g class="{css}"><line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
            f'stroke="{colour}" stroke-width="{width}"/>{_arrowhead(x2, y2, x1, y1, colour)}'
            f'<text x="{_num((x1 + x2) / 2 + ldx)}" y="{_num((y1 + y2) / 2 + ldy)}" '
            f'fill="{colour if on_path else _GREY}" font-size="10">{html.escape(label)}</text></g>'
        )
    for state in STATES:
        label, cx, cy = _NODES[state]
        if state == current:
            css, fill, stroke, stroke_width, text = "node current", _BLUE, _BLUE, "3", "#ffffff"
        elif state in visited:
            css, fill, stroke, stroke_width, text = "node visited", _PALE_BLUE, _BLUE, "2", _BLUE
        else:
            css, fill, stroke, stroke_width, text = "node", _PALE, _GREY, "1", _TEXT
        bold = ' font-weight="bold"' if state == current else ""
        parts.append(
            f'<g class="{css}" data-state="{html.escape(state)}">'
            f'<rect x="{cx - _NODE_W // 2}" y="{cy - _NODE_H // 2}" width="{_NODE_W}" height="{_NODE_H}" rx="8" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"/>'
            f'<text x="{cx}" y="{cy + 4}" text-anchor="middle" fill="{text}"{bold}>{html.escape(label)}</text></g>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
