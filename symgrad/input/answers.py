"""A student's work read for checking: an answer file (.json or .toml, in the shape of
`symgrad solve --json`) or a written solution (.md, .txt or .tex: Markdown with `$...$` and
`$$...$$`, or LaTeX with `\\[ \\]`, `equation` and `align`); and the `[check]` table of the
problem file.

A written solution becomes a list of statements.  A statement is a chain `A = B = C = 0.123`
read from one displayed line (or continued on the next lines, `&= ...` or `$$= ...$$`), each side
a tree from `mathtext`.  Every `=` is a link the checker tests.  Section markers ("3.", "1b)",
"## 2.3:", "\\textcircled{2}") say which question and part a line belongs to.  Nothing is
evaluated here, and no text is ever run.

The problem file's `[check]` table (and the points of its questions and parts) is read here and
removed before the sheet is read, so that the sheet reader sees the format it knows:

    [check]
    ecf_credit = 0.5              # the share of a line's marks for a correct-ecf line (default 1)
    ecf_counts_as_correct = false # exit status 0 with correct-ecf lines (default false)
    inconsistent_credit = 0.5     # the share for a right value reached by a broken link
    points = 10                   # every part's points, or a table {"1" = 4, "3-4/b" = 6}
    [check.symbols]               # the student's LaTeX names (h_1 and h_{1} are one name)
    "h_1" = "a1[1]"
    "E" = "L"
    "\\phi" = "relu"              # a function name: what the student's φ( ) is
"""

from __future__ import annotations

import bisect
import json
import math
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from symgrad.errors import ProblemError
from symgrad.input import limits
from symgrad.input.mathtext import (FUNCTIONS, MathError, Name, Node, Num, name_key,
                                    parse_element)
from symgrad.input import spec
from symgrad.input.spec import read_toml

MAX_STATEMENTS = 10_000  # statements of one written solution (checking 10,000 takes seconds)
MAX_ELEMENT = 5_000  # characters of one side of an `=`
ANSWER_SUFFIXES = (".json", ".toml")
WRITTEN_SUFFIXES = (".md", ".markdown", ".txt", ".tex")
ACTIVATION_NAMES = ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "exp")
CHECK_KEYS = {"ecf_credit", "ecf_counts_as_correct", "inconsistent_credit", "points", "symbols"}


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class CheckOptions:
    source: str = "<check>"
    symbols: dict[str, str] = field(default_factory=dict)  # a name's key → an engine name
    symbol_text: dict[str, str] = field(default_factory=dict)  # key → the name as written
    ecf_credit: float = 1.0
    ecf_counts_as_correct: bool = False
    inconsistent_credit: float = 0.5
    points: float | None = None  # every part's points
    part_points: dict[tuple[str, str | None], float] = field(default_factory=dict)  # (q, label)

    def merged(self, symbols: dict[str, str], text: dict[str, str]) -> CheckOptions:
        """These options with more symbols (the answer file's own) taking precedence."""
        return CheckOptions(self.source, {**self.symbols, **symbols}, {**self.symbol_text, **text},
                            self.ecf_credit, self.ecf_counts_as_correct, self.inconsistent_credit,
                            self.points, self.part_points)


@dataclass(frozen=True)
class Element:
    """One side of an `=`: its text as written, its line, and its tree (None when unreadable)."""

    text: str
    line: int
    node: Node | None
    error: str = ""


@dataclass(frozen=True)
class Statement:
    elements: tuple[Element, ...]  # elements[0] is the left side (the head), when there is one
    question: str | None  # the question and part it was written under (None: not known)
    part: str | None
    headless: bool = False  # a chain continued from nothing: "= 0.5998" with no left side
    inline: bool = False  # inside a sentence ($z = 0$): not reported when it cannot be checked

    @property
    def line(self) -> int:
        return self.elements[0].line

    @property
    def text(self) -> str:
        joined = " = ".join(e.text for e in self.elements)
        return ("= " + joined) if self.headless else joined


@dataclass(frozen=True)
class YesNo:
    """A yes-or-no answer in words ("No, dŷ/dx does not change"), for dependency questions."""

    says: bool
    line: int
    text: str
    question: str | None
    part: str | None


@dataclass(frozen=True)
class Answers:
    source: str
    written: bool  # a written solution (lines in order), or an answer file
    statements: tuple[Statement, ...]
    yes_no: tuple[YesNo, ...] = ()
    symbols: dict[str, str] = field(default_factory=dict)  # the file's own [check.symbols]
    symbol_text: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# The problem file's [check] table


def load_check_problem(path: str | Path) -> tuple[dict[str, Any], CheckOptions]:
    """The problem file as a dict for the sheet reader, with `[check]` taken out and read here,
    and the points of every question and part (`points = 4`) read too."""
    source = str(path)
    data = read_toml(path)
    raw = data.pop("check", None)
    part_points: dict[tuple[str, str | None], float] = {}
    questions = data.get("question")
    if isinstance(questions, list):
        for n, q in enumerate(questions, 1):
            if not isinstance(q, dict):
                continue
            number = str(q.get("number", n))
            if "points" in q:
                part_points[number, None] = points_value(source, f"question[{n}].points", q["points"])
            parts = q.get("part", [])
            if isinstance(parts, list):
                for k, p in enumerate(parts, 1):
                    if isinstance(p, dict) and "points" in p:
                        label = "" if len(parts) == 1 else chr(ord("a") + k - 1)
                        part_points[number, label] = points_value(
                            source, f"question[{n}].part[{k}].points", p["points"])
    options = read_check_options(raw, source)
    return data, CheckOptions(options.source, options.symbols, options.symbol_text,
                              options.ecf_credit, options.ecf_counts_as_correct,
                              options.inconsistent_credit, options.points,
                              {**part_points, **options.part_points})


def points_value(source: str, where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 10**6:
        raise ProblemError(source, where, f"expected a number of points from 0 to 1000000, got {value!r}")
    return float(value)


def share(source: str, where: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ProblemError(source, where, f"expected a share from 0 to 1, got {value!r}")
    return float(value)


def read_check_options(raw: object, source: str, where: str = "check") -> CheckOptions:
    if raw is None:
        return CheckOptions(source)
    if not isinstance(raw, dict):
        raise ProblemError(source, where, "expected a table")
    unknown = sorted(set(raw) - CHECK_KEYS)
    if unknown:
        raise ProblemError(source, f"{where}.{unknown[0]}",
                           f"unknown field (expected one of: {', '.join(sorted(CHECK_KEYS))})")
    ecf = share(source, f"{where}.ecf_credit", raw.get("ecf_credit", 1.0))
    inconsistent = share(source, f"{where}.inconsistent_credit", raw.get("inconsistent_credit", 0.5))
    counts = raw.get("ecf_counts_as_correct", False)
    if not isinstance(counts, bool):
        raise ProblemError(source, f"{where}.ecf_counts_as_correct", f"expected true or false, got {counts!r}")
    points: float | None = None
    part_points: dict[tuple[str, str | None], float] = {}
    raw_points = raw.get("points")
    if isinstance(raw_points, dict):
        for key, value in raw_points.items():
            number, _, label = str(key).partition("/")
            part_points[number.strip(), label.strip() if "/" in str(key) else None] = points_value(
                source, f"{where}.points.{key}", value)
    elif raw_points is not None:
        points = points_value(source, f"{where}.points", raw_points)
    symbols, text = read_symbols(raw.get("symbols", {}), source, f"{where}.symbols")
    return CheckOptions(source, symbols, text, ecf, counts, inconsistent, points, part_points)


def read_symbols(raw: object, source: str, where: str) -> tuple[dict[str, str], dict[str, str]]:
    """`"h_1" = "a1[1]"`: the key of each LaTeX name, mapped to an engine name (checked against
    the problem later) or an activation's name."""
    if not isinstance(raw, dict):
        raise ProblemError(source, where, 'expected a table such as "h_1" = "a1[1]"')
    limits.at_most(source, where, "symbols", len(raw), 10_000)
    symbols, text = {}, {}
    for name, target in raw.items():
        shown = name if re.fullmatch(r"[A-Za-z0-9_{}^\\\[\](),' ]{1,60}", name) else repr(name[:60])
        key = name_key(name) if len(name) <= 200 else None
        if key is None:
            raise ProblemError(source, f"{where}.{shown}",
                               "expected a LaTeX name such as h_1, w_{j1} or \\hat{y} as the key")
        if not isinstance(target, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\[\],/]{0,100}", target):
            raise ProblemError(source, f"{where}.{shown}",
                               f"expected a name of the problem such as \"a1[1]\", got {target!r}")
        symbols[key] = target
        text[key] = name
    return symbols, text


# ---------------------------------------------------------------------------------------------
# Reading the student's file


def read_text(path: str | Path) -> str:
    """The file as text, with the same bounds as a problem file: size, UTF-8."""
    return spec.read_text(path)


def load_answers(path: str | Path, layout: list[tuple[str, list[str]]]) -> Answers:
    """A student's answers.  `layout` is the sheet's questions with their part labels, so that
    section markers ("1b)") are matched to the sheet."""
    if not isinstance(path, (str, os.PathLike)):
        raise ProblemError(str(path)[:60], "", f"expected a file name, got {type(path).__name__}")
    suffix = Path(path).suffix.lower()
    if suffix not in ANSWER_SUFFIXES + WRITTEN_SUFFIXES:
        raise ProblemError(str(path), "", "expected answers in .json or .toml, or a written "
                           "solution in .md, .txt or .tex")
    text = read_text(path)
    if suffix in ANSWER_SUFFIXES:
        return read_answer_file(text, str(path), suffix)
    return read_written(text, str(path), layout)


# -- answer files


class Quoted:
    """A number in an answer file, with the digits it was written with."""

    def __init__(self, text: str) -> None:
        self.text = text


def read_answer_file(text: str, source: str, suffix: str) -> Answers:
    try:
        if suffix == ".json":
            data = json.loads(text, parse_float=Quoted, parse_int=Quoted,
                              parse_constant=lambda c: _bad_constant(source, c))
        else:
            data = tomllib.loads(text, parse_float=Quoted)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as error:
        raise ProblemError(source, "", f"not valid {suffix[1:].upper()}: {error}") from None
    except RecursionError:
        raise ProblemError(source, "", f"nested more than {limits.NESTING} levels deep") from None
    except ValueError as error:  # Python's own limit on long digit strings
        raise ProblemError(source, "", f"cannot read a number ({error})") from None
    if not isinstance(data, dict):
        raise ProblemError(source, "", "expected an object in the shape of `symgrad solve --json`")
    limits.check_plain_data(_plain(data), source)
    symbols, symbol_text = read_symbols(data.pop("check", {}).get("symbols", {}) if isinstance(
        data.get("check", {}), dict) else {}, source, "check.symbols")
    finder = LineFinder(text)
    statements: list[Statement] = []
    yes_no: list[YesNo] = []
    if "questions" in data:
        _only(source, "", data, {"title", "questions"})
        questions = data["questions"]
        if not isinstance(questions, list):
            raise ProblemError(source, "questions", "expected a list of questions")
        for n, q in enumerate(questions, 1):
            where = f"questions[{n}]"
            if not isinstance(q, dict) or not isinstance(q.get("number", ""), (str, int, Quoted)):
                raise ProblemError(source, where, 'expected {"number": ..., "parts": [...]}')
            _only(source, where, q, {"number", "parts"})
            number = q.get("number", str(n))
            number = number.text if isinstance(number, Quoted) else str(number)
            parts = q.get("parts", [])
            if not isinstance(parts, list):
                raise ProblemError(source, f"{where}.parts", "expected a list of parts")
            for k, p in enumerate(parts, 1):
                pw = f"{where}.parts[{k}]"
                if not isinstance(p, dict):
                    raise ProblemError(source, pw, 'expected {"label": ..., "values": ...}')
                label = p.get("label", "")
                if not isinstance(label, str):
                    raise ProblemError(source, f"{pw}.label", f"expected a part's letter, got {_shown(label)}")
                statements += part_entries(source, pw, p, number, label, finder)
                yes_no += dependency_entry(source, pw, p, number, label, finder)
    else:
        statements += part_entries(source, "", data, None, None, finder)
        yes_no += dependency_entry(source, "", data, None, None, finder)
    return Answers(source, False, tuple(statements), tuple(yes_no), symbols, symbol_text)


def _bad_constant(source: str, constant: str) -> None:
    raise ProblemError(source, "", f"expected finite numbers, found {constant}")


def _shown(value: Any) -> str:
    """A value for a message: numbers as written (not a Quoted object), at most 60 characters."""
    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: plain(w) for k, w in v.items()}
        if isinstance(v, list):
            return [plain(w) for w in v]
        return Number(v.text) if isinstance(v, Quoted) else v
    text = repr(plain(value))
    return text if len(text) <= 60 else text[:57] + "..."


def short_number(text: str) -> str:
    return text if len(text) <= 40 else f"{text[:20]}...{text[-10:]} ({len(text)} characters)"


class Number(str):
    def __repr__(self) -> str:
        return str(self)


def _plain(data: Any) -> Any:
    """The document with its numbers as floats, for the bounds check (nesting, lengths)."""
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    if isinstance(data, Quoted):
        return 0.0
    return data


SOLVE_KEYS = {"title", "values", "gradients", "updated", "deltas", "label", "vector", "verify",
              "proof", "dependency", "collapse", "matrix", "number"}


def _only(source: str, where: str, table: dict[str, Any], allowed: set[str]) -> None:
    unknown = [k for k in table if k not in allowed]
    if unknown:
        at = f"{where}.{unknown[0]}" if where else unknown[0]
        raise ProblemError(source, at, f"unknown field (expected one of: {', '.join(sorted(allowed))})")


class LineFinder:
    """The line of each key in an answer file, found in order (JSON and TOML keep it)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.cursor = 0

    def line(self, key: str) -> int:
        pattern = re.compile(r'(?:"%s"|\'%s\'|(?<![\w\[])%s(?![\w\]]))\s*[:=]' % ((re.escape(key),) * 3))
        m = pattern.search(self.text, self.cursor)
        if m is None:
            m = pattern.search(self.text)
            if m is None:
                return 0
        else:
            self.cursor = m.end()
        return self.text.count("\n", 0, m.start()) + 1


def part_entries(source: str, where: str, table: dict[str, Any], question: str | None,
                 part: str | None, finder: LineFinder) -> list[Statement]:
    _only(source, where, table, SOLVE_KEYS | ({"check"} if not where else set()))
    out: list[Statement] = []
    sections = {"values": "", "gradients": "", "deltas": "", "updated": "updated "}
    for section in [k for k in table if k in sections]:  # in the file's own order
        prefix = sections[section]
        entries = table.get(section, {})
        at = f"{where}.{section}" if where else section
        if not isinstance(entries, dict):
            raise ProblemError(source, at, "expected a table of names and values")
        for key, value in entries.items():
            if not isinstance(key, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\[\],/ ]{0,200}", key):
                raise ProblemError(source, f"{at}.{str(key)[:60]!r}", "expected a name such as \"W2[1,1]\"")
            line = finder.line(key)
            element = answer_element(source, f"{at}.{key}", value, line)
            # "gradients": {"W2[1,1]": ...} means the gradient by W2[1,1], as "dL/dW2[1,1]" does
            mark = "grad " if section == "gradients" and "/" not in key else prefix
            shown = f"∂/∂{key}" if mark == "grad " else prefix + key
            head = Element(shown, line, Name("=" + mark + key.replace(" ", ""), shown, 0))
            out.append(Statement((head, element), question, part))
    return out


def answer_element(source: str, where: str, value: object, line: int) -> Element:
    if isinstance(value, dict):
        if "value" not in value:
            raise ProblemError(source, where, 'expected a number, a string or {"value": ...}')
        value = value["value"]
    if isinstance(value, Quoted):
        number = value.text
        if number.lower().lstrip("-") in ("nan", "inf", "infinity") or not math.isfinite(float(number)):
            raise ProblemError(source, where, f"expected a finite number, got {short_number(number)}")
        return Element(number, line, parse_answer(source, where, number))
    if isinstance(value, int) and not isinstance(value, bool):
        return Element(str(value), line, parse_answer(source, where, str(value)))
    if isinstance(value, str):
        if len(value) > MAX_ELEMENT:
            raise ProblemError(source, where, f"expected at most {MAX_ELEMENT} characters")
        return Element(value, line, parse_answer(source, where, value))
    raise ProblemError(source, where, f"expected a number, a string or {{\"value\": ...}}, got {_shown(value)}")


def parse_answer(source: str, where: str, text: str) -> Node:
    try:
        return parse_element(text, plain=True)
    except MathError as error:
        raise ProblemError(source, where, f"cannot read {short_number(text)!r}: {error}") from None


def dependency_entry(source: str, where: str, table: dict[str, Any], question: str | None,
                     part: str | None, finder: LineFinder) -> list[YesNo]:
    raw = table.get("dependency")
    if raw is None:
        return []
    at = f"{where}.dependency" if where else "dependency"
    if not isinstance(raw, dict) or not isinstance(raw.get("depends"), bool):
        raise ProblemError(source, at, 'expected {"depends": true} or {"depends": false}')
    says = raw["depends"]
    return [YesNo(says, finder.line("depends"), f"depends: {'yes' if says else 'no'}", question, part)]


# -- written solutions
#
# Finding the mathematics is a parser's job: markdown-it-py with mdit-py-plugins' dollarmath
# (`$...$`, `$$...$$`) for Markdown and .txt, with two small markdown-it rules of the same kind
# for `\(...\)`, `\[...\]` and `\begin{align}`; pylatexenc's LatexWalker for .tex.  Inside one
# piece of mathematics the layout (rows, `&`, `\quad`, `\text{...}`, `\boxed{...}`, `\approx`) is
# read from pylatexenc's nodes too, and written into a copy of the text of the same length (so
# that offsets still give lines, and the student's own text is what a message shows).  Cutting a
# side at its `=` and reading the side is mathtext's bounded parser.  The libraries only build
# trees of the text; nothing runs TeX or anything the student wrote.

FRONT_MATTER = re.compile(r"\A\+\+\+[ \t]*\r?\n(?P<body>.*?)\r?\n\+\+\+[ \t]*(?:\r?\n|\Z)", re.S)
MATH_ENVIRONMENTS = ("equation", "align", "alignat", "gather", "multline", "eqnarray", "flalign",
                     "displaymath", "math")
MAX_GROUPS = 100  # braces and environments inside each other, for the LaTeX reader's stack


@dataclass
class Segment:
    opened: int  # where the opening delimiter starts
    start: int  # the content
    end: int
    closed: int  # just past the closing delimiter
    display: bool
    math: str | None = None  # the content, when it is not text[start:end] (a blockquote's ">")

    def content(self, text: str) -> str:
        return self.math if self.math is not None else text[self.start:self.end]


def nesting(text: str) -> int:
    """How deep braces and environments go (a bound checked before the LaTeX reader's
    recursion, which would otherwise end in a RecursionError)."""
    depth = deepest = 0
    for m in re.finditer(r"\\begin\b|\\end\b|\\.|[{}]", text):
        token = m.group()
        if token in ("{", "\\begin", "\\(", "\\["):
            depth += 1
            deepest = max(deepest, depth)
        elif token in ("}", "\\end", "\\)", "\\]"):
            depth = max(depth - 1, 0)
    return deepest


_MARKDOWN: Any = None
_LATEX_CONTEXT: Any = None


def markdown_reader() -> Any:
    """CommonMark with dollarmath's `$...$` and `$$...$$`, and LaTeX's own delimiters read by the
    two rules below.  Indented code is off (a student's indented line is not code) and so is
    HTML (`<` starts no block of HTML here); fenced code stays code."""
    global _MARKDOWN
    if _MARKDOWN is None:
        from markdown_it import MarkdownIt
        from mdit_py_plugins.dollarmath import dollarmath_plugin

        md = MarkdownIt("commonmark", {"maxNesting": 20})
        md.use(dollarmath_plugin, double_inline=True)
        # mdit-py-plugins' texmath (\( \), \[ \]) and amsmath (\begin{align}) would do, but they
        # scan to the end of the text for every opening that is never closed (a file of such
        # lines took minutes), and read them only on lines of their own.  These two rules
        # remember where a closing is missing.
        md.block.ruler.before("blockquote", "latex_block", latex_block,
                              {"alt": ["paragraph", "reference", "blockquote", "list"]})
        md.inline.ruler.before("escape", "latex_inline", latex_inline)
        md.disable(["code", "html_block", "html_inline"])
        _MARKDOWN = md
    return _MARKDOWN


LATEX_OPEN = re.compile(r"\\\(|\\\[|\\begin\{(%s)(\*?)\}" % "|".join(MATH_ENVIRONMENTS))


def closing(opening: re.Match[str]) -> str:
    if opening.group() in ("\\(", "\\["):
        return "\\)" if opening.group() == "\\(" else "\\]"
    return "\\end{%s%s}" % (opening.group(1), opening.group(2))


def find_closing(env: dict[str, Any], src: str, closer: str, start: int) -> int:
    """src.find(closer, start), remembering the last answer: the openings of one text are met in
    order, so that many of them (never closed, or closed far away) cost one scan, not one each."""
    memo = env.setdefault("symgrad_closing", {})
    key = (id(src), closer)
    held = memo.get(key)
    if held is not None and held[0] is src and held[1] <= start and (held[2] < 0 or start <= held[2]):
        return held[2]
    found = src.find(closer, start)
    memo[key] = (src, start, found)  # holds src, so that its id is not reused meanwhile
    return found


def latex_inline(state: Any, silent: bool) -> bool:
    """A markdown-it inline rule: `\\( ... \\)`, `\\[ ... \\]` or `\\begin{align} ... \\end{align}`
    inside a paragraph, as tokens like dollarmath's (`amsmath` holds its environment whole)."""
    m = LATEX_OPEN.match(state.src, state.pos)
    if m is None or state.pos > 0 and state.src[state.pos - 1] == "\\":
        return False
    closer = closing(m)
    end = find_closing(state.env, state.src, closer, m.end())
    if end < 0 or not state.src[m.end():end].strip():
        return False
    if not silent:
        if m.group() in ("\\(", "\\["):
            token = state.push("math_inline" if m.group() == "\\(" else "math_inline_double",
                               "math", 0)
            token.content, token.markup = state.src[m.end():end], m.group()
        else:
            token = state.push("amsmath", "math", 0)
            token.content = state.src[state.pos:end + len(closer)]
    state.pos = end + len(closer)
    return True


def latex_block(state: Any, start_line: int, end_line: int, silent: bool) -> bool:
    """A markdown-it block rule: a line that opens `\\[` or `\\begin{align}` and the lines up to
    the one that ends with its closing (blank lines and all), as dollarmath's `math_block`, or
    an `amsmath` token holding the environment whole."""
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False
    begin = state.bMarks[start_line] + state.tShift[start_line]
    m = LATEX_OPEN.match(state.src, begin)
    if m is None or m.group() == "\\(":
        return False
    closer = closing(m)
    end = find_closing(state.env, state.src, closer, m.end())
    if end < 0 or end + len(closer) > state.eMarks[end_line - 1]:
        return False  # not closed, or closed outside this block (a blockquote's end)
    line = bisect.bisect_left(state.eMarks, end + len(closer), start_line, end_line)
    if line >= end_line or state.src[end + len(closer):state.eMarks[line]].strip():
        return False  # text after the closing: a paragraph's, read by latex_inline
    if line > start_line and (silent or state.parentType in ("blockquote", "list")):
        # ending a paragraph, or inside a quote or a list, markdown-it lets a rule look past the
        # container's last line: only a one-line block then; the rest is the paragraph's, for
        # latex_inline
        return False
    if silent:
        return True
    if m.group() == "\\[":
        token = state.push("math_block", "math", 0)
        token.markup, first = "\\[", m.end()
    else:
        token = state.push("amsmath", "math", 0)
        first, end = begin, end + len(closer)
    parts = [state.src[first:min(end, state.eMarks[start_line])]]
    for k in range(start_line + 1, line + 1):  # each line without its container's prefix
        parts.append("\n" + state.src[state.bMarks[k]:min(end, state.eMarks[k])])
    token.content = "".join(parts)
    token.map = [start_line, line + 1]
    state.line = line + 1
    return True


def latex_context() -> Any:
    """pylatexenc's context with no macro taking arguments: `\\text{a}` is a macro followed by a
    group, read here as such.  So no macro's arguments are parsed behind our back, and the
    reader's recursion is bounded by the nesting of braces and environments alone."""
    global _LATEX_CONTEXT
    if _LATEX_CONTEXT is None:
        from pylatexenc import macrospec

        db = macrospec.LatexContextDb()
        db.set_unknown_macro_spec(macrospec.MacroSpec(""))
        db.set_unknown_environment_spec(macrospec.EnvironmentSpec(""))
        db.set_unknown_specials_spec(macrospec.SpecialsSpec(""))
        _LATEX_CONTEXT = db
    return _LATEX_CONTEXT


def latex_nodes(text: str) -> list[Any] | None:
    """pylatexenc's nodes of `text` (tolerant of unbalanced input), or None when it nests deeper
    than MAX_GROUPS."""
    from pylatexenc.latexwalker import LatexWalker, LatexWalkerError

    if nesting(text) > MAX_GROUPS:
        return None
    try:
        nodes, _, _ = LatexWalker(text, latex_context=latex_context(),
                                  tolerant_parsing=True).get_latex_nodes(pos=0)
    except RecursionError:  # a backstop: nesting() keeps the reader far from Python's limit
        return None
    except LatexWalkerError:  # tolerant parsing records its errors; this is a backstop too
        return None
    return [n for n in nodes if n is not None]


def markdown_segments(text: str) -> list[Segment]:
    """Every piece of mathematics of a Markdown (or .txt) document, in order.  markdown-it gives
    each piece's content and the lines of its block; the piece is then found in the text from
    there, so that its offsets are exact."""
    lines = Lines(text)
    starts = lines.starts + [len(text)]
    out: list[Segment] = []
    cursor = 0

    def line_start(k: int | None) -> int:
        return starts[min(k, len(starts) - 1)] if k is not None else cursor

    def found(token: Any, lo: int, hi: int) -> None:
        nonlocal cursor
        markup = token.markup or ""
        content = token.content or ""
        if token.type == "amsmath":  # \begin{align} ... \end{align}: the content holds both
            opener, closer = "", ""
        elif markup in ("$", "$$"):
            opener = closer = markup
        elif markup in ("\\(", "\\["):
            opener, closer = markup, "\\)" if markup == "\\(" else "\\]"
        else:
            return
        segment = locate(text, content, opener, closer, max(lo, cursor), hi)
        if segment is None:
            return
        if token.type == "amsmath":
            inner = environment_content(text, segment.opened, segment.closed)
            if inner is None:
                return
            segment = Segment(segment.opened, inner[0], inner[1], segment.closed, True,
                              None if segment.math is None else
                              segment.math[inner[0] - segment.start:inner[1] - segment.start])
        segment.display = markup not in ("$", "\\(")
        out.append(segment)
        cursor = segment.closed

    for token in markdown_reader().parse(text):
        lo = line_start(token.map[0]) if token.map else cursor
        if token.map:  # a line more: amsmath's map ends a line early ([3, 3] for line 3 alone)
            hi = line_start(max(token.map[1], token.map[0]) + 1)
        else:
            hi = min(len(text), cursor + 4 * len(token.content or "") + 10_000)
        if token.type == "inline":
            for child in token.children or []:
                if child.type.startswith("math"):
                    found(child, lo, hi)
        elif token.type.startswith("math") or token.type == "amsmath":
            found(token, lo, hi)
    return out


def locate(text: str, content: str, opener: str, closer: str, lo: int, hi: int) -> Segment | None:
    """Where `opener content closer` stands in text[lo:hi].  markdown-it's content drops a
    container's prefix on each line (a blockquote's ">", a list item's indent), so when the
    content is not there letter for letter it is found with those prefixes allowed, and the
    prefixes are blanked in the segment's own copy of the content."""
    needle = opener + content + closer
    at = text.find(needle, lo, hi)
    if at >= 0:
        return Segment(at, at + len(opener), at + len(needle) - len(closer), at + len(needle), True)
    pieces = [re.escape(line.strip()) for line in content.split("\n")]
    pattern = re.escape(opener) + r"[ \t]*" + r"[ \t]*\n[ \t>]*".join(pieces) + r"[ \t]*" + \
        re.escape(closer)
    m = re.compile(pattern).search(text, lo, hi)
    if m is None:
        return None
    start, end = m.start() + len(opener), m.end() - len(closer)
    math = re.sub(r"\n[ \t>]*", lambda p: "\n" + " " * (len(p.group()) - 1), text[start:end])
    return Segment(m.start(), start, end, m.end(), True, math)


def environment_content(text: str, opened: int, closed: int) -> tuple[int, int] | None:
    """The content of `\\begin{align} ... \\end{align}` (after `{2}` for alignat); None when the
    environment is not closed."""
    begin = re.compile(r"\\begin\s*\{([^{}]{1,40})\}(?:\s*\{\d+\})?").match(text, opened, closed)
    if begin is None:
        return None
    name = re.escape(begin.group(1))
    end = re.compile(r"\\end\s*\{%s\}\s*\Z" % name).search(text, begin.end(), closed)
    if end is None:
        return None
    return begin.end(), end.start()


def latex_segments(text: str, source: str) -> tuple[list[Segment], list[tuple[int, int]]]:
    """Every piece of mathematics of a LaTeX document, in order (`$`, `$$`, `\\( \\)`, `\\[ \\]`,
    equation, align, align*, gather, multline, ...), and the comments outside them."""
    from pylatexenc.latexwalker import (LatexCommentNode, LatexEnvironmentNode,
                                        LatexMathNode)

    nodes = latex_nodes(text)
    if nodes is None:
        raise ProblemError(source, "", f"braces or environments nested more than {MAX_GROUPS} "
                           "levels deep")
    out: list[Segment] = []
    comments: list[tuple[int, int]] = []
    stack = [nodes]
    while stack:
        for node in stack.pop():
            if node is None:
                continue
            if isinstance(node, LatexCommentNode):
                comments.append((node.pos, node.pos + node.len))
            elif isinstance(node, LatexMathNode):
                opener, closer = node.delimiters
                closed = node.pos + node.len
                if node.len >= len(opener) + len(closer) and text.startswith(closer, closed - len(closer)):
                    out.append(Segment(node.pos, node.pos + len(opener), closed - len(closer),
                                       closed, opener not in ("$", "\\(")))
            elif isinstance(node, LatexEnvironmentNode) and \
                    node.environmentname.rstrip("*") in MATH_ENVIRONMENTS:
                inner = environment_content(text, node.pos, node.pos + node.len)
                if inner is not None:
                    out.append(Segment(node.pos, inner[0], inner[1], node.pos + node.len, True))
            elif getattr(node, "nodelist", None):
                stack.append(node.nodelist)
    out.sort(key=lambda s: s.opened)
    return out, comments


# The layout inside one piece of mathematics.  Commands blanked out with their braced argument,
# separators, and wrappers whose braces are dropped but whose content stays.
DROP_WITH_ARGUMENT = ("label", "tag", "vspace", "color", "textcolor", "colorbox", "phantom",
                      "hphantom", "vphantom", "textcircled")
SPACES = ("quad", "qquad", "enspace", "hspace", "hskip")  # between two equations: a new column
SEPARATORS = ("Rightarrow", "rightarrow", "Longrightarrow", "longrightarrow", "implies", "to",
              "therefore", "because", "iff", "Leftrightarrow", "bullet", "hfill", "downarrow",
              "Downarrow", "uparrow", "forall", "mapsto", "leadsto", "xrightarrow", "cdots",
              "ldots", "dots", "textbf", "hbox", "intertext", "textit", "emph", "mid",
              "Longleftrightarrow", "checkmark")
SEPARATORS_WITH_ARGUMENT = ("textbf", "hbox", "intertext", "textit", "emph", "xrightarrow")
TEXT = ("text", "mathrm", "textrm", "mbox")
WRAPPERS = ("boxed", "underline", "cancel", "bcancel", "xcancel", "fbox", "framebox",
            "overbrace", "underbrace", "displaystyle", "bm")
LINKS = ("approx", "leftarrow", "coloneqq", "equiv", "simeq", "doteq", "gets")
NOT_CLAIMS = ("neq", "ne", "leq", "geq", "le", "ge", "in", "notin", "subset", "propto", "sim",
              "ll", "gg", "lt", "gt")
LINK_CHARACTERS = {"≈": "=", "≃": "=", "≔": "=", "≠": "\x03", "≤": "\x03", "≥": "\x03",
                   "<": "\x03", ">": "\x03"}
MATRIX_ENVIRONMENTS = ("pmatrix", "bmatrix", "matrix", "Bmatrix", "vmatrix", "Vmatrix",
                       "smallmatrix")
COLUMN, ROW, BREAK, QUAD = "\x01", "\x02", ";", "\x04"
SHOWN = "\x05"  # a space to the parser, but shown as written (`\text{about }`, a \quad as a space)
MARKER_AT_START = re.compile(r"\s*(?:\\textcircled\{(?P<circled>\d+)\}|(?P<number>\d+(?:\.\d+)*)"
                             r"(?P<letter>[a-z])?\s*[.)\]])(?=\s|\\|$)")
# a piece with nothing that could be a link needs no layout: it holds no claim
MAY_LINK = re.compile(r"=|[≈≃≔]|\\(?:approx|leftarrow|coloneqq|equiv|simeq|doteq|gets|text|"
                      r"mathrm|textrm|mbox)\b")
EQUATION_TAG = re.compile(r"\(\s*(?:\d+(?:\.\d+)*[a-z]?|\*+|[ivx]+)\s*\)")
# a \quad inside one expression: after an operator, or before one (`0.15 \cdot 0.05 \quad + 0.35`)
OPEN_END = re.compile(r"(?:[-+*/^_(]|\\cdot|\\times|\\div)\Z")
OPEN_START = re.compile(r"[-+*/^_)]|\\(?:cdot|times|div)(?![A-Za-z])")
NUMBER_AHEAD = re.compile(r"\s*[-+−]?\s*(?:\d|\.\d)")


def blank(chars: list[str], start: int, end: int, fill: str = " ") -> None:
    for k in range(start, end):
        if chars[k] != "\n":
            chars[k] = " "
    if end > start and fill != " ":
        chars[start] = fill


def prepare(math: str) -> str:
    """The mathematics with layout removed, of the same length (so offsets still give lines):
    separators become ; (and \\quad between two equations a new column), rows become a row mark,
    wrappers vanish, \\approx and \\text{or} become =.  Read from pylatexenc's nodes."""
    if not MAY_LINK.search(math):
        return math
    nodes = latex_nodes(math)
    if nodes is None:  # nested too deeply: left as it is, and unreadable as a formula
        return math
    layout = Layout(math)
    layout.run(nodes, "layout")
    return layout.resolved()


class Layout:
    """One walk over the nodes of a piece of mathematics.  `level` is "layout" at the top (and
    inside aligned, array, \\boxed{...}), "matrix" inside pmatrix and the like (its & and \\\\
    stay), and "inner" inside any other braces (a fraction's parts, a subscript), where only
    comments and wrappers are removed."""

    def __init__(self, math: str) -> None:
        self.math = math
        self.chars = list(math)
        self.quads: dict[int, int] = {}  # where each \quad (or \hspace{...}) starts and ends

    def hide(self, start: int, end: int) -> None:
        for k in range(start, end):
            if self.chars[k] != "\n":
                self.chars[k] = SHOWN

    def blank(self, start: int, end: int, fill: str = " ") -> None:
        blank(self.chars, start, end, fill)

    def unwrap(self, group: Any, level: str) -> None:
        """A group's braces blanked, its content read at `level`."""
        self.blank(group.pos, group.pos + 1)
        end = group.pos + group.len
        if self.math[end - 1:end] == "}":
            self.blank(end - 1, end)
        self.run(group.nodelist or [], level)

    def run(self, nodes: list[Any], level: str) -> None:
        from pylatexenc.latexwalker import (LatexCharsNode, LatexCommentNode,
                                            LatexEnvironmentNode, LatexGroupNode,
                                            LatexMacroNode)

        opened: list[tuple[int, int, str]] = []  # \left and its delimiter, for one-sided pairs
        i = 0
        while i < len(nodes):
            node = nodes[i]
            i += 1
            if node is None:
                continue
            if isinstance(node, LatexCommentNode):
                self.blank(node.pos, node.pos + node.len)
            elif isinstance(node, LatexCharsNode):
                if level != "matrix":
                    self.characters(node.pos, node.pos + node.len, level)
            elif isinstance(node, LatexGroupNode):
                self.run(node.nodelist or [], "inner")
            elif isinstance(node, LatexEnvironmentNode):
                self.environment(node, level)
            elif isinstance(node, LatexMacroNode):
                i = self.macro(nodes, i, node, level, opened)

    def characters(self, start: int, end: int, level: str) -> None:
        math, chars = self.math, self.chars
        for k in range(start, end):
            c = math[k]
            if c == "&":
                chars[k] = " "
            elif level == "layout":
                if c == ":" and math.startswith(":=", k):
                    chars[k] = " "
                elif c in LINK_CHARACTERS:
                    chars[k] = LINK_CHARACTERS[c]

    def environment(self, node: Any, level: str) -> None:
        from pylatexenc.latexwalker import LatexGroupNode

        name = node.environmentname.rstrip("*")
        end = node.pos + node.len
        inner = environment_content(self.math, node.pos, end)
        body = [n for n in node.nodelist or [] if n is not None]
        if name in MATRIX_ENVIRONMENTS:  # kept whole, for mathtext's matrix
            self.run(body, "matrix")
            return
        begin = re.compile(r"\\begin\s*\{[^{}]*\}").match(self.math, node.pos)
        self.blank(node.pos, begin.end() if begin else node.pos)
        if name in ("array", "alignedat", "alignat") and body and isinstance(body[0], LatexGroupNode):
            self.blank(body[0].pos, body[0].pos + body[0].len)  # {l} {cc} {2}
            body = body[1:]
        if inner is not None:
            self.blank(inner[1], end)
        self.run(body, "layout" if level == "layout" else "inner")

    def skip(self, nodes: list[Any], i: int, pattern: str) -> int:
        """Past nodes[i] when it is characters of `pattern` before a group (an optional argument
        or a star, which this context gives no macro)."""
        from pylatexenc.latexwalker import LatexCharsNode

        node = nodes[i] if i < len(nodes) else None
        if isinstance(node, LatexCharsNode) and self.group_after(nodes, i + 1) is not None and \
                re.fullmatch(pattern, self.math[node.pos:node.pos + node.len]):
            return i + 1
        return i

    def group_after(self, nodes: list[Any], i: int) -> Any:
        from pylatexenc.latexwalker import LatexGroupNode

        node = nodes[i] if i < len(nodes) else None
        if isinstance(node, LatexGroupNode) and node.delimiters == ("{", "}"):
            return node
        return None

    def macro(self, nodes: list[Any], i: int, node: Any, level: str,
              opened: list[tuple[int, int, str]]) -> int:
        """Handles one macro; returns the index of the next node to read."""
        word, start = node.macroname, node.pos
        end = start + node.len
        math = self.math
        if word == "\\":
            if level != "matrix":
                self.chars[start] = ROW
                self.chars[start + 1] = " "
                m = re.compile(r"\s*\[[^\]]{0,20}\]").match(math, start + 2)  # \\[2pt]
                if m:
                    self.blank(start + 2, m.end())
            return i
        if word in DROP_WITH_ARGUMENT:
            i = self.skip(nodes, i, r"\*")  # \vspace*{1em}
            self.blank(start, nodes[i - 1].pos + nodes[i - 1].len)
            group = self.group_after(nodes, i)
            if group is not None:
                self.blank(group.pos, group.pos + group.len)
                i += 1
                second = self.group_after(nodes, i)
                if word in ("textcolor", "colorbox") and second is not None:
                    self.unwrap(second, level)  # \textcolor{red}{x}: x stays
                    i += 1
            return i
        if word in WRAPPERS:
            self.blank(start, end)
            group = self.group_after(nodes, i)
            if group is not None:
                self.unwrap(group, level)
                i += 1
                if word in ("underbrace", "overbrace"):  # the note under the brace goes too
                    m = re.compile(r"\s*[_^]\s*").match(math, group.pos + group.len)
                    note = self.group_after(nodes, i + 1) if m else None
                    if note is not None and nodes[i].pos + nodes[i].len == note.pos:
                        self.blank(group.pos + group.len, note.pos + note.len)
                        i += 2
            return i
        if level != "layout":
            return i
        if word in TEXT:
            group = self.group_after(nodes, i)
            if group is not None:
                self.text(word, start, group)
                return i + 1
        if word in SPACES:
            stop = end
            k = self.skip(nodes, i, r"\*")  # \hspace*{1cm}
            group = self.group_after(nodes, k)
            if word == "hspace" and group is not None:
                stop, i = group.pos + group.len, k + 1
            self.blank(start, stop, QUAD)
            self.quads[start] = stop
            return i
        if word in SEPARATORS:
            stop = end
            if word in SEPARATORS_WITH_ARGUMENT:
                k = self.skip(nodes, i, r"\s*\[[^\]]{0,40}\]\s*")  # \xrightarrow[below]{above}
                group = self.group_after(nodes, k)
                if group is not None:
                    stop, i = group.pos + group.len, k + 1
            self.blank(start, stop, BREAK)
            return i
        if word in LINKS:
            self.blank(start, end, "=")
        elif word in NOT_CLAIMS:
            self.blank(start, end, "\x03")
        elif word in ("left", "right"):
            self.sized(word, start, end, opened)
        return i

    def text(self, word: str, start: int, group: Any) -> None:
        """\\text{...}: a link ("or"), an update ("(\\text{new})"), a function's name, a name we
        cannot map, words around a number (`= \\text{about } 0.082`), or a separator."""
        math, chars = self.math, self.chars
        close = group.pos + group.len - 1
        inner = math[group.pos + 1:close].strip().lower()
        before = math[:start].rstrip()
        after = math[close + 1:].lstrip()
        k = start - 1
        while k >= 0 and chars[k].isspace():
            k -= 1
        previous = chars[k] if k >= 0 else ""
        if inner in ("or", "or equivalently", "i.e.", "which is"):
            self.blank(start, close + 1, "=")
        elif inner in ("new", "old") and before.endswith("(") and after.startswith(")"):
            open_at = len(before) - 1
            close_at = close + 1 + (len(math[close + 1:]) - len(after))
            self.blank(open_at, close_at + 1, "'" if inner == "new" else " ")
        elif inner in FUNCTIONS or word == "mathrm" and re.fullmatch(r"[a-z]", inner):
            pass  # \text{ReLU}(x): a function, read by the parser
        elif after.startswith("=") and previous in ("", ";", COLUMN):
            self.blank(start, close + 1, "?")  # \text{error} = ...: a name we cannot map
        elif not inner or previous == "=" and NUMBER_AHEAD.match(math, close + 1):
            self.hide(start, close + 1)  # = \text{about } 0.082: the number
        else:
            self.blank(start, close + 1, BREAK)

    def sized(self, word: str, start: int, end: int, opened: list[tuple[int, int, str]]) -> None:
        """`\\left| ... \\right.`: a bar on one side only is layout (a column's rule), not an
        absolute value; two-sided pairs are left to the parser."""
        m = re.compile(r"\s*(\\[A-Za-z]+|\\.|.)").match(self.math, end)
        if m is None:
            return
        delimiter = m.group(1)
        if word == "left":
            opened.append((start, m.end(), delimiter))
        elif opened:
            left_start, left_end, left_delimiter = opened.pop()
            if delimiter == "." and left_delimiter != ".":
                self.blank(left_start, left_end, BREAK)
                self.blank(start, m.end())

    def resolved(self) -> str:
        """Each \\quad a new column between two equations (`h_1 = ... \\quad h_2 = ...`) or beside
        nothing, a break beside punctuation or before an equation's number, and a space otherwise
        (`0.15 \\cdot 0.05 \\quad + 0.35` is one sum)."""
        chars = self.chars
        marks = [k for k, c in enumerate(chars) if c in (ROW, BREAK, COLUMN, QUAD)]
        for n, k in enumerate(marks):
            if chars[k] != QUAD:
                continue
            a = marks[n - 1] + 1 if n else 0
            b = marks[n + 1] if n + 1 < len(marks) else len(chars)
            left, right = "".join(chars[a:k]).strip(), "".join(chars[k + 1:b]).strip()
            if left and right and (OPEN_END.search(left) or OPEN_START.match(right)):
                self.hide(k, self.quads[k])  # `0.15 \\cdot 0.05 \\quad + 0.35`: one sum
            elif any(c in left for c in "=\x03") and any(c in right for c in "=\x03"):
                chars[k] = COLUMN
            elif not left or not right:  # `\textcircled{2} \quad W_1 = ...`: a column, as ever
                chars[k] = COLUMN
            elif re.fullmatch(r"[,;:.]+", left) or re.fullmatch(r"[,;:.]+", right) or \
                    EQUATION_TAG.fullmatch(right):
                chars[k] = BREAK
            else:
                self.hide(k, self.quads[k])
        return "".join(chars)


def split_top(text: str, separators: str) -> list[tuple[int, int]]:
    """Spans of `text` between separators that sit outside braces (`\\;` is a space, not a
    separator)."""
    spans, depth, start = [], 0, 0
    for k, c in enumerate(text):
        if c == "{" and (k == 0 or text[k - 1] != "\\"):
            depth += 1
        elif c == "}" and (k == 0 or text[k - 1] != "\\"):
            depth = max(depth - 1, 0)
        elif c in separators and depth == 0 and (k == 0 or text[k - 1] != "\\"):
            spans.append((start, k))
            start = k + 1
    spans.append((start, len(text)))
    return spans


def comma_pieces(text: str) -> list[tuple[int, int]]:
    """`x = .5, y = 1, w_1 = .2`: split at commas outside braces and parentheses, but only when
    at least two of the pieces are equations.  A thin space `\\,` is no comma."""
    spans, depth, start = [], 0, 0
    for k, c in enumerate(text):
        escaped = k > 0 and text[k - 1] == "\\"
        if c in "{([" and not escaped:
            depth += 1
        elif c in "})]" and not escaped:
            depth = max(depth - 1, 0)
        elif c == "," and depth == 0 and not escaped:
            spans.append((start, k))
            start = k + 1
    spans.append((start, len(text)))
    if sum("=" in text[a:b] for a, b in spans) < 2:
        return [(0, len(text))]
    return spans


class Lines:
    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def of(self, offset: int) -> int:
        lo, hi = 0, len(self.starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if self.starts[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1


@dataclass
class Event:
    offset: int
    kind: str  # "marker", "piece", "prose"
    data: Any


def read_written(text: str, source: str, layout: list[tuple[str, list[str]]]) -> Answers:
    symbols: dict[str, str] = {}
    symbol_text: dict[str, str] = {}
    text = re.sub(r"\r\n?", "\n", text).replace("\x00", "\ufffd")  # as markdown-it reads it
    front = FRONT_MATTER.match(text)
    if front:
        try:
            meta = tomllib.loads(front["body"])
        except tomllib.TOMLDecodeError as error:
            raise ProblemError(source, "+++ front matter", f"not valid TOML: {error}") from None
        check = meta.get("check", {})
        if set(meta) - {"check"} or not isinstance(check, dict) or set(check) - {"symbols"}:
            raise ProblemError(source, "+++ front matter", "expected only a [check.symbols] table")
        symbols, symbol_text = read_symbols(check.get("symbols", {}), source, "check.symbols")
        text = re.sub(r"[^\n]", " ", text[:front.end()]) + text[front.end():]
    prose_text = text
    if source.lower().endswith(".tex"):
        segments, comments = latex_segments(text, source)
        if comments:  # a comment is not the student's answer: "% does not depend" says nothing
            chars = list(text)
            for a, b in comments:
                blank(chars, a, b)
            prose_text = "".join(chars)
    else:
        segments = markdown_segments(text)
    lines = Lines(text)
    events: list[Event] = []
    prose_start = 0
    heads = 0  # pieces that begin a statement of their own: more than MAX_STATEMENTS is refused
    for seg in [*segments, Segment(len(text), len(text), len(text), len(text), False)]:
        for m in re.finditer(r"[^\n]+", prose_text[prose_start:seg.opened]):
            events.append(Event(prose_start + m.start(), "prose", m.group()))
        if seg.start >= len(text):
            break
        math = seg.content(text)
        marker = MARKER_AT_START.match(math)
        shift = 0
        if marker and seg.display:
            events.append(Event(seg.start, "marker",
                                (marker["circled"] or marker["number"], marker["letter"])))
            shift = marker.end()
        prepared = " " * shift + prepare(math[shift:])
        for r0, r1 in split_top(prepared, ROW):
            for column, (c0, c1) in enumerate(split_top(prepared[r0:r1], COLUMN)):
                for b0, b1 in split_top(prepared[r0 + c0:r0 + c1], BREAK):
                    a = r0 + c0 + b0
                    piece = prepared[a:r0 + c0 + b1]
                    for p0, p1 in comma_pieces(piece):
                        part = piece[p0:p1]
                        if "=" in part and "\x03" not in part and part.split("=", 1)[0].strip():
                            heads += 1
                            if heads > MAX_STATEMENTS:
                                raise ProblemError(source, "", f"more than {MAX_STATEMENTS} statements")
                        events.append(Event(seg.start + a + p0, "piece",
                                            (part, math[a + p0:a + p1], column,
                                             not seg.display)))
        prose_start = seg.closed
    return build_written(events, lines, source, layout, symbols, symbol_text, prose_text)


LINE_MARKER = re.compile(
    r"^\s*(?:#+\s*|\*+\s*|>\s*)*(?:(?:question|problem|exercise|q)\s*\.?\s*(?P<q>\d+(?:\.\d+)*)"
    r"\s*(?:\(?(?P<ql>[a-z])\))?|(?P<n>\d+(?:\.\d+)*)(?P<nl>[a-z])?\s*(?:[.):\]]|\s+(?=[A-Z]))"
    r"|\(?(?P<l>[a-z])\)(?=\s|$))", re.I)
CIRCLED = {chr(0x2460 + k): str(k + 1) for k in range(20)}
NO = re.compile(r"\b(?:does\s+not|doesn't|do\s+not|don't|will\s+not|won't|is\s+not|isn't|"
                r"cannot|can't)\s+(?:change|depend|affect|vary)|\bindependent\s+of\b|\bnot\s+"
                r"depend|^\s*no\b", re.I)
YES = re.compile(r"\b(?:does|will|do)\s+(?:change|depend)|\bdepends\s+on\b|\bchanges\s+(?:with|when)"
                 r"|^\s*yes\b", re.I)


def find_question(number: str, layout: list[tuple[str, list[str]]]) -> str | None:
    for q, _ in layout:
        if q == number:
            return q
    if re.fullmatch(r"\d+", number):
        for q, _ in layout:
            m = re.fullmatch(r"\s*(\d+)\s*[-–]\s*(\d+)\s*", q)
            if m and int(m[1]) <= int(number) <= int(m[2]):
                return q
    return None


def build_written(events: list[Event], lines: Lines, source: str,
                  layout: list[tuple[str, list[str]]], symbols: dict[str, str],
                  symbol_text: dict[str, str], full_text: str) -> Answers:
    single = len(layout) == 1 and not layout[0][0]
    labels = dict(layout)
    question: str | None = layout[0][0] if single else None
    part: str | None = (layout[0][1][0] if layout[0][1] else "") if single else None
    chains: list[dict[str, Any]] = []  # statements being built, in order
    last_in_column: dict[int, dict[str, Any]] = {}
    yes_no: list[YesNo] = []
    said_on: set[int] = set()  # the lines of yes_no

    def set_marker(number: str | None, letter: str | None) -> None:
        nonlocal question, part
        if single:
            return
        if number:
            q = find_question(number, layout)
            if q is None:
                return
            if q != question:
                last_in_column.clear()
            question = q
            part = letter if letter and letter in labels.get(q, []) else None
        elif letter and question is not None and letter in labels.get(question, []):
            part = letter
            last_in_column.clear()

    for event in sorted(events, key=lambda e: e.offset):
        if event.kind == "marker":
            set_marker(*event.data)
        elif event.kind == "prose":
            line_text = event.data
            cleaned = re.sub(r"\\[A-Za-z]+\*?|[{}]", " ", line_text)
            first = cleaned.lstrip()[:1]
            if first in CIRCLED:
                set_marker(CIRCLED[first], None)
            else:
                m = LINE_MARKER.match(cleaned)
                if m:
                    set_marker(m["q"] or m["n"], (m["ql"] or m["nl"] or m["l"] or "").lower() or None)
            words = re.sub(r"\$[^$]*\$", " ", line_text)
            says = False if NO.search(words) else True if YES.search(words) else None
            if says is not None:
                number = lines.of(event.offset)
                start = lines.starts[number - 1]
                end = full_text.find("\n", start)
                whole = full_text[start:end if end >= 0 else len(full_text)]
                if number not in said_on:  # a set: 40,000 such lines took 20 s as a list scan
                    said_on.add(number)
                    yes_no.append(YesNo(says, number, " ".join(whole.split())[:300], question, part))
        else:
            prepared, original, column, inline = event.data
            if "\x03" in prepared:  # an inequality: no claim to check
                continue
            spans = split_top(prepared, "=")
            if len(spans) < 2:
                continue
            texts = [(prepared[a:b], original[a:b], event.offset + a) for a, b in spans]
            elements = [element(p, o, lines.of(event.offset + a + len(o) - len(o.lstrip())))
                        for (p, o, _), (a, _) in zip(texts, spans)]
            head_text = texts[0][0].strip()
            if not head_text:  # "= ...": continues the chain above in this column
                target = last_in_column.get(column) or last_in_column.get(0)
                if target is not None:
                    target["elements"] += [e for e in elements[1:] if e.text]
                    continue
                chain = {"elements": [e for e in elements[1:] if e.text], "headless": True,
                         "question": question, "part": part, "inline": inline}
            else:
                chain = {"elements": elements, "headless": False, "question": question,
                         "part": part, "inline": inline}
            if chain["elements"]:
                chains.append(chain)
                last_in_column[column] = chain
                if len(chains) > MAX_STATEMENTS:
                    raise ProblemError(source, "", f"more than {MAX_STATEMENTS} statements")
    statements = tuple(
        Statement(tuple(c["elements"]), c["question"], c["part"], c["headless"], c["inline"])
        for c in chains
    )
    return Answers(source, True, statements, tuple(yes_no), symbols, symbol_text)


def element(prepared: str, original: str, line: int) -> Element:
    """One side of an `=`, read; a side that cannot be read is kept with the reason."""
    kept = []
    for o, p in zip(original, prepared):  # what the student wrote, less the layout removed
        if o == p or o.isspace():
            kept.append(o)
        elif p in "='":
            kept.append(p)
        elif p == "?":
            kept.append("?")
        elif p not in " " + BREAK + COLUMN + ROW:
            kept.append(o)
    shown = " ".join("".join(kept).split()).lstrip(",;:& ").rstrip(".,;:& ")
    text = prepared.replace(COLUMN, " ").replace(BREAK, " ").replace(SHOWN, " ")
    text = text.strip().rstrip(".,;:").strip()
    if text == "?" and "\\text" in original:  # \text{error} = ...: words as a name
        words = " ".join(re.sub(r"\\text\s*\{([^{}]*)\}", r"\1", original).split())
        return Element(words, line, None, f"{words!r} is words, not a name of the problem")
    if text in ("", "?"):
        return Element(shown, line, None, "")
    if len(text) > MAX_ELEMENT:
        return Element(shown[:200], line, None, f"longer than {MAX_ELEMENT} characters")
    try:
        return Element(shown, line, parse_element(text))
    except MathError as error:
        return Element(shown, line, None, str(error))
    except RecursionError:
        return Element(shown, line, None, "nested too deeply")


def parsed_number(node: Node | None) -> Num | None:
    """The number a side is, when it is a plain (possibly negative) number."""
    from symgrad.input.mathtext import Op

    if isinstance(node, Num):
        return node
    if isinstance(node, Op) and node.op == "neg" and isinstance(node.args[0], Num):
        return node.args[0]
    return None
