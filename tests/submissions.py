"""Random problems and simulated students, for the soundness test of `symgrad check`.

A problem is a small layered network (every activation and loss) or a random computation graph,
written as a problem TOML.  A student works it out INDEPENDENTLY of symgrad: the forward and
backward passes are written out again here in plain Python (math only), and every quantity is
computed from the student's own previously written, rounded numbers, then rounded to the
submission's significant figures, as students do.  Each line is `name = value` or
`name = working = value`, where the working is a formula of the student's written numbers.

Three kinds of submission, each line with the verdict it must get:

- "a": every value right.  Every line `correct`.
- "b": one slip (the value changed by at least 1% and at least 3 units of its last digit, and
  by more than rounding at that many figures could carry: 20% at two figures, 2% at three),
  carried forward: everything after it is worked out again from the slipped value.  That line
  `wrong`; before it `correct`; after it `correct-ecf` where the written value differs from the
  one written without the slip, `correct` where it is the same.
- "c": one slip not carried forward: the later lines use the right value as the student's
  calculator holds it (not rounded, since it is not written; a line that uses it is written
  without its working).  That line `wrong`, every other line `correct`.

Some verdicts other than these are defensible too and are not counted as failures
(`disputable`), because the page itself cannot tell them apart:

- "correct" for a value that is the key's own rounding (half a unit of its last digit from the
  exact value);
- "correct" for a line after a carried slip that was worked out only from written values that
  are their keys' own roundings, or were themselves worked out so (the slip's effect was
  rounded away on the way);
- "correct" for a slipped or carried value that lies between the exact value and the one the
  same student writes without the slip: it is nearer the key than their own right line, which
  must be correct;
- "correct" for a value that a student with no slip writes from the right lines before it,
  each taken as written or as the calculator holds it (worked out again, unrounded, from the
  lines beneath it): the slip moved it by less than the student's own rounding can;
- "correct-ecf" for a line after a carried slip that the slip did not change but whose value is
  not the key's own rounding;
- "correct-ecf" for a line after a slip not carried whose value is not the key's own rounding
  and is the same as with the slip carried;
- "inconsistent" for a slip written after its working (the working does not give the value),
  where "correct" would be defensible for the value itself.

Each is worked out here from the student's own steps, not from the checker's rules.

Only the LaTeX NAMES come from symgrad (`symgrad.output.notation.latex_names`, presentation);
every number here is computed by this module.  `Checked` runs the checker in process: a problem
is solved once and any number of submissions are checked against it.
"""

from __future__ import annotations

import math
import random
import tempfile
from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

MAX_ABS = 9.5  # every quantity stays below this: no overflow, no whole numbers at 2 s.f.
MIN_ABS = 1e-4  # and a nonzero quantity above this
KINK = 0.05  # relu, leaky relu, |ŷ − y|: at least this far from the kink
LOG_MIN = 0.05  # log of nothing smaller
DEN_MIN = 0.05  # division by nothing smaller in size

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "exp"]
LOSSES = ["half_squared_error", "squared_error", "bce", "log_likelihood", "absolute_error",
          "cross_entropy"]
UNARY = ["exp", "log", "sin", "cos", "tanh", "sigmoid"]


class Degenerate(ValueError):
    """A point to avoid: a kink, a log of a tiny number, an overflow, a tiny value."""


# ---------------------------------------------------------------------------------------------
# Expressions: the working of a line (numbers as written), and a graph's definitions (names)


def _sigmoid(v: float) -> float:
    if v >= 0:
        return 1 / (1 + math.exp(-v))
    e = math.exp(v)
    return e / (1 + e)


def _log(v: float) -> float:
    if v < LOG_MIN:
        raise Degenerate(f"log({v})")
    return math.log(v)


def _exp(v: float) -> float:
    if v > 5:
        raise Degenerate(f"exp({v})")
    return math.exp(v)


FUNCS: dict[str, Callable[[float], float]] = {
    "exp": _exp, "log": _log, "sin": math.sin, "cos": math.cos, "tanh": math.tanh,
    "sigmoid": _sigmoid, "abs": abs,
}
ATOM, POW, MUL, NEG, ADD = 100, 40, 30, 19, 20  # binding strengths


class E:
    prec = ATOM

    def ev(self, env: dict[str, float] | None = None) -> float:
        raise NotImplementedError

    def tex(self) -> str:
        raise NotImplementedError

    def src(self) -> str:
        raise NotImplementedError

    def diff(self, v: str) -> E:
        raise NotImplementedError

    def names(self) -> set[str]:
        return set()

    def sub(self, values: dict[str, E]) -> E:
        return self

    def wrapped(self, at_least: int) -> str:
        t = self.tex()
        return f"({t})" if self.prec < at_least else t


@dataclass(frozen=True)
class Num(E):
    text: str  # as written: "0.15", "-0.0822", "2"

    @property
    def prec(self) -> int:  # type: ignore[override]
        return NEG if self.text.startswith("-") else ATOM

    def ev(self, env: dict[str, float] | None = None) -> float:
        return float(self.text)

    def tex(self) -> str:
        return self.text

    def src(self) -> str:
        return f"({self.text})" if self.text.startswith("-") else self.text

    def diff(self, v: str) -> E:
        return ZERO


ZERO, ONE = Num("0"), Num("1")


@dataclass(frozen=True)
class Var(E):
    name: str

    def ev(self, env: dict[str, float] | None = None) -> float:
        assert env is not None
        return env[self.name]

    def tex(self) -> str:
        raise AssertionError("a name in a student's numbers")

    def src(self) -> str:
        return self.name

    def diff(self, v: str) -> E:
        return ONE if v == self.name else ZERO

    def names(self) -> set[str]:
        return {self.name}

    def sub(self, values: dict[str, E]) -> E:
        return values.get(self.name, self)


def is_num(e: E, value: float) -> bool:
    return isinstance(e, Num) and float(e.text) == value


def add(a: E, b: E) -> E:
    if is_num(a, 0):
        return b
    if is_num(b, 0):
        return a
    return Add(a, b)


def sub(a: E, b: E) -> E:
    if is_num(b, 0):
        return a
    if is_num(a, 0):
        return neg(b)
    return Sub(a, b)


def mul(a: E, b: E) -> E:
    if is_num(a, 0) or is_num(b, 0):
        return ZERO
    if is_num(a, 1):
        return b
    if is_num(b, 1):
        return a
    return Mul(a, b)


def div(a: E, b: E) -> E:
    if is_num(a, 0):
        return ZERO
    if is_num(b, 1):
        return a
    return Div(a, b)


def neg(a: E) -> E:
    if is_num(a, 0):
        return ZERO
    if isinstance(a, Neg):
        return a.a
    return Neg(a)


def neg_num(e: E) -> E:
    """−e, a written number negated as a number (−0.84 → 0.84): e^{-z} with z's digits."""
    if isinstance(e, Num):
        return Num(e.text[1:] if e.text.startswith("-") else "-" + e.text)
    return neg(e)


def total(terms: Sequence[E]) -> E:
    out: E = ZERO
    for t in terms:
        out = add(out, t)
    return out


@dataclass(frozen=True)
class Add(E):
    a: E
    b: E
    prec = ADD

    def ev(self, env: dict[str, float] | None = None) -> float:
        return self.a.ev(env) + self.b.ev(env)

    def tex(self) -> str:
        return f"{self.a.wrapped(ADD)} + {self.b.wrapped(ADD + 1)}"

    def src(self) -> str:
        return f"({self.a.src()} + {self.b.src()})"

    def diff(self, v: str) -> E:
        return add(self.a.diff(v), self.b.diff(v))

    def names(self) -> set[str]:
        return self.a.names() | self.b.names()

    def sub(self, values: dict[str, E]) -> E:
        return Add(self.a.sub(values), self.b.sub(values))


@dataclass(frozen=True)
class Sub(E):
    a: E
    b: E
    prec = ADD

    def ev(self, env: dict[str, float] | None = None) -> float:
        return self.a.ev(env) - self.b.ev(env)

    def tex(self) -> str:
        return f"{self.a.wrapped(ADD)} - {self.b.wrapped(ADD + 1)}"

    def src(self) -> str:
        return f"({self.a.src()} - {self.b.src()})"

    def diff(self, v: str) -> E:
        return sub(self.a.diff(v), self.b.diff(v))

    def names(self) -> set[str]:
        return self.a.names() | self.b.names()

    def sub(self, values: dict[str, E]) -> E:
        return Sub(self.a.sub(values), self.b.sub(values))


@dataclass(frozen=True)
class Mul(E):
    a: E
    b: E
    prec = MUL

    def ev(self, env: dict[str, float] | None = None) -> float:
        return self.a.ev(env) * self.b.ev(env)

    def tex(self) -> str:
        return f"{self.a.wrapped(MUL)} \\cdot {self.b.wrapped(MUL + 1)}"

    def src(self) -> str:
        return f"({self.a.src()}*{self.b.src()})"

    def diff(self, v: str) -> E:
        return add(mul(self.a.diff(v), self.b), mul(self.a, self.b.diff(v)))

    def names(self) -> set[str]:
        return self.a.names() | self.b.names()

    def sub(self, values: dict[str, E]) -> E:
        return Mul(self.a.sub(values), self.b.sub(values))


@dataclass(frozen=True)
class Div(E):
    a: E
    b: E

    def ev(self, env: dict[str, float] | None = None) -> float:
        den = self.b.ev(env)
        if abs(den) < DEN_MIN:
            raise Degenerate(f"division by {den}")
        return self.a.ev(env) / den

    def tex(self) -> str:
        return f"\\frac{{{self.a.tex()}}}{{{self.b.tex()}}}"

    def src(self) -> str:
        return f"({self.a.src()}/{self.b.src()})"

    def diff(self, v: str) -> E:
        da, db = self.a.diff(v), self.b.diff(v)
        first = div(da, self.b)
        if is_num(db, 0):
            return first
        return sub(first, div(mul(self.a, db), Pow(self.b, 2)))

    def names(self) -> set[str]:
        return self.a.names() | self.b.names()

    def sub(self, values: dict[str, E]) -> E:
        return Div(self.a.sub(values), self.b.sub(values))


@dataclass(frozen=True)
class Neg(E):
    a: E
    prec = NEG

    def ev(self, env: dict[str, float] | None = None) -> float:
        return -self.a.ev(env)

    def tex(self) -> str:
        return f"-{self.a.wrapped(MUL)}"

    def src(self) -> str:
        return f"(-{self.a.src()})"

    def diff(self, v: str) -> E:
        return neg(self.a.diff(v))

    def names(self) -> set[str]:
        return self.a.names()

    def sub(self, values: dict[str, E]) -> E:
        return Neg(self.a.sub(values))


@dataclass(frozen=True)
class Pow(E):
    a: E
    n: int
    prec = POW

    def ev(self, env: dict[str, float] | None = None) -> float:
        return self.a.ev(env) ** self.n

    def tex(self) -> str:
        return f"{self.a.wrapped(ATOM)}^{{{self.n}}}"

    def src(self) -> str:
        return f"({self.a.src()})**{self.n}"

    def diff(self, v: str) -> E:
        inner = self.a if self.n == 2 else Pow(self.a, self.n - 1)
        return mul(mul(Num(str(self.n)), inner), self.a.diff(v))

    def names(self) -> set[str]:
        return self.a.names()

    def sub(self, values: dict[str, E]) -> E:
        return Pow(self.a.sub(values), self.n)


@dataclass(frozen=True)
class Fn(E):
    f: str
    a: E
    style: str = ""  # "exp": e^{..} (default) or \exp(..)
    prec = POW - 1  # (\sin 0.5)^2 gets its parentheses; a product does not need them

    def ev(self, env: dict[str, float] | None = None) -> float:
        return FUNCS[self.f](self.a.ev(env))

    def tex(self) -> str:
        inner = self.a.tex()
        if self.f == "exp":
            return f"\\exp({inner})" if self.style == "call" else f"e^{{{inner}}}"
        if self.f == "abs":
            return f"|{inner}|"
        word = {"log": "\\ln", "sigmoid": "\\sigma", "sin": "\\sin", "cos": "\\cos",
                "tanh": "\\tanh"}[self.f]
        return f"{word}({inner})"

    def src(self) -> str:
        return f"{self.f}({self.a.src()})"

    def diff(self, v: str) -> E:
        da = self.a.diff(v)
        if is_num(da, 0):
            return ZERO
        a = self.a
        outer: E = {
            "exp": lambda: Fn("exp", a, self.style),
            "log": lambda: Div(ONE, a),
            "sin": lambda: Fn("cos", a),
            "cos": lambda: Neg(Fn("sin", a)),
            "tanh": lambda: Sub(ONE, Pow(Fn("tanh", a), 2)),
            "sigmoid": lambda: Mul(Fn("sigmoid", a), Sub(ONE, Fn("sigmoid", a))),
        }[self.f]()
        return mul(outer, da)

    def names(self) -> set[str]:
        return self.a.names()

    def sub(self, values: dict[str, E]) -> E:
        return Fn(self.f, self.a.sub(values), self.style)


@dataclass(frozen=True)
class Max(E):
    a: E
    b: E

    def ev(self, env: dict[str, float] | None = None) -> float:
        return max(self.a.ev(env), self.b.ev(env))

    def tex(self) -> str:
        return f"\\max({self.a.tex()}, {self.b.tex()})"


# ---------------------------------------------------------------------------------------------
# Numbers as a student writes them


def sig(v: float, s: int) -> str:
    """v rounded to s significant figures, written out in full with its trailing zeros."""
    if v == 0:
        return "0"
    d = Decimal(repr(v))
    e = d.adjusted()
    q = d.quantize(Decimal(1).scaleb(e - s + 1), rounding=ROUND_HALF_UP)
    if q.adjusted() > e:  # 0.99996 → 1.000
        q = d.quantize(Decimal(1).scaleb(e - s + 2), rounding=ROUND_HALF_UP)
    return format(q, "f")


def exact_text(v: float) -> str:
    """A value known exactly (1, 0, −1, the leaky slope 0.01), as written."""
    if v == int(v):
        return str(int(v))
    return repr(v)


def unit_of(text: str) -> Decimal:
    return Decimal(1).scaleb(Decimal(text).as_tuple().exponent)


def short(rng: random.Random, lo: float, hi: float, least: float = 0.05) -> str:
    """A short decimal (one or two decimals) in [lo, hi], at least `least` in size."""
    while True:
        v = round(rng.uniform(lo, hi), rng.choice([1, 1, 2]))
        if abs(v) >= least:
            text = f"{v:.2f}".rstrip("0").rstrip(".")
            return text


# ---------------------------------------------------------------------------------------------
# A student's program: one step a line, each from earlier written values


@dataclass
class Step:
    key: str  # the engine's name of the quantity: "z1[1]", "dL/dW2[1,1]", "updated W2[1,1]"
    name: str  # as the student writes it (LaTeX)
    work: Callable[[Callable[[str], E]], E]  # the working, over earlier written values
    exact: bool = False  # the value is known exactly (an integer, the leaky slope): not rounded
    plain: bool = False  # no working worth writing (dL/db = δ, a copy)


@dataclass
class Problem:
    family: str  # "network" or "graph"
    toml: str
    build: Callable[[dict[str, Any]], list[Step]]  # a student's steps, in a style of writing
    data: dict[str, str]  # given values as written in the file (keys as the engine's)
    exact: dict[str, float]  # every quantity, at full precision (floats, no rounding)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.exact)


def draw_style(rng: random.Random, family: str) -> dict[str, Any]:
    """How one student writes: e^{z} or \\exp(z); δ or ∂L/∂z; softplus' as σ(z); sigmoid with
    BCE as δ = ŷ − y at once; and `path`, what a derivative is evaluated from: "a" (σ' = a(1 − a)
    from the written a, as textbooks do), "z" (σ(z)(1 − σ(z)) from the written z); in a graph
    "parent" (every local derivative from the written values of its arguments) or "child"
    (tanh' = 1 − g², σ' = g(1 − g), exp' = g from the written value g of the node itself)."""
    return {"exp": rng.choice(["", "call"]), "delta": rng.random() < 0.25,
            "shortcut": rng.random() < 0.5, "sigma": rng.random() < 0.5,
            "path": (rng.choice(["a", "a", "a", "z"]) if family == "network"
                     else rng.choice(["parent", "child"]))}


@dataclass
class Line:
    key: str
    name: str
    value: str  # the value as written
    working: str  # the formula written before the value ("" for none)
    deps: tuple[str, ...]  # the keys of the written values it was computed from
    number: int = 0  # its line in the submission
    expected: str = "correct"

    @property
    def tex(self) -> str:
        middle = f" = {self.working}" if self.working else ""
        return f"{self.name}{middle} = {self.value}"


@dataclass
class Submission:
    problem: Problem
    kind: str  # "a", "b" or "c"
    digits: int
    lines: list[Line]
    slip: int | None = None  # the index of the slipped line
    style: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)  # what `compose` made it from
    unslipped: dict[str, str] = field(default_factory=dict)  # each value as written with no slip

    @property
    def text(self) -> str:
        return "".join(f"$${line.tex}$$\n\n" for line in self.lines)

    def subset(self, keep: Sequence[int], plain: Set[int] = frozenset()) -> Submission:
        """The lines `keep` alone (renumbered), those in `plain` without their working."""
        lines = []
        for n, k in enumerate(sorted(keep)):
            old = self.lines[k]
            lines.append(Line(old.key, old.name, old.value, "" if k in plain else old.working,
                              old.deps, 2 * n + 1, old.expected))
        slip = sorted(keep).index(self.slip) if self.slip in keep else None
        return Submission(self.problem, self.kind, self.digits, lines, slip, self.style,
                          self.params, self.unslipped)

    def closure(self, k: int) -> set[int]:
        """Line k and every line its value was computed from, and theirs."""
        where = {line.key: n for n, line in enumerate(self.lines)}
        out, todo = set(), [k]
        while todo:
            n = todo.pop()
            if n not in out:
                out.add(n)
                todo += [where[d] for d in self.lines[n].deps if d in where]
        return out

    def describe(self) -> str:
        head = f"kind {self.kind}, {self.digits} significant figures, path {self.style.get('path')}"
        if self.slip is not None:
            head += f", slip at line {self.lines[self.slip].number} ({self.lines[self.slip].key})"
        return head


def run(problem: Problem, steps: list[Step], digits: int, rng: random.Random, formulas: float,
        slip: int | None = None, slipped: str | None = None, carry: bool = True) -> list[Line]:
    """Work the problem out as the student does: each step from the written values before it,
    rounded to `digits` significant figures.  With `slip`, that step's value is `slipped`
    instead; `carry`: the later steps use it; else they use the right value as the student's
    calculator holds it (unrounded: the checker can work it out from the written values), and
    a later line that uses it is written without its working."""
    written: dict[str, str] = {}
    lines: list[Line] = []
    hidden = ""  # the slipped key whose right value is used but not written (carry=False)
    for k, step in enumerate(steps):
        deps: list[str] = []

        def get(key: str) -> E:
            if key in problem.data:
                return Num(problem.data[key])
            deps.append(key)
            return Num(written[key])

        work = step.work(get)
        value = work.ev()
        check_size(value, step.key)
        text = exact_text(value) if step.exact else sig(value, digits)
        show = "" if step.plain or step.exact or isinstance(work, Num) else (
            work.tex() if rng.random() < formulas else "")
        if hidden and hidden in deps:
            show = ""
        line = Line(step.key, step.name, text, show, tuple(dict.fromkeys(deps)))
        written[step.key] = text
        if k == slip:
            assert slipped is not None
            line.value = slipped
            check_size(float(slipped), step.key)
            if carry:
                written[step.key] = slipped
            else:
                written[step.key] = repr(value)
                hidden = step.key
        lines.append(line)
    for n, line in enumerate(lines):
        line.number = 2 * n + 1
    return lines


def check_size(value: float, key: str) -> None:
    if not math.isfinite(value) or abs(value) > MAX_ABS or (value and abs(value) < MIN_ABS):
        raise Degenerate(f"{key} = {value}")


def slip_value(text: str, rng: random.Random, digits: int = 6) -> str:
    """A slip: at least 1% and at least 3 units of the last written digit away, same decimals,
    same sign; and beyond what rounding at this many significant figures can carry (two
    figures round by up to 5% at each step: a slip of 8% could be the students' own rounding
    through a chain, and is no slip)."""
    d = Decimal(text)
    u = unit_of(text)
    share = Decimal(max(0.01, 2 * 10.0 ** (1 - digits)))
    least = max(3, math.ceil(float(abs(d) * share / u)))
    n = rng.randint(least, 3 * least)
    sign = rng.choice([1, -1])
    out = d + sign * n * u
    if out == 0 or (out < 0) != (d < 0):
        out = d - sign * n * u
    return format(out.quantize(u), "f")


def make(problem: Problem, kind: str, rng: random.Random, tries: int = 20) -> Submission:
    """A submission of kind "a", "b" or "c" with the expected verdict of every line."""
    last: Exception | None = None
    for _ in range(tries):
        digits = rng.randint(2, 6)
        formulas = rng.choice([0.0, 0.5, 1.0, rng.random()])
        style = draw_style(rng, problem.family)
        seed = rng.random()
        try:
            if kind == "a":
                return compose(problem, kind, digits, formulas, style, seed)
            steps = problem.build(style)
            right = run(problem, steps, digits, random.Random(seed), formulas)
            candidates = [k for k, line in enumerate(right)
                          if not steps[k].exact and float(line.value) != 0]
            k = rng.choice(candidates)
            return compose(problem, kind, digits, formulas, style, seed, k,
                           slip_value(right[k].value, rng, digits))
        except Degenerate as error:
            last = error
    raise Degenerate(f"no {kind} submission in {tries} tries: {last}")


def compose(problem: Problem, kind: str, digits: int, formulas: float, style: dict[str, Any],
            seed: float, k: int | None = None, slipped: str | None = None) -> Submission:
    """The submission these choices make (`make` draws them; `restyled` changes some)."""
    steps = problem.build(style)
    right = run(problem, steps, digits, random.Random(seed), formulas)
    params = {"kind": kind, "digits": digits, "formulas": formulas, "style": style,
              "seed": seed, "k": k, "slipped": slipped}
    unslipped = {line.key: line.value for line in right}
    if kind == "a":
        return Submission(problem, kind, digits, right, style=style, params=params,
                          unslipped=unslipped)
    assert k is not None and slipped is not None
    lines = run(problem, steps, digits, random.Random(seed), formulas, k, slipped,
                carry=kind == "b")
    for n, line in enumerate(lines):
        if n < k:
            line.expected = "correct"
        elif n == k:
            line.expected = "wrong"
        elif kind == "c" or line.value == right[n].value:
            line.expected = "correct"
        else:
            line.expected = "correct-ecf"
    return Submission(problem, kind, digits, lines, slip=k, style=style, params=params,
                      unslipped=unslipped)


def restyled(sub: Submission, **changes: Any) -> Submission | None:
    """The same submission, the student writing in another style (path="z", ...), or None
    where that makes a point to avoid."""
    p = dict(sub.params)
    p["style"] = {**p["style"], **changes}
    try:
        return compose(sub.problem, **p)
    except Degenerate:
        return None


# ---------------------------------------------------------------------------------------------
# Layered networks


def latex_table(plain: list[str]) -> dict[str, str]:
    """The LaTeX of every plain name, in symgrad's default notation (names only)."""
    from symgrad.input.sheetspec import Notation
    from symgrad.output.notation import latex_names

    return latex_names(plain, Notation())


def partial(names: dict[str, str], top: str, wrt: str) -> str:
    return f"\\frac{{\\partial {names[top]}}}{{\\partial {names[wrt]}}}"


def derivative(activation: str, z: E, a: E, sigma: str = "", path: str = "a",
               style: str = "") -> tuple[E, bool]:
    """g'(z) from the written z and a, and whether it is exact.  `sigma` "sigma": softplus'
    written σ(z), else 1/(1 + e^{−z}); `path` "z": σ', tanh' and exp' from z, not from a."""
    zv = z.ev()
    if path == "z" and activation in ("sigmoid", "tanh", "exp"):
        a = Fn(activation, z, style)
    if activation == "sigmoid":
        return Mul(a, Sub(ONE, a)), False
    if activation == "tanh":
        return Sub(ONE, Pow(a, 2)), False
    if activation == "exp":
        return a, False
    if activation == "softplus":
        if sigma == "sigma":
            return Fn("sigmoid", z), False
        return Div(ONE, Add(ONE, Fn("exp", neg_num(z)))), False
    if activation in ("relu", "leaky_relu"):
        if abs(zv) < KINK:
            raise Degenerate("at the kink")
        return (ONE if zv > 0 else (ZERO if activation == "relu" else Num("0.01"))), True
    assert activation == "identity"
    return ONE, True


def activate(activation: str, z: E, zs: list[E], i: int, style: str) -> E:
    if activation == "sigmoid":
        return Fn("sigmoid", z)
    if activation == "tanh":
        return Fn("tanh", z)
    if activation == "exp":
        return Fn("exp", z, style)
    if activation == "softplus":
        return Fn("log", Add(ONE, Fn("exp", z, style)))
    if activation == "relu":
        if abs(z.ev()) < KINK:
            raise Degenerate("at the kink")
        return Max(ZERO, z)
    if activation == "leaky_relu":
        if abs(z.ev()) < KINK:
            raise Degenerate("at the kink")
        return Max(Mul(Num("0.01"), z), z)
    if activation == "softmax":
        return Div(Fn("exp", zs[i], style), total([Fn("exp", v, style) for v in zs]))
    assert activation == "identity"
    return z


def loss_work(loss: str, yhat: list[E], y: list[E]) -> E:
    terms: list[E] = []
    for p, t in zip(yhat, y):
        tv = t.ev()
        if loss == "half_squared_error":
            terms.append(Mul(Div(ONE, Num("2")), Pow(Sub(p, t), 2)))
        elif loss == "squared_error":
            terms.append(Pow(Sub(p, t), 2))
        elif loss == "absolute_error":
            if abs(p.ev() - tv) < KINK:
                raise Degenerate("|ŷ − y| at the kink")
            terms.append(Fn("abs", Sub(p, t)))
        elif loss in ("bce", "log_likelihood"):
            one = Fn("log", p)
            other = Fn("log", Sub(ONE, p))
            terms.append(one if tv == 1 else other if tv == 0 else
                         Add(Mul(t, one), Mul(Sub(ONE, t), other)))
        elif loss == "cross_entropy":
            if tv:
                terms.append(Fn("log", p) if tv == 1 else Mul(t, Fn("log", p)))
    out = total(terms)
    return neg(out) if loss in ("bce", "cross_entropy") else out


def loss_gradient(loss: str, p: E, t: E) -> tuple[E, bool]:
    """∂L/∂ŷ from the written ŷ and the target, and whether it is exact."""
    tv = t.ev()
    if loss == "half_squared_error":
        return Sub(p, t), False
    if loss == "squared_error":
        return Mul(Num("2"), Sub(p, t)), False
    if loss == "absolute_error":
        d = p.ev() - tv
        if abs(d) < KINK:
            raise Degenerate("|ŷ − y| at the kink")
        return (ONE if d > 0 else Num("-1")), True
    if tv == 1:
        g: E = Neg(Div(ONE, p)) if loss == "bce" else Div(ONE, p)
    elif tv == 0:
        g = Div(ONE, Sub(ONE, p)) if loss == "bce" else Neg(Div(ONE, Sub(ONE, p)))
    elif loss == "bce":
        g = Add(Neg(Div(t, p)), Div(Sub(ONE, t), Sub(ONE, p)))
    else:  # log_likelihood is maximised: the other sign
        g = Sub(Div(t, p), Div(Sub(ONE, t), Sub(ONE, p)))
    return g, False


@dataclass
class Net:
    inputs: int
    layers: list[tuple[list[list[str]], list[str], str]]  # weights [into i][from j], biases, g
    x: list[str]
    y: list[str]
    loss: str
    eta: str


def draw_net(rng: random.Random) -> Net:
    depth = rng.randint(1, 3)
    n_in = rng.randint(1, 3)
    loss = rng.choice(LOSSES)
    layers = []
    width = n_in
    for l in range(1, depth + 1):
        last = l == depth
        if last and loss == "cross_entropy":
            units, activation = rng.randint(2, 3), "softmax"
        elif last and loss in ("bce", "log_likelihood"):
            units, activation = rng.randint(1, 3), "sigmoid"
        else:
            units, activation = rng.randint(1, 3), rng.choice(HIDDEN)
        weights = [[short(rng, -1, 1) for _ in range(width)] for _ in range(units)]
        biases = [short(rng, -0.8, 0.8) for _ in range(units)]
        layers.append((weights, biases, activation))
        width = units
    x = [short(rng, -2, 2, 0.1) for _ in range(n_in)]
    if loss == "cross_entropy":
        if rng.random() < 0.6:
            hot = rng.randrange(width)
            y = ["1" if k == hot else "0" for k in range(width)]
        elif width == 2:
            p = rng.choice(["0.1", "0.2", "0.25", "0.3", "0.4"])
            y = [p, str(Decimal(1) - Decimal(p))]
            rng.shuffle(y)
        else:
            y = rng.choice([["0.2", "0.3", "0.5"], ["0.1", "0.3", "0.6"], ["0.25", "0.25", "0.5"]])
            rng.shuffle(y)
    elif loss in ("bce", "log_likelihood"):
        y = [rng.choice(["0", "1", "1", short(rng, 0.1, 0.9, 0.1)]) for _ in range(width)]
    else:
        y = [short(rng, -1, 1.5, 0.1) if rng.random() < 0.8 else rng.choice(["0", "1"])
             for _ in range(width)]
    eta = rng.choice(["0.1", "0.5", "0.05", "0.2", "1", "0.25", "0.01", "0.3"])
    return Net(n_in, layers, x, y, loss, eta)


def net_toml(net: Net, title: str) -> str:
    def vec(v: list[str]) -> str:
        return "[" + ", ".join(v) + "]"
    out = [f'title = "{title}"', "", "[network]", f"inputs = {net.inputs}",
           f'loss = "{net.loss}"', f"learning_rate = {net.eta}", 'layout = "out_in"']
    for weights, biases, activation in net.layers:
        out += ["", "[[network.layer]]", f"units = {len(biases)}", f'activation = "{activation}"',
                "weights = [" + ", ".join(vec(r) for r in weights) + "]", f"biases = {vec(biases)}"]
    out += ["", "[data]", f"x = {vec(net.x)}", f"y = {vec(net.y)}", "", "[ask]", "update = true"]
    return "\n".join(out) + "\n"


def net_data(net: Net) -> dict[str, str]:
    data: dict[str, str] = {f"x[{j + 1}]": v for j, v in enumerate(net.x)}
    data.update({f"y[{i + 1}]": v for i, v in enumerate(net.y)})
    for l, (weights, biases, _) in enumerate(net.layers, 1):
        for i, row in enumerate(weights, 1):
            for j, w in enumerate(row, 1):
                data[f"W{l}[{i},{j}]"] = w
            data[f"b{l}[{i}]"] = biases[i - 1]
    data["eta"] = net.eta
    return data


def net_steps(net: Net, how: dict[str, Any]) -> list[Step]:
    depth = len(net.layers)
    style = how["exp"]
    delta_style = how["delta"]  # δ^{[l]}_i for ∂L/∂z, else \frac{∂L}{∂z}
    shortcut = how["shortcut"]  # sigmoid with bce: δ = ŷ − y at once
    # softplus' written σ(z), where σ can only be the logistic function: the README makes σ
    # ambiguous (unchecked) in a network with no sigmoid layer
    sigmoid = any(g == "sigmoid" for _, _, g in net.layers)
    sigma = "sigma" if how["sigma"] and sigmoid else ""
    path = how["path"]
    data = net_data(net)
    plain: list[str] = [k for k in data if k != "eta"]
    unit: dict[tuple[int, int], tuple[str, str]] = {}  # (layer, i) → (z name, a name)
    for l, (weights, biases, _) in enumerate(net.layers, 1):
        for i in range(1, len(biases) + 1):
            a = f"yhat[{i}]" if l == depth else f"a{l}[{i}]"
            unit[l, i] = (f"z{l}[{i}]", a)
    plain += [n for pair in unit.values() for n in pair] + ["L"]
    names = latex_table(plain)
    names["L"] = "L"

    def dz(z: str) -> str:
        if delta_style:
            return "\\delta" + names[z][1:]
        return partial(names, "L", z)

    steps: list[Step] = []
    widths = [net.inputs] + [len(b) for _, b, _ in net.layers]

    def below(l: int, j: int) -> str:
        return f"x[{j}]" if l == 1 else unit[l - 1, j][1]

    # forward
    for l, (weights, biases, activation) in enumerate(net.layers, 1):
        for i in range(1, widths[l] + 1):
            z, a = unit[l, i]
            steps.append(Step(z, names[z], lambda get, l=l, i=i: total(
                [Mul(get(f"W{l}[{i},{j}]"), get(below(l, j))) for j in range(1, widths[l - 1] + 1)]
                + [get(f"b{l}[{i}]")])))
        for i in range(1, widths[l] + 1):
            z, a = unit[l, i]
            steps.append(Step(a, names[a], lambda get, l=l, i=i, g=activation: activate(
                g, get(unit[l, i][0]), [get(unit[l, k][0]) for k in range(1, widths[l] + 1)]
                if g == "softmax" else [], i - 1, style), plain=activation == "identity"))
    outputs = [unit[depth, i][1] for i in range(1, widths[depth] + 1)]
    targets = [f"y[{i}]" for i in range(1, widths[depth] + 1)]
    steps.append(Step("L", "L", lambda get: loss_work(net.loss, [get(o) for o in outputs],
                                                      [get(t) for t in targets])))
    # backward, from the output down
    updates: list[str] = []
    for l in range(depth, 0, -1):
        activation = net.layers[l - 1][2]
        for i in range(1, widths[l] + 1):
            z, a = unit[l, i]
            delta = f"dL/d{z}"
            if l == depth:
                t = f"y[{i}]"
                if activation == "softmax":  # with cross-entropy: p − y
                    steps.append(Step(delta, dz(z), lambda get, a=a, t=t: Sub(get(a), get(t))))
                    continue
                if shortcut and activation == "sigmoid" and net.loss in ("bce", "log_likelihood"):
                    steps.append(Step(delta, dz(z), lambda get, a=a, t=t: (
                        Sub(get(a), get(t)) if net.loss == "bce" else Sub(get(t), get(a)))))
                    continue
                outer = f"dL/d{a}"
                steps.append(Step(outer, partial(names, "L", a),
                                  lambda get, a=a, t=t: loss_gradient(net.loss, get(a), get(t))[0],
                                  exact=net.loss == "absolute_error"))
            else:
                outer = f"dL/d{a}"
                steps.append(Step(outer, partial(names, "L", a), lambda get, l=l, i=i: total(
                    [Mul(get(f"dL/d{unit[l + 1, k][0]}"), get(f"W{l + 1}[{k},{i}]"))
                     for k in range(1, widths[l + 1] + 1)])))
            local = f"d{a}/d{z}"
            exact = activation in ("identity", "relu", "leaky_relu")
            steps.append(Step(local, partial(names, a, z),
                              lambda get, z=z, a=a, g=activation: derivative(
                                  g, get(z), get(a), sigma, path, style)[0],
                              exact=exact, plain=activation == "exp"))
            steps.append(Step(delta, dz(z), lambda get, o=outer, c=local: Mul(get(o), get(c))))
        for i in range(1, widths[l] + 1):
            z = unit[l, i][0]
            for j in range(1, widths[l - 1] + 1):
                w = f"W{l}[{i},{j}]"
                steps.append(Step(f"dL/d{w}", partial(names, "L", w),
                                  lambda get, z=z, l=l, j=j: Mul(get(f"dL/d{z}"), get(below(l, j)))))
                updates.append(w)
            b = f"b{l}[{i}]"
            steps.append(Step(f"dL/d{b}", partial(names, "L", b),
                              lambda get, z=z: get(f"dL/d{z}"), plain=True))
            updates.append(b)
    for p in updates:
        steps.append(Step(f"updated {p}", names[p] + "'", lambda get, p=p: Sub(
            get(p), Mul(get("eta"), get(f"dL/d{p}")))))
    return steps


# ---------------------------------------------------------------------------------------------
# Computation graphs


@dataclass
class Graph:
    leaves: list[str]
    define: dict[str, E]  # in order: the intermediates, then the output f
    values: dict[str, str]
    eta: str | None


def rand_term(rng: random.Random, symbol: str) -> E:
    v = Var(symbol)
    r = rng.random()
    if r < 0.35:
        return v
    if r < 0.7:
        return Fn(rng.choice(UNARY), v)
    if r < 0.85:
        return Pow(v, rng.choice([2, 3]))
    return Mul(Num(rng.choice(["2", "3", "0.5", "1.5"])), v)


def combine(rng: random.Random, terms: list[E]) -> E:
    out = terms[0]
    for t in terms[1:]:
        op = rng.choice(["+", "-", "*", "/"])
        out = {"+": Add, "-": Sub, "*": Mul, "/": Div}[op](out, t)
    if len(terms) == 1 or rng.random() < 0.15:
        f = rng.choice(UNARY)
        out = Fn(f, out) if len(terms) > 1 or not isinstance(out, Fn) else Mul(Num("2"), out)
    return out


def draw_graph(rng: random.Random) -> Graph:
    n_leaves = rng.randint(1, 3)
    m = rng.randint(2, 4)
    leaves = [f"x{k}" for k in range(1, n_leaves + 1)]
    define: dict[str, E] = {}
    unused_leaves = list(leaves)
    unused: list[str] = []
    for k in range(1, m + 1):
        pool = leaves + [f"g{j}" for j in range(1, k)]
        need = unused_leaves + [g for g in unused if rng.random() < 0.5]
        count = rng.choice([1, 2, 2, 2])
        chosen = list(dict.fromkeys(need[:count]))
        while len(chosen) < count and len(set(pool) - set(chosen)) > 0:
            chosen.append(rng.choice([p for p in pool if p not in chosen]))
        define[f"g{k}"] = combine(rng, [rand_term(rng, s) for s in chosen])
        for s in chosen:
            if s in unused_leaves:
                unused_leaves.remove(s)
            if s in unused:
                unused.remove(s)
        unused.append(f"g{k}")
    chosen = list(unused) + unused_leaves
    if len(chosen) < 2:
        chosen.append(rng.choice([g for g in define if g not in chosen] or leaves))
    define["f"] = combine(rng, [rand_term(rng, s) for s in chosen])
    values = {x: short(rng, -2, 2, 0.1) for x in leaves}
    eta = rng.choice([None, "0.1", "0.5", "0.05", "0.2", "1"])
    return Graph(leaves, define, values, eta)


def graph_toml(g: Graph, title: str) -> str:
    out = [f'title = "{title}"', "", "[graph]", 'output = "f"']
    if g.eta is not None:
        out.append(f"learning_rate = {g.eta}")
    out += ["", "[graph.define]"]
    out += [f'{name} = "{e.src()}"' for name, e in reversed(list(g.define.items()))]
    out += ["", "[data]"] + [f"{x} = {v}" for x, v in g.values.items()]
    if g.eta is not None:
        out += ["", "[ask]", "update = true"]
    return "\n".join(out) + "\n"


def graph_data(g: Graph) -> dict[str, str]:
    data = dict(g.values)
    if g.eta is not None:
        data["eta"] = g.eta
    return data


def graph_steps(g: Graph, how: dict[str, Any]) -> list[Step]:
    style = how["exp"]
    define = {k: restyle(e, style) for k, e in g.define.items()}
    plain = g.leaves + list(define)
    names = latex_table(plain)
    steps: list[Step] = []

    def at(expr: E, get: Callable[[str], E]) -> E:
        return expr.sub({v: get(v) for v in expr.names()})

    for name, expr in define.items():
        steps.append(Step(name, names[name], lambda get, e=expr: at(e, get)))
    children = {v: [c for c, e in define.items() if v in e.names()] for v in plain}
    order = [n for n in reversed(list(define)) if n != "f"] + g.leaves
    for v in order:
        def work(get: Callable[[str], E], v: str = v) -> E:
            terms = []
            for c in children[v]:
                local = local_derivative(define[c], v, c, get, how["path"])
                terms.append(local if c == "f" else mul(get(f"df/d{c}"), local))
            return total(terms)
        steps.append(Step(f"df/d{v}", partial(names, "f", v), work))
    if g.eta is not None:
        for x in g.leaves:
            steps.append(Step(f"updated {x}", names[x] + "'", lambda get, x=x: Sub(
                get(x), Mul(get("eta"), get(f"df/d{x}")))))
    return steps


def local_derivative(expr: E, v: str, node: str, get: Callable[[str], E], path: str) -> E:
    """∂node/∂v at the written values: from the arguments ("parent"), or, for a node that is
    tanh, σ or exp of something, the outer derivative from the node's own written value
    ("child": 1 − g², g(1 − g), g)."""
    def at(e: E) -> E:
        return e.sub({n: get(n) for n in e.names()})

    if path == "child" and isinstance(expr, Fn) and expr.f in ("tanh", "sigmoid", "exp"):
        inner = expr.a.diff(v)
        if is_num(inner, 0):
            return ZERO
        g = get(node)
        outer: E = {"tanh": lambda: Sub(ONE, Pow(g, 2)), "sigmoid": lambda: Mul(g, Sub(ONE, g)),
                    "exp": lambda: g}[expr.f]()
        return mul(outer, at(inner))
    return at(expr.diff(v))


def restyle(e: E, style: str) -> E:
    if isinstance(e, Fn):
        return Fn(e.f, restyle(e.a, style), style)
    if isinstance(e, (Add, Sub, Mul, Div)):
        return type(e)(restyle(e.a, style), restyle(e.b, style))
    if isinstance(e, Neg):
        return Neg(restyle(e.a, style))
    if isinstance(e, Pow):
        return Pow(restyle(e.a, style), e.n)
    return e


# ---------------------------------------------------------------------------------------------
# Drawing problems


def exact_values(steps: list[Step], data: dict[str, str]) -> dict[str, float]:
    """Every quantity at full precision: the same steps with nothing rounded (a check of the
    problem's points, and what kind "a" is compared with in the generator's own test)."""
    values: dict[str, float] = {}

    def get(key: str) -> E:
        if key in data:
            return Num(data[key])
        return Num(repr(values[key]))

    for step in steps:
        v = step.work(get).ev()
        check_size(v, step.key)
        values[step.key] = v
    return values


def draw_problem(rng: random.Random, family: str, title: str = "generated") -> Problem:
    """A random problem of the family ("network" or "graph") with no degenerate point."""
    for _ in range(1000):
        seed = rng.random()
        r = random.Random(seed)
        try:
            if family == "network":
                net = draw_net(r)
                build: Callable[[dict[str, Any]], list[Step]] = \
                    lambda how, net=net: net_steps(net, how)
                data = net_data(net)
                toml = net_toml(net, title)
                info: dict[str, Any] = {"net": net}
            else:
                graph = draw_graph(r)
                build = lambda how, graph=graph: graph_steps(graph, how)  # noqa: E731
                data = graph_data(graph)
                toml = graph_toml(graph, title)
                info = {"graph": graph}
            plain = draw_style(random.Random(0), family)
            plain.update(path="a" if family == "network" else "parent", shortcut=False)
            steps = build(plain)
            exact = exact_values(steps, data)
            problem = Problem(family, toml, build, data, exact, info)
            for digits in (2, 3):  # the coarsest rounding must keep off the kinks too
                run(problem, steps, digits, random.Random(0), 0.0)
            return problem
        except (Degenerate, OverflowError, ZeroDivisionError):
            continue
    raise RuntimeError("no problem without a degenerate point in 1000 draws")


# ---------------------------------------------------------------------------------------------
# Running the checker


class Checked:
    """A problem solved once by symgrad; `check(text)` judges a submission against it."""

    folder: Path | None = None

    def __init__(self, problem: Problem) -> None:
        from symgrad.analyses import sheet as sheets
        from symgrad.api import check_names
        from symgrad.input.answers import load_check_problem
        from symgrad.input.sheetspec import read_sheet

        if Checked.folder is None:
            Checked.folder = Path(tempfile.mkdtemp(prefix="soundness-"))
        path = Checked.folder / f"p{id(problem)}.toml"
        path.write_text(problem.toml)
        self.problem = problem
        data, self.options = load_check_problem(path)
        self.solved = sheets.solve_sheet(read_sheet(data, str(path)))
        self.layout = [(q.number, [p.label for p in q.parts]) for q in self.solved.questions]
        self.names = check_names(self.solved, self.options)

    def check(self, text: str) -> list[Any]:
        from symgrad.analyses.check import check_sheet
        from symgrad.input.answers import read_written

        answers = read_written(text, "submission.md", self.layout)
        return list(check_sheet(self.solved, answers, self.options, self.names).items)


def classify(expected: str, got: str | None) -> str | None:
    """What kind of failure a verdict is, or None when it is the expected one."""
    if got == expected:
        return None
    if got in (None, "unchecked"):
        return "unchecked"
    if expected in ("wrong", "correct-ecf") and got == "correct" or \
            expected == "wrong" and got == "correct-ecf":
        return "false-correct"
    if expected in ("correct", "correct-ecf") and got in ("wrong", "inconsistent"):
        return "false-wrong"
    return "other"


@dataclass
class Disagreement:
    line: Line
    got: str | None
    item: Any
    category: str
    disputable: str = ""  # why the verdict got is defensible too, where it is


def rounded_from_right(sub: Submission, line: Line) -> bool:
    """Whether a line was worked out only from written values each of which is its key's own
    rounding, or was itself worked out so (the slip's effect rounded away on the way)."""
    legit: dict[str, bool] = {}
    for d in sub.lines:
        if d.number >= line.number:
            break
        exact = sub.problem.exact.get(d.key)
        own = exact is not None and "." in d.value and abs(float(d.value) - exact) <= \
            float(unit_of(d.value)) / 2 * (1 + 1e-9) + 1e-12
        legit[d.key] = own or bool(d.deps) and all(legit.get(k, False) for k in d.deps)
    return bool(line.deps) and all(legit.get(k, False) for k in line.deps)


def disputable(sub: Submission, line: Line, got: str | None) -> str:
    """Why a verdict other than the expected one is defensible, or "".  Two cases the rules
    above decide one way where the README allows the other:

    - "correct" for a value within half a unit of its last digit of the exact value (a slip or
      an error carried forward that lands on the key's own rounding is right against the key);
    - "correct-ecf" for a line after a carried slip that the slip did not change, whose value is
      not the key's own rounding (the student's rounding that would justify it goes through
      their wrong values: the value is right from those, not from anything right on paper)."""
    exact = sub.problem.exact.get(line.key)
    if exact is None:
        return ""
    if got == "inconsistent" and line.expected == "wrong" and line.working:
        # a slip written after its working: the link from the working to the value is broken
        # (the README's "inconsistent"), and the value itself may be defensibly correct
        why = disputable(sub, line, "correct")
        return f"the working does not give the value (a broken link); the value: {why}" if why else ""
    half = float(unit_of(line.value)) / 2 if "." in line.value else 0.0
    slack = half * (1 + 1e-9) + 1e-12
    off = abs(float(line.value) - exact)
    if got == "correct" and off <= slack:
        return "the value is the key's own rounding"
    if got == "correct" and line.expected == "correct-ecf" and rounded_from_right(sub, line):
        return "worked out only from values that are their keys' own roundings, or from such"
    honest = sub.unslipped.get(line.key)
    if got == "correct" and line.expected in ("wrong", "correct-ecf") and honest is not None:
        low, high = sorted((exact, float(honest)))
        if low - slack <= float(line.value) <= high + slack:
            return ("between the exact value and the one this student writes without the slip: "
                    "nearer the key than their own right line")
    if got == "correct" and line.expected in ("wrong", "correct-ecf") and \
            from_right_lines(sub, line):
        return ("what a student with no slip writes from the right lines before it, some of "
                "them as written and the others as the calculator holds them")
    after = sub.slip is not None and line.number > sub.lines[sub.slip].number
    if got == "correct-ecf" and line.expected == "correct" and sub.kind == "b" and after and \
            off > half:
        return "unchanged by the slip but not the key's rounding: right from the wrong values"
    if got == "correct-ecf" and line.expected == "correct" and sub.kind == "c" and after and \
            off > half and carried_value(sub, line) == line.value:
        return ("not the key's rounding, and the same value as with the slip carried: the page "
                "cannot tell whether it was")
    return ""


def from_right_lines(sub: Submission, line: Line) -> bool:
    """Whether a student with no slip could write this line as it is: every line before it
    that such a student could write (those that must be correct, and those this test accepts,
    in order) is taken as written or worked out again, and the line's value is reached."""
    cache: dict[int, bool] = sub.__dict__.setdefault("_writable", {})
    right: dict[str, str] = {}
    for l in sub.lines:
        if l.number not in cache:
            cache[l.number] = l.expected == "correct" or reachable(sub, l, right)
        if l is line:
            return cache[l.number] and l.expected != "correct"
        if cache[l.number]:
            right[l.key] = l.value
    return False


def reachable(sub: Submission, line: Line, right: dict[str, str]) -> bool:
    """Whether the line's value is reached from the lines `right` (key → value as written):
    the line's working, with each of those it goes back to either taken as written or worked
    out again from its own inputs (unrounded, as a calculator holds it), and every other line
    worked out again, is the value within half a unit of its last digit.  Every subset of up
    to 10 such lines is tried; beyond that, all, none, the forward values alone, and all but
    one.  The student's local derivatives are taken their own way, and the other way too (from
    the node's value or from its argument: the checker cannot see which, where no working is
    written, and allows both)."""
    other = {"a": "z", "z": "a", "parent": "child", "child": "parent"}[sub.style["path"]]
    return any(reached_in(sub, line, right, {s.key: s for s in sub.problem.build(style)})
               for style in (sub.style, {**sub.style, "path": other}))


def reached_in(sub: Submission, line: Line, right: dict[str, str], steps: dict[str, Step],
               ) -> bool:
    """`reachable` with the student's steps `steps`."""
    half = float(unit_of(line.value)) / 2 if "." in line.value else 0.0
    if line.key not in steps:
        return False

    def inputs(key: str) -> list[str]:
        seen: list[str] = []

        def record(k: str) -> E:
            if k in sub.problem.data:
                return Num(sub.problem.data[k])
            seen.append(k)
            return Num(repr(sub.problem.exact[k]))

        steps[key].work(record)
        return seen

    closure: list[str] = []
    todo = inputs(line.key)
    while todo:
        k = todo.pop()
        if k not in closure and k in steps:
            closure.append(k)
            todo += inputs(k)
    mine = sorted(k for k in closure if k in right)
    if len(mine) <= 10:
        choices = [{k for n, k in enumerate(mine) if mask >> n & 1} for mask in range(2 ** len(mine))]
    else:
        forward = {k for k in mine if "/" not in k and not k.startswith("updated ")}
        choices = [set(mine), set(), forward] + [set(mine) - {k} for k in mine]

    def reached(used: set[str]) -> float:
        memo: dict[str, float] = {}

        def get(key: str) -> E:
            if key in sub.problem.data:
                return Num(sub.problem.data[key])
            if key in used:
                return Num(right[key])
            if key not in memo:
                memo[key] = steps[key].work(get).ev()
            return Num(repr(memo[key]))

        return steps[line.key].work(get).ev()

    value = float(line.value)
    for used in choices:
        try:
            if abs(reached(used) - value) <= half * (1 + 1e-9) + 1e-12:
                return True
        except (KeyError, ValueError, ZeroDivisionError, OverflowError):
            continue
    return False


def carried_value(sub: Submission, line: Line) -> str | None:
    """The value this line has when the same slip is carried forward (kind "b")."""
    p = dict(sub.params)
    p["kind"] = "b"
    try:
        twin = compose(sub.problem, **p)
    except Degenerate:
        return None
    return next((l.value for l in twin.lines if l.key == line.key), None)


def disagreements(sub: Submission, items: list[Any], strict: bool = False,
                  ) -> list[Disagreement]:
    """The lines judged otherwise than expected; those where the verdict got is defensible
    too (`disputable`) are left out unless `strict`."""
    by_line: dict[int, list[Any]] = {}
    for item in items:
        if item.line is not None:
            by_line.setdefault(item.line, []).append(item)
    out = []
    for line in sub.lines:
        found = by_line.get(line.number, [])
        item = next((i for i in found if i.key), found[0] if found else None)
        got = item.verdict if item is not None else None
        category = classify(line.expected, got)
        if category:
            why = disputable(sub, line, got)
            if strict or not why:
                out.append(Disagreement(line, got, item, category, why))
    return out


def explain(sub: Submission, bad: Disagreement | None = None,
            found: Sequence[Disagreement] = ()) -> str:
    """A failing case: the problem, the submission with each line's expected verdict (and the
    verdict got, for the lines in `found`), and the item that disagrees."""
    out = ["--- problem.toml", sub.problem.toml, f"--- submission.md ({sub.describe()})",
           sub.text, "--- expected verdicts"]
    got = {d.line.number: d.got for d in found}
    out += [f"line {line.number:3d}  {line.expected:12s} {line.key}" +
            (f"   <-- got {got[line.number]}" if line.number in got else "")
            for line in sub.lines]
    if bad is not None:
        i = bad.item
        out += ["--- disagreement", f"{bad.category}: line {bad.line.number} {bad.line.tex}",
                f"expected {bad.line.expected}, got {bad.got}"]
        if i is not None:
            out.append(f"item: key={i.key!r} verdict={i.verdict!r} claimed={i.claimed!r} "
                       f"expected={i.expected!r} diagnosis={i.diagnosis!r}")
    return "\n".join(out)


def key_kind(key: str) -> str:
    """What sort of quantity a key is, for grouping failures."""
    if key.startswith("updated "):
        return "update"
    if key.startswith("df/d"):
        return "df/dleaf" if key[4:].startswith("x") else "df/dintermediate"
    if key.startswith(("dL/dW", "dL/db")):
        return "dL/dparam"
    for prefix, kind in (("dL/dz", "delta"), ("dL/dyhat", "dL/dyhat"), ("dL/da", "dL/da")):
        if key.startswith(prefix):
            return kind
    if key.startswith("d"):
        return "activation-derivative"
    if key == "L":
        return "loss"
    return {"z": "z", "a": "a", "y": "yhat", "g": "intermediate", "f": "output"}.get(key[0], key)


def minimize(checked: Checked, sub: Submission, bad: Disagreement,
             ) -> tuple[Submission, list[Disagreement]]:
    """The failing line with only the lines its value was computed from (and the slip), and
    without the working where the failure does not need it: a short reproducer.  The expected
    verdicts stay those of the whole submission, which the kept lines do not change."""
    target = sub.lines.index(bad.line)
    keep = sub.closure(target)
    if sub.slip is not None:
        keep |= sub.closure(sub.slip)
    order = sorted(keep)

    def fails(plain: set[int]) -> list[Disagreement] | None:
        small = sub.subset(order, plain)
        found = disagreements(small, checked.check(small.text))
        hit = [d for d in found if d.line.key == bad.line.key and d.got == bad.got]
        return found if hit else None

    found = fails(set())
    if found is None:
        return sub, disagreements(sub, checked.check(sub.text))
    plain: set[int] = set()
    for k in [k for k in order if k != target] + [target]:
        if sub.lines[k].working:
            trial = fails(plain | {k})
            if trial is not None:
                plain.add(k)
                found = trial
    return sub.subset(order, plain), found
