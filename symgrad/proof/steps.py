"""The steps of a proved claim as the sources write them: each side as written, with every named
function replaced by its definition, differentiated, and factored.  Plain sympy expressions; the
output modules print them.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy import Expr

from symgrad.calculus.definitions import DEFINITIONS, definitions_in
from symgrad.proof.verify import PROVED, Verdict


@dataclass(frozen=True)
class ProofSteps:
    definitions: tuple[tuple[Expr, Expr], ...]  # each named function of the claim, σ(z) = 1/(1 + e^{-z})
    left: tuple[Expr, ...]  # the left side: as written, defined, differentiated, factored (no repeats)
    right: tuple[Expr, ...]  # the right side likewise; both empty unless the claim was PROVED


def side_steps(expr: Expr) -> tuple[Expr, ...]:
    written = definitions_in(expr)
    worked = written.doit()
    try:
        final = sympy.factor(worked)
    except (sympy.PolynomialError, TypeError, ValueError):
        final = worked
    out: list[Expr] = []
    for e in (expr, written, worked, final):
        if not out or e != out[-1]:
            out.append(e)
    return tuple(out)


def proof_steps(verdict: Verdict) -> ProofSteps:
    both = verdict.lhs - verdict.rhs
    named = sorted({f for f in both.atoms(sympy.Function) if type(f) in DEFINITIONS}, key=str)
    definitions = tuple((f, definitions_in(f)) for f in named)
    if verdict.status != PROVED:
        return ProofSteps(definitions, (), ())
    return ProofSteps(definitions, side_steps(verdict.lhs), side_steps(verdict.rhs))
