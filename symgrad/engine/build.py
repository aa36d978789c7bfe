"""From a validated spec to a `Graph`: a layered network, or a computation graph of named variables.

The local derivatives of a network are written down from its structure (∂z/∂W_ij = a_j,
∂z/∂a_j = W_ij, ∂z/∂b_i = 1) and from each activation's own derivative, rather than by
differentiating sums of many terms: this is what keeps an 8 × 32 network fast.
"""

from __future__ import annotations

from collections.abc import Callable

import sympy
from sympy import Expr, Integer, Rational, Symbol, factor_terms
from sympy.core.function import AppliedUndef

from symgrad.calculus.activations import (
    ACTIVATIONS,
    EXPRESSION_FUNCTIONS,
    Activation,
    leaky_relu_with_slope,
    sigmoid,
    unspecified,
)
from symgrad.input import limits
from symgrad.errors import ProblemError
from symgrad.engine.graph import Graph, Node, Number, symbol
from symgrad.calculus.losses import LOSSES
from symgrad.input.parser import DEFAULT_FUNCTIONS, ExpressionError, parse_expression
from symgrad.input.layerspec import ActivationSpec, ConvSpec
from symgrad.input.spec import LayerSpec, ProblemSpec, Value, is_number

FUNCTIONS = {**DEFAULT_FUNCTIONS, **EXPRESSION_FUNCTIONS}


def build(spec: ProblemSpec) -> Graph:
    if spec.network is None:
        return build_graph(spec)
    if spec.network.plain:
        return build_network(spec)
    from symgrad.engine.layers import build_layers  # it builds on this module's builder

    return build_layers(spec)


class NetworkBuilder:
    """Collects nodes in topological order while the layers are laid down."""

    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.values: dict[Symbol, Number] = {}
        self.by_symbol: dict[Symbol, Node] = {}

    def leaf(self, name: str, kind: str, value: Value) -> Symbol:
        node = Node(name, symbol(name), kind)
        self.nodes.append(node)
        if is_number(value):
            self.values[node.symbol] = value  # type: ignore[assignment]
        return node.symbol

    def add(self, name: str, kind: str, expr: Expr, partials: dict[Symbol, Expr]) -> Symbol:
        node = Node(name, symbol(name), kind, expr, partials)
        self.nodes.append(node)
        self.by_symbol[node.symbol] = node
        return node.symbol

    def node(self, s: Symbol) -> Node:
        return self.by_symbol[s]


def vector_data(spec: ProblemSpec, name: str, length: int) -> tuple[Value, ...]:
    """A network's inputs or targets from [data], or all symbolic when they are left out."""
    given = spec.data.get(name)
    return given if isinstance(given, tuple) else (None,) * length


def layer_activation(layer: LayerSpec | ConvSpec | ActivationSpec) -> Activation:
    if layer.activation == "leaky_relu" and layer.negative_slope is not None:
        return leaky_relu_with_slope(sympy.Float(layer.negative_slope))
    return ACTIVATIONS.get(layer.activation) or unspecified(layer.activation)


def activation_partials(
    outputs: list[Expr], zs: list[Symbol], names: list[Symbol]
) -> list[dict[Symbol, Expr]]:
    """∂a_i/∂z_k for one layer, written in terms of the activations themselves (σ' = a(1 − a)).

    An unspecified g keeps g'(z): replacing g(z) by a inside Derivative(g(z), z) would destroy it.
    """
    own = {out: a for out, a in zip(outputs, names) if not isinstance(out, (Symbol, AppliedUndef))}
    layer = set(zs)
    partials = []
    for out in outputs:
        if isinstance(out, Symbol):  # the identity
            partials.append({out: Integer(1)})
            continue
        # each pre-activation is a plain argument of the function: fdiff gives the textbook
        # form directly, far faster than diff's general machinery
        partials.append(
            {z: out.fdiff(k).xreplace(own) for k, z in enumerate(out.args, 1) if z in layer}
        )
    return partials


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


def network_loss(spec: ProblemSpec, b: NetworkBuilder, outputs: list[list[Symbol]], examples: list[int],
                 parameters: list[str], weights: list[Symbol]) -> Graph:
    """The loss over the outputs of each example (one, or a mini-batch's mean or sum), and the graph.

    A mini-batch has a loss L[n] per example and L their mean (or sum); one example has L alone.
    """
    net = spec.network
    assert net is not None
    heads: frozenset[str] = frozenset()
    output = ""  # no loss: only gradients named in full (dyhat[1]/dx[1]) can be asked for
    sum_is_one = False
    if net.loss is not None:
        given = spec.data.get("y")
        width = len(outputs[0])
        losses: list[Symbol] = []
        distributions: list[bool] = []  # each example's targets sum to one (or are unknown)
        for k, (n, yhat) in enumerate(zip(examples, outputs)):
            values = given[k * width:(k + 1) * width] if isinstance(given, tuple) else (None,) * width
            known_targets = [float(v) for v in values if isinstance(v, (int, float))]
            at = f"[{n}]" if n else ""
            ys = [b.leaf(f"y{at}[{j}]", "target", v) for j, v in enumerate(values, 1)]
            loss = loss_expression(spec, yhat, ys)
            if not n and net.l2:
                loss += sympy.Float(net.l2) * sympy.Add(*(wij**2 for wij in weights))
            parents = [*yhat, *ys, *(weights if net.l2 and not n else [])]
            losses.append(b.add(f"L{at}", "example_loss" if n else "loss", loss,
                                {s: factor_terms(loss.diff(s)) for s in parents}))
            distributions.append(len(known_targets) < width or abs(sum(known_targets) - 1) < 1e-12)
        if examples != [0]:  # a mini-batch: L is the mean (or the sum) of the examples' losses
            scale = Rational(1, len(losses)) if net.reduction == "mean" else Integer(1)
            total = scale * sympy.Add(*losses)
            partials = {l: scale for l in losses}
            if net.l2:
                penalty = sympy.Float(net.l2) * sympy.Add(*(wij**2 for wij in weights))
                total += penalty
                partials |= {w: factor_terms(penalty.diff(w)) for w in weights}
            b.add("L", "loss", total, partials)
        output = "L"
        sum_is_one = net.loss == "cross_entropy" and all(distributions)
        named = [s for ys in outputs for s in ys if s.name.startswith("yhat[")]
        heads = frozenset(p.name for s in named for p in b.node(s).partials)
    return Graph(
        nodes=tuple(b.nodes),
        output=output,
        values=b.values,
        default_wrt=tuple(parameters) if net.loss is not None else (),
        updatable=frozenset(parameters),
        learning_rate=net.learning_rate,
        heads=heads,
        target_sum_is_one=sum_is_one,
    )


def loss_expression(spec: ProblemSpec, yhats: list[Symbol], ys: list[Symbol]) -> Expr:
    net = spec.network
    assert net is not None and net.loss is not None
    if net.loss in LOSSES:
        return LOSSES[net.loss](yhats, ys)
    names = {f"yhat{k}": s for k, s in enumerate(yhats, 1)}
    names |= {f"y{k}": s for k, s in enumerate(ys, 1)}
    if len(yhats) == 1:
        names |= {"yhat": yhats[0], "y": ys[0]}
    expected = "yhat1..yhat%d, y1..y%d" % (len(yhats), len(ys))
    return parse_field(spec.source, spec.field("network.loss"), net.loss, names.__getitem__, expected)


def parse_field(
    source: str, field: str, text: str, symbol_for: Callable[[str], Expr], names: str
) -> Expr:
    try:
        return parse_expression(text, symbol_for, FUNCTIONS)
    except ExpressionError as error:
        hint = f" (names allowed here: {names})" if error.message.startswith("unknown name") else ""
        raise ProblemError(source, field, f"{error}{hint}") from None


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
