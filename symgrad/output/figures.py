"""Figures as data for the templates: a network or computation graph to draw with TikZ, and an
activation with its derivative to plot with pgfplots.  Strings and numbers only; the LaTeX of
each label comes from the sheet's notation and number format, like the rest of the sheet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from symgrad.calculus.activations import ACTIVATIONS
from symgrad.engine.graph import Graph
from symgrad.output.latex import variable_latex

# pgfplots expressions of each activation and its derivative (x is pgfplots' variable).
PLOTS: dict[str, tuple[str, str, str, str]] = {  # name: (g, g', LaTeX of g, LaTeX of g')
    "sigmoid": ("1/(1+exp(-x))", "exp(-x)/(1+exp(-x))^2", r"\sigma(z)", r"\sigma'(z)"),
    "tanh": ("tanh(x)", "1-tanh(x)^2", r"\tanh z", r"1 - \tanh^2 z"),
    "relu": ("max(x,0)", "(x>0)", r"\operatorname{ReLU}(z)", r"H(z)"),
    "softplus": ("ln(1+exp(x))", "1/(1+exp(-x))", r"\operatorname{softplus}(z)", r"\sigma(z)"),
    "leaky_relu": ("max(x,0.01*x)", "(x>0)+0.01*(x<=0)", r"\operatorname{LeakyReLU}(z)", r"g'(z)"),
    "exp": ("exp(x)", "exp(x)", r"e^{z}", r"e^{z}"),
}
SPACING = 1.5  # cm between units of a layer
LAYER_GAP = 3.8  # cm between layers
MAX_COLUMN = 5  # variables in one column of a computation graph's figure


def network_figure(
    graph: Graph, activations: Sequence[str], names: Mapping[str, str], value: Callable[[Any], str],
    highlight: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
) -> dict[str, Any]:
    """Units in layers (inputs, hidden, outputs) with weight-labelled edges and bias inputs."""
    depth = len(activations)
    layers: list[list[str]] = [[n.name for n in graph.nodes if n.kind == "input"]]
    for l in range(1, depth + 1):
        units = [n.name for n in graph.nodes if n.kind == "preactivation" and n.name.startswith(f"z{l}[")]
        layers.append([unit_of(z, depth) for z in units])
    nodes, edges, biases = [], [], []
    for l, units in enumerate(layers):
        top = (len(units) - 1) * SPACING / 2
        for k, unit in enumerate(units):
            at = f"({l * LAYER_GAP:.3g},{top - k * SPACING:.3g})"
            nodes.append({"ref": node_id(unit), "at": at, "label": names[unit],
                          "kind": "input" if l == 0 else "unit"})
    for node in graph.nodes:
        if node.kind != "preactivation":
            continue
        unit = unit_of(node.name, depth)
        for parent in node.partials:
            source = graph.by_symbol[parent]
            if source.kind == "weight":
                (origin,) = [graph.by_symbol[p].name for p in node.partials
                             if node.partials[p] == source.symbol]
                edges.append({"from": node_id(origin), "to": node_id(unit),
                              "label": weight_label(graph, source.name, names, value),
                              "highlight": (origin, unit) in highlight})
            elif source.kind == "bias":
                above = node_id(unit)[:-1] + ".north)"
                label = weight_label(graph, source.name, names, value)
                biases.append({"at": above, "label": label if label.startswith("-") else f"+{label}"})
    return {"kind": "network", "nodes": nodes, "edges": edges, "biases": biases,
            "activations": [activation_label(a) for a in activations]}


def activation_label(activation: str) -> str:
    """σ(z) for a plotted activation, the registry's own name (identity, softmax), or an
    unspecified g or phi printed as a variable (never pasted raw: it is the file's text)."""
    if activation in PLOTS:
        return PLOTS[activation][2]
    return activation if activation in ACTIVATIONS else variable_latex(activation)


def unit_of(preactivation: str, depth: int) -> str:
    """z2[1] ↦ a2[1], or yhat[1] in the last layer: the unit the pre-activation feeds."""
    layer, index = preactivation[1:].split("[", 1)
    return f"yhat[{index}" if int(layer) == depth else f"a{layer}[{index}"


def weight_label(graph: Graph, name: str, names: Mapping[str, str], value: Callable[[Any], str]) -> str:
    known = graph.values.get(graph.node(name).symbol)
    return value(known) if isinstance(known, (int, float)) else names[name]


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
    nodes = []
    for d, members in columns.items():
        top = (len(members) - 1) * SPACING / 2
        for k, name in enumerate(members):
            at = f"({d * LAYER_GAP * 0.8:.3g},{top - k * SPACING:.3g})"
            nodes.append({"ref": node_id(name), "at": at, "label": names[name],
                          "kind": "input" if graph.node(name).is_leaf else "unit"})
    edges = [
        {"from": node_id(graph.by_symbol[p].name), "to": node_id(node.name), "label": "",
         "highlight": (graph.by_symbol[p].name, node.name) in highlight}
        for node in graph.nodes for p in node.partials
    ]
    return {"kind": "graph", "nodes": nodes, "edges": edges, "biases": [], "activations": []}


def node_id(name: str) -> str:
    """A TikZ node reference, "(nW2x1x1x)": letters and digits only, as TikZ needs."""
    return "(n" + "".join(c if c.isalnum() else "x" for c in name) + ")"


def plot_figure(activation: str, points: Sequence[float], value: Callable[[Any], str]) -> dict[str, Any]:
    """g and g' on [-6, 6]; pgfplots itself marks both curves at the operating points."""
    g, slope, g_tex, slope_tex = PLOTS[activation]
    inside = [z for z in points if -6 <= z <= 6]
    return {"g": g, "slope": slope, "g_tex": g_tex, "slope_tex": slope_tex,
            "marks": ",".join(f"{z:.6g}" for z in inside),
            "points": ", ".join(value(z) for z in points)}
