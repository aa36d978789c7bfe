"""The Python API a researcher uses: problems from dicts and sympy, expressions in the leaves that
lambdify, compiled batch evaluation, layer gradients and the Jacobian, compact reprs, and the CLI
options of issue 13.  Every number is checked against tests/oracle.py's plain-Python forward pass
(central differences) or a hand computation."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
import sympy

import symgrad
from cli import ROOT, assert_bad_input, run_here as run
from oracle import central_difference, forward

NET = {  # a 3-4-2 sigmoid network with a half squared error, weights [into i][from j]
    "title": "3-4-2",
    "network": {
        "inputs": 3, "loss": "half_squared_error", "learning_rate": 0.5,
        "layer": [
            {"units": 4, "activation": "tanh",
             "weights": [[0.1, -0.2, 0.3], [0.4, 0.5, -0.6], [-0.7, 0.8, 0.9], [0.2, 0.1, -0.3]],
             "biases": [0.1, -0.1, 0.2, 0.0]},
            {"units": 2, "activation": "sigmoid",
             "weights": [[0.3, -0.4, 0.5, 0.6], [-0.1, 0.2, -0.3, 0.4]], "biases": [0.05, -0.05]},
        ],
    },
    "data": {"x": [0.5, -1.0, 2.0], "y": [0.2, 0.7]},
    "ask": {"update": True},
}


def layers_of(net: dict, **change: float) -> list[tuple[list[list[float]], list[float], str]]:
    """The network as oracle layers, with single entries changed ("W2[1,3]": value)."""
    out = []
    for l, layer in enumerate(net["network"]["layer"], 1):
        w = [list(row) for row in layer["weights"]]
        b = list(layer["biases"])
        for name, v in change.items():
            if name.startswith(f"W{l}["):
                i, j = map(int, name[len(f"W{l}["):-1].split(","))
                w[i - 1][j - 1] = v
            elif name.startswith(f"b{l}["):
                b[int(name[len(f"b{l}["):-1]) - 1] = v
        out.append((w, b, layer["activation"]))
    return out


def loss_at(x: list[float], **change: float) -> float:
    return forward(x, layers_of(NET, **change), NET["data"]["y"], "half_squared_error")


def parameter(name: str) -> float:
    l = int(name[1])
    layer = NET["network"]["layer"][l - 1]
    inside = name[name.index("[") + 1:-1]
    if name[0] == "W":
        i, j = map(int, inside.split(","))
        return layer["weights"][i - 1][j - 1]
    return layer["biases"][int(inside) - 1]


def fd(name: str, x: list[float] | None = None) -> float:
    x = x or NET["data"]["x"]
    return central_difference(lambda v: loss_at(x, **{name: v}), parameter(name))


@pytest.fixture(scope="module")
def solution() -> symgrad.Solution:
    return symgrad.solve(NET)


def test_a_dict_is_a_problem(solution: symgrad.Solution) -> None:
    for key, g in solution.gradients.items():
        name = key.split("/d", 1)[1]
        assert g.value == pytest.approx(fd(name), rel=1e-6, abs=1e-9), key
    assert solution.updated["W1[2,3]"] == pytest.approx(-0.6 - 0.5 * fd("W1[2,3]"), rel=1e-6)


def test_repr_is_compact(solution: symgrad.Solution) -> None:
    text = repr(solution)
    assert text.startswith("<Solution '3-4-2'") and len(text) < 120
    sheet = symgrad.solve(ROOT / "examples" / "seed001.toml")
    assert repr(sheet).startswith("<Sheet ") and len(repr(sheet)) < 120


def test_expression_is_written_in_the_leaves_and_lambdifies(solution: symgrad.Solution) -> None:
    expr = solution.expression("dL/dW1[2,3]")
    names = {s.name for s in expr.free_symbols}
    assert names <= {f"W{l}[{i},{j}]" for l in (1, 2) for i in range(1, 5) for j in range(1, 5)} \
        | {f"b{l}[{i}]" for l in (1, 2) for i in range(1, 5)} | {"x[1]", "x[2]", "x[3]", "y[1]", "y[2]"}
    assert all(s.assumptions0 == {"commutative": True} for s in expr.free_symbols)  # plain symbols
    point = {s: 0.0 for s in expr.free_symbols}
    for s in expr.free_symbols:  # the problem's own numbers
        n = s.name
        point[s] = (parameter(n) if n[0] in "Wb" else
                    NET["data"]["x"][int(n[2]) - 1] if n[0] == "x" else NET["data"]["y"][int(n[2]) - 1])
    symbols = sorted(expr.free_symbols, key=str)
    for module in ("numpy", "mpmath", "math"):
        f = sympy.lambdify(symbols, expr, module)
        assert float(f(*(point[s] for s in symbols))) == pytest.approx(fd("W1[2,3]"), rel=1e-6)
    # subs with a symbol the user makes works (plain Symbol, not real=True)
    x1 = sympy.Symbol("x[1]")
    assert solution.symbol("x[1]") == x1 and x1 in expr.free_symbols
    assert expr.subs(x1, 0.5).free_symbols == expr.free_symbols - {x1}


def test_activations_lambdify_stably_at_large_arguments() -> None:
    z = sympy.Symbol("z")
    for f, at, expected in [
        (symgrad_activation("sigmoid")(z), -1000.0, 0.0), (symgrad_activation("sigmoid")(z), 1000.0, 1.0),
        (symgrad_activation("softplus")(z), 1000.0, 1000.0), (symgrad_activation("softplus")(z), -1000.0, 0.0),
    ]:
        with np.errstate(over="raise", invalid="raise"):  # no overflow: the forms are stable
            assert sympy.lambdify([z], f, "numpy")(np.array([at]))[0] == pytest.approx(expected, abs=1e-300)
        assert float(sympy.lambdify([z], f, "mpmath")(at)) == pytest.approx(expected, abs=1e-300)


def symgrad_activation(name: str):  # noqa: ANN201
    from symgrad.calculus import activations

    return getattr(activations, name)


def test_compile_matches_the_oracle_over_a_batch() -> None:
    f = symgrad.compile(NET)
    rng = random.Random(7)
    xs = [[rng.uniform(-2, 2) for _ in range(3)] for _ in range(5)]
    out = f({f"x[{j + 1}]": np.array([x[j] for x in xs]) for j in range(3)})
    assert out["values"]["L"].shape == (5,)
    for k, x in enumerate(xs):
        assert out["values"]["L"][k] == pytest.approx(loss_at(x), rel=1e-12)
        for name in ("W1[1,1]", "W2[2,4]", "b1[3]", "b2[1]"):
            assert out["gradients"][f"dL/d{name}"][k] == pytest.approx(fd(name, x), rel=1e-6, abs=1e-10)
        assert out["updated"]["W2[2,4]"][k] == pytest.approx(0.4 - 0.5 * fd("W2[2,4]", x), rel=1e-6)
    default = f()  # no inputs: the problem's own values, as the engine computed them
    solution = symgrad.solve(NET)
    assert float(default["gradients"]["dL/dW1[2,3]"]) == pytest.approx(solution.gradients["dL/dW1[2,3]"].value, rel=1e-12)


def test_compile_rejects_unknown_names() -> None:
    f = symgrad.compile(NET)
    with pytest.raises(symgrad.SymgradError, match="not an input"):
        f({"x[9]": np.zeros(3)})


@pytest.mark.parametrize("given", [
    {"x[1]": np.zeros(3), "x[2]": np.zeros(4)},  # shapes that do not broadcast
    {"x[1]": "abc"}, {"x[1]": None}, {"x[1]": 1j}, {"x[1]": object()}, {"x[1]": [[1, 2], [3]]},
])
def test_compile_rejects_values_that_are_not_real_arrays(given: dict) -> None:
    """One SymgradError naming the input, not numpy's ValueError or a silent NaN (None) or a
    dropped imaginary part."""
    net = symgrad.compile(ROOT / "examples" / "two_two_two.toml")
    with pytest.raises(symgrad.SymgradError, match="compile: .*x\\[1\\]"):
        net(given)


@pytest.mark.parametrize("problem", [0, 5, None])
def test_a_file_descriptor_is_not_a_file_name(problem: object) -> None:
    """open(0) would read standard input (and close it): only a name or a path is a file."""
    with pytest.raises(symgrad.SymgradError, match="expected a file name"):
        symgrad.compile(problem)  # type: ignore[arg-type]


@pytest.mark.parametrize("options", [
    {"n": 1.5}, {"n": True}, {"n": 0}, {"seed": -1}, {"seed": 2**70}, {"seed": float("nan")},
    {"seed": "a"}, {"precision": 0}, {"precision": 10**6},
])
def test_variants_options_are_checked_as_on_the_command_line(options: dict) -> None:
    """The API takes what -n, --seed and --precision take: not numpy's TypeError or ValueError
    from a seed, nor a float n or a million significant figures."""
    with pytest.raises(symgrad.SymgradError, match=f"variants: {next(iter(options))}: expected"):
        symgrad.variants(ROOT / "examples" / "two_two_two.toml", **options)


@pytest.mark.parametrize("answers", [None, 3, {"values": {"L": 0.3}}])
def test_check_takes_a_file_name(answers: object) -> None:
    with pytest.raises(symgrad.SymgradError, match="expected a file name"):
        symgrad.check(ROOT / "examples" / "two_two_two.toml", answers)  # type: ignore[arg-type]


def test_layer_gradients_and_jacobian(solution: symgrad.Solution) -> None:
    layer = solution.layer_gradients(1)
    assert layer.weights.shape == (4, 3) and layer.weight_values.shape == (4, 3)
    for i in range(4):
        for j in range(3):
            assert layer.weight_values[i, j] == pytest.approx(fd(f"W1[{i + 1},{j + 1}]"), rel=1e-6, abs=1e-10)
        assert layer.bias_values[i] == pytest.approx(fd(f"b1[{i + 1}]"), rel=1e-6, abs=1e-10)
    matrix, values = solution.jacobian()
    assert matrix.shape == values.shape == (2, 3)

    def output(x: list[float], i: int) -> float:  # ŷ_i by the oracle: the identity "loss" picks it
        a = list(x)
        for w, b, act in layers_of(NET):
            z = [sum(wv * v for wv, v in zip(row, a)) + bv for row, bv in zip(w, b)]
            a = [math.tanh(v) for v in z] if act == "tanh" else [1 / (1 + math.exp(-v)) for v in z]
        return a[i]

    x = NET["data"]["x"]
    for i in range(2):
        for j in range(3):
            def moved(v: float, j: int = j, i: int = i) -> float:
                return output([v if k == j else x[k] for k in range(3)], i)
            assert values[i, j] == pytest.approx(central_difference(moved, x[j]), rel=1e-6, abs=1e-10)


def test_the_output_itself_is_a_loss() -> None:
    """CS231n's neuron: f = σ(w0 x0 + w1 x1 + w2) with w = (2, −3, −3), x = (−1, −2)."""
    s = symgrad.solve({"network": {"inputs": 2, "loss": "yhat1", "layer": [
        {"units": 1, "activation": "sigmoid", "weights": [[2.0, -3.0]], "biases": [-3.0]}]},
        "data": {"x": [-1.0, -2.0]}, "ask": {"gradients": ["W1[1,1]", "W1[1,2]", "b1[1]", "x[1]"]}})
    f = 1 / (1 + math.exp(-1.0))
    assert s.values["L"] == pytest.approx(0.7310585786, rel=1e-9)
    assert s.gradients["dL/dW1[1,1]"].value == pytest.approx(-f * (1 - f), rel=1e-12)  # x0 σ'
    assert s.gradients["dL/dW1[1,2]"].value == pytest.approx(-2 * f * (1 - f), rel=1e-12)
    assert s.gradients["dL/db1[1]"].value == pytest.approx(f * (1 - f), rel=1e-12)
    assert s.gradients["dL/dx[1]"].value == pytest.approx(2 * f * (1 - f), rel=1e-12)  # w0 times it


def test_graph_definitions_may_be_sympy_expressions() -> None:
    x, y = sympy.symbols("x y")
    s = symgrad.solve({"graph": {"output": "f", "define": {"f": x * y + sympy.sin(x) + abs(y)}},
                       "data": {"x": 1.0, "y": -2.0}})
    assert s.gradients["df/dx"].value == pytest.approx(-2 + math.cos(1.0), rel=1e-12)
    assert s.gradients["df/dy"].value == pytest.approx(1.0 - 1.0, abs=1e-12)


def test_cli_version_precision_and_outputs(tmp_path: Path) -> None:
    out = run("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"symgrad {symgrad.__version__}"
    problem = str(ROOT / "examples" / "two_two_two.toml")
    out = run("solve", problem, "-o", "-")
    assert out.returncode == 0 and out.stdout.startswith("\\documentclass") and not list(tmp_path.iterdir())
    out = run("solve", problem, "--json", "-o", str(tmp_path))
    assert out.returncode == 0
    assert json.loads((tmp_path / "two_two_two.json").read_text())["title"] == "A 2-2-2 network"
    out = run("solve", problem, "--key", "--questions", "-o", str(tmp_path))
    assert out.returncode == 0
    assert {p.name for p in tmp_path.iterdir()} >= {"two_two_two.tex", "two_two_two-questions.tex"}
    six = run("solve", problem, "--precision", "6", "-o", "-").stdout
    assert "0.358916" in six and "0.358916" not in run("solve", problem, "-o", "-").stdout
    assert_bad_input(run("solve", problem, "--precision", "20"), "--precision")
    assert_bad_input(run("solve", problem, "-o", "-", "--pdf"), "-o -")
