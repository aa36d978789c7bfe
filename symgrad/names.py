"""The one place that turns symgrad's plain names into LaTeX: W2[1,1] ↦ W^{[2]}_{11}."""

from __future__ import annotations

import re
from functools import lru_cache

import sympy
from sympy import Expr, Symbol

INDEXED = re.compile(r"(?P<base>[A-Za-z]+)(?P<layer>\d*)\[(?P<index>[\d,]+)\]\Z")
ADJOINT = re.compile(r"d(?P<top>[^/]+)/d(?P<node>.+)\Z")
BASES = {"yhat": r"\hat{y}"}


@lru_cache(maxsize=None)
def latex_name(name: str) -> str:
    adjoint = ADJOINT.match(name)
    if adjoint:
        top, node = latex_name(adjoint["top"]), latex_name(adjoint["node"])
        return r"\frac{\partial %s}{\partial %s}" % (top, node)
    indexed = INDEXED.match(name)
    if indexed is None:
        return sympy.latex(Symbol(name))  # a graph's own names: x1 ↦ x_{1}, alpha ↦ \alpha
    base = BASES.get(indexed["base"], indexed["base"])
    layer = f"^{{[{indexed['layer']}]}}" if indexed["layer"] else ""
    parts = indexed["index"].split(",")
    joiner = "," if any(len(p) > 1 for p in parts) else ""
    return f"{base}{layer}_{{{joiner.join(parts)}}}"


def to_latex(expr: Expr) -> str:
    if expr.is_Mul and all(a.is_Symbol for a in expr.args):
        # the δ form of a large network, ∂L/∂z · a, thousands of times: skip the printer
        return " ".join(latex_name(a.name) for a in expr.args)
    names = {s: latex_name(s.name) for s in expr.free_symbols if isinstance(s, Symbol)}
    return sympy.latex(expr, symbol_names=names)


def to_text(expr: Expr) -> str:
    """sympy's own string form (which sympy can read back), with the same shortcut."""
    if expr.is_Mul and all(a.is_Symbol for a in expr.args):
        return "*".join(a.name for a in expr.args)
    return str(expr)
