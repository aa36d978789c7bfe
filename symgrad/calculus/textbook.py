"""Textbook forms: choose the simplest form of a derivative that is certified equal to it.

Nothing here calls `simplify` on what is displayed (it turns σ' into 1/(4 cosh²(z/2)) and
reorders factors).  Candidates are proposed deliberately (the error ŷ − y, the cancelled
rational form, the factored form) and one is kept only when the difference from the raw form
cancels to zero exactly.

That cancellation is exact but relative: the raw form of an output head is a product of the
derivative table's factors (σ' = σ(1 − σ)), so ŷ − y is only as right as the table.  The table
itself is checked against the derivative of each activation's definition (engine/certify.py,
`certify_table`) before any result of the graph is certified, so a wrong entry is refused there.
"""

from __future__ import annotations

import sympy
from sympy import Expr, Symbol, cancel, count_ops, factor


def equal_rational(a: Expr, b: Expr) -> bool:
    """True when a − b cancels to 0 as a rational function of its symbols and function terms."""
    try:
        return cancel(a - b) == 0
    except (sympy.PolynomialError, TypeError, ValueError):
        return False


def one_hot_substitution(targets: list[Symbol]) -> dict[Symbol, Expr]:
    """y_n = 1 − Σ_{k<n} y_k: a target distribution sums to one."""
    return {targets[-1]: 1 - sympy.Add(*targets[:-1])}


def textbook_head(
    raw: Expr, yhat: Symbol, y: Symbol, targets: list[Symbol], targets_sum_to_one: bool
) -> tuple[Expr, tuple[str, ...]]:
    """The simplest certified form of ∂L/∂z at an output unit, and the assumptions it used.

    `raw` is Σ_k ∂L/∂ŷ_k · ∂ŷ_k/∂z in textbook factors, e.g. (−y/ŷ + (1−y)/(1−ŷ)) ŷ(1 − ŷ),
    which cancels to ŷ − y; softmax with cross-entropy gives p − y once Σ_k y_k = 1.
    """
    error = yhat - y
    if equal_rational(error, raw):
        return error, ()
    if targets_sum_to_one and len(targets) > 1:
        one_hot = one_hot_substitution(targets)
        if equal_rational(error.xreplace(one_hot), raw.xreplace(one_hot)):
            total = " + ".join(t.name for t in targets)
            return error, (f"{total} = 1",)
    return simplest(raw), ()


def simplest(raw: Expr) -> Expr:
    """The cancelled or factored form when it is shorter and cancels against `raw`; else `raw`.

    Σ x s(1 − s)(y/s − (1 − y)/(1 − s)) becomes Σ x (y − s); a product like ŷ(1 − ŷ) stays.
    """
    best = raw
    for rewrite in (cancel, factor):
        try:
            candidate = rewrite(raw)
        except (sympy.PolynomialError, TypeError, ValueError):
            continue
        if count_ops(candidate) < count_ops(best) and equal_rational(candidate, raw):
            best = candidate
    return best
