"""What `verify` proves from: every named function of a claim written in elementary functions.

The table is written out here, independently of the engine's derivative table (the `fdiff`
methods in activations.py): a proof replaces each function by its definition BEFORE anything is
differentiated, so a wrong entry in the engine's table cannot make a wrong claim PROVED.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy
from sympy import Abs, Expr, Function, Heaviside, Piecewise, erf, exp, log, sqrt
from sympy.printing.latex import LatexPrinter

from symgrad.calculus import activations as act


class gelu(Function):  # noqa: N801  (sympy's convention: functions are lower case)
    """The exact GELU, z Φ(z) = z (1 + erf(z/√2))/2 (not the tanh approximation)."""

    nargs = 1

    def _latex(self, printer: LatexPrinter, exp: object = None) -> str:
        return act.latex_call(r"\operatorname{GELU}", printer._print(self.args[0]), exp)


class mish(Function):  # noqa: N801
    """z tanh(softplus(z))."""

    nargs = 1

    def _latex(self, printer: LatexPrinter, exp: object = None) -> str:
        return act.latex_call(r"\operatorname{mish}", printer._print(self.args[0]), exp)


def _softplus(z: Expr) -> Expr:
    return log(1 + exp(z))


def _tanh(z: Expr) -> Expr:
    return (exp(z) - exp(-z)) / (exp(z) + exp(-z))


def _pieces(compare: Callable[[Expr, Expr], Expr]) -> Callable[..., Expr]:
    """Max or Min as a Piecewise: the first argument that beats all the others."""
    def definition(*a: Expr) -> Expr:
        return Piecewise(*((x, sympy.And(*(compare(x, y) for y in a if y is not x))) for x in a[:-1]),
                         (a[-1], True))
    return definition


DEFINITIONS: dict[type, Callable[..., Expr]] = {
    act.sigmoid: lambda z: 1 / (1 + exp(-z)),
    act.softplus: _softplus,
    act.relu: lambda z: Piecewise((z, z > 0), (0, True)),
    act.leaky_relu: lambda z, a: Piecewise((z, z > 0), (a * z, True)),
    act.elu: lambda z, a=sympy.S.One: Piecewise((z, z > 0), (a * (exp(z) - 1), True)),
    act.silu: lambda z: z / (1 + exp(-z)),  # also swish
    act.softsign: lambda z: z / (1 + Abs(z)),
    act.bce: lambda y, p: -(y * log(p) + (1 - y) * log(1 - p)),
    gelu: lambda z: z * (1 + erf(z / sqrt(2))) / 2,
    mish: lambda z: z * _tanh(_softplus(z)),
    sympy.tanh: _tanh,
    sympy.sech: lambda z: 2 / (exp(z) + exp(-z)),
    sympy.cosh: lambda z: (exp(z) + exp(-z)) / 2,
    sympy.sinh: lambda z: (exp(z) - exp(-z)) / 2,
    sympy.Max: _pieces(lambda x, y: x >= y),
    sympy.Min: _pieces(lambda x, y: x <= y),
}
# Functions with a kink where their (first) argument is 0.
KINKED = (act.relu, act.leaky_relu, act.elu, act.softsign, Abs, sympy.sign, Heaviside)


def definitions_in(expr: Expr) -> Expr:
    """Every function of the table replaced by its definition (innermost first, and again while
    a definition brings in another)."""
    for _ in range(len(DEFINITIONS)):
        if not expr.atoms(*DEFINITIONS):
            break
        for cls, definition in DEFINITIONS.items():
            expr = expr.replace(cls, definition)
    return expr
