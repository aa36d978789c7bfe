"""Sheets: several numbered questions with parts (a), (b), ..., each part a problem of its own.

A plain problem file is a sheet of one question with one part.  A sheet file has
`[[question]]` tables, each with its `text` and (optionally) its own network or graph, data and
ask; each `[[question.part]]` has its `text`, what to `show`, the `gradients` it asks for, a
`remark`, and may replace the question's network or graph (`[question.part.network]`) or add to
its data.  A part with no problem at all is prose only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from symgrad.input import limits
from symgrad.errors import NumericError, ProblemError
from symgrad.input.latexcheck import checked_math
from symgrad.output.notation import STYLES, Notation
from symgrad.output.render import notebook_latex, render_sheet
from symgrad.engine.solution import Solution, solve_spec
from symgrad.output.figures import PLOTS
from symgrad.input.spec import ProblemSpec, Reader, is_number, read_problem, read_toml
from symgrad.analyses.dependency import Dependency, dependency
from symgrad.analyses.vector import VectorGradient, read_vector, vector_json
from symgrad.proof.verify import ClaimError, Verdict, verify

SHOWABLE = ("forward", "loss", "gradients", "update")
SHOW_EXTRA = ("paths", "matrix", "collapse")  # opt in: paths highlighted on the figure,
# the matrix form of backprop, the single equivalent layer of a linear network
PROBLEM_KEYS = ("network", "graph", "data", "ask")
NAME_KEY = re.compile(r"[A-Za-z0-9_\[\],]+")  # W1, "W2[1,1]": shown as is in a message


@dataclass(frozen=True)
class Part:
    label: str  # "a", "b", ...; "" for the only part of a question
    text: str
    show: tuple[str, ...]
    remark: str
    problem: ProblemSpec | None
    solution: Solution | None = None
    verdict: Verdict | None = None  # a claim to prove or refute: `verify = "..."`
    vector: VectorGradient | None = None  # a gradient in vector form: `[vector] function = ...`
    dependency: Dependency | None = None  # does ∂ŷ/∂x depend on b₂? `depends = {of, on}`
    plot: tuple[str, ...] = ()  # activations to plot with their derivatives
    plot_at: tuple[float, ...] = ()  # operating points to mark (default: the forward pass's)


@dataclass(frozen=True)
class Question:
    number: str
    text: str
    parts: tuple[Part, ...]


@dataclass(frozen=True)
class Sheet:
    title: str
    author: str
    source: str
    precision: int
    notation: Notation
    questions: tuple[Question, ...]

    def to_latex(self, templates: str | Path | None = None, key: bool = True) -> str:
        """The answer key (or with key=False the question sheet) as a LaTeX document;
        `templates` is a folder whose files override the built-in ones."""
        return render_sheet(self, templates, key)

    def _repr_latex_(self) -> str:
        return notebook_latex(self)

    @property
    def single(self) -> Solution | None:
        """A plain problem file's Solution, carrying the sheet's notation and precision."""
        if len(self.questions) == 1 and not self.questions[0].number:
            solution = self.questions[0].parts[0].solution
            if solution is not None:
                return replace(solution, notation=self.notation, precision=self.precision)
        return None

    def to_json(self) -> dict[str, Any]:
        if self.single is not None:  # a plain problem file: the engine's JSON contract
            return self.single.to_json()
        return {
            "title": self.title,
            "questions": [
                {
                    "number": q.number,
                    "parts": [
                        {
                            "label": p.label,
                            **(p.solution.to_json() if p.solution else {}),
                            **({"vector": vector_json(p.vector)} if p.vector else {}),
                            **({"verify": p.verdict.to_json()} if p.verdict else {}),
                        }
                        for p in q.parts
                    ],
                }
                for q in self.questions
            ],
        }


def load_sheet(path: str | Path) -> Sheet:
    """Read, validate and solve every part of a problem or sheet file."""
    return read_sheet(read_toml(path), str(path))


def read_sheet(data: dict[str, Any], source: str = "<sheet>") -> Sheet:
    options = data.get("sheet", {})
    if not isinstance(options, dict):
        raise ProblemError(source, "sheet", "expected a table")
    sheet = Reader(source, options, "sheet", {"precision", "notation", "index_order", "symbols"})
    precision = options.get("precision", 4)
    if not isinstance(precision, int) or isinstance(precision, bool) or not 1 <= precision <= 15:
        sheet.fail("precision", f"expected significant figures from 1 to 15, got {precision!r}")
    notation = read_notation(sheet)
    if "question" not in data and "vector" in data:
        Reader(source, data, "", {"title", "author", "sheet", "vector"})
        part = Part("", "", (), "", None, vector=read_vector(source, data["vector"], "vector"))
        title = str(data.get("title", Path(source).stem))
        questions: tuple[Question, ...] = (Question("", "", (part,)),)
    elif "question" not in data:
        problem = {k: v for k, v in data.items() if k not in ("sheet", "author")}
        spec = read_problem(problem, source)
        part = solved(source, Part("", "", SHOWABLE, "", spec))
        title = spec.title
        questions = (Question("", "", (part,)),)
    else:
        top = Reader(source, data, "", {"title", "author", "sheet", "question"})
        title = top.string("title", Path(source).stem) or ""
        raw_questions = data["question"]
        if not isinstance(raw_questions, list) or not raw_questions:
            top.fail("question", "expected one or more [[question]] tables")
        limits.at_most(source, "question", "questions", len(raw_questions), limits.QUESTIONS)
        questions = tuple(
            read_question(source, q, n) for n, q in enumerate(raw_questions, start=1)
        )
    author = data.get("author", "")
    if not isinstance(author, str):
        raise ProblemError(source, "author", f"expected a string, got {author!r}")
    return Sheet(title, author, source, precision, notation, questions)


def read_notation(sheet: Reader) -> Notation:
    style = sheet.string("notation", "bracket")
    if style not in STYLES:
        sheet.fail("notation", f"expected one of {', '.join(STYLES)}, got {style!r}")
    order = sheet.string("index_order", "out_in")
    if order not in ("out_in", "in_out"):
        sheet.fail("index_order", f'expected "out_in" or "in_out", got {order!r}')
    symbols = sheet.table.get("symbols", {})
    if not isinstance(symbols, dict) or not all(isinstance(v, str) for v in symbols.values()):
        sheet.fail("symbols", 'expected a table of names and LaTeX, such as W1 = "C"')
    for name, tex in symbols.items():  # pasted into the sheet verbatim: harmless math only
        key = name if NAME_KEY.fullmatch(name) else repr(name)  # a key too stays one line
        checked_math(sheet.source, sheet.where(f"symbols.{key}"), tex)
    return Notation(style or "bracket", order or "out_in", dict(symbols))


def read_question(source: str, raw: object, n: int) -> Question:
    at = f"question[{n}]"
    if not isinstance(raw, dict):
        raise ProblemError(source, at, "expected a table")
    q = Reader(source, raw, at, {"number", "text", "part", "vector", *PROBLEM_KEYS})
    number = raw.get("number", str(n))
    if not isinstance(number, (str, int)):
        q.fail("number", f"expected a label such as \"3.1\", got {number!r}")
    raw_parts = raw.get("part", [{}])
    if not isinstance(raw_parts, list) or not raw_parts:
        q.fail("part", "expected one or more [[question.part]] tables")
    limits.at_most(source, f"{at}.part", "parts", len(raw_parts), limits.QUESTIONS)
    single = len(raw_parts) == 1
    parts = tuple(
        read_part(source, raw, p, f"{at}.part[{k}]", "" if single else chr(ord("a") + k - 1), at)
        for k, p in enumerate(raw_parts, start=1)
    )
    return Question(str(number), q.string("text", "") or "", parts)


def read_part(
    source: str, question: dict[str, Any], raw: object, at: str, label: str, question_at: str
) -> Part:
    if not isinstance(raw, dict):
        raise ProblemError(source, at, "expected a table")
    part = Reader(
        source, raw, at,
        {"text", "show", "gradients", "update", "remark", "network", "graph", "data", "verify",
         "where", "assume", "plot", "plot_at", "vector", "depends"},
    )  # fmt: skip
    show = raw.get("show", list(SHOWABLE))
    if not isinstance(show, list) or any(s not in SHOWABLE + SHOW_EXTRA for s in show):
        part.fail("show", f"expected a list drawn from {', '.join(SHOWABLE + SHOW_EXTRA)}")
    own = "network" in raw or "graph" in raw
    problem: dict[str, Any] = {}
    for key in ("network", "graph"):
        source_table = raw if own else question
        if key in source_table:
            problem[key] = source_table[key]
    spec = None
    if problem and "verify" not in raw and "vector" not in raw:  # these stand alone
        problem["data"] = {**question.get("data", {}), **raw.get("data", {})}
        ask = dict(question.get("ask", {}))
        for key in ("gradients", "update"):
            if key in raw:
                ask[key] = raw[key]
        problem["ask"] = ask
        spec = read_problem(problem, source, at if own else question_at)
    elif "gradients" in raw or "data" in raw:
        part.fail("gradients", "this part has no network or graph to differentiate")
    remark = part.string("remark", "") or ""
    verdict = read_verify(part) if "verify" in raw else None
    text = part.string("text", "") or ""
    plot = raw.get("plot", [])
    if not isinstance(plot, list) or any(a not in PLOTS for a in plot):
        part.fail("plot", f"expected a list drawn from {', '.join(PLOTS)}")
    plot_at = raw.get("plot_at", [])
    if not isinstance(plot_at, list) or not all(is_number(z) for z in plot_at):
        part.fail("plot_at", "expected a list of numbers (the points to mark)")
    vector = None
    if "vector" in raw or ("vector" in question and not problem and "verify" not in raw):
        where = f"{at}.vector" if "vector" in raw else f"{question_at}.vector"
        vector = read_vector(source, raw.get("vector", question.get("vector")), where)
    done = solved(source, Part(label, text, tuple(show), remark, spec, verdict=verdict,
                               vector=vector, plot=tuple(plot), plot_at=tuple(plot_at)))
    if "depends" in raw:
        return replace(done, dependency=read_dependency(part, done))
    return done


def read_dependency(part: Reader, done: Part) -> Dependency:
    asked = part.table["depends"]
    if not (isinstance(asked, dict) and set(asked) == {"of", "on"}
            and all(isinstance(v, str) for v in asked.values())):
        part.fail("depends", 'expected { of = "dyhat[1]/dx[1]", on = "b2[1]" }')
    solution = done.solution
    if solution is None or asked["of"] not in solution.gradients:
        part.fail("depends", f"{asked['of']!r} must be one of this part's gradients")
    if asked["on"] not in solution.graph.by_name:
        part.fail("depends", f"the problem has no variable named {asked['on']!r}")
    return dependency(solution, asked["of"], asked["on"])


def read_verify(part: Reader) -> Verdict:
    claim = part.string("verify")
    lists = {}
    for key in ("where", "assume"):
        value = part.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            part.fail(key, 'expected a list of strings such as ["s = exp(z)"]')
        lists[key] = value
    try:
        return verify(claim or "", where=lists["where"], assume=lists["assume"])
    except ClaimError as error:
        part.fail("verify", str(error))


def solved(source: str, part: Part) -> Part:
    if part.problem is None:
        return part
    try:
        return replace(part, solution=solve_spec(part.problem))
    except NumericError as error:
        where = f"{part.problem.at}: " if part.problem.at else ""
        raise NumericError(f"{source}: {where}{error}") from None


def sheet_of(solution: Solution) -> Sheet:
    """A single solved problem as a sheet of one question, to render it."""
    part = Part("", "", SHOWABLE, "", solution.spec, solution)
    return Sheet(
        solution.title, "", solution.spec.source, solution.precision, solution.notation,
        (Question("", "", (part,)),),
    )
