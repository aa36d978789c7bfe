"""Certify a displayed derivative against one taken from the activations' DEFINITIONS.

The engine's factors come from its derivative table (each activation's `fdiff`: σ' = σ(1 − σ),
softplus' = σ, ...).  sympy's `diff` of sigmoid(z) uses that same table, so comparing the
displayed result with `diff` of the composed expression would only check how the chain rule was
assembled: a wrong entry would be certified.  Here the derivative the displayed result is
checked against takes each activation's derivative rule from its definition in elementary
functions (calculus/definitions.py, the table `verify` proves from: σ' is d/dz of
1/(1 + e^{-z}), ReLU' of its Piecewise), by sympy's own rules for exp, log, powers, Piecewise.

- Every table entry a graph uses (each activation kind, slope and softmax width, once per
  process) is checked against the derivative of its definition when the Certifier is made.
  The output heads (ŷ − y, p − y) are exact cancellations of products of these entries
  (textbook.py), and "local" results are chain-rule sums of them, so both rest on this check.
- "symbolic": the displayed result composed down to the leaves, minus the derivative of the
  composed top, cancels to 0 with σ, tanh, softplus, softmax written out in exponentials, the
  step H(z) as its Piecewise and ReLU values as opaque symbols (`cancels_to_zero`: one
  denominator, numerator expanded, no `simplify`); the two also agree at 6 random points.
- "numeric (k random points)": they agree at k random points (`agree`, k = 6 unless the
  expressions are often undefined) but do not cancel cheaply.
- "local": more than NODE_LIMIT nodes, a composed tree past TREE_LIMIT, or a result in δ form:
  only the table check above.
A disagreement raises CertificationError (one line from the command line, exit status 2).
"""

from __future__ import annotations

import sympy
from sympy import Expr, Symbol
from sympy.core.function import AppliedUndef

from symgrad.calculus.agree import Agreement, agree, cancels_to_zero, tree_size
from symgrad.calculus.definitions import (
    DEFINITIONS, SMOOTH, derivative_by_definitions, rewrite_calls, written_out,
)
from symgrad.calculus.textbook import one_hot_substitution
from symgrad.engine.graph import Graph
from symgrad.input.names import Partial
from symgrad.errors import SymgradError

# Past this many tree nodes in the composed expression, differentiating it whole is too costly to
# serve as a second method; such graphs are certified locally.
TREE_LIMIT = 400
NODE_LIMIT = 80  # composing is exponential in depth as a tree: do not even try past this
POINTS = 6


class CertificationError(SymgradError, AssertionError):
    """A displayed form differs from the derivative of the definitions: a bug in symgrad, never a
    user error.  A SymgradError, so that the command line reports it in one line."""


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


def refusal(what: str, found: Agreement) -> CertificationError:
    """The one-line error for a form that disagrees with the derivative of the definitions."""
    assert found.disagreement is not None and found.values is not None
    at = ", ".join(f"{k} = {v:.4g}" for k, v in list(found.disagreement.items())[:4])
    at += ", ..." if len(found.disagreement) > 4 else ""
    return CertificationError(
        f"certificate failed (a bug in symgrad, please report it): {what} gives "
        f"{found.values[0]:.6g} where the derivative of the definitions gives "
        f"{found.values[1]:.6g} (at {at})"
    )


def steps_written_out(expr: Expr) -> Expr:
    """H(x) with H(0) = 0 (ReLU's derivative in the table) as Piecewise((1, x > 0), (0, True)),
    which is exactly what differentiating ReLU's definition gives: the two then cancel."""
    def step(call: sympy.Basic) -> sympy.Basic | None:
        if isinstance(call, sympy.Heaviside) and call.args[1:] == (sympy.S.Zero,):
            return sympy.Piecewise((1, call.args[0] > 0), (0, True))
        return None

    return rewrite_calls(expr, step)


def check(what: str, shown: Expr, raw: Expr, seed: int = 0) -> str:
    """How `shown` was certified equal to `raw`, the derivative of the definitions: "symbolic" or
    "numeric (k random points)"; raises CertificationError when they differ."""
    found = agree(shown, raw, points=POINTS, seed=seed)
    if not found.agrees:
        raise refusal(what, found)
    if cancels_to_zero(steps_written_out(written_out(shown - raw, SMOOTH))):
        return "symbolic"
    return f"numeric ({found.points} random points)" if found.points else "unchecked"


# The table entries already certified in this process, each with the fdiff it was certified
# for (a patched fdiff is a new key, so a test that patches the table is not served a stale pass).
_CERTIFIED: set[tuple[Expr, object]] = set()


def table_entries(graph: Graph) -> set[Expr]:
    """Each call of a defined function in the graph as a template: its non-numeric arguments
    made fresh symbols t1, t2, ..., numbers kept (leaky_relu(t1, 0.01), softmax(2, t1, t2, t3))."""
    entries: set[Expr] = set()
    for node in graph.nodes:
        if node.expr is None:
            continue
        for call in node.expr.atoms(sympy.Function):
            if type(call) in DEFINITIONS:
                args = [a if a.is_number else Symbol(f"t{k}", real=True)
                        for k, a in enumerate(call.args, 1)]
                entries.add(call.func(*args))
    return entries


def certify_table(graph: Graph) -> None:
    """Every derivative-table entry the graph uses equals the derivative of its definition."""
    for entry in sorted(table_entries(graph), key=sympy.default_sort_key):
        key = (entry, type(entry).fdiff)
        if key in _CERTIFIED:
            continue
        for t in entry.args:
            if isinstance(t, Symbol):
                what = f"the derivative table's d/d{t} {entry} = {entry.diff(t)}"
                if check(what, entry.diff(t), derivative_by_definitions(entry, t)) == "unchecked":
                    raise CertificationError(f"{what}: no point to check it at")
        _CERTIFIED.add(key)


class Certifier:
    """Certifies the derivations of one graph; each top is composed once."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        self.composed: dict[tuple[str, Symbol | None], Expr | None] = {}
        certify_table(graph)  # first: the output heads and every "local" result rest on it

    def composed_top(self, top: str, keep: Symbol | None) -> Expr | None:
        """The top composed down to the leaves (or to `keep`); None when the tree is too large
        to differentiate as a whole."""
        if (top, keep) not in self.composed:
            expr = compose(self.graph, concrete(self.graph.node(top).expr), keep)
            self.composed[top, keep] = expr if tree_size(expr, TREE_LIMIT) < TREE_LIMIT else None
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
        raw = derivative_by_definitions(composed, theta)  # the activations' fdiff is not used
        shown = compose(self.graph, concrete(result), theta)
        if assumption:
            targets = [n.symbol for n in self.graph.nodes if n.kind == "target"]
            raw, shown = (e.xreplace(one_hot_substitution(targets)) for e in (raw, shown))
        text = str(result)
        what = f"{Partial(top, wrt)} = {text if len(text) <= 100 else text[:100] + '...'}"
        return check(what, shown, raw, seed)
