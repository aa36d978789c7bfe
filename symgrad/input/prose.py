"""Prose with mathematics: `$...$` in titles, texts, remarks and notes, checked when the file is read.

Outside `$...$` prose is text: the output escapes every TeX special character (render.escape_tex),
and `\\$` is a dollar sign.  Inside, the mathematics passes the same gate as a symbol's renaming
(latexcheck.checked_math: letters, digits, a little punctuation and allowlisted macros), widened
by what formulas in a question need and is harmless in math mode: relations (= < > ; : !),
spacing (\\, \\;), \\{ \\} \\|, the operators \\sum \\log \\exp \\max ..., \\frac and \\sqrt with
their arguments, and \\left/\\right in pairs.  `\\q{W2[1,1]}` names one of symgrad's quantities;
the answer key prints it in the sheet's notation (the name is checked once the problem is built).

`\\val{W2[1,1]}` (in mathematics or in text) prints a quantity's number instead: a given value
(`W2[1,1]`, `x[1]`, `eta`), a computed one (`z2[1]`, `L`) or a gradient (`dL/dW2[1,1]`), by its
JSON name.  Only the name is read from the file, and only when it has a name's grammar; the number
is printed by symgrad (`with_values`, once the problem is solved, and again for each exam variant),
so nothing in the braces ever reaches TeX.  `literals` finds the numbers written out instead, so
that `symgrad variants` can report one that a variant would leave stale.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable

from symgrad.errors import ProblemError
from symgrad.input.latexcheck import MAX_LENGTH, ONE_ARGUMENT, TOKEN, checked_math

MAX_MATH = 400  # characters of one $...$
# Symbols a course's prose is full of, which pdflatex cannot typeset from Unicode.
UNICODE_MATH = {
    "σ": r"\sigma", "η": r"\eta", "λ": r"\lambda", "δ": r"\delta", "θ": r"\theta",
    "α": r"\alpha", "β": r"\beta", "ϕ": r"\phi", "φ": r"\varphi", "Σ": r"\Sigma", "∂": r"\partial",
    "ŷ": r"\hat{y}", "′": r"'", "−": "-", "²": "^{2}", "³": "^{3}", "ᵀ": "^{T}", "·": r"\cdot",
    "×": r"\times", "→": r"\to", "≈": r"\approx", "≠": r"\neq", "≤": r"\leq", "≥": r"\geq",
    "∈": r"\in", "∞": r"\infty", "⊙": r"\odot", "‖": r"\|",
}  # fmt: skip
OPERATORS = set(
    "sum prod log ln exp sin cos tan tanh sinh cosh max min arg det lim leq geq neq le ge ne lt gt"
    " approx to in notin odot otimes oplus lVert rVert Vert quad qquad pm mp leftarrow rightarrow"
    " Rightarrow Leftarrow mapsto ll gg sim propto equiv forall exists mid langle rangle".split()
)
TWO_ARGUMENTS = {"frac", "dfrac", "tfrac", "binom"}
DELIMITERS = {"(", ")", "[", "]", "|", ".", "\\|", "\\{", "\\}", "\\langle", "\\rangle"}
STAND_IN = {"\\|": "|", "\\{": "(", "\\}": ")", "\\,": " ", "\\;": " ", "\\:": " ", "\\!": " ",
            "\\ ": " "} | dict.fromkeys("=<>;:!?", "+")  # harmless in math: checked as "+"
QUANTITY = re.compile(r"\\q\{([^{}$]*)\}")
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[\d+(?:,\d+)*\]){0,4}\Z")  # z1[2][1], K1[1,1,2,2]
VALUE = re.compile(r"\\val\{([^{}$\\]*)\}")  # \val{W2[1,1]}: a quantity's number
VALUE_MACRO = re.compile(r"\\val(?![A-Za-z])")  # every one must start a VALUE with a good name
_NODE = r"[A-Za-z_][A-Za-z0-9_]*(?:\[[0-9]+(?:,[0-9]+)*\]){0,4}"
VALUE_NAME = re.compile(rf"(?:d{_NODE}/d{_NODE}|{_NODE})\Z")  # W2[1,1], L, eta, dL/dW2[1,1]
MAX_VALUE_NAME = 100
# A number as written: 0.15, 3, .5 (not the 2 of W2, x_1 or 1e-3's e-3; a sign is looked for apart)
LITERAL = re.compile(r"(?<![A-Za-z0-9_.\[\\])(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?![0-9A-Za-z_\]]|\.[0-9])")


def segments(text: str) -> list[tuple[bool, str]]:
    """(is mathematics, its text) in order; `\\$` is a dollar sign in the text.  No checks."""
    out: list[tuple[bool, str]] = []
    prose, math, inside = [], [], False
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and text[i + 1:i + 2] == "$" and not inside:
            prose.append("$")
            i += 2
            continue
        if c == "$":
            if inside:
                out.append((True, "".join(math)))
                math = []
            elif prose:
                out.append((False, "".join(prose)))
                prose = []
            inside = not inside
        else:
            (math if inside else prose).append(c)
        i += 1
    if inside:
        raise ValueError("a '$' is never closed (write \\$ for a dollar sign)")
    if prose:
        out.append((False, "".join(prose)))
    return out


def checked_prose(source: str, field: str, text: str) -> str:
    """`text` unchanged when each of its `$...$` is harmless mathematics; else ProblemError."""
    try:
        parts = segments(text)
    except ValueError as error:
        raise ProblemError(source, field, str(error)) from None
    for is_math, piece in parts:
        check_values(source, field, piece)
        if is_math:
            check_math(source, field, piece)
    return text


def check_values(source: str, field: str, piece: str) -> None:
    """Every `\\val` in a piece of prose is `\\val{NAME}`, NAME a quantity's JSON name."""
    for m in VALUE_MACRO.finditer(piece):
        found = VALUE.match(piece, m.start())
        name = found[1].replace(" ", "") if found else ""
        if not (found and len(name) <= MAX_VALUE_NAME and VALUE_NAME.match(name)):
            shown = piece[m.start():m.start() + 40]
            shown = shown if shown.isprintable() else repr(shown)  # one line, whatever it holds
            raise ProblemError(source, field, f"in {shown}{'...' if len(piece) > m.start() + 40 else ''}: "
                               "expected \\val{NAME}, NAME a quantity such as W2[1,1], x[1], eta, "
                               "L or dL/dW2[1,1]")


def values(text: str) -> list[str]:
    """The names (spaces dropped) that `text` (checked prose) prints the numbers of, \\val{...}."""
    return [m[1].replace(" ", "") for _, piece in segments(text) for m in VALUE.finditer(piece)]


def with_values(text: str, number: Callable[[str], str | None]) -> str:
    """`text` (checked prose) with each \\val{NAME} replaced by `number(NAME)`, LaTeX math that
    symgrad printed (a number, or \\q{NAME} for a quantity without one when `number` gives None):
    set as it is in mathematics, in `$...$` in text.  The result is checked prose again."""
    if not VALUE_MACRO.search(text):
        return text
    out = []
    for is_math, piece in segments(text):
        def one(m: re.Match[str], is_math: bool = is_math) -> str:
            name = m[1].replace(" ", "")
            shown = number(name)
            math = f"\\q{{{name}}}" if shown is None else f"{{{shown}}}"
            return math if is_math else f"${math}$"

        if is_math:
            out.append(f"${VALUE.sub(one, piece)}$")
            continue
        written = []
        at = 0
        for m in VALUE.finditer(piece):
            before = piece[at:m.start()].replace("$", "\\$")
            written.append(before + (" " if (before or "".join(written)).endswith("\\") else ""))
            written.append(one(m))
            at = m.end()
        written.append(piece[at:].replace("$", "\\$"))
        out.append("".join(written))
    return "".join(out)


def printed_number(x: int | float, precision: int, keep_zeros: bool = False) -> str:
    """A number as the answer key prints it (output/latex.format_number, which the pipeline's
    layers keep out of reach here; a test holds the two to the same digits): integers exact,
    `precision` significant figures, fixed point for 1e-3 <= |x| < 1e5, else m \\times 10^{e};
    trailing zeros dropped (a given 0.15) or, with `keep_zeros`, kept (a computed 0.2400)."""
    if isinstance(x, numbers.Integral) and not isinstance(x, bool):
        return str(int(x))
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(f"cannot display {value} as a number")
    if value == 0:
        return "0"
    mantissa, exponent_text = f"{abs(value):.{precision - 1}e}".split("e")
    exponent = int(exponent_text)

    def strip(decimal: str) -> str:
        return decimal if keep_zeros or "." not in decimal else decimal.rstrip("0").rstrip(".")

    sign = "-" if value < 0 else ""
    if not -3 <= exponent < 5:
        return rf"{sign}{strip(mantissa)} \times 10^{{{exponent}}}"
    digits = mantissa.replace(".", "")
    if exponent >= 0:
        digits = digits.ljust(exponent + 1, "0")
        fixed = f"{digits[:exponent + 1]}.{digits[exponent + 1:]}"
    else:
        fixed = "0." + "0" * (-exponent - 1) + digits
    return sign + strip(fixed.removesuffix("."))


def literals(text: str) -> list[tuple[str, tuple[float, ...]]]:
    """The numbers written out in `text` (checked prose), outside \\val{} and \\q{}: each as
    written (with its minus sign) and the values it may stand for.  In mathematics every number
    but a sub- or superscript (x_1, W^{[2]}); in text only decimals (0.15, not the 3 of
    "a 2-3-1 network" or "question 3")."""
    found: list[tuple[str, tuple[float, ...]]] = []
    for is_math, piece in segments(text):
        piece = QUANTITY.sub(" ", VALUE.sub(" ", piece))
        if is_math:
            piece = without_scripts(piece)
        for m in LITERAL.finditer(piece):
            if not is_math and "." not in m[0]:
                continue
            before = piece[:m.start()].rstrip()
            value = float(m[0])
            if before.endswith(("-", "\u2212")):
                found.append((f"-{m[0]}", (-value, value)))
            else:
                found.append((m[0], (value,)))
    return found


def without_scripts(math: str) -> str:
    """Mathematics with every sub- and superscript (its token or {group}) blanked out."""
    out = []
    i = 0
    while i < len(math):
        c = math[i]
        if c not in "_^":
            out.append(c)
            i += 1
            continue
        i += 1
        while i < len(math) and math[i] == " ":
            i += 1
        if i < len(math) and math[i] == "{":
            depth = 0
            while i < len(math):
                depth += {"{": 1, "}": -1}.get(math[i], 0)
                i += 1
                if depth == 0:
                    break
        elif i < len(math) and math[i] == "\\":
            m = re.match(r"\\[A-Za-z]+|\\.", math[i:])
            i += len(m.group()) if m else 1
        else:
            i += 1
        out.append(" ")
    return "".join(out)


def quantities(text: str) -> list[str]:
    """The names of the quantities that `text` (checked prose) names with \\q{...}."""
    return [m[1] for is_math, math in segments(text) if is_math for m in QUANTITY.finditer(math)]


def unicode_math(math: str) -> str:
    """σ as \\sigma (with a space, so that σz stays two tokens), ŷ as \\hat{y}, ..."""
    return "".join(UNICODE_MATH[c] + (" " if UNICODE_MATH[c][-1].isalpha() else "")
                   if c in UNICODE_MATH else c for c in math)


def check_math(source: str, field: str, math: str) -> None:
    def fail(why: str) -> ProblemError:
        return ProblemError(source, field, f"in ${math[:40]}{'...' if len(math) > 40 else ''}$: {why}")

    if not math.strip():
        raise fail("empty mathematics (write \\$ for a dollar sign)")
    if len(math) > MAX_MATH:
        raise fail(f"{len(math)} characters is too long (at most {MAX_MATH})")
    for m in QUANTITY.finditer(math):
        if not NAME.match(m[1].replace(" ", "")):
            raise fail(f"\\q{{{m[1]}}}: expected a name such as W2[1,1], b1[2], x[1], L or eta")
    tokens = TOKEN.findall(QUANTITY.sub("q", unicode_math(VALUE.sub("{1}", math))))
    stand_in: list[str] = []
    depth_left = 0
    for i, token in enumerate(tokens):
        name = token[1:] if token.startswith("\\") else ""
        if name in ("left", "right"):
            following = next((t for t in tokens[i + 1:] if t != " "), "")
            if following not in DELIMITERS:
                raise fail(f"\\{name} must be followed by a delimiter such as ( or [")
            depth_left += 1 if name == "left" else -1
            if depth_left < 0:
                raise fail("\\right before its \\left")
            stand_in.append(" ")
        elif name in OPERATORS:
            stand_in.append("\\cdot ")
        elif name in TWO_ARGUMENTS or name == "sqrt":
            if not has_arguments(tokens, i + 1, 2 if name in TWO_ARGUMENTS else 1):
                raise fail(f"{token} needs {'two arguments' if name in TWO_ARGUMENTS else 'an argument'}")
            stand_in.append("\\mathrm ")
        elif token in ("\\langle", "\\rangle"):
            stand_in.append("\\cdot ")
        else:
            stand_in.append(STAND_IN.get(token, token))
    if depth_left:
        raise fail("a \\left without its \\right")
    for piece in pieces(TOKEN.findall("".join(stand_in))):
        try:
            checked_math(source, field, piece)
        except ProblemError as error:
            raise fail(error.expected.split(": expected")[0]) from None


def has_arguments(tokens: list[str], i: int, count: int) -> bool:
    """Whether `count` arguments (a {group} or one plain token each) start at tokens[i]."""
    for _ in range(count):
        while i < len(tokens) and tokens[i] == " ":
            i += 1
        if i >= len(tokens) or tokens[i] in ("}", "^", "_", "$", "&", "#", "%"):
            return False
        if tokens[i] == "{":
            depth = 0
            while i < len(tokens):
                depth += {"{": 1, "}": -1}.get(tokens[i], 0)
                i += 1
                if depth == 0:
                    break
            if depth:
                return False
        else:
            i += 1
    return True


def pieces(tokens: list[str]) -> list[str]:
    """The formula cut at spaces outside braces into pieces short enough for checked_math, never
    between a ^, _ or macro and its argument (each piece must stand on its own)."""
    out, current, depth = [], "", 0
    previous = ""
    for token in tokens:
        depth += {"{": 1, "}": -1}.get(token, 0)
        takes_argument = previous in ("^", "_") or previous[1:] in ONE_ARGUMENT
        if token == " " and depth == 0 and not takes_argument and len(current) >= MAX_LENGTH // 2:
            out.append(current)
            current = ""
            continue
        current += token
        if token != " ":
            previous = token
    if current.strip():
        out.append(current)
    return out
