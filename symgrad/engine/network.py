"""The pieces every network is built from: the node builder, each layer's activation with its
textbook partials, and the loss over the outputs of one example or of a mini-batch.

The local derivatives are written down from the structure (∂z/∂W_ij = a_j, ∂z/∂a_j = W_ij,
∂z/∂b_i = 1) and from each activation's own derivative, rather than by differentiating sums of
many terms: this is what keeps an 8 × 32 network fast.
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
    unspecified,
)
from symgrad.calculus.losses import LOSSES
from symgrad.engine.graph import Graph, Node, Number, symbol
from symgrad.errors import ProblemError
from symgrad.input.layerspec import ActivationSpec, ConvSpec
from symgrad.input.parser import DEFAULT_FUNCTIONS, ExpressionError, parse_expression
from symgrad.input.spec import LayerSpec, ProblemSpec, Value, is_number

FUNCTIONS = {**DEFAULT_FUNCTIONS, **EXPRESSION_FUNCTIONS}


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
