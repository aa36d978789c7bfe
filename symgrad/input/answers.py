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
            head = Element(prefix + key, line, Name("=" + prefix + key.replace(" ", ""), key, 0))
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

MATH_OPEN = re.compile(
    r"\$\$|\\\[|\\\(|\$|\\begin\{(?P<env>equation|align|alignat|gather|multline|eqnarray|flalign|"
    r"displaymath|math)(?P<star>\*?)\}(?:\{\d+\})?"
)
FRONT_MATTER = re.compile(r"\A\+\+\+[ \t]*\r?\n(?P<body>.*?)\r?\n\+\+\+[ \t]*(?:\r?\n|\Z)", re.S)


@dataclass
class Segment:
    opened: int  # where the opening delimiter starts
    start: int  # the content
    end: int
    closed: int  # just past the closing delimiter
    display: bool


def math_segments(text: str) -> list[Segment]:
    """Every piece of mathematics, in order; a delimiter with no end is left as prose."""
    out: list[Segment] = []
    i = 0
    while True:
        m = MATH_OPEN.search(text, i)
        if m is None:
            return out
        if m.start() > 0 and text[m.start() - 1] == "\\" and m.group().startswith("$"):
            i = m.end()  # \$ is a dollar sign
            continue
        opener = m.group()
        if m["env"]:
            close = re.compile(r"\\end\{%s\*?\}" % m["env"])
        else:
            close = re.compile({"$$": r"\$\$", "\\[": r"\\\]", "\\(": r"\\\)",
                                "$": r"(?<!\\)\$"}[opener])
        c = close.search(text, m.end())
        if c is None or (opener == "$" and "\n\n" in text[m.end():c.start()]):
            i = m.end()
            continue
        out.append(Segment(m.start(), m.end(), c.start(), c.end(), opener not in ("$", "\\(")))
        i = c.end()


# Commands blanked out (with their braced argument when `True`), separators, and wrappers whose
# braces are dropped but whose content stays.
DROP_WITH_ARGUMENT = ("label", "tag", "hspace", "vspace", "color", "textcolor", "colorbox",
                      "phantom", "hphantom", "vphantom")
SEPARATORS = ("quad", "qquad", "Rightarrow", "rightarrow", "Longrightarrow", "longrightarrow",
              "implies", "to", "therefore", "because", "iff", "Leftrightarrow", "bullet",
              "hfill", "downarrow", "Downarrow", "uparrow", "forall", "mapsto", "leadsto",
              "xrightarrow", "cdots", "ldots", "dots", "text", "textbf", "mbox", "hbox",
              "intertext", "textit", "emph", "mid", "Longleftrightarrow", "checkmark")
COLUMN_SEPARATORS = ("quad", "qquad")
WRAPPERS = ("boxed", "underline", "cancel", "bcancel", "xcancel", "fbox", "framebox",
            "overbrace", "underbrace", "displaystyle", "bm")
LINKS = ("approx", "leftarrow", "coloneqq", "equiv", "simeq", "doteq", "gets")
NOT_CLAIMS = ("neq", "ne", "leq", "geq", "le", "ge", "in", "notin", "subset", "propto", "sim",
              "ll", "gg", "lt", "gt")
LAYOUT_ENVIRONMENTS = ("aligned", "array", "cases", "split", "gathered", "alignedat", "rcases",
                       "dcases")
MATRIX_ENVIRONMENTS = ("pmatrix", "bmatrix", "matrix", "Bmatrix", "vmatrix", "Vmatrix",
                       "smallmatrix")
COLUMN, ROW, BREAK = "\x01", "\x02", ";"
MARKER_AT_START = re.compile(r"\s*(?:\\textcircled\{(?P<circled>\d+)\}|(?P<number>\d+(?:\.\d+)*)"
                             r"(?P<letter>[a-z])?\s*[.)\]])(?=\s|\\|$)")


def blank(chars: list[str], start: int, end: int, fill: str = " ") -> None:
    for k in range(start, end):
        if chars[k] != "\n":
            chars[k] = " "
    if end > start and fill != " ":
        chars[start] = fill


def matching_brace(text: str, opening: int) -> int:
    """The offset of the } that closes the { at `opening` (or -1)."""
    depth = 0
    for k in range(opening, min(len(text), opening + 20_000)):
        c = text[k]
        if c == "\\":
            continue
        if c == "{" and (k == 0 or text[k - 1] != "\\"):
            depth += 1
        elif c == "}" and (k == 0 or text[k - 1] != "\\"):
            depth -= 1
            if depth == 0:
                return k
    return -1


def prepare(math: str) -> str:
    """The mathematics with layout removed, of the same length (so offsets still give lines):
    separators become ; (and \\quad a new column), rows become a row mark, wrappers vanish."""
    chars = list(math)
    matrix_depth = 0
    k = 0
    n = len(math)
    while k < n:
        c = math[k]
        if c == "%" and (k == 0 or math[k - 1] != "\\"):  # a TeX comment, to the end of the line
            stop = math.find("\n", k)
            stop = n if stop < 0 else stop
            blank(chars, k, stop)
            k = stop
            continue
        if c == "&" and matrix_depth == 0:
            chars[k] = " "
        if c == ":" and math.startswith(":=", k):
            chars[k] = " "
        if c != "\\":
            k += 1
            continue
        if math.startswith("\\\\", k):
            if matrix_depth == 0:
                chars[k], chars[k + 1] = ROW, " "
                m = re.match(r"\\\\\s*\[[^\]]{0,20}\]", math[k:])  # \\[2pt]
                if m:
                    blank(chars, k + 2, k + m.end())
            k += 2
            continue
        m = re.match(r"\\([A-Za-z]+)\*?", math[k:])
        if m is None:
            k += 2
            continue
        word, end = m.group(1), k + m.end()
        if word in ("begin", "end"):
            e = re.match(r"\{(\w+)\*?\}", math[end:])
            env = e.group(1) if e else ""
            if env in MATRIX_ENVIRONMENTS:
                matrix_depth += 1 if word == "begin" else -1
                k = end + (e.end() if e else 0)
                continue
            stop = end + (e.end() if e else 0)
            if word == "begin" and env in ("array", "alignedat"):
                a = re.match(r"\s*\{[^{}]{0,40}\}", math[stop:])
                stop += a.end() if a else 0
            blank(chars, k, stop)
            k = stop
            continue
        if word in ("text", "mathrm", "textrm", "mbox") and end < n and math[end] == "{":
            close = matching_brace(math, end)
            if close > 0:
                inner = math[end + 1:close].strip().lower()
                before = math[:k].rstrip()
                after = math[close + 1:].lstrip()
                if inner in ("or", "or equivalently", "i.e.", "which is"):
                    blank(chars, k, close + 1, "=")
                elif inner in ("new", "old") and before.endswith("(") and after.startswith(")"):
                    open_at = len(before) - 1
                    close_at = close + 1 + (len(math[close + 1:]) - len(after))
                    blank(chars, open_at, close_at + 1, "'" if inner == "new" else " ")
                elif inner in FUNCTIONS or word == "mathrm" and re.fullmatch(r"[a-z]", inner):
                    pass  # \text{ReLU}(x): a function, read by the parser
                elif after.startswith("=") and not re.search(r"[^\s;\x01]", "".join(chars[:k])[-1:] or ";"):
                    blank(chars, k, close + 1, "?")  # \text{error} = ...: a name we cannot map
                else:
                    blank(chars, k, close + 1, BREAK)
                k = close + 1
                continue
        if word in DROP_WITH_ARGUMENT and end < n and math[end] in "{[":
            stop = end
            while stop < n and math[stop] in "{[":
                close = matching_brace(math, stop) if math[stop] == "{" else math.find("]", stop)
                if close < 0:
                    break
                stop = close + 1
                if word not in ("textcolor", "colorbox"):
                    break
            blank(chars, k, stop)
            k = stop
            continue
        if word in WRAPPERS:
            blank(chars, k, end)
            if end < n and math[end] == "{":
                close = matching_brace(math, end)
                if close > 0:
                    chars[end] = " "
                    chars[close] = " "
                    if word in ("underbrace", "overbrace"):
                        s = re.match(r"\s*[_^]\s*\{", math[close + 1:])
                        if s:
                            inner_close = matching_brace(math, close + s.end())
                            if inner_close > 0:
                                blank(chars, close + 1, inner_close + 1)
            k = end
            continue
        if word in SEPARATORS:
            stop = end
            if word in ("text", "textbf", "mbox", "hbox", "intertext", "textit", "emph", "xrightarrow") \
                    and end < n and math[end] in "{[":
                close = matching_brace(math, end) if math[end] == "{" else -1
                stop = close + 1 if close > 0 else end
                if word == "xrightarrow" and stop < n and math[stop] == "{":
                    close = matching_brace(math, stop)
                    stop = close + 1 if close > 0 else stop
            blank(chars, k, stop, COLUMN if word in COLUMN_SEPARATORS else BREAK)
            k = stop
            continue
        if word in LINKS:
            blank(chars, k, end, "=")
        elif word in NOT_CLAIMS:
            blank(chars, k, end, "\x03")
        elif word == "textcircled" and end < n and math[end] == "{":
            close = matching_brace(math, end)
            if close > 0:
                blank(chars, k, close + 1)
                k = close + 1
                continue
        k = end
    return "".join(chars)


def split_top(text: str, separators: str) -> list[tuple[int, int]]:
    """Spans of `text` between separators that sit outside braces."""
    spans, depth, start = [], 0, 0
    for k, c in enumerate(text):
        if c == "{" and (k == 0 or text[k - 1] != "\\"):
            depth += 1
        elif c == "}" and (k == 0 or text[k - 1] != "\\"):
            depth = max(depth - 1, 0)
        elif c in separators and depth == 0:
            spans.append((start, k))
            start = k + 1
    spans.append((start, len(text)))
    return spans


def comma_pieces(text: str) -> list[tuple[int, int]]:
    """`x = .5, y = 1, w_1 = .2`: split at commas outside braces and parentheses, but only when
    at least two of the pieces are equations."""
    spans, depth, start = [], 0, 0
    for k, c in enumerate(text):
        if c in "{([" and (k == 0 or text[k - 1] != "\\"):
            depth += 1
        elif c in "})]" and (k == 0 or text[k - 1] != "\\"):
            depth = max(depth - 1, 0)
        elif c == "," and depth == 0:
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
    lines = Lines(text)
    events: list[Event] = []
    segments = math_segments(text)
    prose_start = 0
    for seg in [*segments, Segment(len(text), len(text), len(text), len(text), False)]:
        for m in re.finditer(r"[^\n]+", text[prose_start:seg.opened]):
            events.append(Event(prose_start + m.start(), "prose", m.group()))
        if seg.start >= len(text):
            break
        math = text[seg.start:seg.end]
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
                        events.append(Event(seg.start + a + p0, "piece",
                                            (piece[p0:p1], math[a + p0:a + p1], column,
                                             not seg.display)))
        prose_start = seg.closed
    return build_written(events, lines, source, layout, symbols, symbol_text, text)


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
    text = prepared.replace(COLUMN, " ").replace(BREAK, " ").strip().rstrip(".,;:").strip()
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
