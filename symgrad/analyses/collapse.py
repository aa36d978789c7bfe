"""Collapse a network whose hidden activations are the identity into one equivalent layer.

With g(z) = z in every hidden layer the network is linear up to its last activation, so
z^{[L]} = W' x + b' with W' = W^{[L]} ⋯ W^{[1]} and b' = W^{[L]}(⋯(W^{[2]} b^{[1]} + b^{[2]})⋯) + b^{[L]}.
The matrices are built over the graph's own leaf symbols and certified against the engine's
forward expressions, so a wrong collapse (like a student's w2' = w12 w31 + w21 w32) cannot be shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sympy
from sympy import Expr, Matrix

from symgrad.engine.certify import compose
from symgrad.output.latex import format_number, substituted_latex, textbook_latex
from symgrad.output.notation import symbol_names

if TYPE_CHECKING:
    from symgrad.engine.solution import Solution


def equivalent_layer(solution: Solution) -> tuple[Matrix, Matrix] | None:
    """(W', b') over the network's weight and bias symbols, or None when it does not collapse."""
    net = solution.spec.network
    if net is None or len(net.layers) < 2 or any(
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


def _factored(layers: int, biased: list[bool]) -> str:
    """The nested product, as a textbook writes it for L layers (bias-free layers left out)."""
    W = " ".join(f"W^{{[{l}]}}" for l in range(layers, 0, -1))
    b = ""
    for l in range(1, layers + 1):
        if b:
            b = f"W^{{[{l}]}} " + (rf"\left({b}\right)" if "+" in b else b)
        if biased[l - 1]:
            b = f"{b} + b^{{[{l}]}}" if b else f"b^{{[{l}]}}"
    return rf"W' = {W}, \quad b' = {b or '0'}"


def _pmatrix(rows: list[list[str]]) -> str:  # a column vector is rows of one entry
    return r"\begin{pmatrix} %s \end{pmatrix}" % r" \\ ".join(" & ".join(r) for r in rows)


def collapse(solution: Solution, names: Mapping[str, str]) -> dict[str, Any] | None:
    """The one layer equivalent to a network whose activations are all identity but the last.

    Returns None unless the network has ≥ 2 layers and only the last may be non-identity;
    otherwise a dict of LaTeX strings:
      "weights":  [[W'_kj]] (k: output unit, j: input), "biases": [b'_k],
      "equation": z^{[L]} = W' x + b' with W', x and b' written out as pmatrix,
      "factored": "W' = W^{[L]} ⋯ W^{[1]}, \\quad b' = W^{[L]}(⋯) + b^{[L]}",
      "entries":  [{"lhs": "w'_{kj}" (single output "w'_{j}"), "rhs": entry}, ...,
                   {"lhs": "b'_{k}" (single output "b'"), "rhs": entry}],
      "numbers":  the same entries with "rhs" the numbers substituted and "value" the result,
                  when every symbol in them (weights, biases) has a value; else None.
    The last layer's activation g, if not the identity, then gives ŷ = g(W' x + b').
    Raises AssertionError if the collapse disagrees with the engine's forward pass (a bug).
    """
    layer = equivalent_layer(solution)
    if layer is None:
        return None
    (W, b), graph, net = layer, solution.graph, solution.spec.network
    assert net is not None
    depth, outputs = len(net.layers), W.rows
    xs = Matrix([graph.node(f"x[{j}]").symbol for j in range(1, net.inputs + 1)])
    collapsed = W * xs + b
    for k in range(outputs):
        z = graph.node(f"z{depth}[{k + 1}]")
        if sympy.expand(compose(graph, z.expr) - collapsed[k]) != 0:
            raise AssertionError(f"collapse: {z.name} differs from W' x + b'")

    def tex(expr: Expr) -> str:
        return textbook_latex(expr, symbol_names(expr.free_symbols, names))

    def sub(*index: int) -> str:  # w'_{12}; a comma only when an index has two digits
        return ("," if any(i > 9 for i in index) else "").join(map(str, index))

    one = outputs == 1
    labelled = [(f"w'_{{{sub(j + 1) if one else sub(k + 1, j + 1)}}}", W[k, j])
                for k in range(outputs) for j in range(W.cols)]
    labelled += [("b'" if one else f"b'_{{{k + 1}}}", b[k]) for k in range(outputs)]
    values, numbers = graph.values, None
    if all(s in values for _, e in labelled for s in e.free_symbols):
        numbers = []
        for lhs, e in labelled:  # ints stay exact: sympy keeps a product of Integers an Integer
            v = e.xreplace({s: sympy.sympify(values[s]) for s in e.free_symbols})
            numbers.append({"lhs": lhs, "rhs": substituted_latex(
                e, symbol_names(e.free_symbols, names), values, solution.precision),
                "value": format_number(int(v) if v.is_Integer else float(v), solution.precision)})
    zs = [[names[f"z{depth}[{k}]"]] for k in range(1, outputs + 1)]
    equation = "%s = %s %s + %s" % (
        zs[0][0] if one else _pmatrix(zs),
        _pmatrix([[tex(W[k, j]) for j in range(W.cols)] for k in range(outputs)]),
        _pmatrix([[names[f"x[{j}]"]] for j in range(1, net.inputs + 1)]),
        _pmatrix([[tex(b[k])] for k in range(outputs)]),
    )
    return {
        "weights": [[tex(W[k, j]) for j in range(W.cols)] for k in range(outputs)],
        "biases": [tex(b[k]) for k in range(outputs)],
        "equation": equation,
        "factored": _factored(depth, [layer.biases is not None for layer in net.layers]),
        "entries": [{"lhs": lhs, "rhs": tex(e)} for lhs, e in labelled],
        "numbers": numbers,
    }
