"""Backprop in matrix form (δ^{[L]} = ∇_ŷ L ⊙ g'(z^{[L]}), δ^{[l]} = (W^{[l+1]})ᵀ δ^{[l+1]} ⊙ g'(z^{[l]}),
∂L/∂W^{[l]} = δ^{[l]} (a^{[l-1]})ᵀ, ∂L/∂b^{[l]} = δ^{[l]}) as LaTeX strings for a template.
Every δ and gradient shown is the engine's own number; only (W^{[l+1]})ᵀ δ^{[l+1]} is multiplied
out here, to show the intermediate vector a student writes down."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from symgrad.engine.backward import reverse_sweep
from symgrad.engine.graph import symbol
from symgrad.output.latex import format_number, textbook_latex
from symgrad.engine.numeric import Value, evaluate, is_float

if TYPE_CHECKING:
    from symgrad.engine.solution import Solution

CONVENTION = (r"$W^{[l]}$ has one row per unit of layer $l$ (rows = output units, columns = input "
              r"units), as \texttt{torch.nn.Linear}.")
Vector = list[float]
Matrix = list[list[float]]


@dataclass(frozen=True)
class Numbers:
    """A network's backprop numbers by layer l = 1..L (activations from l = 0, a^{[0]} = x)."""

    weights: dict[int, Matrix]  # W^{[l]}[into i][from j]
    activations: dict[int, Vector]
    gprimes: dict[int, Vector | None]  # g'(z^{[l]}); None for a softmax output layer
    deltas: dict[int, Vector]  # the engine's ∂L/∂z^{[l]}
    output_grad: Vector | None  # the engine's ∇_ŷ L, when it has it and g' is elementwise
    weight_grads: dict[int, Matrix]
    bias_grads: dict[int, Vector]  # only the layers that have biases
    pulled: dict[int, Vector]  # (W^{[l+1]})ᵀ δ^{[l+1]} for l < L, in plain Python
    recomputed: dict[int, Vector]  # (W^{[l+1]})ᵀ δ^{[l+1]} ⊙ g'(z^{[l]}): to check the engine's


def number(value: Value) -> float:
    if not is_float(value):  # symbolic: an unknown weight, input, target or g'
        raise ValueError(value)
    return value  # an exact Fraction (a ½ in g') formats and multiplies like a float


def backprop_numbers(solution: Solution) -> Numbers | None:
    """The numbers of the matrix form, or None when it does not apply (see `matrix_form`)."""
    net, graph = solution.spec.network, solution.graph
    # with an L2 term ∂L/∂W is δ aᵀ + 2λW, so the plain formulas would not be true
    if net is None or net.loss is None or net.l2 or graph.output != "L":
        return None
    env = {**graph.values, **{symbol(n): v for n, v in solution.values.items()}}
    leaf = lambda name: number(graph.values[symbol(name)])  # KeyError: symbolic
    grad = lambda name: number(solution.gradients[f"dL/d{name}"].value)
    depth = len(net.layers)
    try:
        acts = {0: [leaf(f"x[{j}]") for j in range(1, net.inputs + 1)]}
        weights, deltas, wgrads, bgrads = {}, {}, {}, {}
        gprimes: dict[int, Vector | None] = {}
        for l, layer in enumerate(net.layers, 1):
            units, fan_in = range(1, layer.units + 1), range(1, len(acts[l - 1]) + 1)
            outs = [f"yhat[{i}]" if l == depth else f"a{l}[{i}]" for i in units]
            acts[l] = [number(solution.values[a]) for a in outs]
            weights[l] = [[leaf(f"W{l}[{i},{j}]") for j in fan_in] for i in units]
            deltas[l] = [number(solution.adjoint_values[f"dL/dz{l}[{i}]"]) for i in units]
            wgrads[l] = [[grad(f"W{l}[{i},{j}]") for j in fan_in] for i in units]
            if layer.biases is not None:
                bgrads[l] = [grad(f"b{l}[{i}]") for i in units]
            partials = [graph.node(a).partials for a in outs]
            zs = [symbol(f"z{l}[{i}]") for i in units]
            if all(set(p) == {z} for p, z in zip(partials, zs)):  # elementwise: a_i of z_i only
                gprimes[l] = [number(evaluate(p[z], env)) for p, z in zip(partials, zs)]
            elif l == depth:  # a softmax output: only ∂L/∂z as a whole
                gprimes[l] = None
            else:
                return None
        # the engine may fold ∇_ŷ L into ŷ − y and never need it on its own
        found = [solution.adjoint_values.get(f"dL/dyhat[{k}]") for k in range(1, len(acts[depth]) + 1)]
        has_grad = gprimes[depth] is not None and all(v is not None for v in found)
        output_grad = [number(v) for v in found] if has_grad else None
    except (ValueError, KeyError):  # symbolic, or a weight/bias that was not asked for
        return None
    pulled = {l: [math.fsum(w * d for w, d in zip(column, deltas[l + 1]))
                  for column in zip(*weights[l + 1])] for l in range(1, depth)}
    again = {l: [p * g for p, g in zip(pulled[l], gprimes[l] or [])] for l in pulled}  # g' ≠ None
    return Numbers(weights, acts, gprimes, deltas, output_grad, wgrads, bgrads, pulled, again)


def pmatrix(rows: Sequence[Sequence[float]], precision: int) -> str:
    body = r" \\ ".join(" & ".join(format_number(v, precision) for v in row) for row in rows)
    return rf"\begin{{pmatrix}} {body} \end{{pmatrix}}"


def head_note(solution: Solution, depth: int, loss: str) -> str | None:
    """The engine's simplified output factor (ŷ − y) as a vector formula (its form, no numbers)."""
    sweep, head = reverse_sweep(solution.graph, "L"), symbol(f"z{depth}[1]")
    vector = {symbol("yhat[1]"): r"\hat{y}", symbol("y[1]"): "y"}
    if head not in sweep.simplified or not sweep.head_forms[head].free_symbols <= set(vector):
        return None
    form = textbook_latex(sweep.head_forms[head], vector)
    return rf"the output factors combine: $\frac{{\partial {loss}}}{{\partial z^{{[{depth}]}}}} = {form}$"


def matrix_form(solution: Solution, names: Mapping[str, str], precision: int = 4) -> dict[str, Any] | None:
    """Backprop in matrix form with the numbers, as LaTeX strings (math mode, no $), or None.

    None unless the solution is a layered network with a loss (and no L2 term), numeric
    weights, inputs and targets, elementwise activations (softmax only at the output), and every
    weight and bias asked for.  `names` gives the loss's symbol (names["L"]).  The shape:

    {"convention": text-mode sentence on the layout of W,
     "steps": [{"lhs", "formula", "numbers", "value"[, "note" (text mode)]}, ...]  # δ^{[L]} .. δ^{[1]}
     "gradients": [{"lhs", "formula", "numbers", "value"} for W^{[l]},
                   {"lhs", "formula", "value"} for b^{[l]} (layers with biases), l = L .. 1]}
    """
    n = backprop_numbers(solution)
    if n is None:
        return None
    vec = lambda v: pmatrix([[x] for x in v], precision)
    depth, loss = len(n.deltas), names.get("L", "L")
    gprime, delta = n.gprimes[depth], vec(n.deltas[depth])
    if n.output_grad is not None and gprime is not None:
        formula = rf"\nabla_{{\hat{{y}}}} {loss} \odot g'(z^{{[{depth}]}})"
        numbers = rf"{vec(n.output_grad)} \odot {vec(gprime)}"
    else:  # softmax, or ∇_ŷ L folded into ŷ − y: the engine's ∂L/∂z^{[L]} as a whole
        formula, numbers = rf"\frac{{\partial {loss}}}{{\partial z^{{[{depth}]}}}}", delta
    first = {"lhs": rf"\delta^{{[{depth}]}}", "formula": formula, "numbers": numbers, "value": delta}
    if note := head_note(solution, depth, loss):
        first["note"] = note
    steps = [first]
    for l in range(depth - 1, 0, -1):
        w_t = pmatrix(list(zip(*n.weights[l + 1])), precision)
        g = vec(n.gprimes[l] or [])
        steps.append({"lhs": rf"\delta^{{[{l}]}}",
                      "formula": rf"(W^{{[{l + 1}]}})^{{T}} \delta^{{[{l + 1}]}} \odot g'(z^{{[{l}]}})",
                      "numbers": rf"{w_t} {vec(n.deltas[l + 1])} \odot {g} = {vec(n.pulled[l])} \odot {g}",
                      "value": vec(n.deltas[l])})
    gradients: list[dict[str, str]] = []
    for l in range(depth, 0, -1):
        a = "x^{T}" if l == 1 else rf"(a^{{[{l - 1}]}})^{{T}}"
        gradients.append({"lhs": rf"\frac{{\partial {loss}}}{{\partial W^{{[{l}]}}}}",
                          "formula": rf"\delta^{{[{l}]}} {a}",
                          "numbers": rf"{vec(n.deltas[l])} {pmatrix([n.activations[l - 1]], precision)}",
                          "value": pmatrix(n.weight_grads[l], precision)})
        if l in n.bias_grads:
            gradients.append({"lhs": rf"\frac{{\partial {loss}}}{{\partial b^{{[{l}]}}}}",
                              "formula": rf"\delta^{{[{l}]}}", "value": vec(n.bias_grads[l])})
    return {"convention": CONVENTION, "steps": steps, "gradients": gradients}
