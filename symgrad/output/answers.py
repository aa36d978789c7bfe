"""The asked answers of a sheet as an LMS takes them: each part's statement and worked solution as
HTML, and each answer with its LaTeX label, its value and a tolerance from the sheet's precision.

An answer is accepted within one unit in its last shown significant figure (0.08217 at 4
figures: ± 0.00001), so a student who rounds the intermediate values as the key does is marked
right.  Exactly 0 gets ± 10^-p.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symgrad.analyses.sheet import Sheet
from symgrad.analyses.variants import Answer, answer_value, answers_of
from symgrad.output.markdown import one_line, part_html, web_context


@dataclass(frozen=True)
class Asked:
    key: str  # as in variants.csv: "1a:dL/dW2[1,1]", "L", "updated W2[1,1]"
    label: str  # LaTeX, without delimiters: \frac{\partial L}{\partial W^{[2]}_{11}}
    what: str  # words after the label ("after one step"), or ""
    value: float
    tolerance: float


@dataclass(frozen=True)
class Item:
    """One part with asked answers, ready for an LMS."""

    number: str  # the question's number ("" for a single problem)
    label: str  # the part's letter ("" for a question of one part)
    statement: str  # HTML: the question's and part's text, the given values, what is asked
    solution: str  # HTML: the worked key
    answers: tuple[Asked, ...]

    @property
    def name(self) -> str:
        return f"{self.number}{self.label}"


def tolerance(value: float, precision: int) -> float:
    """One unit in the last of `precision` significant figures of `value`."""
    if value == 0 or not math.isfinite(value):
        return float(f"1e-{precision}")
    exponent = int(f"{abs(value):.{precision - 1}e}".split("e")[1])  # after rounding: 9.9996 → 1e1
    return float(f"1e{exponent - precision + 1}")


def items(sheet: Sheet, context: dict[str, Any], templates: str | Path | None = None) -> list[Item]:
    """Every part of the sheet that asks for a number, with its HTML and its answers."""
    web = web_context(sheet, context, "html")
    contexts = {}
    for q, qc in zip(sheet.questions, web["questions"]):
        for p, pc in zip(q.parts, qc["parts"]):
            contexts[id(p)] = (qc, pc)
    out = []
    for part, _, answers in answers_of(sheet):
        if not answers:
            continue
        qc, pc = contexts[id(part)]
        statement, solution = part_html(web, qc, pc, templates)
        asked = tuple(
            Asked(a.key, *label(a, pc), float(answer_value(part.solution, a)),  # type: ignore[arg-type]
                  tolerance(float(answer_value(part.solution, a)), sheet.precision))  # type: ignore[arg-type]
            for a in answers)
        number = one_line(qc_number(sheet, part)) if sheet.single is None else ""
        out.append(Item(number, part.label, statement, solution, asked))
    return out


def qc_number(sheet: Sheet, part: Any) -> str:
    """The number of the question a part belongs to ("1" when the file gives none)."""
    for n, q in enumerate(sheet.questions, 1):
        if any(p is part for p in q.parts):
            return q.number or str(n)
    return ""


def label(answer: Answer, part: dict[str, Any]) -> tuple[str, str]:
    """(LaTeX of the quantity, words after it) from the part's context."""
    if answer.kind == "gradient":
        rows = part["gradients"]
        key = answer.name
    elif answer.kind == "updated":
        optimized = part.get("optimized")
        if optimized:  # several steps of an optimizer: its parameters after the last
            return optimized["names"].get(answer.name, r"\theta"), optimized["words"]
        found = [u["theta"] for u in part["updates"] if u["key"] == f"updated {answer.name}"]
        return (found[0] if found else r"\theta"), "after one step of gradient descent"
    else:
        rows = [*part["forward"], *([part["loss"]] if part.get("loss") else [])]
        key = answer.name
    found = [r["lhs"] for r in rows if r.get("key") == key]
    return (found[0] if found else r"\text{the answer}"), ""
