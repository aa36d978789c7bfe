"""Exam variants: other numbers for a solved sheet, drawn, screened and worked out in batches.

The sheet is solved (derived and certified) once.  Each part's problem is then compiled into one
straight-line numpy program (the forward pass, the backward sweep, the chain-rule factors, the
gradients and the update, as `engine.compiled` does) and evaluated for a whole batch of draws at
a time.  A draw is kept when it meets every condition:

- "finite": every number is finite (always on);
- "saturated": no sigmoid unit with |z| > 4 and no tanh unit with |z| > 2;
- "dead_relu": no ReLU layer whose every unit has z <= 0;
- "zero_gradient": no asked gradient below 0.5 × 10^-p, p the sheet's precision (it would show
  as 0 to p decimal places);
- each `require` condition of the file;
- "duplicate": no two variants with the same drawn values.

The first n draws kept, in the order drawn, are the variants: the same seed always gives the
same variants, and asking for fewer gives the first of them.  Only the kept draws become
Solutions (the sheet's own derivations with the variant's numbers), ready to render.

The learning rate may be drawn too (`eta = { choose = [0.1, 0.5] }`, or `learning_rate`): it is
an input of the programs like a leaf, and each update is θ − η ∂L/∂θ with the variant's η.  Prose
that prints a quantity's number with `\\val{NAME}` (input/prose.py) is written again for each
variant with its own numbers (`prose_with_values`); a number written out in prose that equals the
problem's own value of something drawn is reported (`stale_literals`), as it would go stale.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sympy
from sympy import Symbol

from symgrad.analyses.collapse import equivalent_layer
from symgrad.analyses.layerforms import layer_forms
from symgrad.analyses.matrixform import matrix_backprop
from symgrad.analyses.sheet import Part, Sheet
from symgrad.engine import optimize
from symgrad.engine.backward import reverse_sweep
from symgrad.engine.compiled import definitions_of, standard_outputs, straight_line
from symgrad.engine.graph import Graph
from symgrad.engine.solution import Solution
from symgrad.errors import ProblemError, SymgradError
from symgrad.input import limits
from symgrad.input.names import Partial
from symgrad.input.prose import literals, printed_number, values as value_names, with_values
from symgrad.input.layerspec import BatchNormSpec, ConvSpec, RNNSpec, indices as positions
from symgrad.input.spec import LayerSpec, ProblemSpec
from symgrad.input.variantspec import Condition, Draw, VariantsSpec

BATCH = 1024  # draws per batch: fixed, so that -n 10 gives the first 10 of -n 100
BATCH_NUMBERS = 4_000_000  # numbers of one batch at most (32 MB): a large network draws fewer
KEPT_NUMBERS = 20_000_000  # numbers kept for the variants in all (160 MB): n × numbers a variant
RATE = "eta"  # the learning rate's name among the drawn values (`eta` or `learning_rate`)
RATE_NAMES = ("eta", "learning_rate")
SATURATION = {"sigmoid": 4.0, "tanh": 2.0}  # |z| beyond which a unit is saturated
LABELS = {
    "finite": "a value is not finite",
    "saturated": "a saturated sigmoid/tanh unit (|z| > 4 / 2)",
    "dead_relu": "a ReLU layer with every unit dead (z <= 0)",
    "duplicate": "the same values as an earlier variant",
}


class VariantsError(ProblemError):
    """The conditions could not be met in the draws allowed (exit status 2)."""


@dataclass(frozen=True)
class Quantity:
    """One drawn quantity, resolved against the problems: its leaves, row by row."""

    draw: Draw
    leaves: tuple[str, ...]
    shape: tuple[int, ...]


@dataclass(frozen=True)
class Answer:
    """One asked answer of a part: `key` as in variants.csv ("1a:dL/dW2[1,1]"), what it is
    ("value", "gradient", "updated") and its name in the part's solution."""

    key: str
    kind: str
    name: str


@dataclass(frozen=True)
class Variant:
    id: str  # "v01", ...
    given: dict[str, float]  # the drawn values, by leaf name
    sheet: Sheet  # the sheet with this variant's numbers
    answers: dict[str, float]  # every asked answer, by key


@dataclass(frozen=True)
class Variants:
    base: Sheet
    variants: tuple[Variant, ...]
    seed: int
    draws: int  # draws made in all
    rejected: dict[str, int]  # condition label → draws that failed it (a draw may fail several)
    spread: dict[str, tuple[float, float, float]]  # answer key → (min, median, max)
    drawn: tuple[str, ...]  # the drawn leaf names, in order ("eta" for the learning rate)
    warnings: tuple[str, ...] = ()  # numbers written out in prose that a variant would leave stale

    def report(self) -> str:
        """The stress report: the draws each condition rejected, each answer's spread, and a
        warning line for each number written out in prose that equals something drawn."""
        lines = [f"{len(self.variants)} variants from {self.draws} draws (seed {self.seed})",
                 "draws rejected, by condition (a draw may fail several):"]
        lines += [f"  {label}: {count}" for label, count in self.rejected.items()]
        lines.append("answers: min / median / max")
        lines += [f"  {key}: {low:.6g} / {mid:.6g} / {high:.6g}"
                  for key, (low, mid, high) in self.spread.items()]
        lines += self.warnings
        return "\n".join(lines) + "\n"


def answers_of(sheet: Sheet) -> list[tuple[Part, str, list[Answer]]]:
    """The asked answers of every part with numbers: (part, key prefix, answers).

    A part asks for what it shows: the outputs (ŷ, or a graph's output) with "forward", the loss
    with "loss", its gradients, and the updated parameters with "update"; each one that is a
    number.  Keys have the part's number as prefix on a sheet ("1a:L"), none for a single
    problem ("L")."""
    out = []
    for q in sheet.questions:
        for part in q.parts:
            s = part.solution
            if s is None:
                continue
            prefix = f"{q.number}{part.label}:" if sheet.single is None else ""
            found = []
            if "forward" in part.show:
                outputs = ([n for n in s.values if n.startswith("yhat[")] if s.spec.network
                           else [s.graph.output] if s.graph.output in s.values else [])
                found += [Answer(prefix + n, "value", n) for n in outputs]
            if "loss" in part.show and "L" in s.values and s.spec.network:
                found.append(Answer(prefix + "L", "value", "L"))
            if "gradients" in part.show:
                found += [Answer(prefix + k, "gradient", k) for k in s.gradients]
            if "update" in part.show:
                found += [Answer(f"{prefix}updated {n}", "updated", n) for n in s.updated]
            found = [a for a in found if is_number(answer_value(s, a))]
            out.append((part, prefix, found))
    return out


def answer_value(solution: Solution, answer: Answer) -> Any:
    if answer.kind == "gradient":
        return solution.gradients[answer.name].value
    return (solution.values if answer.kind == "value" else solution.updated)[answer.name]


def is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


class Program:
    """One part's problem as a numpy function of its leaves: every computed value, adjoint (δ),
    chain-rule factor, gradient and update, for a batch of draws at a time."""

    def __init__(self, solution: Solution) -> None:
        self.solution = solution
        graph = solution.graph
        self.values = tuple(solution.values)
        self.gradients = tuple(solution.gradients)
        # an [optimizer]'s parameters after its steps are worked out for each variant kept
        # (renumber_part), not as θ − η ∂L/∂θ here
        self.updated = tuple(solution.updated) if solution.spec.optimizer is None else ()
        adjoints = {s.name: s for s, _ in definitions_of(solution)
                    if s.name in solution.adjoint_values}
        self.adjoints = tuple(adjoints)
        # the update θ − η ∂L/∂θ is worked out after the program, so that η can be drawn
        outputs = standard_outputs(solution)[:len(self.values) + len(self.gradients)]
        outputs += [adjoints[n] for n in self.adjoints]
        self.steps = tuple((n, str(Partial(graph.output, n))) for n in self.updated)
        self.factors: list[tuple[str, int, int]] = []  # (gradient key, path, factor)
        for key, g in solution.gradients.items():
            for p, path in enumerate(g.derivation.paths or ()):
                for k, f in enumerate(path):
                    self.factors.append((key, p, k))
                    outputs.append(f.expr)
        self.leaves, self.function = straight_line(solution, outputs, "variants")
        self.defaults = {graph.by_symbol[s].name: float(v) for s, v in graph.values.items()}
        self.rate = None if graph.learning_rate is None else float(graph.learning_rate)
        # what it takes: its leaves, and the learning rate when it has one
        rated = self.rate is not None and RATE not in self.leaves
        self.inputs = self.leaves + ((RATE,) if rated else ())

    def default(self, name: str) -> float:
        """The problem's own value of an input (a leaf, or the learning rate)."""
        if name == RATE and name not in self.defaults and self.rate is not None:
            return self.rate
        return self.defaults[name]

    @property
    def names(self) -> list[str]:
        """The outputs' names, in order."""
        return [*self.values, *self.gradients, *(f"updated {n}" for n in self.updated),
                *(f"delta {n}" for n in self.adjoints),
                *(f"factor {k} {p} {f}" for k, p, f in self.factors)]

    def __call__(self, given: Mapping[str, np.ndarray], size: int) -> dict[str, np.ndarray]:
        """Every output by name ("values" keys, gradient keys, "updated W", "delta dL/dz",
        "factor KEY P K"), each an array of `size`."""
        arguments = {}
        for name in self.leaves:
            if name in given:
                arguments[name] = given[name]
            elif name in self.defaults:
                arguments[name] = np.full(size, self.defaults[name])
            else:
                raise SymgradError(f"variants: {name} has no value; give it in [data] or draw it "
                                   "in [variants]")
        with np.errstate(all="ignore"):
            results = self.function(*arguments.values())
        computed = [*self.values, *self.gradients, *(f"delta {n}" for n in self.adjoints),
                    *(f"factor {k} {p} {f}" for k, p, f in self.factors)]
        out = {n: np.broadcast_to(np.asarray(r, dtype=float), (size,))
               for n, r in zip(computed, results)}
        if self.steps:
            eta = given[RATE] if RATE in given and RATE not in self.leaves else self.rate
            with np.errstate(all="ignore"):
                for name, key in self.steps:
                    out[f"updated {name}"] = np.broadcast_to(
                        np.asarray(arguments[name] - eta * out[key], dtype=float), (size,))
        return {n: out[n] for n in self.names}


class Sampler:
    """The draws of a sheet's variants: each batch drawn, evaluated by every part's program and
    screened by every condition, all as arrays."""

    def __init__(self, sheet: Sheet, spec: VariantsSpec) -> None:
        source = spec.source
        self.parts = [p for q in sheet.questions for p in q.parts if p.solution is not None]
        if not self.parts:
            raise ProblemError(source, "variants", "the file has no network or graph to draw "
                               "numbers for")
        if not spec.draws:
            raise ProblemError(source, "variants", "expected at least one quantity to draw, such "
                               "as W1 = { uniform = [-1, 1], step = 0.1 }")
        self.quantities = resolve(spec, self.parts)
        self.drawn = tuple(leaf for q in self.quantities for leaf in q.leaves)
        undrawable(spec, self.quantities, self.parts)
        self.programs = [Program(p.solution) for p in self.parts]  # type: ignore[arg-type]
        for program in self.programs:
            missing = [l for l in program.leaves if l not in self.drawn and l not in program.defaults]
            if missing:
                raise ProblemError(source, "variants", f"{missing[0]} has no value; give it in "
                                   "[data] or draw it in [variants]")
        self.checks = conditions(spec, sheet, self.parts, self.programs, self.drawn)
        self.width = len(self.drawn) + sum(len(p.names) for p in self.programs)  # numbers a draw
        self.size = max(1, min(BATCH, BATCH_NUMBERS // self.width))  # draws a batch

    def batch(self, rng: np.random.Generator, size: int, rejected: dict[str, int]
              ) -> tuple[dict[str, np.ndarray], list[dict[str, np.ndarray]], np.ndarray]:
        """`size` draws (of a full batch drawn, so that the generator moves the same way
        whatever the size): the drawn values, every part's numbers, and which pass."""
        given = {k: v[:size] for k, v in draw_batch(rng, self.quantities, self.size).items()}
        outs = [program({l: given[l] for l in program.inputs if l in given}, size)
                for program in self.programs]
        ok = np.ones(size, dtype=bool)
        for label, check in self.checks:
            passed = check(given, outs)
            rejected[label] = rejected.get(label, 0) + int(size - passed.sum())
            ok &= passed
        return given, outs, ok


def draw_variants(sheet: Sheet, spec: VariantsSpec, n: int, seed: int) -> Variants:
    """n variants of a solved sheet, drawn as `spec` says, with `seed`."""
    if not 1 <= n <= limits.VARIANTS:
        raise ProblemError(spec.source, "-n", f"expected 1 to {limits.VARIANTS} variants, got {n}")
    sampler = Sampler(sheet, spec)
    drawn = sampler.drawn
    valued = check_values(sheet)  # every \val{} name known, before any draw
    if n * sampler.width > KEPT_NUMBERS:
        raise ProblemError(spec.source, "-n", f"{n} variants of {sampler.width} numbers each: "
                           f"symgrad keeps at most {KEPT_NUMBERS} numbers; ask for fewer variants")
    budget = spec.max_draws or min(max(1000, 100 * n), limits.DRAWS)
    rng = np.random.default_rng(seed)
    rejected = {label: 0 for label, _ in sampler.checks}
    duplicate = LABELS["duplicate"]
    if "duplicate" in spec.avoid:
        rejected[duplicate] = 0
    seen: set[tuple[float, ...]] = set()
    kept: list[tuple[dict[str, float], list[dict[str, float]]]] = []
    made = 0
    while len(kept) < n and made < budget:
        size = min(sampler.size, budget - made)
        given, outs, ok = sampler.batch(rng, size, rejected)
        made += size
        matrix = np.stack([given[l] for l in drawn], axis=1)
        for row in np.flatnonzero(ok):
            key = tuple(matrix[row].tolist())
            if "duplicate" in spec.avoid and key in seen:
                rejected[duplicate] += 1
                continue
            seen.add(key)
            kept.append((dict(zip(drawn, key)), [{k: float(v[row]) for k, v in out.items()}
                                                 for out in outs]))
            if len(kept) == n:
                break
    if len(kept) < n:
        failing = sorted(rejected.items(), key=lambda item: -item[1])
        why = "; ".join(f"{label}: {count} draws" for label, count in failing if count)
        raise VariantsError(spec.source, "variants", f"only {len(kept)} of {n} variants meet the "
                            f"conditions in {made} draws (rejected by {why or 'nothing'})")
    width = len(str(n))
    variants = [variant_of(sheet, f"v{k:0{width}d}", given, sampler.parts, outs, valued)
                for k, (given, outs) in enumerate(kept, 1)]
    spread = {}
    for answer in variants[0].answers:
        values = np.array([v.answers[answer] for v in variants])
        spread[answer] = (float(values.min()), float(np.median(values)), float(values.max()))
    return Variants(sheet, tuple(variants), seed, made, rejected, spread, drawn,
                    tuple(stale_literals(sheet, drawn)))


def resolve(spec: VariantsSpec, parts: Sequence[Part]) -> list[Quantity]:
    """Each drawn name as the leaves it stands for: W1 → W1[1,1], W1[1,2], ...; x → x[1], ...;
    one entry or a graph's leaf → itself.  A name must be a leaf of some part's problem."""
    leaves: dict[str, None] = {}
    for part in parts:
        for node in part.solution.graph.nodes:  # type: ignore[union-attr]
            if node.expr is None:
                leaves[node.name] = None
    rated = any(part.solution.graph.learning_rate is not None for part in parts)  # type: ignore[union-attr]
    quantities: list[Quantity] = []
    taken: dict[str, str] = {}
    for draw in spec.draws:
        if draw.name in RATE_NAMES and draw.name not in leaves:
            quantities.append(rate_quantity(spec, draw, rated, RATE in leaves, taken))
            continue
        if draw.name in leaves:
            members = [draw.name]
        else:
            members = [l for l in leaves if l.startswith(draw.name + "[")]
        if not members:
            families = sorted({l.split("[")[0] for l in leaves}) + (["eta"] if rated else [])
            raise ProblemError(spec.source, draw.field, f"no quantity named {draw.name!r} to draw "
                               f"(the problem's are {', '.join(families)})")
        for leaf in members:
            if leaf in taken:
                raise ProblemError(spec.source, draw.field, f"{leaf} is drawn twice (also by "
                                   f"{taken[leaf]})")
            taken[leaf] = draw.field
        indices = [leaf_index(l) for l in members]
        members = [m for _, m in sorted(zip(indices, members))]  # row by row
        indices = sorted(indices)
        shape = tuple(max(i[d] for i in indices) for d in range(len(indices[0]))) if indices[0] else ()
        if draw.whole:
            wanted = shape
            option = draw.options[0]
            got = (len(option),) if not isinstance(option[0], tuple) else (len(option), len(option[0]))
            transposed = len(wanted) == 2 and spec.layout == "in_out" and dense_weights(members, parts)
            if len(wanted) == 2 and spec.layout == "mixed":
                raise ProblemError(spec.source, f"{draw.field}.choose", "the file's networks use "
                                   "both layouts: choose whole matrices per entry instead")
            if (got[::-1] if transposed else got) != wanted or len(members) != math.prod(wanted or (0,)):
                want = " x ".join(map(str, wanted[::-1] if transposed else wanted)) or "a number"
                raise ProblemError(spec.source, f"{draw.field}.choose", f"expected values of "
                                   f"{draw.name}'s shape ({want}), got {' x '.join(map(str, got))}")
            if transposed:
                draw = replace(draw, options=tuple(tuple(zip(*o)) for o in draw.options))
        quantities.append(Quantity(draw, tuple(members), shape))
    return quantities


def leaf_index(name: str) -> tuple[int, ...]:
    """Every index of a leaf's name, group after group: W1[2,3] → (2, 3); x[2][1,3,3] (example
    2, channel 1, row 3, column 3) → (2, 1, 3, 3); a graph's leaf x1 → ()."""
    return tuple(int(i) for i in re.findall(r"\d+", name[name.index("["):])) if "[" in name else ()


def dense_weights(members: Sequence[str], parts: Sequence[Part]) -> bool:
    """Whether the leaves are a dense layer's weight matrix (which the file's layout may write
    transposed), not an input batch or a recurrent layer's matrix (always written out_in)."""
    m = re.fullmatch(r"W(\d+)\[\d+,\d+\]", members[0])
    if m is None:
        return False
    l = int(m[1])
    for part in parts:
        network = part.solution.spec.network  # type: ignore[union-attr]
        if network is not None and l <= len(network.layers) and f"{members[0]}" in part.solution.graph.by_name:  # type: ignore[union-attr]
            return isinstance(network.layers[l - 1], LayerSpec)
    return True


def undrawable(spec: VariantsSpec, quantities: Sequence[Quantity], parts: Sequence[Part]) -> None:
    """One clear error for a drawn value that a variant's problem file could not state: a
    recurrent layer's initial state per example of a mini-batch (the file has one h0 for all),
    or the learning rate of a problem whose [optimizer] has its own."""
    for q in quantities:
        for leaf in q.leaves:
            for part in parts:
                network = part.solution.spec.network  # type: ignore[union-attr]
                if leaf == RATE and part.solution.spec.optimizer is not None:  # type: ignore[union-attr]
                    raise ProblemError(spec.source, q.draw.field, "the learning rate of a problem "
                                       "with an [optimizer] is the optimizer's lr: it is not drawn")
                if (network is not None and network.batch and leaf in part.solution.graph.by_name  # type: ignore[union-attr]
                        and re.fullmatch(r"h\d+\[\d+\]\[0\]\[\d+\]", leaf)):
                    raise ProblemError(spec.source, q.draw.field, f"{leaf} is the initial state of "
                                       "one example, but the problem states one h0 for the whole "
                                       "mini-batch: it is not drawn")


def rate_quantity(spec: VariantsSpec, draw: Draw, rated: bool, clash: bool,
                  taken: dict[str, str]) -> Quantity:
    """`eta = { choose = [0.1, 0.5] }` (or `learning_rate`): the learning rate of every part
    that has one, drawn as one number."""
    if not rated:
        raise ProblemError(spec.source, draw.field, "the problem has no learning rate to draw: "
                           "give network.learning_rate (or graph.learning_rate)")
    if clash:
        raise ProblemError(spec.source, draw.field, "the graph has a leaf named eta: draw it as "
                           "eta, and the learning rate not at all")
    if draw.whole:
        raise ProblemError(spec.source, f"{draw.field}.choose", "expected numbers: the learning "
                           "rate is one number")
    if RATE in taken:
        raise ProblemError(spec.source, draw.field, f"the learning rate is drawn twice (also by "
                           f"{taken[RATE]})")
    taken[RATE] = draw.field
    return Quantity(draw, (RATE,), ())


def draw_batch(rng: np.random.Generator, quantities: Sequence[Quantity], size: int) -> dict[str, np.ndarray]:
    """`size` draws of every quantity, one array per leaf; the generator is used in the same
    order for every batch, so a seed fixes every variant."""
    out: dict[str, np.ndarray] = {}
    for q in quantities:
        d, count = q.draw, len(q.leaves)
        if d.kind == "uniform":
            k = rng.integers(0, d.points, size=(size, count))
            values = np.round(d.low + k * d.step, d.decimals)
            values = np.minimum(values, d.high)
        elif d.whole:
            table = np.array([np.ravel(o) for o in d.options], dtype=float)
            values = table[rng.integers(0, len(d.options), size=size)]
        else:
            values = np.asarray(d.options, dtype=float)[rng.integers(0, len(d.options), size=(size, count))]
        values = values + 0.0  # -0.0 → 0.0: a drawn zero prints as 0
        for j, leaf in enumerate(q.leaves):
            out[leaf] = np.ascontiguousarray(values[:, j])
    return out


Check = Callable[[Mapping[str, np.ndarray], list[dict[str, np.ndarray]]], np.ndarray]


def conditions(spec: VariantsSpec, sheet: Sheet, parts: Sequence[Part], programs: Sequence[Program],
               drawn: Sequence[str]) -> list[tuple[str, Check]]:
    """The checks a draw must pass, each with the label the report gives it."""
    checks: list[tuple[str, Check]] = []

    def finite(given: Mapping[str, np.ndarray], outs: list[dict[str, np.ndarray]]) -> np.ndarray:
        ok = np.ones(len(next(iter(given.values()))), dtype=bool)
        for out in outs:
            for name, values in out.items():
                if not name.startswith(("delta ", "factor ")):
                    ok &= np.isfinite(values)
        return ok

    checks.append((LABELS["finite"], finite))
    units: dict[str, list[tuple[int, Any, float]]] = {"saturated": [], "dead_relu": []}
    for k, part in enumerate(parts):
        network = part.solution.spec.network  # type: ignore[union-attr]
        for l, layer in enumerate(network.layers if network else (), 1):
            if not isinstance(layer, (LayerSpec, ConvSpec, RNNSpec)):
                continue  # no pre-activations of its own (pooling, batch norm, an activation layer)
            # a layer's units: of one example (z1[2][1]) or time step (h1[3][2]) at a time
            groups: dict[str, list[str]] = {}
            for z in part.solution.values:  # type: ignore[union-attr]
                if z.startswith(f"z{l}["):
                    groups.setdefault(z[:z.rindex("[")], []).append(z)
            zs = [z for group in groups.values() for z in group]
            if layer.activation in SATURATION:
                units["saturated"] += [(k, z, SATURATION[layer.activation]) for z in zs]
            if layer.activation == "relu":
                units["dead_relu"] += [(k, tuple(group), 0.0) for group in groups.values()]
    if "saturated" in spec.avoid and units["saturated"]:
        chosen = units["saturated"]
        checks.append((LABELS["saturated"], lambda g, outs: np.logical_and.reduce(
            [np.abs(outs[k][z]) <= bound for k, z, bound in chosen])))
    if "dead_relu" in spec.avoid and units["dead_relu"]:
        layers = units["dead_relu"]
        checks.append((LABELS["dead_relu"], lambda g, outs: np.logical_and.reduce(
            [np.logical_or.reduce([outs[k][z] > 0 for z in zs]) for k, zs, _ in layers])))
    if "zero_gradient" in spec.avoid:
        floor = 0.5 * 10.0 ** -sheet.precision
        asked = [(k, key) for k, part in enumerate(parts) for key in part.solution.gradients  # type: ignore[union-attr]
                 if "gradients" in part.show]
        label = f"an asked gradient that rounds to 0 (|g| < {floor:g})"
        if asked:
            checks.append((label, lambda g, outs: np.logical_and.reduce(
                [np.abs(outs[k][key]) >= floor for k, key in asked])))
    for condition in spec.require:
        checks.append((f"{condition.field.split('.')[-1]} {condition.text}",
                       requirement(spec, condition, parts, programs)))
    return checks


def requirement(spec: VariantsSpec, condition: Condition, parts: Sequence[Part],
                programs: Sequence[Program]) -> Check:
    """A `require` condition, checked in every part that has all the names it uses."""
    where = []
    for k, program in enumerate(programs):
        known = {*program.values, *program.gradients, *program.inputs}
        if all(name in known for name in condition.names):
            where.append(k)
    if not where:
        everything = {n for p in programs for n in (*p.values, *p.gradients, *p.inputs)}
        missing = [n for n in condition.names if n not in everything]
        names = sorted({n for p in programs for n in (*p.values, *p.gradients)})
        what = (f"no quantity named {missing[0]}" if missing
                else f"no part computes all of {', '.join(condition.names)}")
        raise ProblemError(spec.source, condition.field, f"{condition.text!r}: {what} (names "
                           f"such as {', '.join(names[:6])}, ...; a gradient must be asked for)")

    def check(given: Mapping[str, np.ndarray], outs: list[dict[str, np.ndarray]]) -> np.ndarray:
        results = []
        for k in where:
            program = programs[k]
            env = {name: given[name] if name in given else
                   outs[k][name] if name in outs[k] else np.float64(program.default(name))
                   for name in condition.names}
            with np.errstate(all="ignore"):
                results.append(np.asarray(numeric(condition.relation, env), dtype=bool))
        size = len(next(iter(given.values())))
        return np.broadcast_to(np.logical_and.reduce(results), (size,))

    return check


UNARY: dict[type, Callable[[Any], Any]] = {
    sympy.exp: np.exp, sympy.log: np.log, sympy.sin: np.sin, sympy.cos: np.cos,
    sympy.tan: np.tan, sympy.tanh: np.tanh, sympy.Abs: np.abs,
}
RELATIONS: dict[type, Callable[[Any, Any], Any]] = {
    sympy.StrictLessThan: np.less, sympy.LessThan: np.less_equal,
    sympy.StrictGreaterThan: np.greater, sympy.GreaterThan: np.greater_equal,
}


def numeric(expr: sympy.Basic, env: Mapping[str, Any]) -> Any:
    """A parsed condition evaluated over arrays: the tree the safe parser built, walked (its
    depth is bounded by the parser), never code."""
    if isinstance(expr, Symbol):
        return env[expr.name]
    if expr.is_Number:
        return float(expr)  # type: ignore[arg-type]
    args = [numeric(a, env) for a in expr.args]
    kind = type(expr)
    if kind in RELATIONS:
        return RELATIONS[kind](*args)
    if expr.is_Add:
        return functools.reduce(np.add, args)
    if expr.is_Mul:
        return functools.reduce(np.multiply, args)
    if expr.is_Pow:
        return np.power(*args)
    if kind in UNARY:
        return UNARY[kind](args[0])
    if kind in (sympy.Max, sympy.Min):
        return functools.reduce(np.maximum if kind is sympy.Max else np.minimum, args)
    raise SymgradError(f"variants: cannot evaluate {expr}")


def variant_of(sheet: Sheet, vid: str, given: dict[str, float], parts: Sequence[Part],
               outs: Sequence[Mapping[str, float]], valued: bool = True) -> Variant:
    """The sheet with one variant's numbers: each part's Solution renumbered, its analyses that
    depend on the numbers (equivalent layer, matrix form) worked out again, and its prose's
    \\val{} printed with them (`valued`: the prose has some)."""
    renumbered: dict[int, Part] = {}
    for part, out in zip(parts, outs):
        renumbered[id(part)] = renumber_part(part, given, out)
    questions = tuple(replace(q, parts=tuple(renumbered.get(id(p), p) for p in q.parts))
                      for q in sheet.questions)
    new = replace(sheet, title=f"{sheet.title}, variant {vid[1:]}", questions=questions)
    if valued:
        new = prose_with_values(new)
    answers = {a.key: float(answer_value(part.solution, a))  # type: ignore[arg-type]
               for part, _, found in answers_of(new) for a in found}
    return Variant(vid, given, new, answers)


def renumber_part(part: Part, given: Mapping[str, float], out: Mapping[str, float]) -> Part:
    solution = part.solution
    assert solution is not None and part.problem is not None
    graph = solution.graph
    mine = {name: v for name, v in given.items() if name in graph.by_name}
    values = {**{s: v for s, v in graph.values.items()},
              **{graph.by_name[name].symbol: v for name, v in mine.items()}}
    rate = graph.learning_rate
    if RATE in given and RATE not in graph.by_name and rate is not None:
        rate = given[RATE]
    gradients = {}
    for key, g in solution.gradients.items():
        factors = None
        if g.factor_values is not None and g.derivation.paths is not None:
            factors = tuple(tuple(out[f"factor {key} {p} {k}"] for k in range(len(path)))
                            for p, path in enumerate(g.derivation.paths))
        gradients[key] = replace(g, value=out[key], factor_values=factors)
    spec = respecified(part.problem, mine, rate, graph)
    new_graph = replace(graph, values=values, learning_rate=rate)
    updated, steps = solution.updated, solution.steps
    if spec.optimizer is not None and solution.updated:  # its steps again, from the new values
        sweep = solution.sweeps.get(graph.output) or reverse_sweep(new_graph, graph.output)
        steps = optimize.run(spec.optimizer, new_graph, sweep, spec.source, spec.field("optimizer"))
        updated = {name: steps[-1].states[name]["value"] for name in solution.updated}
    else:
        updated = {n: out[f"updated {n}"] for n in solution.updated}
    new = replace(
        solution, spec=spec, graph=new_graph,
        values={n: out[n] for n in solution.values}, gradients=gradients,
        updated=updated, steps=steps,
        adjoint_values={**solution.adjoint_values,
                        **{n: out[f"delta {n}"] for n in solution.adjoint_values
                           if f"delta {n}" in out}},
    )
    renewed = replace(part, problem=spec, solution=new)
    if part.layers is not None:  # the worked layer forms, with this variant's numbers
        renewed = replace(renewed, layers=layer_forms(new))
    if part.collapse is not None:
        renewed = replace(renewed, collapse=equivalent_layer(new))
    if part.matrix is not None:
        renewed = replace(renewed, matrix=matrix_backprop(new))
    return renewed


def respecified(spec: ProblemSpec, given: Mapping[str, float], rate: float | None = None,
                graph: Graph | None = None) -> ProblemSpec:
    """The problem as the file would state this variant: drawn weights, biases, data and
    learning rate in.  A network beyond dense layers on one example needs its `graph` (the
    names of its inputs and targets, in the file's order)."""
    if rate is not None and spec.network is not None and rate != spec.network.learning_rate:
        spec = replace(spec, network=replace(spec.network, learning_rate=rate))
    if rate is not None and spec.graph is not None and rate != spec.graph.learning_rate:
        spec = replace(spec, graph=replace(spec.graph, learning_rate=rate))
    if not given:
        return spec
    data = dict(spec.data)
    if spec.network is None:
        data.update(given)
        return replace(spec, data=data)
    network = spec.network
    if not network.plain:
        assert graph is not None
        return respecified_layers(spec, given, graph)
    layers = []
    for l, layer in enumerate(network.layers, 1):
        fan_in = network.inputs if l == 1 else network.layers[l - 2].units
        weights = layer.weights or tuple((None,) * fan_in for _ in range(layer.units))
        weights = tuple(tuple(given.get(f"W{l}[{i},{j}]", w)
                              for j, w in enumerate(row, 1)) for i, row in enumerate(weights, 1))
        biases = layer.biases
        if biases is not None:
            biases = tuple(given.get(f"b{l}[{i}]", b) for i, b in enumerate(biases, 1))
        layers.append(LayerSpec(layer.units, layer.activation,
                                weights if layer.weights or any(
                                    f"W{l}[" in n for n in given) else None,
                                biases, layer.negative_slope))
    for name, length in (("x", network.inputs), ("y", network.layers[-1].units)):
        old = data.get(name) or (None,) * length
        new = tuple(given.get(f"{name}[{k}]", v) for k, v in enumerate(old, 1))  # type: ignore[arg-type]
        if any(v is not None for v in new):
            data[name] = new
    return replace(spec, network=replace(network, layers=tuple(layers)), data=data)


def respecified_layers(spec: ProblemSpec, given: Mapping[str, float], graph: Graph) -> ProblemSpec:
    """`respecified` for a network with convolutions, recurrence, normalisation or a batch:
    every parameter a leaf of its own name (K1[1,1,2,2], U1[1,2], gamma2[1]), the data flat in
    the order of the graph's leaves."""
    network = spec.network
    assert network is not None

    def entry(name: str, old: Any) -> Any:
        return given.get(name, old)

    def matrix(name: str, old: Any, rows: int, cols: int) -> Any:
        if old is None and not any(n.startswith(name + "[") for n in given):
            return None
        old = old or ((None,) * cols,) * rows
        return tuple(tuple(entry(f"{name}[{i},{j}]", w) for j, w in enumerate(row, 1))
                     for i, row in enumerate(old, 1))

    def vector(name: str, old: Any, count: int) -> Any:
        if old is None and not any(n.startswith(name + "[") for n in given):
            return None
        return tuple(entry(f"{name}[{i}]", v) for i, v in enumerate(old or (None,) * count, 1))

    layers: list[Any] = []
    fan_in = network.shape[0] if len(network.shape) == 1 else math.prod(network.shape)
    for l, layer in enumerate(network.layers, 1):
        if isinstance(layer, LayerSpec):
            layer = replace(layer, weights=matrix(f"W{l}", layer.weights, layer.units, fan_in),
                            biases=vector(f"b{l}", layer.biases, layer.units))
        elif isinstance(layer, ConvSpec):
            shape = (layer.channels, layer.shape_in[0], *layer.kernel)
            old = layer.weights or {}
            if layer.weights is not None or any(n.startswith(f"K{l}[") for n in given):
                layer = replace(layer, weights={at: entry(f"K{l}[{','.join(map(str, at))}]", old.get(at))
                                                for at in positions(shape)})
            layer = replace(layer, biases=vector(f"b{l}", layer.biases, layer.channels))
        elif isinstance(layer, RNNSpec):
            features = layer.shape_in[1]
            layer = replace(layer, weights=matrix(f"W{l}", layer.weights, layer.units, features),
                            recurrent=matrix(f"U{l}", layer.recurrent, layer.units, layer.units),
                            biases=vector(f"b{l}", layer.biases, layer.units),
                            recurrent_biases=vector(f"c{l}", layer.recurrent_biases, layer.units),
                            h0=tuple(entry(f"h{l}[0][{i}]", v) for i, v in enumerate(layer.h0, 1)))
        elif isinstance(layer, BatchNormSpec):
            layer = replace(layer, gamma=vector(f"gamma{l}", layer.gamma, len(layer.gamma)),
                            beta=vector(f"beta{l}", layer.beta, len(layer.beta)))
        layers.append(layer)
        fan_in = layer.units if isinstance(layer, LayerSpec) else math.prod(layer.shape)
    data = dict(spec.data)
    for name, kind in (("x", "input"), ("y", "target")):
        leaves = [n.name for n in graph.nodes if n.kind == kind and n.name.startswith(name + "[")]
        old = data.get(name)
        old = old if isinstance(old, tuple) and len(old) == len(leaves) else (None,) * len(leaves)
        new = tuple(entry(leaf, v) for leaf, v in zip(leaves, old))
        if any(v is not None for v in new):
            data[name] = new
    return replace(spec, network=replace(network, layers=tuple(layers)), data=data)


Prose = Callable[[str, str, list[Solution], list[Solution]], str]


def map_prose(sheet: Sheet, change: Prose) -> Sheet:
    """The sheet with each piece of prose (title, author, every text, remark and note) replaced
    by change(field, text, near, scope): `near` the solutions of the problem it is about (a
    part's own, else its question's; every one for the title), `scope` those and then the rest,
    where its names are looked up.  The same sheet when nothing changed."""
    every = [p.solution for q in sheet.questions for p in q.parts if p.solution is not None]
    changed = False

    def one(field: str, text: str, near: list[Solution]) -> str:
        nonlocal changed
        scope = near + [s for s in every if all(s is not n for n in near)]
        new = change(field, text, near or every, scope)
        changed |= new is not text
        return new

    title, author = one("title", sheet.title, every), one("author", sheet.author, every)
    questions = []
    for n, q in enumerate(sheet.questions, 1):
        own = [p.solution for p in q.parts if p.solution is not None]
        at = f"question[{n}]"
        parts = []
        for k, p in enumerate(q.parts, 1):
            near = [p.solution] if p.solution is not None else own
            text, remark, note = (one(f"{at}.part[{k}].{f}", getattr(p, f), near)
                                  for f in ("text", "remark", "note"))
            parts.append(replace(p, text=text, remark=remark, note=note))
        text, note = (one(f"{at}.{f}", getattr(q, f), own) for f in ("text", "note"))
        questions.append(replace(q, text=text, note=note, parts=tuple(parts)))
    if not changed:
        return sheet
    return replace(sheet, title=title, author=author, questions=tuple(questions))


def check_values(sheet: Sheet) -> bool:
    """Whether the sheet's prose prints any number with \\val{}; ProblemError (one line) for a
    name that no problem in reach has.  The numbers themselves may still be symbolic (a leaf
    that [variants] draws need not be given)."""
    found = False

    def note(text: str, number: Callable[[str], str | None]) -> str:
        nonlocal found
        for name in value_names(text):
            found = True
            number(name)
        return text

    prose_with_values(sheet, numbers=False, write=note)
    return found


def prose_with_values(sheet: Sheet, numbers: bool = True,
                      write: Callable[[str, Callable[[str], str | None]], str] = with_values) -> Sheet:
    """The sheet with each \\val{NAME} of its prose printed as that quantity's number, at the
    sheet's precision: a given value (W2[1,1], x[1], eta) as given, a computed one (z2[1], L,
    dL/dW2[1,1]) with its zeros.  A quantity with no number (a symbolic leaf) is printed as its
    symbol, as \\q{NAME}.  A name that no problem in reach has is one line (ProblemError);
    with `numbers` False only the names are checked (a gradient may still be symbolic)."""
    def change(field: str, text: str, near: list[Solution], scope: list[Solution]) -> str:
        if "\\val" not in text:
            return text

        def number(name: str) -> str | None:
            for solution in scope:
                found = quantity_value(solution, name)
                if found is None:
                    continue
                value, given = found
                if isinstance(value, sympy.Basic) and value.is_Number:
                    value = int(value) if value.is_Integer else float(value)  # type: ignore[arg-type]
                if not is_number(value):
                    if "/" in name and numbers:
                        raise ProblemError(sheet.source, field, f"\\val{{{name}}}: {name} has no "
                                           "number in this problem (its values are symbolic)")
                    return None
                return printed_number(value, sheet.precision, keep_zeros=not given)
            names = sorted({n for s in scope for n in (*s.values, *s.gradients,
                                                       *(v.name for v in s.graph.nodes))})
            example = ", ".join(names[:5]) or "none: this prose has no problem"
            raise ProblemError(sheet.source, field, f"\\val{{{name}}}: no quantity of that name "
                               f"(names here: {example}, ...; eta for the learning rate)")

        return write(text, number)

    return map_prose(sheet, change)


def quantity_value(solution: Solution, name: str) -> tuple[Any, bool] | None:
    """(the value of a quantity named as in the JSON, whether it is given), or None when the
    problem has none of that name.  `eta` is the learning rate (as for \\q{eta})."""
    graph = solution.graph
    if name == "eta" and graph.learning_rate is not None:
        return graph.learning_rate, True
    if name in solution.gradients:
        return solution.gradients[name].value, False
    if name in solution.values:
        return solution.values[name], False
    node = graph.by_name.get(name)
    if node is not None and node.expr is None:
        return graph.values.get(node.symbol, node.symbol), True
    return None


def stale_literals(sheet: Sheet, drawn: Sequence[str]) -> list[str]:
    """A warning line for each number written out in prose (not with \\val{}) that equals the
    problem's own value of a quantity [variants] draws: every variant would state that number,
    whatever it drew."""
    warnings: list[str] = []

    def change(field: str, text: str, near: list[Solution], scope: list[Solution]) -> str:
        bases: dict[str, float] = {}
        for solution in near:
            for name in drawn:
                found = quantity_value(solution, name)
                if found is not None and (is_number(found[0]) or (
                        isinstance(found[0], sympy.Basic) and found[0].is_Number)):
                    bases.setdefault(name, float(found[0]))
        seen = set()
        for written, candidates in literals(text):
            names = [n for n, base in bases.items()
                     if any(math.isclose(base, c, rel_tol=1e-12, abs_tol=1e-300) for c in candidates)]
            if names and written not in seen:
                seen.add(written)
                listed = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
                warnings.append(f"warning: {sheet.source}: {field}: {written} is written out, "
                                f"but [variants] draws {listed} (the problem's {written}): write "
                                f"\\val{{{names[0]}}} so that each variant states its own")
        return text

    map_prose(sheet, change)
    return warnings
