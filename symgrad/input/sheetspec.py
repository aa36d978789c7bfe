"""Sheet files read into validated specs: questions, parts and what each part asks.  Nothing is
solved here (no sympy beyond the safe parser's checks), so one read sheet can be solved many times,
with other numbers for each exam variant.

A plain problem file is a sheet of one question with one part.  A sheet file has `[[question]]`
tables, each with its `text` and (optionally) its own network or graph, data and ask; each
`[[question.part]]` has its `text`, what to `show`, the `gradients` it asks for, a `remark`, and
may replace the question's network or graph (`[question.part.network]`) or add to its data.
A part with no problem at all is prose only, a claim to verify, or a gradient in vector form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sympy

from symgrad.calculus import activations as act
from symgrad.calculus.activations import ACTIVATIONS
from symgrad.errors import ProblemError
from symgrad.input import limits
from symgrad.input.latexcheck import checked_math
from symgrad.input.mathtext import MathError, Parser, name_key, unicode_free
from symgrad.input.prose import checked_prose
from symgrad.input.spec import IDENTIFIER, ProblemSpec, Reader, is_number, read_problem, read_toml

SHOWABLE = ("forward", "loss", "gradients", "update")
SHOW_EXTRA = ("paths", "matrix", "collapse")  # opt in: paths highlighted on the figure,
# the matrix form of backprop, the single equivalent layer of a linear network
PLOTS = ("sigmoid", "tanh", "relu", "softplus", "leaky_relu", "exp")  # activations with a plot
STYLES = ("bracket", "paren", "flat")
BACKPROP_STYLES = ("paths", "delta")  # a part's `style`: per path, or δ per unit then a line a parameter
MAX_POINTS = 1000
PROBLEM_KEYS = ("network", "graph", "data", "ask", "optimizer")
NAME_KEY = re.compile(r"[A-Za-z0-9_\[\],]+")  # W1, "W2[1,1]": shown as is in a message
# The functions the answer key writes by name, as [sheet.symbols] may rename them: each with its
# class and the LaTeX it has unless renamed (the class's own _latex; a test holds them equal).
FUNCTIONS: dict[str, tuple[type, str]] = {
    "sigmoid": (act.sigmoid, r"\sigma"),
    "softplus": (act.softplus, r"\operatorname{softplus}"),
    "relu": (act.relu, r"\operatorname{ReLU}"),
    "leaky_relu": (act.leaky_relu, r"\operatorname{LeakyReLU}"),
    "softmax": (act.softmax, r"\operatorname{softmax}"),
    "step": (sympy.Heaviside, "H"),  # ReLU' as the key writes it, H(z)
}
FUNCTION_WORDS = {  # what each means, for a message
    "sigmoid": "the logistic function 1/(1 + e^(-z))", "softplus": "softplus, log(1 + e^z)",
    "relu": "ReLU, max(0, z)", "leaky_relu": "leaky ReLU", "softmax": "softmax",
    "step": "the step function (ReLU')",
}
WRITABLE = ("sigmoid", "softplus")  # the functions the key can write out: 1/(1 + e^{-z}), log(1 + e^{z})


@dataclass(frozen=True)
class Notation:
    """How the sheet writes names: a style, the order of a weight's indices, and renamings."""

    style: str = "bracket"
    index_order: str = "out_in"
    symbols: Mapping[str, str] = field(default_factory=dict)  # name or family → LaTeX, as
    # checked by latexcheck.checked_math when read from a file (it is pasted in verbatim)
    written_out: tuple[str, ...] = ()  # functions the key writes in elementary functions (WRITABLE)

    @property
    def eta(self) -> str:
        return self.symbols.get("eta", r"\eta")

    @property
    def functions(self) -> dict[str, str]:
        """Each function the key writes by name (FUNCTIONS) → its LaTeX, renamed or not; a
        function it writes out has no name of its own."""
        return {name: self.symbols.get(name, tex) for name, (_, tex) in FUNCTIONS.items()
                if name not in self.written_out}

    @property
    def renamed_functions(self) -> dict[type, str | None]:
        """The function classes the sheet renames → their LaTeX (sigmoid → \\operatorname{logistic}),
        or None for one it writes out."""
        return {cls: None if name in self.written_out else self.symbols[name]
                for name, (cls, _) in FUNCTIONS.items() if name in self.symbols or name in self.written_out}


@dataclass(frozen=True)
class ClaimSpec:
    """`verify = "..."` with its `where` definitions and `assume` signs."""

    claim: str
    where: tuple[str, ...] = ()
    assume: tuple[str, ...] = ()
    field: str = "verify"  # where it sits in the file, for messages


@dataclass(frozen=True)
class VectorSpec:
    """A `[vector]` table: the function of w (text for the vector parser) and its name."""

    function: str
    name: str = "f"  # a plain name, or LaTeX checked by latexcheck
    source: str = "<python>"
    field: str = "vector"


@dataclass(frozen=True)
class DependencySpec:
    """`depends = { of = "dyhat[1]/dx[1]", on = "b2[1]" }`."""

    of: str
    on: str
    field: str = "depends"


@dataclass(frozen=True)
class PartSpec:
    label: str  # "a", "b", ...; "" for the only part of a question
    text: str
    show: tuple[str, ...]
    remark: str
    problem: ProblemSpec | None
    claim: ClaimSpec | None = None
    vector: VectorSpec | None = None
    depends: DependencySpec | None = None
    plot: tuple[str, ...] = ()  # activations to plot with their derivatives
    plot_at: tuple[float, ...] = ()  # operating points to mark (default: the forward pass's)
    note: str = ""  # prose for the answer key only: a note on the source, set apart
    points: int | None = None  # marks for the part, through the exam class
    style: str = ""  # "paths", "delta", or "" for the default (δ for larger networks)
    erratum: bool = False  # the note quotes the source's mistakes: a false formula there is meant


@dataclass(frozen=True)
class QuestionSpec:
    number: str
    text: str
    parts: tuple[PartSpec, ...]
    note: str = ""  # prose for the answer key only
    erratum: bool = False  # the note quotes the source's mistakes (see PartSpec)


@dataclass(frozen=True)
class SheetSpec:
    title: str
    author: str
    source: str
    precision: int
    notation: Notation
    questions: tuple[QuestionSpec, ...]

    @property
    def single(self) -> bool:
        """A plain problem file: one question, unnumbered, with one part."""
        return len(self.questions) == 1 and not self.questions[0].number


def load_sheet(path: str | Path) -> SheetSpec:
    """Read and validate a problem or sheet file (without solving it)."""
    return read_sheet(read_toml(path), str(path))


def read_sheet(data: dict[str, Any], source: str = "<sheet>") -> SheetSpec:
    options = data.get("sheet", {})
    if not isinstance(options, dict):
        raise ProblemError(source, "sheet", "expected a table")
    sheet = Reader(source, options, "sheet", {"precision", "notation", "index_order", "symbols", "written_out"})
    precision = options.get("precision", 4)
    if not isinstance(precision, int) or isinstance(precision, bool) or not 1 <= precision <= 15:
        sheet.fail("precision", f"expected significant figures from 1 to 15, got {precision!r}")
    notation = read_notation(sheet)
    if "question" not in data and "vector" in data:
        Reader(source, data, "", {"title", "author", "sheet", "vector", "variants", "check"})
        part = PartSpec("", "", (), "", None, vector=read_vector(source, data["vector"], "vector"))
        title = str(data.get("title", Path(source).stem))
        questions: tuple[QuestionSpec, ...] = (QuestionSpec("", "", (part,)),)
    elif "question" not in data:
        problem = {k: v for k, v in data.items() if k not in ("sheet", "author", "variants", "check")}
        spec = read_problem(problem, source)
        title = spec.title
        questions = (QuestionSpec("", "", (PartSpec("", "", SHOWABLE, "", spec),)),)
    else:
        top = Reader(source, data, "", {"title", "author", "sheet", "question", "variants", "check"})
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
    if "title" not in data:  # the file's name, as it is: a "$" in it is no mathematics
        title = title.replace("$", "\\$")
    checked_prose(source, "title", title)
    checked_prose(source, "author", author)
    unspecified_functions(source, notation, questions)
    return SheetSpec(title, author, source, precision, notation, questions)


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
    written = sheet.table.get("written_out", [])
    if not isinstance(written, list) or any(w not in WRITABLE for w in written):
        sheet.fail("written_out", f"expected a list drawn from {', '.join(WRITABLE)} (the functions "
                   "the key writes out, such as 1/(1 + e^{-z}) for sigmoid)")
    for name in written:
        if name in symbols:
            sheet.fail("written_out", f"{name} is renamed in [sheet.symbols] and written out: choose one")
    notation = Notation(style or "bracket", order or "out_in", dict(symbols), tuple(written))
    one_meaning(sheet, notation)
    return notation


# ---------------------------------------------------------------------------------------------
# One symbol, one meaning: what the notation alone shows when the file is read.  (Two nodes of
# a problem that print alike, and prose that states another meaning, are found once the problem
# is built: analyses/meanings.py.)


def symbol_key(tex: str) -> str:
    """A symbol as a reader tells it apart: h_1 and h_{1} are one (mathtext's name key), other
    LaTeX is compared without its spaces."""
    return name_key(tex) or "".join(tex.split())


def base_key(tex: str) -> str:
    """The letter a symbol is written with (h for h_{1}, \\sigma for \\sigma^{[1]}_{2})."""
    key = name_key(tex)
    return key.split("|")[0] if key else "".join(tex.split())


def head_key(tex: str) -> str | None:
    """How a function's LaTeX head reads when prose writes it applied: "sigma" for \\sigma,
    "softplus" for \\operatorname{softplus} (or \\mathrm{softplus}), "g" for g; None when the
    mathematics reader cannot read it as a function."""
    try:
        parser = Parser(unicode_free(f"{tex}(z)"))
        node = parser.atom()
    except (MathError, RecursionError):
        return None
    text = getattr(node, "text", "")
    return text.lstrip("\\") if parser.tok.kind == "end" and hasattr(node, "function") else None


def one_meaning(sheet: Reader, notation: Notation) -> None:
    """[sheet.symbols] gives no symbol two meanings: no two single quantities (`"a1[1]"`,
    `"z1[1]"`, `L`, `eta`) the same LaTeX, no two functions the same head, and no quantity
    written with a function's letter (`yhat = "\\sigma"` while σ is the logistic function)."""
    quantities = {k: v for k, v in notation.symbols.items() if k not in FUNCTIONS}
    seen: dict[str, str] = {}
    for key, tex in [*((k, v) for k, v in quantities.items() if "[" in k or k in ("L", "eta")),
                     *notation.functions.items()]:
        other = seen.setdefault(symbol_key(tex), key)
        if other != key:
            sheet.fail(f"symbols.{key if NAME_KEY.fullmatch(key) else repr(key)}",
                       f"{tex} would stand for both {described(other)} and {described(key)}: "
                       "one symbol, one meaning (give one of them another symbol)")
    heads = {base_key(tex): name for name, tex in notation.functions.items()}
    for key, tex in quantities.items():
        function = heads.get(base_key(tex))
        if function is not None:
            sheet.fail(f"symbols.{key if NAME_KEY.fullmatch(key) else repr(key)}",
                       f"{tex} would stand for both {described(key)} and {described(function)}, "
                       f"which the key writes {notation.functions[function]}: one symbol, one "
                       f'meaning (rename one, e.g. {function} = "\\operatorname{{{function}}}")')


def described(key: str) -> str:
    """A [sheet.symbols] key as a message names it: "a1[1]", or "sigmoid (the logistic ...)"."""
    return f"{key} ({FUNCTION_WORDS[key]})" if key in FUNCTIONS else key


def unspecified_functions(source: str, notation: Notation, questions: tuple[QuestionSpec, ...]) -> None:
    """An unspecified activation (g, phi) prints as its own letter: not the letter of a function
    the key writes (an activation "sigma" beside the logistic σ) nor of a renamed quantity."""
    heads = {base_key(tex): name for name, tex in notation.functions.items()}
    letters = {base_key(tex): key for key, tex in notation.symbols.items() if key not in FUNCTIONS}
    for q in questions:
        for part in q.parts:
            network = part.problem.network if part.problem is not None else None
            for layer in network.layers if network is not None else ():
                name = getattr(layer, "activation", None)
                if not name or name in ACTIVATIONS or name == "identity":
                    continue
                clash = (described(heads[name]) if name in heads
                         else f"{letters[name]} in [sheet.symbols]" if name in letters else None)
                if clash is not None:
                    raise ProblemError(source, f"{part.problem.at or 'network'}.activation",
                                       f"the unspecified activation {name} would print as the "
                                       f"symbol of {clash}: one symbol, one meaning (call it g)")


def read_question(source: str, raw: object, n: int) -> QuestionSpec:
    at = f"question[{n}]"
    if not isinstance(raw, dict):
        raise ProblemError(source, at, "expected a table")
    q = Reader(source, raw, at, {"number", "text", "note", "erratum", "part", "vector", *PROBLEM_KEYS})
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
    text, note = (checked_prose(source, q.where(k), q.string(k, "") or "") for k in ("text", "note"))
    return QuestionSpec(str(number), text, parts, note, read_erratum(q, note))


def read_erratum(table: Reader, note: str) -> bool:
    """`erratum = true`: the table's note quotes the source's mistakes (a false formula there is
    what it reports, not an error of the sheet)."""
    erratum = table.table.get("erratum", False)
    if not isinstance(erratum, bool):
        table.fail("erratum", f"expected true or false, got {erratum!r}")
    if erratum and not note:
        table.fail("erratum", "marks a note as quoting the source's mistakes: give the note")
    return erratum


def read_part(
    source: str, question: dict[str, Any], raw: object, at: str, label: str, question_at: str
) -> PartSpec:
    if not isinstance(raw, dict):
        raise ProblemError(source, at, "expected a table")
    part = Reader(
        source, raw, at,
        {"text", "show", "gradients", "update", "remark", "network", "graph", "data", "verify",
         "where", "assume", "plot", "plot_at", "vector", "depends", "note", "erratum", "points",
         "style", "optimizer"},
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
        if "optimizer" in raw or "optimizer" in question:  # the part's own, or its question's
            problem["optimizer"] = raw.get("optimizer", question.get("optimizer"))
        spec = read_problem(problem, source, at if own else question_at)
    elif "gradients" in raw or "data" in raw:
        part.fail("gradients", "this part has no network or graph to differentiate")
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
    depends = None
    if "depends" in raw:
        depends = read_depends(part, spec)
    text, remark, note = (checked_prose(source, part.where(k), part.string(k, "") or "")
                          for k in ("text", "remark", "note"))
    points = raw.get("points")
    if points is not None and (not isinstance(points, int) or isinstance(points, bool)
                               or not 1 <= points <= MAX_POINTS):
        part.fail("points", f"expected a whole number of points from 1 to {MAX_POINTS}, got {points!r}")
    style = part.string("style", "") or ""
    if style and style not in BACKPROP_STYLES:
        part.fail("style", f'expected "paths" or "delta", got {style!r}')
    return PartSpec(
        label, text, tuple(show), remark, spec,
        claim=read_claim(part) if "verify" in raw else None, vector=vector, depends=depends,
        plot=tuple(plot), plot_at=tuple(plot_at), note=note, points=points, style=style,
        erratum=read_erratum(part, note),
    )


def read_depends(part: Reader, spec: ProblemSpec | None) -> DependencySpec:
    asked = part.table["depends"]
    if not (isinstance(asked, dict) and set(asked) == {"of", "on"}
            and all(isinstance(v, str) for v in asked.values())):
        part.fail("depends", 'expected { of = "dyhat[1]/dx[1]", on = "b2[1]" }')
    if spec is None:
        part.fail("depends", "this part has no network or graph to differentiate")
    return DependencySpec(asked["of"], asked["on"], part.where("depends"))


def read_claim(part: Reader) -> ClaimSpec:
    claim = part.string("verify") or ""
    lists: dict[str, tuple[str, ...]] = {}
    for key in ("where", "assume"):
        value = part.table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            part.fail(key, 'expected a list of strings such as ["s = exp(z)"]')
        lists[key] = tuple(value)
    return ClaimSpec(claim, lists["where"], lists["assume"], part.where("verify"))


def read_vector(source: str, table: object, at: str) -> VectorSpec:
    if not isinstance(table, dict):
        raise ProblemError(source, at, "expected a table")
    reader = Reader(source, table, at, {"function", "name"})
    text = reader.string("function")
    if not text:
        reader.fail("function", 'expected a function of w such as "sigmoid(dot(w, x))"')
    name = reader.string("name", "f") or "f"
    if not IDENTIFIER.match(name):  # LaTeX, pasted in verbatim: harmless math only
        checked_math(source, reader.where("name"), name)
    return VectorSpec(text, name, source, at)
