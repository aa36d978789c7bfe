"""The numbers of one solved problem worked out again: with a student's own earlier values put in
place of the engine's (error carried forward), or with a known mistake made on purpose.

A `Model` walks the graph the engine built, each node's expression over its parents and each
local derivative in textbook form, at one point (the problem's values, and a sample value for each
leaf that has none).  Forward values come first, in topological order; the adjoint ∂T/∂v of any
top T follows by one reverse sweep, Σ over children ∂T/∂c · ∂c/∂v.  Wherever the student gave a
value (a forward value, an adjoint ∂L/∂v, a local derivative ∂c/∂v), the Model uses theirs: every
quantity downstream of it is then what the student should have found from their own numbers.

A `Mistake` changes one rule of the computation, the way a student gets it wrong: σ' taken as
(1 − σ)(1 + σ), the activation's derivative left out, the ½ of the loss dropped, z used for a,
the update's sign.  Running the Model with it and comparing with the student's value is how a
wrong value is diagnosed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import sympy
from sympy import Symbol

from symgrad.calculus import activations as act
from symgrad.engine.graph import Graph, Node
from symgrad.engine.numeric import evaluate
from symgrad.errors import NumericError
from symgrad.input.names import Partial


@dataclass(frozen=True)
class Mistake:
    """One rule of the computation done the wrong way; `words` names it for the student."""

    name: str
    words: str
    sigmoid_derivative: Callable[[float], float] | None = None  # σ' from a = σ(z)
    drop_activation_derivative: frozenset[int] | None = None  # layers whose g' is taken as 1
    loss_scale: float | None = None  # the loss (and every gradient) times this
    z_for_a: str = ""  # "input": ∂z/∂W = a read as the previous z; "derivative": g'(z) = a(1 − a)
    # computed with z in place of a
    derivative_at_a: bool = False  # g' evaluated at a instead of z
    skip_activation: frozenset[int] | None = None  # layers whose forward pass leaves out g
    transposed: int | None = None  # the layer whose square weight matrix is read transposed
    update: Callable[[float, float, float], float] | None = None  # (θ, η, g) ↦ θ'


def layer_of(name: str) -> int | None:
    """The layer of a network's node name ("a2[1]" → 2, "yhat[1]" → None: the last)."""
    head = name.split("[")[0]
    digits = head.lstrip("abzWx")
    return int(digits) if digits.isdigit() else None


def is_sigmoid(node: Node) -> bool:
    return node.expr is not None and node.expr.func is act.sigmoid


def nonlinear(node: Node) -> bool:
    """An activation node whose derivative is not 1 (not the identity)."""
    return node.kind == "activation" and node.expr is not None and not node.expr.is_Symbol


def number(value: Any) -> float | None:
    """A finite float, or None where the value still holds a symbol (an unspecified g'(z))."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, Fraction)):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, sympy.Basic) and value.is_number:
        try:
            f = float(value)
        except TypeError:
            return None
        return f if math.isfinite(f) else None
    return None


class Model:
    """One point of one problem, with the student's values (`overrides`, keyed as the JSON:
    "a1[1]", "dL/dz2[1]", "dyhat[1]/dz2[1]") and at most one mistake."""

    def __init__(self, graph: Graph, point: Mapping[Symbol, float],
                 overrides: Mapping[str, float] | None = None, mistake: Mistake | None = None,
                 layers: int = 0, local: str = "") -> None:
        self.graph = graph
        self.overrides = dict(overrides or {})
        # how a local derivative is taken where the student's value of the node differs from
        # its value at its argument: "" as the engine writes it (σ' = a(1 − a), exp' = exp(x)),
        # "value" from the node's own value wherever it can be (exp' = g), "argument" from the
        # argument (σ' = σ(z)(1 − σ(z))): a student may do either, from numbers they wrote;
        # only for a node of one argument (see factor)
        self.local = local
        self.mistake = mistake
        self.layers = layers  # a network's depth (the output layer's number), 0 for a graph
        self.env: dict[Symbol, Any] = {}
        self.fresh_env: dict[Symbol, Any] = {}
        self.adjoints: dict[str, dict[Symbol, Any]] = {}
        leaves = dict(graph.values)
        leaves.update(point)
        if mistake is not None and mistake.transposed is not None:
            leaves = self.transpose(leaves, mistake.transposed)
        for node in graph.nodes:
            if node.expr is None:
                value = leaves.get(node.symbol, node.symbol)
                self.fresh_env[node.symbol] = value
            else:
                value = self.computed(node)
                self.fresh_env[node.symbol] = value
            if node.name in self.overrides:
                value = self.overrides[node.name]
            self.env[node.symbol] = value

    # -- forward
    def transpose(self, leaves: dict[Symbol, Any], layer: int) -> dict[Symbol, Any]:
        out = dict(leaves)
        for node in self.graph.nodes:
            if node.kind == "weight" and node.name.startswith(f"W{layer}["):
                i, j = node.name[node.name.index("[") + 1:-1].split(",")
                other = self.graph.by_name.get(f"W{layer}[{j},{i}]")
                if other is not None and other.symbol in leaves:
                    out[node.symbol] = leaves[other.symbol]
        return out

    def computed(self, node: Node) -> Any:
        """A node's value from its parents' (the student's, where they gave them)."""
        m = self.mistake
        assert node.expr is not None
        if m is not None and m.skip_activation and nonlinear(node) and node.partials:
            layer = self.unit_layer(node.name)
            if layer in m.skip_activation:
                (z,) = tuple(node.partials)[:1]
                return self.env[z]
        value = evaluate(node.expr, self.env)
        if m is not None and m.loss_scale and node.kind == "loss":
            value = value * m.loss_scale
        return value

    def unit_layer(self, name: str) -> int:
        layer = layer_of(name)
        return self.layers if layer is None else layer

    # -- local derivatives
    def factor(self, child: Node, parent: Symbol, use_override: bool = True) -> Any:
        key = str(Partial(child.name, self.graph.by_symbol[parent].name))
        if use_override and key in self.overrides:
            return self.overrides[key]
        expr = child.partials[parent]
        # Only a node that is one function of one argument (exp' = g, σ' = g(1 − g),
        # tanh(u)' = 1 − g², also as sympy holds them: exp(x1³ − log x2) as exp(x1³)/x2,
        # tanh(cos(g2) − g1) as −tanh(g1 − cos(g2))) is taken either way.  Sums, products and
        # quotients of parents (g2/g1, sin(g2)/tanh(g3)) and a softmax (of every z) keep their
        # textbook form: students write d(g2/g1)/dg1 as −g2/g1², not as −f/g1; and a softmax
        # taken "from the argument" would be worked out again from every z while ∂L/∂ŷ uses the
        # written ŷ, a mixture no student writes (and one that cancels to nearly anything in
        # ŷ − y)
        if self.local and child.expr is not None and one_function(child.expr):
            expr = local_form(expr, child.expr, child.symbol, self.local)
        m = self.mistake
        if m is None:
            return evaluate(expr, self.env)
        if m.loss_scale and child.kind == "loss":
            return m.loss_scale * evaluate(expr, self.env)
        if nonlinear(child) and self.graph.by_symbol[parent].kind == "preactivation":
            layer = self.unit_layer(child.name)
            if m.drop_activation_derivative is not None and layer in m.drop_activation_derivative:
                return 1
            if m.sigmoid_derivative is not None and is_sigmoid(child):
                a = number(self.env[child.symbol])
                return expr if a is None else m.sigmoid_derivative(a)
            if m.derivative_at_a and len(child.partials) == 1:
                a = self.env[child.symbol]
                env = dict(self.env)
                env[parent] = a
                env[child.symbol] = evaluate(child.expr, {parent: a})
                return evaluate(expr, env)
        parent_kind = self.graph.by_symbol[parent].kind
        if m.z_for_a == "input" and child.kind == "preactivation" and parent_kind == "weight" or \
                m.z_for_a == "derivative" and nonlinear(child) and parent_kind == "preactivation":
            swapped = dict(self.env)
            for s in expr.free_symbols:
                node = self.graph.by_symbol.get(s)
                if node is not None and nonlinear(node) and node.partials:
                    swapped[s] = self.env[next(iter(node.partials))]
            return evaluate(expr, swapped)
        return evaluate(expr, self.env)

    # -- adjoints
    def sweep(self, top: str) -> dict[Symbol, Any]:
        if top in self.adjoints:
            return self.adjoints[top]
        graph = self.graph
        t = graph.node(top).symbol
        relevant = graph.ancestors(t)
        adj: dict[Symbol, Any] = {t: 1}
        for node in reversed(graph.nodes):
            v = node.symbol
            if v == t or v not in relevant:
                continue
            key = str(Partial(top, node.name))
            if key in self.overrides:
                adj[v] = self.overrides[key]
                continue
            try:
                adj[v] = self.pulled(top, node, adj, relevant)
            except (NumericError, ZeroDivisionError, OverflowError, ValueError, TypeError):
                # undefined here (∂L/∂y of a BCE at a student's ŷ above 1 takes log(1 − ŷ)):
                # whatever needs it is undefined too, and nothing else is
                adj[v] = math.nan
        self.adjoints[top] = adj
        return adj

    def pulled(self, top: str, node: Node, adj: Mapping[Symbol, Any], relevant: set[Symbol],
               exclude: str = "") -> Any:
        total: Any = 0
        for c in self.graph.children[node.symbol]:
            if c in relevant and c in adj:
                child = self.graph.by_symbol[c]
                own = str(Partial(child.name, node.name)) != exclude
                total = total + adj[c] * self.factor(child, node.symbol, use_override=own)
        return total

    # -- quantities by key
    def quantity(self, key: str, fresh: bool = True) -> float | None:
        """The value of "a1[1]", "dL/dW2[1,1]" or "updated W2[1,1]"; `fresh`: worked out from
        the inputs even where the student gave this very value (the others stay theirs)."""
        try:
            return number(self.raw(key, fresh))
        except (NumericError, KeyError, ZeroDivisionError, OverflowError, ValueError, TypeError):
            return None

    def raw(self, key: str, fresh: bool) -> Any:
        graph = self.graph
        if key.startswith("updated "):
            return self.updated(key[len("updated "):], fresh)
        if key == "eta":
            return graph.learning_rate
        partial = Partial.parse(key)
        if partial is not None:
            top, wrt = graph.node(partial.top), graph.node(partial.wrt)
            if top.symbol == wrt.symbol:
                return 1
            relevant = graph.ancestors(top.symbol)
            if wrt.symbol not in relevant:
                return 0
            if not fresh and key in self.overrides:
                return self.overrides[key]
            # the children's adjoints (the student's where given), this one worked out afresh
            return self.pulled(partial.top, wrt, self.sweep(partial.top), relevant, exclude=key)
        node = graph.node(key)
        if fresh and node.expr is not None:
            return self.computed(node)
        return self.env[node.symbol] if not fresh else self.fresh_env[node.symbol]

    def updated(self, name: str, fresh: bool) -> Any:
        key = f"updated {name}"
        if not fresh and key in self.overrides:
            return self.overrides[key]
        graph = self.graph
        eta = graph.learning_rate
        if eta is None or not graph.output:
            raise KeyError(name)
        theta = self.fresh_env[graph.node(name).symbol]
        g = self.raw(str(Partial(graph.output, name)), fresh=False)
        if self.mistake is not None and self.mistake.update is not None:
            return self.mistake.update(theta, eta, g)
        return theta - eta * g


@functools.lru_cache(maxsize=4096)
def one_function(expr: sympy.Expr) -> bool:
    """Whether an expression applies exactly one function (of one argument) outermost: exp(u),
    −tanh(u), exp(x1³)/x2; not g2/g1, sin(g2)/tanh(g3) or softmax(z1, z2)."""
    found: list[sympy.Expr] = []
    todo = [expr]
    while todo:
        e = todo.pop()
        if isinstance(e, sympy.Function):
            found.append(e)
        else:
            todo += list(e.args)
    return len(found) == 1 and len(found[0].args) == 1


def applied(expr: sympy.Expr | None) -> tuple[sympy.Expr, int] | None:
    """A node's expression as a function of one argument and its sign: tanh(u) → (tanh(u), 1),
    and −tanh(u) (sympy's form of tanh(cos(g2) − g1)) → (tanh(u), −1); None for anything else
    (a sum, a product, a quotient, a softmax of every z)."""
    if isinstance(expr, sympy.Function) and len(expr.args) == 1:
        return expr, 1
    if isinstance(expr, sympy.Mul) and len(expr.args) == 2 and expr.args[0] == -1 and \
            isinstance(expr.args[1], sympy.Function) and len(expr.args[1].args) == 1:
        return expr.args[1], -1
    return None


def local_form(partial: sympy.Expr, expr: sympy.Expr, symbol: Symbol, how: str) -> sympy.Expr:
    """A local derivative written from the node's value (`how` "value": exp(x) → g) or from its
    argument ("argument": a(1 − a) → σ(z)(1 − σ(z)))."""
    if how == "value":
        form = applied(expr)
        if form is not None:
            inner, sign = form
            return partial.subs(inner, sign * symbol)
        return partial.subs(expr, symbol)
    return partial.subs(symbol, expr)


# The stable id of each kind of mistake, as `check --json` and `grade` report it (README).
MISTAKE_IDS = {
    "sigmoid-1-minus-plus": "sigmoid-derivative-form", "sigmoid-plus": "sigmoid-derivative-form",
    "sigmoid-itself": "sigmoid-derivative-form", "no-activation-derivative": "missing-activation-derivative",
    "z-for-a-input": "z-for-a", "z-for-a-derivative": "z-for-a", "a-for-z": "a-for-z",
    "no-activation-forward": "missing-activation", "half-dropped": "loss-half-dropped",
    "half-added": "loss-half-added", "transposed": "weights-transposed", "update-sign": "update-sign",
    "update-no-eta": "update-missing-eta", "update-eta-twice": "update-eta-twice",
}


def mistake_id(name: str) -> str:
    """The stable id of a Mistake's rule ("no-activation-derivative-2" → its kind)."""
    return MISTAKE_IDS.get(name) or MISTAKE_IDS.get(name.rstrip("0123456789").rstrip("-"), name)


def mistakes(graph: Graph, layers: int, loss: str | None) -> list[Mistake]:
    """The mistakes that can happen in this problem, each as a rule to run the Model with."""
    out: list[Mistake] = []
    nodes = graph.nodes
    if any(is_sigmoid(n) for n in nodes):
        out += [
            Mistake("sigmoid-1-minus-plus", "σ' taken as (1 − σ)(1 + σ) instead of σ(1 − σ)",
                    sigmoid_derivative=lambda a: (1 - a) * (1 + a)),
            Mistake("sigmoid-plus", "σ' taken as σ(1 + σ) instead of σ(1 − σ)",
                    sigmoid_derivative=lambda a: a * (1 + a)),
            Mistake("sigmoid-itself", "σ' taken as σ itself instead of σ(1 − σ)",
                    sigmoid_derivative=lambda a: a),
        ]
    activation_layers = sorted({layer_of(n.name) or layers for n in nodes if nonlinear(n)})
    if activation_layers:
        out.append(Mistake("no-activation-derivative",
                           "the activation's derivative g'(z) left out of the chain rule",
                           drop_activation_derivative=frozenset(activation_layers)))
        if len(activation_layers) > 1:
            for layer in activation_layers:
                which = "output layer" if layer == layers else f"layer {layer}"
                out.append(Mistake(f"no-activation-derivative-{layer}",
                                   f"the {which}'s activation derivative g'(z) left out of the chain rule",
                                   drop_activation_derivative=frozenset({layer})))
        out.append(Mistake("z-for-a-input", "z used for a: the previous layer's pre-activation z "
                           "in place of its activation a in ∂z/∂W", z_for_a="input"))
        out.append(Mistake("z-for-a-derivative", "z used for a in the activation's derivative: "
                           "z(1 − z) for a(1 − a)", z_for_a="derivative"))
        out.append(Mistake("a-for-z", "a used for z: the derivative g' evaluated at a = g(z) "
                           "instead of at z", derivative_at_a=True))
        hidden = [l for l in activation_layers if l != layers]
        if hidden:
            out.append(Mistake("no-activation-forward", "the activation left out of the forward "
                               "pass: a = z", skip_activation=frozenset(hidden)))
    if loss == "half_squared_error":
        out.append(Mistake("half-dropped", "the ½ of the loss ½(ŷ − y)² dropped", loss_scale=2.0))
    elif loss == "squared_error":
        out.append(Mistake("half-added", "a ½ added to the loss (ŷ − y)²", loss_scale=0.5))
    for layer in range(1, layers + 1):
        weights = [n for n in nodes if n.kind == "weight" and n.name.startswith(f"W{layer}[")]
        rows = {n.name[n.name.index("[") + 1:].split(",")[0] for n in weights}
        if weights and len(weights) == len(rows) ** 2 and len(rows) > 1:
            out.append(Mistake(f"transposed-{layer}", f"the weights W{layer} read transposed "
                               f"(W_ji for W_ij)", transposed=layer))
    if graph.learning_rate is not None:
        out += [
            Mistake("update-sign", "the update's sign: θ + η·g instead of θ − η·g",
                    update=lambda t, e, g: t + e * g),
            Mistake("update-no-eta", "the learning rate η left out of the update: θ − g",
                    update=lambda t, e, g: t - g),
            Mistake("update-eta-twice", "the learning rate η applied twice: θ − η²·g",
                    update=lambda t, e, g: t - e * e * g),
        ]
    return out
