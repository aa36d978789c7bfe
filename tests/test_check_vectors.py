"""`symgrad check` on a whole layer written as one vector or matrix: each entry is judged like a
line of its own, in the engine's name.

The right values come from the independent oracle (tests/oracle.py, plain Python); a wrong entry
is a right one spoiled on purpose.  Networks: the 2-2-2 sigmoid example (out_in layout, every
matrix square) and a 2-3-1 network whose file is written in the in_out layout (no matrix square,
so the shape alone says how a weight matrix is read).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import oracle

import symgrad.api as api
from symgrad.input.spec import NetworkSpec

# 2-2-2, sigmoid, ½ squared error (examples/two_two_two.toml), weights [into i][from j]
SQUARE: dict[str, Any] = {
    "x": [0.05, 0.10], "y": [0.01, 0.99], "loss": "half_squared_error", "eta": 0.5,
    "layers": [([[0.15, 0.20], [0.25, 0.30]], [0.35, 0.35], "sigmoid"),
               ([[0.40, 0.45], [0.50, 0.55]], [0.60, 0.60], "sigmoid")]}
# 2-3-1, sigmoid hidden units, a linear output, ½ squared error; written in_out in its file
WIDE: dict[str, Any] = {
    "x": [0.5, -1.0], "y": [0.3], "loss": "half_squared_error", "eta": 0.1,
    "layers": [([[0.2, -0.4], [0.7, 0.1], [-0.3, 0.5]], [0.1, -0.2, 0.05], "sigmoid"),
               ([[0.6, -0.5, 0.9]], [0.2], "identity")]}

HAS_LAYOUT = "layout" in getattr(NetworkSpec, "__dataclass_fields__", {})


def problem(net: dict[str, Any], layout: str, extra: str = "") -> str:
    lines = ['title = "vectors"', "[network]", f"inputs = {len(net['x'])}",
             f'loss = "{net["loss"]}"', f"learning_rate = {net['eta']}", f'layout = "{layout}"']
    for weights, biases, activation in net["layers"]:
        table = weights if layout == "out_in" else [list(c) for c in zip(*weights)]
        lines += ["[[network.layer]]", f"units = {len(weights)}", f'activation = "{activation}"',
                  f"weights = {table}", f"biases = {biases}"]
    lines += ["[data]", f"x = {net['x']}", f"y = {net['y']}", "[ask]", "update = true"]
    return "\n".join(lines) + "\n" + extra


def numbers(net: dict[str, Any]) -> list[dict[str, Any]]:
    return oracle.backward(net["x"], net["layers"], net["y"], net["loss"])


def pmatrix(rows: list[list[float]], digits: int = 4) -> str:
    body = r" \\ ".join(" & ".join(f"{v:.{digits}f}" for v in row) for row in rows)
    return r"\begin{pmatrix} " + body + r" \end{pmatrix}"


def column(values: list[float], digits: int = 4) -> str:
    return pmatrix([[v] for v in values], digits)


def row(values: list[float], digits: int = 4) -> str:
    return pmatrix([list(values)], digits)


def transposed(rows: list[list[float]]) -> list[list[float]]:
    return [list(c) for c in zip(*rows)]


def checked(tmp_path: Path, net: dict[str, Any], layout: str, lines: list[str],
            extra: str = "") -> dict[str, list[tuple[str, int | None]]]:
    """Each engine key → its (verdict, line) items; "" collects the lines with no key."""
    (tmp_path / "p.toml").write_text(problem(net, layout, extra))
    (tmp_path / "a.md").write_text("\n\n".join(f"$${line}$$" for line in lines) + "\n")
    report = api.check(tmp_path / "p.toml", tmp_path / "a.md")
    out: dict[str, list[tuple[str, int | None]]] = {}
    for item in report.items:
        out.setdefault(item.key, []).append((item.verdict, item.line))
    return out


def verdicts(found: dict[str, list[tuple[str, int | None]]], *keys: str) -> list[str]:
    return [v for k in keys for v, _ in found.get(k, [("missing", None)])]


# ---------------------------------------------------------------------------------------------


def test_a_right_vector_gives_every_entry_correct(tmp_path: Path) -> None:
    n = numbers(SQUARE)
    found = checked(tmp_path, SQUARE, "out_in", [
        r"\mathbf{z}^{[1]} = " + column(n[0]["z"]),
        r"\mathbf{h} = \sigma(\mathbf{z}) = " + row(n[0]["a"]),
        r"\hat{\mathbf{y}} = " + column(n[1]["a"]),
        r"\mathbf{x} = " + column(SQUARE["x"], 2),
    ])
    keys = ["z1[1]", "z1[2]", "a1[1]", "a1[2]", "yhat[1]", "yhat[2]", "x[1]", "x[2]"]
    assert verdicts(found, *keys) == ["correct"] * 8, found
    assert found["a1[2]"] == [("correct", 3)]
    assert set(found) == set(keys), found  # nothing else: the vector line is its entries


def test_one_wrong_entry_is_that_entry_wrong(tmp_path: Path) -> None:
    n = numbers(SQUARE)
    spoiled = list(n[1]["a"])
    spoiled[1] += 0.05
    found = checked(tmp_path, SQUARE, "out_in", [
        r"\mathbf{a}^{[1]} = " + column(n[0]["a"]),
        r"\hat{\mathbf{y}} = " + column(spoiled),
    ])
    assert verdicts(found, "a1[1]", "a1[2]", "yhat[1]") == ["correct"] * 3
    assert verdicts(found, "yhat[2]") == ["wrong"]


def test_delta_vectors_and_adjoints(tmp_path: Path) -> None:
    n = numbers(SQUARE)
    spoiled = list(n[0]["delta"])
    spoiled[0] *= -1
    found = checked(tmp_path, SQUARE, "out_in", [
        r"\delta^{[2]} = " + column(n[1]["delta"], 6),
        r"\bar{\mathbf{h}} = " + column(n[0]["propagated"], 6),
        r"\boldsymbol{\delta}^{(1)} = " + row(spoiled, 6),
    ])
    assert verdicts(found, "dL/dz2[1]", "dL/dz2[2]", "dL/da1[1]", "dL/da1[2]",
                    "dL/dz1[2]") == ["correct"] * 5, found
    assert verdicts(found, "dL/dz1[1]") == ["wrong"]


def test_a_weight_matrix_as_the_file_writes_it_and_transposed(tmp_path: Path) -> None:
    """2-3-1 in the in_out layout: W1 written 2 × 3 (rows are inputs, as Wᵀx uses it) or 3 × 2
    (rows are units), and W2 as a row or a column: the shape says which."""
    w1, w2 = WIDE["layers"][0][0], WIDE["layers"][1][0]
    wrong = [r[:] for r in w1]
    wrong[2][0] = 0.3  # W1[3,1] is -0.3
    found = checked(tmp_path, WIDE, "in_out", [
        r"W_1 = " + pmatrix(transposed(w1), 1) + r"_{2 \times 3}",
        r"\mathbf{W}^{[1]} = " + pmatrix(wrong, 1),
        r"W^{[2]} = " + pmatrix(w2, 1),
        r"\mathbf{b}_1 = " + row(WIDE["layers"][0][1], 2),
    ])
    w1_keys = [f"W1[{i},{j}]" for i in (1, 2, 3) for j in (1, 2)]
    assert [v for k in w1_keys for v, _ in found[k][:1]] == ["correct"] * 6  # line 1
    # line 3: only W1[3,1] is wrong (a parameter written with another value is read as its
    # updated value, and judged as that)
    line3 = sorted((k, v) for k, items in found.items() for v, line in items if line == 3)
    assert line3 == sorted([(k, "correct") for k in w1_keys if k != "W1[3,1]"] +
                           [("updated W1[3,1]", "wrong")]), line3
    assert verdicts(found, "W2[1,1]", "W2[1,2]", "W2[1,3]", "b1[1]", "b1[2]", "b1[3]") == \
        ["correct"] * 6


def test_a_gradient_matrix(tmp_path: Path) -> None:
    n = numbers(WIDE)
    grad = n[0]["weight_gradient"]  # [unit][input], 3 × 2
    spoiled = [r[:] for r in grad]
    spoiled[0][1] += 0.01
    found = checked(tmp_path, WIDE, "in_out", [
        r"\frac{\partial E}{\partial \mathbf{W}^{[1]}} = " + pmatrix(grad, 6),
        r"\frac{\partial E}{\partial W^{[2]}} = " + column(n[1]["weight_gradient"][0], 6),
        r"\frac{\partial E}{\partial \mathbf{W}^{[1]}} = " + pmatrix(transposed(spoiled), 6),
    ])
    keys = [f"dL/dW1[{i},{j}]" for i in (1, 2, 3) for j in (1, 2)]
    assert [v for k in keys for v, _ in found[k][:1]] == ["correct"] * 6, found
    assert verdicts(found, "dL/dW2[1,1]", "dL/dW2[1,2]", "dL/dW2[1,3]") == ["correct"] * 3
    later = {k: found[k][1][0] for k in keys}
    assert [k for k, v in later.items() if v != "correct"] == ["dL/dW1[1,2]"]
    assert later["dL/dW1[1,2]"] == "wrong"


def test_the_sheets_own_names_tell_the_layer(tmp_path: Path) -> None:
    """q_1, q_2 name a1[1], a1[2] in [check.symbols]: \\mathbf{q} is the hidden layer."""
    n = numbers(SQUARE)
    found = checked(tmp_path, SQUARE, "out_in", [r"\mathbf{q} = " + column(n[0]["a"])],
                    '[check.symbols]\n"q_1" = "a1[1]"\n"q_2" = "a1[2]"\n')
    assert verdicts(found, "a1[1]", "a1[2]") == ["correct", "correct"]


def test_names_and_shapes_that_fit_nothing_are_left_alone(tmp_path: Path) -> None:
    n = numbers(SQUARE)
    found = checked(tmp_path, SQUARE, "out_in", [
        r"\mathbf{W} = " + pmatrix(SQUARE["layers"][0][0], 2),  # which layer?
        r"\mathbf{h} = " + column(n[0]["a"] + [0.5]),  # three entries for two units
        r"\mathbf{a}^{[3]} = " + column(n[0]["a"]),  # no layer 3
        r"\mathbf{v} = " + column(n[0]["a"]),  # a name of nothing
    ])
    assert set(found) == {""}, found
    assert [v for v, _ in found[""]] == ["unchecked"] * 4


def test_named_entries_on_the_left(tmp_path: Path) -> None:
    n = numbers(SQUARE)
    spoiled = list(n[0]["z"])
    spoiled[0] += 0.1
    found = checked(tmp_path, SQUARE, "out_in", [
        r"\begin{pmatrix} z_1 \\ z_2 \end{pmatrix} = " + column(spoiled)])
    assert verdicts(found, "z1[1]", "z1[2]") == ["wrong", "correct"]


def test_a_square_matrix_is_read_by_the_problems_layout(tmp_path: Path) -> None:
    """In the 2-2-2 network every weight matrix is square: only the layout can say whether rows
    are units (out_in) or inputs.  Without it the line is left unchecked, never guessed."""
    w2 = SQUARE["layers"][1][0]
    found = checked(tmp_path, SQUARE, "out_in", [
        r"W^{[2]} = " + pmatrix(w2, 2),
        r"(W^{[2]})^T = " + pmatrix(transposed(w2), 2),
    ])
    keys = ["W2[1,1]", "W2[1,2]", "W2[2,1]", "W2[2,2]"]
    if HAS_LAYOUT:
        assert verdicts(found, *keys) == ["correct"] * 8, found
    else:
        assert set(found) == {""} and [v for v, _ in found[""]] == ["unchecked"] * 2, found


def test_a_transposed_name_reads_the_matrix_transposed(tmp_path: Path) -> None:
    """(W^{[1]})ᵀ written 2 × 3 in the 2-3-1 network is W1 (3 × 2) transposed."""
    w1 = WIDE["layers"][0][0]
    found = checked(tmp_path, WIDE, "in_out", [
        r"(W^{[1]})^T = " + pmatrix(transposed(w1), 1),
        r"\mathbf{W}_1^T = " + pmatrix(w1, 1) + "^T",
    ])
    keys = [f"W1[{i},{j}]" for i in (1, 2, 3) for j in (1, 2)]
    assert [v for k in keys for v, _ in found[k]] == ["correct"] * 12, found


def test_square_readings_need_the_layout() -> None:
    from symgrad.analyses.vectors import Family, placement

    w = Family("", "W2", (2, 2))
    assert placement(w, (2, 2), "out_in")[(0, 1)] == (1, 2)
    assert placement(w, (2, 2), "in_out")[(0, 1)] == (2, 1)
    assert placement(w, (2, 2), None) is None
    wide = Family("", "W1", (3, 2))  # 3 units fed by 2 inputs
    assert placement(wide, (2, 3), "out_in")[(0, 2)] == (3, 1)  # the shape decides
    assert placement(wide, (3, 3), "out_in") is None
    assert placement(Family("", "a1", (3,)), (1, 3), None)[(0, 2)] == (3,)


def test_an_updated_matrix(tmp_path: Path) -> None:
    n = numbers(WIDE)
    new = [w - WIDE["eta"] * g for w, g in zip(WIDE["layers"][1][0][0], n[1]["weight_gradient"][0])]
    found = checked(tmp_path, WIDE, "in_out", [r"\mathbf{W}_2' = " + row(new, 5)])
    assert verdicts(found, "updated W2[1,1]", "updated W2[1,2]", "updated W2[1,3]") == \
        ["correct"] * 3, found
