"""What `verify` proves from: every named function of a claim written in elementary functions.

The table is written out here, independently of the engine's derivative table (the `fdiff`
methods in activations.py): a proof replaces each function by its definition BEFORE anything is
differentiated, so a wrong entry in the engine's table cannot make a wrong claim PROVED.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import sympy
from sympy.core.logic import fuzzy_and
from sympy import Abs, Basic, Expr, Function, Heaviside, Piecewise, Symbol, erf, exp, log, sqrt
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
    # component i of softmax(z_1, ..., z_n); not in verify's vocabulary, used by the certificate
    act.softmax: lambda i, *zs: exp(zs[int(i) - 1]) / sympy.Add(*(exp(z) for z in zs)),
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


def rewrite_calls(expr: Expr, rewrite: Callable[[Basic], Basic | None]) -> Expr:
    """`expr` with each call for which `rewrite` gives a replacement replaced, in one bottom-up
    pass over the expression's DAG (each distinct subexpression visited once, no recursion)."""
    done: dict[Basic, Basic] = {}
    stack: list[tuple[Basic, bool]] = [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if e in done:
            continue
        if not e.args:
            done[e] = e
        elif not ready:
            stack.append((e, True))
            stack.extend((a, False) for a in e.args if a not in done)
        else:
            args = [done[a] for a in e.args]
            new = e if all(a is b for a, b in zip(args, e.args)) else e.func(*args)
            replaced = rewrite(new)
            done[e] = new if replaced is None else replaced
    return done[expr]


def written_out(expr: Expr, only: Collection[type] = DEFINITIONS.keys()) -> Expr:
    """`definitions_in` in one pass (for the functions in `only`): the certificate writes out
    whole composed networks, where one `replace` walk per function of the table cost more than
    the check itself."""
    def definition(call: Basic) -> Basic | None:
        define = DEFINITIONS.get(type(call)) if type(call) in only else None
        # a definition may call another defined function (mish: tanh of softplus)
        return written_out(define(*call.args), only) if define else None

    return rewrite_calls(expr, definition)


# The functions whose definition has no case split, so written out they stay a (cheap) closed
# form; a Piecewise definition nested in another makes sympy simplify its conditions for seconds.
SMOOTH = frozenset(cls for cls in DEFINITIONS if cls not in KINKED + (sympy.Max, sympy.Min))

# For each defined function, a stand-in whose derivative is that of the definition.
_STAND_INS: dict[type, type] = {}
_DERIVATIVES: dict[tuple[type, tuple[Basic | None, ...], int], tuple[Expr, tuple[Symbol, ...]]] = {}


def _stand_in(cls: type) -> type:
    """A sympy Function that stands for `cls` but whose derivative in argument k is the
    derivative of cls's DEFINITION (never cls's own fdiff, the engine's derivative table)."""
    if cls not in _STAND_INS:
        def fdiff(self: Function, argindex: int = 1) -> Expr:
            shape = tuple(a if a.is_number else None for a in self.args)
            key = (cls, shape, argindex)
            if key not in _DERIVATIVES:
                ts = tuple(Symbol(f"t{k}", real=True) for k in range(1, len(shape) + 1))
                at = [a if a is not None else t for a, t in zip(shape, ts)]
                _DERIVATIVES[key] = (written_out(DEFINITIONS[cls](*at).diff(ts[argindex - 1])), ts)
            derivative, ts = _DERIVATIVES[key]
            return derivative.xreplace(dict(zip(ts, self.args)))

        def is_real(self: Function) -> bool | None:  # real at real arguments (not bce: log p)
            return fuzzy_and(a.is_real for a in self.args) if cls is not act.bce else None

        # declared real, so that |f| differentiates as sign(f) and not through re and im parts
        _STAND_INS[cls] = type(f"{cls.__name__}_by_definition", (Function,),
                               {"fdiff": fdiff, "_eval_is_real": is_real})
    return _STAND_INS[cls]


def derivative_by_definitions(expr: Expr, x: Symbol) -> Expr:
    """d expr/dx with the derivative of each defined function taken from its DEFINITION: σ'
    from 1/(1 + e^{-z}), ReLU' from its Piecewise, each derived once and applied by the chain
    rule.  The values of the functions stay calls (σ(z) is a number, not a derivative), so no
    definition is nested inside another: differentiating a network written out in nested
    Piecewise definitions took seconds."""
    def stand_in(call: Basic) -> Basic | None:
        return _stand_in(type(call))(*call.args) if type(call) in DEFINITIONS else None

    differentiated = rewrite_calls(expr, stand_in).diff(x)
    originals = {v: k for k, v in _STAND_INS.items()}

    def original(call: Basic) -> Basic | None:
        cls = originals.get(type(call))
        return cls(*call.args) if cls else None

    return rewrite_calls(differentiated, original)
