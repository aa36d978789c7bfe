"""Dependency questions: does ∂ŷ/∂x change when b₂ changes?

The derivative's textbook result is written over intermediate symbols (σ(z₂), W₂, a₁, ...).
It depends on a variable v exactly when ∂/∂v of it is not identically zero, and that derivative
is taken by the chain rule through each symbol of the result that v reaches:
∂R/∂v = Σ_s ∂R/∂s · ∂s/∂v.  A random point where it is non-zero is the witness; a zero is
confirmed by composing it down to the leaves and cancelling (simplify only as the fallback).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy
from sympy import Expr, Integer

from symgrad.engine.backward import derive, reverse_sweep
from symgrad.engine.certify import compose, concrete
from symgrad.calculus.agree import agree, cancels_to_zero
from symgrad.calculus.definitions import SMOOTH, written_out

WITNESS_POINTS = 20  # points tried before the derivative is taken for 0 and proved so

if TYPE_CHECKING:
    from symgrad.engine.solution import Solution


@dataclass(frozen=True)
class Dependency:
    of: str  # the derivative asked about, "dyhat[1]/dx[1]"
    on: str  # the variable, "b2[1]"
    through: tuple[str, ...]  # the symbols of the result that the variable reaches
    derivative: Expr  # ∂(result)/∂(variable), over intermediate symbols
    depends: bool
    witness: dict[str, float]  # leaf values where the derivative is non-zero


def dependency(solution: Solution, of: str, on: str) -> Dependency:
    graph = solution.graph
    result = solution.gradients[of].derivation.result
    variable = graph.node(on).symbol
    through = [s for s in sorted(result.free_symbols, key=str)
               if s in graph.by_symbol and variable in graph.ancestors(s)]
    terms = []
    for s in through:
        if s == variable:
            reach: Expr = Integer(1)
        else:  # the solution's own sweep from s when it made one (s is a top it was asked about)
            sweep = solution.sweeps.get(s.name) or reverse_sweep(graph, s.name)
            reach = derive(graph, sweep, on).result
        terms.append(result.diff(s) * reach)
    derivative = sympy.Add(*terms)
    leaves = compose(graph, concrete(derivative))
    # the witness: a random point where the derivative is not 0 (the one agreement policy)
    found = agree(leaves, Integer(0), points=WITNESS_POINTS)
    if found.disagreement is not None:
        return Dependency(of, on, tuple(s.name for s in through), derivative, True,
                          dict(found.disagreement))
    # zero at every point tried: prove it, cheaply if possible (simplify is the slow fallback)
    zero = cancels_to_zero(written_out(leaves, SMOOTH)) or sympy.simplify(leaves) == 0
    return Dependency(of, on, tuple(s.name for s in through), derivative, not zero, {})
