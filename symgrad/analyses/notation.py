"""The student's notation, read from their document before it is judged: which of their names
stands for which quantity of the problem, and where that was learnt.

Sources, strongest first: the `[check.symbols]` table, the student's own definitions
(`y = \\sigma(z_2)`, `z_3 = w_5 h_1 + w_6 h_2 + b_3`), the sheet's notation, conventional names
(x, h or a, z, o or ŷ; E, L, J or C for the loss; δ and a bar for adjoints) and values (a name
whose written number matches exactly one quantity).  A name the document uses for two things is
ambiguous: its lines are not judged against a guess.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SymbolEntry:
    """One name of the student's, as the report shows it."""

    name: str  # as the student (or the sheet) writes it: "z_2", "\\bar{w}_{j1}"
    key: str  # the parser's canonical key of the name ("z|2|")
    target: str  # the engine's name ("z2[1]"), "" when ambiguous
    source: str  # "check.symbols", "definition (line 68)", "sheet", "convention", "value (line 94)"
    question: str = ""  # the question and part it holds in ("" for the whole document)
    part: str = ""
    ambiguous: str = ""  # why it is not used: "z_2 is defined as z2[1] (line 68) and z1[2] (line 68)"
