"""Certify a displayed derivative against the raw one: d/dθ of the whole composed expression.

The displayed result is built from local factors; here it is checked against a second method,
sympy's own `diff` of the top node with every definition substituted (the naive way, affordable
for the small problems a sheet shows).  Both are compared at random points, and symbolically
where the difference is small enough to simplify quickly.  A failure is a bug in symgrad, so it
raises instead of printing a wrong formula.
"""

from __future__ import annotations

import random

import sympy
from sympy import Expr, Symbol
from sympy.core.function import AppliedUndef

from symgrad.errors import NumericError
from symgrad.engine.graph import Graph
from symgrad.engine.numeric import evaluate, is_float
from symgrad.calculus.textbook import one_hot_substitution

# Past this many tree nodes in the composed expression, the naive derivative is too costly to
# serve as a second method; such graphs are certified locally: every factor and output head is
# certified when it is built, and the chain rule assembles them.
TREE_LIMIT = 400
NODE_LIMIT = 80  # composing is exponential in depth as a tree: do not even try past this
POINTS = 6
SYMBOLIC_OPS_LIMIT = 80


class CertificationError(AssertionError):
    """A displayed form differs from the raw derivative: a bug, never a user error."""


def concrete(expr: Expr) -> Expr:
    """An unspecified g(u) has no numbers; stand in a fixed smooth function for it."""
    if not expr.has(AppliedUndef):
        return expr
    u = sympy.Dummy("u")
    stand_in = sympy.Lambda(u, sympy.sin(u) + u**3 / 3)
    return expr.replace(lambda e: isinstance(e, AppliedUndef), lambda e: stand_in(*e.args[:1])).doit()


def compose(graph: Graph, expr: Expr, keep: Symbol | None = None) -> Expr:
    """`expr` with every node except `keep` replaced by its definition, down to the leaves.

    One pass in topological order, each definition composed once over its parents' composed
    forms: linear in the graph, where substituting node by node into the whole expression
    was quadratic (a chain of 130 variables took seconds)."""
    needed = set(expr.free_symbols)
    for node in reversed(graph.nodes):  # children before parents: collect what expr reaches
        if node.expr is not None and node.symbol in needed and node.symbol != keep:
            needed |= node.expr.free_symbols
    composed: dict[Symbol, Expr] = {}
    for node in graph.nodes:
        if node.expr is not None and node.symbol in needed and node.symbol != keep:
            composed[node.symbol] = concrete(node.expr).xreplace(composed)
    return expr.xreplace(composed)


def tree_size(expr: Expr, cap: int) -> int:
    """The number of nodes of `expr` as a tree, counted up to `cap`."""
    size = 0
    for _ in sympy.preorder_traversal(expr):
        size += 1
        if size >= cap:
            break
    return size


class Certifier:
    """Certifies the derivations of one graph; each top is composed once."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.composed: dict[tuple[str, Symbol | None], Expr | None] = {}

    def composed_top(self, top: str, keep: Symbol | None) -> Expr | None:
        if (top, keep) not in self.composed:
            expr = compose(self.graph, concrete(self.graph.node(top).expr), keep)
            small = tree_size(expr, TREE_LIMIT) < TREE_LIMIT
            self.composed[top, keep] = expr if small else None
        return self.composed[top, keep]

    def certify(self, top: str, wrt: str, result: Expr, assumption: bool, seed: int = 0) -> str:
        """How the displayed `result` of ∂top/∂wrt was certified; raises if it is wrong."""
        if len(self.graph.nodes) > NODE_LIMIT or any("/" in s.name for s in result.free_symbols):
            return "local"  # δ form, or too large to compose
        node = self.graph.node(wrt)
        theta = node.symbol
        composed = self.composed_top(top, None if node.is_leaf else theta)
        if composed is None:
            return "local"
        raw = composed.diff(theta)
        shown = compose(self.graph, concrete(result), theta)
        if assumption:
            targets = [n.symbol for n in self.graph.nodes if n.kind == "target"]
            raw, shown = (e.xreplace(one_hot_substitution(targets)) for e in (raw, shown))
        checked = agree_at_random_points(shown, raw, seed, f"d{top}/d{wrt}: {result}")
        difference = shown - raw
        if tree_size(difference, SYMBOLIC_OPS_LIMIT) < SYMBOLIC_OPS_LIMIT:
            if sympy.simplify(difference.rewrite(sympy.exp)) == 0:
                return "symbolic"
        return f"numeric ({checked} random points)" if checked else "unchecked"


def agree_at_random_points(shown: Expr, raw: Expr, seed: int, what: str) -> int:
    """Compare two expressions at random points; the number of points where both had a value."""
    symbols = sorted(shown.free_symbols | raw.free_symbols, key=lambda s: s.name)
    rng = random.Random(seed)
    checked = 0
    for _ in range(4 * POINTS):
        point = {s: rng.uniform(-2.0, 2.0) for s in symbols}
        memo: dict[Expr, object] = {}
        try:
            a, b = evaluate(shown, point, memo), evaluate(raw, point, memo)
        except NumericError:
            continue
        if not (is_float(a) and is_float(b)):
            continue
        if abs(a - b) > 1e-8 * (1 + abs(a) + abs(b)):
            raise CertificationError(f"{what} differs from the raw derivative")
        checked += 1
        if checked == POINTS:
            break
    return checked
