"""Figures as data for the templates: a network or computation graph to draw with TikZ, and an
activation with its derivative to plot with pgfplots.  Strings and numbers only; the LaTeX of
each label comes from the sheet's notation and number format, like the rest of the sheet.

Everything a template places is placed here, in centimetres, so that it can be checked: each
weight label sits at a chosen fraction `pos` of its edge (measured between the two units'
centres) where its box, estimated from its LaTeX, touches no other label, no unit and no other
edge (a label on a crossing could belong to either edge).  When a layer's labels cannot all be
placed so (past about 3 units on both sides), that layer's edges go unlabelled and its weights
are listed in a table under the figure.  A plot's curves are pieces over sub-domains, so that a
step is drawn as a step, and its y-range is worked out from the curve and the marked points.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from symgrad.calculus.activations import ACTIVATIONS
from symgrad.engine.graph import Graph
from symgrad.output.latex import variable_latex

SPACING = 1.5  # cm between units of a layer (at least; a tall bias label needs more)
LAYER_GAP = 4.2  # cm between layers (at least; wide weight labels need more)
WIDTH = 14.0  # cm: the widest a network is drawn (a part's line holds about 15)
HEIGHT = 9.0  # cm: the tallest a layer is drawn, unless its bias labels need more
FAN = 0.6  # cm more between layers for each unit past 2 in the largest layer
RISE = 0.25  # cm more between units of a layer, likewise
MAX_COLUMN = 5  # variables in one column of a computation graph's figure
INK = "black"  # the colour of every label: read on paper, not guessed at
EDGE = "black!55"  # the colour of an edge that is not on a highlighted path
LABEL_PT = 8.0  # \footnotesize: the size of weight and bias labels
UNIT_PT = 10.95  # \normalsize in an 11pt document: the size of the units' names
UNIT_SIZE = 0.9  # cm: a unit's minimum diameter (minimum size=9mm)
INNER_SEP_PT = 1.0  # inner sep of a label and of a unit
GAP = 0.08  # cm: the least clearance between a label and anything else
CLEAR = 0.15  # cm: the least clearance between a weight label and a unit
ARROW = 0.3  # cm: an arrowhead's length, kept clear round the units that edges point into
POSITIONS = tuple(round(0.15 + 0.025 * k, 3) for k in range(27))  # 0.15 .. 0.8: where a label may sit
SEARCH = 400  # steps of the search for label positions before a layer's weights go in a table
DENSE = 15  # more edges than this between two layers (4 × 4) are never labelled apart: a table
PREFERRED = 0.3  # near the edge's source, as a hand-drawn figure puts it (other things equal)
PT = 2.54 / 72.27  # cm in a TeX point


# --- networks -------------------------------------------------------------------------------------


def network_figure(
    graph: Graph, activations: Sequence[str], names: Mapping[str, str], value: Callable[[Any], str],
    highlight: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> dict[str, Any]:
    """Units in layers (inputs, hidden, outputs) with weight-labelled edges and bias labels.

    `highlight` holds (parent, child) pairs of graph names, as `chain_edges` gives them: an edge
    is red when its chain-rule factors (a → z → unit, or its weight W → z) are on a path.
    """
    depth = len(activations)
    layers: list[list[str]] = [[n.name for n in graph.nodes if n.kind == "input"]]
    for l in range(1, depth + 1):
        units = [n.name for n in graph.nodes if n.kind == "preactivation" and n.name.startswith(f"z{l}[")]
        layers.append([unit_of(z, depth) for z in units])
    layer_of = {unit: l for l, units in enumerate(layers) for unit in units}
    radius = max(unit_radius(names[unit]) for units in layers for unit in units)

    edges: list[dict[str, Any]] = []
    biases: list[dict[str, Any]] = []
    for node in graph.nodes:
        if node.kind != "preactivation":
            continue
        unit = unit_of(node.name, depth)
        for parent in node.partials:
            source = graph.by_symbol[parent]
            if source.kind == "weight":
                (origin,) = [graph.by_symbol[p].name for p in node.partials
                             if node.partials[p] == source.symbol]
                # on a path through the unit, or the weight's own factor ∂z/∂w
                on_path = (origin, node.name) in highlight or (source.name, node.name) in highlight
                edges.append({"from": node_id(origin), "to": node_id(unit), "weight": source.name,
                              "source": origin, "target": unit, "layer": layer_of[unit],
                              "label": weight_label(graph, source.name, names, value),
                              "highlight": on_path})
            elif source.kind == "bias":
                label = weight_label(graph, source.name, names, value)
                biases.append({"unit": unit, "bias": source.name,
                               "label": label if label.startswith("-") else f"+{label}",
                               "highlight": (source.name, node.name) in highlight})

    # Geometry: room for the tallest bias label between two units of a layer, and for the
    # widest weight label between two layers.
    bias_height = max((label_size(b["label"])[1] for b in biases), default=0.0)
    crowd = max(len(units) for units in layers)  # more units a layer: more edges to cross
    roomy = min(SPACING + RISE * max(crowd - 2, 0), max(SPACING, HEIGHT / max(crowd - 1, 1)))
    spacing = round(max(roomy, 2 * radius + bias_height + 3 * GAP), 2)
    widest = max((label_size(e["label"])[0] for e in edges), default=0.0)
    wanted = max(LAYER_GAP + FAN * max(crowd - 2, 0), round(2 * radius + 3.2 * widest, 2))
    gap = round(min(wanted, max(LAYER_GAP, WIDTH / depth)), 2)
    lit = {name for pair in highlight for name in pair}  # the units a chain-rule path runs through
    nodes, where = [], {}
    for l, units in enumerate(layers):
        top = (len(units) - 1) * spacing / 2
        for k, unit in enumerate(units):
            xy = (round(l * gap, 3), round(top - k * spacing, 3))
            where[unit] = xy
            nodes.append({"ref": node_id(unit), "name": unit, "xy": xy, "at": coordinate(xy),
                          "radius": radius, "diameter": f"{2 * radius:.3g}", "label": names[unit],
                          "kind": "input" if l == 0 else "unit", "highlight": unit in lit})
    for e in edges:
        e["a"], e["b"] = where[e["source"]], where[e["target"]]
        e["size"] = label_size(e["label"])
    place_biases(biases, where, radius, [(e["a"], e["b"]) for e in edges])

    tables = []
    for l in range(1, depth + 1):
        layer_edges = [e for e in edges if e["layer"] == l]
        if not place_labels(layer_edges, edges, nodes, biases):
            for e in layer_edges:  # too dense to label: the weights go in a table instead
                e["pos"], e["xy"], e["at"] = None, None, None
            tables += weight_tables(layer_edges, names)
    return {"kind": "network", "nodes": nodes, "edges": edges, "biases": biases,
            "tables": tables, "ink": INK, "edge_colour": EDGE, "redraw": True,
            "activations": [activation_label(a) for a in activations]}


def place_biases(
    biases: list[dict[str, Any]], where: Mapping[str, tuple[float, float]], radius: float,
    segments: list[tuple[tuple[float, float], tuple[float, float]]],
) -> None:
    """Each bias label just above its unit, clear of it; or, when an edge runs through that
    spot (a steep edge in a tall layer), up to the right or below, if one of those is free."""
    placed: list[Box] = []
    for b in biases:
        x, y = where[b["unit"]]
        w, h = b["size"] = label_size(b["label"])
        lift = radius + GAP + h / 2
        spots = [(x, y + lift), (x + radius * 0.75 + w / 2, y + radius * 0.75 + h / 2), (x, y - lift)]
        units = [(xy, radius) for xy in where.values()]

        def clear(xy: tuple[float, float]) -> bool:  # of the units and the other bias labels
            there = box(xy, (w, h))
            return (all(circle_clearance(c, r, there) >= GAP - 1e-9 for c, r in units)
                    and all(box_clearance(there, p) >= GAP for p in placed))

        def uncrossed(xy: tuple[float, float]) -> bool:
            return all(segment_clearance(s, box(xy, (w, h))) > 0 for s in segments)

        xy = next((spot for spot in spots if clear(spot) and uncrossed(spot)),
                  next((spot for spot in spots if clear(spot)), spots[0]))
        b["xy"] = (round(xy[0], 3), round(xy[1], 3))
        b["at"] = coordinate(b["xy"])
        placed.append(box(b["xy"], (w, h)))


def place_labels(
    layer_edges: list[dict[str, Any]], edges: list[dict[str, Any]], nodes: list[dict[str, Any]],
    biases: list[dict[str, Any]],
) -> bool:
    """Choose each edge's `pos` so that no two labels meet: False when some label has no room.

    The rules: a label's box keeps GAP clear of every unit (and the arrowheads into it), every
    bias label and every other label, and no other edge runs through it (on a crossing a label
    could be read as either edge's).  Among the positions that keep them, those with room to
    the other labels and to edges not sharing a unit come first, then those near the source.
    A small search (the edge with the fewest positions left first, backing up when one has
    none) finds positions for all, or gives up after SEARCH steps.
    """
    mine = {id(e) for e in layer_edges}
    fixed = [box(b["xy"], b["size"]) for b in biases]
    fixed += [box(e["xy"], e["size"]) for e in edges if e.get("xy") and id(e) not in mine]
    segments = [(e["a"], e["b"]) for e in edges]
    # a unit's arrowheads are part of it: no label sits on the tips of the edges it receives
    circles = [(n["xy"], n["radius"] + (ARROW if n["kind"] == "unit" else 0.0)) for n in nodes]

    def spots(e: dict[str, Any]) -> list[tuple[float, float, Box]]:
        """(score, t, box) of each position that no unit, bias, fixed label or edge rules out."""
        out = []
        for t in POSITIONS:
            b = box(along(e["a"], e["b"], t), e["size"])
            if any(circle_clearance(c, r, b) < CLEAR for c, r in circles):
                continue
            room = min((box_clearance(b, p) for p in fixed), default=9.0)
            if room < GAP:
                continue
            near = [(segment_clearance(s, b), not {e["a"], e["b"]} & set(s))
                    for s in segments if s != (e["a"], e["b"])]
            if any(d < GAP / 2 for d, _ in near):
                continue
            # edges sharing a unit fan out from it anyway: only the others count for room
            edge_room = min((d for d, unrelated in near if unrelated), default=9.0)
            score = 0.3 * abs(t - PREFERRED) - min(edge_room, 0.2) - min(room, 0.3)
            out.append((round(score, 6), t, b))
        return sorted(out)

    if len(layer_edges) > DENSE:
        return False
    choices = {id(e): spots(e) for e in layer_edges}
    chosen: dict[int, tuple[float, Box]] = {}
    steps = 0

    def search() -> bool:
        nonlocal steps
        steps += 1
        if steps > SEARCH:
            return False
        left = [e for e in layer_edges if id(e) not in chosen]
        if not left:
            return True
        taken = [b for _, b in chosen.values()]
        free = {id(e): [(s, t, b) for s, t, b in choices[id(e)]
                        if all(box_clearance(b, p) >= GAP for p in taken)] for e in left}
        e = min(left, key=lambda e: len(free[id(e)]))
        for _, t, b in free[id(e)]:
            chosen[id(e)] = (t, b)
            if search():
                return True
            del chosen[id(e)]
        return False

    if not search():
        return False
    for e in layer_edges:
        t, b = chosen[id(e)]
        xy = along(e["a"], e["b"], t)
        e["pos"], e["xy"], e["at"] = t, (round(xy[0], 3), round(xy[1], 3)), coordinate(xy)
    return True


def weight_tables(layer_edges: list[dict[str, Any]], names: Mapping[str, str]) -> list[dict[str, Any]]:
    """A dense layer's weights as `name = value`, one column per unit they feed (in more than
    one table when the columns are too wide for a line together)."""
    columns: dict[str, list[str]] = {}
    for e in layer_edges:
        name = names[e["weight"]]
        entry = name if e["label"] == name else f"{name} = {e['label']}"
        columns.setdefault(e["target"], []).append(entry)
    widths = [max(label_size(cell)[0] for cell in cells) + 0.4 for cells in columns.values()]
    groups: list[list[list[str]]] = [[]]
    used = 0.0
    for cells, width in zip(columns.values(), widths):
        if groups[-1] and used + width > WIDTH:
            groups.append([])
            used = 0.0
        groups[-1].append(cells)
        used += width
    layer = layer_edges[0]["layer"] if layer_edges else 0
    return [{"layer": layer, "columns": len(group), "rows": [list(r) for r in zip(*group)]}
            for group in groups if group]


def chain_edges(graph: Graph, top: str, wrt: str) -> set[tuple[str, str]]:
    """Every (parent, child) pair of graph names on a chain-rule path from `wrt` up to `top`:
    the union of the paths, whatever form (paths or δ) the derivation is written in."""
    between = graph.descendants({graph.node(wrt).symbol}) & graph.ancestors(graph.node(top).symbol)
    return {
        (graph.by_symbol[p].name, node.name)
        for node in graph.nodes if node.symbol in between
        for p in node.partials if p in between
    }


def activation_label(activation: str) -> str:
    """σ(z) for a plotted activation, the registry's own name (identity, softmax), or an
    unspecified g or phi printed as a variable (never pasted raw: it is the file's text)."""
    if activation in PLOTS:
        return PLOTS[activation].g_tex
    if activation in ACTIVATIONS:  # a word, set upright: \mathrm{softmax}, not soft·max in italic
        return r"\mathrm{%s}" % activation.replace("_", r"\_")
    return variable_latex(activation)


def unit_of(preactivation: str, depth: int) -> str:
    """z2[1] ↦ a2[1], or yhat[1] in the last layer: the unit the pre-activation feeds."""
    layer, index = preactivation[1:].split("[", 1)
    return f"yhat[{index}" if int(layer) == depth else f"a{layer}[{index}"


def weight_label(graph: Graph, name: str, names: Mapping[str, str], value: Callable[[Any], str]) -> str:
    known = graph.values.get(graph.node(name).symbol)
    return value(known) if isinstance(known, (int, float)) else names[name]


def once(figure: dict[str, Any] | None, drawn: list[dict[str, Any]]) -> dict[str, Any] | None:
    """A question's figure is drawn once: a later part with the same drawing gets nothing, or,
    when only the activations differ, a line naming its activations ("redraw": False).

    `drawn` collects the figures drawn so far in the question (the caller keeps one list a
    question)."""
    if figure is None:
        return None
    for earlier in drawn:
        if drawing(earlier) == drawing(figure):
            if earlier["activations"] == figure["activations"]:
                return None
            return {**figure, "redraw": False}
    drawn.append(figure)
    return figure


def drawing(figure: dict[str, Any]) -> Any:
    """What a figure shows apart from its activations."""
    return (figure["kind"], figure["nodes"], figure["edges"], figure["biases"], figure.get("tables"))


# --- descriptions ---------------------------------------------------------------------------------


def describe(figure: dict[str, Any]) -> str:
    """What a network's or computation graph's picture shows, in words, for a reader who cannot
    see it (an SVG's name, an image's alt text): its units layer by layer, every edge with its
    weight, every bias, and the chain-rule paths drawn in red."""
    from symgrad.output.mathml import text_of

    label = {n["name"]: text_of(n["label"]) for n in figure["nodes"]}
    by_ref = {n["ref"]: n["name"] for n in figure["nodes"]}
    columns: dict[float, list[str]] = {}
    for n in figure["nodes"]:
        columns.setdefault(n["xy"][0], []).append(label[n["name"]])
    layers = [columns[x] for x in sorted(columns)]
    edges = [(e.get("source") or by_ref[e["from"]], e.get("target") or by_ref[e["to"]], e)
             for e in figure["edges"]]
    red = [f"{label[a]} to {label[b]}" for a, b, e in edges if e.get("highlight")]
    if figure["kind"] == "network":
        activations = [text_of(a) for a in figure.get("activations", [])]
        out = [f"Diagram of the network. Inputs: {', '.join(layers[0])}."]
        for l, units in enumerate(layers[1:], 1):
            what = "Output layer" if l == len(layers) - 1 else f"Layer {l}"
            act = f" (activation {activations[l - 1]})" if l - 1 < len(activations) else ""
            out.append(f"{what}{act}: {', '.join(units)}.")
        out.append("Weights: " + "; ".join(f"{label[a]} to {label[b]}: {text_of(e['label'])}"
                                           for a, b, e in edges) + ".")
        if figure.get("biases"):
            out.append("Biases: " + "; ".join(f"{label[b['unit']]}: {text_of(b['label'])}"
                                              for b in figure["biases"]) + ".")
    else:
        leaves = [label[n["name"]] for n in figure["nodes"] if n["kind"] == "input"]
        out = [f"Diagram of the computation graph. Inputs: {', '.join(leaves)}.",
               "Edges: " + "; ".join(f"{label[a]} to {label[b]}" for a, b, _ in edges) + "."]
    if red:
        out.append("Drawn in red, the chain-rule paths: " + "; ".join(red) + ".")
    return " ".join(out)


def describe_plot(plot: dict[str, Any]) -> str:
    """What an activation's plot shows, in words: the two curves, their range, the marked points
    with the values there."""
    from symgrad.output.mathml import text_of

    g, slope = plot["panels"]
    out = [f"Plots of {text_of(plot['g_tex'])} (left) and its derivative {text_of(plot['slope_tex'])}"
           f" (right), for z from {plain(g['xmin'])} to {plain(g['xmax'])}."]
    if plot.get("slope_value"):
        out.append(f"The slope for z at most 0 is {text_of(plot['slope_value'])}.")
    if g["marked"]:
        out.append("Marked: " + "; ".join(
            f"at z = {z:.4g}, {y:.4g} and {s:.4g}" for (z, y), (_, s) in zip(g["marked"], slope["marked"]))
            + ".")
    return " ".join(out)


# --- computation graphs ---------------------------------------------------------------------------


def graph_figure(
    graph: Graph, names: Mapping[str, str], highlight: set[tuple[str, str]]
) -> dict[str, Any] | None:
    """A computation graph left to right: leaves first, each variable one column past its parents.

    None when a column would hold more than MAX_COLUMN variables: past that a figure confuses.
    """
    depth: dict[str, int] = {}
    for node in graph.nodes:
        parents = [graph.by_symbol[p].name for p in node.partials]
        depth[node.name] = 1 + max((depth[p] for p in parents), default=-1)
    columns: dict[int, list[str]] = {}
    for name, d in depth.items():
        columns.setdefault(d, []).append(name)
    if max(len(members) for members in columns.values()) > MAX_COLUMN:
        return None
    lit = {name for pair in highlight for name in pair}  # the variables a chain-rule path runs through
    nodes = []
    for d, members in columns.items():
        top = (len(members) - 1) * SPACING / 2
        for k, name in enumerate(members):
            xy = (round(d * LAYER_GAP * 0.8, 3), round(top - k * SPACING, 3))
            nodes.append({"ref": node_id(name), "name": name, "xy": xy, "at": coordinate(xy),
                          "radius": unit_radius(names[name]),
                          "diameter": f"{2 * unit_radius(names[name]):.3g}", "label": names[name],
                          "kind": "input" if graph.node(name).is_leaf else "unit",
                          "highlight": name in lit})
    edges = [
        {"from": node_id(graph.by_symbol[p].name), "to": node_id(node.name), "label": "",
         "at": None, "pos": None,
         "highlight": (graph.by_symbol[p].name, node.name) in highlight}
        for node in graph.nodes for p in node.partials
    ]
    return {"kind": "graph", "nodes": nodes, "edges": edges, "biases": [], "tables": [],
            "ink": INK, "edge_colour": EDGE, "redraw": True, "activations": []}


def node_id(name: str) -> str:
    """A TikZ node reference, "(nW2x1x1x)": letters and digits only, as TikZ needs."""
    return "(n" + "".join(c if c.isalnum() else "x" for c in name) + ")"


def coordinate(xy: tuple[float, float]) -> str:
    return f"({xy[0]:.3g},{xy[1]:.3g})" if max(map(abs, xy)) < 100 else f"({xy[0]:.1f},{xy[1]:.1f})"


# --- geometry -------------------------------------------------------------------------------------

Box = tuple[float, float, float, float]  # left, bottom, right, top (cm)


def along(a: tuple[float, float], b: tuple[float, float], t: float) -> tuple[float, float]:
    """The point a fraction t of the way from a's centre to b's."""
    return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))


def box(xy: tuple[float, float], size: tuple[float, float]) -> Box:
    x, y = xy
    w, h = size
    return (x - w / 2, y - h / 2, x + w / 2, y + h / 2)


def box_clearance(p: Box, q: Box) -> float:
    """The distance between two boxes (0 or less when they overlap)."""
    dx = max(q[0] - p[2], p[0] - q[2])
    dy = max(q[1] - p[3], p[1] - q[3])
    if dx < 0 and dy < 0:
        return max(dx, dy)
    return math.hypot(max(dx, 0.0), max(dy, 0.0))


def circle_clearance(centre: tuple[float, float], radius: float, b: Box) -> float:
    """The distance from a circle to a box (negative when they overlap)."""
    x = min(max(centre[0], b[0]), b[2])
    y = min(max(centre[1], b[1]), b[3])
    return math.hypot(centre[0] - x, centre[1] - y) - radius


def segment_clearance(segment: tuple[tuple[float, float], tuple[float, float]], b: Box) -> float:
    """The distance from a straight edge to a box (0 when it runs through it)."""
    if segment_meets_box(segment, b):
        return 0.0
    (x0, y0), (x1, y1) = segment
    corners = [(b[0], b[1]), (b[0], b[3]), (b[2], b[1]), (b[2], b[3])]
    ends = [box_clearance(b, (x, y, x, y)) for x, y in segment]
    return min([point_segment(c, segment) for c in corners] + ends)


def point_segment(p: tuple[float, float], segment: tuple[tuple[float, float], tuple[float, float]]) -> float:
    (x0, y0), (x1, y1) = segment
    dx, dy = x1 - x0, y1 - y0
    t = max(0.0, min(1.0, ((p[0] - x0) * dx + (p[1] - y0) * dy) / (dx * dx + dy * dy or 1.0)))
    return math.hypot(p[0] - x0 - t * dx, p[1] - y0 - t * dy)


def segment_meets_box(segment: tuple[tuple[float, float], tuple[float, float]], b: Box) -> bool:
    """Whether a straight edge runs through a box (Liang-Barsky clipping)."""
    (x0, y0), (x1, y1) = segment
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    for p, q in ((-dx, x0 - b[0]), (dx, b[2] - x0), (-dy, y0 - b[1]), (dy, b[3] - y0)):
        if p == 0:
            if q < 0:
                return False
        elif p < 0:
            lo = max(lo, q / p)
        else:
            hi = min(hi, q / p)
        if lo > hi:
            return False
    return True


# Widths in em of what a label is made of (Computer Modern, math mode).
EM = {"digit": 0.5, ".": 0.28, ",": 0.28, "-": 0.78, "+": 0.78, "=": 0.78, "(": 0.39, ")": 0.39,
      "[": 0.28, "]": 0.28, "upper": 0.75, "lower": 0.55, "other": 0.6}
ZERO_WIDTH = {"hat", "bar", "tilde", "vec", "operatorname", "mathrm", "mathbf", "boldsymbol",
              "left", "right", "mathit", "text"}
SCRIPT = 0.7  # a script's size, relative to its base


def label_size(tex: str, pt: float = LABEL_PT) -> tuple[float, float]:
    """The width and height in cm of a label's box (its math at `pt` points, and inner sep),
    estimated from the LaTeX with a little to spare: a safe size to keep labels apart."""
    width, up, down = measure(tex)
    sep = 2 * INNER_SEP_PT * PT
    height = (0.95 + 0.3 * up + 0.2 * down) * pt * PT  # height and depth of a line, and scripts
    return (round(width * pt * PT * 1.05 + sep, 3), round(height + sep, 3))


def unit_radius(tex: str) -> float:
    """A unit's radius in cm: a circle round its name, at least UNIT_SIZE across.  The template
    draws the unit with this size as its minimum, so it is never smaller than placed for."""
    w, h = label_size(tex, UNIT_PT)
    return round(max(UNIT_SIZE, math.hypot(w, h)) / 2, 3)


def measure(tex: str) -> tuple[float, bool, bool]:
    """The width in em of some math, and whether it has a superscript and a subscript."""
    width, up, down = 0.0, False, False
    scripts: dict[str, float] = {}
    k = 0
    while k < len(tex):
        c = tex[k]
        if c in "^_":
            body, k = group(tex, k + 1)
            scripts[c] = measure(body)[0] * SCRIPT
            up, down = up or c == "^", down or c == "_"
            continue
        width += max(scripts.values(), default=0.0)  # a sub- and superscript stack
        scripts = {}
        if c == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[k:])
            command = m.group(1) if m else ""
            k += len(command) + 1
            if command not in ZERO_WIDTH:
                width += EM["-"] if command in ("times", "cdot") else EM["lower"]
            continue
        if c.isdigit():
            width += EM["digit"]
        elif c in EM:
            width += EM[c]
        elif c.isalpha():
            width += EM["upper"] if c.isupper() else EM["lower"]
        elif c not in "{} ":
            width += EM["other"]
        k += 1
    width += max(scripts.values(), default=0.0)
    return width, up, down


def group(tex: str, k: int) -> tuple[str, int]:
    """The script starting at tex[k]: a braced group or one character (or command)."""
    if k < len(tex) and tex[k] == "{":
        level = 0
        for j in range(k, len(tex)):
            level += {"{": 1, "}": -1}.get(tex[j], 0)
            if level == 0:
                return tex[k + 1:j], j + 1
        return tex[k + 1:], len(tex)
    m = re.match(r"\\[A-Za-z]+|.", tex[k:])
    text = m.group(0) if m else ""
    return text, k + len(text)


# --- plots ----------------------------------------------------------------------------------------


class Curve:
    """An activation for plotting: g and g' in Python (for ranges and marks) and as pgfplots
    pieces (expression, from, to) split where g' jumps."""

    def __init__(self, g_tex: str, slope_tex: str, domain: tuple[float, float],
                 g: Callable[[float], float], slope: Callable[[float], float],
                 g_pgf: Callable[[float, float], list[tuple[str, float, float]]],
                 slope_pgf: Callable[[float, float], list[tuple[str, float, float]]],
                 jump: float | None = None) -> None:
        self.g_tex, self.slope_tex, self.domain = g_tex, slope_tex, domain
        self.g, self.slope, self.g_pgf, self.slope_pgf, self.jump = g, slope, g_pgf, slope_pgf, jump


def smooth(expr: str) -> Callable[[float, float], list[tuple[str, float, float]]]:
    return lambda lo, hi: [(expr, lo, hi)]


def split(left: str, right: str) -> Callable[[float, float], list[tuple[str, float, float]]]:
    """One expression for z ≤ 0 and another for z > 0 (each drawn only on its own side)."""
    return lambda lo, hi: [(left, lo, 0.0), (right, 0.0, hi)]


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z >= 0 else math.exp(z) / (1 + math.exp(z))


def softplus(z: float) -> float:
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def leaky(slope: float) -> Curve:
    a = f"{slope:.6g}"
    return Curve(r"\operatorname{LeakyReLU}(z)", r"\operatorname{LeakyReLU}'(z)", (-6.0, 6.0),
                 lambda z: z if z > 0 else slope * z, lambda z: 1.0 if z > 0 else slope,
                 split(f"{a}*x", "x"), split(a, "1"), jump=0.0)


PLOTS: dict[str, Curve] = {
    "sigmoid": Curve(r"\sigma(z)", r"\sigma'(z)", (-6.0, 6.0), sigmoid,
                     lambda z: sigmoid(z) * (1 - sigmoid(z)),
                     smooth("1/(1+exp(-x))"), smooth("exp(-x)/(1+exp(-x))^2")),
    "tanh": Curve(r"\tanh z", r"1 - \tanh^2 z", (-4.0, 4.0), math.tanh,  # pgf's own tanh is rough far out
                  lambda z: 1 - math.tanh(z) ** 2, smooth("1-2/(exp(2*x)+1)"),
                  smooth("4/(exp(x)+exp(-x))^2")),
    "relu": Curve(r"\operatorname{ReLU}(z)", r"H(z)", (-6.0, 6.0), lambda z: max(z, 0.0),
                  lambda z: 1.0 if z > 0 else 0.0, split("0", "x"), split("0", "1"), jump=0.0),
    "softplus": Curve(r"\operatorname{softplus}(z)", r"\sigma(z)", (-6.0, 6.0), softplus, sigmoid,
                      smooth("ln(1+exp(x))"), smooth("1/(1+exp(-x))")),
    "leaky_relu": leaky(0.01),
    "exp": Curve(r"e^{z}", r"e^{z}", (-3.0, 3.0), math.exp, math.exp, smooth("exp(x)"),
                 smooth("exp(x)")),
}
FARTHEST = 20.0  # the plot's domain grows to take in the marked points, up to |z| = 20
SAMPLES = 241


def plot_figure(
    activation: str, points: Sequence[float], value: Callable[[Any], str],
    slope: float | None = None,
) -> dict[str, Any]:
    """g and g' side by side, each on its own y-range, both marked at the operating points.

    `slope` is a leaky ReLU's own negative slope (the layer's α; 0.01 when it has none).
    """
    curve = leaky(slope) if activation == "leaky_relu" and slope is not None else PLOTS[activation]
    lo, hi = curve.domain
    inside = [float(z) for z in points if math.isfinite(z) and abs(z) <= FARTHEST]
    if inside:
        lo, hi = min(lo, math.floor(min(inside) - 0.5)), max(hi, math.ceil(max(inside) + 0.5))
    panels = []
    for f, pieces, tex, colour in ((curve.g, curve.g_pgf, curve.g_tex, "blue"),
                                   (curve.slope, curve.slope_pgf, curve.slope_tex, "red")):
        marks = [(z, f(z)) for z in inside]
        closed, hollow = [], []
        if curve.jump is not None and f is curve.slope:  # the step: taken at 0 from the left
            closed, hollow = [(0.0, f(0.0))], [(0.0, f(math.nextafter(0.0, 1.0)))]
        ys = [f(lo + (hi - lo) * k / (SAMPLES - 1)) for k in range(SAMPLES)]
        ys += [y for _, y in marks + closed + hollow]
        ymin, ymax = y_range(ys)
        panels.append({
            "tex": tex, "colour": colour, "xmin": lo, "xmax": hi, "ymin": ymin, "ymax": ymax,
            "pieces": [{"expr": e, "from": a, "to": b} for e, a, b in pieces(lo, hi)],
            "marks": coordinates(marks), "closed": coordinates(closed), "open": coordinates(hollow),
            "marked": marks, "ends": {"closed": closed, "open": hollow},
        })
    return {"g_tex": curve.g_tex, "slope_tex": curve.slope_tex, "panels": panels,
            "slope": slope if activation == "leaky_relu" else None,
            "slope_value": value(slope if slope is not None else 0.01) if activation == "leaky_relu" else "",
            "points": ", ".join(value(z) for z in points)}


def y_range(ys: Sequence[float]) -> tuple[float, float]:
    """From a little below the lowest value to a little above the highest (and never empty)."""
    low, high = min(ys), max(ys)
    pad = 0.08 * (high - low) if high - low > 1e-9 else max(0.1, 0.1 * abs(high))
    step = 10.0 ** (math.floor(math.log10(pad)) - 1)  # rounded outwards, to a tenth of the pad
    return (round(math.floor((low - pad) / step) * step, 10),
            round(math.ceil((high + pad) / step) * step, 10))


def coordinates(points: Sequence[tuple[float, float]]) -> str:
    """pgfplots coordinates: "(1.5,0.8176) (5.5,0.9959)"."""
    return " ".join(f"({plain(x)},{plain(y)})" for x, y in points)


def plain(v: float) -> str:
    """A number pgfplots reads, in fixed point."""
    text = f"{v:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
