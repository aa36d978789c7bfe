"""Collapse a network whose hidden activations are the identity into one equivalent layer.

With g(z) = z in every hidden layer the network is linear up to its last activation, so
z^{[L]} = W' x + b' with W' = W^{[L]} ⋯ W^{[1]} and b' = W^{[L]}(⋯(W^{[2]} b^{[1]} + b^{[2]})⋯) + b^{[L]}.
The matrices are built over the graph's own leaf symbols and certified against the engine's
forward expressions, so a wrong collapse (like a student's w2' = w12 w31 + w21 w32) cannot be shown.
The result is a record of sympy matrices; the output modules write it as LaTeX or JSON.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy import ImmutableMatrix, Matrix

from symgrad.engine.certify import compose
from symgrad.engine.solution import Solution


@dataclass(frozen=True)
class EquivalentLayer:
    """z^{[L]} = W' x + b': the one layer a network with identity hidden activations amounts to."""

    weights: ImmutableMatrix  # W' (one row per output unit, one column per input), over the weight symbols
    biases: ImmutableMatrix  # b', a column over the weight and bias symbols (zeros when no layer has biases)
    weight_values: ImmutableMatrix | None  # W' with the known weights put in (numbers where all are known)
    bias_values: ImmutableMatrix | None  # b' likewise; both None when no symbol in them has a value
    inputs: tuple[str, ...]  # the names of x: x[1], x[2], ...
    outputs: tuple[str, ...]  # the pre-activations W' x + b' gives: z2[1], ...
    biased: tuple[bool, ...]  # per layer, whether it has biases (b' = W^{[2]} b^{[1]} + b^{[2]})
    certified: bool  # W' x + b' was checked equal to the composed forward pass (else: an error)

    @property
    def known(self) -> bool:
        """Every entry of W' and b' is a number."""
        return self.weight_values is not None and self.bias_values is not None and not any(
            e.free_symbols for e in [*self.weight_values, *self.bias_values])


def layer_matrices(solution: Solution) -> tuple[Matrix, Matrix] | None:
    """(W', b') over the network's weight and bias symbols, or None when it does not collapse."""
    net = solution.spec.network
    if net is None or not net.plain or len(net.layers) < 2 or any(
            layer.activation != "identity" for layer in net.layers[:-1]):
        return None
    node = solution.graph.node
    W, b, cols = sympy.eye(net.inputs), sympy.zeros(net.inputs, 1), net.inputs
    for l, layer in enumerate(net.layers, 1):
        Wl = Matrix([[node(f"W{l}[{i},{j}]").symbol for j in range(1, cols + 1)]
                     for i in range(1, layer.units + 1)])
        bl = (Matrix([node(f"b{l}[{i}]").symbol for i in range(1, layer.units + 1)])
              if layer.biases is not None else sympy.zeros(layer.units, 1))
        # a = W_l a_prev + b_l with a_prev = W x + b: fold the layer into the running pair
        W, b = Wl * W, Wl * b + bl
        cols = layer.units
    return W.applyfunc(sympy.expand), b.applyfunc(sympy.expand)


def equivalent_layer(solution: Solution) -> EquivalentLayer | None:
    """The one layer equivalent to a network whose activations are all identity but the last.

    None unless the network has ≥ 2 layers and only the last may be non-identity.  The last
    layer's activation g, if not the identity, then gives ŷ = g(W' x + b').
    Raises AssertionError if the collapse disagrees with the engine's forward pass (a bug).
    """
    matrices = layer_matrices(solution)
    if matrices is None:
        return None
    (W, b), graph, net = matrices, solution.graph, solution.spec.network
    assert net is not None
    inputs = tuple(f"x[{j}]" for j in range(1, net.inputs + 1))
    outputs = tuple(f"z{len(net.layers)}[{k}]" for k in range(1, W.rows + 1))
    collapsed = W * Matrix([graph.node(x).symbol for x in inputs]) + b
    for k, name in enumerate(outputs):
        z = graph.node(name)
        if sympy.expand(compose(graph, z.expr) - collapsed[k]) != 0:
            raise AssertionError(f"collapse: {z.name} differs from W' x + b'")
    values = graph.values
    known = {s: sympy.sympify(values[s]) for s in W.free_symbols | b.free_symbols if s in values}
    # ints stay exact: sympy keeps a product of Integers an Integer
    weight_values = ImmutableMatrix(W.xreplace(known)) if known else None
    bias_values = ImmutableMatrix(b.xreplace(known)) if known else None
    return EquivalentLayer(ImmutableMatrix(W), ImmutableMatrix(b), weight_values, bias_values, inputs, outputs,
                           tuple(layer.biases is not None for layer in net.layers), True)
