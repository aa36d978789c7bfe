"""The computation graph: ordered nodes, each an expression over its PARENT symbols.

`z1[1] = W1[1,1]*x[1] + W1[1,2]*x[2] + b1[1]` and `a1[1] = sigmoid(z1[1])` are stored with the
parents kept as symbols, so every chain-rule factor is one local derivative ∂node/∂parent,
computed once when the node is built and kept in textbook form (σ' written as a(1 − a)).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sympy import Expr, Symbol

Number = int | float


def symbol(name: str) -> Symbol:
    """Every symbol is real, so that |u|' = sign(u) and no conjugates appear."""
    return Symbol(name, real=True)


@dataclass(frozen=True)
class Node:
    name: str
    symbol: Symbol
    kind: str  # input, weight, bias, target, leaf | preactivation, activation, loss, variable
    expr: Expr | None = None  # None for a leaf
    partials: Mapping[Symbol, Expr] = field(default_factory=dict)  # ∂self/∂parent, textbook form

    @property
    def is_leaf(self) -> bool:
        return self.expr is None

    @property
    def parents(self) -> tuple[Symbol, ...]:
        return tuple(self.partials)


@dataclass(frozen=True)
class Graph:
    nodes: tuple[Node, ...]  # topological order: every parent before its children
    output: str  # the node whose gradients a bare name asks for (L or f; "" with no loss)
    values: Mapping[Symbol, Number]  # the leaves whose values are known
    default_wrt: tuple[str, ...]  # what `[ask] gradients` means when it is left out
    updatable: frozenset[str]  # the leaves a gradient-descent step may move
    learning_rate: Number | None = None
    # Nodes whose adjoint is simplified as one unit (a network's output pre-activations, where
    # ∂L/∂ŷ · ∂ŷ/∂z becomes ŷ − y), and the assumptions that simplification may use.
    heads: frozenset[str] = frozenset()
    target_sum_is_one: bool = False
    by_name: dict[str, Node] = field(init=False, repr=False)
    by_symbol: dict[Symbol, Node] = field(init=False, repr=False)
    children: dict[Symbol, tuple[Symbol, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_name", {n.name: n for n in self.nodes})
        object.__setattr__(self, "by_symbol", {n.symbol: n for n in self.nodes})
        children: dict[Symbol, list[Symbol]] = {n.symbol: [] for n in self.nodes}
        for node in self.nodes:
            for parent in node.partials:
                children[parent].append(node.symbol)
        object.__setattr__(self, "children", {k: tuple(v) for k, v in children.items()})

    def node(self, name: str) -> Node:
        return self.by_name[name]

    def descendants(self, roots: set[Symbol]) -> set[Symbol]:
        """Every node that depends on one of `roots`, and the roots themselves."""
        seen = set(roots)
        stack = list(roots)
        while stack:
            for child in self.children[stack.pop()]:
                if child not in seen:
                    seen.add(child)
                    stack.append(child)
        return seen

    def ancestors(self, top: Symbol) -> set[Symbol]:
        """Every node `top` depends on, and `top` itself."""
        seen = {top}
        stack = [top]
        while stack:
            for parent in self.by_symbol[stack.pop()].partials:
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        return seen
