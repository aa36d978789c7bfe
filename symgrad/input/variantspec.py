"""The `[variants]` table of a problem or sheet file: how to draw other numbers for each exam variant.

    [variants]
    W1 = { uniform = [-1, 1], step = 0.1 }    # every entry of W1, on the grid -1, -0.9, ..., 1
    "W2[1,1]" = { choose = [0.5, 1, 2] }     # one entry
    x = { choose = [[1, 2], [2, 1]] }         # whole values of x's shape ...
    y = { choose = [0, 1] }                   # ... or scalars, drawn for each entry
    eta = { choose = [0.1, 0.5] }             # the learning rate (or learning_rate = ...)
    require = ["abs(z2[1]) < 2", "dL/dW2[1,1] > 0.01"]
    avoid = ["saturated", "dead_relu", "zero_gradient", "duplicate"]   # the default: all four
    draws = 100000                            # at most this many draws in all

Only the table is read and checked here (numbers finite, steps positive, shapes of `choose`
lists, conditions through the safe parser).  Which quantities exist, and their shapes, are known
once the problem is built: `analyses.variants` resolves the names and says so in one line.

A condition names computed quantities by their JSON names (`z2[1]`, `yhat[1]`, `L`,
`dL/dW2[1,1]`, or a graph's own names).  Such names are not identifiers to the safe parser, so
each is swapped for a placeholder before parsing and bound back to a plain symbol of that name;
nothing is evaluated but the parsed tree.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sympy

from symgrad.errors import ProblemError
from symgrad.input import limits
from symgrad.input.parser import DEFAULT_FUNCTIONS, ExpressionError, parse_expression
from symgrad.input.spec import is_number

AVOIDABLE = ("saturated", "dead_relu", "zero_gradient", "duplicate")
RESERVED = ("require", "avoid", "draws")
GRID_POINTS = 10**9  # points of one uniform grid
# A JSON name: W2[1,1], z1[2], yhat[1], L, x1; a partial dL/dW2[1,1].  Not after a letter, digit,
# "_" or ".", so that the "e5" of 1e5 is never read as a name.
_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\[\s*[0-9]+\s*(?:,\s*[0-9]+\s*)*\]){0,4}"
NAME_IN_TEXT = re.compile(rf"(?<![A-Za-z0-9_.])(?:d{_NAME}/d{_NAME}|{_NAME})")
QUANTITY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[[0-9]+(?:,[0-9]+)*\]){0,4}\Z")  # x[2][1,3,3]


@dataclass(frozen=True)
class Draw:
    """How one quantity (a family such as W1 or x, one entry such as W1[1,2], or a graph leaf) is
    drawn: on a grid `low, low + step, ..., high`, or from `options`."""

    name: str
    field: str  # "variants.W1", for messages
    kind: str  # "uniform" | "choose"
    low: float = 0.0
    high: float = 0.0
    step: float = 0.0
    options: tuple[Any, ...] = ()  # scalars, or whole values (nested tuples, in out_in layout)
    whole: bool = False  # options are whole values of the quantity's shape

    @property
    def points(self) -> int:
        """The number of grid points of a uniform draw."""
        return int(math.floor((self.high - self.low) / self.step * (1 + 1e-12) + 1e-9)) + 1

    @property
    def decimals(self) -> int:
        """Decimal places of the grid (0.1 → 1), so that drawn values print as written."""
        return max(decimals(self.low), decimals(self.step))


@dataclass(frozen=True)
class Condition:
    """`require = ["abs(z2[1]) < 2"]`: a comparison over computed quantities."""

    text: str
    field: str  # "variants.require[1]"
    relation: sympy.Basic  # a sympy Relational over plain symbols named as the JSON names
    names: tuple[str, ...]  # the JSON names it uses


@dataclass(frozen=True)
class VariantsSpec:
    source: str
    draws: tuple[Draw, ...]
    require: tuple[Condition, ...]
    avoid: frozenset[str]
    max_draws: int | None  # None: the default for the number of variants asked
    layout: str = "out_in"  # the file's weight layout ("mixed" when its networks differ)


def decimals(x: float) -> int:
    """Decimal places of a number as written (0.25 → 2, 1e-3 → 3, 2.0 → 0)."""
    text = repr(float(x)).lower()
    mantissa, _, exponent = text.partition("e")
    places = len(mantissa.partition(".")[2].rstrip("0"))
    return max(0, places - int(exponent or 0))


def read_variants(data: Mapping[str, Any], source: str) -> VariantsSpec | None:
    """The file's `[variants]` table, checked; None when the file has none."""
    table = data.get("variants")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ProblemError(source, "variants", "expected a table such as "
                           "[variants] W1 = { uniform = [-1, 1], step = 0.1 }")
    draws = []
    for name, raw in table.items():
        if name in RESERVED:
            continue
        field = f"variants.{name}" if QUANTITY.match(name) else f"variants.{name!r}"
        if not QUANTITY.match(name):
            raise ProblemError(source, field, "expected the name of a quantity such as W1, "
                               "\"W1[1,2]\", b2, x, y, eta or a graph's leaf")
        draws.append(read_draw(source, field, name, raw))
    limits.at_most(source, "variants", "drawn quantities", len(draws), limits.VARIANT_QUANTITIES)
    return VariantsSpec(source, tuple(draws), read_require(source, table.get("require", [])),
                        read_avoid(source, table.get("avoid", list(AVOIDABLE))),
                        read_max_draws(source, table.get("draws")), layout_of(data))


def layout_of(data: Mapping[str, Any]) -> str:
    """The layout the file's weight matrices are written in: a whole matrix in `choose` is
    written the same way."""
    tables = [data.get("network")]
    for question in data.get("question", []) if isinstance(data.get("question"), list) else []:
        if isinstance(question, dict):
            tables.append(question.get("network"))
            parts = question.get("part", [])
            tables += [p.get("network") for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []
    layouts = {t.get("layout", "out_in") for t in tables if isinstance(t, dict)}
    return layouts.pop() if len(layouts) == 1 else ("out_in" if not layouts else "mixed")


def read_draw(source: str, field: str, name: str, raw: object) -> Draw:
    if not isinstance(raw, dict):
        raise ProblemError(source, field, "expected { uniform = [low, high], step = s } or "
                           "{ choose = [...] }")
    keys = set(raw)
    if keys not in ({"uniform", "step"}, {"choose"}):
        wrong = sorted(keys - {"uniform", "step", "choose"})
        what = f"unknown field {wrong[0]!r}: expected" if wrong else "expected"
        raise ProblemError(source, field, f"{what} {{ uniform = [low, high], step = s }} "
                           "or { choose = [...] }")
    if "choose" in raw:
        return read_choose(source, field, name, raw["choose"])
    bounds, step = raw["uniform"], raw["step"]
    if not (isinstance(bounds, list) and len(bounds) == 2 and all(map(is_number, bounds))):
        raise ProblemError(source, f"{field}.uniform", f"expected [low, high], got {bounds!r}")
    low, high = (float(b) for b in bounds)
    if not all(map(math.isfinite, (low, high))) or low > high:
        raise ProblemError(source, f"{field}.uniform",
                           f"expected finite bounds with low <= high, got {bounds!r}")
    if not is_number(step) or not math.isfinite(float(step)) or step <= 0:
        raise ProblemError(source, f"{field}.step", f"expected a positive number, got {step!r}")
    draw = Draw(name, field, "uniform", low, high, float(step))
    if not 1 <= (high - low) / step + 1 <= GRID_POINTS:
        raise ProblemError(source, f"{field}.step",
                           f"the grid has more than {GRID_POINTS} points; take a larger step")
    if draw.decimals > 15:
        raise ProblemError(source, f"{field}.step", "expected at most 15 decimal places")
    return draw


def read_choose(source: str, field: str, name: str, options: object) -> Draw:
    where = f"{field}.choose"
    if not isinstance(options, list) or not options:
        raise ProblemError(source, where, "expected a non-empty list of values")
    limits.at_most(source, where, "values to choose from", len(options), limits.CHOICES)
    if all(is_number(o) for o in options):
        values = tuple(float(o) for o in options)
        if not all(map(math.isfinite, values)):
            raise ProblemError(source, where, "expected finite numbers")
        return Draw(name, field, "choose", options=values)
    shapes = {shape(o) for o in options}
    if None in shapes or len(shapes) != 1:
        raise ProblemError(source, where, "expected numbers (drawn for each entry), or lists "
                           "of one shape (whole values), all finite")
    return Draw(name, field, "choose", options=tuple(as_tuple(o) for o in options), whole=True)


def shape(value: object) -> tuple[int, ...] | None:
    """(n,) for a list of n numbers, (r, c) for r rows of c numbers; None for anything else."""
    if not isinstance(value, list) or not value:
        return None
    if all(is_number(v) and math.isfinite(v) for v in value):
        return (len(value),)
    rows = {shape(v) for v in value}
    if len(rows) == 1 and (row := rows.pop()) is not None and len(row) == 1:
        return (len(value), row[0])
    return None


def as_tuple(value: list[Any]) -> tuple[Any, ...]:
    return tuple(as_tuple(v) if isinstance(v, list) else float(v) for v in value)


def read_require(source: str, raw: object) -> tuple[Condition, ...]:
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise ProblemError(source, "variants.require",
                           'expected a list of conditions such as ["abs(z2[1]) < 2"]')
    limits.at_most(source, "variants.require", "conditions", len(raw), limits.CONDITIONS)
    return tuple(read_condition(source, f"variants.require[{k}]", text)
                 for k, text in enumerate(raw, 1))


def read_condition(source: str, field: str, text: str) -> Condition:
    """`abs(z2[1]) < 2` → Lt(Abs(Symbol("z2[1]")), 2), through the safe parser."""
    prefix = "_q"
    while prefix in text:  # a placeholder can never be a name the text itself uses
        prefix += "q"
    names: dict[str, str] = {}  # placeholder → JSON name

    def swap(match: re.Match[str]) -> str:
        name = re.sub(r"\s+", "", match.group())
        if "[" not in name and "/" not in name:
            return match.group()  # an identifier: the parser reads it (a name or a function)
        placeholder = f"{prefix}{len(names)}"
        names[placeholder] = name
        # padded to the name's length, so that an error's position is the text's own
        return placeholder.ljust(len(match.group()))

    swapped = NAME_IN_TEXT.sub(swap, text)
    used: set[str] = set()

    def symbol_for(token: str) -> sympy.Expr:
        name = names.get(token, token)
        used.add(name)
        return sympy.Symbol(name)

    try:
        relation = parse_expression(swapped, symbol_for, DEFAULT_FUNCTIONS, relations=True)
    except ExpressionError as error:
        message = str(error)
        for placeholder in sorted(names, key=len, reverse=True):
            message = message.replace(placeholder, names[placeholder])
        raise ProblemError(source, field, f"{text!r}: {message}") from None
    if not isinstance(relation, sympy.core.relational.Relational) or not relation.free_symbols:
        raise ProblemError(source, field, f"{text!r}: expected a comparison of computed "
                           "quantities, such as abs(z2[1]) < 2")
    for side in relation.args:
        if side.has(sympy.core.relational.Relational) or side.has(sympy.Tuple) or not isinstance(side, sympy.Expr):
            raise ProblemError(source, field, f"{text!r}: expected one comparison (a < b)")
    return Condition(text, field, relation, tuple(sorted(used)))


def read_avoid(source: str, raw: object) -> frozenset[str]:
    if not isinstance(raw, list) or not all(a in AVOIDABLE for a in raw):
        raise ProblemError(source, "variants.avoid",
                           f"expected a list drawn from {', '.join(AVOIDABLE)}, got {raw!r}")
    return frozenset(raw)


def read_max_draws(source: str, raw: object) -> int | None:
    if raw is None:
        return None
    if not isinstance(raw, int) or isinstance(raw, bool) or not 1 <= raw <= limits.DRAWS:
        raise ProblemError(source, "variants.draws",
                           f"expected a whole number of draws from 1 to {limits.DRAWS}, got {raw!r}")
    return raw
