"""Verify a claimed derivative such as σ'(z) = σ(z)(1 − σ(z)): PROVED, REFUTED or UNDECIDED.

PROVED needs a proof: every named function is replaced by its definition in elementary functions
(definitions.py, independent of the engine's derivative table) BEFORE anything is differentiated,
and the difference of the two sides must reduce to 0.  Non-smooth functions (ReLU, |x|, ...) are
proved case by case on either side of their kink.

REFUTED needs a difference that is certainly not 0: at a point with exact rational coordinates
both sides are evaluated in interval arithmetic (mpmath.iv, outward rounding) at 30, 60, 120, ...
digits, and the enclosure of the difference must exclude 0 at two successive precisions.  Where
cancellation eats the digits the enclosure straddles 0 and the point is skipped, so a true
identity is never refuted by rounding.  A difference that reduces to a nonzero constant, or to a
rational function that is nonzero at an exactly evaluated point, is REFUTED too.

Everything after the cheap text checks (reading, definitions, differentiating, searching,
proving) runs in a forked child process that is killed at the deadline, so a claim never runs
past its time limit; inside the child, SIGALRM splits the time between search and proof.
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import random
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import mpmath
import sympy
from mpmath import iv
from sympy import Abs, Expr, Heaviside, Piecewise, Rational, Symbol, exp, log
from sympy.core.function import AppliedUndef

from symgrad.calculus import activations as act
from symgrad.calculus.definitions import DEFINITIONS, KINKED, definitions_in, gelu, mish
from symgrad.errors import SymgradError
from symgrad.input.parser import DEFAULT_FUNCTIONS, ExpressionError, parse_expression
from symgrad.input.spec import UNSPECIFIED_ACTIVATION

__all__ = ["DEFINITIONS", "ClaimError", "Verdict", "definitions_in", "verify"]

PROVED, REFUTED, UNDECIDED = "PROVED", "REFUTED", "UNDECIDED"
EXIT_STATUS = {PROVED: 0, REFUTED: 1, UNDECIDED: 3}
TIME_LIMIT = 10.0  # seconds for one claim, everything included
MAX_TEXT = 2000  # characters in the claim, and in each --where or --assume
MAX_LINES = 20  # --where definitions, and --assume signs
MAX_ORDER = 20  # all the diff(...) orders of one claim added up
PRECISIONS = (30, 60, 120, 240, 480)  # digits, for the interval arithmetic of the search
DEEP_POINTS = 2  # the first points are taken to full precision even when the sides agree
# Coordinates of the search, as decimal text so that they are exact: first small ones, where
# every function is well conditioned, then the edges, then random ones.
WELL_CONDITIONED = ("0.5", "-0.7", "1.3", "-1.1", "0.3", "2.1", "-0.4", "1.7", "-2.3", "0.9",
                    "-1.6", "2.7")
EDGES = ("5", "-5", "10", "-10", "30", "-30", "100", "-100")
RANDOM_POINTS = 24
HUGE = 10**5  # exp, sin, ... of an argument beyond this is not evaluated (the point is skipped)
CONSTANTS: dict[str, Expr] = {"pi": sympy.pi, "E": sympy.E}
STAND_INS = (  # concrete functions for unspecified f, g, ...: a counterexample for one refutes all
    lambda u: exp(u / 3) + u**2, lambda u: sympy.sin(u) + u**3 / 5, lambda u: sympy.cos(u) + u,
)


class ClaimError(SymgradError):
    """A claim that cannot be read: reported in one line with its position (exit status 2)."""


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
    confirmed_digits: int | None = None  # the precision the counterexample was certain at
    exact: bool = False  # the difference was evaluated exactly (a constant, a rational function)

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
        if self.status == REFUTED:
            out["confirmed_digits"], out["exact"] = self.confirmed_digits, self.exact
        return out


# ---------------------------------------------------------------------------------------------
# Reading a claim


class ClaimFunctions(Mapping[str, Callable[..., Expr]]):
    """The vocabulary of a claim; one letter or a Greek name is an unspecified function f(z).
    It also counts the orders of the claim's derivatives, which are bounded while reading."""

    def __init__(self) -> None:
        self.order = 0
        one = {"sigmoid": act.sigmoid, "relu": act.relu, "softplus": act.softplus,
               "silu": act.silu, "swish": act.silu, "softsign": act.softsign, "gelu": gelu,
               "mish": mish, "erf": sympy.erf, "sign": sympy.sign, "Abs": Abs,
               "sech": sympy.sech, "cosh": sympy.cosh, "sinh": sympy.sinh}
        self.known: dict[str, Callable[..., Expr]] = {
            **DEFAULT_FUNCTIONS,
            **{name: arity(name, f, 1, 1) for name, f in one.items()},
            "diff": self.derivative, "Subs": substitution, "Piecewise": piecewise,
            "leaky_relu": arity("leaky_relu", lambda z, a=act.DEFAULT_LEAKY_SLOPE:
                                act.leaky_relu(z, a), 1, 2),
            "elu": arity("elu", act.elu, 1, 2), "bce": arity("bce", act.bce, 2, 2),
            "Heaviside": arity("Heaviside", Heaviside, 1, 2),
            "Max": arity("Max", sympy.Max, 2, None), "Min": arity("Min", sympy.Min, 2, None),
        }

    def derivative(self, f: Expr, z: Expr, n: Expr = sympy.S.One) -> Expr:
        if not isinstance(z, Symbol) or not (n.is_Integer and n > 0):
            raise ValueError("diff(f, z) or diff(f, z, n): z a variable, n a positive whole number")
        self.order += int(n)
        if self.order > MAX_ORDER:
            raise ValueError(f"derivatives of order {self.order} in all: at most {MAX_ORDER} in a claim")
        return sympy.Derivative(f, (z, int(n)))

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


def arity(name: str, f: Callable[..., Expr], least: int, most: int | None) -> Callable[..., Expr]:
    """f, called with `least` to `most` arguments (sympy would make gelu() of none)."""
    def call(*args: Expr) -> Expr:
        if len(args) < least or (most is not None and len(args) > most):
            wanted = ("1 argument" if most == least == 1 else f"{least} arguments" if most == least
                      else f"at least {least} arguments" if most is None
                      else f"{least} or {most} arguments")
            raise ValueError(f"{name}() takes {wanted} ({len(args)} given)")
        return f(*args)
    return call


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


def read(text: str, offset: int, symbols: Mapping[str, Expr], what: str,
         functions: ClaimFunctions) -> Expr:
    def symbol_for(name: str) -> Expr:
        return sympy.true if name == "True" else symbols[name]  # Names makes new variables

    try:
        return parse_expression(text, symbol_for, functions, relations=True)
    except ExpressionError as error:
        raise ClaimError(f"{what}: {error.message} at position {error.position + offset}"
                         f"{error.hint}") from None


class Names(dict[str, Expr]):
    """Every name a claim uses is a real variable, unless an assumption or definition says more;
    pi and E are the constants."""

    def __missing__(self, name: str) -> Expr:
        if name in CONSTANTS:
            return CONSTANTS[name]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise KeyError(name)
        self[name] = Symbol(name, real=True)
        return self[name]


def assumption(text: str, names: Names) -> None:
    """`z > 0`, `z >= 0` or `z < 0`: the variable's sign, used by the proof and the search."""
    m = re.fullmatch(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|>|<=|<)\s*0\s*", text)
    if m is None or m[1] in CONSTANTS:
        raise ClaimError(f"assumption {text!r}: expected a sign such as 'z > 0' or 'x <= 0'")
    kind = {">": "positive", ">=": "nonnegative", "<": "negative", "<=": "nonpositive"}[m[2]]
    names[m[1]] = Symbol(m[1], real=True, **{kind: True})


def check_sizes(texts: Sequence[str], where: Sequence[str], assume: Sequence[str]) -> None:
    """The bounds on what is read, checked before any of it is."""
    for what, lines in (("--where definitions", where), ("--assume signs", assume)):
        if len(lines) > MAX_LINES:
            raise ClaimError(f"{len(lines)} {what}: at most {MAX_LINES}")
    for text in (*texts, *where, *assume):
        if len(text) > MAX_TEXT:
            raise ClaimError(f"{text[:30]!r}...: {len(text)} characters, at most {MAX_TEXT}")


@dataclass(frozen=True)
class Claim:
    """What the parent hands the child: the texts, checked for size and split, not yet read."""

    claim: str
    lhs: str | Expr
    rhs: str | Expr
    lhs_at: int
    rhs_at: int
    where: tuple[str, ...]
    assume: tuple[str, ...]


def read_claim(c: Claim) -> tuple[Expr, Expr, tuple[tuple[str, Expr], ...]]:
    names = Names()
    functions = ClaimFunctions()
    for text in c.assume:
        assumption(text, names)
    definitions = []
    for text in c.where:
        left, _, right, offset = split_claim(text)
        name = left.strip()
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in CONSTANTS:
            raise ClaimError(f"definition {text!r}: expected 'name = expression'")
        value = read(right, offset, names, f"definition of {name}", functions)
        definitions.append((name, value))
        names[name] = value  # later definitions and the claim see it
    lhs = c.lhs if isinstance(c.lhs, Expr) else read(c.lhs, c.lhs_at, names, "left side", functions)
    rhs = c.rhs if isinstance(c.rhs, Expr) else read(c.rhs, c.rhs_at, names, "right side", functions)
    return lhs, rhs, tuple(definitions)


def exact(expr: Expr) -> Expr:
    """Decimals as the exact numbers they are written as: 0.1 is 1/10, not the nearest double."""
    return expr.xreplace({f: Rational(str(f)) for f in expr.atoms(sympy.Float)})


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


# ---------------------------------------------------------------------------------------------
# Time


class OutOfTime(BaseException):
    """Raised by SIGALRM inside the child.  A BaseException, so that sympy's own
    `except Exception` clauses do not swallow it."""


@contextmanager
def time_box(until: float) -> Iterator[None]:
    """Interrupt the body at `until` (time.monotonic()) with OutOfTime."""
    left = until - time.monotonic()
    if left <= 0:
        raise OutOfTime

    def ring(signum: int, frame: object) -> None:
        raise OutOfTime

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, left)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def command_start() -> float:
    """When the command started, as a time.monotonic() value: when symgrad is the program, the
    start of the process (Linux), so that --time-limit counts the start-up too; else (main()
    called from Python) now."""
    program = getattr(getattr(sys.modules.get("__main__"), "__spec__", None), "name", "")
    if program != "symgrad.__main__" and os.path.basename(sys.argv[0]) != "symgrad":
        return time.monotonic()
    try:
        with open("/proc/self/stat") as stat, open("/proc/uptime") as uptime:
            started = int(stat.read().rpartition(")")[2].split()[19]) / os.sysconf("SC_CLK_TCK")
            return time.monotonic() - max(0.0, float(uptime.read().split()[0]) - started)
    except (OSError, ValueError, IndexError):
        return time.monotonic()


# ---------------------------------------------------------------------------------------------
# The search: interval arithmetic at exact points


class Undefined(Exception):
    """No certain real value here: `certain` when there is none at all (log of a negative
    number), not when more digits might settle it (log of an interval around 0)."""

    def __init__(self, certain: bool = True) -> None:
        super().__init__()
        self.certain = certain


def excludes_zero(x: Any) -> int:
    """+1 or -1 when the interval x is certainly positive or negative, else 0."""
    return 1 if x.a > 0 else (-1 if x.b < 0 else 0)


def undefined_unless(sign: int, x: Any) -> None:
    if sign == 0:  # exactly at a kink, or not yet known: either way, no certain value
        raise Undefined(certain=x.a == 0 and x.b == 0)


class Enclosure:
    """An interval certain to contain the value of a sympy expression at a point, at the
    precision iv.prec set by the caller.  Only the functions listed here are evaluated."""

    ONE_ARGUMENT: dict[type, Callable[[Any], Any]] = {
        sympy.exp: iv.exp, sympy.sin: iv.sin, sympy.cos: iv.cos, sympy.tan: iv.tan,
        sympy.sinh: lambda x: (iv.exp(x) - iv.exp(-x)) / 2,
        sympy.cosh: lambda x: (iv.exp(x) + iv.exp(-x)) / 2,
        sympy.tanh: lambda x: (iv.exp(x) - iv.exp(-x)) / (iv.exp(x) + iv.exp(-x)),
        sympy.sech: lambda x: 2 / (iv.exp(x) + iv.exp(-x)),
        Abs: abs,
    }

    def __init__(self, point: Mapping[Symbol, Rational]) -> None:
        self.point = {s: iv.mpf(v.p) / v.q for s, v in point.items()}
        self.memo: dict[Expr, Any] = {}

    def __call__(self, e: Expr) -> Any:
        if e not in self.memo:
            self.memo[e] = self.evaluate(e)
        return self.memo[e]

    def evaluate(self, e: Expr) -> Any:
        if isinstance(e, Symbol):
            if e not in self.point:
                raise Undefined
            return self.point[e]
        if e.is_Rational:
            return iv.mpf(e.p) / e.q
        if e is sympy.pi:
            return iv.pi
        if e is sympy.E:
            return iv.e
        if isinstance(e, sympy.Float):
            return iv.mpf(str(e))
        if isinstance(e, sympy.Add):
            return sum((self(a) for a in e.args[1:]), self(e.args[0]))
        if isinstance(e, sympy.Mul):
            out = self(e.args[0])
            for a in e.args[1:]:
                out = out * self(a)
            return out
        if isinstance(e, sympy.Pow):
            return self.power(e)
        if type(e) in self.ONE_ARGUMENT and len(e.args) == 1:
            x = self(e.args[0])
            if not (abs(x.a) < HUGE and abs(x.b) < HUGE) and not isinstance(e, Abs):
                raise Undefined  # e**(10**6) is a number mpmath could take minutes over
            return self.ONE_ARGUMENT[type(e)](x)
        if isinstance(e, sympy.log) and len(e.args) == 1:
            x = self(e.args[0])
            if not x.a > 0:
                raise Undefined(certain=x.b <= 0)
            return iv.log(x)
        if isinstance(e, (sympy.erf, sympy.erfc)):
            y = self.erf(self(e.args[0]))
            return y if isinstance(e, sympy.erf) else 1 - y
        if isinstance(e, (sympy.sign, Heaviside, sympy.DiracDelta)) and len(e.args) <= 2:
            x = self(e.args[0])
            sign = excludes_zero(x)
            undefined_unless(sign, x)
            if isinstance(e, sympy.DiracDelta):
                return iv.mpf(0)
            return iv.mpf(sign if isinstance(e, sympy.sign) else (1 + sign) // 2)
        if isinstance(e, (sympy.Max, sympy.Min)):
            xs = [self(a) for a in e.args]
            pick = max if isinstance(e, sympy.Max) else min
            return iv.mpf([pick(x.a for x in xs), pick(x.b for x in xs)])
        if isinstance(e, Piecewise):
            for value, condition in e.args:
                if self.truth(condition):
                    return self(value)
            raise Undefined
        raise Undefined  # derivatives left unevaluated, unspecified functions, complex numbers

    def power(self, e: sympy.Pow) -> Any:
        base = self(e.base)
        if e.exp.is_Integer:
            if e.exp < 0:
                undefined_unless(excludes_zero(base), base)
            return base ** int(e.exp)
        # a fractional or variable power of a positive number; (-8)**(1/3) is complex in sympy
        if excludes_zero(base) > 0:
            exponent = self(e.exp)
            return iv.sqrt(base) if e.exp == sympy.S.Half else iv.exp(exponent * iv.log(base))
        if base.a == 0 and base.b == 0 and e.exp.is_positive:
            return iv.mpf(0)
        raise Undefined(certain=base.b <= 0)

    @staticmethod
    def erf(x: Any) -> Any:
        """erf is increasing: its values at the ends, a few more bits precise, widened."""
        with mpmath.mp.workprec(iv.prec + 20):
            low, high = mpmath.erf(mpmath.mpf(x.a)), mpmath.erf(mpmath.mpf(x.b))
        slack = mpmath.ldexp(1, -iv.prec)  # |erf| <= 1: far above mpmath's error at prec + 20
        return iv.mpf([low - slack, high + slack])

    def truth(self, condition: Expr) -> bool:
        if condition is sympy.true or condition is sympy.false:
            return bool(condition)
        if isinstance(condition, sympy.And):
            return all(self.truth(c) for c in condition.args)
        if isinstance(condition, sympy.Or):
            return any(self.truth(c) for c in condition.args)
        if isinstance(condition, sympy.Not):
            return not self.truth(condition.args[0])
        if isinstance(condition, sympy.core.relational.Relational):
            d = self(condition.lhs) - self(condition.rhs)
            sign = excludes_zero(d)
            undefined_unless(sign, d)  # at the boundary itself (a kink): skip the point
            return {">": sign > 0, ">=": sign > 0, "<": sign < 0, "<=": sign < 0,
                    "==": False, "!=": True}[condition.rel_op]
        raise Undefined


@dataclass(frozen=True)
class Found:
    point: dict[Symbol, Rational]
    left: float
    right: float
    difference: str  # a few certain digits
    digits: int


class Search:
    """Points where the two sides (with stand-ins, derivatives taken) certainly differ."""

    def __init__(self, left: Expr, right: Expr, seed: int = 0) -> None:
        self.left, self.right = left, right
        self.variables = sorted(left.free_symbols | right.free_symbols, key=lambda s: s.name)
        self.rng = random.Random(seed)
        self.tried = self.skipped = 0
        self.defined: list[tuple[dict[Symbol, Rational], float, float]] = []  # for exact checks

    def allowed(self, s: Symbol, v: Rational) -> Rational:
        return abs(v) if s.is_nonnegative else (-abs(v) if s.is_nonpositive else v)

    def well_conditioned(self) -> Iterator[dict[Symbol, Rational]]:
        n = len(WELL_CONDITIONED)
        for i in range(n if self.variables else 1):
            yield {s: self.allowed(s, Rational(WELL_CONDITIONED[(i + 5 * k) % n]))
                   for k, s in enumerate(self.variables)}

    def edges(self) -> Iterator[dict[Symbol, Rational]]:
        if not self.variables:
            return
        for i in range(len(EDGES)):
            yield {s: self.allowed(s, Rational(EDGES[(i + k) % len(EDGES)]))
                   for k, s in enumerate(self.variables)}
        for _ in range(RANDOM_POINTS):
            scale = self.rng.choice((1.0, 5.0, 40.0))
            point = {s: self.allowed(s, Rational(f"{self.rng.uniform(-scale, scale):.3g}"))
                     for s in self.variables}
            if all(point.values()):
                yield point

    def run(self, points: Iterator[dict[Symbol, Rational]], until: float) -> Found | None:
        try:
            with time_box(until):
                for point in points:
                    found = self.check(point, deep=self.tried < DEEP_POINTS)
                    self.tried += 1
                    if found:
                        return found
        except OutOfTime:
            pass
        return None

    def check(self, point: dict[Symbol, Rational], deep: bool) -> Found | None:
        """Rising precision until the difference is certain twice over, the two sides agree
        to the precision (unless `deep`), or the digits run out."""
        sign_before, agreed = 0, False
        saved = iv.prec
        try:
            for digits in PRECISIONS:
                iv.dps = digits
                enclose = Enclosure(point)
                try:
                    a, b = enclose(self.left), enclose(self.right)
                except Undefined as why:
                    if why.certain:
                        break
                    continue
                except (ZeroDivisionError, ValueError, ArithmeticError, RecursionError):
                    break  # mpmath found no real value (ComplexResult is an ArithmeticError)
                d = a - b
                sign = excludes_zero(d) if all(map(mpmath.isfinite, (a.a, a.b, b.a, b.b))) else 0
                if sign and sign == sign_before:  # certain, twice: a counterexample
                    left, right = float(a.mid), float(b.mid)
                    if not (math.isfinite(left) and math.isfinite(right)):
                        break  # too large to report
                    return Found(point, left, right, mpmath.nstr(mpmath.mpf(d.mid), 6), digits)
                if sign_before and not sign:
                    break  # cannot happen with sound intervals: do not trust this point
                sign_before = sign
                if not sign and d.delta <= 10 ** (-digits // 2) * max(abs(a).b, abs(b).b):
                    agreed = True  # equal to half the digits: little was lost to cancellation
                    self.record(point, a, b)
                    if not deep:
                        return None
            self.skipped += not agreed
            return None
        finally:
            iv.prec = saved

    def record(self, point: dict[Symbol, Rational], a: Any, b: Any) -> None:
        left, right = float(a.mid), float(b.mid)
        if len(self.defined) < 3 and math.isfinite(left) and math.isfinite(right):
            self.defined.append((point, left, right))


# ---------------------------------------------------------------------------------------------
# The proof


class Tower:
    """An expression rewritten as a rational function of its variables and of new symbols, each
    standing for exp, log or another function of a canonical argument.

    Every step is an identity for real arguments (exp(a + b) = exp(a) exp(b),
    exp(k m) = exp(m)**k, log of a product of positive factors is the sum of their logs), and a
    symbol stands for one value only, so a rational function that cancels to 0 is a proof that
    the expression is 0 wherever it is defined.  sympy's simplify takes minutes over what
    `cancel` does here in a second (nested tanh, for one).
    """

    def __init__(self) -> None:
        self.atoms: dict[object, Symbol] = {}
        self.units: dict[Expr, tuple[Rational, Symbol]] = {}  # m -> (g, S): S = exp(g m)
        self.logs: dict[Symbol, Expr] = {}  # S -> log(S)
        self.later: dict[Symbol, Expr] = {}  # a unit refined after use: S = S2**k
        self.memo: dict[Expr, Expr] = {}

    def reduce(self, e: Expr) -> Expr:
        """The rational function, over one denominator: 0 when its numerator expands to 0 (no
        gcd is computed: sympy's cancel takes minutes over four nested tanh)."""
        self.rational(e)  # a first pass sees every exp(c m), so that m gets its final unit
        self.memo = {}
        r = self.rational(e)
        for _ in range(len(self.later) + 1):
            r = r.xreplace(self.later)
        numerator, denominator = sympy.fraction(sympy.together(r))
        numerator = sympy.expand(numerator)
        return numerator / denominator if numerator != 0 else sympy.S.Zero

    def rational(self, e: Expr) -> Expr:
        if e not in self.memo:
            self.memo[e] = self.rewrite(e)
        return self.memo[e]

    def rewrite(self, e: Expr) -> Expr:
        if e.is_Atom:
            return e
        if isinstance(e, (sympy.Add, sympy.Mul)):
            return e.func(*map(self.rational, e.args))
        if isinstance(e, sympy.Pow) and e.exp.is_Rational:
            return self.rational(e.base) ** e.exp
        if isinstance(e, sympy.Pow) and e.base.is_positive and e.exp.is_real:
            return self.exp(self.rational(e.exp * log(e.base)))
        if isinstance(e, sympy.exp) and e.args[0].is_real:  # else exp(m) may not be positive
            return self.exp(self.rational(e.args[0]))
        if isinstance(e, sympy.log):
            return self.log(sympy.cancel(self.rational(e.args[0])))
        if isinstance(e, sympy.Function) and all(isinstance(a, Expr) for a in e.args):
            return self.atom((type(e), *(sympy.cancel(self.rational(a)) for a in e.args)))
        return self.atom(e)  # Piecewise, unevaluated derivatives, Subs: kept whole

    def atom(self, key: object) -> Symbol:
        if key not in self.atoms:
            self.atoms[key] = sympy.Dummy("t")
        return self.atoms[key]

    def exp(self, a: Expr) -> Expr:
        a = sympy.cancel(a)
        terms = [a] if sympy.fraction(a)[1].free_symbols else sympy.Add.make_args(sympy.expand(a))
        out: Expr = sympy.S.One
        for term in terms:
            c, m = split(term)
            out *= exp(c) if m == 1 else self.power(m, c)
        return out

    def power(self, m: Expr, c: Rational) -> Expr:
        """exp(c m) as a power of a symbol S = exp(g m), g dividing every c seen with m."""
        if m not in self.units:
            unit = sympy.Dummy("E", positive=True)
            self.units[m], self.logs[unit] = (abs(c), unit), abs(c) * m
        g, unit = self.units[m]
        if not (c / g).is_Integer:
            finer = sympy.Dummy("E", positive=True)
            h = Rational(math.gcd(g.p * c.q, c.p * g.q), g.q * c.q)
            self.later[unit] = finer ** (g / h)
            self.units[m], self.logs[finer] = (h, finer), h * m
            g, unit = h, finer
        return unit ** (c / g)

    def log(self, a: Expr) -> Expr:
        """log of a product of positive factors, split; else the whole log is one symbol."""
        numerator, denominator = sympy.fraction(a)
        try:
            (cn, top), (cd, bottom) = sympy.factor_list(numerator), sympy.factor_list(denominator)
        except sympy.PolynomialError:
            return self.atom((sympy.log, a))
        factors = [(f, k) for f, k in top] + [(f, -k) for f, k in bottom]
        c = cn / cd
        if not (c.is_positive and all(positive(f) for f, _ in factors)):
            return self.atom((sympy.log, a))
        pieces = [k * (self.logs[f] if f in self.logs else self.atom((sympy.log, f)))
                  for f, k in factors]
        return sympy.Add(log(c), *pieces)


def split(term: Expr) -> tuple[Rational, Expr]:
    """term = c m with c rational and m canonical (for m/q, numerator and denominator primitive
    with a positive leading coefficient), so that exp(m) and exp(-m) share a symbol."""
    numerator, denominator = sympy.fraction(term)
    if not denominator.free_symbols:
        c, m = term.as_coeff_Mul()
        return (c, m) if c.is_Rational else (sympy.S.One, term)
    parts = []
    for p in (numerator, denominator):
        try:
            poly = sympy.Poly(p)
            content, primitive = poly.primitive()
            if primitive.LC() < 0:
                content, primitive = -content, -primitive
            parts.append((content, primitive.as_expr()))
        except (sympy.PolynomialError, sympy.GeneratorsNeeded):
            parts.append((sympy.S.One, p))
    (cn, pn), (cd, pd) = parts
    return cn / cd, pn / pd


def positive(f: Expr) -> bool:
    """A polynomial with positive coefficients in positive quantities (exp's, pi, sqrt(2))."""
    try:
        poly = sympy.Poly(f)
    except (sympy.PolynomialError, sympy.GeneratorsNeeded):
        return bool(f.is_positive)
    try:
        return all(g.is_positive for g in poly.gens) and all(bool(c > 0) for c in poly.coeffs())
    except TypeError:  # a coefficient of unknown sign
        return False


def is_zero(expr: Expr, until: float) -> tuple[bool, Expr | None]:
    """Whether the expression reduces to 0, by ever slower means; also the Tower form (or None)."""
    expr = expr.doit()
    if expr == 0:
        return True, sympy.S.Zero
    reduced = None
    with time_box(until):
        try:
            reduced = Tower().reduce(expr)
            if reduced == 0:
                return True, reduced
        except Exception:  # a failed attempt at a proof is no proof; the next one may do
            pass
        for attempt in (sympy.cancel, sympy.simplify, lambda e: sympy.simplify(e.rewrite(exp))):
            try:
                if attempt(expr) == 0:
                    return True, reduced
            except (sympy.PolynomialError, TypeError, ValueError, NotImplementedError,
                    RecursionError):
                continue
    return False, reduced


def prove(difference: Expr, cases: list[Symbol], until: float) -> tuple[bool, Expr | None]:
    """The difference reduces to 0 on each side of every kink; also its reduced form when there
    are no kinks, for a refutation by exact evaluation.  OutOfTime when time runs out."""
    reduced = None
    for signs in itertools.product((1, -1), repeat=len(cases)):
        case = difference.xreplace({
            s: sign * Symbol(f"{s.name}_case", positive=True) for s, sign in zip(cases, signs)
        })
        zero, reduced = is_zero(case, until)
        if not zero:
            return False, reduced if not cases else None
    return True, None


def exactly(reduced: Expr | None, search: Search) -> tuple[dict[Symbol, Rational], float, float,
                                                           Expr] | None:
    """A point where the reduced difference, a constant or a rational function of the claim's
    variables, is exactly nonzero; with the two sides' values there."""
    if reduced is None or reduced == 0 or not search.defined:
        return None
    if reduced.free_symbols - set(search.variables) or not reduced.is_rational_function():
        return None
    for point, left, right in search.defined:
        value = sympy.cancel(reduced.xreplace(point))
        if value.is_Rational and value != 0:
            return point, left, right, value
        if value.is_number and not value.free_symbols:  # pi or sqrt(2) in it: by intervals
            saved, iv.dps = iv.prec, 240
            try:
                if excludes_zero(Enclosure({})(value)):
                    return point, left, right, value
            except (Undefined, ArithmeticError, ValueError):
                pass
            finally:
                iv.prec = saved
    return None


# ---------------------------------------------------------------------------------------------
# Judging a claim (in the child)


def judge(claim: str, lhs: Expr, rhs: Expr, definitions: tuple[tuple[str, Expr], ...],
          deadline: float, tell: Callable[[str], None]) -> Verdict:
    verdict = Verdict(UNDECIDED, claim, lhs, rhs, "", definitions)
    left, right = definitions_in(exact(lhs)), definitions_in(exact(rhs))
    cases = kinks(left - right)
    if cases and (lhs.has(sympy.Derivative) or rhs.has(sympy.Derivative)):
        where = " or ".join(f"{s} = 0" for s in cases)
        verdict = replace(verdict, caveats=(
            f"a function of the claim has a kink where {where}: it is checked on either side, "
            "and the derivative may not exist at the kink itself",))

    def proved() -> Verdict:
        reason = "the two sides are equal once every function is written as its definition"
        if cases:
            reason += f", case by case on the sign of {', '.join(map(str, cases))}"
        return replace(verdict, status=PROVED, reason=reason)

    tell("differentiating")
    left, right = left.doit(), right.doit()
    difference = left - right
    if difference == 0:
        return proved()
    concrete_left, note = stand_in(left)
    concrete_right, _ = stand_in(right)
    search = Search(concrete_left, concrete_right)
    start = time.monotonic()  # the search and the proof share what is left
    budget = max(deadline - start, 0.0)

    def refuted(point: dict[Symbol, Rational], a: float, b: float, why: str, **how: Any) -> Verdict:
        at = ", ".join(f"{s} = {float(v):.6g}" for s, v in point.items()) or "every point"
        reason = f"at {at} the left side is {a:.10g} and the right side is {b:.10g}: {why}"
        if note:
            reason += f" (with {note})"
        return replace(verdict, status=REFUTED, reason=reason, values=(a, b), **how,
                       counterexample={s.name: float(v) for s, v in point.items()})

    def certain(found: Found) -> Verdict:
        why = f"they differ by {found.difference}, certain at {found.digits} digits"
        return refuted(found.point, found.left, found.right, why, confirmed_digits=found.digits)

    tell("searching for a counterexample where the functions are well conditioned")
    found = search.run(search.well_conditioned(), until=start + budget / 4)
    if found:
        return certain(found)
    tell("simplifying the difference of the two sides")
    reserve = min(budget / 4, 2.0)  # for the search at the edges after a proof that stalls
    why = "simplification gave up"
    try:
        done, reduced = prove(difference, cases, until=deadline - reserve)
        if done:
            return proved()
        nonzero = exactly(reduced, search)
        if nonzero:
            point, a, b, value = nonzero
            return refuted(point, a, b, f"their difference there is exactly {value}", exact=True)
    except OutOfTime:
        why = "the proof was stopped at the time limit"
    tell("searching for a counterexample at the edges")
    found = search.run(search.edges(), until=deadline - 0.05)
    if found:
        return certain(found)
    skipped = f", {search.skipped} skipped as not certain" if search.skipped else ""
    return replace(verdict, reason=f"{why} and no counterexample was found at {search.tried} "
                                   f"points{skipped}")


# ---------------------------------------------------------------------------------------------
# The parent: cheap text checks, a child with a hard deadline


def verify(
    lhs: str | Expr,
    rhs: str | Expr | None = None,
    where: Sequence[str] = (),
    assume: Sequence[str] = (),
    seconds: float = TIME_LIMIT,
    deadline: float | None = None,
) -> Verdict:
    """Verify `lhs = rhs`; with one string argument it is the whole claim "lhs = rhs".

    A claim may end with its domain: "diff(log(z), z) = 1/z for z > 0" (or pass `assume`).
    Everything takes at most `seconds` (or ends at `deadline`, a time.monotonic() value).
    """
    if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
        raise ValueError(f"the time limit must be a positive number of seconds, not {seconds!r}")
    deadline = time.monotonic() + seconds if deadline is None else deadline
    where, assume = tuple(where), tuple(assume)
    if rhs is None:
        if not isinstance(lhs, str):
            raise ClaimError("expected a claim 'lhs = rhs', or both sides")
        check_sizes([lhs], where, assume)
        text = lhs
        if " for " in text:
            text, _, domain = text.rpartition(" for ")
            assume = (*assume, *domain.split(","))
        left, left_at, right, right_at = split_claim(text)
        job = Claim(lhs, left, right, left_at, right_at, where, assume)
    else:
        check_sizes([s for s in (lhs, rhs) if isinstance(s, str)], where, assume)
        job = Claim(f"{lhs} = {rhs}", lhs, rhs, 0, 0, where, assume)
    return in_child(job, seconds, deadline)


def in_child(job: Claim, seconds: float, deadline: float) -> Verdict:
    """Read and judge the claim in a forked child, killed at the deadline."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)

    def post(message: tuple[Any, ...]) -> None:
        try:
            send.send(message)
        except Exception:  # it cannot be pickled (a deep expression): the verdict goes as text
            if message[0] == "verdict":
                v = message[1]
                send.send(("verdict", replace(v, lhs=Symbol(str(v.lhs)), rhs=Symbol(str(v.rhs)),
                                              definitions=())))

    def work() -> None:
        receive.close()
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's, which kills this
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            lhs, rhs, definitions = read_claim(job)
            post(("parsed", lhs, rhs, definitions))
            post(("verdict", judge(job.claim, lhs, rhs, definitions, deadline,
                                   lambda doing: post(("doing", doing)))))
        except ClaimError as error:
            post(("error", str(error)))
        except OutOfTime:
            pass
        except Exception as error:  # sympy failed in a way of its own: no verdict
            post(("failed", f"{type(error).__name__} {' '.join(str(error).split())[:200]}"))
        finally:
            send.close()

    for stream in (sys.stdout, sys.stderr):  # else the child could print what is buffered again
        stream.flush()
    child = context.Process(target=work, daemon=True)
    child.start()
    send.close()  # the child's copy stays open: end of file then means the child has ended
    lhs: Expr = Symbol(str(job.lhs).strip())  # until the child has read the claim
    rhs: Expr = Symbol(str(job.rhs).strip())
    definitions: tuple[tuple[str, Expr], ...] = ()
    doing = "reading the claim"
    try:
        while receive.poll(max(deadline - time.monotonic(), 0)):
            message = receive.recv()
            if message[0] == "verdict":
                return message[1]
            if message[0] == "error":
                raise ClaimError(message[1])
            if message[0] == "parsed":
                lhs, rhs, definitions = message[1:]
            elif message[0] == "doing":
                doing = message[1]
            else:
                reason = f"sympy failed ({message[1]}) and no counterexample was found"
                return Verdict(UNDECIDED, job.claim, lhs, rhs, reason, definitions)
    except EOFError:
        reason = f"the verification ended unexpectedly while {doing}"
        return Verdict(UNDECIDED, job.claim, lhs, rhs, reason, definitions)
    finally:
        child.kill()
        child.join()
        receive.close()
    reason = f"ran past the time limit of {seconds:g} s while {doing}"
    return Verdict(UNDECIDED, job.claim, lhs, rhs, reason, definitions)
