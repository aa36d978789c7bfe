"""A graded class presented: grades.csv, the gradebook files Moodle and Canvas import,
results.jsonl, report.json, each student's feedback (HTML, and the typeset PDF), and the class
report (HTML with inline SVG plots, and a PDF).

The records come from `symgrad.grade` (a layer above this one, so they are read by their
attributes only): `result.graded` (student, variant, file, report, parts, total, out_of,
checked), `result.unreadable` (file, reason, student), `result.columns` and the summary dict
(the contract of report.json).  Every file is made in memory; the caller writes them all.

Everything a student wrote (ids, file names, lines) is user input: in HTML it is escaped by
jinja2's autoescape (the sandboxed environment of render.py, with autoescape on), in LaTeX by
escape_tex, and in a CSV a cell that a spreadsheet would read as a formula (= + - @, a tab or a
carriage return first) is quoted with a leading '.  The HTML has no address outside the page:
the style is inline and the plots are inline SVG.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from symgrad.errors import SymgradError
from symgrad.output.feedback import MARKS, SOURCES, one_line, points, shown, typewriter, where
from symgrad.output.feedback import prose as tex_prose
from symgrad.output.render import environment, escape_tex, template_error

GRADEBOOKS = ("moodle", "canvas")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# What each stable mistake id means, in a few words (the checker's diagnoses give the details).
MISTAKE_WORDS = {
    "update-sign": "the update's sign: θ + η·g instead of θ − η·g",
    "update-missing-eta": "the update without the learning rate η",
    "update-eta-twice": "the learning rate η applied twice",
    "sigmoid-derivative-form": "σ′ in a wrong form, e.g. (1 − σ)(1 + σ)",
    "missing-activation-derivative": "the activation's derivative g′(z) left out of the chain rule",
    "missing-activation": "the activation left out of the forward pass",
    "loss-half-dropped": "the ½ of the loss dropped",
    "loss-half-added": "a ½ added to the loss",
    "weights-transposed": "a weight matrix read transposed",
    "weight-indices-swapped": "a weight's indices swapped",
    "z-for-a": "z used where a belongs",
    "a-for-z": "a used where z belongs",
    "digit-slip": "a digit slip",
    "digits-transposed": "two digits transposed",
    "digit-dropped": "a digit dropped",
    "other-part-value": "the value of another part of the sheet",
    "other-variant-value": "the value of another variant (another student's numbers)",
    "other-quantity-value": "the value of another quantity",
    "sign-flipped": "the sign flipped",
    "wrong-number-used": "a wrong number used in the working",
    "broken-link": "a link of the chain that does not hold (A = B with A ≠ B)",
    "formula-refuted": "a formula refuted by symgrad verify",
    "dependency": "a dependency answered wrongly",
}

VERDICT_CLASS = {"correct": "ok", "correct-ecf": "ecf", "wrong": "bad", "inconsistent": "link",
                 "unchecked": "skip"}


# ---------------------------------------------------------------------------------------------
# Numbers and cells


def number(x: float) -> str:
    """Points and shares as a spreadsheet reads them: 10, 8.5, 0.8571 (at most 4 decimals)."""
    text = f"{round(float(x), 4):.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def short(x: float) -> str:
    """A number as a page shows it: at most 2 decimals (9.07, 10, 0.5)."""
    text = f"{round(float(x), 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def cell(text: Any) -> str:
    """A text cell no spreadsheet reads as a formula ("=HYPERLINK(...)" gets a leading ')."""
    text = " ".join(str(text).split()) if isinstance(text, str) else str(text)
    return f"'{text}" if text[:1] in FORMULA_START else text


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


def assignment(result: Any) -> str:
    """The gradebook column's name: the sheet's title on one line (at most 100 characters)."""
    return one_line(result.title, 100) or "symgrad"


# ---------------------------------------------------------------------------------------------
# The tables


def grades_csv(result: Any) -> str:
    """One row a student: student, variant, each part's points, total, out_of, checked (the share
    of the lines checked); a submission that could not be read has empty points."""
    columns = list(result.columns)
    rows: list[list[Any]] = [["student", "variant", *map(cell, columns), "total", "out_of", "checked"]]
    for g in result.graded:
        rows.append([cell(g.student), cell(g.variant),
                     *(number(g.parts[c][0]) if c in g.parts else "" for c in columns),
                     number(g.total), number(g.out_of), number(g.checked)])
    for u in result.unreadable:
        rows.append([cell(u.student or Path(u.file).stem), "", *("" for _ in columns), "", "", ""])
    return csv_text(rows)


def moodle_csv(result: Any) -> str:
    """Moodle's CSV grade import (Grades > Import > CSV file), keyed by the user's ID number:
    map "ID number" to the user field "ID number" and the assignment's column to a grade item."""
    rows: list[list[Any]] = [["ID number", cell(assignment(result))]]
    rows += [[cell(g.student), number(g.total)] for g in result.graded]
    return csv_text(rows)


def canvas_csv(result: Any) -> str:
    """Canvas's gradebook CSV (Grades > Import): Student, ID, SIS User ID, SIS Login ID,
    Section and one assignment column, with the "Points Possible" row Canvas writes itself.
    The student's id is the SIS User ID (and the name, which Canvas does not match on when an
    id matches); Canvas's own ID and the section are left for Canvas to fill in."""
    title = cell(assignment(result))
    out_of = max((g.out_of for g in result.graded), default=0.0)
    rows: list[list[Any]] = [["Student", "ID", "SIS User ID", "SIS Login ID", "Section", title],
                             ["    Points Possible", "", "", "", "", number(out_of)]]
    rows += [[cell(g.student), "", cell(g.student), "", "", number(g.total)] for g in result.graded]
    return csv_text(rows)


def results_jsonl(result: Any) -> str:
    """One line a student: the `check --json` report with student, variant and file."""
    lines = []
    for g in result.graded:
        record = {"student": g.student, "variant": g.variant, "file": g.file, **g.report.to_json()}
        items = record.get("items", [])
        for item, own in zip(items, g.report.items):  # the mistake id, whatever report_json holds
            item.setdefault("mistake", own.mistake)
        lines.append(json.dumps(record, ensure_ascii=False, allow_nan=False, separators=(",", ":")))
    return "".join(line + "\n" for line in lines)


def report_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def feedback_names(result: Any) -> dict[str, str]:
    """Each student's feedback file stem (feedback/STEM.html): the id with other characters than
    letters, digits and . @ + - as _, made unique (also where case is ignored)."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for g in result.graded:
        stem = re.sub(r"[^\w.@+-]", "_", g.student, flags=re.ASCII).strip("._")[:100] or "student"
        name, k = stem, 2
        while name.casefold() in taken:
            name, k = f"{stem}-{k}", k + 1
        taken.add(name.casefold())
        out[g.student] = name
    return out


# ---------------------------------------------------------------------------------------------
# Plots: inline SVG, built here from numbers; every text in them escaped


def esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    return Markup(f'<svg viewBox="0 0 {width} {height}" '
                  f'width="{width}" height="{height}" role="img" aria-label="{esc(label)}" '
                  f'class="plot">' + "".join(body) + "</svg>")


def nice_step(top: float, ticks: int = 5) -> float:
    raw = max(top, 1) / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)


def histogram_svg(bins: list[dict[str, float]], mean: float, out_of: float) -> Markup:
    """The score distribution: a bar a bin, counts on the left, the bins' ranges below, the mean
    as a dashed line."""
    width, height, left, right, top, bottom = 720, 270, 44, 12, 34, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    highest = max((b["count"] for b in bins), default=0)
    step = max(1, math.ceil(nice_step(highest)))
    ceiling = max(step, math.ceil(highest / step) * step)
    body = []
    for k in range(0, ceiling + 1, step):
        y = top + plot_h - plot_h * k / ceiling
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="grid"/>'
                    f'<text x="{left - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{k}</text>')
    slot = plot_w / max(len(bins), 1)
    for k, b in enumerate(bins):
        h = plot_h * b["count"] / ceiling
        x = left + k * slot
        body.append(f'<rect x="{x + 2:.1f}" y="{top + plot_h - h:.1f}" width="{slot - 4:.1f}" '
                    f'height="{h:.1f}" class="bar"><title>{esc(number(b["from"]))}–'
                    f'{esc(number(b["to"]))}: {b["count"]} students</title></rect>')
        if b["count"]:
            body.append(f'<text x="{x + slot / 2:.1f}" y="{top + plot_h - h - 3:.1f}" '
                        f'class="count" text-anchor="middle">{b["count"]}</text>')
        body.append(f'<text x="{x + slot / 2:.1f}" y="{top + plot_h + 15}" class="tick" '
                    f'text-anchor="middle">{esc(number(b["from"]))}–{esc(number(b["to"]))}</text>')
    if out_of > 0:
        x = left + plot_w * min(max(mean / out_of, 0), 1)
        before = x > left + plot_w * 0.8  # near the right edge: the label on the left of the line
        body.append(f'<line x1="{x:.1f}" y1="{top - 20}" x2="{x:.1f}" y2="{top + plot_h}" class="mean"/>'
                    f'<text x="{x - 5 if before else x + 5:.1f}" y="{top - 10}" class="meanlabel" '
                    f'text-anchor="{"end" if before else "start"}">mean {esc(short(mean))}</text>')
    body.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" class="axis"/>'
                f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" class="axislabel" '
                f'text-anchor="middle">points (out of {esc(number(out_of))})</text>')
    return svg(width, height, "The score distribution: students by points", body)


def parts_svg(parts: list[dict[str, Any]]) -> Markup:
    """Each part's mean as a share of its marks (a bar), its spread (± one standard deviation, a
    thick whisker) and its range (min to max, a thin line)."""
    row, left, right, top = 30, 70, 170, 22
    width = 720
    plot_w = width - left - right
    height = top + row * len(parts) + 24
    body = []
    for k in range(0, 101, 25):
        x = left + plot_w * k / 100
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 22}" class="grid"/>'
                    f'<text x="{x:.1f}" y="{height - 8}" class="tick" text-anchor="middle">{k}%</text>')
    for n, p in enumerate(parts):
        worth = p["out_of"] or 1
        y = top + n * row
        share = lambda v: left + plot_w * min(max(v / worth, 0), 1)  # noqa: E731
        mean, low, high = share(p["mean"]), share(p["mean"] - p["sd"]), share(p["mean"] + p["sd"])
        body.append(
            f'<text x="{left - 8}" y="{y + 15}" class="label" text-anchor="end">{esc(p["part"])}</text>'
            f'<rect x="{left}" y="{y + 4}" width="{mean - left:.1f}" height="16" class="bar part">'
            f'<title>{esc(p["part"])}: mean {esc(short(p["mean"]))} of {esc(short(p["out_of"]))}, '
            f'sd {esc(short(p["sd"]))}, {esc(short(p["min"]))} to {esc(short(p["max"]))}</title></rect>'
            f'<line x1="{share(p["min"]):.1f}" y1="{y + 12}" x2="{share(p["max"]):.1f}" y2="{y + 12}" class="range"/>'
            f'<line x1="{low:.1f}" y1="{y + 12}" x2="{high:.1f}" y2="{y + 12}" class="spread"/>'
            f'<text x="{width - right + 8}" y="{y + 15}" class="label">mean {esc(short(p["mean"]))} / '
            f'{esc(short(p["out_of"]))} (sd {esc(short(p["sd"]))})</text>')
    return svg(width, height, "Each part's mean share of its marks, with its spread", body)


def mistakes_svg(mistakes: list[dict[str, Any]], most: int = 15) -> Markup:
    """The mistakes by cause: the share of the class that made each (the most common first)."""
    shown_ = mistakes[:most]
    row, left, right, top = 24, 230, 90, 8
    width = 720
    plot_w = width - left - right
    height = top + row * len(shown_) + 26
    highest = max((m["share"] for m in shown_), default=0) or 1
    ceiling = min(1.0, math.ceil(highest * 10) / 10) or 1
    body = []
    for k in range(0, 5):
        value = ceiling * k / 4
        x = left + plot_w * k / 4
        body.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{height - 22}" class="grid"/>'
                    f'<text x="{x:.1f}" y="{height - 8}" class="tick" text-anchor="middle">'
                    f'{round(value * 100):g}%</text>')
    for n, m in enumerate(shown_):
        y = top + n * row
        w = plot_w * m["share"] / ceiling
        body.append(f'<text x="{left - 8}" y="{y + 15}" class="label" text-anchor="end">'
                    f'{esc(one_line(m["mistake"], 34))}</text>'
                    f'<rect x="{left}" y="{y + 4}" width="{w:.1f}" height="15" class="bar bad">'
                    f'<title>{esc(m["mistake"])}: {m["count"]} students</title></rect>'
                    f'<text x="{left + w + 6:.1f}" y="{y + 15}" class="label">{m["count"]} '
                    f'({esc(short(100 * m["share"]))}%)</text>')
    return svg(width, height, "The mistakes by cause: the share of the class that made each", body)


# ---------------------------------------------------------------------------------------------
# HTML


_HTML: dict[str, jinja2.Environment] = {}


def html_environment() -> jinja2.Environment:
    """render.py's sandbox with autoescape on: every value a template prints is escaped unless
    it is Markup made here (the plots)."""
    if "env" not in _HTML:
        env = environment()
        env.autoescape = True
        _HTML["env"] = env
    return _HTML["env"]


def run(name: str, context: dict[str, Any]) -> str:
    env = html_environment()
    try:
        return env.get_template(name).render(context)
    except Exception as error:  # noqa: BLE001 - any template failure is one line
        raise SymgradError(template_error(error, env.loader.loaded)) from None  # type: ignore[union-attr]


def mistake_words(mistake: str) -> str:
    return MISTAKE_WORDS.get(mistake, "")


def quantity_text(key: str) -> str:
    """An engine name as plain text: dL/dW2[1,1] as ∂L/∂W2[1,1]."""
    m = re.fullmatch(r"d(.+)/d(.+)", key)
    return f"∂{m[1]}/∂{m[2]}" if m else key


def work_html(item: Any, names: dict[str, str]) -> Markup:
    """The student's line typeset as MathML from its parsed tree (by symgrad's own printer, as
    the PDF's), the side found wrong marked; a side that could not be read as escaped text."""
    from symgrad.output import feedback, studentmath
    from symgrad.output.mathml import mathml

    st = item.statement
    if st is None or not st.elements:
        return Markup("<code>%s</code>") % one_line(item.text, 600)
    mark = feedback.marked_element(item)
    sides = []
    for k, e in enumerate(st.elements):
        side = Markup(mathml(studentmath.math_latex(e.node, feedback.engine(names)))) \
            if e.node is not None else Markup("<code>%s</code>") % one_line(e.text, 300)
        if k == mark:
            side = Markup('<span class="marked %s">%s</span>') % (item.verdict, side)
        sides.append(side)
    return (Markup("= ") if st.headless else Markup("")) + Markup(" = ").join(sides)


def feedback_context(g: Any, precision: int = 4) -> dict[str, Any]:
    from symgrad.output.feedback import key_latex, names_for, notation_tables
    from symgrad.output.mathml import mathml

    report = g.report
    tables = notation_tables(report.sheet) if getattr(report, "sheet", None) is not None else {}
    groups: list[dict[str, Any]] = []
    for item in report.items:
        heading = where(item) or "The problem"
        if not groups or groups[-1]["heading"] != heading:
            groups.append({"heading": heading, "lines": []})
        expected = shown(item.expected) if item.expected is not None else ""
        names = names_for(tables, item.question, item.part) if tables else {}
        groups[-1]["lines"].append({
            "work": work_html(item, names),
            "quantity_math": Markup(mathml(q)) if item.key and tables and
            (q := key_latex(item.key, names)) else "",
            "mark": MARKS[item.verdict], "verdict": item.verdict,
            "css": VERDICT_CLASS.get(item.verdict, "skip"),
            "line": item.line or "", "text": one_line(item.text, 600),
            "quantity": quantity_text(item.key) if item.key else "",
            "expected": expected if item.verdict != "correct" else "",
            "claimed": shown(item.claimed) if item.claimed is not None and item.verdict != "correct" else "",
            "diagnosis": one_line(item.diagnosis, 600) if item.diagnosis else "",
            "mistake": item.mistake,
        })
    symbols = []
    seen = set()
    for e in report.symbols:
        means = f"ambiguous: {e.ambiguous}" if e.ambiguous else e.target
        row = (e.name, means, e.source)
        if row in seen:
            continue
        seen.add(row)
        from symgrad.output.studentmath import key_latex as name_key_latex

        names = names_for(tables, e.question, e.part) if tables else {}
        own = name_key_latex(e.key) if e.key else None
        stands = key_latex(e.target, names) if e.target and tables else None
        symbols.append({"name": one_line(e.name, 80), "means": one_line(quantity_text(means), 200),
                        "name_math": Markup(mathml(own)) if own else "",
                        "means_math": Markup(mathml(stands)) if stands and not e.ambiguous else "",
                        "source": SOURCES.get(e.source, e.source),
                        "question": e.question + (f" ({e.part})" if e.part else "")})
    counts = report.counts
    return {
        "title": one_line(report.title, 200), "student": one_line(g.student, 100),
        "variant": g.variant, "file": one_line(Path(g.file).name, 200),
        "points": points(report.points), "out_of": points(report.out_of),
        "share": round(100 * report.points / report.out_of) if report.out_of else 0,
        "counts": counts, "coverage": report.coverage,
        "parts": [{"heading": (f"Question {p.question}" + (f" ({p.part})" if p.part else ""))
                   if p.question else "The problem", "points": points(p.points),
                   "out_of": points(p.out_of), "count": p.items} for p in report.parts],
        "symbols": symbols[:200], "with_questions": any(s["question"] for s in symbols[:200]),
        "groups": groups,
    }


def feedback_html(g: Any) -> str:
    """One student's feedback page: score, marks by part, their notation as read, and every
    line with its verdict, the expected value and the diagnosis."""
    return run("feedback.html.j2", feedback_context(g))


def report_context(result: Any, summary: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    graded = list(result.graded)
    mistakes = []
    for m in summary["mistakes"]:
        example = m["example"]
        mistakes.append({**m, "words": mistake_words(m["mistake"]),
                         "percent": short(100 * m["share"]),
                         "example": {**example, "text": one_line(example.get("text", ""), 300),
                                     "diagnosis": one_line(example.get("diagnosis", ""), 400),
                                     "href": href(names, example.get("student", ""))},
                         "students": [{"id": s, "href": href(names, s)} for s in m["students"]]})
    from symgrad.output.feedback import key_latex, notation_tables
    from symgrad.output.mathml import mathml

    sheet = next((g.report.sheet for g in graded if getattr(g.report, "sheet", None) is not None), None)
    # the quantities in the sheet's notation, as MathML (the first part that has each name)
    names = {k: v for table in (notation_tables(sheet).values() if sheet is not None else ())
             for k, v in table.items()}
    quantities: dict[str, dict[str, Any]] = {}
    for w in summary["wrong_values"]:
        latex = key_latex(w["key"], names) if names else None
        entry = quantities.setdefault(w["key"], {"key": w["key"], "text": quantity_text(w["key"]),
                                                 "math": Markup(mathml(latex)) if latex else "",
                                                 "values": [], "count": 0})
        entry["values"].append({**w, "diagnosis": one_line(w.get("diagnosis", ""), 300),
                                "variants": ", ".join(w.get("variants", []))})
        entry["count"] += w["count"]
    students = [{"id": g.student, "href": href(names, g.student), "variant": g.variant,
                 "parts": [number(g.parts[c][0]) if c in g.parts else "" for c in result.columns],
                 "total": number(g.total), "out_of": number(g.out_of),
                 "checked": short(100 * g.checked)} for g in graded]
    return {
        "title": one_line(summary["title"], 200), "problem": Path(result.problem).name,
        "summary": summary, "n": summary["students"], "graded": summary["graded"],
        "mean": short(summary["mean"]), "sd": short(summary["sd"]),
        "min": short(summary["min"]), "max": short(summary["max"]),
        "out_of": short(summary["out_of"]),
        "median": short(median([g.total for g in graded])),
        "checked": short(100 * sum(g.checked for g in graded) / len(graded)) if graded else "0",
        "variants": len({g.variant for g in graded if g.variant}),
        "histogram": histogram_svg(summary["histogram"], summary["mean"], summary["out_of"]),
        "parts_plot": parts_svg(summary["parts"]) if summary["parts"] else "",
        "parts": [{**p, **{k: short(p[k]) for k in ("out_of", "mean", "sd", "min", "max")}}
                  for p in summary["parts"]],
        "mistakes_plot": mistakes_svg(summary["mistakes"]) if summary["mistakes"] else "",
        "mistakes": mistakes,
        "quantities": sorted(quantities.values(), key=lambda q: -q["count"]),
        "unchecked": [{**u, "reason": one_line(u["reason"], 300) or "(no reason given)"}
                      for u in summary["unchecked"]],
        "unreadable": [{"file": one_line(u["file"], 300), "reason": one_line(u["reason"], 400)}
                       for u in summary["unreadable"]],
        "columns": list(result.columns), "students": students,
    }


def href(names: dict[str, str], student: str) -> str:
    return f"feedback/{quote(names[student])}.html" if student in names else ""


def median(values: list[float]) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    mid = len(s) // 2
    return s[mid] if len(s) % 2 else (s[mid - 1] + s[mid]) / 2


def report_html(result: Any, summary: dict[str, Any], names: dict[str, str]) -> str:
    return run("class_report.html.j2", report_context(result, summary, names))


# ---------------------------------------------------------------------------------------------
# LaTeX: the class report as a PDF


def report_tex(result: Any, summary: dict[str, Any]) -> str:
    """The class report as LaTeX (templates/class_report.tex.j2, in the sandbox): every text
    escaped here, the plots as TikZ from numbers."""
    out_of = summary["out_of"]
    bins = summary["histogram"]
    highest = max((b["count"] for b in bins), default=0)
    step = max(1, math.ceil(nice_step(highest)))
    ceiling = max(step, math.ceil(highest / step) * step)
    bars = [{"x0": k + 0.06, "x1": k + 0.94, "mid": k + 0.5, "h": round(6 * b["count"] / ceiling, 3),
             "count": b["count"], "label": f"{number(b['from'])}--{number(b['to'])}"}
            for k, b in enumerate(bins)]
    mean_x = round(len(bins) * min(max(summary["mean"] / out_of, 0), 1), 3) if out_of else 0
    ticks = [{"y": round(6 * k / ceiling, 3), "label": k} for k in range(0, ceiling + 1, step)]
    parts = []
    for p in summary["parts"]:
        worth = p["out_of"] or 1
        at = lambda v: round(10 * min(max(v / worth, 0), 1), 3)  # noqa: E731
        parts.append({"name": escape_tex(p["part"]), "y": len(parts),
                      "mean": at(p["mean"]), "low": at(p["mean"] - p["sd"]),
                      "high": at(p["mean"] + p["sd"]), "min": at(p["min"]), "max": at(p["max"]),
                      **{f"{k}_text": short(p[k]) for k in ("out_of", "mean", "sd", "min", "max")}})
    mistakes = []
    for m in summary["mistakes"]:
        example = m["example"]
        listed = m["students"][:40]
        mistakes.append({
            "id": escape_tex(m["mistake"]), "words": escape_tex(mistake_words(m["mistake"])),
            "count": m["count"], "percent": short(100 * m["share"]),
            "bar": round(10 * m["share"], 3),
            "students": escape_tex(", ".join(one_line(s, 60) for s in listed))
            + (escape_tex(f", and {len(m['students']) - len(listed)} more")
               if len(m["students"]) > len(listed) else ""),
            "example_student": escape_tex(one_line(example.get("student", ""), 60)),
            "example_line": example.get("line") or "",
            "example_text": typewriter(example.get("text", "")),
            "example_diagnosis": tex_prose(example.get("diagnosis", "")),
        })
    wrong = [{"quantity": escape_tex(quantity_text(w["key"])), "claimed": escape_tex(one_line(w["claimed"], 40)),
              "count": w["count"], "mistake": escape_tex(w.get("mistake") or ""),
              "variants": escape_tex(one_line(", ".join(w.get("variants", [])), 60)),
              "diagnosis": tex_prose(w.get("diagnosis") or "")} for w in summary["wrong_values"][:30]]
    context = {
        "title": escape_tex(one_line(summary["title"], 200)),
        "problem": escape_tex(one_line(Path(result.problem).name, 200)),
        "n": summary["students"], "graded": summary["graded"],
        "mean": short(summary["mean"]), "sd": short(summary["sd"]), "min": short(summary["min"]),
        "max": short(summary["max"]), "out_of": short(out_of),
        "median": short(median([g.total for g in result.graded])),
        "bars": bars, "ticks": ticks, "parts": parts, "mistakes": mistakes, "wrong": wrong,
        "variants": len({g.variant for g in result.graded if g.variant}), "mean_x": mean_x, "mean_side": "left" if mean_x > 0.8 * len(bins) else "right",
        "grid": [{"x": 2.5 * k, "label": 25 * k} for k in range(5)],
        "unchecked": [{"reason": tex_prose(u["reason"] or "(no reason given)"), "count": u["count"]}
                      for u in summary["unchecked"][:30]],
        "unreadable": [{"file": typewriter(Path(u["file"]).name), "reason": tex_prose(u["reason"])}
                       for u in summary["unreadable"][:200]],
        "more_unreadable": max(0, len(summary["unreadable"]) - 200),
    }
    env = environment()
    try:
        return env.get_template("class_report.tex.j2").render(context)
    except Exception as error:  # noqa: BLE001
        raise SymgradError(template_error(error, env.loader.loaded)) from None  # type: ignore[union-attr]


# ---------------------------------------------------------------------------------------------
# Every file of a graded class


def class_files(result: Any, summary: dict[str, Any], gradebook: str | None = None, pdf: bool = False,
                jobs: int = 1, progress: Callable[[int], None] | None = None) -> dict[str, str | bytes]:
    """Every file of the class, by its name in the output folder, made in memory: grades.csv,
    results.jsonl, report.json, report.html, feedback/STUDENT.html; the gradebook file; with
    `pdf` the PDFs of the report and of each student's feedback (TeX runs `jobs` at a time;
    `progress` is told of each one finished)."""
    if gradebook not in (None, *GRADEBOOKS):
        raise SymgradError(f"--gradebook {gradebook}: expected one of {', '.join(GRADEBOOKS)}")
    names = feedback_names(result)
    files: dict[str, str | bytes] = {
        "grades.csv": grades_csv(result),
        "results.jsonl": results_jsonl(result),
        "report.json": report_json(summary),
        "report.html": report_html(result, summary, names),
    }
    if gradebook == "moodle":
        files["gradebook-moodle.csv"] = moodle_csv(result)
    elif gradebook == "canvas":
        files["gradebook-canvas.csv"] = canvas_csv(result)
    for g in result.graded:
        files[f"feedback/{names[g.student]}.html"] = feedback_html(g)
    if pdf:
        from symgrad.output.pdf import compile_pdf

        documents = {"report.pdf": report_tex(result, summary)}
        documents |= {f"feedback/{names[g.student]}.pdf": g.report.to_latex() for g in result.graded}

        def one(item: tuple[str, str]) -> tuple[str, bytes]:
            name, tex = item
            built = compile_pdf(tex, Path(name).with_suffix(".tex").name)[0]
            if progress:
                progress(1)
            return name, built

        pool = ThreadPoolExecutor(max(1, jobs))
        try:
            files.update(dict(pool.map(one, documents.items())))
        finally:  # an error or a signal: start no more TeX runs
            pool.shutdown(wait=True, cancel_futures=True)
    return files
