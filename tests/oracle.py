"""An independent forward pass in plain Python (math only): the oracle for finite differences.

It shares no code with symgrad: the activations and losses are written out again here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


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
