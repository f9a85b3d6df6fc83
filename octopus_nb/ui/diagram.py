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

Branches (the explorer's *Branch*, :mod:`octopus_nb.ui.timeline`) are drawn over it: each line tried
from a branch point, dashed, its outcome node tagged with the branch's number, and a legend under
the drawing naming each one ("branch 1: Captured"). Text says which is which, not colour alone.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import NamedTuple

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
#: Lines tried on other branches: a dark purple (8:1 on white), always dashed as well.
_BRANCH, _PALE_BRANCH, _DASH = "#6a1b9a", "#f3e5f5", "6 4"
#: The legend's rows under the drawing, one per branch.
_LEGEND_TOP, _LEGEND_ROW = 12, 20


class BranchLine(NamedTuple):
    """One branch to draw: its number, its legend text, the states from its branch point, whether it is the current line."""

    number: int
    label: str
    path: tuple[str, ...]
    current: bool = False


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


def flow_diagram_svg(current: str, path: list[str], branches: Sequence[BranchLine] = ()) -> str:
    """The flow's state diagram as an SVG document (a string), ``current`` highlighted.

    ``path`` is the states visited so far, oldest first (e.g. ``["start", "ready", "Pending"]``):
    those nodes are outlined and the edges between consecutive entries drawn thick. Both use the
    names in :data:`STATES`. Pure and deterministic: fixed layout, no ids, no randomness.

    ``branches`` (:class:`BranchLine`) are the lines tried from a branch point: the edges of those
    not current are dashed, each outcome node carries a tag with the branch numbers, and a legend
    row per branch is added under the drawing. Without branches the SVG is as it always was.

    >>> svg = flow_diagram_svg("Pending", ["start", "ready", "Pending"])
    >>> svg.startswith("<svg") and 'class="node current"' in svg
    True

    Raises:
        ValueError: ``current`` or an entry of ``path`` is not one of :data:`STATES`.
    """
    _check(current)
    path = [_check(state) for state in path]
    for line in branches:
        for state in line.path:
            _check(state)
    visited, taken = set(path) | {current}, _taken(path)
    others = [line for line in branches if not line.current]
    tried = set().union(*(_taken(list(line.path)) for line in others)) - taken
    reached = {line.path[-1] for line in others if line.path} - visited
    height = _HEIGHT + (_LEGEND_TOP + _LEGEND_ROW * len(branches) if branches else 0)
    title = f"Octopus payment flow; current state: {_NODES[current][0]}"
    if branches:
        title += "; branches: " + "; ".join(line.label for line in branches)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_WIDTH} {height}" width="{_WIDTH}" '
        f'height="{height}" class="octopus-flow-diagram" font-family="sans-serif" font-size="12">',
        f"<title>{html.escape(title)}</title>",
    ]
    for source, target, label, ldx, ldy, shift_x, shift_y in _EDGES:
        on_path, on_branch = (source, target) in taken, (source, target) in tried
        colour, width = (_BLUE, "2.5") if on_path else (_BRANCH, "2") if on_branch else (_EDGE_GREY, "1.2")
        _, sx, sy = _NODES[source]
        _, tx, ty = _NODES[target]
        x1, y1 = _border_point(source, tx + shift_x, ty + shift_y, shift_x, shift_y)
        x2, y2 = _border_point(target, sx + shift_x, sy + shift_y, shift_x, shift_y)
        css = "edge taken" if on_path else "edge branch" if on_branch else "edge"
        dash = f' stroke-dasharray="{_DASH}"' if on_branch else ""
        parts.append(
            f'<g class="{css}"><line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
            f'stroke="{colour}" stroke-width="{width}"{dash}/>{_arrowhead(x2, y2, x1, y1, colour)}'
            f'<text x="{_num((x1 + x2) / 2 + ldx)}" y="{_num((y1 + y2) / 2 + ldy)}" '
            f'fill="{colour if on_path or on_branch else _GREY}" font-size="10">{html.escape(label)}</text></g>'
        )
    for state in STATES:
        label, cx, cy = _NODES[state]
        if state == current:
            css, fill, stroke, stroke_width, text = "node current", _BLUE, _BLUE, "3", "#ffffff"
        elif state in visited:
            css, fill, stroke, stroke_width, text = "node visited", _PALE_BLUE, _BLUE, "2", _BLUE
        elif state in reached:
            css, fill, stroke, stroke_width, text = "node branch", _PALE_BRANCH, _BRANCH, "2", _BRANCH
        else:
            css, fill, stroke, stroke_width, text = "node", _PALE, _GREY, "1", _TEXT
        bold = ' font-weight="bold"' if state == current else ""
        dash = f' stroke-dasharray="{_DASH}"' if css == "node branch" else ""
        parts.append(
            f'<g class="{css}" data-state="{html.escape(state)}">'
            f'<rect x="{cx - _NODE_W // 2}" y="{cy - _NODE_H // 2}" width="{_NODE_W}" height="{_NODE_H}" rx="8" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{stroke_width}"{dash}/>'
            f'<text x="{cx}" y="{cy + 4}" text-anchor="middle" fill="{text}"{bold}>{html.escape(label)}</text></g>'
        )
    parts.extend(_branch_tags(branches))
    parts.extend(_legend(branches))
    parts.append("</svg>")
    return "\n".join(parts)


def _branch_tags(branches: Sequence[BranchLine]) -> list[str]:
    """A tag on each outcome node, over its top right corner: the numbers of the branches that ended there."""
    ended: dict[str, list[BranchLine]] = {}
    for line in branches:
        if line.path:
            ended.setdefault(line.path[-1], []).append(line)
    tags = []
    for state in STATES:
        if state not in ended:
            continue
        lines, (_, cx, cy) = ended[state], _NODES[state]
        text = "branch " + ", ".join(str(line.number) for line in lines)
        width = 7 * len(text) + 10
        colour = _BLUE if all(line.current for line in lines) else _BRANCH
        x, y = cx + _NODE_W // 2 - width, cy - _NODE_H // 2 - 9
        tags.append(
            f'<g class="branch-tag" data-outcome="{html.escape(state)}">'
            f'<rect x="{x}" y="{y}" width="{width}" height="16" rx="8" fill="#ffffff" stroke="{colour}"/>'
            f'<text x="{x + width // 2}" y="{y + 12}" text-anchor="middle" fill="{colour}" font-size="10">{text}</text></g>'
        )
    return tags


def _legend(branches: Sequence[BranchLine]) -> list[str]:
    """One row per branch under the drawing: a line sample (solid: current, dashed: tried) and the branch's text."""
    rows = []
    for index, line in enumerate(branches):
        y = _HEIGHT + _LEGEND_TOP + _LEGEND_ROW * index + _LEGEND_ROW // 2
        colour, dash = (_BLUE, "") if line.current else (_BRANCH, f' stroke-dasharray="{_DASH}"')
        css = "branch-legend current" if line.current else "branch-legend"
        rows.append(
            f'<g class="{css}"><line x1="20" y1="{y}" x2="60" y2="{y}" stroke="{colour}" stroke-width="2.5"{dash}/>'
            f'<text x="70" y="{y + 4}" fill="{_TEXT}">{html.escape(line.label)}</text></g>'
        )
    return rows
