"""The numbers of a student's written side: `0.5(0.9176) + 1(0.9959) - 1`, `\\sigma'(z_2)`,
a matrix product, evaluated with the precision the student wrote.

`Side` walks a tree from `mathtext`: numbers as written, names through a lookup that gives the
engine's value or the student's own earlier one.  Its uncertainty is what the written digits
leave: each rounded number moved by half a unit in its last digit, the changes added up (numbers
written as the problem gives them, 0.35 for b = 0.35, and whole numbers are exact).  `close`
is the one comparison: within both sides' uncertainty, and never tighter than a relative 1e-9.
`slipped` tells a slip of the pen (one digit, two digits swapped, one dropped) from other errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from symgrad.calculus.activations import stable_sigmoid, stable_softplus
from symgrad.input.answers import Element, Statement
from symgrad.input.mathtext import Call, Const, Matrix, Name, Node, Num, Op, Partial, walk

REL = 1e-9  # the tightest relative tolerance, whatever the digits written


class Unevaluable(Exception):
    """A side that has no number: an unmapped name, words, a shape that does not fit."""


def sigmoid(v: float) -> float:
    return stable_sigmoid(v)


def relu(v: float) -> float:
    return max(v, 0.0)


def step(v: float) -> float:
    return 1.0 if v > 0 else 0.0


def _safe(f: Callable[..., float]) -> Callable[..., float]:
    def call(*args: float) -> float:
        try:
            return f(*args)
        except (ValueError, OverflowError, ZeroDivisionError):
            raise Unevaluable("a value that is not a finite number") from None
    return call


FUNCTIONS: dict[str, tuple[Callable[..., float], Callable[..., float] | None]] = {
    "sigmoid": (sigmoid, lambda v: sigmoid(v) * (1 - sigmoid(v))),
    "tanh": (math.tanh, lambda v: 1 - math.tanh(v) ** 2),
    "relu": (relu, step),
    "identity": (lambda v: v, lambda v: 1.0),
    "softplus": (stable_softplus, sigmoid),
    "exp": (math.exp, math.exp),
    "log": (math.log, lambda v: 1 / v),
    "sin": (math.sin, math.cos),
    "cos": (math.cos, lambda v: -math.sin(v)),
    "sqrt": (math.sqrt, lambda v: 0.5 / math.sqrt(v)),
    "abs": (abs, lambda v: math.copysign(1.0, v)),
    "step": (step, lambda v: 0.0),
    "sign": (lambda v: math.copysign(1.0, v) if v else 0.0, lambda v: 0.0),
    "sech": (lambda v: 1 / math.cosh(v), lambda v: -math.tanh(v) / math.cosh(v)),
    "sinh": (math.sinh, math.cosh),
    "cosh": (math.cosh, math.sinh),
    "leaky_relu": (lambda v: v if v > 0 else 0.01 * v, lambda v: 1.0 if v > 0 else 0.01),
}
ACTIVATION_WORDS = {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "exp"}


class Side:
    """Evaluates one side of a student's `=` at one point: numbers as written, names through a
    lookup (the engine's value, or the student's own earlier one), with the uncertainty that the
    written digits leave (each rounded number moved by half a unit in its last digit)."""

    def __init__(self, lookup: Callable[[Node], tuple[float, float]],
                 function: Callable[[str], str | None], data: frozenset[float] = frozenset(),
                 substitutes: dict[int, float] | None = None) -> None:
        self.lookup = lookup  # Name/Partial/Call-of-a-quantity → (value, half-unit)
        self.function = function  # an unknown function's key → an activation's name
        self.data = data  # the problem's given numbers: written as given, they are exact
        self.substitutes = substitutes or {}  # id(Num) → the exact value it is a rounding of

    def value(self, node: Node) -> Any:
        return self.run(node, None)

    def with_uncertainty(self, node: Node) -> tuple[Any, Any]:
        base = self.run(node, None)
        spread = np.zeros_like(np.asarray(base, dtype=float))
        for leaf, half in self.uncertain(node):
            moved = self.run(node, (id(leaf), half))
            spread = spread + np.abs(np.asarray(moved, dtype=float) - np.asarray(base, dtype=float))
        return base, spread

    def uncertain(self, node: Node) -> list[tuple[Node, float]]:
        out: list[tuple[Node, float]] = []
        for n in walk(node):
            if isinstance(n, Num) and not n.exact:
                if round(n.value, 12) not in self.data:  # 0.35 for b = 0.35 is not rounded
                    out.append((n, n.half_unit))
            elif isinstance(n, (Name, Partial, Call)) and not isinstance(n, Call) or (
                    isinstance(n, Call) and n.function.startswith("?")):
                try:
                    _, half = self.lookup(n)
                except Unevaluable:
                    continue
                if half:
                    out.append((n, half))
        return out

    def run(self, node: Node, shift: tuple[int, float] | None) -> Any:
        try:
            with np.errstate(all="raise"):
                out = self.eval(node, shift)
        except (FloatingPointError, OverflowError, ZeroDivisionError, ValueError):
            raise Unevaluable("a value that is not a finite number") from None
        if not np.all(np.isfinite(np.asarray(out, dtype=float))):
            raise Unevaluable("a value that is not a finite number")
        return out

    def eval(self, node: Node, shift: tuple[int, float] | None) -> Any:
        moved = shift[1] if shift is not None and shift[0] == id(node) else 0.0
        if isinstance(node, Num):
            return self.substitutes.get(id(node), node.value) + moved
        if isinstance(node, Const):
            return math.e if node.name == "e" else math.pi
        if isinstance(node, (Name, Partial)):
            return self.lookup(node)[0] + moved
        if isinstance(node, Matrix):
            rows = [[self.eval(x, shift) for x in row] for row in node.rows]
            if any(np.ndim(x) for row in rows for x in row):
                raise Unevaluable("a matrix of matrices")
            return np.array(rows, dtype=float)
        if isinstance(node, Op):
            args = [self.eval(a, shift) for a in node.args]
            if node.op == "neg":
                return -args[0]
            if node.op == "+":
                total = args[0]
                for a in args[1:]:
                    total = self.combine(total, a, np.add)
                return total
            if node.op == "*":
                product = args[0]
                for a in args[1:]:
                    product = self.times(product, a)
                return product
            if node.op == "/":
                if np.ndim(args[1]):
                    raise Unevaluable("a division by a matrix")
                return args[0] / args[1]
            if node.op == "^":
                if np.ndim(args[1]):
                    raise Unevaluable("a power of a matrix")
                if np.ndim(args[0]):
                    raise Unevaluable("a matrix to a power")
                base, power = float(args[0]), float(args[1])
                if abs(power) > 1000:
                    raise Unevaluable("a power too large")
                return base ** power
        if isinstance(node, Call):
            if node.function.startswith("?"):
                activation = self.function(node.function[1:])
                if activation is None:
                    return self.lookup(node)[0] + moved
                f = FUNCTIONS[activation][node.derivative and 1]
            elif node.function in ("max", "min"):
                args = [self.eval(a, shift) for a in node.args]
                if any(np.ndim(a) for a in args):
                    raise Unevaluable("max of matrices")
                return (max if node.function == "max" else min)(args)
            else:
                if node.function not in FUNCTIONS or node.derivative > 1:
                    raise Unevaluable(f"the function {node.text or node.function}")
                f = FUNCTIONS[node.function][node.derivative and 1]
            if f is None or len(node.args) != 1:
                raise Unevaluable(f"{node.text or node.function} with {len(node.args)} arguments")
            arg = self.eval(node.args[0], shift)
            if np.ndim(arg):
                return np.vectorize(_safe(f), otypes=[float])(arg)
            return _safe(f)(float(arg))
        raise Unevaluable("an expression symgrad cannot evaluate")

    @staticmethod
    def combine(a: Any, b: Any, op: Callable[[Any, Any], Any]) -> Any:
        if np.ndim(a) and np.ndim(b) and np.shape(a) != np.shape(b):
            if np.shape(a) == np.shape(b)[::-1] and 1 in np.shape(a):  # a row and a column
                return op(np.ravel(a), np.ravel(b)).reshape(np.shape(a))
            raise Unevaluable(f"a sum of a {shape(a)} and a {shape(b)} matrix")
        return op(a, b)

    @staticmethod
    def times(a: Any, b: Any) -> Any:
        if np.ndim(a) == 2 and np.ndim(b) == 2:
            if np.shape(a)[1] == np.shape(b)[0]:
                return np.asarray(a) @ np.asarray(b)
            if np.shape(a) == np.shape(b):
                return np.asarray(a) * np.asarray(b)
            raise Unevaluable(f"a product of a {shape(a)} and a {shape(b)} matrix")
        return a * b


def shape(a: Any) -> str:
    return " × ".join(str(n) for n in np.shape(a))


def close(a: Any, ta: Any, b: Any, tb: Any) -> bool:
    """|a − b| within both sides' uncertainty, and never tighter than REL."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        if a.size == b.size and 1 in a.shape and 1 in b.shape:
            a, b = a.ravel(), b.ravel()
        else:
            return False
    slack = np.asarray(ta, dtype=float) + np.asarray(tb, dtype=float)
    floor = REL * np.maximum(np.abs(a), np.abs(b)) + 1e-15
    return bool(np.all(np.abs(a - b) <= slack + floor))



def has_numbers(st: Statement) -> bool:
    return any(e.node is not None and any(isinstance(n, Num) for n in walk(e.node))
               for e in st.elements)


def first_unknown(node: Node | None, resolves: Callable[[Node], bool] = lambda n: False) -> str | None:
    """The first name of a side (in writing order) that is not a name of the problem."""
    if node is None:
        return None
    found = [n for n in walk(node) if isinstance(n, (Name, Partial)) or
             isinstance(n, Call) and n.function.startswith("?")]
    for n in sorted(found, key=lambda n: getattr(n, "at", 0)):
        if resolves(n):
            continue
        if isinstance(n, Partial):
            return f"∂{n.top.text}/∂{n.wrt.text}"
        return n.text
    return None


def short(text: str, most: int = 80) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def fmt(value: Any) -> str:
    if value is None:
        return "?"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def significant(half: float, value: float) -> int:
    """Significant figures written: from the half unit of the last digit."""
    if not half or not value:
        return 0
    return max(0, int(math.floor(math.log10(abs(value)) - math.log10(2 * half))) + 1)


def slipped(written: str, true: float) -> str:
    """How `written` differs from `true` rounded to the same digits by one slip of the pen:
    "a digit slip" (one digit), "transposed digits" (two neighbours swapped), "a dropped digit",
    or "" when it is none of these (or no slip at all)."""
    text = written.lstrip("+-")
    if "e" in text.lower() or "." not in text:
        return ""
    decimals = len(text.partition(".")[2])
    for decimals_true in (decimals, decimals + 1):
        rounded = f"{abs(true):.{decimals_true}f}"
        a, b = text.replace(".", "").lstrip("0"), rounded.replace(".", "").lstrip("0")
        if written.startswith("-") != (true < 0) and a == b:
            return ""
        if len(a) < 3 or a == b:
            continue
        if len(a) == len(b):
            diff = [k for k in range(len(a)) if a[k] != b[k]]
            if len(diff) == 1 and decimals_true == decimals:
                if diff[0] == len(a) - 1 and abs(int(a[-1]) - int(b[-1])) == 1:
                    return ""  # the last digit one off: rounding, not a slip of the pen
                return "a digit slip"
            if len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and \
                    a[diff[1]] == b[diff[0]] and decimals_true == decimals:
                return "two digits transposed"
        elif len(b) == len(a) + 1 and decimals_true == decimals + 1:
            if any(b[:k] + b[k + 1:] == a for k in range(len(b))) and b[:-1] != a:
                return "a dropped digit"
    return ""


def digit_slip(element: Element, expected: float | None) -> str:
    node = element.node
    if expected is None or node is None:
        return ""
    plain = node.args[0] if isinstance(node, Op) and node.op == "neg" else node
    if not isinstance(plain, Num):
        return ""
    text = ("-" if plain is not node else "") + plain.text
    return slipped(text, expected)


def claim_text(node: Node, variable: str) -> str | None:
    """A side as the safe parser's text ("(1 - sigmoid(z))*(1 + sigmoid(z))"), for verify."""
    def text(n: Node) -> str:
        if isinstance(n, Num):
            return n.text
        if isinstance(n, Const):
            return "E" if n.name == "e" else "pi"
        if isinstance(n, Name):
            if n.key != variable or n.bar or n.updated:
                raise Unevaluable("another name")
            return "z"
        if isinstance(n, Op):
            if n.op == "neg":
                return f"(-{text(n.args[0])})"
            if n.op == "+":
                return "(" + " + ".join(text(a) for a in n.args) + ")"
            if n.op == "*":
                return "(" + "*".join(text(a) for a in n.args) + ")"
            if n.op == "/":
                return f"({text(n.args[0])})/({text(n.args[1])})"
            if n.op == "^":
                return f"({text(n.args[0])})**({text(n.args[1])})"
        if isinstance(n, Call) and n.function in ("sigmoid", "tanh", "exp", "log", "relu",
                                                   "softplus", "sin", "cos", "sqrt", "abs"):
            if n.derivative or len(n.args) != 1:
                raise Unevaluable("a derivative")
            return f"{n.function}({text(n.args[0])})"
        raise Unevaluable("not for verify")

    try:
        return text(node)
    except Unevaluable:
        return None
