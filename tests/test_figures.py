"""Figures: every label readable and apart, one figure a question, red paths on networks, and
plots on their own ranges with a true step.  The geometry is checked from the figure data (the
units' centres and the fraction `pos` of its edge where each label sits), not from a PDF."""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import pytest
import sympy

import symgrad
from symgrad.input.parser import parse_expression
from symgrad.output import figures
from symgrad.output.figures import box, box_clearance, circle_clearance, plot_figure
from symgrad.output.render import environment, sheet_context

from conftest import EXAMPLES, solved

LEAST = 0.3  # cm between the centres of two labels


def context(problem: Any) -> dict[str, Any]:
    s = problem if isinstance(problem, symgrad.Sheet) else problem.sheet()
    return sheet_context(s)


def all_figures(ctx: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for q in ctx["questions"]:
        for p in q["parts"]:
            out += [p["figure"]] if p["figure"] else []
            out += [g["figure"] for g in p["gradients"] if g.get("figure")]
    return out




def labels(fig: dict[str, Any]) -> list[tuple[str, tuple[float, float], tuple[float, float]]]:
    """(text, centre, size) of every weight and bias label, each weight's centre worked out
    here from its units' centres and its `pos`."""
    centre = {n["ref"]: n["xy"] for n in fig["nodes"]}
    out = []
    for e in fig["edges"]:
        if e["pos"] is None:
            continue
        (ax, ay), (bx, by) = centre[e["from"]], centre[e["to"]]
        xy = (ax + e["pos"] * (bx - ax), ay + e["pos"] * (by - ay))
        assert math.dist(xy, e["xy"]) < 0.01, "the label is not where its pos puts it"
        out.append((e["label"], xy, e["size"]))
    out += [(b["label"], b["xy"], b["size"]) for b in fig["biases"]]
    return out


def check_apart(fig: dict[str, Any]) -> None:
    placed = labels(fig)
    for (s, p, ps), (t, q, qs) in itertools.combinations(placed, 2):
        assert math.dist(p, q) >= LEAST, f"labels {s} and {t} meet"
        assert box_clearance(box(p, ps), box(q, qs)) > 0.05, f"labels {s} and {t} overlap"
    for text, xy, size in placed:
        for n in fig["nodes"]:
            assert circle_clearance(n["xy"], n["radius"], box(xy, size)) > 0.05, (
                f"label {text} touches unit {n['label']}")
    segments = {(e["from"], e["to"]): e for e in fig["edges"]}
    centre = {n["ref"]: n["xy"] for n in fig["nodes"]}
    for e in fig["edges"]:
        if e["pos"] is None:
            continue
        for other in segments.values():
            if other is not e:  # no label sits on another edge (it would read as that one's)
                seg = (centre[other["from"]], centre[other["to"]])
                assert figures.segment_clearance(seg, box(e["xy"], e["size"])) > 0, (
                    f"label {e['label']} lies on the edge {other['from']}--{other['to']}")


@pytest.mark.parametrize("stem", [path.stem for path in EXAMPLES])
def test_example_labels_are_apart(stem: str) -> None:
    for fig in all_figures(context(solved(stem))):
        if fig["kind"] == "network" and fig["redraw"]:
            check_apart(fig)


def network_of(stem: str, question: str) -> dict[str, Any]:
    (q,) = [q for q in context(solved(stem))["questions"] if q["number"] == question]
    return next(p["figure"] for p in q["parts"] if p["figure"])


@pytest.mark.parametrize("stem, question, weights", [
    ("seed001", "1", {"2", "1", "3", "-1"}),  # the hidden w[1]21 = 2 of the issue
    ("seed003", "2", {"0.2", "-0.3", "0.4", "0.5", "-0.1", "-0.4"}),  # and the hidden 0.5
])
def test_every_weight_is_on_its_edge(stem: str, question: str, weights: set[str]) -> None:
    fig = network_of(stem, question)
    assert not fig["tables"]
    assert all(e["pos"] is not None for e in fig["edges"])
    assert {e["label"] for e in fig["edges"]} == weights
    check_apart(fig)


def test_bias_labels_clear_of_units() -> None:
    """seed002's +b^{[1]}_2 sat on the unit above it."""
    fig = network_of("seed002", "2.1")
    for b in fig["biases"]:
        for n in fig["nodes"]:
            assert circle_clearance(n["xy"], n["radius"], box(b["xy"], b["size"])) >= figures.GAP - 1e-9


def test_labels_are_dark() -> None:
    fig = network_of("seed001", "1")
    env = environment()
    tex = env.from_string('((* import "figures.tex.j2" as draw *))(((draw.diagram(d))))').render(d=fig)
    style = re.search(r"weight/\.style=\{([^}]*)\}", tex)
    assert style and "text=black" in style[1].replace(" ", "") and "gray" not in style[1]
    assert "scriptsize" not in style[1]
    for line in tex.splitlines():  # every label is a weight node, none takes a lighter colour
        if line.startswith(r"\node[weight"):
            assert "gray" not in line and "!" not in line
    assert fig["ink"] == "black"


def test_one_figure_a_question() -> None:
    for stem in ("seed000", "seed001", "seed002"):
        for q in context(solved(stem))["questions"]:
            drawn = [p["figure"] for p in q["parts"] if p["figure"] and p["figure"]["redraw"]]
            assert len(drawn) <= 1, f"{stem} question {q['number']} draws its network {len(drawn)} times"
    # seed001's part (b) has the same network with ReLU: a line names its activations
    (q,) = [q for q in context(solved("seed001"))["questions"] if q["number"] == "1"]
    figs = [p["figure"] for p in q["parts"]]
    assert figs[0]["redraw"] and figs[1] and not figs[1]["redraw"] and not any(figs[2:])
    assert figs[1]["activations"] != figs[0]["activations"]


NETWORK = {
    "title": "paths",
    "network": {
        "inputs": 2, "loss": "half_squared_error", "learning_rate": 0.5,
        "layer": [
            {"units": 2, "activation": "leaky_relu", "negative_slope": 0.2,
             "weights": [[0.15, -0.2], [0.25, 0.3]], "biases": [0.35, 0.35]},
            {"units": 1, "activation": "sigmoid", "weights": [[0.4, 0.45]], "biases": [0.6]},
        ],
    },
    "data": {"x": [-0.5, 0.1], "y": [0.01]},
    "ask": {"gradients": ["W1[1,2]", "b2[1]", "x[1]"]},
}


def sheet_part(part: dict[str, Any]) -> dict[str, Any]:
    """The context of a one-part sheet whose question is NETWORK."""
    question = {"number": "1", **{k: v for k, v in NETWORK.items() if k != "title"}, "part": [part]}
    (q,) = context(symgrad.solve({"title": "paths", "question": [question]}))["questions"]
    return q["parts"][0]


def test_network_paths_in_red() -> None:
    p = sheet_part({"show": ["gradients", "paths"], "style": "paths"})
    lit = {}
    for g in p["gradients"]:
        fig = g["figure"]
        assert fig and fig["kind"] == "network"
        lit[g["key"]] = {(e["from"], e["to"]) for e in fig["edges"] if e["highlight"]}
        check_apart(fig)
    x1, x2, a1, a2, y = "(nxx1x)", "(nxx2x)", "(na1x1x)", "(na1x2x)", "(nyhatx1x)"
    assert lit["dL/dW1[1,2]"] == {(x2, a1), (a1, y)}  # W1[1,2]: into unit 1 from input 2
    assert lit["dL/dx[1]"] == {(x1, a1), (x1, a2), (a1, y), (a2, y)}
    assert lit["dL/db2[1]"] == set()
    (fig,) = [g["figure"] for g in p["gradients"] if g["key"] == "dL/db2[1]"]
    assert [b["highlight"] for b in fig["biases"]] == [False, False, True]


def test_leaky_plot_has_the_layers_slope() -> None:
    p = sheet_part({"plot": ["leaky_relu"], "show": []})
    (plot,) = p["plots"]
    g, slope = plot["panels"]
    assert [piece["expr"] for piece in slope["pieces"]] == ["0.2", "1"]
    assert g["pieces"][0]["expr"] == "0.2*x"
    assert plot["slope"] == 0.2
    assert "0.01" not in str(plot["panels"])


def value(v: float) -> str:
    return f"{v:.4g}"


def curve_at(expr: str, x: float) -> float:
    """A pgfplots expression of the plots (+ - * / ^ exp ln), read with symgrad's own parser."""
    text = expr.replace("^", "**").replace("ln(", "log(")
    z = sympy.Symbol("x")
    parsed = parse_expression(text, lambda name: z, {"exp": sympy.exp, "log": sympy.log})
    return float(parsed.subs(z, x))


@pytest.mark.parametrize("activation", sorted(figures.PLOTS))
def test_plot_ranges_hold_the_curve_and_the_marks(activation: str) -> None:
    points = [-2.0, 0.0, 1.5, 5.5, 0.40471712]
    plot = plot_figure(activation, points, value)
    g, slope = plot["panels"]
    for panel, f in ((g, figures.PLOTS[activation].g), (slope, figures.PLOTS[activation].slope)):
        assert panel["xmin"] <= min(points) and max(points) <= panel["xmax"]
        for z, y in panel["marked"]:
            assert y == pytest.approx(f(z)) and panel["ymin"] < y < panel["ymax"]
        for piece in panel["pieces"]:  # the drawn curve, sampled on its piece, stays inside
            for k in range(41):
                x = piece["from"] + (piece["to"] - piece["from"]) * k / 40
                y = curve_at(piece["expr"], x)
                assert panel["ymin"] <= y <= panel["ymax"]
                if not (piece["from"] < x < piece["to"]) and figures.PLOTS[activation].jump == x:
                    continue  # the end of a step's piece: its value is the marker's
                assert y == pytest.approx(f(x), abs=1e-9)
        seen = [f(panel["xmin"] + (panel["xmax"] - panel["xmin"]) * k / 200) for k in range(201)]
        low, high = min(seen), max(seen)
        assert panel["ymin"] >= low - 0.2 * (high - low) and panel["ymax"] <= high + 0.2 * (high - low), (
            "the range is not the curve's own")


def test_sigmoid_derivative_is_not_flat() -> None:
    _, slope = plot_figure("sigmoid", [1.5, 5.5], value)["panels"]
    assert slope["ymax"] < 0.3 and slope["ymin"] > -0.05  # σ' peaks at 0.25 and fills its plot


def test_relu_derivative_is_a_true_step() -> None:
    g, step = plot_figure("relu", [1.5, 5.5], value)["panels"]
    assert [(p["expr"], p["from"], p["to"]) for p in step["pieces"]] == [
        ("0", step["xmin"], 0.0), ("1", 0.0, step["xmax"])]
    assert step["ends"] == {"closed": [(0.0, 0.0)], "open": [(0.0, 1.0)]}  # H(0) = 0
    assert (5.5, 5.5) in g["marked"] and g["ymax"] > 5.5  # no longer clipped


def test_seed000_plots() -> None:
    plots = [pl for q in context(solved("seed000"))["questions"] for p in q["parts"] for pl in p["plots"]]
    assert len(plots) == 3
    ranges = [(panel["ymin"], panel["ymax"]) for p in plots for panel in p["panels"]]
    assert len(set(ranges)) == 5  # each on its own range (tanh' and H both run from 0 to 1)
    for p in plots:
        for panel in p["panels"]:
            assert all(panel["ymin"] < y < panel["ymax"] for _, y in panel["marked"])


def dense_problem() -> dict[str, Any]:
    w = [[round(0.1 * (i + 1) - 0.07 * j, 2) for j in range(6)] for i in range(6)]
    return {
        "network": {"inputs": 6, "loss": "half_squared_error", "layer": [
            {"units": 6, "activation": "sigmoid", "weights": w, "biases": [0.1] * 6},
            {"units": 2, "activation": "sigmoid", "weights": [[0.5] * 6, [-0.5] * 6], "biases": [0, 1]},
        ]},
        "data": {"x": [1, 2, 3, 4, 5, 6], "y": [0, 1]},
        "ask": {"gradients": ["W2[1,1]"]},
    }


def test_dense_layer_goes_in_a_table() -> None:
    (fig,) = [f for f in all_figures(context(symgrad.solve(dense_problem())))]
    check_apart(fig)  # whatever is on the edges is apart
    tabled = [e for e in fig["edges"] if e["pos"] is None]
    assert tabled, "36 weights between two columns of 6 cannot all sit apart"
    entries = [cell for t in fig["tables"] for row in t["rows"] for cell in row]
    assert len(entries) == len(tabled)
    for e in tabled:
        assert any(cell.endswith(f"= {e['label']}") for cell in entries)
