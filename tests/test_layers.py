"""Convolution, pooling, recurrence, batch normalisation, dropout, mini-batches and optimizers:
hand-worked values, central finite differences of the forward pass for every gradient, and the
worked forms' own relations (the three-term form, each example's gradient, δ through tanh).
PyTorch's autograd, the other oracle, is in test_torch.py."""

from __future__ import annotations

import copy
import math
import random

import pytest

import symgrad
from symgrad.analyses.layerforms import layer_forms
from symgrad.engine.backward import reverse_sweep
from symgrad.engine.optimize import full_env
from symgrad.engine.solution import solve_spec
from symgrad.errors import ProblemError
from symgrad.input.spec import read_problem


def solved(problem: dict):
    return solve_spec(read_problem(copy.deepcopy(problem), "test"))


def conv1d_problem() -> dict:
    return {
        "network": {"inputs": [1, 4], "loss": "yhat1", "layer": [
            {"type": "conv1d", "out_channels": 1, "kernel": 2, "padding": 1, "weights": [[[1, -1]]]},
            {"type": "flatten"},
            {"units": 1, "weights": [[1, 2, 3, 4, 5]]},
        ]},
        "data": {"x": [[1, 2, 3, 4]]},
    }


def test_conv1d_by_hand():
    # padded input 0 1 2 3 4 0, kernel (1, -1): z = (−1, −1, −1, −1, 4); L = Σ_i w_i z_i
    s = solved(conv1d_problem())
    assert [s.values[f"z1[1,{i}]"] for i in range(1, 6)] == [-1, -1, -1, -1, 4]
    assert s.values["L"] == -1 - 2 - 3 - 4 + 20
    # ∂L/∂K₁ = Σ_i w_i x_pad[i] = 0 + 2·1 + 3·2 + 4·3 + 5·4, ∂L/∂K₂ = Σ_i w_i x_pad[i+1]
    assert s.gradients["dL/dK1[1,1,1]"].value == 40
    assert s.gradients["dL/dK1[1,1,2]"].value == 1 + 4 + 9 + 16


def r(rng: random.Random) -> float:
    return round(rng.uniform(-1, 1), 2)


def stacks(seed: int) -> list[dict]:
    """One problem of each new layer, small, with random numbers."""
    rng = random.Random(seed)
    R = lambda: r(rng)  # noqa: E731
    batch = 3
    return [
        {  # conv2d with stride and padding, average pooling, a batch with the summed loss
            "network": {"inputs": [2, 4, 4], "loss": "half_squared_error", "reduction": "sum", "layer": [
                {"type": "conv2d", "out_channels": 2, "kernel": [2, 3], "stride": 2, "padding": [1, 1],
                 "activation": "tanh",
                 "weights": [[[[R() for _ in range(3)] for _ in range(2)] for _ in range(2)] for _ in range(2)],
                 "biases": [R(), R()]},
                {"type": "avgpool", "kernel": [1, 2]},
                {"type": "flatten"},
                {"units": 1, "activation": "sigmoid", "weights": [[R() for _ in range(6)]], "biases": [R()]},
            ]},
            "data": {"x": [[[[R() for _ in range(4)] for _ in range(4)] for _ in range(2)] for _ in range(batch)],
                     "y": [[R()] for _ in range(batch)]},
        },
        {  # an RNN over 3 steps with both biases and h0, then a dense layer
            "network": {"inputs": [3, 2], "loss": "squared_error", "layer": [
                {"type": "rnn", "units": 2, "activation": "tanh",
                 "weights": [[R(), R()], [R(), R()]], "recurrent": [[R(), R()], [R(), R()]],
                 "biases": [R(), R()], "recurrent_biases": [R(), R()], "h0": [R(), R()]},
                {"units": 1, "weights": [[R(), R()]], "biases": [R()]},
            ]},
            "data": {"x": [[R(), R()] for _ in range(3)], "y": [R()]},
        },
        {  # an RNN with a ReLU cell on a mini-batch of two sequences
            "network": {"inputs": [2, 2], "loss": "half_squared_error", "layer": [
                {"type": "rnn", "units": 2, "activation": "relu",
                 "weights": [[R(), R()], [R(), R()]], "recurrent": [[R(), R()], [R(), R()]],
                 "biases": [0.3, 0.3]},
                {"units": 1, "weights": [[R(), R()]]},
            ]},
            "data": {"x": [[[R(), R()] for _ in range(2)] for _ in range(2)], "y": [[R()], [R()]]},
        },
        {  # batch normalisation and dropout over a batch, softmax as its own layer, cross-entropy
            "network": {"inputs": 2, "loss": "cross_entropy", "layer": [
                {"units": 3, "activation": "relu", "weights": [[R(), R()] for _ in range(3)], "biases": [0.5, 0.5, 0.5]},
                {"type": "batchnorm", "gamma": [R(), R(), R()], "beta": [R(), R(), R()], "epsilon": 0.001},
                {"type": "dropout", "p": 0.5, "mask": [[1, 0, 1], [1, 1, 0], [0, 1, 1]]},
                {"units": 2, "weights": [[R(), R(), R()], [R(), R(), R()]]},
                {"type": "activation", "activation": "softmax"},
            ]},
            "data": {"x": [[R(), R()] for _ in range(batch)], "y": [[1, 0], [0, 1], [1, 0]]},
        },
    ]


@pytest.mark.parametrize("seed", [1])
@pytest.mark.parametrize("which", [0, 1, 2, 3])
def test_every_gradient_matches_finite_differences(seed, which):
    """∂L/∂θ for every parameter against (L(θ + h) − L(θ − h)) / 2h of the forward pass alone."""
    s = solved(stacks(seed)[which])
    graph = s.graph
    sweep = reverse_sweep(graph, "L")
    loss = graph.node("L").symbol

    def L(shifted: dict) -> float:
        env = dict(graph.values)
        env.update(shifted)
        for node in graph.nodes:
            if node.expr is not None:
                from symgrad.engine.numeric import evaluate
                env[node.symbol] = evaluate(node.expr, env)
        return float(env[loss])

    env = full_env(graph, sweep)
    h = 1e-6
    for name in graph.updatable:
        p = graph.node(name).symbol
        numeric = (L({p: graph.values[p] + h}) - L({p: graph.values[p] - h})) / (2 * h)
        mine = float(env[sweep.adjoint_symbols[p]]) if p in sweep.relevant else 0.0
        assert mine == pytest.approx(numeric, rel=1e-5, abs=1e-7), name
        if f"dL/d{name}" in s.gradients:  # the engine's own (textbook) result, the same number
            assert float(s.gradients[f"dL/d{name}"].value) == pytest.approx(mine, rel=1e-12, abs=1e-15)


def test_worked_forms_hold_their_relations():
    batch, rnn, batch_rnn, norm = (solved(p) for p in stacks(3))
    assert [r.example for r in layer_forms(batch_rnn).recurrences] == [1, 2]
    forms = layer_forms(batch)
    assert forms is not None and forms.convolutions and forms.poolings
    for g in forms.batch:  # the sum of the examples' gradients is the gradient (reduction "sum")
        assert g.reduced == pytest.approx(float(batch.gradients[f"dL/d{g.parameter}"].value), rel=1e-12, abs=1e-15)
    for route in forms.poolings[0].routes:  # an average of two: half of the gradient to each
        assert [share for _, _, share in route.window] == [0.5, 0.5]
    for entry in forms.convolutions[0].entries:  # the correlation's terms add up to the gradient
        assert math.fsum(t.delta_value * t.other_value for t in entry.terms) == pytest.approx(entry.value, abs=1e-15)
    steps = layer_forms(rnn).recurrences[0].steps
    assert [s.t for s in steps] == [3, 2, 1]
    for s in steps:  # δ_t = ∂L/∂h_t ⊙ (1 − h_t²) for a tanh cell
        for dz, dh, h in zip(s.dz, s.dh, s.h):
            assert dz == pytest.approx(dh * (1 - h * h), rel=1e-12, abs=1e-15)
    features = layer_forms(norm).normalisations[0].features
    for f in features:  # the three-term form, from ∂L/∂x̂ alone, is the chain rule's ∂L/∂x
        assert f.three_term == pytest.approx(f.dx, rel=1e-9, abs=1e-12)
        assert sum(f.xhat) == pytest.approx(0, abs=1e-12)


def one_weight(optimizer: dict) -> dict:
    """L = ½(w x − y)² with x = 2, y = 1, w = 1: ∂L/∂w = (w x − y) x = 2 at the start."""
    return {"network": {"inputs": 1, "loss": "half_squared_error", "layer": [{"units": 1, "weights": [[1.0]]}]},
            "data": {"x": [2], "y": [1]}, "optimizer": optimizer}


def test_optimizers_by_hand():
    # SGD with momentum 0.9, η = 0.1: b = 2, w = 0.8; then g = (1.6 − 1)·2 = 1.2, b = 1.8 + 1.2 = 3, w = 0.5
    s = solved(one_weight({"name": "sgd", "lr": 0.1, "momentum": 0.9, "steps": 2}))
    assert [st.states["W1[1,1]"]["velocity"] for st in s.steps] == pytest.approx([2, 3])
    assert s.updated["W1[1,1]"] == pytest.approx(0.5)
    assert [st.loss for st in s.steps] == pytest.approx([0.5, 0.5 * 0.6**2])
    # Adam's first step is η·sign(g) (m̂ = g, v̂ = g²): w = 1 − 0.1·2/(2 + 1e-8)
    s = solved(one_weight({"name": "adam", "lr": 0.1, "steps": 1}))
    state = s.steps[0].states["W1[1,1]"]
    assert (state["m"], state["v"], state["mhat"], state["vhat"]) == pytest.approx((0.2, 0.004, 2, 4))
    assert s.updated["W1[1,1]"] == pytest.approx(1 - 0.2 / (2 + 1e-8), rel=1e-15)
    # RMSprop, α = 0.99: v = 0.01·4, w = 1 − 0.1·2/(0.2 + 1e-8); weight decay 0.5 adds 0.5·w to g
    s = solved(one_weight({"name": "rmsprop", "lr": 0.1, "weight_decay": 0.5}))
    g = 2 + 0.5
    assert s.updated["W1[1,1]"] == pytest.approx(1 - 0.1 * g / (math.sqrt(0.01 * g * g) + 1e-8), rel=1e-15)


@pytest.mark.parametrize("change, message", [
    (lambda p: p["network"]["layer"].pop(1), "flatten"),
    (lambda p: p["network"]["layer"][0].update(kernel=9), "does not fit"),
    (lambda p: p["network"]["layer"][0].update(weights=[[[1, -1, 0]]]), "layer[1].weights"),
    (lambda p: p["network"].update(inputs=[1, 2, 2]), "conv1d expects"),
    (lambda p: p["network"]["layer"][1].update(type="rnn", units=1), "must come first"),
    (lambda p: p["network"]["layer"].append({"type": "batchnorm"}), "mini-batch"),
    (lambda p: p["network"]["layer"][1].update(type="dropout", p=0.5, mask=[[1, 2, 1, 1, 1]]), "expected 0 or 1"),
    (lambda p: p.update(optimizer={"name": "adagrad", "lr": 0.1}), "sgd | rmsprop | adam"),
    (lambda p: p.update(optimizer={"name": "sgd", "lr": 0.1, "nesterov": True}), "momentum > 0"),
    (lambda p: p.update(optimizer={"name": "adam", "lr": 0.1, "momentum": 0.9}), "adam takes no momentum"),
])
def test_bad_layers_are_one_line(change, message):
    problem = conv1d_problem()
    change(problem)
    with pytest.raises(ProblemError) as error:
        solved(problem)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_api_solves_a_batch():
    s = symgrad.solve(stacks(4)[0])
    assert s.to_json()["values"]["L"] == pytest.approx(solved(stacks(4)[0]).values["L"])


def test_json_holds_the_steps_and_the_layer_forms():
    problem = one_weight({"name": "sgd", "lr": 0.1, "momentum": 0.9, "steps": 2})
    out = symgrad.solve(problem).to_json()
    steps = out["optimizer"]["steps"]
    assert [s["step"] for s in steps] == [1, 2] and out["optimizer"]["name"] == "sgd"
    assert [s["states"]["W1[1,1]"]["velocity"] for s in steps] == pytest.approx([2, 3])  # by hand above
    assert out["updated"]["W1[1,1]"] == pytest.approx(0.5)
    batch = symgrad.solve(stacks(5)[0]).to_json()
    forms = batch["layers"]
    assert forms["convolutions"][0]["layer"] == 1 and forms["poolings"][0]["kind"] == "avgpool"
    for name, g in forms["batch"].items():  # the reduction is "sum": the examples' gradients add up
        assert g["sum"] == pytest.approx(math.fsum(g["per_example"]), abs=1e-15)
        assert g["sum"] == pytest.approx(batch["gradients"][f"dL/d{name}"]["value"], rel=1e-12, abs=1e-15)


def test_max_pooling_routes_a_tie_to_the_first_largest_entry():
    """As PyTorch does: of 3 and 3, the first gets the whole gradient (not half each)."""
    problem = {"network": {"inputs": [1, 4], "loss": "yhat1", "layer": [
        {"type": "maxpool", "kernel": 4}, {"type": "flatten"}, {"units": 1, "weights": [[2.0]]}]},
        "data": {"x": [[1, 3, 3, 2]], "y": [0]},
        "ask": {"gradients": [f"x[1,{i}]" for i in range(1, 5)]}}
    s = solved(problem)
    assert [s.gradients[f"dL/dx[1,{i}]"].value for i in range(1, 5)] == [0, 2, 0, 0]
    route = layer_forms(s).poolings[0].routes[0]
    assert [share for _, _, share in route.window] == [0, 1, 0, 0]
