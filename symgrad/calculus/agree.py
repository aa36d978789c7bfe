"""The one random-point agreement check, and a cheap symbolic zero test.

Every comparison of two expressions at random points (the certificate, the vector form's
componentwise check, the dependency witness) goes through `agree`, so there is one tolerance
policy: two values a, b agree when |a − b| ≤ rtol·(1 + |a| + |b|), relative for large values and
absolute near 0.  Points are drawn from random.Random(seed), uniformly in [−box, box] for every
free symbol in a fixed order, so a run is repeatable.  A point where either side has no finite real
value (log of a negative number, 1/0, an overflow) is skipped, not counted.

This module sits below the engine (calculus/ imports nothing from engine/), so it evaluates on
its own: an iterative float walk over the expression DAG, each distinct subexpression computed
once per point.  No lambdify: printing and compiling a composed network costs more than walking
it six times.

`cancels_to_zero` is the cheap symbolic test: exp(c·m) becomes T_m^c for a symbol T_m, other
calls become symbols, and the difference is carried as a sparse polynomial numerator over a
product of denominator factors; it is 0 when the numerator is.  It never calls `simplify` and
gives up (False: not proved) past a size cap rather than run for seconds.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import sympy
from sympy import QQ, Basic, Expr, Symbol
from sympy.polys.orderings import lex
from sympy.polys.rings import PolyElement, PolyRing
from sympy.logic.boolalg import BooleanFalse, BooleanFunction, BooleanTrue

from symgrad.calculus import activations as act

NAN = math.nan
RTOL = 1e-8
TRIES_PER_POINT = 4  # candidate points drawn per point asked for, for when some are undefined


@dataclass(frozen=True)
class Agreement:
    """What `agree` found: `points` points where both sides had a finite real value, the worst
    relative difference |a − b| / (1 + |a| + |b|) among them, and the first point where the two
    differed beyond the tolerance (symbol names to values), or None when they agreed."""

    points: int
    worst: float
    disagreement: dict[str, float] | None = field(default=None)
    values: tuple[float, float] | None = None  # the two sides at the disagreement

    @property
    def agrees(self) -> bool:
        return self.disagreement is None


def agree(shown: Expr, raw: Expr, *, points: int = 6, box: float = 2.0, rtol: float = RTOL,
          seed: int = 0) -> Agreement:
    """Compare `shown` with `raw` at `points` random points where both are defined.

    Stops at the first disagreement.  At most TRIES_PER_POINT·points points are drawn, so
    `points` in the answer may be fewer than asked when the expressions are often undefined."""
    symbols = sorted(shown.free_symbols | raw.free_symbols, key=sympy.default_sort_key)
    rng = random.Random(seed)
    checked, worst = 0, 0.0
    for _ in range(TRIES_PER_POINT * points if symbols else 1):
        point = {s: rng.uniform(-box, box) for s in symbols}
        memo: dict[Basic, float] = {}
        a, b = evaluate(shown, point, memo), evaluate(raw, point, memo)
        if not (math.isfinite(a) and math.isfinite(b)):
            continue
        relative = abs(a - b) / (1 + abs(a) + abs(b))
        worst = max(worst, relative)
        if relative > rtol:
            return Agreement(checked, worst, {s.name: v for s, v in point.items()}, (a, b))
        checked += 1
        if checked == points:
            break
    return Agreement(checked, worst)


# ---------------------------------------------------------------------------------------------
# Evaluation in floating point: NaN stands for "no real value here" and propagates.


def _guard(f: Callable[..., float]) -> Callable[..., float]:
    """f, with a domain error, an overflow or a complex result turned into NaN."""
    def safe(*args: float) -> float:
        if any(map(math.isnan, args)):
            return NAN
        try:
            value = f(*args)
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            return NAN
        return value if isinstance(value, (int, float)) else NAN  # x**0.5 of x < 0 is complex
    return safe


def _softmax(i: float, *zs: float) -> float:
    top = max(zs)
    exps = [math.exp(z - top) for z in zs]
    return exps[int(i) - 1] / sum(exps)


def _heaviside(x: float, at_zero: float = 0.5) -> float:
    return 1.0 if x > 0 else 0.0 if x < 0 else at_zero


def _sign(x: float) -> float:
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


# The float value of each function symgrad writes (values, not derivatives: σ(z), not σ').
_FLOAT_FUNCTIONS: dict[type, Callable[..., float]] = {
    sympy.exp: math.exp, sympy.log: math.log,  # sqrt is a power: see _power
    sympy.sin: math.sin, sympy.cos: math.cos, sympy.tan: math.tan,
    sympy.tanh: math.tanh, sympy.sinh: math.sinh, sympy.cosh: math.cosh,
    sympy.sech: lambda x: 1 / math.cosh(x), sympy.erf: math.erf,
    sympy.Abs: abs, sympy.sign: _sign, sympy.Heaviside: _heaviside,
    sympy.Max: max, sympy.Min: min,
    act.sigmoid: act.stable_sigmoid, act.softplus: act.stable_softplus, act.relu: lambda z: max(z, 0.0),
    act.leaky_relu: lambda z, a: z if z > 0 else a * z, act.softmax: _softmax,
}
FUNCTIONS: dict[type, Callable[..., float]] = {cls: _guard(f) for cls, f in _FLOAT_FUNCTIONS.items()}
COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


@_guard
def _power(base: float, exponent: float) -> float:
    return base**exponent


def _node(e: Basic, args: list[float]) -> float:
    """The value of `e` from the values of its arguments (booleans as 1.0 / 0.0)."""
    if isinstance(e, sympy.Add):
        return math.fsum(args) if not any(map(math.isnan, args)) else NAN
    if isinstance(e, sympy.Mul):
        return math.prod(args)
    if isinstance(e, sympy.Pow):
        return _power(*args)
    if isinstance(e, sympy.Piecewise):  # args are (value, condition) pairs, taken in order
        for value, condition in zip(args[::2], args[1::2]):
            if math.isnan(condition):
                return NAN
            if condition:
                return value
        return NAN
    if isinstance(e, sympy.core.relational.Relational):
        return NAN if any(map(math.isnan, args)) else float(COMPARE[e.rel_op](*args))
    if isinstance(e, BooleanFunction):  # And, Or, Not, ITE (from nested Piecewise), ...
        if any(map(math.isnan, args)):
            return NAN
        if isinstance(e, sympy.ITE):
            return args[1] if args[0] else args[2]
        return float(bool(e.func(*(sympy.true if a else sympy.false for a in args))))
    f = FUNCTIONS.get(type(e))
    if f is not None:
        return f(*args)
    if isinstance(e, sympy.Function):  # anything else: sympy's evalf of this one call
        try:
            z = complex(e.func(*map(sympy.Float, args)).evalf())
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return NAN
        return z.real if z.imag == 0 else NAN
    raise TypeError(f"agree: cannot evaluate {type(e).__name__} in {e}")


def evaluate(expr: Basic, point: Mapping[Symbol, float], memo: dict[Basic, float] | None = None) -> float:
    """`expr` at `point` in floating point; NaN where it has no finite real value.

    Iterative (an explicit stack, children first), so a deep expression cannot reach Python's
    recursion limit; `memo` may be shared between expressions evaluated at the same point."""
    values: dict[Basic, float] = {} if memo is None else memo
    stack: list[tuple[Basic, bool]] = [(expr, False)]
    while stack:
        e, ready = stack.pop()
        if e in values:
            continue
        if isinstance(e, Symbol):
            values[e] = float(point[e])
        elif isinstance(e, BooleanTrue):
            values[e] = 1.0
        elif isinstance(e, BooleanFalse):
            values[e] = 0.0
        elif not e.args:  # a number, π, e; zoo, nan and I have no real value
            values[e] = _guard(float)(e) if e.is_real else NAN
        elif ready:
            values[e] = _node(e, [values[a] for a in _arguments(e)])
        else:
            stack.append((e, True))
            stack.extend((a, False) for a in _arguments(e) if a not in values)
    return values[expr]


def _arguments(e: Basic) -> tuple[Basic, ...]:
    if isinstance(e, sympy.Piecewise):
        return tuple(part for pair in e.args for part in pair.args)
    return e.args


# ---------------------------------------------------------------------------------------------
# The cheap symbolic test


SIZE_CAP = 1500  # tree nodes of the difference; past this, do not try
TERMS_CAP = 3000  # terms of a numerator or denominator on the way; past this, give up


class _TooLarge(Exception):
    pass


def cancels_to_zero(difference: Expr, size_cap: int = SIZE_CAP, terms_cap: int = TERMS_CAP) -> bool:
    """True when `difference` is proved 0 as a rational function of its symbols, of T_m = e^m
    (exp(c₁m₁ + c₂m₂) with integers c is T₁^c₁ T₂^c₂, so e^{−z} = 1/e^z and e^{a+b} = e^a e^b),
    and of the other function calls and powers as opaque symbols.

    The expression is carried as a numerator polynomial over the rationals (floats taken at
    their exact binary value) and a product of denominator factors, with no gcd ever computed:
    the denominator is a product of nonzero polynomials, so the expression is 0 exactly when the
    numerator is the zero polynomial.  Each step is an identity, so True is a proof; False only
    means "not proved cheaply" (a Piecewise, say, or a size past the caps)."""
    try:
        if tree_size(difference, size_cap) >= size_cap:
            return False
        return _Fractions(difference, terms_cap).zero()
    except (_TooLarge, RecursionError):
        return False


Fraction = tuple[PolyElement, dict[PolyElement, int]]  # numerator, {denominator factor: power}


class _Fractions:
    """An expression as a numerator polynomial over a product of denominator factors.

    The factors are the bases of the negative powers met on the way, made monic, so the common
    denominator of a sum is the least common multiple of the factor sets, found without any
    polynomial gcd: the numerators stay small where a plain n₁d₂ + n₂d₁ would square the
    denominators at every nested σ."""

    def __init__(self, expr: Basic, terms_cap: int) -> None:
        self.expr, self.cap = expr, terms_cap
        self.generators: dict[object, int] = {}  # opaque subexpressions, and ("exp", m)
        self.exponents: dict[Basic, list[tuple[object, int]]] = {}  # exp(...) -> [(unit, c)]
        self.scan(expr)
        gens = list(self.generators) or [sympy.Dummy("unused")]
        self.ring = PolyRing([sympy.Dummy(f"g{k}") for k in range(len(gens))], QQ, lex)
        self.gens = dict(zip(gens, self.ring.gens))
        self.memo: dict[Basic, Fraction] = {}

    def zero(self) -> bool:
        return not self.fraction(self.expr)[0]

    def opaque(self, e: Basic) -> bool:
        """Neither a number nor built by +, ×, integer powers and exp: a generator."""
        if isinstance(e, (sympy.Add, sympy.Mul, sympy.exp)) or e.is_Rational or e.is_Float:
            return False
        return not (isinstance(e, sympy.Pow) and e.exp.is_Integer)

    def scan(self, expr: Basic) -> None:
        stack = [expr]
        while stack:
            e = stack.pop()
            if e in self.generators or e in self.exponents:
                continue
            if isinstance(e, sympy.exp):  # e^{c m + ...}: the units m are the generators
                units: list[tuple[object, int]] = []
                for term in sympy.Add.make_args(sympy.expand(e.args[0])):
                    c, m = term.as_coeff_Mul()
                    c, m = (int(c), m) if c.is_Integer else (1, term)  # e^{m/2}: a unit alone
                    units.append((("exp", m), c))  # a key apart from m itself: T_m is not m
                    self.generators.setdefault(("exp", m), len(self.generators))
                self.exponents[e] = units
            elif self.opaque(e):
                self.generators[e] = len(self.generators)
            else:
                stack.extend(e.args)

    def fraction(self, root: Basic) -> Fraction:
        stack: list[tuple[Basic, bool]] = [(root, False)]
        while stack:
            e, ready = stack.pop()
            if e in self.memo:
                continue
            if e in self.exponents:
                n, d = self.ring.one, {}  # type: ignore[var-annotated]
                for m, c in self.exponents[e]:
                    if c > 0:
                        n *= self.gens[m] ** c
                    elif c < 0:
                        d[self.gens[m]] = d.get(self.gens[m], 0) - c
                self.memo[e] = (n, d)
            elif e in self.gens:
                self.memo[e] = (self.gens[e], {})
            elif e.is_Rational or e.is_Float:
                value = sympy.Rational(e) if e.is_Rational else sympy.Rational(float(e))
                self.memo[e] = (self.ring(QQ(int(value.p), int(value.q))), {})
            elif not ready:
                stack.append((e, True))
                stack.extend((a, False) for a in e.args if a not in self.memo)
            else:
                self.memo[e] = self.combine(e, [self.memo[a] for a in e.args])
        return self.memo[root]

    def combine(self, e: Basic, parts: list[Fraction]) -> Fraction:
        if isinstance(e, sympy.Add):
            common: dict[PolyElement, int] = {}
            for _, d in parts:
                for f, k in d.items():
                    common[f] = max(common.get(f, 0), k)
            total = self.ring.zero
            for n, d in parts:
                total += self.bound(n * self.product(common, d))
            return self.bound(total), common
        if isinstance(e, sympy.Mul):
            n, d = self.ring.one, {}
            for n2, d2 in parts:
                n = self.bound(n * n2)
                for f, k in d2.items():
                    d[f] = d.get(f, 0) + k
            return n, d
        (n, d), _ = parts  # a Pow with an integer exponent
        k = int(e.exp)
        if k < 0:  # 1/(n/d) = d/n, with n made monic: n = c·m
            if not n:
                raise _TooLarge  # 1/0: nothing to prove
            c = n.LC
            monic = n.quo_ground(c)
            n, d, k = self.product(d, {}).quo_ground(c), ({monic: 1} if monic != 1 else {}), -k
        if len(n) ** k > self.cap:
            raise _TooLarge
        return n**k, {f: j * k for f, j in d.items()}

    def product(self, factors: dict[PolyElement, int], minus: dict[PolyElement, int]) -> PolyElement:
        """Π f^(k − minus[f]) over the factors."""
        out = self.ring.one
        for f, k in factors.items():
            if k > minus.get(f, 0):
                out = self.bound(out * f ** (k - minus.get(f, 0)))
        return out

    def bound(self, p: PolyElement) -> PolyElement:
        if len(p) > self.cap:
            raise _TooLarge
        return p


def tree_size(expr: Basic, cap: int) -> int:
    """The number of nodes of `expr` as a tree, counted up to `cap`."""
    size = 0
    for _ in sympy.preorder_traversal(expr):
        size += 1
        if size >= cap:
            break
    return size
