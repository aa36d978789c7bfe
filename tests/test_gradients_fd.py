"""Every gradient symgrad computes matches central finite differences of an independent forward pass."""

from __future__ import annotations

import copy
import random

import pytest
import sympy

import symgrad
from oracle import DERIVATIVES, LOSS_GRADIENTS, backward, central_difference, forward

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "exp", "softmax"]
OUTPUTS_FOR_LOSS = {
    "half_squared_error": HIDDEN,
    "squared_error": HIDDEN,
    "absolute_error": ["identity", "sigmoid", "tanh", "softplus", "exp"],
    "bce": ["sigmoid"],
    "log_likelihood": ["sigmoid"],
    "cross_entropy": ["softmax"],
}


def random_case(seed: int) -> dict:
    rng = random.Random(seed)
    loss = list(OUTPUTS_FOR_LOSS)[seed % len(OUTPUTS_FOR_LOSS)]
    depth = 1 + seed % 4
    widths = [rng.randint(1, 3) for _ in range(depth)]
    if loss == "cross_entropy":
        widths[-1] = max(widths[-1], 2)
    inputs = rng.randint(1, 3)
    layers, fan_in = [], inputs
    for n, units in enumerate(widths):
        last = n == depth - 1
        activation = rng.choice(OUTPUTS_FOR_LOSS[loss] if last else HIDDEN)
        layers.append(
            {
                "units": units,
                "activation": activation,
                "weights": [[round(rng.uniform(-1, 1), 3) for _ in range(fan_in)] for _ in range(units)],
                "biases": [round(rng.uniform(-0.5, 0.5), 3) for _ in range(units)],
            }
        )
        fan_in = units
    if loss == "cross_entropy":
        y = [0.0] * widths[-1]
        y[rng.randrange(widths[-1])] = 1.0
    elif loss in ("bce", "log_likelihood"):
        y = [rng.choice([0.0, 1.0, 0.3]) for _ in range(widths[-1])]
    else:
        y = [round(rng.uniform(-1, 1), 3) for _ in range(widths[-1])]
    problem = {
        "title": f"random network {seed}",
        "network": {"inputs": inputs, "loss": loss, "layer": layers},
        "data": {"x": [round(rng.uniform(-1, 1), 3) for _ in range(inputs)], "y": y},
    }
    if seed % 5 == 0:
        problem["network"]["l2"] = 0.01
    return problem


def oracle_loss(problem: dict) -> float:
    net = problem["network"]
    layers = [(l["weights"], l["biases"], l["activation"]) for l in net["layer"]]
    return forward(problem["data"]["x"], layers, problem["data"]["y"], net["loss"], net.get("l2", 0.0))


def numeric_gradient(problem: dict, name: str) -> float:
    """∂L/∂name by central differences of the oracle, for W{l}[i,j], b{l}[i], x[j] or y[k]."""
    def loss_with(value: float) -> float:
        p = copy.deepcopy(problem)
        set_entry(p, name, value)
        return oracle_loss(p)

    return central_difference(loss_with, get_entry(problem, name))


def locate(problem: dict, name: str) -> tuple[list, int]:
    base, index = name.rstrip("]").split("[")
    idx = [int(k) - 1 for k in index.split(",")]
    if base in ("x", "y"):
        return problem["data"][base], idx[0]
    layer = problem["network"]["layer"][int(base[1:]) - 1]
    if base[0] == "W":
        return layer["weights"][idx[0]], idx[1]
    return layer["biases"], idx[0]


def get_entry(problem: dict, name: str) -> float:
    row, k = locate(problem, name)
    return row[k]


def set_entry(problem: dict, name: str, value: float) -> None:
    row, k = locate(problem, name)
    row[k] = value


@pytest.mark.parametrize("seed", range(36))
def test_every_gradient_matches_finite_differences(seed: int) -> None:
    problem = random_case(seed)
    net = problem["network"]
    names = [f"x[{j}]" for j in range(1, net["inputs"] + 1)]
    for l, layer in enumerate(net["layer"], 1):
        for i in range(1, layer["units"] + 1):
            names += [f"W{l}[{i},{j}]" for j in range(1, len(layer["weights"][0]) + 1)]
            names.append(f"b{l}[{i}]")
    problem["ask"] = {"gradients": names}
    solution = symgrad.solve(symgrad.read_problem(copy.deepcopy(problem)))
    assert solution.values["L"] == pytest.approx(oracle_loss(problem), rel=1e-12, abs=1e-12)
    for name in names:
        expected = numeric_gradient(problem, name)
        got = solution.gradients[f"dL/d{name}"].value
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-6), (name, net)


@pytest.mark.parametrize("seed", [1, 2, 7])
def test_unknown_targets_give_gradients_linear_in_y(seed: int) -> None:
    """With no [data] y, a gradient is an expression in y[k]; at any y it matches the oracle."""
    problem = random_case(seed)
    problem["network"]["loss"] = "half_squared_error"
    targets = problem["data"].pop("y")
    problem["ask"] = {"gradients": ["W1[1,1]", "b1[1]"]}
    solution = symgrad.solve(symgrad.read_problem(copy.deepcopy(problem)))
    for name in ("W1[1,1]", "b1[1]"):
        value = sympy.S(solution.gradients[f"dL/d{name}"].value)
        ys = {sympy.Symbol(f"y[{k}]", real=True): t for k, t in enumerate(targets, 1)}
        assert sympy.Poly(value, *ys).total_degree() <= 1
        problem["data"]["y"] = targets
        assert float(value.subs(ys)) == pytest.approx(numeric_gradient(problem, name), rel=1e-5, abs=1e-6)


def test_random_cases_cover_every_activation_and_loss() -> None:
    from symgrad.calculus.activations import ACTIVATIONS
    from symgrad.calculus.losses import LOSSES

    cases = [random_case(seed) for seed in range(36)]
    activations = {l["activation"] for c in cases for l in c["network"]["layer"]}
    losses = {c["network"]["loss"] for c in cases}
    assert activations == set(ACTIVATIONS) and losses == set(LOSSES)
    assert any("l2" in c["network"] for c in cases)


def test_custom_loss_expression_and_leaky_slope() -> None:
    problem = random_case(3)
    problem["network"]["loss"] = "(yhat1 - y1)**4/4 + sigmoid(yhat1)"
    problem["network"]["layer"][-1]["units"] = 1
    problem["network"]["layer"][-1]["weights"] = problem["network"]["layer"][-1]["weights"][:1]
    problem["network"]["layer"][-1]["biases"] = problem["network"]["layer"][-1]["biases"][:1]
    problem["network"]["layer"][-1]["activation"] = "leaky_relu"
    problem["network"]["layer"][-1]["negative_slope"] = 0.2
    problem["data"]["y"] = [0.3]
    solution = symgrad.solve(symgrad.read_problem(copy.deepcopy(problem)))

    from oracle import ACTIVATIONS, central_difference
    import math

    def loss(p: dict) -> float:
        a = p["data"]["x"]
        for l in p["network"]["layer"]:
            z = [sum(w * v for w, v in zip(row, a)) + b for row, b in zip(l["weights"], l["biases"])]
            a = [v if v > 0 else 0.2 * v for v in z] if l["activation"] == "leaky_relu" \
                else ACTIVATIONS[l["activation"]](z)
        return (a[0] - 0.3) ** 4 / 4 + 1 / (1 + math.exp(-a[0]))

    for name in ("W1[1,1]", "b1[1]"):
        def f(v: float, name: str = name) -> float:
            p = copy.deepcopy(problem)
            set_entry(p, name, v)
            return loss(p)
        expected = central_difference(f, get_entry(problem, name))
        assert solution.gradients[f"dL/d{name}"].value == pytest.approx(expected, rel=1e-5, abs=1e-7)


def test_the_backward_oracle_matches_finite_differences() -> None:
    """tests/oracle.py's backward pass (the matrix-form tests' oracle) is itself checked here:
    its ∂L/∂W = δ aᵀ and ∂L/∂b = δ against central differences of its forward pass."""
    checked = set()
    for seed in range(36):
        problem = random_case(seed)
        net = problem["network"]
        hidden = [l["activation"] for l in net["layer"][:-1]]
        if net["loss"] not in LOSS_GRADIENTS or "softmax" in hidden:
            continue  # the matrix form needs elementwise hidden layers
        net.pop("l2", None)
        layers = [(l["weights"], l["biases"], l["activation"]) for l in net["layer"]]
        rows = backward(problem["data"]["x"], layers, problem["data"]["y"], net["loss"])
        for l, row in enumerate(rows, 1):
            for i, (w_row, b) in enumerate(zip(row["weight_gradient"], row["bias_gradient"]), 1):
                assert b == pytest.approx(numeric_gradient(problem, f"b{l}[{i}]"), rel=1e-5, abs=1e-6)
                for j, w in enumerate(w_row, 1):
                    assert w == pytest.approx(numeric_gradient(problem, f"W{l}[{i},{j}]"),
                                              rel=1e-5, abs=1e-6), (seed, l, i, j)
        checked |= {net["loss"], *(layer[2] for layer in layers)}
    assert checked == set(LOSS_GRADIENTS) | set(DERIVATIVES) | {"softmax"}  # every formula in it
