"""A checked piece of work presented: plain text for the terminal, the JSON of `symgrad check
--json`, and a LaTeX feedback document (through the same sandboxed jinja2 environment as the
sheets) listing each line of the student's work with ✓, ✗ or ECF, the expected value in the
sheet's notation, and the diagnosis.

The student's own lines are user input and never reach TeX as they were written: each line is
typeset from its parsed tree by symgrad's own printer (output/studentmath.py), which rebuilds
numbers, names and functions from a fixed vocabulary; a side that could not be read is set as
escaped text.  The side found wrong is boxed, with the expected value (in the sheet's notation)
and the diagnosis below it.  The student's notation as it was read heads the document.
"""

from __future__ import annotations

import math
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from symgrad.errors import SymgradError
from symgrad.input.mathtext import Name, walk
from symgrad.input.mathtext import Partial as MathPartial
from symgrad.input.names import Partial
from symgrad.output import studentmath
from symgrad.output.latex import format_number
from symgrad.output.notation import latex_names
from symgrad.output.render import environment, escape_tex, printable, template_error

if TYPE_CHECKING:
    from symgrad.analyses.check import Item, Report
    from symgrad.analyses.notation import SymbolEntry
    from symgrad.analyses.sheet import Sheet
    from symgrad.input.answers import Element

MARKS = {"correct": "✓", "correct-ecf": "ECF", "wrong": "✗", "inconsistent": "!",
         "unchecked": "?"}
TEX_MARKS = {"correct": r"$\checkmark$", "correct-ecf": "ECF", "wrong": r"$\times$",
             "inconsistent": r"\textbf{!}", "unchecked": "?"}
EXTRA = {"½": "1/2", "…": "...", "✓": "", "✗": "", "′": "'", "≠": "!="}
MARK_COLOURS = {"wrong": "wrongpart", "inconsistent": "brokenlink"}  # defined in the template
SOURCES = {"sheet": "the sheet's notation", "check.symbols": "the [check.symbols] table",
           "convention": "convention", "definitions": "your definitions"}


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
            "verdict": i.verdict, "diagnosis": i.diagnosis, "name": i.name,
            "mistake": i.mistake,
        } for i in report.items],
        "coverage": report.coverage,
        "symbols": [{"name": e.name, "key": e.key, "target": e.target, "source": e.source,
                     "question": e.question, "part": e.part, "ambiguous": e.ambiguous}
                    for e in report.symbols],
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
    out += notation_text(report.symbols)
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
    coverage = report.coverage
    out += ["", f"Checked {coverage['checked']} of {coverage['lines']} lines.",
            f"Score: {points(report.points)} / {points(report.out_of)}.  "
            + ", ".join(f"{counts[v]} {v}" for v in counts) + "."]
    return "\n".join(out) + "\n"


def notation_text(symbols: tuple[SymbolEntry, ...], most: int = 40) -> list[str]:
    """The student's notation for the terminal: one line a name (once, whatever the questions
    it holds in), at most `most` of them."""
    rows: dict[tuple[str, str, str], list[str]] = {}
    for e in symbols:
        means = f"ambiguous: {e.ambiguous}" if e.ambiguous else e.target
        rows.setdefault((e.name, means, e.source), [])
        if e.question and e.question not in rows[e.name, means, e.source]:
            rows[e.name, means, e.source].append(e.question)
    if not rows:
        return []
    out = ["", "Your notation:"]
    for (name, means, source), questions in list(rows.items())[:most]:
        where = f", question {', '.join(questions)}" if questions else ""
        out.append(f"  {one_line(name, 40)} = {one_line(means, 160)}  ({one_line(source, 60)}"
                   f"{one_line(where, 60)})")
    if len(rows) > most:
        out.append(f"  ... and {len(rows) - most} more")
    return out


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


def typewriter(text: str) -> str:
    """A side that could not be read, as escaped typewriter text that may break anywhere in a
    long run of characters (TeX finds no break in `q_{999...}` otherwise)."""
    for a, b in EXTRA.items():
        text = text.replace(a, b)
    text = one_line(text, 600)
    runs = re.split(r"(\S{30,})", text)
    out = [prose(r) if k % 2 == 0 else r"\allowbreak{}".join(
        escape_tex(r[i:i + 24]) for i in range(0, len(r), 24)) for k, r in enumerate(runs)]
    return r"\texttt{" + " ".join(o for o in out if o) + "}"


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


def diagnosis_latex(text: str, names: dict[str, str], quoted: dict[str, str] | None = None) -> str:
    """A diagnosis as escaped prose, with the quantities it names ("yhat[1]", "dL/dW2[1,1]")
    set as mathematics in the sheet's notation, as the rest of the feedback is, and what it
    quotes of the student's line (`quoted`: text as written → LaTeX from symgrad's printer,
    "\\sigma(0.4047) is 0.599816") typeset."""
    if not quoted:
        return names_latex(text, names)
    pattern = re.compile(r"“[^”]*”|(?<![\w.\\])(?:%s)(?!\w|\.[0-9])" % "|".join(
        re.escape(t) for t in sorted(quoted, key=len, reverse=True)))
    out, at = [], 0
    for match in pattern.finditer(text):
        if match.group().startswith("“"):  # text quoted as written (could not read “...”)
            continue
        out.append(names_latex(text[at:match.start()], names, edges=True))
        out.append(f"${quoted[match.group()]}$")
        at = match.end()
    return "".join(out) + names_latex(text[at:], names, edges=bool(out))


def quotable(text: str) -> bool:
    """A piece of a student's line worth typesetting where a message quotes it: not a number
    (prose sets it well) and not a lone word or letter ("a" is also English)."""
    return len(text) > 1 and re.fullmatch(r"[A-Za-z]+", text) is None and \
        studentmath.NUMBER.fullmatch(text.lstrip("+- ")) is None


def quotes(item: Item, names: dict[str, str]) -> dict[str, str]:
    """What a message about the item may quote of its line, typeset: each side, and each name
    as the parser wrote it ("w_{1}'", "\\bar{z}_{b}")."""
    out: dict[str, str] = {}
    for e in item.statement.elements if item.statement else ():
        if e.node is None:
            continue
        if quotable(e.text):
            out[e.text] = studentmath.math_latex(e.node, engine(names))
        for n in walk(e.node):
            for name in (n.top, n.wrt) if isinstance(n, MathPartial) else (n,):
                if isinstance(name, Name) and quotable(name.text) and len(out) < 200:
                    out.setdefault(name.text, studentmath.name_latex(name, engine(names)))
    return out


def names_latex(text: str, names: dict[str, str], edges: bool = False) -> str:
    """Escaped prose with the engine's names in it set in the sheet's notation.  `edges` keeps
    a space at either end (the piece sits between two formulas)."""
    def words(piece: str) -> str:  # prose() trims; the spaces around a formula stay
        inner = prose(piece)
        return (" " if piece[:1].isspace() else "") + inner + (" " if piece[-1:].isspace() and inner else "")

    known = sorted(names, key=len, reverse=True)
    if not known:
        return words(text) if edges else prose(text)
    name = "|".join(re.escape(n) for n in known)
    pattern = re.compile(rf"(?<![\w\[])(?:d(?:{name})/d(?:{name})|(?:{name}))(?![\w\]])")
    out, at = [], 0
    for match in pattern.finditer(text):
        math = key_latex(match.group(), names)
        if math is None:
            continue
        out.append(words(text[at:match.start()]) + f"${math}$")
        at = match.end()
    if not out and not edges:
        return prose(text)
    return "".join(out) + words(text[at:])


def engine(names: dict[str, str]) -> studentmath.Engine:
    """An engine name the student wrote (W2[1,1], dL/dW2[1,1]) in the sheet's notation."""
    return lambda name: key_latex(name, names)


def marked_element(item: Item) -> int | None:
    """The side of the line to mark: the checker's, or else the end of a wrong line, or the
    last side on the line of a broken link."""
    st = item.statement
    if st is None or item.verdict not in MARK_COLOURS or not st.elements:
        return None
    if item.mark is not None:
        return item.mark if 0 <= item.mark < len(st.elements) else None
    if item.verdict == "inconsistent":
        on_line = [k for k, e in enumerate(st.elements) if e.line == item.line]
        return on_line[-1] if on_line else len(st.elements) - 1
    return len(st.elements) - 1


def element_latex(element: Element, names: dict[str, str], colour: str | None) -> str:
    """One side of the student's line: typeset from its tree (\\flowmath where TeX may break it,
    \\fitmath where it is one box, scaled down if wider than the line), or as escaped text when
    it could not be read; boxed in `colour` when it is the side found wrong."""
    if element.node is None:
        body = typewriter(element.text)
        return rf"\markedtext{{{colour}}}{{{body}}}" if colour else body
    math = studentmath.math_latex(element.node, engine(names))
    if colour:
        flows = 1 if studentmath.breakable(element.node) else 0
        return rf"\markedmath{{{colour}}}{{{flows}}}{{{math}}}"
    return (r"\flowmath{%s}" if studentmath.breakable(element.node) else r"\fitmath{%s}") % math


def work_latex(item: Item, names: dict[str, str]) -> str:
    """The student's line typeset: its sides side by side with = between them."""
    st = item.statement
    if st is None or not st.elements:
        return typewriter(item.text)
    mark = marked_element(item)
    sides = [element_latex(e, names, MARK_COLOURS[item.verdict] if k == mark else None)
             for k, e in enumerate(st.elements)]
    return (r"$=$ " if st.headless else "") + " $=$ ".join(sides)


def same_name(a: str, b: str) -> bool:
    """Two names that print alike (the student's h_1 and the sheet's h_{1})."""
    return a == b or studentmath.quantity_latex(b) == a


def notation_tables(sheet: Sheet) -> dict[tuple[str, str], dict[str, str]]:
    """Each part's names in the sheet's notation (LaTeX), by (question, part)."""
    tables: dict[tuple[str, str], dict[str, str]] = {}
    for q in sheet.questions:
        for part in q.parts:
            if part.solution is not None:
                notation = sheet.notation
                if part.solution.spec.network is None:  # a graph keeps its file's names
                    notation = replace(notation, symbols={})
                tables[q.number, part.label] = latex_names(
                    [n.name for n in part.solution.graph.nodes], notation)
    return tables


def feedback_context(report: Report, sheet: Sheet) -> dict[str, Any]:
    tables = notation_tables(sheet)
    known = {e.name: m for e in report.symbols[:500] if quotable(e.name)
             for m in [studentmath.quantity_latex(e.name)] if m}  # "z_{2} is used for two things"
    groups: list[dict[str, Any]] = []
    for item in report.items:
        heading = where(item)
        if not groups or groups[-1]["heading"] != heading:
            groups.append({"heading": escape_tex(heading), "lines": [], "raw": heading})
        names = names_for(tables, item.question, item.part)
        math = key_latex(item.key, names) if item.key else None
        expected = None
        if isinstance(item.expected, (int, float)) and not isinstance(item.expected, bool):
            expected = format_number(item.expected, sheet.precision)
        own = studentmath.quantity_latex(item.name, engine(names)) if item.name else None
        groups[-1]["lines"].append({
            "mark": TEX_MARKS[item.verdict],
            "verdict": item.verdict,
            "colour": MARK_COLOURS.get(item.verdict, "ecfnote" if item.verdict == "correct-ecf"
                                       else "othernote"),
            "line": item.line or "",
            "text": prose(item.text),
            "work": work_latex(item, names),
            "quantity": math,
            "name": own if own and not (math and same_name(own, math)) else None,
            "expected": expected,
            "expected_text": prose(shown(item.expected)) if item.expected is not None and expected is None else "",
            "diagnosis": diagnosis_latex(item.diagnosis, names, known | quotes(item, names))
                         if item.diagnosis else "",
        })
    return {
        "title": escape_tex(one_line(report.title, 200)),
        "answers": escape_tex(one_line(Path(report.answers).name, 200)),
        "problem": escape_tex(one_line(Path(report.problem).name, 200)),
        "points": points(report.points),
        "out_of": points(report.out_of),
        "counts": report.counts,
        "coverage": report.coverage,
        "symbols": (symbols := notation_rows(report.symbols, tables)),
        "with_questions": any(s["questions"] for s in symbols),
        "groups": groups,
        "parts": [{"heading": escape_tex(f"Question {p.question}" + (f" ({p.part})" if p.part else "")
                                         if p.question else "The problem"),
                   "points": points(p.points), "out_of": points(p.out_of), "count": p.items}
                  for p in report.parts],
    }


def names_for(tables: dict[tuple[str, str], dict[str, str]], question: str, part: str,
              target: str = "") -> dict[str, str]:
    """The sheet's names for a part; for a line or a name of a whole question (no part), those
    of its first part (that holds `target`), and failing that of any part that holds it."""
    if (question, part) in tables:
        return tables[question, part]
    return next((t for (q, _), t in tables.items() if q == question and (not target or target in t)),
                next((t for t in tables.values() if target and target in t), {}))


def notation_rows(symbols: tuple[SymbolEntry, ...],
                  tables: dict[tuple[str, str], dict[str, str]]) -> list[dict[str, str]]:
    """The table "Your notation": each name rebuilt from its key (never its text), what it
    stands for in the sheet's notation (or why it is ambiguous), where it was learnt and the
    questions it holds in; a name that means the same everywhere is one row."""
    rows: dict[tuple[str, str, str], dict[str, Any]] = {}
    for e in symbols:
        names = names_for(tables, e.question, e.part, e.target)
        name = studentmath.key_latex(e.key, engine=engine(names))
        if e.ambiguous:
            quoted = {e.name: name} if quotable(e.name) else {}
            means = r"\emph{ambiguous:} " + diagnosis_latex(e.ambiguous, names, quoted)
        else:
            target = key_latex(e.target, names) if e.target else None
            means = f"${target}$" if target else r"\texttt{" + prose(e.target) + "}"
        source = escape_tex(one_line(SOURCES.get(e.source, e.source), 80))
        row = rows.setdefault((name, means, source), {"name": name, "means": means,
                                                      "source": source, "questions": []})
        question = e.question + (f" ({e.part})" if e.part else "")
        if question and question not in row["questions"]:
            row["questions"].append(question)
    return [dict(r, questions=escape_tex(one_line(", ".join(r["questions"]), 80)))
            for r in rows.values()]


def render_feedback(report: Report, sheet: Sheet, user_templates: str | Path | None = None) -> str:
    """The feedback document as LaTeX (templates/feedback.tex.j2, in the sandbox)."""
    context = feedback_context(report, sheet)
    env = environment(user_templates)
    try:
        return env.get_template("feedback.tex.j2").render(context)
    except Exception as error:  # noqa: BLE001 - any template failure is one line
        raise SymgradError(template_error(error, env.loader.loaded)) from None  # type: ignore[union-attr]
