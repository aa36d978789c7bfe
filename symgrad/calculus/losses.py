"""Losses, each summed over the output units: L(ŷ, y) as a sympy expression in ŷ_k and y_k."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sympy
from sympy import Abs, Expr, Rational, log

Loss = Callable[[Sequence[Expr], Sequence[Expr]], Expr]


def half_squared_error(yhat: Sequence[Expr], y: Sequence[Expr]) -> Expr:
    return sympy.Add(*(Rational(1, 2) * (p - t) ** 2 for p, t in zip(yhat, y)))


def squared_error(yhat: Sequence[Expr], y: Sequence[Expr]) -> Expr:
    return sympy.Add(*((p - t) ** 2 for p, t in zip(yhat, y)))


def absolute_error(yhat: Sequence[Expr], y: Sequence[Expr]) -> Expr:
    return sympy.Add(*(Abs(p - t) for p, t in zip(yhat, y)))


def log_likelihood(yhat: Sequence[Expr], y: Sequence[Expr]) -> Expr:
    """The Bernoulli log-likelihood Σ y log ŷ + (1 − y) log(1 − ŷ): to be maximised."""
    return sympy.Add(*(t * log(p) + (1 - t) * log(1 - p) for p, t in zip(yhat, y)))


def bce(yhat: Sequence[Expr], y: Sequence[Expr]) -> Expr:
    """Binary cross-entropy, the negative log-likelihood: −Σ y log ŷ + (1 − y) log(1 − ŷ)."""
    return -log_likelihood(yhat, y)


def cross_entropy(yhat: Sequence[Expr], y: Sequence[Expr]) -> Expr:
    """−Σ_k y_k log p_k, for a softmax output p and a target distribution y."""
    return -sympy.Add(*(t * log(p) for p, t in zip(yhat, y)))


LOSSES: dict[str, Loss] = {
    "half_squared_error": half_squared_error,
    "squared_error": squared_error,
    "bce": bce,
    "log_likelihood": log_likelihood,
    "absolute_error": absolute_error,
    "cross_entropy": cross_entropy,
}
