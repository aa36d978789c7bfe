"""The matrix form of backprop: the record's numbers against hand-worked ones and an independent
backward pass written in plain Python (tests/oracle.py), never against the engine itself."""

from __future__ import annotations

import copy
import math
import random
import tomllib
from pathlib import Path
from typing import Any

import pytest

import symgrad
import symgrad.analyses.matrixform as matrixform_module
from symgrad.analyses.matrixform import MatrixBackprop, matrix_backprop
from symgrad.output.context_analyses import matrix_context
from symgrad.output.jsonout import matrix_json

from oracle import backward

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "two_two_two.toml"
# examples/two_two_two.toml, written out by hand
W1, B1 = [[0.15, 0.20], [0.25, 0.30]], [0.35, 0.35]
W2, B2 = [[0.40, 0.45], [0.50, 0.55]], [0.60, 0.60]
X, Y = [0.05, 0.10], [0.01, 0.99]
CLOSE = dict(rel=1e-12, abs=1e-15)


def solve(problem: dict[str, Any]) -> symgrad.Solution:
    return symgrad.solve(symgrad.read_problem(copy.deepcopy(problem)))


def example(every_parameter: bool = True) -> symgrad.Solution:
    with open(EXAMPLE, "rb") as handle:
        problem = tomllib.load(handle)
    if every_parameter:  # the file asks for three gradients; the matrix form needs them all
        del problem["ask"]
    return solve(problem)


def backprop(solution: symgrad.Solution) -> MatrixBackprop:
    m = matrix_backprop(solution)
    assert m is not None
    return m


def sigmoid_layer(w: list[list[float]], b: list[float], a: list[float]) -> list[float]:
    return [1 / (1 + math.exp(-(sum(wij * aj for wij, aj in zip(row, a)) + bi))) for row, bi in zip(w, b)]


def test_two_two_two_matches_the_hand_worked_deltas() -> None:
    m = backprop(example())
    h = sigmoid_layer(W1, B1, X)
    o = sigmoid_layer(W2, B2, h)
    delta2 = [(ok - yk) * ok * (1 - ok) for ok, yk in zip(o, Y)]
    pulled = [W2[0][j] * delta2[0] + W2[1][j] * delta2[1] for j in range(2)]
    delta1 = [pulled[j] * h[j] * (1 - h[j]) for j in range(2)]
    one, two = m.layers
    assert (one.layer, two.layer) == (1, 2) and m.layout == "out_in"
    assert two.delta == pytest.approx(delta2, **CLOSE)
    assert one.delta == pytest.approx(delta1, **CLOSE)
    assert one.propagated == pytest.approx(pulled, **CLOSE) and two.propagated is None
    assert two.derivative == pytest.approx([ok * (1 - ok) for ok in o], **CLOSE)
    assert one.derivative == pytest.approx([hj * (1 - hj) for hj in h], **CLOSE)
    assert m.output_gradient == pytest.approx([ok - yk for ok, yk in zip(o, Y)], **CLOSE)
    assert two.inputs == pytest.approx(h, **CLOSE) and list(one.inputs) == X
    assert [list(r) for r in two.weights] == W2 and [list(r) for r in one.weights] == W1
    for i in range(2):  # ∂L/∂W^{[2]} = δ2 hᵀ, ∂L/∂W^{[1]} = δ1 xᵀ
        assert two.weight_gradient[i] == pytest.approx([delta2[i] * hj for hj in h], **CLOSE)
        assert one.weight_gradient[i] == pytest.approx([delta1[i] * xj for xj in X], **CLOSE)
    assert two.bias_gradient == pytest.approx(delta2, **CLOSE)
    assert one.bias_gradient == pytest.approx(delta1, **CLOSE)
    # the published worked example's δ: 0.138498562 and −0.038098236 (Mazur)
    assert two.delta == pytest.approx([0.138498562, -0.038098236], abs=1e-9)


def test_the_kept_sweep_is_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    solution = example()

    def no_second_sweep(*args: object) -> None:
        raise AssertionError("matrix_backprop swept again")

    monkeypatch.setattr(matrixform_module, "reverse_sweep", no_second_sweep, raising=False)
    monkeypatch.setattr("symgrad.engine.backward.reverse_sweep", no_second_sweep)
    assert matrix_backprop(solution) is not None


def test_the_strings_show_pmatrices_and_the_convention() -> None:
    form = matrix_context(backprop(example()), "L", 4)
    assert "one row per unit of layer" in form["convention"] and "torch.nn.Linear" in form["convention"]
    output = form["steps"][0]
    assert output["lhs"] == r"\delta^{[2]}" and r"\nabla_{\hat{y}} L \odot" in output["formula"]
    assert output["value"] == r"\begin{pmatrix} 0.1385 \\ -0.03810 \end{pmatrix}"  # 4 figures
    assert [s["lhs"] for s in form["steps"]] == [r"\delta^{[2]}", r"\delta^{[1]}"]
    assert form["steps"][1]["numbers"].startswith(
        r"\begin{pmatrix} 0.4 & 0.5 \\ 0.45 & 0.55 \end{pmatrix}")  # (W^{[2]})ᵀ
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


def oracle_of(problem: dict[str, Any]) -> list[dict[str, Any]]:
    net, data = problem["network"], problem["data"]
    layers = [(l["weights"], l["biases"], l["activation"]) for l in net["layer"]]
    return backward(data["x"], layers, data["y"], net["loss"])


def assert_matches_the_oracle(m: MatrixBackprop, expected: list[dict[str, Any]]) -> None:
    assert [l.layer for l in m.layers] == list(range(1, len(expected) + 1))
    for got, want in zip(m.layers, expected):
        close = dict(rel=1e-9, abs=1e-12)
        assert got.delta == pytest.approx(want["delta"], **close)
        assert got.inputs == pytest.approx(want["inputs"], **close)
        assert got.bias_gradient == pytest.approx(want["bias_gradient"], **close)
        for row, row_want in zip(got.weight_gradient, want["weight_gradient"]):
            assert row == pytest.approx(row_want, **close)
        if want["propagated"] is None:
            assert got.propagated is None
        else:
            assert got.propagated == pytest.approx(want["propagated"], **close)
        if want["derivative"] is None:
            assert got.derivative is None
        else:
            assert got.derivative == pytest.approx(want["derivative"], **close)


@pytest.mark.parametrize("seed", range(6))
def test_random_networks_match_an_independent_backward_pass(seed: int) -> None:
    problem = random_network(seed)
    expected = oracle_of(problem)
    assert all(abs(z) > 1e-6 for row in expected for z in row["z"])  # relu away from its kink
    m = backprop(solve(problem))
    assert_matches_the_oracle(m, expected)
    assert m.output_gradient == pytest.approx(expected[-1]["output_gradient"], rel=1e-9, abs=1e-12)


def test_softmax_output_uses_dl_dz_and_softmax_hidden_is_not_elementwise() -> None:
    problem = random_network(1, "softmax", "cross_entropy")
    m = backprop(solve(problem))
    assert_matches_the_oracle(m, oracle_of(problem))
    assert m.layers[-1].derivative is None and m.output_gradient is None
    assert m.head_form is not None and str(m.head_form) == "-y[1] + yhat[1]"  # ŷ − y
    form = matrix_context(m, "L", 4)
    assert form["steps"][0]["formula"] == r"\frac{\partial L}{\partial z^{[3]}}"
    assert r"\hat{y} - y" in form["steps"][0]["note"]
    hidden_softmax = random_network(0)  # seed 0: two units in layer 1 (one-unit softmax is ≡ 1)
    assert hidden_softmax["network"]["layer"][0]["units"] == 2
    hidden_softmax["network"]["layer"][0]["activation"] = "softmax"
    assert matrix_backprop(solve(hidden_softmax)) is None


def test_not_applicable_gives_none() -> None:
    symbolic = random_network(2)
    del symbolic["network"]["layer"][0]["weights"]
    assert matrix_backprop(solve(symbolic)) is None
    no_loss = random_network(2)
    del no_loss["network"]["loss"], no_loss["data"]["y"]
    assert matrix_backprop(solve(no_loss)) is None
    assert matrix_backprop(example(every_parameter=False)) is None  # W1, b2, ... not asked for


def test_matrix_json_holds_the_oracles_numbers() -> None:
    problem = random_network(3)
    data = matrix_json(backprop(solve(problem)))
    for got, want in zip(data["layers"], oracle_of(problem)):
        assert got["delta"] == pytest.approx(want["delta"], rel=1e-9, abs=1e-12)
        assert all(isinstance(v, float) for v in got["delta"])
        assert len(got["weight_gradient"]) == len(want["weight_gradient"])
    assert data["layers"][-1]["propagated"] is None
