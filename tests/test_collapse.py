"""symgrad.analyses.collapse: every expected matrix below is multiplied out by hand, and every
expected LaTeX string is written out literally."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
import sympy
from sympy import Symbol

import symgrad
import symgrad.analyses.collapse as collapse_module
from symgrad.analyses.collapse import EquivalentLayer, equivalent_layer
from symgrad.engine.solution import Solution
from symgrad.output.context_analyses import collapse_context
from symgrad.output.jsonout import collapse_json
from symgrad.output.notation import Notation, latex_names


def s(name: str) -> Symbol:
    return Symbol(name, real=True)


def solve(network: dict[str, Any], data: dict[str, Any] | None = None) -> Solution:
    problem: dict[str, Any] = {"network": network}
    if data:
        problem["data"] = data
    return symgrad.solve(symgrad.read_problem(problem))


def names_of(solution: Solution, notation: Notation | None = None) -> dict[str, str]:
    return latex_names([n.name for n in solution.graph.nodes], notation or Notation())


def identity(units: int, **layer: Any) -> dict[str, Any]:
    return {"units": units, "activation": "identity", **layer}


def layer_of(solution: Solution) -> EquivalentLayer:
    layer = equivalent_layer(solution)
    assert layer is not None
    return layer


SEED000 = {"inputs": 2, "layer": [identity(2, biases=True), identity(1, biases=True)]}


def test_seed000_symbolic_collapse() -> None:
    solution = solve(SEED000)
    layer = layer_of(solution)
    # the document's names: w11 = W1[1,1], w12 = W1[1,2], w21 = W1[2,1], w22 = W1[2,2],
    # w31 = W2[1,1], w32 = W2[1,2], b1 = b1[1], b2 = b1[2], b3 = b2[1]
    w11, w12, w21, w22 = s("W1[1,1]"), s("W1[1,2]"), s("W1[2,1]"), s("W1[2,2]")
    w31, w32, b1, b2, b3 = s("W2[1,1]"), s("W2[1,2]"), s("b1[1]"), s("b1[2]"), s("b2[1]")
    assert layer.weights.shape == (1, 2) and layer.biases.shape == (1, 1)
    assert sympy.expand(layer.weights[0, 0] - (w31 * w11 + w32 * w21)) == 0
    assert sympy.expand(layer.weights[0, 1] - (w31 * w12 + w32 * w22)) == 0
    assert sympy.expand(layer.biases[0] - (w31 * b1 + w32 * b2 + b3)) == 0
    # the student's w2' and b' are not the collapse
    assert sympy.expand(layer.weights[0, 1] - (w12 * w31 + w21 * w32)) != 0
    assert sympy.expand(layer.biases[0] - (w11 * b1 + w12 * b2 + b3)) != 0
    assert layer.weight_values is None and layer.bias_values is None and not layer.known
    assert layer.inputs == ("x[1]", "x[2]") and layer.outputs == ("z2[1]",)
    assert layer.biased == (True, True) and layer.certified


def test_seed000_as_latex() -> None:
    solution = solve(SEED000)
    result = collapse_context(layer_of(solution), names_of(solution), {}, 4)
    w1 = r"W^{[1]}_{11} W^{[2]}_{11} + W^{[1]}_{21} W^{[2]}_{12}"
    w2 = r"W^{[1]}_{12} W^{[2]}_{11} + W^{[1]}_{22} W^{[2]}_{12}"
    b = r"W^{[2]}_{11} b^{[1]}_{1} + W^{[2]}_{12} b^{[1]}_{2} + b^{[2]}_{1}"
    assert result["weights"] == [[w1, w2]] and result["biases"] == [b]
    assert result["factored"] == r"W' = W^{[2]} W^{[1]}, \quad b' = W^{[2]} b^{[1]} + b^{[2]}"
    assert result["entries"] == [{"lhs": "w'_{1}", "rhs": w1}, {"lhs": "w'_{2}", "rhs": w2},
                                 {"lhs": "b'", "rhs": b}]
    assert result["numbers"] is None  # nothing has a value
    assert result["equation"] == (
        r"z^{[2]}_{1} = \begin{pmatrix} %s & %s \end{pmatrix} "
        r"\begin{pmatrix} x_{1} \\ x_{2} \end{pmatrix} + \begin{pmatrix} %s \end{pmatrix}" % (w1, w2, b)
    )


def test_seed000_in_the_documents_notation() -> None:
    solution = solve(SEED000)
    notation = Notation(symbols={"W1": "C", "b1": "b", "W2[1,1]": "w_{j1}",
                                 "W2[1,2]": "w_{j2}", "b2[1]": "b_{j}"})
    result = collapse_context(layer_of(solution), names_of(solution, notation), {}, 4)
    terms = [sorted(t.split(" ")) for t in result["biases"][0].split(" + ")]
    assert sorted(terms) == sorted([["b_{1}", "w_{j1}"], ["b_{2}", "w_{j2}"], ["b_{j}"]])


# W1 = [[1, 2], [3, -1]], b1 = (1, 0); W2 = [[2, 0], [1, 1]], b2 = (0, -1);
# W3 = [[1, -2], [0, 1]], b3 = (3, -1); x = (2, 1).
# W2 W1 = [[2, 4], [4, 1]];  W' = W3 W2 W1 = [[2 - 8, 4 - 2], [4, 1]] = [[-6, 2], [4, 1]]
# W2 b1 + b2 = (2, 0);       b' = W3 (2, 0) + b3 = (2 + 3, 0 - 1) = (5, -1)
# W' x + b' = (-12 + 2 + 5, 8 + 1 - 1) = (-5, 8)
HAND_W, HAND_B = [[-6, 2], [4, 1]], [5, -1]


def three_layers(last: str = "identity", hidden: str = "identity") -> Solution:
    network = {"inputs": 2, "layer": [
        {"units": 2, "activation": hidden, "weights": [[1, 2], [3, -1]], "biases": [1, 0]},
        identity(2, weights=[[2, 0], [1, 1]], biases=[0, -1]),
        {"units": 2, "activation": last, "weights": [[1, -2], [0, 1]], "biases": [3, -1]},
    ]}
    return solve(network, {"x": [2, 1]})


def test_numeric_three_layer_collapse() -> None:
    solution = three_layers()
    layer = layer_of(solution)
    assert layer.known and layer.weight_values is not None and layer.bias_values is not None
    assert layer.weight_values.tolist() == HAND_W and list(layer.bias_values) == HAND_B
    assert all(isinstance(v, sympy.Integer) for v in layer.weight_values)  # ints stay exact
    assert layer.biased == (True, True, True) and layer.outputs == ("z3[1]", "z3[2]")
    assert [float(solution.values[f"yhat[{k}]"]) for k in (1, 2)] == [-5.0, 8.0]
    result = collapse_context(layer, names_of(solution), solution.graph.values, 4)
    assert {e["lhs"]: e["value"] for e in result["numbers"]} == {
        "w'_{11}": "-6", "w'_{12}": "2", "w'_{21}": "4", "w'_{22}": "1", "b'_{1}": "5", "b'_{2}": "-1"}
    assert result["factored"] == (
        r"W' = W^{[3]} W^{[2]} W^{[1]}, \quad "
        r"b' = W^{[3]} \left(W^{[2]} b^{[1]} + b^{[2]}\right) + b^{[3]}"
    )
    assert all(e["rhs"] for e in result["numbers"])


def test_collapse_json_has_the_hand_numbers() -> None:
    data = collapse_json(layer_of(three_layers()))
    assert data["weight_values"] == HAND_W and data["bias_values"] == HAND_B
    assert all(isinstance(v, int) for row in data["weight_values"] for v in row)
    assert all(isinstance(v, str) for row in data["weights"] for v in row)
    assert data["certified"] is True and data["outputs"] == ["z3[1]", "z3[2]"]


def test_a_bias_free_network_has_a_zero_bias() -> None:
    # W1 = [[2, -1]] (1 unit from 2 inputs), W2 = [[3], [0.5]]: W' = [[6, -3], [1, -0.5]], b' = 0
    solution = solve({"inputs": 2, "layer": [identity(1, weights=[[2, -1]]),
                                             identity(2, weights=[[3], [0.5]])]})
    layer = layer_of(solution)
    assert layer.biased == (False, False) and list(layer.biases) == [0, 0]
    assert layer.weight_values is not None
    assert [[float(v) for v in row] for row in layer.weight_values.tolist()] == [[6, -3], [1, -0.5]]
    assert collapse_context(layer, names_of(solution), solution.graph.values, 4)["factored"].endswith(
        r"b' = 0")


def test_sigmoid_hidden_layer_does_not_collapse() -> None:
    assert equivalent_layer(three_layers(hidden="sigmoid")) is None
    one = solve({"inputs": 2, "layer": [identity(1, biases=True)]})
    assert equivalent_layer(one) is None  # one layer: nothing to collapse


def test_sigmoid_output_layer_collapses_before_the_activation() -> None:
    solution = three_layers(last="sigmoid")
    layer = layer_of(solution)
    assert layer.weight_values is not None and layer.bias_values is not None
    assert layer.weight_values.tolist() == HAND_W and list(layer.bias_values) == HAND_B
    sigma = [1 / (1 + math.exp(5)), 1 / (1 + math.exp(-8))]  # σ(W'x + b') = σ(-5), σ(8)
    for k, expected in enumerate(sigma, 1):
        assert math.isclose(float(solution.values[f"yhat[{k}]"]), expected, rel_tol=1e-12)


def test_a_wrong_collapse_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The student's w2' = w12 w31 + w21 w32 and b' = w11 b1 + w12 b2 + b3 fail the certificate."""
    w11, w12, w21, w31, w32 = (s(n) for n in ("W1[1,1]", "W1[1,2]", "W1[2,1]", "W2[1,1]", "W2[1,2]"))
    wrong = (sympy.Matrix([[w11 * w31 + w21 * w32, w12 * w31 + w21 * w32]]),
             sympy.Matrix([w11 * s("b1[1]") + w12 * s("b1[2]") + s("b2[1]")]))
    monkeypatch.setattr(collapse_module, "layer_matrices", lambda solution: wrong)
    with pytest.raises(AssertionError, match="z2\\[1\\]"):
        equivalent_layer(solve(SEED000))


def matmul(A: list[list[int]], B: list[list[int]]) -> list[list[int]]:
    return [[sum(A[i][k] * B[k][j] for k in range(len(B))) for j in range(len(B[0]))]
            for i in range(len(A))]


@pytest.mark.parametrize("seed", range(4))
def test_random_integer_networks_against_plain_matrix_products(seed: int) -> None:
    """W' = W3 W2 W1 and b' = W3 (W2 b1 + b2) + b3, multiplied out here with lists of ints."""
    rng = random.Random(seed)
    widths = [rng.randint(1, 3) for _ in range(4)]  # inputs, then the three layers
    Ws = [[[rng.randint(-4, 4) for _ in range(widths[l])] for _ in range(widths[l + 1])]
          for l in range(3)]
    bs = [[rng.randint(-4, 4) for _ in range(widths[l + 1])] for l in range(3)]
    x = [rng.randint(-3, 3) for _ in range(widths[0])]
    W, b = Ws[0], bs[0]
    for Wl, bl in zip(Ws[1:], bs[1:]):
        W, b = matmul(Wl, W), [v + c for (v,), c in zip(matmul(Wl, [[v] for v in b]), bl)]
    solution = solve({"inputs": widths[0], "layer": [
        identity(widths[l + 1], weights=Ws[l], biases=bs[l]) for l in range(3)]}, {"x": x})
    layer = layer_of(solution)
    assert layer.weight_values is not None and layer.bias_values is not None
    assert layer.weight_values.tolist() == W and list(layer.bias_values) == b
    z = [sum(w * v for w, v in zip(row, x)) + c for row, c in zip(W, b)]  # W' x + b'
    assert [solution.values[f"yhat[{k}]"] for k in range(1, len(z) + 1)] == z
