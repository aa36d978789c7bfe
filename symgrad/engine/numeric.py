"""Numbers: a small evaluator over sympy trees, in floating point where the values are known.

Each node's expression is small (it is written over its parents' symbols), so walking the tree
is fast: an 8 × 32 network's forward and backward passes take a few milliseconds' worth of
arithmetic each, with no code generation and nothing from the problem file ever executed.
A symbol with no value passes through as a sympy expression, so a problem with an unknown
target gives gradients linear in y.  The activations are computed stably (σ of ±1000 is fine);
what cannot be computed in floating point (overflow, log 0) raises NumericError.
"""

from __future__ import annotations

import math
from fractions import Fraction
from collections.abc import Callable, Mapping
from typing import Any

import sympy
from sympy import Expr, Symbol

from symgrad.calculus import activations as act
from symgrad.errors import NumericError

Value = Any  # a float/int, or a sympy expression where a symbol has no value


def stable_softmax(i: int, *zs: float) -> float:
    top = max(zs)
    return math.exp(zs[i - 1] - top) / math.fsum(math.exp(z - top) for z in zs)


def heaviside(z: float, at_zero: float = 0.5) -> float:
    return 1.0 if z > 0 else (float(at_zero) if z == 0 else 0.0)


def sign(z: float) -> float:
    return float((z > 0) - (z < 0))


def sech(z: float) -> float:
    return 1.0 / math.cosh(z) if abs(z) < 700 else 0.0


FLOAT_FUNCTIONS: dict[type, Callable[..., float]] = {
    sympy.exp: math.exp,
    sympy.log: math.log,
    sympy.sin: math.sin,
    sympy.cos: math.cos,
    sympy.tan: math.tan,
    sympy.tanh: math.tanh,
    sympy.sech: sech,
    sympy.Abs: abs,
    sympy.sign: sign,
    sympy.Max: max,
    sympy.Min: min,
    sympy.Heaviside: heaviside,
    act.sigmoid: act.stable_sigmoid,
    act.relu: lambda z: max(z, 0.0),
    act.leaky_relu: lambda z, alpha: z if z > 0 else alpha * z,
    act.softplus: act.stable_softplus,
    act.softmax: stable_softmax,
}

RELATIONS: dict[type, Callable[[float, float], bool]] = {
    sympy.StrictGreaterThan: lambda a, b: a > b,
    sympy.GreaterThan: lambda a, b: a >= b,
    sympy.StrictLessThan: lambda a, b: a < b,
    sympy.LessThan: lambda a, b: a <= b,
}


# An exact power larger than this is computed in floating point instead (and may overflow,
# which is reported): 10**10 raised to the 10**6 would otherwise take minutes and gigabytes.
MAX_EXACT_BITS = 4096


def is_float(value: Value) -> bool:
    """A plain number: an int, a float, or an exact fraction such as the ½ of ½(ŷ − y)²."""
    return isinstance(value, (int, float, Fraction))


def evaluate(expr: Expr, env: Mapping[Symbol, Value], memo: dict[Expr, Value] | None = None) -> Value:
    """The value of `expr` with the symbols of `env` replaced by their values.

    With a `memo`, a subexpression shared many times (a composed network) is computed once.
    """
    if memo is not None:
        if expr not in memo:
            memo[expr] = evaluate_once(expr, env, memo)
        return memo[expr]
    return evaluate_once(expr, env, None)


def evaluate_once(expr: Expr, env: Mapping[Symbol, Value], memo: dict[Expr, Value] | None) -> Value:
    if expr.is_Symbol:
        return env.get(expr, expr)
    if expr.is_Number:
        if expr.is_Rational:  # exact, so that ½(36 − 32)² = 8 and a symbolic ½|u| stays ½
            return int(expr) if expr.is_Integer else Fraction(int(expr.p), int(expr.q))
        return float(expr)
    args = expr.args
    if expr.is_Add:
        total: Value = 0
        for a in args:
            total = total + evaluate(a, env, memo)
        return total
    if expr.is_Mul:
        # 0 · log 0 = 0: the convention that makes y log ŷ vanish for y = 0, whatever the order
        product: Value = 1
        failure: NumericError | None = None
        for a in args:
            try:
                value = evaluate(a, env, memo)
            except NumericError as error:
                failure = error
                continue
            if is_float(value) and value == 0:
                return 0
            product = product * value
        if failure is not None:
            raise failure
        return product
    if expr.is_Pow:
        base, power = evaluate(args[0], env, memo), evaluate(args[1], env, memo)
        if is_float(base) and is_float(power):
            if base == 0 and power < 0:
                raise NumericError(f"division by zero in {expr}")
            if power != int(power) and base < 0:
                raise NumericError(f"{expr} is not real at {args[0]} = {base}")
            try:
                if power == int(power) and exact_size(base) * abs(int(power)) <= MAX_EXACT_BITS:
                    return base ** int(power)  # exact, and small enough to compute at once
                return float(base) ** float(power)
            except (OverflowError, ZeroDivisionError):
                raise NumericError(f"overflow computing {expr}") from None
        return sympy.Pow(base, power)
    if isinstance(expr, sympy.Piecewise):
        for value, condition in args:
            truth = evaluate_condition(condition, env)
            if truth is None:
                return expr.xreplace({s: v for s, v in env.items() if s in expr.free_symbols})
            if truth:
                return evaluate(value, env, memo)
        raise NumericError(f"no case of {expr} applies")
    if isinstance(expr, (sympy.Derivative, sympy.Subs)):
        # an unspecified g'(z): no number, so substitute what is known and keep it symbolic
        known = {s: env[s] for s in expr.free_symbols if s in env}
        return expr.subs(known)
    values = [evaluate(a, env, memo) for a in args]
    function = FLOAT_FUNCTIONS.get(expr.func)
    if function is not None and all(is_float(v) for v in values):
        call = f"{expr.func.__name__}({', '.join(f'{float(v):.6g}' for v in values)})"
        try:
            return function(*(int(v) if expr.func is act.softmax and k == 0 else float(v)
                              for k, v in enumerate(values)))
        except OverflowError:
            raise NumericError(f"{call} overflows a double") from None
        except (ValueError, ZeroDivisionError):
            raise NumericError(f"{call} is undefined") from None
    return expr.func(*values)


def evaluate_condition(condition: Expr, env: Mapping[Symbol, Value]) -> bool | None:
    if condition is sympy.true:
        return True
    if condition is sympy.false:
        return False
    relation = RELATIONS.get(type(condition))
    if relation is None:
        return None
    a, b = evaluate(condition.lhs, env), evaluate(condition.rhs, env)
    if is_float(a) and is_float(b):
        return relation(a, b)
    return None


def exact_size(value: int | float | Fraction) -> int:
    """Bits of an exact int or fraction (1 for a float, whose powers cannot grow without bound)."""
    if isinstance(value, int):
        return max(value.bit_length(), 1)
    if isinstance(value, Fraction):
        return max(value.numerator.bit_length(), value.denominator.bit_length(), 1)
    return 1


def as_number(value: Value) -> Value:
    """A value fit for the JSON: a finite float/int, or a real sympy expression.

    Exact values are kept while they fit a double; larger ones, infinities, NaN and complex
    values are errors, so that no output ever carries a value that is not a real number."""
    if is_float(value):
        try:
            number = float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise NumericError("the value is too large for a floating-point number") from None
        if not math.isfinite(number):
            raise NumericError(f"the value is {number}")
        if isinstance(value, Fraction):
            return int(value) if value.denominator == 1 else number
        return value
    if isinstance(value, sympy.Basic):
        if value.has(sympy.I):
            raise NumericError(f"the value is complex ({value})")
        if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
            raise NumericError(f"the value is not finite ({value})")
        if value.is_number:
            try:
                return as_number(float(value))
            except TypeError:
                return value
    return value
