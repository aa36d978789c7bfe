"""Optimizer steps: SGD (momentum, dampening, Nesterov, weight decay), RMSprop and Adam.

Each step evaluates the loss and its gradient at the current parameters (the forward values
and the reverse sweep's adjoints, numerically, over the same data), then moves every parameter
by PyTorch's rule, in PyTorch's order of operations:

    g ← ∂L/∂θ + λθ                         (weight decay λ)
    SGD:     b ← g at the first step, else μb + (1 − τ)g;   θ ← θ − η(g + μb if Nesterov, else b)
    RMSprop: v ← αv + (1 − α)g²;   θ ← θ − η g/(√v + ε)      (with momentum μ: b ← μb + g/(√v + ε), θ ← θ − ηb)
    Adam:    m ← β₁m + (1 − β₁)g,  v ← β₂v + (1 − β₂)g²,  m̂ = m/(1 − β₁ᵗ),  v̂ = v/(1 − β₂ᵗ);
             θ ← θ − η m̂/(√v̂ + ε)

The record of each step keeps every state, so the key can show the table a textbook shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sympy import Symbol

from symgrad.engine.backward import Sweep
from symgrad.engine.graph import Graph
from symgrad.engine.numeric import evaluate, is_float
from symgrad.errors import NumericError, ProblemError
from symgrad.input.optimizerspec import OptimizerSpec

# The states of each optimizer, in the order the key's table shows them.
STATES = {
    "sgd": ("grad", "velocity", "value"),
    "rmsprop": ("grad", "v", "velocity", "value"),
    "adam": ("grad", "m", "v", "mhat", "vhat", "value"),
}


@dataclass(frozen=True)
class Step:
    number: int  # 1, 2, ...
    loss: float  # L at the parameters the step starts from
    states: dict[str, dict[str, float]]  # parameter ↦ state ↦ value after the step ("value": θ)


def states_shown(spec: OptimizerSpec) -> tuple[str, ...]:
    """The states that are not constantly absent (no velocity without momentum)."""
    return tuple(s for s in STATES[spec.name] if s != "velocity" or spec.momentum)


def loss_and_gradient(graph: Graph, sweep: Sweep, leaves: dict[Symbol, float],
                      parameters: list[Symbol]) -> tuple[float, dict[Symbol, float]]:
    """L and ∂L/∂θ at the given leaves, from the forward values and the sweep's adjoints."""
    env = full_env(graph, sweep, leaves)
    loss = env[sweep.top.symbol]
    grads = {p: env[sweep.adjoint_symbols[p]] if p in sweep.adjoint_symbols else 0.0 for p in parameters}
    for value in [loss, *grads.values()]:
        if not is_float(value) or not math.isfinite(float(value)):  # type: ignore[arg-type]
            raise NumericError(f"the optimizer reached a value that is not a finite number ({value})")
    return float(loss), {p: float(g) for p, g in grads.items()}  # type: ignore[arg-type]


def full_env(graph: Graph, sweep: Sweep, leaves: Mapping[Symbol, float] | None = None) -> dict[Symbol, object]:
    """Every node's value and every adjoint of the sweep, in numbers (at the problem's values,
    or at `leaves`)."""
    env: dict[Symbol, object] = dict(graph.values if leaves is None else leaves)
    for node in graph.nodes:
        if node.expr is not None:
            env[node.symbol] = evaluate(node.expr, env)  # type: ignore[arg-type]
    for v in sweep.order:
        env[sweep.adjoint_symbols[v]] = evaluate(sweep.adjoints[v], env)  # type: ignore[arg-type]
    return env


def run(spec: OptimizerSpec, graph: Graph, sweep: Sweep, source: str, field: str) -> tuple[Step, ...]:
    """Every step of the optimizer, from the problem's values."""
    missing = [n.name for n in graph.nodes if n.is_leaf and n.symbol not in graph.values]
    if missing:
        raise ProblemError(source, field, f"the optimizer needs every weight, input and target as a "
                           f"number; {missing[0]} has none")
    leaves = {s: float(v) for s, v in graph.values.items()}
    parameters = [graph.node(name).symbol for name in sorted(graph.updatable, key=order(graph))]
    state: dict[Symbol, dict[str, float]] = {p: {} for p in parameters}
    steps = []
    for t in range(1, spec.steps + 1):
        loss, grads = loss_and_gradient(graph, sweep, leaves, parameters)
        for p in parameters:
            s = state[p]
            theta = leaves[p]
            g = grads[p] + spec.weight_decay * theta
            s["grad"] = g
            if spec.name == "sgd":
                step = g
                if spec.momentum:
                    s["velocity"] = g if t == 1 else spec.momentum * s["velocity"] + (1 - spec.dampening) * g
                    step = g + spec.momentum * s["velocity"] if spec.nesterov else s["velocity"]
                theta -= spec.lr * step
            elif spec.name == "rmsprop":
                s["v"] = spec.alpha * s.get("v", 0.0) + (1 - spec.alpha) * g * g
                scaled = g / (math.sqrt(s["v"]) + spec.eps)
                if spec.momentum:
                    s["velocity"] = spec.momentum * s.get("velocity", 0.0) + scaled
                    scaled = s["velocity"]
                theta -= spec.lr * scaled
            else:
                b1, b2 = spec.betas
                s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
                s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
                s["mhat"] = s["m"] / (1 - b1**t)
                s["vhat"] = s["v"] / (1 - b2**t)
                theta -= spec.lr * s["mhat"] / (math.sqrt(s["vhat"]) + spec.eps)
            s["value"] = leaves[p] = theta
        steps.append(Step(t, loss, {p.name: dict(state[p]) for p in parameters}))
    return tuple(steps)


def order(graph: Graph):  # type: ignore[no-untyped-def]
    """Parameters in the order the graph has them (W1 before b1 before W2)."""
    position = {n.name: k for k, n in enumerate(graph.nodes)}
    return lambda name: position[name]
