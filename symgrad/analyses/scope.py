"""One part of a sheet, made ready for checking a student's lines against it: the names a
student may use for its quantities, its points (the problem's numbers, and a few sample values for
leaves that have none, such as a target y left unknown), its Models and the mistakes that can
happen in it; and the student's own values (claims) as they are found.
"""

from __future__ import annotations

import random
import re

import numpy as np
from dataclasses import dataclass
import sympy
from sympy import Symbol

from symgrad.analyses.replay import Mistake, Model, mistakes
from symgrad.analyses.sheet import Part
from symgrad.input.mathtext import Name
from symgrad.input.names import Partial as PartialName

SAMPLES = 3  # points for a problem with leaves of unknown value (a target y left symbolic)


@dataclass
class Claim:
    values: list[float]  # one per point
    half: list[float]
    line: int
    order: int
    right: bool  # within its own precision of the engine's value
    text: str


class Scope:
    """One part of the sheet, ready for checking: its names, its points, its Models."""

    def __init__(self, question: str, label: str, part: Part, names: dict[str, str],
                 functions: dict[str, str], group: int) -> None:
        assert part.solution is not None
        self.question, self.label = question, label
        self.part = part
        self.solution = part.solution
        self.graph = self.solution.graph
        self.names = names  # a student's name key → an engine name ("eta" for η)
        self.ambiguous: dict[str, str] = {}  # a name used for two things → why
        self.conventional: set[str] = set()  # names taken by convention (x, E, δ), not the sheet
        self.from_value: dict[str, int] = {}  # names learnt from a value → the line it stands on
        self.functions = functions  # an unknown function's key → an activation
        self.group = group  # parts with the same problem share the student's values
        network = self.solution.spec.network
        self.layers = len(network.layers) if network else 0
        self.loss = network.loss if network else None
        unknown = sorted((n.symbol for n in self.graph.nodes
                          if n.expr is None and n.symbol not in self.graph.values), key=str)
        rng = random.Random(17)
        self.points: list[dict[Symbol, float]] = (
            [{s: round(rng.uniform(0.3, 1.3), 6) for s in unknown} for _ in range(SAMPLES)]
            if unknown else [{}])
        self.symbolic = bool(unknown)
        self.models = [Model(self.graph, p, layers=self.layers) for p in self.points]
        self.mistakes = mistakes(self.graph, self.layers, self.loss)
        self.cache: dict[str, list[float | None]] = {}
        self.mutant_models: dict[str, list[Model]] = {}
        self.all_keys: list[str] | None = None
        self.sizes: dict[int, np.ndarray] = {}  # each point's quantities, by size, for roundings
        given = [v for v in self.graph.values.values() if isinstance(v, (int, float))]
        if self.graph.learning_rate is not None:
            given.append(self.graph.learning_rate)
        # the numbers of the problem's own formulas (a leaky slope 0.01, the 1.5 of 1.5*x) are
        # exact too: written in a student's working they are no rounding
        for node in self.graph.nodes:
            for expr in ([node.expr] if node.expr is not None else []) + list(node.partials.values()):
                given += [a for a in expr.atoms(sympy.Number) if a.is_finite]
        graph_spec = self.solution.spec.graph  # its literals, as written (sympy folds 2*0.5 to 1)
        if graph_spec is not None:
            given += [float(t) for _, text in graph_spec.define
                      for t in re.findall(r"(?<![\w.])\d+(?:\.\d+)?(?![\w.])", text)]
        self.data = frozenset(round(abs(float(v)), 12) for v in given)
        self.activations = ({layer.activation for layer in network.layers if hasattr(layer, "activation")}
                            if network else set())  # pooling, flatten, batchnorm have none
        nonlinear = self.activations - {"identity"}
        self.activation = next(iter(nonlinear)) if len(nonlinear) == 1 else None
        # an [optimizer]'s parameters after its steps (Adam, RMSprop, several steps, weight
        # decay) are not θ − η ∂L/∂θ: they are judged against the key's values, not replayed
        opt = self.solution.spec.optimizer
        self.stepped = opt is not None and not (
            opt.name == "sgd" and opt.steps == 1 and not opt.weight_decay and not opt.nesterov
            and opt.lr == self.graph.learning_rate)

    @property
    def where(self) -> str:
        if not self.question:
            return "this problem"
        return f"question {self.question}" + (f" ({self.label})" if self.label else "")

    def mutants(self, mistake: Mistake) -> list[Model]:
        """The Models of this part with one mistake made (and no value of the student's)."""
        if mistake.name not in self.mutant_models:
            self.mutant_models[mistake.name] = [
                Model(self.graph, p, mistake=mistake, layers=self.layers) for p in self.points]
        return self.mutant_models[mistake.name]

    def expected(self, key: str) -> list[float | None]:
        if key not in self.cache and not self.replayable(key):
            value = self.solution.updated.get(key[len("updated "):])
            self.cache[key] = [float(value) if isinstance(value, (int, float)) else None] * len(self.models)
        if key not in self.cache:
            self.cache[key] = [m.quantity(key) for m in self.models]
        return self.cache[key]

    def replayable(self, key: str) -> bool:
        """Whether the key's value can be worked out again from a student's own values (not an
        optimizer's parameter after its steps)."""
        return not (self.stepped and key.startswith("updated "))

    def rounded_from(self, written: float, half: float, point: int) -> list[float]:
        """The exact values (in size) of this part's quantities and given numbers that a
        number written as `written` (± `half`, its last digit) is a rounding of."""
        if point not in self.sizes:
            sizes = {abs(float(v)) for v in self.graph.values.values() if isinstance(v, (int, float))}
            sizes |= {abs(v) for v in (self.points[point] or {}).values()}
            if self.graph.learning_rate is not None:
                sizes.add(abs(float(self.graph.learning_rate)))
            for key in self.keys():
                value = self.expected(key)[point]
                if value is not None:
                    sizes.add(abs(value))
            self.sizes[point] = np.array(sorted(sizes))
        sizes = self.sizes[point]
        reach = half + 1e-9 * abs(written) + 1e-15
        lo = int(np.searchsorted(sizes, written - reach, side="left"))
        hi = int(np.searchsorted(sizes, written + reach, side="right"))
        return [float(v) for v in sizes[lo:hi]]

    def has(self, key: str) -> bool:
        """Whether this part's problem has the quantity at all."""
        graph = self.graph
        if key.startswith("updated "):
            name = key[len("updated "):]
            return name in graph.updatable and graph.learning_rate is not None and bool(graph.output)
        if key == "eta":
            return graph.learning_rate is not None
        partial = PartialName.parse(key)
        if partial is not None:
            return partial.top in graph.by_name and partial.wrt in graph.by_name
        return key in graph.by_name

    def engine_name(self, name: Name) -> str | None:
        """The engine's name for a student's name: their own table, the sheet's notation, the
        engine's plain names; [l] and (l) are taken for each other, and w for W."""
        key = name.key
        if key.startswith("=grad "):  # an answer file's gradient by a bare name
            by = key[len("=grad "):]
            gradient = str(PartialName(self.graph.output or "L", by))
            return gradient if self.has(by) and self.has(gradient) else None
        if key.startswith("="):
            return key[1:] if self.has(key[1:]) else None
        candidates = [key]
        base, sub, sup = key.split("|")
        swapped = sup.replace("[", "(").replace("]", ")") if "[" in sup else \
            sup.replace("(", "[").replace(")", "]")
        candidates.append(f"{base}|{sub}|{swapped}")
        if len(base) == 1 and base.isalpha():
            other = base.swapcase()
            candidates += [f"{other}|{sub}|{sup}", f"{other}|{sub}|{swapped}"]
        for k in candidates:
            if k in self.ambiguous:
                return None
            if k in self.names and self.has(self.names[k]):
                return self.names[k]
        return None

    def keys(self) -> list[str]:
        """Every quantity a value can be compared with: the values, the output's adjoints
        (nearest the output first), the local derivatives, the updates."""
        if self.all_keys is not None:
            return self.all_keys
        graph = self.graph
        keys = [n.name for n in graph.nodes if n.expr is not None]
        if graph.output:
            above = graph.ancestors(graph.node(graph.output).symbol)
            keys += [str(PartialName(graph.output, n.name)) for n in reversed(graph.nodes)
                     if n.name != graph.output and n.symbol in above]
        for n in graph.nodes:
            keys += [str(PartialName(n.name, graph.by_symbol[p].name)) for p in n.partials]
        if graph.learning_rate is not None and graph.output:
            keys += [f"updated {n.name}" for n in graph.nodes if n.name in graph.updatable]
        self.all_keys = keys
        return keys

    def function(self, key: str) -> str | None:
        """What an unknown function (f, g, φ) stands for: the student's table, else the
        part's one nonlinear activation; None when the name is a quantity (p(x), J(w))."""
        if key in self.functions:
            return self.functions[key]
        if key in self.names and self.has(self.names[key]):
            return None
        base = key.split("|")[0]
        if base in ("f", "g", "phi", "varphi", "psi", "sigma"):
            return self.activation or ("identity" if self.layers else None)
        return None


def prominence(scope: Scope, key: str) -> int:
    """Which quantity a student most likely meant, among several with one value: outputs and
    the loss first, then activations, then the rest."""
    node = scope.graph.by_name.get(key)
    if node is None:
        return 3
    if node.name.startswith("yhat") or node.kind == "loss" or node.name == scope.graph.output:
        return 0
    return 1 if node.kind in ("activation", "variable") else 2
