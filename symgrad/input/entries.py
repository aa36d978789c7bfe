"""Typed reading of one TOML table and of its entries (numbers, names, vectors, matrices).

Every check names the file, the field and what was expected, so that a bad problem file gives
one clear line.  Shared by the readers of networks, their layers and sheets.
"""

from __future__ import annotations

import re
from typing import Any, NoReturn, cast

from symgrad.errors import ProblemError

# A weight, bias, input or target: a number, or None/a name to keep it symbolic.
Value = int | float | str | None

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class Reader:
    """Typed access to one TOML table, reporting a wrong field by its dotted path."""

    def __init__(
        self, source: str, table: dict[str, Any], path: str, allowed: set[str] | None
    ) -> None:
        """`allowed`: the keys this table may have; None for a table of the user's own names."""
        self.source, self.table, self.path = source, table, path
        unknown = [key for key in table if allowed is not None and key not in allowed]
        if unknown:
            expected = ", ".join(sorted(allowed or ()))
            self.fail(unknown[0], f"unknown field (expected one of: {expected})")

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, expected: str) -> NoReturn:
        raise ProblemError(self.source, self.where(key), expected)

    def table_at(self, key: str, allowed: set[str] | None) -> Reader:
        value = self.table.get(key)
        if not isinstance(value, dict):
            self.fail(key, "expected a table")
        return Reader(self.source, value, self.where(key), allowed)

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.table.get(key, default)
        if value is not None and not isinstance(value, str):
            self.fail(key, f"expected a string, got {value!r}")
        return value

    def number(self, key: str, positive: bool = False) -> float | None:
        value = self.table.get(key)
        if value is None:
            return None
        if not is_number(value):
            self.fail(key, f"expected a number, got {value!r}")
        if positive and value <= 0:
            self.fail(key, f"expected a positive number, got {value!r}")
        return value

    def integer(self, key: str) -> int:
        value = self.table.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.fail(key, f"expected a positive whole number, got {value!r}")
        return value


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def entry(source: str, field: str, value: object) -> Value:
    """One number, or a name that keeps the entry symbolic."""
    if is_number(value):
        return value  # type: ignore[return-value]
    if isinstance(value, str) and IDENTIFIER.match(value):
        return value
    raise ProblemError(
        source, field, f"expected a number, or a name to keep it symbolic, got {value!r}"
    )


def vector(source: str, field: str, value: object, length: int, what: str) -> tuple[Value, ...]:
    if not isinstance(value, list) or len(value) != length:
        got = f"{len(value)} entries" if isinstance(value, list) else repr(value)
        raise ProblemError(source, field, f"expected a list of {length} {what}, got {got}")
    return tuple(entry(source, f"{field}[{k + 1}]", v) for k, v in enumerate(value))


def symbolic_or_vector(source: str, field: str, value: object, units: int) -> tuple[Value, ...] | None:
    """Biases: a list, `true` for symbolic biases, or nothing (omitted or `false`) for none."""
    if value is None or value is False:
        return None
    if value is True:
        return (None,) * units
    return vector(source, field, value, units, "biases (or true for symbolic biases)")


def matrix(
    source: str, field: str, value: object, units: int, fan_in: int, layout: str
) -> tuple[tuple[Value, ...], ...]:
    """The weight matrix as [into unit i][from unit j], whatever the file's layout."""
    rows, cols = (units, fan_in) if layout == "out_in" else (fan_in, units)
    shape_ok = isinstance(value, list) and len(value) == rows and all(
        isinstance(row, list) and len(row) == cols for row in value
    )
    if not shape_ok:
        got = shape_of(value)
        raise ProblemError(
            source,
            field,
            f"expected {rows} rows of {cols} entries ({layout} layout: {units} units fed by "
            f"{fan_in}), got {got}",
        )
    rows_read = cast(list[list[object]], value)  # its shape was checked above
    table = tuple(
        tuple(entry(source, f"{field}[{r + 1}][{c + 1}]", v) for c, v in enumerate(row))
        for r, row in enumerate(rows_read)
    )
    return table if layout == "out_in" else tuple(zip(*table))


def shape_of(value: object) -> str:
    if not isinstance(value, list):
        return repr(value)
    widths = {len(row) if isinstance(row, list) else -1 for row in value}
    if widths == {-1}:
        return f"a flat list of {len(value)}"
    if len(widths) == 1 and -1 not in widths:
        return f"{len(value)} rows of {widths.pop()}"
    return f"{len(value)} rows of unequal length"
