"""The textbook's view of the layers beyond the dense one: each as numbers a key shows.

- convolution: ∂L/∂K[co,ci,p,q] = Σ_n Σ_pos δ[n][co,pos] · a[n][ci, pos shifted by (p, q)],
  the cross-correlation of the layer's input with the upstream δ, term by term;
- pooling: where each window sends its upstream gradient (all of it to the largest entry, or
  an equal share of it to each);
- recurrence (BPTT): one row per time step, from the last back, with δ carried back through U;
- batch normalisation: ∂L/∂x̂, then through the variance and the mean, and the three-term form
  ∂L/∂x_n = (N ∂L/∂x̂_n − Σ_k ∂L/∂x̂_k − x̂_n Σ_k ∂L/∂x̂_k x̂_k) / (N √(σ² + ε)), recomputed from
  those numbers and compared with the chain rule's;
- a mini-batch: each example's gradient ∂L⁽ⁿ⁾/∂θ and their mean (or sum);
- optimizer steps: the engine's record (Solution.steps), shown as a table.

Every number comes from the graph's own forward values and reverse sweeps; nothing here is
derived a second way except the three-term form, which is a check.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sympy import Expr, Symbol

from symgrad.engine.backward import reverse_sweep
from symgrad.engine.graph import Graph
from symgrad.engine.numeric import evaluate
from symgrad.engine.optimize import full_env
from symgrad.engine.solution import Solution
from symgrad.errors import SymgradError
from symgrad.input.layerspec import BatchNormSpec, ConvSpec, PoolSpec, RNNSpec
from symgrad.input.names import Partial


@dataclass(frozen=True)
class Product:
    delta: str  # the node whose adjoint is the factor ("z1[1][1,2,2]")
    delta_value: float
    other: str  # the other factor's node ("x[1][1,2,3]")
    other_value: float


@dataclass(frozen=True)
class KernelEntry:
    kernel: str  # "K1[1,1,2,2]"
    terms: tuple[Product, ...]
    value: float


@dataclass(frozen=True)
class Convolution:
    layer: int
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    entries: tuple[KernelEntry, ...]


@dataclass(frozen=True)
class Route:
    output: str  # the pooled value
    upstream: float  # ∂L/∂output
    window: tuple[tuple[str, float, float], ...]  # (entry, its value, ∂output/∂entry)


@dataclass(frozen=True)
class Pooling:
    layer: int
    kind: str  # maxpool | avgpool
    routes: tuple[Route, ...]


@dataclass(frozen=True)
class TimeStep:
    t: int
    h: tuple[float, ...]
    dh: tuple[float, ...]  # ∂L/∂h_t (from the layer above at t = T, through U before)
    dz: tuple[float, ...]  # δ_t = ∂L/∂z_t = ∂L/∂h_t ⊙ g'(z_t)


@dataclass(frozen=True)
class Recurrence:
    layer: int
    activation: str
    steps: tuple[TimeStep, ...]  # t = T down to 1
    example: int = 0  # its example in a mini-batch (0: one example)


@dataclass(frozen=True)
class NormFeature:
    feature: int
    mean: float
    var: float
    epsilon: float
    x: tuple[float, ...]  # the inputs of each example
    xhat: tuple[float, ...]
    dxhat: tuple[float, ...]  # ∂L/∂x̂_n
    dvar: float
    dmean: float
    dx: tuple[float, ...]  # ∂L/∂x_n by the chain rule through the graph
    three_term: tuple[float, ...]  # the same by the three-term formula
    dgamma: float
    dbeta: float


@dataclass(frozen=True)
class Normalisation:
    layer: int
    features: tuple[NormFeature, ...]


@dataclass(frozen=True)
class ExampleGradients:
    parameter: str
    per_example: tuple[float, ...]
    reduced: float  # what the problem's reduction gives: the mean or the sum
    reduction: str


@dataclass(frozen=True)
class LayerForms:
    convolutions: tuple[Convolution, ...] = ()
    poolings: tuple[Pooling, ...] = ()
    recurrences: tuple[Recurrence, ...] = ()
    normalisations: tuple[Normalisation, ...] = ()
    batch: tuple[ExampleGradients, ...] = ()

    def __bool__(self) -> bool:
        return any((self.convolutions, self.poolings, self.recurrences, self.normalisations, self.batch))


def number(value: object) -> float:
    return float(value)  # type: ignore[arg-type]


def layer_forms(solution: Solution) -> LayerForms | None:
    """The worked forms of a numeric network's special layers; None for a plain one, or when
    a value is still symbolic."""
    net, graph = solution.spec.network, solution.graph
    if net is None or net.plain or not graph.output:
        return None
    if any(n.is_leaf and n.symbol not in graph.values for n in graph.nodes):
        return None
    sweep = reverse_sweep(graph, graph.output)
    env = full_env(graph, sweep)
    names = {n.name: n.symbol for n in graph.nodes}

    def value(name: str) -> float:
        return number(env[names[name]])

    def adjoint(name: str) -> float:
        """∂L/∂name; 0 for what L does not depend on."""
        s = names[name]
        return number(env[sweep.adjoint_symbols[s]]) if s in sweep.relevant else 0.0

    convolutions, poolings, recurrences, normalisations = [], [], [], []
    for l, layer in enumerate(net.layers, 1):
        if isinstance(layer, ConvSpec):
            entries = []
            for node in graph.nodes:
                if node.is_leaf and node.name.startswith(f"K{l}["):
                    terms = tuple(Product(graph.by_symbol[c].name, adjoint(graph.by_symbol[c].name),
                                          graph.by_symbol[c].partials[node.symbol].name,  # type: ignore[attr-defined]
                                          number(env[graph.by_symbol[c].partials[node.symbol]]))
                                  for c in graph.children[node.symbol])
                    entries.append(KernelEntry(node.name, terms, adjoint(node.name)))
            convolutions.append(Convolution(l, layer.stride, layer.padding, tuple(entries)))
        elif isinstance(layer, PoolSpec):
            routes = []
            for node in graph.nodes:
                if node.kind == "activation" and node.name.startswith(f"a{l}["):
                    window = tuple((graph.by_symbol[s].name, number(env[s]), number(_value(d, env)))
                                   for s, d in node.partials.items())
                    routes.append(Route(node.name, adjoint(node.name), window))
            poolings.append(Pooling(l, layer.kind, tuple(routes)))
        elif isinstance(layer, RNNSpec):
            units = range(1, layer.units + 1)
            for n in (range(1, net.batch + 1) if net.batch else [0]):  # each example its own rows
                at = f"[{n}]" if n else ""
                steps = [TimeStep(t, tuple(value(f"h{l}{at}[{t}][{i}]") for i in units),
                                  tuple(adjoint(f"h{l}{at}[{t}][{i}]") for i in units),
                                  tuple(adjoint(f"z{l}{at}[{t}][{i}]") for i in units))
                         for t in range(layer.steps, 0, -1)]
                recurrences.append(Recurrence(l, layer.activation, tuple(steps), n))
        elif isinstance(layer, BatchNormSpec):
            normalisations.append(Normalisation(l, tuple(
                norm_feature(graph, env, l, i, layer, adjoint) for i in range(1, layer.shape[0] + 1))))
    return LayerForms(tuple(convolutions), tuple(poolings), tuple(recurrences), tuple(normalisations),
                      batch_gradients(solution))


def _value(expr: Expr, env: dict[Symbol, object]) -> float:
    return number(evaluate(expr, env))  # type: ignore[arg-type]


def norm_feature(graph: Graph, env: dict[Symbol, object], l: int, i: int, layer: BatchNormSpec,
                 adjoint: Callable[[str], float]) -> NormFeature:
    """One feature of a batch normalisation, backwards through x̂, σ² and μ, and the three-term
    form from the same ∂L/∂x̂ as a check on the chain rule."""
    mu, var = graph.node(f"mu{l}[{i}]"), graph.node(f"var{l}[{i}]")
    column = [s for s in mu.partials]  # the inputs of every example, in order
    xhats = [graph.node(f"xhat{l}[{n}][{i}]") for n in range(1, len(column) + 1)]
    N = len(column)
    x = tuple(number(env[s]) for s in column)
    xhat = tuple(number(env[h.symbol]) for h in xhats)
    dxhat = tuple(adjoint(h.name) for h in xhats)
    m, v, eps = number(env[mu.symbol]), number(env[var.symbol]), float(layer.epsilon)
    root = math.sqrt(v + eps)
    dvar = sum(d * (xi - m) for d, xi in zip(dxhat, x)) * -0.5 * (v + eps) ** -1.5
    dmean = -sum(dxhat) / root + dvar * -2 * sum(xi - m for xi in x) / N
    three = tuple((N * d - sum(dxhat) - h * sum(dk * hk for dk, hk in zip(dxhat, xhat))) / (N * root)
                  for d, h in zip(dxhat, xhat))
    dx = tuple(adjoint(graph.by_symbol[s].name) for s in column)
    for a, b in zip(dx, three):
        if abs(a - b) > 1e-9 * max(1.0, abs(a)):
            raise SymgradError(f"batchnorm layer {l}: the three-term form {b} differs from the chain rule's {a}")
    outputs = [graph.node(f"a{l}[{n}][{i}]") for n in range(1, N + 1)]
    dy = [adjoint(o.name) for o in outputs]
    return NormFeature(i, m, v, eps, x, xhat, dxhat, dvar, dmean, dx, three,
                       sum(d * h for d, h in zip(dy, xhat)), sum(dy))


def batch_gradients(solution: Solution) -> tuple[ExampleGradients, ...]:
    """Each example's ∂L⁽ⁿ⁾/∂θ, for the parameters asked about, and their mean (or sum)."""
    net, graph = solution.spec.network, solution.graph
    assert net is not None
    if not net.batch:
        return ()
    asked = [g.derivation.wrt for g in solution.gradients.values()
             if g.derivation.top == graph.output and g.derivation.wrt in graph.updatable]
    per: dict[str, list[float]] = {name: [] for name in asked}
    for n in range(1, net.batch + 1):
        top = f"L[{n}]"
        env = full_env(graph, reverse_sweep(graph, top))
        for name in asked:
            s = Symbol(str(Partial(top, name)), real=True)
            per[name].append(number(env[s]) if s in env else 0.0)
    out = []
    for name in asked:
        total = math.fsum(per[name])
        reduced = total / net.batch if net.reduction == "mean" else total
        out.append(ExampleGradients(name, tuple(per[name]), reduced, net.reduction))
    return tuple(out)

