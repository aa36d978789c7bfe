"""An independent forward and backward pass in plain Python (math only): the oracle for finite
differences and for the δ of each layer.

It shares no code with symgrad: the activations and losses are written out again here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any


def _softmax(z: Sequence[float]) -> list[float]:
    m = max(z)
    e = [math.exp(v - m) for v in z]
    return [v / sum(e) for v in e]


ACTIVATIONS: dict[str, Callable[[Sequence[float]], list[float]]] = {
    "identity": lambda z: list(z),
    "sigmoid": lambda z: [1 / (1 + math.exp(-v)) for v in z],
    "tanh": lambda z: [math.tanh(v) for v in z],
    "relu": lambda z: [max(v, 0.0) for v in z],
    "leaky_relu": lambda z: [v if v > 0 else 0.01 * v for v in z],
    "softplus": lambda z: [math.log(1 + math.exp(v)) for v in z],
    "exp": lambda z: [math.exp(v) for v in z],
    "softmax": _softmax,
}

LOSSES: dict[str, Callable[[Sequence[float], Sequence[float]], float]] = {
    "half_squared_error": lambda p, t: sum(0.5 * (a - b) ** 2 for a, b in zip(p, t)),
    "squared_error": lambda p, t: sum((a - b) ** 2 for a, b in zip(p, t)),
    "absolute_error": lambda p, t: sum(abs(a - b) for a, b in zip(p, t)),
    "bce": lambda p, t: -sum(b * math.log(a) + (1 - b) * math.log(1 - a) for a, b in zip(p, t)),
    "log_likelihood": lambda p, t: sum(
        b * math.log(a) + (1 - b) * math.log(1 - a) for a, b in zip(p, t)
    ),
    "cross_entropy": lambda p, t: -sum(b * math.log(a) for a, b in zip(p, t)),
}


def forward(
    x: Sequence[float],
    layers: Sequence[tuple[list[list[float]], list[float], str]],
    y: Sequence[float],
    loss: str,
    l2: float = 0.0,
) -> float:
    """The loss of a layered network; weights are [into unit i][from unit j]."""
    a = list(x)
    for weights, biases, activation in layers:
        z = [sum(w * v for w, v in zip(row, a)) + b for row, b in zip(weights, biases)]
        a = ACTIVATIONS[activation](z)
    penalty = l2 * sum(w * w for weights, _, _ in layers for row in weights for w in row)
    return LOSSES[loss](a, y) + penalty


def central_difference(f: Callable[[float], float], at: float, h: float = 1e-6) -> float:
    return (f(at + h) - f(at - h)) / (2 * h)


# The backward pass, written out again: each activation's derivative from its own formula, the
# loss's gradient in ŷ, and δ^{[l]} = g'(z^{[l]}) ⊙ (W^{[l+1]})ᵀ δ^{[l+1]} by explicit loops.
DERIVATIVES: dict[str, Callable[[float, float], float]] = {  # g'(z), given z and a = g(z)
    "identity": lambda z, a: 1.0,
    "sigmoid": lambda z, a: a * (1 - a),
    "tanh": lambda z, a: 1 - a * a,
    "relu": lambda z, a: 1.0 if z > 0 else 0.0,
    "leaky_relu": lambda z, a: 1.0 if z > 0 else 0.01,
    "softplus": lambda z, a: 1 / (1 + math.exp(-z)),
    "exp": lambda z, a: a,
}

LOSS_GRADIENTS: dict[str, Callable[[float, float], float]] = {  # ∂L/∂ŷ_k, given ŷ_k and y_k
    "half_squared_error": lambda p, t: p - t,
    "squared_error": lambda p, t: 2 * (p - t),
    "bce": lambda p, t: -t / p + (1 - t) / (1 - p),
    "cross_entropy": lambda p, t: -t / p,
}


def backward(
    x: Sequence[float],
    layers: Sequence[tuple[list[list[float]], list[float], str]],
    y: Sequence[float],
    loss: str,
) -> list[dict[str, Any]]:
    """Per layer l = 1..L: "inputs" a^{[l-1]}, "z", "delta" ∂L/∂z, "derivative" g'(z) (None for a
    softmax), "propagated" (W^{[l+1]})ᵀ δ^{[l+1]} (None for the last layer), "weight_gradient"
    δ aᵀ, "bias_gradient" δ; and the last layer also "output_gradient" ∇_ŷ L."""
    a: list[float] = list(x)
    rows: list[dict[str, Any]] = []
    for weights, biases, activation in layers:
        z = [sum(w * v for w, v in zip(row, a)) + b for row, b in zip(weights, biases)]
        out = ACTIVATIONS[activation](z)
        derivative = (None if activation == "softmax"
                      else [DERIVATIVES[activation](zi, ai) for zi, ai in zip(z, out)])
        rows.append({"inputs": a, "z": z, "a": out, "derivative": derivative, "propagated": None})
        a = out
    last = rows[-1]
    grad = [LOSS_GRADIENTS[loss](p, t) for p, t in zip(last["a"], y)]
    last["output_gradient"] = grad
    if last["derivative"] is None:  # softmax: δ_i = Σ_k ∂ŷ_k/∂z_i ∂L/∂ŷ_k, ∂ŷ_k/∂z_i = ŷ_k([k = i] − ŷ_i)
        p = last["a"]
        last["delta"] = [sum(p[k] * ((k == i) - p[i]) * grad[k] for k in range(len(p)))
                         for i in range(len(p))]
    else:
        last["delta"] = [g * d for g, d in zip(grad, last["derivative"])]
    for l in range(len(layers) - 2, -1, -1):
        above, weights = rows[l + 1], layers[l + 1][0]
        pulled = [sum(weights[k][j] * above["delta"][k] for k in range(len(weights)))
                  for j in range(len(weights[0]))]
        rows[l]["propagated"] = pulled
        rows[l]["delta"] = [p * g for p, g in zip(pulled, rows[l]["derivative"])]
    for row in rows:
        row["weight_gradient"] = [[d * v for v in row["inputs"]] for d in row["delta"]]
        row["bias_gradient"] = list(row["delta"])
    return rows
