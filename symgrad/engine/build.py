"""From a validated spec to a `Graph`: a dense network on one example, a network with other
layers or a mini-batch (engine/layers.py), or a computation graph of named variables."""

from __future__ import annotations

import sympy
from sympy import Expr, Integer, Symbol

from symgrad.calculus.activations import sigmoid
from symgrad.engine.graph import Graph, Node, symbol
from symgrad.engine.layers import build_layers
from symgrad.engine.network import NetworkBuilder, activation_partials, layer_activation, network_loss, parse_field
from symgrad.errors import ProblemError
from symgrad.input import limits
from symgrad.input.spec import ProblemSpec, Value, is_number


def build(spec: ProblemSpec) -> Graph:
    if spec.network is None:
        return build_graph(spec)
    if spec.network.plain:
        return build_network(spec)
    return build_layers(spec)


def vector_data(spec: ProblemSpec, name: str, length: int) -> tuple[Value, ...]:
    """A network's inputs or targets from [data], or all symbolic when they are left out."""
    given = spec.data.get(name)
    return given if isinstance(given, tuple) else (None,) * length


def build_network(spec: ProblemSpec) -> Graph:
    net = spec.network
    assert net is not None
    b = NetworkBuilder()
    x_values = vector_data(spec, "x", net.inputs)
    previous = [b.leaf(f"x[{j}]", "input", v) for j, v in enumerate(x_values, 1)]
    weights: list[Symbol] = []
    parameters: list[str] = []
    depth = len(net.layers)
    for l, layer in enumerate(net.layers, 1):
        rows = layer.weights or ((None,) * len(previous),) * layer.units
        w = [
            [b.leaf(f"W{l}[{i},{j}]", "weight", v) for j, v in enumerate(row, 1)]
            for i, row in enumerate(rows, 1)
        ]
        bias = (
            [b.leaf(f"b{l}[{i}]", "bias", v) for i, v in enumerate(layer.biases, 1)]
            if layer.biases is not None
            else None
        )
        weights += [wij for row in w for wij in row]
        for i in range(layer.units):
            parameters += [s.name for s in w[i]] + ([bias[i].name] if bias else [])
        zs = []
        for i in range(layer.units):
            partials: dict[Symbol, Expr] = {}
            for wij, aj in zip(w[i], previous):
                partials[wij] = aj
                partials[aj] = wij
            terms = [wij * aj for wij, aj in zip(w[i], previous)]
            if bias:
                partials[bias[i]] = Integer(1)
                terms.append(bias[i])
            zs.append(b.add(f"z{l}[{i + 1}]", "preactivation", sympy.Add(*terms), partials))
        outputs = layer_activation(layer).layer(zs)
        names = [
            symbol(f"yhat[{i}]" if l == depth else f"a{l}[{i}]")
            for i in range(1, layer.units + 1)
        ]
        for a, out, partials in zip(names, outputs, activation_partials(outputs, zs, names)):
            b.add(a.name, "activation", out, partials)
        previous = names
    return network_loss(spec, b, [previous], [0], parameters, weights)


def build_graph(spec: ProblemSpec) -> Graph:
    graph = spec.graph
    assert graph is not None
    defined = dict(graph.define)
    exprs: dict[str, Expr] = {}
    for name, text in graph.define:
        exprs[name] = parse_field(
            spec.source, spec.field(f"graph.define.{name}"), text, symbol, "any variable name"
        )
    leaves: list[str] = []
    for expr in exprs.values():
        for s in sorted(expr.free_symbols, key=lambda s: s.name):
            if s.name not in defined and s.name not in leaves:
                leaves.append(s.name)
    for name in spec.data:
        if name in defined:
            raise ProblemError(
                spec.source, spec.field(f"data.{name}"), f"{name} is defined in [graph.define]; give values "
                "only to the variables it is computed from",
            )
        if name not in leaves:
            raise ProblemError(
                spec.source, spec.field(f"data.{name}"), f"no expression uses {name} (variables: "
                f"{', '.join(leaves)})",
            )
    nodes = [Node(name, symbol(name), "leaf") for name in leaves]
    order = topological_order(spec.source, spec.field("graph.define"), exprs)
    depth: dict[str, int] = {}
    for name in order:  # the longest chain below each variable bounds every later recursion
        depth[name] = 1 + max((depth.get(s.name, 0) for s in exprs[name].free_symbols), default=0)
        limits.at_most(spec.source, spec.field(f"graph.define.{name}"),
                       "variables in a chain down to a leaf", depth[name], limits.DEPTH)
    for name in order:
        expr = exprs[name]
        parents = sorted(expr.free_symbols, key=lambda s: s.name)
        partials = {p: expr.diff(p) for p in parents}
        if isinstance(expr, (sigmoid, sympy.tanh)):  # s = σ(u): ∂s/∂u = s(1 − s), as for a unit
            partials = {p: d.xreplace({expr: symbol(name)}) for p, d in partials.items()}
        nodes.append(Node(name, symbol(name), "variable", expr, partials))
    values = {
        symbol(name): value for name, value in spec.data.items() if is_number(value)
    }
    return Graph(
        nodes=tuple(nodes),
        output=graph.output,
        values=values,  # type: ignore[arg-type]
        default_wrt=tuple(leaves),
        updatable=frozenset(leaves),
        learning_rate=graph.learning_rate,
    )


def topological_order(source: str, field: str, exprs: dict[str, Expr]) -> list[str]:
    """The defined variables, each after the ones it uses; a cycle is reported by its path."""
    order: list[str] = []
    state: dict[str, str] = {}  # "visiting" or "done"

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " -> ".join(path[path.index(name):] + [name])
            raise ProblemError(source, field, f"expected no cycle, found {cycle}")
        state[name] = "visiting"
        for s in sorted(exprs[name].free_symbols, key=lambda s: s.name):
            if s.name in exprs:
                visit(s.name, path + [name])
        state[name] = "done"
        order.append(name)

    for name in exprs:
        visit(name, [])
    return order
