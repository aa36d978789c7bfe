"""solve(): the pipeline from a problem to a Solution with every number and derivation.

ProblemSpec → Graph → sweeps and derivations → numbers (the trace) → Solution, plain data that
the output modules (LaTeX, JSON, text) and the API façade (`symgrad.api`) present.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy
from sympy import Expr, Symbol

from symgrad.engine.backward import Derivation, Sweep, derive, reverse_sweep
from symgrad.engine import optimize
from symgrad.engine.build import build
from symgrad.engine.optimize import Step
from symgrad.engine.certify import Certifier, compose
from symgrad.errors import NumericError, ProblemError
from symgrad.engine.graph import Graph
from symgrad.engine.numeric import Value, as_number, evaluate
from symgrad.input.names import Partial
from symgrad.input.spec import ProblemSpec



@dataclass(frozen=True)
class Gradient:
    derivation: Derivation
    value: Value
    factor_values: tuple[tuple[Value, ...], ...] | None  # per path, per factor
    expanded: Expr | None  # a graph's result written in its leaves
    certificate: str

    @property
    def key(self) -> str:
        return str(Partial(self.derivation.top, self.derivation.wrt))


@dataclass(frozen=True)
class Solution:
    """A solved problem as plain data: the output modules and the API façade present it."""

    spec: ProblemSpec
    graph: Graph
    values: dict[str, Value]  # every computed node: z, a, ŷ, L; or a graph's variables
    gradients: dict[str, Gradient]
    updated: dict[str, Value]
    adjoint_values: dict[str, Value]  # "dL/dz1[1]" ↦ its number: the δ of each node
    sweeps: dict[str, Sweep]  # the reverse sweep from each top (L, f, yhat[1]), kept for reuse
    steps: tuple[Step, ...] = ()  # the [optimizer]'s steps, each with every state

    @property
    def title(self) -> str:
        return self.spec.title


def solve_spec(spec: ProblemSpec) -> Solution:
    graph = build(spec)
    requests = requested(spec, graph)
    env: dict[Symbol, Value] = {}
    values: dict[str, Value] = {}
    for node in graph.nodes:
        if node.expr is None:
            env[node.symbol] = graph.values.get(node.symbol, node.symbol)
        else:
            env[node.symbol] = value_of(node.expr, env, node.name)
            values[node.name] = env[node.symbol]
    sweeps: dict[str, Sweep] = {}
    gradients: dict[str, Gradient] = {}
    certifier = Certifier(graph)
    for top, wrt in requests:
        if top not in sweeps:
            sweeps[top] = sweep = reverse_sweep(graph, top)
            # only the adjoints between T and what was asked: ∂L/∂y may be log 0 when
            # nobody asked for it
            asked = graph.descendants({graph.node(w).symbol for t, w in requests if t == top})
            for v in sweep.order:  # T first
                if v in asked:
                    env[sweep.adjoint_symbols[v]] = value_of(
                        sweep.adjoints[v], env, str(Partial(top, graph.by_symbol[v].name))
                    )
        derivation = derive(graph, sweeps[top], wrt)
        gradients[str(Partial(top, wrt))] = gradient(graph, derivation, env, certifier)
    adjoint_values = {
        s.name: env[s] for sweep in sweeps.values() for s in sweep.adjoint_symbols.values()
        if isinstance(s, Symbol) and s in env
    }
    steps: tuple[Step, ...] = ()
    updated = updates(spec, graph, gradients, env)
    if spec.optimizer is not None:
        if not graph.output:
            raise ProblemError(spec.source, spec.field("optimizer"), "an optimizer needs network.loss")
        sweep = sweeps.get(graph.output) or reverse_sweep(graph, graph.output)
        steps = optimize.run(spec.optimizer, graph, sweep, spec.source, spec.field("optimizer"))
        updated = {name: state["value"] for name, state in steps[-1].states.items()}
    return Solution(spec, graph, values, gradients, updated, adjoint_values, sweeps, steps)


def gradient(
    graph: Graph, derivation: Derivation, env: dict[Symbol, Value], certifier: Certifier
) -> Gradient:
    key = str(Partial(derivation.top, derivation.wrt))  # for messages
    factor_values = None
    if derivation.paths is not None:
        factor_values = tuple(
            tuple(value_of(f.expr, env, key) for f in path) for path in derivation.paths
        )
    expanded = None
    if graph.by_name[derivation.top].kind == "variable":  # a graph: also show it in the leaves
        expanded = compose(graph, derivation.result, graph.node(derivation.wrt).symbol)
    certificate = certifier.certify(
        derivation.top, derivation.wrt, derivation.result, bool(derivation.assumptions)
    )
    value = value_of(derivation.result, env, key)
    return Gradient(derivation, value, factor_values, expanded, certificate)


def value_of(expr: Expr, env: dict[Symbol, Value], name: str) -> Value:
    """The number (or expression) for `name`, or a NumericError that says where it failed."""
    try:
        value = as_number(evaluate(expr, env))
    except NumericError as error:
        raise NumericError(f"{name}: {error}") from None
    if isinstance(value, sympy.Basic) and value.has(sympy.zoo, sympy.nan, sympy.oo):
        raise NumericError(f"{name}: the value is not finite ({value})")
    return value


def requested(spec: ProblemSpec, graph: Graph) -> list[tuple[str, str]]:
    """The (top, wrt) pairs asked for, checked against the graph's names."""
    names = spec.ask.gradients
    field = spec.field("ask.gradients")
    if names is None:
        return [(graph.output, wrt) for wrt in graph.default_wrt]
    pairs = []
    for k, text in enumerate(names, 1):
        partial = Partial.parse(text)
        top, wrt = (partial.top, partial.wrt) if partial else (graph.output, text.strip())
        if not top:
            raise ProblemError(
                spec.source, f"{field}[{k}]",
                f"{text!r}: the network has no loss; set network.loss, or ask for a partial "
                f"in full such as '{Partial('yhat[1]', text.strip())}'",
            )
        for name in (top, wrt):
            if name not in graph.by_name:
                example = ", ".join(n.name for n in graph.nodes[:3])
                what = "a loss (network.loss)" if name == "L" else f"a variable named {name!r}"
                raise ProblemError(
                    spec.source, f"{field}[{k}]",
                    f"{text!r}: the problem has no {what} (names look like {example}, ...)",
                )
        pairs.append((top, wrt))
    return pairs


def updates(
    spec: ProblemSpec, graph: Graph, gradients: dict[str, Gradient], env: dict[Symbol, Value]
) -> dict[str, Value]:
    """θ − η ∂L/∂θ for every requested parameter (a negative η climbs instead)."""
    if not spec.ask.update or spec.optimizer is not None:  # an optimizer takes its own steps
        return {}
    if graph.learning_rate is None:
        where = "network" if spec.network else "graph"
        raise ProblemError(spec.source, spec.field("ask.update"), f"needs {where}.learning_rate")
    eta = graph.learning_rate
    out: dict[str, Value] = {}
    for g in gradients.values():
        d = g.derivation
        if d.top == graph.output and d.wrt in graph.updatable:
            theta = env[graph.node(d.wrt).symbol]
            step = theta - eta * g.value
            step = step if isinstance(step, (int, float)) else sympy.expand(step)
            try:
                out[d.wrt] = as_number(step)
            except NumericError as error:
                raise NumericError(f"updated {d.wrt}: {error}") from None
    return out
