"""Dependency questions: does ∂ŷ/∂x change when b₂ changes?

The derivative's textbook result is written over intermediate symbols (σ(z₂), W₂, a₁, ...).
It depends on a variable v exactly when ∂/∂v of it is not identically zero, and that derivative
is taken by the chain rule through each symbol of the result that v reaches:
∂R/∂v = Σ_s ∂R/∂s · ∂s/∂v.  A random point where it is non-zero is the witness; a zero is
confirmed by composing it down to the leaves and simplifying.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

import sympy
from sympy import Expr, Integer

from symgrad.engine.backward import derive, reverse_sweep
from symgrad.engine.certify import compose, concrete
from symgrad.errors import NumericError
from symgrad.engine.numeric import evaluate, is_float

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
        reach = Integer(1) if s == variable else derive(graph, reverse_sweep(graph, s.name), on).result
        terms.append(result.diff(s) * reach)
    derivative = sympy.Add(*terms)
    leaves = compose(graph, concrete(derivative))
    rng = random.Random(0)
    for _ in range(20):
        point = {s: rng.uniform(-2, 2) for s in leaves.free_symbols}
        try:
            value = evaluate(leaves, point)
        except NumericError:
            continue
        if is_float(value) and abs(value) > 1e-9:
            return Dependency(of, on, tuple(s.name for s in through), derivative, True,
                              {s.name: v for s, v in point.items()})
    zero = sympy.simplify(leaves) == 0
    return Dependency(of, on, tuple(s.name for s in through), derivative, not zero, {})
