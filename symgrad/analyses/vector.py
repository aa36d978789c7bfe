"""Gradients in vector form: f(wᵀx), Σᵢ g(wᵀx⁽ⁱ⁾, y⁽ⁱ⁾) over m examples, and λ‖w‖², for w and x of
symbolic length n.

A function is written with `dot(w, x)` for wᵀx, `norm2(w)` for ‖w‖², and `sum(...)` for a sum
over the m examples (inside it, x and y stand for x⁽ⁱ⁾ and y⁽ⁱ⁾).  With u = wᵀx and N = ‖w‖² as
scalar placeholders the chain rule is exact and short:

    ∇_w F = Σ_k ∂F/∂S_k Σᵢ ∂e_k/∂u(u⁽ⁱ⁾) x⁽ⁱ⁾  +  ∂F/∂u x  +  ∂F/∂N 2w,      S_k = Σᵢ e_k(u⁽ⁱ⁾, y⁽ⁱ⁾)

Each result is checked against the componentwise derivative for a concrete n and m (the sum
written out, w = (w_1, …, w_n)), which shares nothing with the rule above but sympy's `diff`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy import Expr, Function, Symbol
from sympy.printing.latex import LatexPrinter

from symgrad.calculus import activations as act
from symgrad.errors import ProblemError
from symgrad.input.latexcheck import checked_math
from symgrad.input.parser import DEFAULT_FUNCTIONS, ExpressionError, parse_expression
from symgrad.input.sheetspec import VectorSpec
from symgrad.input.spec import IDENTIFIER
from symgrad.calculus.textbook import simplest
from symgrad.calculus.agree import agree, cancels_to_zero
from symgrad.calculus.definitions import SMOOTH, derivative_by_definitions, written_out
from symgrad.engine.certify import refusal

U = Symbol("u", real=True)  # wᵀx (for the example i, inside a sum)
N = Symbol("N", real=True, nonnegative=True)  # ‖w‖²
CHECK_N, CHECK_M = 3, 2  # the concrete sizes of the componentwise check
VECTORS = {"w": Symbol("w", real=True), "x": Symbol("x", real=True)}  # only inside dot, norm2


class ExampleSum(Function):  # noqa: N801
    """Σ_{i=1}^{m} of its argument, written for one example."""

    def _latex(self, printer: LatexPrinter, exp: object = None) -> str:
        body = r"\sum_{i=1}^{m} \left[%s\right]" % printer._print(self.args[0])
        return body if exp is None else r"\left(%s\right)^{%s}" % (body, exp)


@dataclass(frozen=True)
class VectorTerm:
    coefficient: Expr  # a scalar in u, y and the other scalars
    vector: str  # "x" or "w"
    summed: bool  # Σᵢ coefficient(u⁽ⁱ⁾, y⁽ⁱ⁾) x⁽ⁱ⁾


@dataclass(frozen=True)
class VectorGradient:
    name: str  # what the function is called on the sheet: a name (f, J) or checked LaTeX (\hat{J})
    function: Expr  # F with the placeholders u, N and ExampleSum
    terms: tuple[VectorTerm, ...]
    scalars: tuple[Symbol, ...]  # y and the other scalar names (λ, ...)
    certificate: str


def vector_gradient_of(spec: VectorSpec) -> VectorGradient:
    """Parse the function of a `[vector]` table and derive its gradient in vector form."""
    text, name = spec.function, spec.name
    where = f"{spec.field}.function"
    scalars: dict[str, Symbol] = {}

    def symbol_for(name: str) -> Expr:
        if name in VECTORS:
            return VECTORS[name]
        return scalars.setdefault(name, Symbol(name, real=True))

    def dot(a: Expr, b: Expr) -> Expr:
        if {a, b} != {VECTORS["w"], VECTORS["x"]}:
            raise ValueError("dot(w, x) is the only inner product here")
        return U

    def norm2(a: Expr) -> Expr:
        if a != VECTORS["w"]:
            raise ValueError("norm2(w) is the only norm here")
        return N

    functions = {
        **DEFAULT_FUNCTIONS, **act.EXPRESSION_FUNCTIONS, "sech": sympy.sech,
        "dot": dot, "norm2": norm2, "sum": ExampleSum,
    }
    try:
        function = parse_expression(text, symbol_for, functions)
    except ExpressionError as error:
        raise ProblemError(spec.source, where, str(error)) from None
    if function.has(*VECTORS.values()):
        raise ProblemError(spec.source, where, "w and x are vectors: use them in dot(w, x) or norm2(w)")
    if function.has(ExampleSum) and function.xreplace(
        {s: sympy.S.Zero for s in function.atoms(ExampleSum)}
    ).has(U):
        raise ProblemError(
            spec.source, where, "use wᵀx either inside sum(...) (per example) or outside, not both"
        )
    terms = gradient_terms(function)
    ordered = tuple(sorted(scalars.values(), key=lambda s: s.name))
    check = componentwise_check(function, terms, ordered)
    return VectorGradient(name, function, terms, ordered, check)


def gradient_terms(function: Expr) -> tuple[VectorTerm, ...]:
    sums = sorted(function.atoms(ExampleSum), key=str)
    s_symbols = [Symbol(f"S{k}", real=True) for k in range(len(sums))]
    outer = function.xreplace(dict(zip(sums, s_symbols)))
    terms = []
    for s_sum, s in zip(sums, s_symbols):
        inner = simplest(s_sum.args[0].diff(U))
        terms.append(VectorTerm(simplest(outer.diff(s) * inner), "x", True))
    if outer.has(U):
        terms.append(VectorTerm(simplest(outer.diff(U)), "x", False))
    if outer.has(N):
        terms.append(VectorTerm(simplest(2 * outer.diff(N)), "w", False))
    return tuple(t for t in terms if t.coefficient != 0)


def componentwise_check(function: Expr, terms: tuple[VectorTerm, ...], scalars: tuple[Symbol, ...]) -> str:
    """∂F/∂w_j of F written out for n = 3, m = 2, against component j of the vector form."""
    y = next((s for s in scalars if s.name == "y"), Symbol("y", real=True))  # y is per example
    w = [Symbol(f"w_{j}", real=True) for j in range(1, CHECK_N + 1)]
    x = [[Symbol(f"x_{i}{j}", real=True) for j in range(1, CHECK_N + 1)] for i in range(1, CHECK_M + 1)]
    x_single = [Symbol(f"x_{j}", real=True) for j in range(1, CHECK_N + 1)]
    ys = [Symbol(f"y_{i}", real=True) for i in range(1, CHECK_M + 1)]
    norm = sum(wj**2 for wj in w)
    u = [sum(wj * xij for wj, xij in zip(w, row)) for row in x]
    u_single = sum(wj * xj for wj, xj in zip(w, x_single))

    def example(e: Expr, i: int) -> Expr:
        return e.xreplace({U: u[i], y: ys[i], N: norm})

    written = function.replace(ExampleSum, lambda e: sympy.Add(*(example(e, i) for i in range(CHECK_M))))
    written = written.xreplace({U: u_single, N: norm})
    proved = checked = 0
    for j in range(CHECK_N):
        expected = sympy.Add(*(
            sympy.Add(*(example(t.coefficient, i) * x[i][j] for i in range(CHECK_M))) if t.summed
            else t.coefficient.xreplace({U: u_single, N: norm}) * (x_single[j] if t.vector == "x" else w[j])
            for t in terms
        ))
        # σ' from σ = 1/(1 + e^{-u}), ...: from the definitions, not the engine's derivative table
        raw = derivative_by_definitions(written, w[j])
        found = agree(expected, raw, seed=j)
        if not found.agrees:
            raise refusal(f"component {j + 1} of the vector gradient of {function}", found)
        checked += found.points
        proved += cancels_to_zero(written_out(expected - raw, SMOOTH))
    how = "symbolically" if proved == CHECK_N else f"at {checked} random points"
    return f"checked componentwise for n = {CHECK_N}, m = {CHECK_M}, {how}"


def vector_gradient(function: str, name: str = "f") -> VectorGradient:
    """From Python: vector_gradient("sum((dot(w, x) - y)**2)/2 + lambda*norm2(w)", "J")."""
    if not IDENTIFIER.match(name):
        checked_math("<python>", "vector.name", name)
    return vector_gradient_of(VectorSpec(function, name))
