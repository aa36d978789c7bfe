"""A student's mathematics typeset back from its parsed tree (symgrad/input/mathtext.py), for the
feedback document.

The text a student wrote is untrusted and never reaches TeX: everything printed here is rebuilt
from the tree out of a fixed vocabulary.  A number is printed only when its text is a plain
decimal (`NUMBER`); a name is rebuilt from its key (`base|sub|sup`): the base a Latin letter, a
short word of Latin letters or a Greek letter of `mathtext.GREEK`, under the accents of
`mathtext.ACCENTS`, and its indices restricted to `SCRIPT` characters (others are dropped); a
function comes from the table `FUNCTIONS` or is an unknown function's name, rebuilt the same way.
Anything else is a placeholder, never the text itself.

An engine name (`=W2[1,1]`) is printed in the sheet's notation when the caller gives its table
(LaTeX that symgrad itself made), and otherwise as typewriter letters, digits and brackets.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from symgrad.input.mathtext import (ACCENTS, GREEK, SAME_ACCENT, Call, Const, MathError, Matrix,
                                    Name, Node, Num, Op, Partial, parse_element)

NUMBER = re.compile(r"(?P<mantissa>[0-9]{1,30}(?:\.[0-9]{0,30})?|\.[0-9]{1,30})"
                    r"(?:[eE](?P<exponent>[-+]?[0-9]{1,3}))?")
SCRIPT = re.compile(r"[A-Za-z0-9,()\[\]'+-]")  # the characters an index may keep
WORD = re.compile(r"[A-Za-z]{2,12}")  # net_{h1}, \mathrm{out}: a short word as a name's base
ENGINE = re.compile(r"(?:d[A-Za-z][A-Za-z0-9_]{0,30}(?:\[[0-9,]{1,20}\])?/)?"
                    r"[A-Za-z][A-Za-z0-9_]{0,30}(?:\[[0-9,]{1,20}\])?")  # W2[1,1], dL/dz2[1]
PLACEHOLDER = r"\mathord{?}"  # what stands for anything that cannot be rebuilt safely
MAX_SCRIPT = 12  # characters of one index kept; more are shown as \dots
MAX_ACCENTS = 3
MAX_DEPTH = 100  # levels of the tree printed; deeper is a placeholder (the parser stops at 60)
MAX_NAME = 300  # characters of a name (Item.name) read at all

FUNCTIONS = {
    "sigmoid": r"\sigma", "tanh": r"\tanh", "relu": r"\operatorname{ReLU}", "exp": r"\exp",
    "log": r"\log", "sin": r"\sin", "cos": r"\cos", "max": r"\max", "min": r"\min",
    "softplus": r"\operatorname{softplus}", "step": r"\operatorname{step}",
    "sech": r"\operatorname{sech}", "sign": r"\operatorname{sign}", "cosh": r"\cosh",
    "sinh": r"\sinh", "identity": r"\operatorname{id}", "leaky_relu": r"\operatorname{LeakyReLU}",
}  # fmt: skip
CONSTANTS = {"e": "e", "pi": r"\pi"}
Engine = Callable[[str], "str | None"] | Mapping[str, str] | None  # engine name → sheet LaTeX
# precedence: what a node is printed inside
TOP, SUM, PRODUCT, POWER = 0, 1, 2, 3


def number_latex(text: str) -> str:
    """A number as written, only when it is a plain decimal: 8.21e-2 as 8.21 × 10⁻²."""
    m = NUMBER.fullmatch(text)
    if m is None:
        return PLACEHOLDER
    if m["exponent"] is None:
        return m["mantissa"]
    return rf"{m['mantissa']} \times 10^{{{int(m['exponent'])}}}"


def script_latex(text: str) -> str:
    """An index (`j1`, `[2]`, `(i)`, `h_1`, `\\alpha`) from the characters of SCRIPT and Greek
    letters; everything else dropped."""
    out: list[str] = []
    for m in re.finditer(r"\\([A-Za-z]+)|(.)", text[: 4 * MAX_SCRIPT], re.DOTALL):
        if len(out) >= MAX_SCRIPT:
            out.append(r"\dots ")
            break
        if m[1] is not None:
            if m[1] in GREEK:
                out.append("\\" + m[1] + " ")
            elif m[1] == "prime":
                out.append("'")
            elif m[1] in ("top", "intercal"):
                out.append("T")
        elif SCRIPT.fullmatch(m[2]):
            out.append(m[2])
    return "".join(out).rstrip()


def base_latex(base: str) -> str:
    """A name's letter: x, \\alpha, or a short word (net) set upright-italic as one symbol."""
    if re.fullmatch(r"[A-Za-z]", base):
        return base
    if base in GREEK:
        return "\\" + base
    if WORD.fullmatch(base):
        return rf"\mathit{{{base}}}"
    return PLACEHOLDER


def engine_latex(name: str, engine: Engine = None) -> str:
    """An engine name the student wrote (W2[1,1]): in the sheet's notation when known."""
    known = engine.get(name) if isinstance(engine, Mapping) else engine(name) if engine else None
    if known:
        return "{" + known + "}"
    if ENGINE.fullmatch(name) is None:
        return PLACEHOLDER
    return r"\mathtt{%s}" % name.replace("_", r"\_")


def key_latex(key: str, bar: bool = False, updated: bool = False,
              engine: Engine = None) -> str:
    """A name rebuilt from its canonical key ("hat:y|1|", "w|j1|[2]", "bar:q||", "=W2[1,1]")."""
    if key.startswith("="):
        out = engine_latex(key[1:], engine)
    else:
        if key.startswith("bar:"):
            bar, key = True, key[4:]
        parts = key.split("|")
        if len(parts) != 3:
            return PLACEHOLDER
        base, sub, sup = parts
        *accents, letter = base.split(":")
        out = base_latex(letter)
        for accent in reversed(accents[-MAX_ACCENTS:]):
            accent = SAME_ACCENT.get(accent, accent)
            if accent in ACCENTS:
                out = rf"\{accent}{{{out}}}"
        if bar:
            out = rf"\bar{{{out}}}"
        sub, sup = script_latex(sub), script_latex(sup)
        if sub:
            out += "_{" + sub + "}"
        if sup:
            out += "^{" + sup + "}"
    return "{" + out + "}'" if updated else out


def name_latex(name: Name, engine: Engine = None) -> str:
    return key_latex(name.key, name.bar, name.updated, engine)


def tall(node: Node) -> bool:
    """Whether a node holds a fraction or a matrix (its parentheses are then \\left \\right)."""
    stack, seen = [node], 0
    while stack and seen < 10_000:
        n = stack.pop()
        seen += 1
        if isinstance(n, (Partial, Matrix)) or isinstance(n, Op) and n.op == "/":
            return True
        if isinstance(n, (Op, Call)):
            stack.extend(n.args)
    return False


def parens(inner: str, node: Node) -> str:
    return rf"\left({inner}\right)" if tall(node) else f"({inner})"


class Printer:
    def __init__(self, engine: Engine = None) -> None:
        self.engine = engine

    def latex(self, node: Node | None, outer: int = TOP, depth: int = 0) -> str:
        if node is None or depth > MAX_DEPTH:
            return PLACEHOLDER
        depth += 1
        if isinstance(node, Num):
            return number_latex(node.text)
        if isinstance(node, Const):
            return CONSTANTS.get(node.name, PLACEHOLDER)
        if isinstance(node, Name):
            return name_latex(node, self.engine)
        if isinstance(node, Partial):
            return (rf"\frac{{\partial {name_latex(node.top, self.engine)}}}"
                    rf"{{\partial {name_latex(node.wrt, self.engine)}}}")
        if isinstance(node, Matrix):
            rows = [" & ".join(self.latex(x, TOP, depth) for x in row) for row in node.rows]
            return r"\begin{pmatrix} " + r" \\ ".join(rows) + r" \end{pmatrix}"
        if isinstance(node, Call):
            return self.call(node, depth)
        if isinstance(node, Op):
            return self.op(node, outer, depth)
        return PLACEHOLDER

    def call(self, node: Call, depth: int) -> str:
        args = [self.latex(a, TOP, depth) for a in node.args]
        primes = "'" * min(node.derivative, 3)
        inner = ", ".join(args)
        if node.function == "sqrt" and len(args) == 1 and not primes:
            return rf"\sqrt{{{inner}}}"
        if node.function == "abs" and len(args) == 1 and not primes:
            return (rf"\left\lvert {inner} \right\rvert" if tall(node.args[0])
                    else rf"\lvert {inner} \rvert")
        if node.function == "exp" and node.text == "e^" and len(args) == 1 and not primes:
            return f"e^{{{inner}}}"
        if node.function.startswith("?"):
            function = key_latex(node.function[1:], engine=self.engine)
        else:
            function = FUNCTIONS.get(node.function, PLACEHOLDER)
        tall_args = any(tall(a) for a in node.args)
        around = rf"\left({inner}\right)" if tall_args else f"({inner})"
        return f"{{{function}}}{primes}{around}" if primes else f"{function}{around}"

    def op(self, node: Op, outer: int, depth: int) -> str:
        args = node.args
        if node.op == "neg" and len(args) == 1:
            out = "-" + self.latex(args[0], PRODUCT, depth)
            return parens(out, node) if outer > PRODUCT else out
        if node.op == "+" and args:
            out = self.latex(args[0], SUM, depth)
            for a in args[1:]:
                if isinstance(a, Op) and a.op == "neg" and len(a.args) == 1:
                    out += " - " + self.latex(a.args[0], PRODUCT, depth)
                else:
                    out += " + " + self.latex(a, SUM, depth)
            return parens(out, node) if outer > SUM else out
        if node.op == "*" and args:
            out = self.factor(args[0], depth)
            for a in args[1:]:
                right = self.factor(a, depth)
                out += (r" \cdot " if needs_dot(out, right) else " ") + right
            return parens(out, node) if outer > PRODUCT else out
        if node.op == "/" and len(args) == 2:
            return rf"\frac{{{self.latex(args[0], TOP, depth)}}}{{{self.latex(args[1], TOP, depth)}}}"
        if node.op == "^" and len(args) == 2:
            base = self.latex(args[0], POWER, depth)
            exponent = self.latex(args[1], TOP, depth)
            if isinstance(args[0], (Op, Partial, Matrix)) and not (
                    isinstance(args[0], Op) and args[0].op in ("+", "*", "neg")):
                base = parens(base, args[0])  # (a/b)^2; a sum or a product has its own
            if isinstance(args[0], (Op, Partial, Matrix)):
                return f"{base}^{{{exponent}}}"  # ")" takes the power; the line may still break
            if isinstance(args[0], Name) and (args[0].updated or "^" in base):
                return f"{{{base}}}^{{{exponent}}}"  # {W^{[2]}_{11}}^{2}: never a double script
            return f"{base}^{{{exponent}}}"  # g_{2}^{2}, \\sigma(z)^{2}, 0.5^{2}
        return PLACEHOLDER

    def factor(self, node: Node, depth: int) -> str:
        if isinstance(node, Op) and node.op == "neg":  # (-0.2171)(0.1755): as written
            return parens(self.latex(node, TOP, depth), node)
        return self.latex(node, PRODUCT, depth)


def needs_dot(left: str, right: str) -> bool:
    """A product's factors side by side, except where that would read as one number or a
    mixed number: 0.74 · 0.19, x · 2, 2 · ½."""
    right = right.lstrip("{")
    return bool(re.match(r"[-0-9.]", right)) or \
        right.startswith(r"\frac") and bool(re.search(r"[0-9.}]$", left))


def math_latex(node: Node | None, engine: Engine = None) -> str:
    """A tree as LaTeX mathematics (without the $ $), from symgrad's own vocabulary only."""
    return Printer(engine).latex(node)


def breakable(node: Node | None) -> bool:
    """Whether TeX may break the printed node across lines (at its top-level + and ·): a sum, a
    product or a negation is; a fraction, a matrix, a name or a number is one box."""
    if isinstance(node, Op):
        return node.op in ("+", "*", "neg")
    return isinstance(node, Call) and not any(tall(a) for a in node.args) and \
        node.function not in ("sqrt", "abs")


def quantity_latex(text: str, engine: Engine = None) -> str | None:
    """A quantity's name as written by a student (`\\hat{y}_1`, `\\frac{\\partial L}{\\partial
    w_{j1}}`, `J(w)`), read by the bounded parser and rebuilt by the printer; None when it is not
    a single name (then nothing is printed)."""
    if not text or len(text) > MAX_NAME:
        return None
    try:
        node = parse_element(text)
    except (MathError, RecursionError, ValueError):
        return None
    if isinstance(node, (Name, Partial)):
        return math_latex(node, engine)
    if isinstance(node, Call) and node.function.startswith("?") and \
            all(isinstance(a, Name) for a in node.args):
        return math_latex(node, engine)
    return None
