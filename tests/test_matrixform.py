"""The matrix form of backprop: the engine's δ vectors against hand-worked ones and the formulas."""

from __future__ import annotations

import copy
import math
import random
import tomllib
from pathlib import Path
from typing import Any

import pytest

import symgrad
from symgrad.analyses.matrixform import backprop_numbers, matrix_form
from symgrad.output.notation import latex_names

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "two_two_two.toml"
# examples/two_two_two.toml, written out by hand
W1, B1 = [[0.15, 0.20], [0.25, 0.30]], [0.35, 0.35]
W2, B2 = [[0.40, 0.45], [0.50, 0.55]], [0.60, 0.60]
X, Y = [0.05, 0.10], [0.01, 0.99]


def solve(problem: dict[str, Any]) -> symgrad.Solution:
    return symgrad.solve(symgrad.read_problem(copy.deepcopy(problem)))


def names_of(solution: symgrad.Solution) -> dict[str, str]:
    return latex_names([n.name for n in solution.graph.nodes], solution.notation)


def example(every_parameter: bool = True) -> symgrad.Solution:
    with open(EXAMPLE, "rb") as handle:
        problem = tomllib.load(handle)
    if every_parameter:  # the file asks for three gradients; the matrix form needs them all
        del problem["ask"]
    return solve(problem)


def sigmoid_layer(w: list[list[float]], b: list[float], a: list[float]) -> list[float]:
    return [1 / (1 + math.exp(-(sum(wij * aj for wij, aj in zip(row, a)) + bi))) for row, bi in zip(w, b)]


def test_two_two_two_matches_the_hand_worked_deltas() -> None:
    solution = example()
    h = sigmoid_layer(W1, B1, X)
    o = sigmoid_layer(W2, B2, h)
    delta2 = [(ok - yk) * ok * (1 - ok) for ok, yk in zip(o, Y)]
    delta1 = [sum(W2[k][j] * delta2[k] for k in range(2)) * h[j] * (1 - h[j]) for j in range(2)]
    n = backprop_numbers(solution)
    assert n is not None
    assert n.deltas[2] == pytest.approx(delta2, rel=1e-12, abs=1e-15)
    assert n.deltas[1] == pytest.approx(delta1, rel=1e-12, abs=1e-15)
    assert n.recomputed[1] == pytest.approx(n.deltas[1], rel=1e-12, abs=1e-12)
    for i in range(2):
        for j in range(2):  # ∂L/∂W^{[2]} = δ2 hᵀ
            got = solution.gradients[f"dL/dW2[{i + 1},{j + 1}]"].value
            assert got == pytest.approx(delta2[i] * h[j], rel=1e-12, abs=1e-15)
            assert n.weight_grads[2][i][j] == got


def test_the_strings_show_pmatrices_and_the_convention() -> None:
    solution = example()
    form = matrix_form(solution, names_of(solution))
    assert form is not None
    assert "one row per unit of layer" in form["convention"] and "torch.nn.Linear" in form["convention"]
    output = form["steps"][0]
    assert output["lhs"] == r"\delta^{[2]}" and r"\nabla_{\hat{y}} L \odot" in output["formula"]
    # the published worked example's δ: 0.138498562 and −0.038098236 (Mazur)
    assert output["value"] == r"\begin{pmatrix} 0.1385 \\ -0.0381 \end{pmatrix}"
    assert [s["lhs"] for s in form["steps"]] == [r"\delta^{[2]}", r"\delta^{[1]}"]
    assert form["gradients"][0]["formula"] == r"\delta^{[2]} (a^{[1]})^{T}"
    assert len(form["gradients"]) == 4  # W and b of both layers
    for entry in form["steps"] + form["gradients"]:
        assert all(isinstance(v, str) for v in entry.values())
        assert r"\begin{pmatrix}" in entry["value"] and r"\end{pmatrix}" in entry["value"]


def random_network(seed: int, output: str = "sigmoid", loss: str = "half_squared_error") -> dict[str, Any]:
    rng = random.Random(seed)
    widths, layers, fan_in = [rng.randint(1, 3), rng.randint(1, 3), 2], [], rng.randint(1, 3)
    inputs = fan_in
    for units, activation in zip(widths, ["tanh", "relu", output]):
        weights = [[round(rng.uniform(-1, 1), 3) for _ in range(fan_in)] for _ in range(units)]
        biases = [round(rng.uniform(-0.5, 0.5), 3) for _ in range(units)]
        layers.append({"units": units, "activation": activation, "weights": weights, "biases": biases})
        fan_in = units
    x = [round(rng.uniform(-1, 1), 3) for _ in range(inputs)]
    y = [0.0, 1.0] if loss == "cross_entropy" else [round(rng.uniform(0, 1), 3) for _ in range(2)]
    return {"network": {"inputs": inputs, "loss": loss, "layer": layers}, "data": {"x": x, "y": y}}


@pytest.mark.parametrize("seed", range(6))
def test_recomputed_deltas_agree_with_the_engine(seed: int) -> None:
    solution = solve(random_network(seed))
    n = backprop_numbers(solution)
    assert n is not None and sorted(n.recomputed) == [1, 2]
    for l in (1, 2):
        assert n.recomputed[l] == pytest.approx(n.deltas[l], rel=1e-12, abs=1e-12)
    # the output step too: δ^{[3]} = ∇_ŷ L ⊙ g'(z^{[3]})
    assert n.output_grad is not None and n.gprimes[3] is not None
    product = [d * g for d, g in zip(n.output_grad, n.gprimes[3])]
    assert product == pytest.approx(n.deltas[3], rel=1e-12, abs=1e-12)
    assert matrix_form(solution, names_of(solution)) is not None


def test_softmax_output_uses_dl_dz_and_softmax_hidden_is_not_elementwise() -> None:
    solution = solve(random_network(1, "softmax", "cross_entropy"))
    form = matrix_form(solution, names_of(solution))
    assert form is not None
    assert form["steps"][0]["formula"] == r"\frac{\partial L}{\partial z^{[3]}}"
    assert r"\hat{y} - y" in form["steps"][0]["note"]
    hidden_softmax = random_network(0)  # seed 0: two units in layer 1 (one-unit softmax is ≡ 1)
    assert hidden_softmax["network"]["layer"][0]["units"] == 2
    hidden_softmax["network"]["layer"][0]["activation"] = "softmax"
    assert matrix_form(solve(hidden_softmax), {}) is None


def test_not_applicable_gives_none() -> None:
    symbolic = random_network(2)
    del symbolic["network"]["layer"][0]["weights"]
    assert matrix_form(solve(symbolic), {}) is None
    no_loss = random_network(2)
    del no_loss["network"]["loss"], no_loss["data"]["y"]
    assert matrix_form(solve(no_loss), {}) is None
    assert matrix_form(example(every_parameter=False), {}) is None  # W1, b2, ... not asked for
