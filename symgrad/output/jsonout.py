"""The JSON form of a Solution: numbers as numbers, anything still symbolic as a string."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy

from sympy import Expr

from symgrad.output.latex import textbook_latex
from symgrad.output.notation import Notation, latex_names, symbol_names
from symgrad.engine.numeric import Value

if TYPE_CHECKING:
    from symgrad.engine.solution import Solution


def plain_product(expr: Expr) -> bool:
    """The δ form ∂L/∂z · a of a large network, thousands of times: worth a shortcut."""
    return bool(expr.is_Mul) and all(a.is_Symbol for a in expr.args)


def to_text(expr: Expr) -> str:
    """sympy's own string form, which sympy can read back."""
    return "*".join(a.name for a in expr.args) if plain_product(expr) else str(expr)


def number(value: Value) -> float | int | str:
    if isinstance(value, (int, float)):
        return value
    return str(sympy.expand(value))


def solution_json(solution: Solution) -> dict[str, Any]:
    """The JSON object of a Solution."""
    names = latex_names([n.name for n in solution.graph.nodes], Notation())

    def to_latex(expr: Expr) -> str:
        symbols = symbol_names(expr.free_symbols, names)
        if plain_product(expr):
            return " ".join(symbols[a] for a in expr.args)
        return textbook_latex(expr, symbols)

    factor_texts: dict[Expr, str] = {}

    def factor_text(expr: Expr) -> str:
        # the same factor (∂L/∂ŷ₁, ∂ŷ₁/∂z) stands in many paths: print it once
        if expr not in factor_texts:
            factor_texts[expr] = str(expr)
        return factor_texts[expr]

    gradients = {}
    for key, g in solution.gradients.items():
        d = g.derivation
        entry: dict[str, Any] = {
            "value": number(g.value),
            "expr": to_text(d.result),
            "latex": to_latex(d.result),
            "certified": g.certificate,
            "path_count": d.path_count,
        }
        if d.assumptions:
            entry["assumptions"] = list(d.assumptions)
        if g.expanded is not None:
            entry["expanded"] = str(g.expanded)
        if d.paths is not None:
            entry["paths"] = [
                [
                    {"of": f.of, "wrt": f.wrt, "expr": factor_text(f.expr), "value": number(v)}
                    for f, v in zip(path, values)
                ]
                for path, values in zip(d.paths, g.factor_values or ())
            ]
        gradients[key] = entry
    return {
        "title": solution.title,
        "values": {name: number(v) for name, v in solution.values.items()},
        "gradients": gradients,
        "updated": {name: number(v) for name, v in solution.updated.items()},
    }
