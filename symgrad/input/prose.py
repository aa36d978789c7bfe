"""Prose with mathematics: `$...$` in titles, texts, remarks and notes, checked when the file is read.

Outside `$...$` prose is text: the output escapes every TeX special character (render.escape_tex),
and `\\$` is a dollar sign.  Inside, the mathematics passes the same gate as a symbol's renaming
(latexcheck.checked_math: letters, digits, a little punctuation and allowlisted macros), widened
by what formulas in a question need and is harmless in math mode: relations (= < > ; : !),
spacing (\\, \\;), \\{ \\} \\|, the operators \\sum \\log \\exp \\max ..., \\frac and \\sqrt with
their arguments, and \\left/\\right in pairs.  `\\q{W2[1,1]}` names one of symgrad's quantities;
the answer key prints it in the sheet's notation (the name is checked once the problem is built).
"""

from __future__ import annotations

import re

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
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\[\d+(?:,\d+)*\])?\Z")


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
    for is_math, math in parts:
        if is_math:
            check_math(source, field, math)
    return text


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
    tokens = TOKEN.findall(QUANTITY.sub("q", unicode_math(math)))
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
