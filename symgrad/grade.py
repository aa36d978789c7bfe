"""A whole class graded: every submission checked against its own variant, the sheet solved once
and each variant's numbers put into it (nothing derived again per student), every core used.

The result is records: one `Graded` a student (their check report and points), one `Unreadable`
a file that could not be read, and `ClassResult.summary()` for the class at a glance (the score
distribution, each part's mean and spread, the mistakes by their stable id, the most common wrong
values of each quantity, the lines left unchecked by reason).  symgrad.output.classreport turns
them into grades.csv, gradebooks, results.jsonl, report.json and the HTML and PDF reports.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import json
import math
import multiprocessing
import os
import re
import signal
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symgrad import api
from symgrad.analyses import sheet as sheets
from symgrad.analyses.check import check_sheet
from symgrad.errors import ProblemError, SymgradError
from symgrad.input.answers import (ANSWER_SUFFIXES, WRITTEN_SUFFIXES, CheckOptions, load_answers,
                                   load_check_problem)
from symgrad.input.spec import read_text

MAX_SUBMISSIONS = 100_000
MAX_ROSTER_BYTES = 10_000_000
VARIANT_LINE = re.compile(r"^[ \t>#*_`$\\]*variant[ \t]*:[ \t]*([A-Za-z0-9_-]{1,40})[ \t*_`$]*$",
                          re.I | re.M)


@dataclass(frozen=True)
class Graded:
    """One student's work, checked."""

    student: str
    variant: str  # the variant's id, "" without variants
    file: str
    report: api.CheckReport
    parts: dict[str, tuple[float, float]]  # "1a" → (points, out_of)

    @property
    def total(self) -> float:
        return round(self.report.points, 6)

    @property
    def out_of(self) -> float:
        return round(self.report.out_of, 6)

    @property
    def checked(self) -> float:
        """The share of the student's lines that could be checked."""
        coverage = self.report.coverage
        return round(coverage["checked"] / coverage["lines"], 4) if coverage["lines"] else 0.0


@dataclass(frozen=True)
class Unreadable:
    file: str
    reason: str
    student: str = ""


@dataclass(frozen=True)
class ClassResult:
    title: str
    problem: str
    columns: tuple[str, ...]  # every part's column name, in the sheet's order ("1a", "2")
    graded: tuple[Graded, ...]
    unreadable: tuple[Unreadable, ...]

    @property
    def exit_status(self) -> int:
        return 1 if self.unreadable else 0

    def summary(self) -> dict[str, Any]:
        """The class at a glance: the contract of report.json."""
        return summary(self)


# ---------------------------------------------------------------------------------------------
# The inputs: submissions, roster, variants


@dataclass(frozen=True)
class Submission:
    file: str
    student: str
    variant: str | None  # from the roster (None: look in the file)


def part_column(question: str, label: str) -> str:
    return f"{question}{label}" if question or label else "points"


def collect(paths: Sequence[str | Path]) -> list[Path]:
    """The submission files: each file as given, each folder's readable files (not recursing),
    in name order.  A path that does not exist is an error of the command (exit 2)."""
    out: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            out += sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")
                          and p.suffix.lower() in ANSWER_SUFFIXES + WRITTEN_SUFFIXES)
        elif path.exists():
            out.append(path)
        else:
            raise SymgradError(f"{given}: no such file or folder of submissions")
        if len(out) > MAX_SUBMISSIONS:
            raise SymgradError(f"more than {MAX_SUBMISSIONS} submissions")
    return out


def read_roster(path: str | Path) -> dict[str, tuple[str, str]]:
    """ROSTER.csv with the columns file, student and (optionally) variant: a file's name (or
    stem) → (student, variant)."""
    source = str(path)
    if not Path(path).is_file():
        raise ProblemError(source, "", "expected a roster CSV file with the columns file,student,variant")
    if Path(path).stat().st_size > MAX_ROSTER_BYTES:
        raise ProblemError(source, "", f"larger than {MAX_ROSTER_BYTES} bytes")
    text = read_text(path)
    rows = list(csv.DictReader(io.StringIO(text)))
    header = set(rows[0]) if rows else set()
    if not {"file", "student"} <= header:
        raise ProblemError(source, "header", "expected the columns file,student (and variant)")
    out: dict[str, tuple[str, str]] = {}
    for n, row in enumerate(rows, 2):
        file, student = (row.get("file") or "").strip(), (row.get("student") or "").strip()
        if not file or not student:
            raise ProblemError(source, f"line {n}", "expected a file and a student")
        if not re.fullmatch(r"[\w .@+-]{1,100}", student):
            raise ProblemError(source, f"line {n}.student",
                               "expected letters, digits, spaces and . @ + - (at most 100)")
        if file in out:
            raise ProblemError(source, f"line {n}.file", f"{file} is listed twice")
        out[file] = (student, (row.get("variant") or "").strip())
    return out


def safe_student(name: str) -> str:
    """A student id fit for a file name (feedback/STUDENT.html): other characters as _."""
    cleaned = re.sub(r"[^\w.@+-]", "_", name).strip("._") or "student"
    return cleaned[:100]


def read_manifest(path: str | Path, sheet: sheets.Sheet) -> dict[str, dict[str, float]]:
    """variants.json as `symgrad variants` writes it: each variant's id → its drawn values,
    each checked against the sheet (a name it does not have is an error, exit 2)."""
    source = str(path)
    text = read_text(path)
    try:
        data = json.loads(text, parse_constant=lambda c: None)
    except (json.JSONDecodeError, RecursionError) as error:
        raise ProblemError(source, "", f"not valid JSON: {error}") from None
    if not isinstance(data, list) or not data:
        raise ProblemError(source, "", 'expected a list of variants [{"id": "v01", "given": {...}}]')
    names = {n.name for q in sheet.questions for p in q.parts if p.solution is not None
             for n in p.solution.graph.nodes if n.expr is None}
    out: dict[str, dict[str, float]] = {}
    for k, entry in enumerate(data, 1):
        where = f"[{k}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or \
                not isinstance(entry.get("given"), dict):
            raise ProblemError(source, where, 'expected {"id": "v01", "given": {...}}')
        vid = entry["id"]
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", vid) or vid in out:
            raise ProblemError(source, f"{where}.id", f"expected a new id such as v01, got {vid[:40]!r}")
        given: dict[str, float] = {}
        for name, value in entry["given"].items():
            if name not in names:
                raise ProblemError(source, f"{where}.given.{name[:60]}", "not a given quantity of the problem")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ProblemError(source, f"{where}.given.{name[:60]}", "expected a finite number")
            given[name] = float(value)
        out[vid] = given
    return out


def with_numbers(sheet: sheets.Sheet, given: dict[str, float]) -> sheets.Sheet:
    """The sheet with one variant's drawn numbers: each part's graph gets them as leaf values
    (the checker works everything out again from the leaves, so nothing is derived anew)."""
    questions = []
    for q in sheet.questions:
        parts = []
        for part in q.parts:
            solution = part.solution
            if solution is not None:
                graph = solution.graph
                mine = {graph.by_name[n].symbol: v for n, v in given.items() if n in graph.by_name}
                if mine:
                    graph = dataclasses.replace(graph, values={**graph.values, **mine})
                    part = dataclasses.replace(part, solution=dataclasses.replace(solution, graph=graph))
            parts.append(part)
        questions.append(dataclasses.replace(q, parts=tuple(parts)))
    return dataclasses.replace(sheet, questions=tuple(questions))


# ---------------------------------------------------------------------------------------------
# The work, in every process


@dataclass
class Context:
    """What every worker shares (inherited by fork, never pickled): the sheets by variant."""

    problem: str
    options: CheckOptions
    sheets: dict[str, sheets.Sheet]  # "" → the problem's own numbers
    names: dict[str, Any]
    layout: list[tuple[str, list[str]]]
    columns: tuple[str, ...]


CONTEXT: Context | None = None


@functools.lru_cache(maxsize=256)
def proved(claim: str) -> Any:
    """verify's verdict on a claimed formula, once per process (a class writes the same ones)."""
    from symgrad.proof.verify import verify

    return verify(claim, seconds=5)


def grade_one(submission: Submission) -> Graded | Unreadable:
    context = CONTEXT
    assert context is not None
    try:
        text = read_text(submission.file)
        variant = submission.variant
        manifest = "" not in context.sheets  # checked against variants
        if variant is None:
            found = VARIANT_LINE.findall(text) if manifest else []
            if len(set(found)) > 1:
                return Unreadable(submission.file, f"names two variants ({', '.join(sorted(set(found)))})",
                                  submission.student)
            variant = found[0] if found else ""
        if manifest and not variant and len(context.sheets) == 1:
            variant = next(iter(context.sheets))  # a manifest of one variant: that one
        if manifest and not variant:
            return Unreadable(submission.file, "no variant: give it in the roster or a "
                              "'variant: v07' line", submission.student)
        if variant not in context.sheets:
            return Unreadable(submission.file, f"variant {variant!r} is not in the manifest",
                              submission.student)
        sheet = context.sheets[variant]
        answers = load_answers(submission.file, context.layout)
        options = context.options
        names = context.names[variant]
        if answers.symbols:
            options = options.merged(answers.symbols, answers.symbol_text)
            names = api.check_names(sheet, options)
        report = check_sheet(sheet, answers, options, names, verify=proved)
    except SymgradError as error:
        return Unreadable(submission.file, str(error), submission.student)
    plain = {f.name: getattr(report, f.name) for f in dataclasses.fields(report)}
    checked = api.CheckReport(**plain, sheet=None)
    parts = {part_column(p.question, p.part): (p.points, p.out_of) for p in report.parts}
    return Graded(submission.student, variant, submission.file, checked, parts)


def quiet_worker() -> None:
    """A worker leaves Ctrl-C to the parent (which ends the pool) and dies at once on SIGTERM,
    whatever handlers it inherited: no traceback from every process."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def work(chunk: list[tuple[int, Submission]]) -> list[tuple[int, Graded | Unreadable]]:
    return [(k, grade_one(s)) for k, s in chunk]


def run(submissions: list[Submission], jobs: int,
        progress: Callable[[int], None] | None = None) -> list[Graded | Unreadable]:
    """Every submission graded, in the order given: in this process for a few or one job, else
    in a pool of forked processes (the solved sheets inherited, not sent)."""
    indexed = list(enumerate(submissions))
    out: list[Graded | Unreadable | None] = [None] * len(submissions)
    if jobs <= 1 or len(submissions) < 8 or "fork" not in multiprocessing.get_all_start_methods():
        for k, s in indexed:
            out[k] = grade_one(s)
            if progress:
                progress(1)
        return [r for r in out if r is not None]
    size = max(1, min(16, len(indexed) // (jobs * 4)))
    chunks = [indexed[i:i + size] for i in range(0, len(indexed), size)]
    with multiprocessing.get_context("fork").Pool(jobs, initializer=quiet_worker) as pool:
        for done in pool.imap_unordered(work, chunks):
            for k, result in done:
                out[k] = result
            if progress:
                progress(len(done))
    return [r for r in out if r is not None]


def grade(problem: str | Path, submissions: Iterable[str | Path], variants: str | Path | None = None,
          roster: str | Path | None = None, jobs: int | None = None,
          progress: Callable[[int], None] | None = None) -> ClassResult:
    """Grade a class: each submission (a file, or a folder of files) checked against the problem,
    or against its own variant of a `symgrad variants` manifest (the roster's variant column, or
    a `variant: v07` line in the submission).  Returns the records of every student."""
    global CONTEXT
    data, options = load_check_problem(problem)
    solved = sheets.solve_sheet(api.read_sheet(data, str(problem)))
    files = collect(list(submissions))
    table = read_roster(roster) if roster is not None else {}
    given = read_manifest(variants, solved) if variants is not None else {}
    if table and given:
        unknown = sorted({v for _, v in table.values() if v and v not in given})
        if unknown:
            raise ProblemError(str(roster), "variant", f"{unknown[0]} is not in {variants}")
    elif table and any(v for _, v in table.values()):
        named = next(v for _, v in table.values() if v)
        raise ProblemError(str(roster), "variant", f"the roster names variants ({named}); give "
                           "their manifest with --variants (variants= in Python)")
    by_variant = {vid: with_numbers(solved, g) for vid, g in given.items()} or {"": solved}
    names = {vid: api.check_names(sheet, options) for vid, sheet in by_variant.items()}
    layout = [(q.number, [p.label for p in q.parts]) for q in solved.questions]
    columns = tuple(part_column(q.number, p.label) for q in solved.questions for p in q.parts
                    if p.solution is not None)
    subs = []
    seen: dict[str, str] = {}
    for path in files:
        student, variant = table.get(path.name) or table.get(path.stem) or (path.stem, "")
        if table and path.name not in table and path.stem not in table:
            student, variant = path.stem, ""
        if student in seen:
            raise SymgradError(f"{path}: the student {student!r} has another submission too "
                               f"({seen[student]})")
        seen[student] = str(path)
        subs.append(Submission(str(path), student, variant or (None if given else "")))
    CONTEXT = Context(str(problem), options, by_variant, names, layout, columns)
    try:
        results = run(subs, jobs or os.cpu_count() or 1, progress)
    finally:
        CONTEXT = None
    graded = tuple(r for r in results if isinstance(r, Graded))
    if len(by_variant) > 1:
        graded = other_variants(graded)
    graded = tuple(dataclasses.replace(g, report=dataclasses.replace(g.report, sheet=by_variant[g.variant]))
                   for g in graded)
    return ClassResult(solved.title, str(problem), columns, graded,
                       tuple(r for r in results if isinstance(r, Unreadable)))


NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def half_unit(text: str, value: float) -> float:
    """Half a unit in the last digit of `value` as the line writes it (its last number equal to
    it), or a relative 5e-5 when the line does not show it plainly."""
    for token in reversed(NUMBER.findall(text)):
        try:
            number = float(token)
        except ValueError:
            continue
        if number == value or -number == value:
            mantissa, _, exponent = token.lower().lstrip("+-").partition("e")
            decimals = len(mantissa.partition(".")[2])
            return 0.5 * 10.0 ** (int(exponent or 0) - decimals)
    return 5e-5 * abs(value)


def other_variants(graded: tuple[Graded, ...]) -> tuple[Graded, ...]:
    """A wrong value with no diagnosis that is right in another variant (the value of the same
    quantity of the same part, as the class's own lines give it) is diagnosed as that:
    `other-variant-value`, naming the variant.  The verdict and the points stay."""
    right: dict[tuple[str, str, str], dict[str, float]] = {}
    for g in graded:
        for item in g.report.items:
            if item.key and isinstance(item.expected, (int, float)) and not isinstance(item.expected, bool):
                right.setdefault((item.question, item.part, item.key), {})[g.variant] = float(item.expected)
    out = []
    for g in graded:
        items = list(g.report.items)
        changed = False
        for k, item in enumerate(items):
            if item.verdict != "wrong" or item.mistake or not item.key or \
                    isinstance(item.claimed, bool) or not isinstance(item.claimed, (int, float)):
                continue
            claimed = float(item.claimed)
            allowed = half_unit(item.text, claimed) + 1e-9 * abs(claimed)
            theirs = sorted(v for v, e in right.get((item.question, item.part, item.key), {}).items()
                            if v != g.variant and abs(claimed - e) <= allowed)
            if theirs:
                value = right[item.question, item.part, item.key][theirs[0]]
                words = (f"{item.key} = {value:.6g} is its value in variant {theirs[0]}"
                         + (f" (and {len(theirs) - 1} more)" if len(theirs) > 1 else "")
                         + f", not in yours ({g.variant})")
                diagnosis = f"{words}; {item.diagnosis}" if item.diagnosis else words
                items[k] = dataclasses.replace(item, diagnosis=diagnosis, mistake="other-variant-value")
                changed = True
        out.append(dataclasses.replace(g, report=dataclasses.replace(g.report, items=tuple(items)))
                   if changed else g)
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# The class at a glance


def spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {"mean": 0.0, "sd": 0.0, "min": 0.0, "max": 0.0}
    return {"mean": round(statistics.fmean(values), 6),
            "sd": round(statistics.pstdev(values), 6) if len(values) > 1 else 0.0,
            "min": round(min(values), 6), "max": round(max(values), 6)}


def histogram(scores: list[float], out_of: float, bins: int = 10) -> list[dict[str, float]]:
    """Counts of the scores as shares of the marks, in `bins` equal bins (the last closed)."""
    edges = [out_of * k / bins for k in range(bins + 1)]
    counts = [0] * bins
    for s in scores:
        k = min(int(s / out_of * bins), bins - 1) if out_of else 0
        counts[max(k, 0)] += 1
    return [{"from": round(edges[k], 6), "to": round(edges[k + 1], 6), "count": counts[k]}
            for k in range(bins)]


def summary(result: ClassResult) -> dict[str, Any]:
    graded = result.graded
    totals = [g.total for g in graded]
    out_of = max((g.out_of for g in graded), default=0.0)
    parts = []
    for column in result.columns:
        points = [g.parts[column][0] for g in graded if column in g.parts]
        worth = max((g.parts[column][1] for g in graded if column in g.parts), default=0.0)
        parts.append({"part": column, "out_of": worth, **spread(points)})
    mistakes: dict[str, dict[str, Any]] = {}
    wrong_values: dict[tuple[str, str], dict[str, Any]] = {}
    unchecked: Counter[str] = Counter()
    for g in graded:
        for item in g.report.items:
            if item.verdict == "unchecked":
                unchecked[item.diagnosis] += 1
            if item.verdict not in ("wrong", "inconsistent"):
                continue
            if item.mistake:
                entry = mistakes.setdefault(item.mistake, {
                    "mistake": item.mistake, "students": [], "example": {
                        "student": g.student, "line": item.line, "text": item.text,
                        "diagnosis": item.diagnosis}})
                if g.student not in entry["students"]:
                    entry["students"].append(g.student)
            if item.key and item.verdict == "wrong" and item.claimed is not None:
                claimed = str(item.claimed)
                entry = wrong_values.setdefault((item.key, claimed), {
                    "key": item.key, "name": item.name, "claimed": claimed,
                    "diagnosis": item.diagnosis, "mistake": item.mistake, "students": [],
                    "variants": []})
                if g.student not in entry["students"]:
                    entry["students"].append(g.student)
                if g.variant and g.variant not in entry["variants"]:
                    entry["variants"].append(g.variant)
    n = len(graded)
    listed = sorted(mistakes.values(), key=lambda e: (-len(e["students"]), e["mistake"]))
    common = sorted(wrong_values.values(), key=lambda e: (-len(e["students"]), e["key"], e["claimed"]))
    return {
        "title": result.title,
        "students": n + len(result.unreadable),
        "graded": n,
        "out_of": out_of,
        **{k: v for k, v in spread(totals).items()},
        "histogram": histogram(totals, out_of),
        "parts": parts,
        "mistakes": [{"mistake": e["mistake"], "count": len(e["students"]),
                      "share": round(len(e["students"]) / n, 4) if n else 0.0,
                      "students": e["students"], "example": e["example"]} for e in listed],
        "wrong_values": [{**e, "count": len(e["students"])} for e in common[:50]],
        "unchecked": [{"reason": r, "count": c} for r, c in unchecked.most_common(50)],
        "unreadable": [{"file": u.file, "reason": u.reason} for u in result.unreadable],
    }
