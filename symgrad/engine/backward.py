"""The backward sweep (reverse mode) and the derivation record of each requested partial.

One sweep from a top node T (the loss L, or a graph's output f) gives every node v an adjoint
∂T/∂v = Σ_children c ∂T/∂c · ∂c/∂v, written over the children's adjoint SYMBOLS, so each is a
short expression and the whole sweep is linear in the size of the graph.  A derivation then
records, for one variable, every path from T down to it with each factor in textbook form
(when there are few enough paths to show), and the combined result.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy import Expr, Integer, Symbol

from symgrad.input.names import Partial
from symgrad.engine.graph import Graph, Node, symbol
from symgrad.calculus.textbook import simplest, textbook_head

# Beyond this many chain-rule paths a derivation is shown in δ form, not path by path.
PATH_LIMIT = 8


@dataclass(frozen=True)
class Factor:
    """One chain-rule factor ∂of/∂wrt, in textbook form."""

    of: str
    wrt: str
    expr: Expr


@dataclass(frozen=True)
class Sweep:
    top: Node
    relevant: frozenset[Symbol]  # the nodes T depends on, and T
    adjoint_symbols: dict[Symbol, Expr]  # v ↦ the symbol "dT/dv" (1 for T itself)
    adjoints: dict[Symbol, Expr]  # v ↦ ∂T/∂v over the children's adjoint symbols
    order: tuple[Symbol, ...]  # reverse topological: T first
    head_forms: dict[Symbol, Expr]  # a network's ∂L/∂z at the output, in textbook form
    simplified: frozenset[Symbol]  # the heads whose form is simpler than the product (ŷ − y)
    assumptions: tuple[str, ...]
    path_counts: dict[Symbol, int]  # the number of chain-rule paths from T down to v


@dataclass(frozen=True)
class Derivation:
    top: str
    wrt: str
    paths: tuple[tuple[Factor, ...], ...] | None  # each from T down to wrt; None: too many
    path_count: int
    result: Expr  # Σ over paths of the product of factors, in textbook form
    assumptions: tuple[str, ...]
    # output heads on the paths whose product simplifies, as ∂T/∂z = (ŷ − y): (z, form)
    heads: tuple[tuple[str, Expr], ...] = ()


def adjoint_name(top: str, node: str) -> str:
    return str(Partial(top, node))


def reverse_sweep(graph: Graph, top_name: str) -> Sweep:
    top = graph.node(top_name)
    relevant = graph.ancestors(top.symbol)
    order = tuple(n.symbol for n in reversed(graph.nodes) if n.symbol in relevant)
    adjoint_symbols: dict[Symbol, Expr] = {
        v: symbol(adjoint_name(top.name, v.name)) for v in order
    }
    adjoint_symbols[top.symbol] = Integer(1)
    adjoints: dict[Symbol, Expr] = {top.symbol: Integer(1)}
    for v in order[1:]:
        adjoints[v] = sympy.Add(
            *(
                # Mul directly: the operator's sympify wrapper costs a quarter of the sweep
                sympy.Mul(adjoint_symbols[c], graph.by_symbol[c].partials[v])
                for c in graph.children[v]
                if c in relevant
            )
        )
    head_forms: dict[Symbol, Expr] = {}
    simplified: frozenset[Symbol] = frozenset()
    assumptions: tuple[str, ...] = ()
    if top.name == graph.output:
        head_forms, simplified, assumptions = simplify_heads(graph, adjoint_symbols, adjoints)
        adjoints.update(head_forms)
    counts: dict[Symbol, int] = {top.symbol: 1}
    for v in order[1:]:  # T first, so every child is counted before its parents
        counts[v] = sum(counts[c] for c in graph.children[v] if c in relevant)
    return Sweep(
        top,
        frozenset(relevant),
        adjoint_symbols,
        adjoints,
        order,
        head_forms,
        simplified,
        assumptions,
        counts,
    )


def simplify_heads(
    graph: Graph, adjoint_symbols: dict[Symbol, Expr], adjoints: dict[Symbol, Expr]
) -> tuple[dict[Symbol, Expr], frozenset[Symbol], tuple[str, ...]]:
    """∂L/∂z for each output pre-activation, as one textbook expression (sigmoid + BCE: ŷ − y)."""
    targets = [n.symbol for n in graph.nodes if n.kind == "target"]
    forms: dict[Symbol, Expr] = {}
    simplified: set[Symbol] = set()
    assumptions: tuple[str, ...] = ()
    example_adjoints = {adjoint_symbols[n.symbol]: adjoints[n.symbol] for n in graph.nodes
                        if n.kind == "example_loss" and n.symbol in adjoints}
    for name in sorted(graph.heads):
        head = graph.node(name).symbol
        # ∂L/∂ŷ_k are partials of L itself, so one substitution inlines the whole head
        inline = adjoints[head].xreplace(
            {adjoint_symbols[c]: adjoints[c] for c in graph.children[head]}
        )
        # in a mini-batch ∂L/∂ŷ is over the example's L[n], whose adjoint is the constant 1/N (or 1)
        scale: Expr = Integer(1)
        for s in inline.free_symbols & example_adjoints.keys():
            scale = example_adjoints[s]
            inline = inline.xreplace({s: scale})
        unit = name[name.index("[") :]
        yhat, y = symbol(f"yhat{unit}"), symbol(f"y{unit}")
        form, used = textbook_head(inline / scale, yhat, y, targets, graph.target_sum_is_one)
        forms[head] = scale * form
        if forms[head] != inline:
            simplified.add(head)
        assumptions = assumptions or used
    return forms, frozenset(simplified), assumptions


def derive(graph: Graph, sweep: Sweep, wrt_name: str) -> Derivation:
    """The derivation record of ∂T/∂wrt."""
    wrt = graph.node(wrt_name).symbol
    top = sweep.top
    if wrt not in sweep.relevant:
        return Derivation(top.name, wrt_name, (), 0, Integer(0), ())
    n_paths = sweep.path_counts[wrt]
    if wrt == top.symbol or n_paths > PATH_LIMIT:
        # δ form: Σ_c ∂T/∂c · ∂c/∂wrt, with the output heads written out (ŷ − y)
        written = {sweep.adjoint_symbols[h]: form for h, form in sweep.head_forms.items()}
        result = sweep.adjoints[wrt].xreplace(written)
        return Derivation(top.name, wrt_name, None, n_paths, result, sweep.assumptions)

    def factor(child: Symbol, parent: Symbol) -> Factor:
        node = graph.by_symbol[child]
        return Factor(node.name, graph.by_symbol[parent].name, node.partials[parent])

    def chains(v: Symbol, stop_at_heads: bool) -> list[tuple[Symbol | None, list[Factor]]]:
        """Paths from T down to v: (the output head they stop at, or None; the factors below).

        Walked with an explicit stack, not recursion, so a deep graph cannot reach Python's
        recursion limit; the walk starts at v and climbs towards T, so factors come out
        top-down once reversed."""
        out: list[tuple[Symbol | None, list[Factor]]] = []
        stack: list[tuple[Symbol, list[Factor]]] = [(v, [])]
        while stack:
            node, below = stack.pop()
            if node == top.symbol:
                out.append((None, below[::-1]))
            elif stop_at_heads and node in sweep.head_forms:
                out.append((node, below[::-1]))
            else:
                for c in reversed(graph.children[node]):  # reversed: the stack pops in order
                    if c in sweep.relevant:
                        stack.append((c, below + [factor(c, node)]))
        return out

    paths = tuple(tuple(factors) for _, factors in chains(wrt, False))
    grouped = chains(wrt, True)
    result = sympy.Add(
        *(
            sympy.Mul(*([sweep.head_forms[h]] if h is not None else []), *(f.expr for f in factors))
            for h, factors in grouped
        )
    )
    if not sweep.head_forms:  # a graph's result: cancel what cancels, as by hand
        result = simplest(result)
    passed = dict.fromkeys(h for h, _ in grouped if h in sweep.simplified)
    heads = tuple((graph.by_symbol[h].name, sweep.head_forms[h]) for h in passed)
    return Derivation(top.name, wrt_name, paths, n_paths, result, sweep.assumptions, heads)
