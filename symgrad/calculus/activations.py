"""Activation functions as sympy Functions whose derivatives come out in textbook form.

Each `fdiff` is written in terms of the function itself, as sympy's own `tanh.fdiff` returns
`1 - tanh**2`: sigmoid's returns σ(z)(1 − σ(z)), softplus's returns σ(z), ReLU's the step
function.  Each also rewrites to its definition in elementary functions (`rewrite(exp)`), so that a
derivative can be checked against the definition rather than against this table.

The registry `ACTIVATIONS` maps the names a problem file may use to an `Activation`, which applies
the function to a whole layer (softmax needs every pre-activation of its layer).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sympy
from sympy import Expr, Function, Heaviside, Piecewise, exp, log
from sympy.core.function import ArgumentIndexError
from sympy.printing.latex import LatexPrinter


def stable_sigmoid(z: float) -> float:
    """σ(z) in floating point without overflow for any z (the numeric evaluators' form)."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def stable_softplus(z: float) -> float:
    """log(1 + e^z) in floating point without overflow for any z."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def latex_call(operator: str, arguments: str, exp: object) -> str:
    """f(z), or f(z)^{n} when sympy prints a power of it (it passes `exp`)."""
    call = r"%s\left(%s\right)" % (operator, arguments)
    return call if exp is None else r"%s^{%s}" % (call, exp)


# Numeric printers, so that `sympy.lambdify` of any expression symgrad hands out works with the
# "numpy", "mpmath" and "math" modules.  Each form is stable for large arguments: σ(z) as
# exp(−softplus(−z)) and softplus(z) = max(z, 0) + log1p(e^{−|z|}) never overflow; mpmath
# has an unbounded exponent, so the definitions serve as they are.
def call(printer: object, dotted: str) -> str:
    """A module's function as the printer writes it ("numpy.exp", or "exp" inside lambdify)."""
    return printer._module_format(dotted)  # type: ignore[attr-defined]


def numpy_call(printer: object, name: str) -> str:
    return call(printer, f"numpy.{name}")


def printed(printer: object, *args: Expr) -> list[str]:
    return [printer._print(a) for a in args]  # type: ignore[attr-defined]


def stable_softplus_code(module: str, printer: object, z: str) -> str:
    if module == "numpy":
        return f"{numpy_call(printer, 'logaddexp')}(0, {z})"
    if module == "mpmath":
        return f"{call(printer, 'mpmath.log1p')}({call(printer, 'mpmath.exp')}({z}))"
    return f"(max({z}, 0) + {call(printer, 'math.log1p')}({call(printer, 'math.exp')}(-abs({z}))))"



class sigmoid(Function):  # noqa: N801  (sympy's convention: functions are lower case)
    """The logistic function σ(z) = 1/(1 + e^{-z})."""

    @classmethod
    def eval(cls, z: Expr) -> Expr | None:
        if z.is_zero:
            return sympy.S.Half
        return None

    def fdiff(self, argindex: int = 1) -> Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, z: Expr, **kwargs: object) -> Expr:
        return 1 / (1 + exp(-z))

    def _eval_evalf(self, prec: int) -> Expr:
        return self.rewrite(exp)._eval_evalf(prec)

    def _numpycode(self, printer: object) -> str:
        (z,) = printed(printer, *self.args)
        return f"{numpy_call(printer, 'exp')}(-{stable_softplus_code('numpy', printer, f'-({z})')})"

    def _mpmathcode(self, printer: object) -> str:
        (z,) = printed(printer, *self.args)
        return f"(1/(1 + {call(printer, 'mpmath.exp')}(-({z}))))"

    def _pythoncode(self, printer: object) -> str:
        (z,) = printed(printer, *self.args)
        return f"{call(printer, 'math.exp')}(-{stable_softplus_code('math', printer, f'-({z})')})"

    def _latex(self, printer: LatexPrinter, exp: object = None) -> str:
        return latex_call(r"\sigma", printer._print(self.args[0]), exp)


class relu(Function):  # noqa: N801
    """max(0, z); its derivative is the step function, taken as 0 at z = 0 (as PyTorch does)."""

    @classmethod
    def eval(cls, z: Expr) -> Expr | None:
        if z.is_number and z.is_comparable:
            return sympy.Max(z, 0)
        return None

    def fdiff(self, argindex: int = 1) -> Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return Heaviside(self.args[0], 0)

    def _eval_rewrite_as_exp(self, z: Expr, **kwargs: object) -> Expr:
        return sympy.Max(z, 0)

    _eval_rewrite_as_Max = _eval_rewrite_as_exp

    def _eval_rewrite_as_Piecewise(self, z: Expr, **kwargs: object) -> Expr:
        return Piecewise((z, z > 0), (0, True))

    def _numpycode(self, printer: object) -> str:
        (z,) = printed(printer, *self.args)
        return f"{numpy_call(printer, 'maximum')}({z}, 0)"

    def _mpmathcode(self, printer: object) -> str:
        (z,) = printed(printer, *self.args)
        return f"{call(printer, 'mpmath.mpf')}(max({z}, 0))"

    def _pythoncode(self, printer: object) -> str:
        (z,) = printed(printer, *self.args)
        return f"max({z}, 0)"

    def _latex(self, printer: LatexPrinter, exp: object = None) -> str:
        return latex_call(r"\operatorname{ReLU}", printer._print(self.args[0]), exp)


class leaky_relu(Function):  # noqa: N801
    """z for z > 0, α z otherwise; the derivative at 0 is taken as α (as PyTorch does)."""

    nargs = 2

    def fdiff(self, argindex: int = 1) -> Expr:
        z, alpha = self.args
        if argindex == 1:
            return Piecewise((1, z > 0), (alpha, True))
        if argindex == 2:
            return Piecewise((0, z > 0), (z, True))
        raise ArgumentIndexError(self, argindex)

    def _eval_rewrite_as_exp(self, z: Expr, alpha: Expr, **kwargs: object) -> Expr:
        return Piecewise((z, z > 0), (alpha * z, True))

    _eval_rewrite_as_Piecewise = _eval_rewrite_as_exp

    def _numpycode(self, printer: object) -> str:
        z, alpha = printed(printer, *self.args)
        return f"{numpy_call(printer, 'where')}(({z}) > 0, {z}, ({alpha})*({z}))"

    def _mpmathcode(self, printer: object) -> str:
        z, alpha = printed(printer, *self.args)
        return f"(({z}) if ({z}) > 0 else ({alpha})*({z}))"

    _pythoncode = _mpmathcode

    def _latex(self, printer: LatexPrinter, exp: object = None) -> str:
        z, alpha = (printer._print(a) for a in self.args)
        return latex_call(r"\operatorname{LeakyReLU}_{%s}" % alpha, z, exp)


class softplus(Function):  # noqa: N801
    """log(1 + e^z), whose derivative is the sigmoid."""

    def fdiff(self, argindex: int = 1) -> Expr:
        if argindex != 1:
            raise ArgumentIndexError(self, argindex)
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, z: Expr, **kwargs: object) -> Expr:
        return log(1 + exp(z))

    def _eval_evalf(self, prec: int) -> Expr:
        return self.rewrite(exp)._eval_evalf(prec)

    def _numpycode(self, printer: object) -> str:
        (z,) = printed(printer, *self.args)
        return stable_softplus_code("numpy", printer, z)

    def _mpmathcode(self, printer: object) -> str:
        (z,) = printed(printer, *self.args)
        return stable_softplus_code("mpmath", printer, z)

    def _pythoncode(self, printer: object) -> str:
        (z,) = printed(printer, *self.args)
        return stable_softplus_code("math", printer, z)

    def _latex(self, printer: LatexPrinter, exp: object = None) -> str:
        return latex_call(r"\operatorname{softplus}", printer._print(self.args[0]), exp)


class softmax(Function):  # noqa: N801
    """Component i of softmax(z_1, ..., z_n): softmax(i, z_1, ..., z_n) = e^{z_i} / Σ_k e^{z_k}.

    The index comes first, so the Jacobian is the textbook ∂s_i/∂z_k = s_i(δ_ik − s_k).
    """

    @classmethod
    def eval(cls, i: Expr, *zs: Expr) -> Expr | None:
        if not (i.is_Integer and 1 <= int(i) <= len(zs)):
            raise ValueError("softmax(i, z1, ..., zn) needs an index i between 1 and n")
        return None

    def fdiff(self, argindex: int = 1) -> Expr:
        i, *zs = self.args
        k = argindex - 1  # the argument after the index is z_1
        if not 1 <= k <= len(zs):
            raise ArgumentIndexError(self, argindex)
        if k == int(i):
            return self * (1 - self)
        return -self * softmax(k, *zs)

    def _eval_rewrite_as_exp(self, i: Expr, *zs: Expr, **kwargs: object) -> Expr:
        return exp(zs[int(i) - 1]) / sympy.Add(*(exp(z) for z in zs))

    def _eval_evalf(self, prec: int) -> Expr:
        return self.rewrite(exp)._eval_evalf(prec)

    def _numpycode(self, printer: object) -> str:
        i, *zs = self.args
        terms = printed(printer, *zs)
        logsum = terms[0]
        for t in terms[1:]:  # log Σ e^{z_k}, pairwise and stable
            logsum = f"{numpy_call(printer, 'logaddexp')}({logsum}, {t})"
        return f"{numpy_call(printer, 'exp')}({terms[int(i) - 1]} - {logsum})"

    def _mpmathcode(self, printer: object) -> str:
        i, *zs = self.args
        terms = printed(printer, *zs)
        e = call(printer, "mpmath.exp")
        return f"({e}({terms[int(i) - 1]}) / ({' + '.join(f'{e}({t})' for t in terms)}))"

    def _pythoncode(self, printer: object) -> str:
        i, *zs = self.args
        terms = printed(printer, *zs)
        top = f"max({', '.join(terms)})" if len(terms) > 1 else terms[0]
        e = call(printer, "math.exp")
        return (f"({e}({terms[int(i) - 1]} - {top}) / "
                f"({' + '.join(f'{e}({t} - {top})' for t in terms)}))")

    def _latex(self, printer: LatexPrinter, exp: object = None) -> str:
        i, *zs = self.args
        args = ", ".join(printer._print(z) for z in zs)
        return latex_call(r"\operatorname{softmax}_{%s}" % printer._print(i), args, exp)


@dataclass(frozen=True)
class Activation:
    """A named activation, applied to a whole layer of pre-activations at once."""

    name: str
    layer: Callable[[Sequence[Expr]], list[Expr]]
    description: str


def elementwise(f: Callable[[Expr], Expr]) -> Callable[[Sequence[Expr]], list[Expr]]:
    return lambda zs: [f(z) for z in zs]


def softmax_layer(zs: Sequence[Expr]) -> list[Expr]:
    return [softmax(i, *zs) for i in range(1, len(zs) + 1)]


DEFAULT_LEAKY_SLOPE = sympy.Float("0.01")

ACTIVATIONS: dict[str, Activation] = {
    "identity": Activation("identity", elementwise(lambda z: z), "g(z) = z"),
    "sigmoid": Activation("sigmoid", elementwise(sigmoid), "σ(z) = 1/(1 + e^{-z})"),
    "tanh": Activation("tanh", elementwise(sympy.tanh), "tanh z"),
    "relu": Activation("relu", elementwise(relu), "max(0, z)"),
    "leaky_relu": Activation(
        "leaky_relu", elementwise(lambda z: leaky_relu(z, DEFAULT_LEAKY_SLOPE)), "max(αz, z)"
    ),
    "softplus": Activation("softplus", elementwise(softplus), "log(1 + e^z)"),
    "exp": Activation("exp", elementwise(exp), "e^z"),
    "softmax": Activation("softmax", softmax_layer, "e^{z_i} / Σ_k e^{z_k}"),
}


def leaky_relu_with_slope(slope: Expr) -> Activation:
    return Activation("leaky_relu", elementwise(lambda z: leaky_relu(z, slope)), "max(αz, z)")


def unspecified(name: str) -> Activation:
    """An activation the problem leaves open: g(z), whose derivative stays g'(z)."""
    g = Function(name, real=True)
    return Activation(name, elementwise(g), f"an unspecified function {name}(z)")


# The activations an expression in a problem file may call, by name (elementwise ones only:
# softmax needs its whole layer and is not written by hand).
EXPRESSION_FUNCTIONS: dict[str, Callable[..., Expr]] = {
    "sigmoid": sigmoid,
    "relu": relu,
    "leaky_relu": lambda z, alpha=DEFAULT_LEAKY_SLOPE: leaky_relu(z, alpha),
    "softplus": softplus,
}


class elu(Function):  # noqa: N801
    """z for z > 0, α(e^z − 1) otherwise."""

    nargs = (1, 2)

    def _eval_rewrite_as_exp(self, z: Expr, alpha: Expr = sympy.S.One, **kwargs: object) -> Expr:
        return Piecewise((z, z > 0), (alpha * (exp(z) - 1), True))

    def _latex(self, printer: LatexPrinter, exp: object = None) -> str:
        return latex_call(r"\operatorname{ELU}", ", ".join(printer._print(a) for a in self.args), exp)


class silu(Function):  # noqa: N801
    """z σ(z), the swish."""

    def _eval_rewrite_as_exp(self, z: Expr, **kwargs: object) -> Expr:
        return z / (1 + exp(-z))

    def _latex(self, printer: LatexPrinter, exp: object = None) -> str:
        return latex_call(r"\operatorname{SiLU}", printer._print(self.args[0]), exp)


class softsign(Function):  # noqa: N801
    """z / (1 + |z|)."""

    def _eval_rewrite_as_exp(self, z: Expr, **kwargs: object) -> Expr:
        return z / (1 + sympy.Abs(z))

    def _latex(self, printer: LatexPrinter, exp: object = None) -> str:
        return latex_call(r"\operatorname{softsign}", printer._print(self.args[0]), exp)


class bce(Function):  # noqa: N801
    """Binary cross-entropy bce(y, p) = −(y log p + (1 − y) log(1 − p))."""

    nargs = 2

    def _eval_rewrite_as_exp(self, y: Expr, p: Expr, **kwargs: object) -> Expr:
        return -(y * log(p) + (1 - y) * log(1 - p))

    def _latex(self, printer: LatexPrinter, exp: object = None) -> str:
        return latex_call(r"\operatorname{BCE}", ", ".join(printer._print(a) for a in self.args), exp)
