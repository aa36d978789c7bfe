"""Backprop in matrix form: δ^{[L]} = ∇_ŷ L ⊙ g'(z^{[L]}), δ^{[l]} = (W^{[l+1]})ᵀ δ^{[l+1]} ⊙ g'(z^{[l]}),
∂L/∂W^{[l]} = δ^{[l]} (a^{[l-1]})ᵀ, ∂L/∂b^{[l]} = δ^{[l]}, as a record of numbers by layer.

Every δ and gradient is the engine's own number, read from the solution's kept sweep (its
adjoint values); only (W^{[l+1]})ᵀ δ^{[l+1]} is multiplied out here, to show the intermediate
vector a student writes down.  The output modules write the record as pmatrices or JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

from sympy import Expr

from symgrad.engine.graph import symbol
from symgrad.engine.numeric import Value, evaluate, is_float
from symgrad.engine.solution import Solution
from symgrad.input.names import Partial

Vector = tuple[float, ...]
Rows = tuple[tuple[float, ...], ...]
LAYOUT = "out_in"  # W^{[l]}[i][j]: into unit i of layer l, from unit j of layer l − 1 (torch.nn.Linear)


@dataclass(frozen=True)
class LayerBackprop:
    """One layer's backprop numbers (a^{[0]} = x)."""

    layer: int  # l = 1 .. L
    weights: Rows  # W^{[l]}[i][j], one row per unit of layer l
    inputs: Vector  # a^{[l-1]}: what the layer multiplies (x for l = 1)
    delta: Vector  # δ^{[l]} = ∂L/∂z^{[l]}, the engine's
    propagated: Vector | None  # (W^{[l+1]})ᵀ δ^{[l+1]}; None for the output layer
    derivative: Vector | None  # g'(z^{[l]}); None for a softmax output layer
    weight_gradient: Rows  # ∂L/∂W^{[l]} = δ^{[l]} (a^{[l-1]})ᵀ, the engine's
    bias_gradient: Vector | None  # ∂L/∂b^{[l]} = δ^{[l]}; None for a layer without biases


@dataclass(frozen=True)
class MatrixBackprop:
    layers: tuple[LayerBackprop, ...]  # l = 1 .. L
    output_gradient: Vector | None  # ∇_ŷ L, when the engine has it and g' is elementwise
    # the engine's simplified ∂L/∂z^{[L]}_1 over yhat[1] and y[1] (ŷ − y), when it is one
    # formula for the whole output vector; None otherwise
    head_form: Expr | None
    layout: str = LAYOUT


def number(value: Value) -> float:
    if not is_float(value):  # symbolic: an unknown weight, input, target or g'
        raise ValueError(value)
    return float(value) if isinstance(value, Fraction) else value  # a ½ in g'


def matrix_backprop(solution: Solution) -> MatrixBackprop | None:
    """The numbers of the matrix form, or None when it does not apply.

    None unless the solution is a layered network with a loss (and no L2 term: then ∂L/∂W is
    δ aᵀ + 2λW), numeric weights, inputs and targets, elementwise activations (softmax only at
    the output), and every weight and bias asked for.
    """
    net, graph = solution.spec.network, solution.graph
    if (net is None or not net.plain or net.loss is None or net.l2 or graph.output != "L"
            or "L" not in solution.sweeps):
        return None
    env = {**graph.values, **{symbol(n): v for n, v in solution.values.items()}}
    leaf = lambda name: number(graph.values[symbol(name)])  # KeyError: symbolic
    grad = lambda name: number(solution.gradients[str(Partial("L", name))].value)
    adjoint = lambda name: number(solution.adjoint_values[str(Partial("L", name))])
    depth = len(net.layers)
    layers: list[LayerBackprop] = []
    try:
        inputs: Vector = tuple(leaf(f"x[{j}]") for j in range(1, net.inputs + 1))
        for l, layer in enumerate(net.layers, 1):
            units, fan_in = range(1, layer.units + 1), range(1, len(inputs) + 1)
            outs = [f"yhat[{i}]" if l == depth else f"a{l}[{i}]" for i in units]
            partials = [graph.node(a).partials for a in outs]
            zs = [symbol(f"z{l}[{i}]") for i in units]
            derivative: Vector | None = None
            if all(set(p) == {z} for p, z in zip(partials, zs)):  # elementwise: a_i of z_i only
                derivative = tuple(number(evaluate(p[z], env)) for p, z in zip(partials, zs))
            elif l < depth:  # softmax only at the output, where ∂L/∂z is taken as a whole
                return None
            layers.append(LayerBackprop(
                layer=l,
                weights=tuple(tuple(leaf(f"W{l}[{i},{j}]") for j in fan_in) for i in units),
                inputs=inputs,
                delta=tuple(adjoint(f"z{l}[{i}]") for i in units),
                propagated=None,  # filled in below, from the layer above
                derivative=derivative,
                weight_gradient=tuple(tuple(grad(f"W{l}[{i},{j}]") for j in fan_in) for i in units),
                bias_gradient=(tuple(grad(f"b{l}[{i}]") for i in units)
                               if layer.biases is not None else None),
            ))
            inputs = tuple(number(solution.values[a]) for a in outs)
        # the engine may fold ∇_ŷ L into ŷ − y and never need it on its own
        found = [solution.adjoint_values.get(str(Partial("L", f"yhat[{k}]")))
                 for k in range(1, len(inputs) + 1)]
        has_grad = layers[-1].derivative is not None and all(v is not None for v in found)
        output_gradient = tuple(number(v) for v in found) if has_grad else None
    except (ValueError, KeyError):  # symbolic, or a weight/bias that was not asked for
        return None
    for below, above in zip(layers, layers[1:]):  # (W^{[l+1]})ᵀ δ^{[l+1]}, in plain Python
        pulled = tuple(math.fsum(w * d for w, d in zip(column, above.delta))
                       for column in zip(*above.weights))
        layers[below.layer - 1] = replace(below, propagated=pulled)
    return MatrixBackprop(tuple(layers), output_gradient, head_form(solution, depth))


def head_form(solution: Solution, depth: int) -> Expr | None:
    """The engine's simplified output factor (ŷ − y), read from the kept sweep from L, when it is
    written in ŷ₁ and y₁ only (so that it reads as a vector formula)."""
    sweep, head = solution.sweeps["L"], symbol(f"z{depth}[1]")
    if head not in sweep.simplified or not sweep.head_forms[head].free_symbols <= {
            symbol("yhat[1]"), symbol("y[1]")}:
        return None
    return sweep.head_forms[head]
