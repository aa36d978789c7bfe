"""Shared by every test module: each bundled example is solved once and rendered once per session.

Solving seed001 takes seconds, and a dozen tests read the same examples; they share the objects
below instead of solving again.  The objects are the engine's plain data: a test reads them and
must never change them.  `from conftest import solved, rendered` gives the one cache, because
pytest imports this file as the module `conftest` from the tests folder.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import symgrad

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))


@functools.lru_cache(maxsize=None)
def solved(stem: str) -> Any:
    """examples/<stem>.toml solved (a Solution, or a Sheet of questions), once per session."""
    return symgrad.solve(ROOT / "examples" / f"{stem}.toml")


@functools.lru_cache(maxsize=None)
def _rendered(stem: str, key: bool) -> str:
    return solved(stem).to_latex(key=key)


def rendered(stem: str, key: bool = True) -> str:
    """The answer key (key=False: the question sheet) of examples/<stem>.toml, rendered once."""
    return _rendered(stem, bool(key))


def part(stem: str, question: str, label: str = "") -> Any:
    """The Solution of one part of an example sheet."""
    (q,) = [q for q in solved(stem).questions if q.number == question]
    (p,) = [p for p in q.parts if p.label == label]
    return p
