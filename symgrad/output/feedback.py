"""A checked piece of work presented: plain text for the terminal, the JSON of `symgrad check
--json`, and a LaTeX feedback document (through the same sandboxed jinja2 environment as the
sheets) listing each line of the student's work with ✓, ✗ or ECF, the expected value in the
sheet's notation, and the diagnosis.

The student's own lines are user input: in LaTeX they are set as escaped text, never pasted in
as mathematics.  Only the expected values are mathematics, printed from the sheet's notation.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symgrad.errors import SymgradError
from symgrad.input.names import Partial
from symgrad.output.latex import format_number
from symgrad.output.notation import latex_names
from symgrad.output.render import environment, escape_tex, printable, template_error

if TYPE_CHECKING:
    from symgrad.analyses.check import Item, Report
    from symgrad.analyses.sheet import Sheet

MARKS = {"correct": "✓", "correct-ecf": "ECF", "wrong": "✗", "inconsistent": "!",
         "unchecked": "?"}
TEX_MARKS = {"correct": r"$\checkmark$", "correct-ecf": "ECF", "wrong": r"$\times$",
             "inconsistent": r"\textbf{!}", "unchecked": "?"}
EXTRA = {"½": "1/2", "…": "...", "✓": "", "✗": "", "′": "'", "≠": "!="}


def report_json(report: Report) -> dict[str, Any]:
    """The contract of `symgrad check --json`."""
    return {
        "title": report.title,
        "score": {"points": round(report.points, 6), "out_of": round(report.out_of, 6)},
        "counts": report.counts,
        "parts": [{"question": p.question, "part": p.part, "points": p.points,
                   "out_of": p.out_of, "items": p.items} for p in report.parts],
        "items": [{
            "key": i.key, "question": i.question, "part": i.part, "line": i.line or None,
            "text": i.text,
            "claimed": plain_json(i.claimed), "expected": plain_json(i.expected),
            "verdict": i.verdict, "diagnosis": i.diagnosis,
        } for i in report.items],
    }


def plain_json(value: Any) -> Any:
    """A number, a string, a list of them, or None: always strict JSON."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(float(value)) else str(value)
    if isinstance(value, (list, tuple)):
        return [plain_json(v) for v in value]
    return str(value)


def shown(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        return "(" + ", ".join(shown(v) for v in value) + ")"
    return str(value)


def where(item: Item) -> str:
    if not item.question:
        return ""
    return f"Question {item.question}" + (f" ({item.part})" if item.part else "")


def feedback_text(report: Report) -> str:
    """The report for the terminal: one block a line of work, grouped by question and part."""
    out = [one_line(f"{report.title}: {report.answers} checked against {report.problem}", 1000)]
    current = None
    for item in report.items:
        heading = where(item)
        if heading != current:
            current = heading
            out.append("")
            if heading:
                out.append(heading)
        line = f"line {item.line}" if item.line else "      "
        out.append(f"  {line:>8}  {MARKS[item.verdict]:<3} {one_line(item.text, 100)}")
        detail = []
        if item.verdict != "correct" and item.key:
            detail.append(f"{item.key}: expected {shown(item.expected)}"
                          + (f", found {shown(item.claimed)}" if item.claimed is not None else ""))
        if item.diagnosis:
            detail.append(item.diagnosis)
        for d in detail:
            out.append(f"{'':14}{one_line(d, 200)}")
    counts = report.counts
    out += ["", f"Score: {points(report.points)} / {points(report.out_of)}.  "
            + ", ".join(f"{counts[v]} {v}" for v in counts) + "."]
    return "\n".join(out) + "\n"


def points(x: float) -> str:
    return f"{x:.2f}".rstrip("0").rstrip(".")


def one_line(text: str, most: int) -> str:
    """One line of at most `most` characters, without control or format characters: a student's
    text cannot move the cursor, clear the terminal or reverse what follows (ESC, U+202E)."""
    text = " ".join("".join(map(printable, str(text))).split())
    return text if len(text) <= most else text[:most - 1] + "…"


# -- LaTeX

def prose(text: str) -> str:
    """Escaped prose with room to break long lines of a student's LaTeX."""
    for a, b in EXTRA.items():
        text = text.replace(a, b)
    escaped = escape_tex(one_line(text, 600))
    return re.sub(r"(\\\}|=|,|\+)", r"\1\\allowbreak{}", escaped)


def key_latex(key: str, names: dict[str, str]) -> str | None:
    """A quantity's name in the sheet's notation: ∂J/∂b^{[2]}_{1}, W^{[2]}_{11}, updated ones."""
    if key.startswith("updated "):
        base = names.get(key[len("updated "):])
        return f"{{{base}}}^{{\\text{{new}}}}" if base else None
    partial = Partial.parse(key)
    if partial is not None:
        top, wrt = names.get(partial.top), names.get(partial.wrt)
        return r"\frac{\partial %s}{\partial %s}" % (top, wrt) if top and wrt else None
    return names.get(key)


def diagnosis_latex(text: str, names: dict[str, str]) -> str:
    """A diagnosis as escaped prose, with the quantities it names ("yhat[1]", "dL/dW2[1,1]")
    set as mathematics in the sheet's notation, as the rest of the feedback is."""
    known = sorted(names, key=len, reverse=True)
    if not known:
        return prose(text)
    name = "|".join(re.escape(n) for n in known)
    pattern = re.compile(rf"(?<![\w\[])(?:d(?:{name})/d(?:{name})|(?:{name}))(?![\w\]])")
    def words(piece: str) -> str:  # prose() trims; the spaces around a formula stay
        inner = prose(piece)
        return (" " if piece[:1].isspace() else "") + inner + (" " if piece[-1:].isspace() and inner else "")

    out, at = [], 0
    for match in pattern.finditer(text):
        math = key_latex(match.group(), names)
        if math is None:
            continue
        out.append(words(text[at:match.start()]) + f"${math}$")
        at = match.end()
    return "".join(out) + words(text[at:])


def feedback_context(report: Report, sheet: Sheet) -> dict[str, Any]:
    tables: dict[tuple[str, str], dict[str, str]] = {}
    for q in sheet.questions:
        for part in q.parts:
            if part.solution is not None:
                notation = sheet.notation
                if part.solution.spec.network is None:  # a graph keeps its file's names
                    notation = replace(notation, symbols={})
                tables[q.number, part.label] = latex_names(
                    [n.name for n in part.solution.graph.nodes], notation)
    groups: list[dict[str, Any]] = []
    for item in report.items:
        heading = where(item)
        if not groups or groups[-1]["heading"] != heading:
            groups.append({"heading": escape_tex(heading), "lines": [], "raw": heading})
        names = tables.get((item.question, item.part), {})
        math = key_latex(item.key, names) if item.key else None
        expected = None
        if isinstance(item.expected, (int, float)) and not isinstance(item.expected, bool):
            expected = format_number(item.expected, sheet.precision)
        groups[-1]["lines"].append({
            "mark": TEX_MARKS[item.verdict],
            "verdict": item.verdict,
            "line": item.line or "",
            "text": prose(item.text),
            "quantity": math,
            "expected": expected,
            "expected_text": prose(shown(item.expected)) if item.expected is not None and expected is None else "",
            "diagnosis": diagnosis_latex(item.diagnosis, names) if item.diagnosis else "",
        })
    return {
        "title": escape_tex(one_line(report.title, 200)),
        "answers": escape_tex(one_line(Path(report.answers).name, 200)),
        "problem": escape_tex(one_line(Path(report.problem).name, 200)),
        "points": points(report.points),
        "out_of": points(report.out_of),
        "counts": report.counts,
        "groups": groups,
        "parts": [{"heading": escape_tex(f"Question {p.question}" + (f" ({p.part})" if p.part else "")
                                         if p.question else "The problem"),
                   "points": points(p.points), "out_of": points(p.out_of), "count": p.items}
                  for p in report.parts],
    }


def render_feedback(report: Report, sheet: Sheet, user_templates: str | Path | None = None) -> str:
    """The feedback document as LaTeX (templates/feedback.tex.j2, in the sandbox)."""
    context = feedback_context(report, sheet)
    env = environment(user_templates)
    try:
        return env.get_template("feedback.tex.j2").render(context)
    except Exception as error:  # noqa: BLE001 - any template failure is one line
        raise SymgradError(template_error(error, env.loader.loaded)) from None  # type: ignore[union-attr]
