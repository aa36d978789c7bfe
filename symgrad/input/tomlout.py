"""A problem (a dict in the problem file's structure) written as a TOML problem file.

The small subset a problem file uses: strings, whole numbers, floats, booleans, nested lists of
them, tables and arrays of tables.  Written by hand rather than by a TOML library so that a
matrix keeps one row to a line (as the README's files do), not one number to a line.  Floats are
written as `repr` writes them: the shortest text that reads back as the same float64.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from symgrad.errors import SymgradError

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
WIDTH = 96  # a list that fits is written on one line


def to_toml(problem: dict[str, Any]) -> str:
    """The problem as the text of a problem file; `tomllib.loads` of it gives `problem` back."""
    if not isinstance(problem, dict):
        raise SymgradError(f"to_toml: expected a problem as a dict, got {type(problem).__name__}")
    lines: list[str] = []
    write_table(problem, [], lines)
    return "\n".join(lines).lstrip("\n") + "\n"


def key(name: object) -> str:
    if not isinstance(name, str):
        raise SymgradError(f"to_toml: a key must be a string, got {name!r}")
    return name if BARE_KEY.match(name) else string(name)


def string(text: str) -> str:
    # JSON's escapes (\" \\ \n \t \uXXXX ...) are TOML's; DEL must be escaped too in TOML
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def is_table_array(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def write_table(table: dict[str, Any], path: list[str], lines: list[str]) -> None:
    plain = [(k, v) for k, v in table.items() if v is not None and not isinstance(v, dict)
             and not is_table_array(v)]
    for name, value in plain:
        lines.append(f"{key(name)} = {literal(value, len(key(name)) + 3)}")
    for name, value in table.items():
        if isinstance(value, dict):
            nested = [v for v in value.values() if isinstance(v, dict) or is_table_array(v)]
            if not nested or len(nested) < sum(v is not None for v in value.values()):
                lines += ["", "[" + ".".join(map(key, path + [name])) + "]"]  # not [torch] before [torch.names]
            write_table(value, path + [name], lines)
        elif is_table_array(value):
            for item in value:
                lines += ["", "[[" + ".".join(map(key, path + [name])) + "]]"]
                write_table(item, path + [name], lines)


def literal(value: object, indent: int = 0) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SymgradError(f"to_toml: a problem file takes finite numbers, got {value}")
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return string(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{key(k)} = {literal(v)}" for k, v in value.items() if v is not None) + " }"
    if isinstance(value, (list, tuple)):
        items = [literal(v, indent + 1) for v in value]
        flat = "[" + ", ".join(items) + "]"
        if len(flat) + indent <= WIDTH and "\n" not in flat:
            return flat
        pad = " " * (indent + 1)
        if any(isinstance(v, (list, tuple, dict)) for v in value):  # one row to a line
            return "[" + (",\n" + pad).join(items) + "]"
        lines = [items[0]]  # numbers: as many to a line as fit
        for item in items[1:]:
            if indent + 1 + len(lines[-1]) + 2 + len(item) + 1 <= WIDTH:
                lines[-1] += ", " + item
            else:
                lines.append(item)
        return "[" + (",\n" + pad).join(lines) + "]"
    raise SymgradError(f"to_toml: cannot write {type(value).__name__} {value!r} in a problem file")
