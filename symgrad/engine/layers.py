"""The graph of a network with convolutions, pooling, recurrence, normalisation or a mini-batch.

Every value is one node over its parents' symbols, as for a dense layer, so the chain rule,
the reverse sweep, the numbers and the certificate work unchanged.  The names extend the dense
scheme: an example's index comes first (`z1[2][1]`: example 2, unit 1), a time step next
(`h1[3][2]`), then the position (`K1[c_out,c_in,i,j]`, `a1[c,i,j]`).  The layers are laid down
one at a time over the whole batch, because batch normalisation couples the examples.

- conv: z[co,i,j] = Σ_ci Σ_p Σ_q K[co,ci,p,q] · a[ci, s(i−1)+p−pad, s(j−1)+q−pad] + b[co]
  (a cross-correlation, as PyTorch computes it; out-of-range entries are the zero padding);
- max pooling: m = max(window), ∂m/∂a = 1 for the window's first largest entry (as PyTorch
  breaks a tie) and 0 for the others, written H(a − max(before)) H(a − max(after)) with H(0) = 0
  before and 1 after: the gradient is routed to the largest entry; average pooling: ∂m/∂a = 1/k;
- rnn: z[t,i] = Σ_j W[i,j] x[t,j] + Σ_k U[i,k] h[t−1,k] + b[i] + c[i], h[t,i] = g(z[t,i]);
- batchnorm: μ, σ² of the batch (biased), x̂ = (a − μ)/√(σ² + ε), γ x̂ + β, with μ, the
  deviations x − μ and σ² as nodes of their own, so the derivation runs through the mean and the
  variance;
- dropout: the given mask, kept values scaled by 1/(1 − p).
"""

from __future__ import annotations

import sympy
from sympy import Expr, Integer, Rational, Symbol

from symgrad.engine.graph import Graph
from symgrad.engine.network import NetworkBuilder, activation_partials, layer_activation, network_loss
from symgrad.input.layerspec import (
    ActivationSpec, BatchNormSpec, ConvSpec, DropoutSpec, FlattenSpec, PoolSpec, RNNSpec, Shape,
    indices, size,
)
from symgrad.input.spec import LayerSpec, Layer, ProblemSpec, Value


def number(value: float) -> Expr:
    """A constant of the problem, exact when it is a short decimal (ε = 1e-5, p = 0.5)."""
    return sympy.nsimplify(value, rational=True) if isinstance(value, float) else Integer(value)


class Layers:
    """Lays a non-plain network down, layer by layer over every example."""

    def __init__(self, spec: ProblemSpec) -> None:
        net = spec.network
        assert net is not None
        self.spec, self.net, self.b = spec, net, NetworkBuilder()
        self.examples = list(range(1, net.batch + 1)) if net.batch else [0]
        self.parameters: list[str] = []
        self.penalised: list[Symbol] = []  # the weights an l2 penalty takes

    def name(self, base: str, n: int, *groups: tuple[int, ...] | int) -> str:
        """`z1[2][1,3]`: the example's index first (when there is a batch), then each group."""
        out = base + (f"[{n}]" if n else "")
        for g in groups:
            out += "[" + ",".join(map(str, g if isinstance(g, tuple) else (g,))) + "]"
        return out

    def parameter(self, name: str, kind: str, value: Value) -> Symbol:
        self.parameters.append(name)
        return self.b.leaf(name, kind, value)

    def build(self) -> Graph:
        net = self.net
        shape: Shape = net.shape
        x = self.spec.data.get("x")
        per = size(shape)
        sequence = isinstance(net.layers[0], RNNSpec)
        acts: dict[int, list[Symbol]] = {}
        for k, n in enumerate(self.examples):
            values = x[k * per:(k + 1) * per] if isinstance(x, tuple) else (None,) * per
            acts[n] = [
                self.b.leaf(self.name("x", n, *((at[0], at[1]) if sequence else (at,))), "input", v)
                for at, v in zip(indices(shape), values)
            ]
        depth = len(net.layers)
        for l, layer in enumerate(net.layers, 1):
            acts = self.layer(l, layer, acts, shape, last=l == depth)
            shape = (layer.units,) if isinstance(layer, LayerSpec) else layer.shape
        outputs = [acts[n] for n in self.examples]
        return network_loss(self.spec, self.b, outputs, self.examples, self.parameters, self.penalised)

    def layer(self, l: int, layer: Layer, acts: dict[int, list[Symbol]], shape: Shape,
              last: bool) -> dict[int, list[Symbol]]:
        if isinstance(layer, LayerSpec):
            return self.dense(l, layer, acts, last)
        if isinstance(layer, ConvSpec):
            return self.conv(l, layer, acts)
        if isinstance(layer, PoolSpec):
            return self.pool(l, layer, acts)
        if isinstance(layer, FlattenSpec):
            return acts  # the values in C order already: only the shape changes
        if isinstance(layer, RNNSpec):
            return self.rnn(l, layer, acts)
        if isinstance(layer, BatchNormSpec):
            return self.batchnorm(l, layer, acts)
        if isinstance(layer, DropoutSpec):
            return self.dropout(l, layer, acts)
        return self.activation(l, layer, acts, shape, last)

    def activate(self, l: int, spec: LayerSpec | ConvSpec | ActivationSpec, n: int,
                 zs: list[Symbol], at: list[tuple[int, ...]], last: bool) -> list[Symbol]:
        """a = g(z) for one example's values of a layer."""
        outputs = layer_activation(spec).layer(zs)  # type: ignore[arg-type]
        base = "yhat" if last else f"a{l}"
        names = [sympy.Symbol(self.name(base, n, i), real=True) for i in at]
        for a, out, partials in zip(names, outputs, activation_partials(outputs, zs, names)):
            self.b.add(a.name, "activation", out, partials)
        return names

    def dense(self, l: int, layer: LayerSpec, acts: dict[int, list[Symbol]], last: bool) -> dict[int, list[Symbol]]:
        fan_in = len(acts[self.examples[0]])
        rows = layer.weights or ((None,) * fan_in,) * layer.units
        w = [[self.parameter(f"W{l}[{i},{j}]", "weight", v) for j, v in enumerate(row, 1)]
             for i, row in enumerate(rows, 1)]
        bias = ([self.parameter(f"b{l}[{i}]", "bias", v) for i, v in enumerate(layer.biases, 1)]
                if layer.biases is not None else None)
        self.penalised += [wij for row in w for wij in row]
        out = {}
        for n in self.examples:
            zs = []
            for i in range(layer.units):
                terms = [wij * aj for wij, aj in zip(w[i], acts[n])]
                partials: dict[Symbol, Expr] = {}
                for wij, aj in zip(w[i], acts[n]):
                    partials[wij], partials[aj] = aj, wij
                if bias:
                    terms.append(bias[i])
                    partials[bias[i]] = Integer(1)
                zs.append(self.b.add(self.name(f"z{l}", n, i + 1), "preactivation", sympy.Add(*terms), partials))
            out[n] = self.activate(l, layer, n, zs, [(i,) for i in range(1, layer.units + 1)], last)
        return out

    def conv(self, l: int, layer: ConvSpec, acts: dict[int, list[Symbol]]) -> dict[int, list[Symbol]]:
        c_in = layer.shape_in[0]
        kernel_at = indices((layer.channels, c_in, *layer.kernel))
        given = layer.weights or {}
        K = {at: self.parameter(f"K{l}[{','.join(map(str, at))}]", "weight", given.get(at)) for at in kernel_at}
        bias = ([self.parameter(f"b{l}[{c}]", "bias", v) for c, v in enumerate(layer.biases, 1)]
                if layer.biases is not None else None)
        self.penalised += list(K.values())
        position = {at: k for k, at in enumerate(indices(layer.shape_in))}
        out = {}
        for n in self.examples:
            zs, places = [], indices(layer.shape)
            for co, *pos in places:
                terms: list[Expr] = []
                partials: dict[Symbol, Expr] = {}
                for (o, ci, *offset), k in K.items():
                    if o != co:
                        continue
                    source = tuple(s * (p - 1) + q - pad for p, q, s, pad in
                                   zip(pos, offset, layer.stride, layer.padding))
                    k_at = position.get((ci, *source))
                    if k_at is None:  # the zero padding
                        continue
                    a = acts[n][k_at]
                    terms.append(k * a)
                    partials[k], partials[a] = a, k
                if bias:
                    terms.append(bias[co - 1])
                    partials[bias[co - 1]] = Integer(1)
                zs.append(self.b.add(self.name(f"z{l}", n, (co, *pos)), "preactivation", sympy.Add(*terms), partials))
            out[n] = self.activate(l, layer, n, zs, places, False)
        return out

    def pool(self, l: int, layer: PoolSpec, acts: dict[int, list[Symbol]]) -> dict[int, list[Symbol]]:
        position = {at: k for k, at in enumerate(indices(layer.shape_in))}
        window = indices(layer.kernel)
        out = {}
        for n in self.examples:
            names = []
            for c, *pos in indices(layer.shape):
                entries = [acts[n][position[(c, *(s * (p - 1) + q for p, q, s in zip(pos, offset, layer.stride)))]]
                           for offset in window]
                if layer.kind == "maxpool":
                    # written down, not evaluated: sympy's Max compares every pair, which takes a
                    # large layer minutes; ∂max/∂a = H(a − max(the others)), as sympy's own rule
                    expr: Expr = sympy.Max(*entries, evaluate=False) if len(entries) > 1 else entries[0]
                    partials = {a: largest_of(a, entries[:k], entries[k + 1:]) for k, a in enumerate(entries)}
                else:
                    expr = sympy.Add(*entries) / len(entries)
                    partials = {a: Rational(1, len(entries)) for a in entries}
                names.append(self.b.add(self.name(f"a{l}", n, (c, *pos)), "activation", expr, partials))
            out[n] = names
        return out

    def rnn(self, l: int, layer: RNNSpec, acts: dict[int, list[Symbol]]) -> dict[int, list[Symbol]]:
        units, features = layer.units, layer.shape_in[1]
        W = [[self.parameter(f"W{l}[{i},{j}]", "weight", layer.weights[i - 1][j - 1] if layer.weights else None)
              for j in range(1, features + 1)] for i in range(1, units + 1)]
        U = [[self.parameter(f"U{l}[{i},{k}]", "weight", layer.recurrent[i - 1][k - 1] if layer.recurrent else None)
              for k in range(1, units + 1)] for i in range(1, units + 1)]
        biases = [[self.parameter(f"{base}{l}[{i}]", "bias", v) for i, v in enumerate(values, 1)]
                  for base, values in (("b", layer.biases), ("c", layer.recurrent_biases)) if values is not None]
        self.penalised += [w for row in W + U for w in row]
        activation = LayerSpec(units, layer.activation, None, None)
        out = {}
        for n in self.examples:
            h = [self.b.leaf(self.name(f"h{l}", n, 0, i), "input", v) for i, v in enumerate(layer.h0, 1)]
            for t in range(1, layer.steps + 1):
                x = acts[n][(t - 1) * features:t * features]
                zs = []
                for i in range(units):
                    terms: list[Expr] = []
                    partials: dict[Symbol, Expr] = {}
                    for w, a in [*zip(W[i], x), *zip(U[i], h)]:
                        terms.append(w * a)
                        partials[w], partials[a] = a, w
                    for bias in biases:
                        terms.append(bias[i])
                        partials[bias[i]] = Integer(1)
                    zs.append(self.b.add(self.name(f"z{l}", n, t, i + 1), "preactivation", sympy.Add(*terms), partials))
                outputs = layer_activation(activation).layer(zs)
                names = [sympy.Symbol(self.name(f"h{l}", n, t, i), real=True) for i in range(1, units + 1)]
                for a, expr, partials in zip(names, outputs, activation_partials(outputs, zs, names)):
                    self.b.add(a.name, "activation", expr, partials)
                h = names
            out[n] = h
        return out

    def batchnorm(self, l: int, layer: BatchNormSpec, acts: dict[int, list[Symbol]]) -> dict[int, list[Symbol]]:
        count = len(self.examples)
        eps = sympy.Float(layer.epsilon)  # printed as written (0.001), not as a fraction
        out: dict[int, list[Symbol]] = {n: [] for n in self.examples}
        for i in range(1, layer.shape[0] + 1):
            gamma = self.parameter(f"gamma{l}[{i}]", "weight", layer.gamma[i - 1])
            beta = self.parameter(f"beta{l}[{i}]", "bias", layer.beta[i - 1])
            column = [acts[n][i - 1] for n in self.examples]
            mu = self.b.add(f"mu{l}[{i}]", "statistic", sympy.Add(*column) / count,
                            {a: Rational(1, count) for a in column})
            centred = [self.b.add(self.name(f"xmu{l}", n, i), "normalised", a - mu, {a: Integer(1), mu: Integer(-1)})
                       for n, a in zip(self.examples, column)]  # x − μ, as its own node: shorter lines
            var = self.b.add(f"var{l}[{i}]", "statistic", sympy.Add(*(c**2 for c in centred)) / count,
                             {c: 2 * c / count for c in centred})
            root = sympy.sqrt(var + eps)
            for n, c in zip(self.examples, centred):
                xhat = self.b.add(self.name(f"xhat{l}", n, i), "normalised", c / root,
                                  {c: 1 / root, var: -c / (2 * root**3)})
                out[n].append(self.b.add(self.name(f"a{l}", n, i), "activation", gamma * xhat + beta,
                                         {xhat: gamma, gamma: xhat, beta: Integer(1)}))
        return out

    def dropout(self, l: int, layer: DropoutSpec, acts: dict[int, list[Symbol]]) -> dict[int, list[Symbol]]:
        keep = 1 / (1 - number(layer.p))
        out = {}
        for k, n in enumerate(self.examples):
            names = []
            for at, a, m in zip(indices(layer.shape), acts[n], layer.mask[k]):
                scale = keep * m
                names.append(self.b.add(self.name(f"a{l}", n, at), "activation", scale * a, {a: scale}))
            out[n] = names
        return out

    def activation(self, l: int, layer: ActivationSpec, acts: dict[int, list[Symbol]], shape: Shape,
                   last: bool) -> dict[int, list[Symbol]]:
        return {n: self.activate(l, layer, n, acts[n], indices(shape), last and len(shape) == 1)
                for n in self.examples}


def largest_of(a: Symbol, before: list[Symbol], after: list[Symbol]) -> Expr:
    """∂ max(window)/∂a: 1 where a is the window's first largest entry, else 0, as PyTorch routes
    the gradient of a tie (to the first): a above every entry before it, and not below any after."""
    factors = [sympy.Heaviside(a - (side[0] if len(side) == 1 else sympy.Max(*side, evaluate=False)), at_tie,
                               evaluate=False)  # no assumptions asked of a − max(...)
               for side, at_tie in ((before, 0), (after, 1)) if side]
    return sympy.Mul(*factors) if factors else Integer(1)


def build_layers(spec: ProblemSpec) -> Graph:
    return Layers(spec).build()
