"""Textbook forms: activation derivatives, output heads (ŷ − y, p − y), and their certificates."""

from __future__ import annotations

import math

import pytest
import sympy
from sympy import Derivative, Function, Heaviside, Symbol, exp

import symgrad
from symgrad.calculus import activations as act
from symgrad.calculus.textbook import textbook_head

from conftest import solved

z = Symbol("z", real=True)
ELEMENTWISE = {
    "sigmoid": act.sigmoid(z),
    "tanh": sympy.tanh(z),
    "relu": act.relu(z),
    "leaky_relu": act.leaky_relu(z, sympy.Float("0.01")),
    "softplus": act.softplus(z),
    "exp": exp(z),
}
DEFINITIONS = {  # written out here, not taken from symgrad
    "sigmoid": 1 / (1 + exp(-z)),
    "tanh": (exp(z) - exp(-z)) / (exp(z) + exp(-z)),
    "relu": sympy.Piecewise((z, z > 0), (0, True)),
    "leaky_relu": sympy.Piecewise((z, z > 0), (sympy.Float("0.01") * z, True)),
    "softplus": sympy.log(1 + exp(z)),
    "exp": exp(z),
}


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_registry_covers_every_activation(name: str) -> None:
    assert name in act.ACTIVATIONS


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_derivative_table_agrees_with_the_definition(name: str) -> None:
    table = sympy.diff(ELEMENTWISE[name], z)
    truth = sympy.diff(DEFINITIONS[name], z)
    for point in (-3.1, -0.7, 0.4, 2.9):
        a = float(table.rewrite(exp).subs(z, point).evalf())
        b = float(truth.subs(z, point).evalf())
        assert a == pytest.approx(b, rel=1e-12), (name, point)


@pytest.mark.parametrize("name", ["sigmoid", "softplus", "tanh"])
def test_smooth_derivatives_are_proved_symbolically(name: str) -> None:
    table = sympy.diff(ELEMENTWISE[name], z).rewrite(exp)
    assert sympy.simplify(table - sympy.diff(DEFINITIONS[name], z)) == 0


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
def test_every_activation_rewrites_to_elementary_functions(name: str) -> None:
    rewritten = ELEMENTWISE[name].rewrite(exp)
    assert not rewritten.has(act.sigmoid, act.relu, act.leaky_relu, act.softplus, act.softmax)


def test_softmax_jacobian_and_rewrite() -> None:
    z1, z2, z3 = sympy.symbols("z1 z2 z3", real=True)
    s = [act.softmax(i, z1, z2, z3) for i in (1, 2, 3)]
    assert sympy.diff(s[0], z1) == s[0] * (1 - s[0])
    assert sympy.diff(s[0], z2) == -s[0] * s[1]
    definition = exp(z1) / (exp(z1) + exp(z2) + exp(z3))
    for k, zk in enumerate((z1, z2, z3)):
        jac = sympy.diff(s[0], zk).rewrite(exp)
        assert sympy.simplify(jac - sympy.diff(definition, zk)) == 0, k


def test_sigmoid_numbers_are_stable() -> None:
    from symgrad.calculus.activations import stable_sigmoid, stable_softplus

    assert stable_sigmoid(1000.0) == 1.0
    assert stable_sigmoid(-1000.0) == 0.0
    assert stable_sigmoid(-700.0) == pytest.approx(math.exp(-700.0), rel=1e-12)
    assert stable_softplus(800.0) == 800.0
    assert stable_softplus(-800.0) == 0.0


def one_unit_network(activation: str, loss: str = "half_squared_error", units: int = 1) -> dict:
    return {
        "network": {
            "inputs": 1,
            "loss": loss,
            "layer": [{"units": units, "activation": activation, "weights": [[0.3]] * units,
                       "biases": [0.1 * k for k in range(units)]}],
        },
        "data": {"x": [0.5], "y": [1.0] + [0.0] * (units - 1)},
        "ask": {"gradients": ["W1[1,1]"]},
    }


yhat, y = Symbol("yhat[1]", real=True), Symbol("y[1]", real=True)
z11 = Symbol("z1[1]", real=True)


@pytest.mark.parametrize(
    "activation, expected",
    [
        ("sigmoid", yhat * (1 - yhat)),
        ("tanh", 1 - yhat**2),
        ("softplus", act.sigmoid(z11)),
        ("relu", Heaviside(z11, 0)),
        ("exp", yhat),
        ("identity", sympy.Integer(1)),
        ("g", Derivative(Function("g", real=True)(z11), z11)),
    ],
)
def test_activation_factor_is_in_textbook_form(activation: str, expected: sympy.Expr) -> None:
    solution = symgrad.solve(symgrad.read_problem(one_unit_network(activation)))
    (path,) = solution.gradients["dL/dW1[1,1]"].derivation.paths
    factors = {(f.of, f.wrt): f.expr for f in path}
    assert factors[("L", "yhat[1]")] == yhat - y
    assert factors[("yhat[1]", "z1[1]")] == expected
    assert factors[("z1[1]", "W1[1,1]")] == Symbol("x[1]", real=True)


def test_sigmoid_with_bce_gives_the_error() -> None:
    solution = symgrad.solve(symgrad.read_problem(one_unit_network("sigmoid", "bce")))
    g = solution.gradients["dL/dW1[1,1]"]
    assert g.derivation.result == (yhat - y) * Symbol("x[1]", real=True)
    # by hand: ŷ = σ(0.15), ∂L/∂W = (ŷ − 1)·0.5
    assert g.value == pytest.approx((1 / (1 + math.exp(-0.15)) - 1) * 0.5, rel=1e-12)


def test_softmax_with_cross_entropy_gives_p_minus_y() -> None:
    solution = symgrad.solve(symgrad.read_problem(one_unit_network("softmax", "cross_entropy", 3)))
    g = solution.gradients["dL/dW1[1,1]"]
    assert g.derivation.result == (yhat - y) * Symbol("x[1]", real=True)
    assert g.derivation.assumptions == ("y[1] + y[2] + y[3] = 1",)
    zs = [0.15, 0.15 + 0.1, 0.15 + 0.2]
    p1 = math.exp(zs[0]) / sum(math.exp(v) for v in zs)
    assert g.value == pytest.approx((p1 - 1) * 0.5, rel=1e-12)


def test_head_keeps_the_product_when_nothing_is_simpler() -> None:
    raw = (yhat - y) * yhat * (1 - yhat)
    form, assumptions = textbook_head(raw, yhat, y, [y], False)
    assert form == raw and assumptions == ()


def test_head_of_sigmoid_bce_cancels() -> None:
    raw = (-y / yhat + (1 - y) / (1 - yhat)) * yhat * (1 - yhat)
    assert textbook_head(raw, yhat, y, [y], False) == (yhat - y, ())


def test_displayed_forms_are_certified() -> None:
    solution = solved("two_two_two")
    for g in solution.gradients.values():
        assert g.certificate.startswith(("symbolic", "numeric")), g.certificate


@pytest.mark.parametrize("seed", [0, 17, 999])  # fixed: a failure can be reproduced
def test_random_points_certificate_catches_a_wrong_form(seed: int) -> None:
    from symgrad.engine.build import build
    from symgrad.engine.certify import CertificationError, Certifier

    graph = build(symgrad.read_problem(one_unit_network("sigmoid")))
    wrong = (yhat - y) * (1 - yhat) * (1 + yhat) * Symbol("x[1]", real=True)  # σ' = (1−σ)(1+σ)
    with pytest.raises(CertificationError):
        Certifier(graph).certify("L", "W1[1,1]", wrong, False, seed=seed)


@pytest.mark.parametrize(
    "expr, latex",
    [
        (act.sigmoid(z), r"\sigma\left(z\right)"),
        (act.sigmoid(z) ** 2, r"\sigma\left(z\right)^{2}"),  # sympy passes exp=: must not raise
        (act.relu(z), r"\operatorname{ReLU}\left(z\right)"),
        (act.softplus(z) ** 3, r"\operatorname{softplus}\left(z\right)^{3}"),
        (act.softmax(2, z, 2 * z), r"\operatorname{softmax}_{2}\left(z, 2 z\right)"),
    ],
)
def test_activation_latex(expr: sympy.Expr, latex: str) -> None:
    assert sympy.latex(expr) == latex


@pytest.mark.parametrize(
    "name, latex",
    [
        ("W2[1,1]", "W^{[2]}_{11}"),
        ("W3[12,1]", "W^{[3]}_{12,1}"),
        ("b1[2]", "b^{[1]}_{2}"),
        ("yhat[1]", r"\hat{y}_{1}"),
        ("x[3]", "x_{3}"),
        ("dL/dz2[1]", r"\frac{\partial L}{\partial z^{[2]}_{1}}"),
        ("x1", "x_{1}"),
        ("alpha", r"\alpha"),
    ],
)
def test_latex_names(name: str, latex: str) -> None:
    from symgrad.output.notation import Notation, latex_names, symbol_names

    names = latex_names(["W2[1,1]", "W3[12,1]", "b1[2]", "yhat[1]", "yhat[2]", "x[3]", "x[1]",
                         "z2[1]", "z2[2]", "L", "x1", "alpha"], Notation())
    assert symbol_names({Symbol(name, real=True)}, names)[Symbol(name, real=True)] == latex


@pytest.mark.parametrize(
    "notation, name, latex",
    [
        ({"style": "paren"}, "W2[1,1]", "W^{(2)}_{11}"),
        ({"index_order": "in_out"}, "W1[2,1]", "W^{[1]}_{12}"),
        ({"style": "flat"}, "W2[1,1]", "w_{2}"),
        ({"style": "flat"}, "z1[1]", "z_{1}"),
        ({"symbols": {"W1": "C"}}, "W1[1,2]", "C_{12}"),
        ({"symbols": {"a1": "h"}}, "a1[2]", "h_{2}"),
        ({"symbols": {"W": "w"}}, "W2[2,1]", "w^{[2]}_{21}"),
        ({"symbols": {"yhat": "p"}}, "yhat[1]", "p"),
        ({"symbols": {"L": "J"}}, "L", "J"),
        ({"symbols": {"b2[1]": "b_{j}"}}, "b2[1]", "b_{j}"),
    ],
)
def test_notation(notation: dict, name: str, latex: str) -> None:
    from symgrad.output.notation import Notation, latex_names

    names = ["x[1]", "x[2]", "W1[1,1]", "W1[1,2]", "W1[2,1]", "W1[2,2]", "b1[1]", "b1[2]",
             "z1[1]", "z1[2]", "a1[1]", "a1[2]", "W2[1,1]", "W2[2,1]", "b2[1]", "z2[1]", "yhat[1]",
             "y[1]", "L"]
    if notation.get("style") == "flat":  # a one-unit chain, as flat notation is meant for
        names = ["x[1]", "W1[1,1]", "b1[1]", "z1[1]", "a1[1]", "W2[1,1]", "b2[1]", "z2[1]",
                 "yhat[1]", "y[1]", "L"]
    assert latex_names(names, Notation(**notation))[name] == latex
