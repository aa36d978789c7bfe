"""Verify a claimed derivative such as σ'(z) = σ(z)(1 − σ(z)): PROVED, REFUTED or UNDECIDED.

A proof works from definitions: every activation is replaced by its definition in exp/log
(written out below, independently of the engine's derivative table) BEFORE anything is
differentiated, and the difference of the two sides must simplify to zero.  Non-smooth
functions (ReLU, |x|, ...) are proved case by case on either side of their kink, and the kink
is reported as a point where the derivative is undefined.  A refutation is a concrete point
where the sides differ, found among edge and random points and confirmed at 30 digits.
Simplification runs in a child process with a time limit, so a claim never hangs.
"""

from __future__ import annotations

import itertools
import multiprocessing
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import sympy
from sympy import Abs, Expr, Heaviside, Piecewise, Symbol, exp, log
from sympy.core.function import AppliedUndef

from . import activations as act
from .errors import SymgradError
from .parser import DEFAULT_FUNCTIONS, ExpressionError, parse_expression
from .spec import UNSPECIFIED_ACTIVATION

PROVED, REFUTED, UNDECIDED = "PROVED", "REFUTED", "UNDECIDED"
EXIT_STATUS = {PROVED: 0, REFUTED: 1, UNDECIDED: 3}
TIME_LIMIT = 10.0  # seconds for the symbolic proof
EDGE_VALUES = (0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 0.1, -0.1, 10.0, -10.0, 30.0, -30.0)
RANDOM_POINTS = 40
DIGITS = 30


class ClaimError(SymgradError):
    """A claim that cannot be read: reported in one line with its position (exit status 2)."""


# The definitions proofs start from: written out here, never taken from the derivative table.
DEFINITIONS: dict[type, Callable[..., Expr]] = {
    act.sigmoid: lambda z: 1 / (1 + exp(-z)),
    act.softplus: lambda z: log(1 + exp(z)),
    act.relu: lambda z: Piecewise((z, z > 0), (0, True)),
    act.leaky_relu: lambda z, a: Piecewise((z, z > 0), (a * z, True)),
    act.elu: lambda z, a=sympy.S.One: Piecewise((z, z > 0), (a * (exp(z) - 1), True)),
    act.silu: lambda z: z / (1 + exp(-z)),
    act.softsign: lambda z: z / (1 + Abs(z)),
    act.bce: lambda y, p: -(y * log(p) + (1 - y) * log(1 - p)),
    sympy.tanh: lambda z: (exp(z) - exp(-z)) / (exp(z) + exp(-z)),
    sympy.sech: lambda z: 2 / (exp(z) + exp(-z)),
    sympy.Max: lambda *a: Piecewise(*((x, sympy.And(*(x >= y for y in a if y is not x))) for x in a[:-1]), (a[-1], True)),
    sympy.Min: lambda *a: Piecewise(*((x, sympy.And(*(x <= y for y in a if y is not x))) for x in a[:-1]), (a[-1], True)),
}
# Functions with a kink where their (first) argument is 0.
KINKED = (act.relu, act.leaky_relu, act.elu, act.softsign, Abs, sympy.sign, Heaviside)
STAND_INS = (  # concrete functions for unspecified f, g, ...: a counterexample for one refutes all
    lambda u: exp(u / 3) + u**2, lambda u: sympy.sin(u) + u**3 / 5, lambda u: sympy.cos(u) + u,
)


@dataclass(frozen=True)
class Verdict:
    status: str
    claim: str
    lhs: Expr  # as written (activations by name, derivatives unevaluated)
    rhs: Expr
    reason: str
    definitions: tuple[tuple[str, Expr], ...] = ()  # the --where definitions, in order
    counterexample: dict[str, float] = field(default_factory=dict)
    values: tuple[float, float] | None = None  # the two sides at the counterexample
    caveats: tuple[str, ...] = ()

    @property
    def exit_status(self) -> int:
        return EXIT_STATUS[self.status]

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "verdict": self.status, "claim": self.claim, "lhs": str(self.lhs),
            "rhs": str(self.rhs), "reason": self.reason, "caveats": list(self.caveats),
        }
        if self.counterexample and self.values:
            out["counterexample"] = self.counterexample
            out["lhs_value"], out["rhs_value"] = self.values
        return out


class ClaimFunctions(Mapping[str, Callable[..., Expr]]):
    """The vocabulary of a claim; one letter or a Greek name is an unspecified function f(z)."""

    def __init__(self) -> None:
        self.known: dict[str, Callable[..., Expr]] = {
            **DEFAULT_FUNCTIONS,
            "diff": derivative, "Subs": substitution, "Piecewise": piecewise,
            "sigmoid": act.sigmoid, "relu": act.relu, "softplus": act.softplus,
            "leaky_relu": lambda z, a=act.DEFAULT_LEAKY_SLOPE: act.leaky_relu(z, a),
            "elu": act.elu, "silu": act.silu, "softsign": act.softsign, "bce": act.bce,
            "Heaviside": Heaviside, "sign": sympy.sign, "Abs": Abs, "Max": sympy.Max,
            "Min": sympy.Min, "sech": sympy.sech, "cosh": sympy.cosh, "sinh": sympy.sinh,
        }

    def __getitem__(self, name: str) -> Callable[..., Expr]:
        if name in self.known:
            return self.known[name]
        if UNSPECIFIED_ACTIVATION.match(name):
            return sympy.Function(name, real=True)
        raise KeyError(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self.known)

    def __len__(self) -> int:
        return len(self.known)


def derivative(f: Expr, z: Expr, n: Expr = sympy.S.One) -> Expr:
    if not isinstance(z, Symbol) or not (n.is_Integer and n > 0):
        raise ValueError("diff(f, z) or diff(f, z, n): z a variable, n a positive whole number")
    return sympy.Derivative(f, (z, int(n)))


def substitution(f: Expr, z: Expr, value: Expr) -> Expr:
    if not isinstance(z, Symbol):
        raise ValueError("Subs(f, z, value): z must be a variable")
    return sympy.Subs(f, z, value)


def piecewise(*pairs: Expr) -> Expr:
    if not pairs or not all(isinstance(p, sympy.Tuple) and len(p) == 2 for p in pairs):
        raise ValueError("Piecewise((value, condition), ..., (value, True))")
    return Piecewise(*(tuple(p) for p in pairs))


def split_claim(text: str) -> tuple[str, int, str, int]:
    """'lhs = rhs' at its one '=' (not part of <= or >=); the offsets keep error positions right."""
    equals = [m.start() for m in re.finditer(r"(?<![<>=!])=(?!=)", text)]
    if len(equals) != 1:
        raise ClaimError(f"claim {text!r}: expected one '=' between the two sides, found {len(equals)}")
    at = equals[0]
    return text[:at], 0, text[at + 1 :], at + 1


def read(text: str, offset: int, symbols: Mapping[str, Expr], what: str) -> Expr:
    def symbol_for(name: str) -> Expr:
        return sympy.true if name == "True" else symbols[name]  # Names makes new variables

    try:
        return parse_expression(text, symbol_for, ClaimFunctions(), relations=True)
    except ExpressionError as error:
        raise ClaimError(f"{what}: {error.message} at position {error.position + offset}"
                         f"{error.hint}") from None


class Names(dict[str, Expr]):
    """Every name a claim uses is a real variable, unless an assumption or definition says more."""

    def __missing__(self, name: str) -> Expr:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise KeyError(name)
        self[name] = Symbol(name, real=True)
        return self[name]


def assumption(text: str, names: Names) -> None:
    """`z > 0`, `z >= 0` or `z < 0`: the variable's sign, used by the proof and the search."""
    m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|>|<=|<)\s*0\s*", text)
    if m is None:
        raise ClaimError(f"assumption {text!r}: expected a sign such as 'z > 0' or 'x <= 0'")
    kind = {">": "positive", ">=": "nonnegative", "<": "negative", "<=": "nonpositive"}[m[2]]
    names[m[1]] = Symbol(m[1], real=True, **{kind: True})


def definitions_in(expr: Expr) -> Expr:
    """Every activation replaced by its definition, innermost first."""
    for cls, definition in DEFINITIONS.items():
        expr = expr.replace(cls, definition)
    return expr


def kinks(expr: Expr) -> list[Symbol]:
    """The variables at whose zero a function of the claim has a kink (relu(z), |x|)."""
    found = []
    for e in expr.atoms(*KINKED, Piecewise, sympy.Max, sympy.Min):
        args = e.args if not isinstance(e, Piecewise) else [c for _, c in e.args]
        for a in args:
            for s in getattr(a, "free_symbols", ()):
                if s not in found:
                    found.append(s)
    return found[:3]  # cases double with each: three is plenty for a claim


def stand_in(expr: Expr) -> tuple[Expr, str]:
    """Unspecified functions replaced by concrete ones (before any derivative is taken, so that
    no derivative is left with respect to g(z)), and a note of which."""
    undefined = sorted({type(e) for e in expr.atoms(AppliedUndef)}, key=str)
    notes = []
    for k, f in enumerate(undefined):
        g = STAND_INS[k % len(STAND_INS)]
        u = sympy.Dummy("u")
        expr = expr.replace(f, sympy.Lambda(u, g(u)))
        notes.append(f"{f}(u) = {g(Symbol('u'))}")
    return expr.doit(), ", ".join(notes)


def counterexample(lhs: Expr, rhs: Expr, seed: int = 0) -> tuple[dict[Symbol, float], float, float, str] | None:
    """A point where the two sides differ (confirmed at 30 digits), or None."""
    left, note = stand_in(lhs)
    right, _ = stand_in(rhs)
    variables = sorted(left.free_symbols | right.free_symbols, key=lambda s: s.name)
    rng = random.Random(seed)

    def allowed(s: Symbol, v: float) -> float:
        return abs(v) if s.is_nonnegative else (-abs(v) if s.is_nonpositive else v)

    def points() -> Iterator[dict[Symbol, float]]:
        for v in EDGE_VALUES:
            yield {s: allowed(s, v * (1 + 0.37 * k)) for k, s in enumerate(variables)}
        for _ in range(RANDOM_POINTS):
            scale = rng.choice((1.0, 5.0, 40.0))
            yield {s: allowed(s, rng.uniform(-scale, scale)) for s in variables}

    for point in points():
        exact = {s: sympy.Rational(repr(v)) for s, v in point.items()}  # no float noise at 30 digits
        try:
            a = sympy.N(left.subs(exact), DIGITS)
            b = sympy.N(right.subs(exact), DIGITS)
        except (ValueError, TypeError, ZeroDivisionError):
            continue
        if not (a.is_number and b.is_number and a.is_real and b.is_real):
            continue  # a side left symbolic, complex (log of a negative) or infinite
        if not (a.is_finite and b.is_finite):
            continue
        if abs(a - b) > sympy.Float("1e-12", DIGITS) * max(1, abs(a), abs(b)):
            return point, float(a), float(b), note
    return None


def prove(difference: Expr, cases: list[Symbol]) -> bool:
    """The difference simplifies to 0 on each side of every kink."""
    for signs in itertools.product((1, -1), repeat=len(cases)):
        case = difference.xreplace({
            s: sign * Symbol(f"{s.name}_case", positive=True) for s, sign in zip(cases, signs)
        })
        if not is_zero(case):
            return False
    return True


def is_zero(expr: Expr) -> bool:
    expr = expr.doit()
    if expr == 0:
        return True
    for attempt in (sympy.cancel, sympy.simplify, lambda e: sympy.simplify(e.rewrite(exp))):
        try:
            if attempt(expr) == 0:
                return True
        except (sympy.PolynomialError, TypeError, ValueError, NotImplementedError):
            continue
    return False


def prove_with_time_limit(difference: Expr, cases: list[Symbol], seconds: float) -> bool | None:
    """prove() in a child process: True, False, or None when it ran out of time."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    def work() -> None:
        try:
            send.send(prove(difference, cases))
        except Exception:  # sympy gave up in a way of its own: not a proof
            send.send(False)

    child = context.Process(target=work, daemon=True)
    child.start()
    ready = receive.poll(seconds)
    result = receive.recv() if ready else None
    child.terminate()
    child.join()
    return result


def verify(
    lhs: str | Expr,
    rhs: str | Expr | None = None,
    where: Sequence[str] = (),
    assume: Sequence[str] = (),
    seconds: float = TIME_LIMIT,
) -> Verdict:
    """Verify `lhs = rhs`; with one string argument it is the whole claim "lhs = rhs".

    A claim may end with its domain: "diff(log(z), z) = 1/z for z > 0" (or pass `assume`).
    """
    if rhs is None and isinstance(lhs, str) and " for " in lhs:
        lhs, _, domain = lhs.rpartition(" for ")
        assume = [*assume, *domain.split(",")]
    names = Names()
    for text in assume:
        assumption(text, names)
    definitions = []
    for text in where:
        left, _, right, offset = split_claim(text)
        name = left.strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ClaimError(f"definition {text!r}: expected 'name = expression'")
        value = read(right, offset, names, f"definition of {name}")
        definitions.append((name, value))
        names[name] = value  # later definitions and the claim see it
    if rhs is None:
        assert isinstance(lhs, str)
        claim = lhs
        left_text, left_at, right_text, right_at = split_claim(lhs)
        lhs_expr = read(left_text, left_at, names, "left side")
        rhs_expr = read(right_text, right_at, names, "right side")
    else:
        claim = f"{lhs} = {rhs}"
        lhs_expr = lhs if isinstance(lhs, Expr) else read(lhs, 0, names, "left side")
        rhs_expr = rhs if isinstance(rhs, Expr) else read(rhs, 0, names, "right side")
    return judge(claim, lhs_expr, rhs_expr, tuple(definitions), seconds)


def judge(
    claim: str, lhs: Expr, rhs: Expr, definitions: tuple[tuple[str, Expr], ...], seconds: float
) -> Verdict:
    left, right = definitions_in(lhs), definitions_in(rhs)
    cases = kinks(left - right)
    caveats: tuple[str, ...] = ()
    if cases and (lhs.has(sympy.Derivative) or rhs.has(sympy.Derivative)):
        where = " or ".join(f"{s} = 0" for s in cases)
        caveats = (f"a function of the claim has a kink where {where}: it is checked on either "
                   "side, and the derivative may not exist at the kink itself",)
    found = counterexample(left, right)
    if found is not None:
        point, a, b, note = found
        at = ", ".join(f"{s} = {v:.6g}" for s, v in point.items())
        reason = f"at {at} the left side is {a:.10g} and the right side is {b:.10g}"
        if note:
            reason += f" (with {note})"
        return Verdict(REFUTED, claim, lhs, rhs, reason, definitions,
                       {s.name: v for s, v in point.items()}, (a, b), caveats)
    proved = prove_with_time_limit((left - right).doit(), cases, seconds)
    if proved:
        reason = "the two sides are equal once every function is written as its definition"
        if cases:
            reason += f", case by case on the sign of {', '.join(map(str, cases))}"
        return Verdict(PROVED, claim, lhs, rhs, reason, definitions, caveats=caveats)
    why = "simplification gave up" if proved is False else f"simplification ran past {seconds:g} s"
    reason = f"{why} and no counterexample was found at {len(EDGE_VALUES) + RANDOM_POINTS} points"
    return Verdict(UNDECIDED, claim, lhs, rhs, reason, definitions, caveats=caveats)
