"""symgrad.output.latex: every expected string below is written by hand, as an answer sheet should read."""

from __future__ import annotations

import math

import pytest
import sympy
from sympy import Derivative, Function, Heaviside, Mul, Symbol, cos, exp, sign, symbols

from symgrad.calculus.activations import sigmoid
from symgrad.output.latex import Number, format_number, substituted_latex, textbook_latex

yhat, y, a, a1, z, x2, g1, g2, W, p = symbols("yhat y a a1 z x2 g1 g2 W p")
g = Function("g")
W211, yhat1 = Symbol("W2[1,1]"), Symbol("yhat[1]")
NAMES: dict[Symbol, str] = {
    yhat: r"\hat{y}",
    a1: "a_{1}",
    x2: "x_{2}",
    g1: "g_{1}",
    g2: "g_{2}",
    W211: "W^{[2]}_{11}",
    yhat1: r"\hat{y}_{1}",
}


@pytest.mark.parametrize(
    ("x", "precision", "expected"),
    [
        (36, 4, "36"),
        (-16, 4, "-16"),
        (0, 4, "0"),
        (123456789, 4, "123456789"),  # ints are exact, never rounded
        (0.0, 4, "0"),
        (-0.0, 4, "0"),
        (0.082167041, 4, "0.08217"),
        (0.3775, 4, "0.3775"),
        (0.75136507, 4, "0.7514"),
        (1.5, 4, "1.5"),
        (2.0, 4, "2"),
        (0.1, 4, "0.1"),
        (12345.678, 4, "12350"),
        (99999.4, 4, r"1 \times 10^{5}"),  # rounds up into the next power: scientific
        (0.59982, 4, "0.5998"),
        (-0.09606, 4, "-0.09606"),
        (0.00099996, 4, "0.001"),  # rounds up into the fixed-point range
        (0.001, 4, "0.001"),
        (1e5, 4, r"1 \times 10^{5}"),
        (1.2346e-5, 4, r"1.235 \times 10^{-5}"),
        # the double nearest 1.2345e-5 is 1.23449999...e-5: it rounds down, as Python's "e" does
        (1.2345e-5, 4, r"1.234 \times 10^{-5}"),
        (1e-7, 4, r"1 \times 10^{-7}"),
        (6.02e23, 4, r"6.02 \times 10^{23}"),
        (-3.3e-4, 4, r"-3.3 \times 10^{-4}"),
        (9.99996e-5, 4, r"1 \times 10^{-4}"),
        (0.75136507, 2, "0.75"),
        (2.5, 1, "2"),  # round half to even
        (1234.5, 6, "1234.5"),
    ],
)
def test_format_number(x: Number, precision: int, expected: str) -> None:
    assert format_number(x, precision) == expected


@pytest.mark.parametrize("x", [math.inf, -math.inf, math.nan])
def test_format_number_rejects_non_finite(x: float) -> None:
    with pytest.raises(ValueError):
        format_number(x)


def test_format_number_rejects_bool() -> None:
    with pytest.raises(TypeError):
        format_number(True)


def test_format_number_default_precision_is_four() -> None:
    assert format_number(math.pi) == "3.142"


TEXTBOOK = [
    (yhat - y, r"\hat{y} - y"),
    (1 - a, "1 - a"),
    (-a - y, "- a - y"),  # all negative: as sympy prints it
    # sympy distributes 2*(yhat - y); the factored form is built unevaluated
    (Mul(2, yhat - y, evaluate=False), r"2 \left(\hat{y} - y\right)"),
    (Mul(-1, yhat - y, evaluate=False), r"- \left(\hat{y} - y\right)"),
    (-2 * a, "- 2 a"),
    (yhat * (1 - yhat), r"\hat{y} \left(1 - \hat{y}\right)"),
    (-y / yhat + (1 - y) / (1 - yhat), r"\frac{1 - y}{1 - \hat{y}} - \frac{y}{\hat{y}}"),
    (
        a1 * yhat * (1 - yhat) * (yhat - y),
        r"a_{1} \hat{y} \left(1 - \hat{y}\right) \left(\hat{y} - y\right)",
    ),
    (sigmoid(z) * (1 - sigmoid(z)), r"\sigma\left(z\right) \left(1 - \sigma\left(z\right)\right)"),
    (yhat * (1 - yhat) ** 2, r"\hat{y} \left(1 - \hat{y}\right)^{2}"),
    (Derivative(g(z), z), r"g'\left(z\right)"),
    (Derivative(g(z), z).subs(z, 0.5), r"g'\left(0.5\right)"),  # sympy's Subs form
    (g(2 * z).diff(z), r"2 g'\left(2 z\right)"),
    (Heaviside(z, 0), r"H\left(z\right)"),
    (Heaviside(z), r"H\left(z\right)"),
    (sign(z), r"\operatorname{sign}\left(z\right)"),
    (exp(-z), "e^{- z}"),
    # "\cos{\left(g_{1} \right)}" keeps sympy's own spacing for functions without a _latex
    (cos(g1) * exp(x2) + 2 * g2, r"2 g_{2} + e^{x_{2}} \cos{\left(g_{1} \right)}"),
    (W211 * yhat1, r"W^{[2]}_{11} \hat{y}_{1}"),
    (W211 + yhat1, r"W^{[2]}_{11} + \hat{y}_{1}"),
    (Symbol("x1") * yhat, r"x_{1} \hat{y}"),  # x1 has no name: sympy's default
    # ... but letter for letter: sympy would print \mathscr{x} (not in the preamble), \hat{x}
    (Symbol("xscr") + Symbol("xhat"), r"\mathit{xhat} + \mathit{xscr}"),
    (Function("phi")(z), r"\phi{\left(z \right)}"),
    (Derivative(Function("gscr")(z), z), r"\operatorname{gscr}'\left(z\right)"),
    (1 / yhat, r"\frac{1}{\hat{y}}"),
    (Mul(2, 3, evaluate=False), r"2 \cdot 3"),  # numbers never run together
]


@pytest.mark.parametrize(("expr", "expected"), TEXTBOOK)
def test_textbook_latex(expr: sympy.Expr, expected: str) -> None:
    assert textbook_latex(expr, NAMES) == expected


def test_cross_entropy_gradient_prints_a_fraction_positive_term_first() -> None:
    tex = textbook_latex(-y / yhat + (1 - y) / (1 - yhat), NAMES)
    assert r"\frac" in tex and not tex.startswith("-")


@pytest.mark.parametrize(("expr", "_expected"), TEXTBOOK)
def test_substituted_without_values_is_textbook(expr: sympy.Expr, _expected: str) -> None:
    assert substituted_latex(expr, NAMES, {}) == textbook_latex(expr, NAMES)


YHAT = 0.75136507
SUBSTITUTED = [
    # the seed example; every product is joined with \cdot once numbers are in
    (Mul(2, yhat - y, evaluate=False), {yhat: 36, y: 32}, r"2 \cdot \left(36 - 32\right)"),
    (yhat - y, {yhat: YHAT, y: 0.01}, "0.7514 - 0.01"),
    (yhat - y, {yhat: YHAT, y: -0.5}, r"0.7514 - \left(-0.5\right)"),
    (yhat, {yhat: -0.40019}, "-0.4002"),  # the whole expression: bare
    (yhat * y, {yhat: -2, y: 36}, r"36 \cdot \left(-2\right)"),  # ints stay exact; y \hat{y}
    (W * a, {W: -3, a: 0.88079708}, r"\left(-3\right) \cdot 0.8808"),
    (
        (yhat - y) * yhat * (1 - yhat) * a,
        {yhat: YHAT, y: 0.01, a: 0.59326999},
        # the factor order of the symbolic line, a ŷ (1 − ŷ)(ŷ − y), not the order written here
        r"0.5933 \cdot 0.7514 \cdot \left(1 - 0.7514\right) \cdot \left(0.7514 - 0.01\right)",
    ),
    (
        (p - y) * p * a,
        {p: 0.28231, a: 0.88079708},
        r"0.8808 \cdot 0.2823 \cdot \left(0.2823 - y\right)",  # y has no value
    ),
    (sigmoid(z), {z: 0.4047}, r"\sigma\left(0.4047\right)"),
    (sigmoid(z), {z: -0.4047}, r"\sigma\left(-0.4047\right)"),  # a whole argument: bare
    (exp(x2), {x2: 0.5}, "e^{0.5}"),
    (exp(x2), {x2: -0.5}, "e^{-0.5}"),  # a whole exponent: bare
    (cos(g1), {g1: 1.64872}, r"\cos{\left(1.649 \right)}"),
    (
        cos(g1) * exp(x2) + 2 * g2,
        {g1: 1.64872, x2: 0.5, g2: 2.0},
        r"2 \cdot 2 + e^{0.5} \cdot \cos{\left(1.649 \right)}",
    ),
    (yhat**2, {yhat: 0.75}, "0.75^{2}"),
    (yhat**2, {yhat: -0.75}, r"\left(-0.75\right)^{2}"),
    (-y * yhat, {yhat: YHAT, y: -0.5}, r"- \left(-0.5\right) \cdot 0.7514"),
    (
        -y / yhat + (1 - y) / (1 - yhat),
        {yhat: YHAT, y: 0.01},
        r"\frac{1 - 0.01}{1 - 0.7514} - \frac{0.01}{0.7514}",
    ),
    (Derivative(g(z), z), {z: 0.5}, r"g'\left(0.5\right)"),
    # the step function is evaluated once its argument has a number: H(0.4047) is 1
    (Heaviside(z, 0) * W, {z: 0.4047, W: -3}, r"\left(-3\right) \cdot 1"),
    (Heaviside(z, 0) * W, {z: -0.4047, W: -3}, r"\left(-3\right) \cdot 0"),
    (Heaviside(z, 0), {z: 0.0}, "0"),  # the engine's H(0) = 0, its second argument
    (W211 * yhat1, {yhat1: 0.5}, r"W^{[2]}_{11} \cdot 0.5"),
    (yhat, {yhat: 1.2346e-5}, r"1.235 \times 10^{-5}"),
    # only factors that show a number get a \cdot before them
    (Mul(2, y, evaluate=False) * yhat, {yhat: 0.5}, r"2 y \cdot 0.5"),
    (a * y, {a: 0.88079708}, r"0.8808 y"),
]


@pytest.mark.parametrize(("expr", "values", "expected"), SUBSTITUTED)
def test_substituted_latex(expr: sympy.Expr, values: dict[Symbol, Number], expected: str) -> None:
    # every number given (the problem's own data): printed as given, without trailing zeros
    assert substituted_latex(expr, NAMES, values, given=values.keys()) == expected


def test_substituted_latex_precision() -> None:
    assert substituted_latex(yhat - y, NAMES, {yhat: YHAT, y: 0.01}, precision=2, given={y}) == "0.75 - 0.01"


@pytest.mark.parametrize(
    ("values", "given", "expected"),
    [
        ({yhat: 0.24, y: 0.01}, {y}, "0.2400 - 0.01"),  # computed: the stated precision, zeros kept
        ({yhat: 0.24, y: 0.01}, {yhat, y}, "0.24 - 0.01"),
        ({yhat: 1.01, y: -0.00522}, set(), r"1.010 - \left(-0.005220\right)"),
        ({yhat: 36, y: 32}, set(), "36 - 32"),  # exact integers stay exact
    ],
)
def test_computed_numbers_keep_their_zeros(values: dict[Symbol, Number], given: set[Symbol], expected: str) -> None:
    assert substituted_latex(yhat - y, NAMES, values, given=given) == expected


@pytest.mark.parametrize(
    ("x", "precision", "expected"),
    [(0.24, 4, "0.2400"), (-0.00522, 4, "-0.005220"), (1.01, 4, "1.010"), (2.0, 4, "2.000"),
     (12345.678, 4, "12350"), (1.2e-5, 4, r"1.200 \times 10^{-5}"), (99999.4, 4, r"1.000 \times 10^{5}"),
     (0.0, 4, "0"), (7, 4, "7"), (0.5, 1, "0.5")],
)
def test_format_number_keeps_zeros(x: Number, precision: int, expected: str) -> None:
    assert format_number(x, precision, keep_zeros=True) == expected


def test_a_plain_factor_sits_next_to_its_group_and_a_log_comes_last() -> None:
    f, x1 = symbols("f x1")
    assert textbook_latex(x1 * f * (1 - f), {x1: "x_{1}"}) == r"x_{1} f \left(1 - f\right)"  # not f(x_1)
    assert textbook_latex((1 - y) * sympy.log(1 - yhat), NAMES) == (
        r"\left(1 - y\right) \log{\left(1 - \hat{y} \right)}")
