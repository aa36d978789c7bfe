"""symgrad.analyses.collapse: every expected matrix below is multiplied out by hand."""

from __future__ import annotations

import math
from typing import Any

import pytest
import sympy
from sympy import Symbol

import symgrad
import symgrad.analyses.collapse as collapse_module
from symgrad.analyses.collapse import collapse, equivalent_layer
from symgrad.output.latex import textbook_latex
from symgrad.output.notation import Notation, latex_names, symbol_names
from symgrad.engine.solution import Solution


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


SEED000 = {"inputs": 2, "layer": [identity(2, biases=True), identity(1, biases=True)]}


def test_seed000_symbolic_collapse() -> None:
    solution = solve(SEED000)
    names = names_of(solution)
    result = collapse(solution, names)
    assert result is not None
    # the document's names: w11 = W1[1,1], w12 = W1[1,2], w21 = W1[2,1], w22 = W1[2,2],
    # w31 = W2[1,1], w32 = W2[1,2], b1 = b1[1], b2 = b1[2], b3 = b2[1]
    w11, w12, w21, w22 = s("W1[1,1]"), s("W1[1,2]"), s("W1[2,1]"), s("W1[2,2]")
    w31, w32, b1, b2, b3 = s("W2[1,1]"), s("W2[1,2]"), s("b1[1]"), s("b1[2]"), s("b2[1]")
    w1_expected = w31 * w11 + w32 * w21
    w2_expected = w31 * w12 + w32 * w22
    b_expected = w31 * b1 + w32 * b2 + b3
    layer = equivalent_layer(solution)
    assert layer is not None
    W, b = layer
    assert W.shape == (1, 2) and b.shape == (1, 1)
    assert sympy.expand(W[0, 0] - w1_expected) == 0
    assert sympy.expand(W[0, 1] - w2_expected) == 0
    assert sympy.expand(b[0] - b_expected) == 0
    # the student's w2' and b' are not the collapse
    assert sympy.expand(W[0, 1] - (w12 * w31 + w21 * w32)) != 0
    assert sympy.expand(b[0] - (w11 * b1 + w12 * b2 + b3)) != 0

    def tex(e: sympy.Expr) -> str:
        return textbook_latex(e, symbol_names(e.free_symbols, names))

    assert result["weights"] == [[tex(w1_expected), tex(w2_expected)]]
    assert result["biases"] == [tex(b_expected)]
    assert result["factored"] == r"W' = W^{[2]} W^{[1]}, \quad b' = W^{[2]} b^{[1]} + b^{[2]}"
    assert [e["lhs"] for e in result["entries"]] == ["w'_{1}", "w'_{2}", "b'"]
    assert [e["rhs"] for e in result["entries"]] == [
        tex(w1_expected), tex(w2_expected), tex(b_expected)]
    assert result["numbers"] is None  # nothing has a value
    assert result["equation"] == (
        r"z^{[2]}_{1} = \begin{pmatrix} %s & %s \end{pmatrix} "
        r"\begin{pmatrix} x_{1} \\ x_{2} \end{pmatrix} + \begin{pmatrix} %s \end{pmatrix}"
        % (tex(w1_expected), tex(w2_expected), tex(b_expected))
    )
    assert all(isinstance(v, str) for row in result["weights"] for v in row)


def test_seed000_in_the_documents_notation() -> None:
    solution = solve(SEED000)
    notation = Notation(symbols={"W1": "C", "b1": "b", "W2[1,1]": "w_{j1}",
                                 "W2[1,2]": "w_{j2}", "b2[1]": "b_{j}"})
    result = collapse(solution, names_of(solution, notation))
    assert result is not None
    terms = [sorted(t.split(" ")) for t in result["biases"][0].split(" + ")]
    assert sorted(terms) == sorted([["b_{1}", "w_{j1}"], ["b_{2}", "w_{j2}"], ["b_{j}"]])


# W1 = [[1, 2], [3, -1]], b1 = (1, 0); W2 = [[2, 0], [1, 1]], b2 = (0, -1);
# W3 = [[1, -2], [0, 1]], b3 = (3, -1); x = (2, 1).
# W2 W1 = [[2, 4], [4, 1]];  W' = W3 W2 W1 = [[2 - 8, 4 - 2], [4, 1]] = [[-6, 2], [4, 1]]
# W2 b1 + b2 = (2, 0);       b' = W3 (2, 0) + b3 = (2 + 3, 0 - 1) = (5, -1)
# W' x + b' = (-12 + 2 + 5, 8 + 1 - 1) = (-5, 8)
def three_layers(last: str = "identity", hidden: str = "identity") -> Solution:
    network = {"inputs": 2, "layer": [
        {"units": 2, "activation": hidden, "weights": [[1, 2], [3, -1]], "biases": [1, 0]},
        identity(2, weights=[[2, 0], [1, 1]], biases=[0, -1]),
        {"units": 2, "activation": last, "weights": [[1, -2], [0, 1]], "biases": [3, -1]},
    ]}
    return solve(network, {"x": [2, 1]})


def numbers(result: dict[str, Any]) -> dict[str, int]:
    return {e["lhs"]: int(e["value"]) for e in result["numbers"]}


def test_numeric_three_layer_collapse() -> None:
    solution = three_layers()
    result = collapse(solution, names_of(solution))
    assert result is not None
    assert numbers(result) == {"w'_{11}": -6, "w'_{12}": 2, "w'_{21}": 4, "w'_{22}": 1,
                               "b'_{1}": 5, "b'_{2}": -1}
    assert [float(solution.values[f"yhat[{k}]"]) for k in (1, 2)] == [-5.0, 8.0]
    assert result["factored"] == (
        r"W' = W^{[3]} W^{[2]} W^{[1]}, \quad "
        r"b' = W^{[3]} \left(W^{[2]} b^{[1]} + b^{[2]}\right) + b^{[3]}"
    )
    assert all(e["rhs"] for e in result["numbers"])


def test_sigmoid_hidden_layer_does_not_collapse() -> None:
    solution = three_layers(hidden="sigmoid")
    assert collapse(solution, names_of(solution)) is None
    one = solve({"inputs": 2, "layer": [identity(1, biases=True)]})
    assert collapse(one, names_of(one)) is None  # one layer: nothing to collapse


def test_sigmoid_output_layer_collapses_before_the_activation() -> None:
    solution = three_layers(last="sigmoid")
    result = collapse(solution, names_of(solution))
    assert result is not None
    assert numbers(result)["b'_{1}"] == 5 and numbers(result)["w'_{21}"] == 4
    sigma = [1 / (1 + math.exp(5)), 1 / (1 + math.exp(-8))]  # σ(W'x + b') = σ(-5), σ(8)
    for k, expected in enumerate(sigma, 1):
        assert math.isclose(float(solution.values[f"yhat[{k}]"]), expected, rel_tol=1e-12)


def test_a_wrong_collapse_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """The student's w2' = w12 w31 + w21 w32 and b' = w11 b1 + w12 b2 + b3 fail the certificate."""
    w11, w12, w21, w31, w32 = (s(n) for n in ("W1[1,1]", "W1[1,2]", "W1[2,1]", "W2[1,1]", "W2[1,2]"))
    wrong = (sympy.Matrix([[w11 * w31 + w21 * w32, w12 * w31 + w21 * w32]]),
             sympy.Matrix([w11 * s("b1[1]") + w12 * s("b1[2]") + s("b2[1]")]))
    monkeypatch.setattr(collapse_module, "equivalent_layer", lambda solution: wrong)
    solution = solve(SEED000)
    with pytest.raises(AssertionError, match="z2\\[1\\]"):
        collapse(solution, names_of(solution))
