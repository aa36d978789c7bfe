"""A student's mathematics read into a small tree, never run: LaTeX (`\\frac{1}{2}(t - y)^2`,
`\\sigma(0.4047)`, `\\frac{\\partial J}{\\partial w_{21}^{[2]}}`) or plain text from an answer file
(`0.0700 - 0.2484*y[1]`, `sigmoid(z1[1])`).

The tree holds numbers as written (so that the digits a student wrote give the precision to judge
them by), names as written (mapped to the engine's names later, by the sheet's notation), partial
derivatives, calls of known functions and small matrices.  Nothing here evaluates anything, and
no text reaches eval, sympify or parse_expr: the parser is a bounded recursive descent over tokens.

Names: `h_1` and `h_{1}` are one name; `\\mathbf{z}_2` is `z_2`; `W^{[2]}_{11}` and `W_{11}^{[2]}`
are one name; `^{[l]}`, `^{(l)}`, `^{(i)}` and `^T` belong to the name, any other superscript is
a power.  `\\bar{v}` is the adjoint ∂L/∂v (backprop's bar notation).  A prime after a function is
its derivative (`\\sigma'(z)`); after a variable it marks the updated value (`w_{j1}'`), as does
`w_2(\\text{new})`.

Numbers: `8.21 \\times 10^{-2}`, `8.21 \\cdot 10^{-2}`, `8.21 × 10⁻²` and `8.21e-2` are one number,
written "8.21e-2", whose precision is that of its mantissa.  A thin space between two numbers
(`0.7414 \\, 0.1868`) is a product.  A whole side written as a parenthesized or bracketed list
of two or more entries, `(0.5933, 0.5969)` or `[0.5933, 0.5969]`, is a column vector (a Matrix),
like `\\begin{pmatrix} 0.5933 \\\\ 0.5969 \\end{pmatrix}`; `f(x, y)` and `\\max(0, z)` stay calls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Union

MAX_DEPTH = 60  # nesting of parentheses, fractions, powers and calls in one expression
MAX_TOKENS = 4000  # tokens in one element of a chain
MAX_DIGITS = 30  # digits in one number
MAX_MATRIX = 64  # rows or columns of one matrix
MAX_EXPONENT = 300  # |n| in 1.5e-n or 1.5 \\times 10^{-n}: a float's range, and no overflow


class MathError(ValueError):
    """Text that is not (or not yet) mathematics symgrad can read; the checker says so plainly."""


# ---------------------------------------------------------------------------------------------
# The tree


@dataclass(frozen=True)
class Num:
    text: str  # as written: "0.9176", ".5", "36", "1.2e-05"
    at: int  # position in its text: two equal numbers are two different numbers

    @property
    def value(self) -> float:
        return float(self.text)

    @property
    def exact(self) -> bool:
        """An integer as written (2, 36): data such as 2(3) is exact, not rounded."""
        return re.fullmatch(r"[0-9]+", self.text) is not None

    @property
    def half_unit(self) -> float:
        """Half a unit in the last written digit: 0.00005 for 0.9176, 0.5 for 36."""
        mantissa, _, exponent = self.text.lower().partition("e")
        decimals = len(mantissa.partition(".")[2])
        return 0.5 * 10.0 ** (int(exponent or 0) - decimals)

    @property
    def digits(self) -> str:
        """The significant digits as written, for digit slips: "0.9176" → "9176"."""
        mantissa = self.text.lower().partition("e")[0].replace(".", "")
        return mantissa.lstrip("0") or "0"


@dataclass(frozen=True)
class Name:
    key: str  # canonical: "h|1|", "hat:y||", "w|j1|[2]"; "=W2[1,1]" for an engine name
    text: str  # as written, for messages
    at: int
    bar: bool = False  # \bar{v}: the adjoint ∂L/∂v
    updated: bool = False  # v' or v(new): the value after the update


@dataclass(frozen=True)
class Partial:
    top: Name
    wrt: Name
    at: int


@dataclass(frozen=True)
class Call:
    function: str  # "sigmoid", "relu", "exp", ...; or "?" + a name's key for an unknown f, φ
    args: tuple[Node, ...]
    derivative: int = 0  # σ'(z): 1
    text: str = ""


@dataclass(frozen=True)
class Op:
    op: str  # "+" (sum of args), "*" (product), "/", "^", "neg", "matmul" never: * decides
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Matrix:
    rows: tuple[tuple[Node, ...], ...]


@dataclass(frozen=True)
class Const:
    name: str  # "e", "pi"


Node = Union[Num, Name, Partial, Call, Op, Matrix, Const]


def walk(node: Node) -> list[Node]:
    """Every node of a tree, without recursion."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        out.append(n)
        if isinstance(n, (Call, Op)):
            stack.extend(n.args)
        elif isinstance(n, Matrix):
            stack.extend(x for row in n.rows for x in row)
        elif isinstance(n, Partial):
            stack.extend((n.top, n.wrt))
    return out


def numbers(node: Node) -> list[Num]:
    return sorted((n for n in walk(node) if isinstance(n, Num)), key=lambda n: n.at)


def names(node: Node) -> list[Name]:
    return [n for n in walk(node) if isinstance(n, Name)]


def has_names(node: Node) -> bool:
    return any(isinstance(n, (Name, Partial)) for n in walk(node))


# ---------------------------------------------------------------------------------------------
# Functions a student may write

FUNCTIONS = {
    "sigmoid": "sigmoid", "sigma": "sigmoid", "logistic": "sigmoid", "tanh": "tanh",
    "relu": "relu", "exp": "exp", "log": "log", "ln": "log", "sin": "sin", "cos": "cos",
    "sqrt": "sqrt", "abs": "abs", "max": "max", "min": "min", "softplus": "softplus",
    "step": "step", "heaviside": "step", "sech": "sech", "sign": "sign", "sgn": "sign",
    "cosh": "cosh", "sinh": "sinh", "identity": "identity", "id": "identity",
}  # fmt: skip
GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "varepsilon", "zeta", "eta", "theta",
    "vartheta", "iota", "kappa", "lambda", "mu", "nu", "xi", "rho", "varrho", "sigma", "tau",
    "upsilon", "phi", "varphi", "chi", "psi", "omega", "Gamma", "Delta", "Theta", "Lambda",
    "Xi", "Pi", "Sigma", "Phi", "Psi", "Omega", "ell",
}  # fmt: skip
ACCENTS = {"hat", "widehat", "tilde", "widetilde", "dot", "ddot", "check", "breve"}
SAME_ACCENT = {"widehat": "hat", "widetilde": "tilde"}  # \\widehat{y} is \\hat{y}
# a bold or arrowed letter is the same quantity as the plain one: \\mathbf{h}, \\vec{w}
TRANSPARENT = {"mathbf", "boldsymbol", "bm", "mathit", "mathrm", "mathsf", "mathnormal", "pmb",
               "mathbold", "textbf", "textit", "vec", "overrightarrow"}
UNKNOWN_FUNCTIONS = {"f", "g", "phi", "varphi", "psi"}  # applied to (...): an activation
SIZERS = {"left", "right", "big", "Big", "bigg", "Bigg", "bigl", "bigr", "Bigl", "Bigr", "biggl",
          "biggr", "Biggl", "Biggr", "bigm", "Bigm", "biggm", "Biggm", "middle"}  # fmt: skip
THIN = {",", ";", ":", ">", " "}  # spaces that, between two numbers, leave a product: 0.74 \\, 0.19
SILENT = SIZERS | THIN | {"!", "displaystyle", "textstyle", "nonumber", "notag", "limits",
                          "quad", "qquad", "enspace", "thinspace", "medspace", "thickspace",
                          "negthinspace"}  # fmt: skip

UNICODE = {
    "−": "-", "–": "-", "×": "*", "·": "*", "⋅": "*", "∗": "*", "÷": "/", "′": "'", "’": "'",
    "²": "^2", "³": "^3", "σ": "\\sigma ", "η": "\\eta ", "δ": "\\delta ", "λ": "\\lambda ",
    "φ": "\\varphi ", "ϕ": "\\phi ", "θ": "\\theta ", "α": "\\alpha ", "β": "\\beta ",
    "∂": "\\partial ", "ŷ": "\\hat{y}", "≈": "=", "≃": "=", "∇": "\\nabla ", "ᵀ": "^T",
    "Σ": "\\Sigma ", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
}  # fmt: skip
SUPERSCRIPTS = {"⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7",
                "⁸": "8", "⁹": "9", "⁻": "-", "⁺": "+"}  # fmt: skip
_SUPERSCRIPT_RUN = re.compile("[%s]+" % "".join(SUPERSCRIPTS))


# ---------------------------------------------------------------------------------------------
# Tokens

@dataclass(frozen=True)
class Token:
    kind: str  # num, cmd, letter, word (plain mode), engine (plain mode), op, end
    text: str
    at: int


_LATEX_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)"  # 8.21e-2 is one number
    r"|(?P<tilde>~)"
    r"|(?P<cmd>\\[A-Za-z]+|\\[^A-Za-z])"
    r"|(?P<letter>[A-Za-z])"
    r"|(?P<op>[-+*/^_'(){}\[\]|=,!?&<>:;.])"
    r"|(?P<other>.)",
    re.DOTALL,
)
_PLAIN_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)"
    r"|(?P<engine>[A-Za-z][A-Za-z0-9_]*\[[0-9 ,]+\])"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|[-+*/^(),'])"
    r"|(?P<other>.)",
    re.DOTALL,
)


def unicode_free(text: str) -> str:
    """Unicode mathematics as LaTeX (σ → \\sigma, − → -, 10⁻² → 10^{-2}), so that one grammar
    reads both."""
    text = _SUPERSCRIPT_RUN.sub(lambda m: "^{" + "".join(SUPERSCRIPTS[c] for c in m.group()) + "}",
                                text)
    return "".join(UNICODE.get(c, c) for c in text)


def number_bounds(text: str) -> None:
    """At most MAX_DIGITS digits, and an exponent a float can hold."""
    mantissa, _, exponent = text.lower().partition("e")
    if len(mantissa.replace(".", "")) > MAX_DIGITS:
        raise MathError(f"a number of more than {MAX_DIGITS} digits")
    if exponent and (len(exponent.lstrip("+-")) > 3 or abs(int(exponent)) > MAX_EXPONENT):
        raise MathError(f"a power of ten beyond 10^{MAX_EXPONENT}")


def tokenize(text: str, plain: bool = False) -> list[Token]:
    pattern = _PLAIN_TOKEN if plain else _LATEX_TOKEN
    tokens: list[Token] = []
    gap = -1  # where a thin space (\\, \\; ~) stood since the last token
    sized = False  # just after \\left or \\right: a "." there is the empty delimiter
    for m in pattern.finditer(text):
        kind = m.lastgroup or ""
        word = m.group()[1:] if kind == "cmd" else ""
        if kind == "tilde" or word in THIN:
            gap = m.start()
            continue
        if kind == "space" or word in SILENT:
            sized = sized if kind == "space" else word in SIZERS
            continue
        if sized and kind == "op" and m.group() == ".":  # \\right.
            sized = False
            continue
        sized = False
        if kind == "other":
            raise MathError(f"cannot read {m.group()!r}")
        if kind == "num":
            number_bounds(m.group())
            if gap >= 0 and tokens and tokens[-1].kind == "num":  # 0.7414 \\, 0.1868: a product
                tokens.append(Token("op", "*", gap))
        if kind == "word" and m.group().startswith("__"):
            raise MathError(f"the name {m.group()!r} is not allowed")
        gap = -1
        tokens.append(Token(kind, m.group(), m.start()))
        if len(tokens) > MAX_TOKENS:
            raise MathError(f"more than {MAX_TOKENS} symbols in one expression")
    tokens.append(Token("end", "", len(text)))
    return tokens


# ---------------------------------------------------------------------------------------------
# The parser


class Parser:
    """Recursive descent over one element of a chain (the text between two `=`)."""

    def __init__(self, text: str, plain: bool = False) -> None:
        self.text = text
        self.plain = plain
        self.tokens = tokenize(text, plain)
        self.i = 0
        self.depth = 0

    # -- helpers
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def take(self) -> Token:
        t = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return t

    def at(self, *texts: str) -> bool:
        return self.tok.kind in ("op", "cmd") and self.tok.text in texts

    def expect(self, text: str) -> Token:
        if not self.at(text):
            raise MathError(f"expected {text!r} at {self.where()}")
        return self.take()

    def where(self) -> str:
        return repr(self.tok.text) if self.tok.kind != "end" else "the end"

    def enter(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise MathError(f"nested more than {MAX_DEPTH} levels deep")

    # -- grammar
    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise MathError("nothing to read")
        node = self.tuple_vector() or self.expr()
        if self.tok.kind != "end":
            raise MathError(f"cannot read past {self.where()}")
        return node

    def tuple_vector(self) -> Matrix | None:
        """`(0.5933, 0.5969)` or `[0.5933, 0.5969]` as the whole side: a column vector.  Anything
        else (`(a + b) c`, a single entry) is read again as an expression."""
        if not self.at("(", "["):
            return None
        start, close = self.i, ")" if self.tok.text == "(" else "]"
        self.take()
        self.enter()
        entries = [self.expr()]
        while self.at(",") and len(entries) <= MAX_MATRIX:
            self.take()
            entries.append(self.expr())
        self.depth -= 1
        if len(entries) > MAX_MATRIX:
            raise MathError(f"a vector longer than {MAX_MATRIX}")
        if len(entries) < 2 or not self.at(close) or self.peek().kind != "end":
            self.i = start
            return None
        self.take()
        return Matrix(tuple((e,) for e in entries))

    def expr(self) -> Node:
        self.enter()
        terms: list[Node] = []
        sign = "+"
        if self.at("+", "-"):
            sign = self.take().text
        while True:
            term = self.term()
            terms.append(Op("neg", (term,)) if sign == "-" else term)
            if not self.at("+", "-"):
                break
            sign = self.take().text
        self.depth -= 1
        return terms[0] if len(terms) == 1 else Op("+", tuple(terms))

    def starts_atom(self) -> bool:
        t = self.tok
        if t.kind in ("num", "letter", "word", "engine"):
            return True
        if t.kind == "op":
            return t.text in "([{"
        if t.kind == "cmd":
            return t.text not in ("\\cdot", "\\times", "\\div", "\\pm", "\\}", "\\right", "\\\\",
                                  "\\rangle", "\\end", "\\rvert", "\\mid")
        return False

    def term(self) -> Node:
        factors = [self.signed()]
        divide: list[bool] = [False]
        while True:
            if self.at("*", "\\cdot", "\\times", "\\ast"):
                self.take()
                scientific = self.scientific(factors[-1]) if not divide[-1] else None
                if scientific is not None:
                    factors[-1] = scientific
                    continue
                factors.append(self.signed())
                divide.append(False)
            elif self.at("/", "\\div"):
                self.take()
                factors.append(self.signed())
                divide.append(True)
            elif self.starts_atom():
                if self.tok.kind == "num" and isinstance(factors[-1], Num):
                    raise MathError(f"two numbers side by side at {self.where()}")
                factors.append(self.power())
                divide.append(False)
            else:
                break
        node = factors[0]
        product: list[Node] = [node]
        for f, d in zip(factors[1:], divide[1:]):
            if d:
                left = product[0] if len(product) == 1 else Op("*", tuple(product))
                product = [Op("/", (left, f))]
            else:
                product.append(f)
        return product[0] if len(product) == 1 else Op("*", tuple(product))

    def scientific(self, mantissa: Node) -> Num | None:
        """After `8.21 \\times`: `10^{-2}` (or `10^2`, `10^{+2}`) makes one number with the
        mantissa, "8.21e-2", whose precision is the mantissa's.  Otherwise nothing is taken."""
        if not (isinstance(mantissa, Num) and "e" not in mantissa.text.lower()
                and self.tok.kind == "num" and self.tok.text == "10" and self.peek().text == "^"):
            return None
        start = self.i
        self.take()
        self.take()
        try:
            exponent = self.exponent()
        except MathError:
            exponent = None
        sign = ""
        if isinstance(exponent, Op) and exponent.op == "neg":
            sign, exponent = "-", exponent.args[0]
        if isinstance(exponent, Num) and exponent.exact and int(exponent.text) <= MAX_EXPONENT \
                and not self.at("^"):
            return Num(f"{mantissa.text}e{sign}{int(exponent.text)}", mantissa.at)
        self.i = start
        return None

    def signed(self) -> Node:
        if self.at("-"):
            self.take()
            self.enter()
            node = Op("neg", (self.signed(),))
            self.depth -= 1
            return node
        if self.at("+"):
            self.take()
        return self.power()

    def power(self) -> Node:
        base = self.atom()
        while self.at("^", "**"):
            self.take()
            self.enter()
            exponent = self.exponent()
            self.depth -= 1
            base = Op("^", (base, exponent))
        return base

    def exponent(self) -> Node:
        if self.plain:
            return self.signed()
        if self.at("{"):
            return self.group()
        if self.at("-"):
            self.take()
            return Op("neg", (self.exponent(),))
        t = self.take()
        if t.kind == "num":
            # x^23 is x^2 · 3 in TeX: only the first digit is the exponent
            if len(t.text) > 1 and "." not in t.text:
                raise MathError(f"ambiguous exponent ^{t.text}; write ^{{{t.text}}}")
            return Num(t.text, t.at)
        if t.kind == "letter":
            return self.name_from(t.text, t.at, t.text)
        raise MathError(f"cannot read the exponent {t.text!r}")

    def group(self) -> Node:
        self.expect("{")
        node = self.expr()
        self.expect("}")
        return node

    def braced_text(self) -> str:
        """The raw text of a {...} argument (for \\text{ReLU}, subscripts, environment names)."""
        start = self.expect("{")
        depth = 1
        while depth:
            t = self.take()
            if t.kind == "end":
                raise MathError("unclosed '{'")
            if t.kind == "op" and t.text == "{":
                depth += 1
            elif t.kind == "op" and t.text == "}":
                depth -= 1
        return self.text[start.at + 1 : self.tokens[self.i - 1].at]

    def atom(self) -> Node:
        self.enter()
        try:
            return self.atom_inner()
        finally:
            self.depth -= 1

    def atom_inner(self) -> Node:
        t = self.tok
        if t.kind == "num":
            self.take()
            return Num(t.text, t.at)
        if t.kind == "engine":
            self.take()
            return self.after_name(Name("=" + t.text.replace(" ", ""), t.text, t.at))
        if t.kind == "word":
            return self.plain_word()
        if t.kind == "op" and t.text in "([":
            self.take()
            node = self.expr()
            self.expect(")" if t.text == "(" else "]")
            return node
        if t.kind == "op" and t.text == "{":
            return self.group()
        if t.kind == "op" and t.text == "|":
            self.take()
            node = self.expr()
            self.expect("|")
            return Call("abs", (node,), 0, "|x|")
        if t.kind == "letter":
            return self.letter()
        if t.kind == "cmd":
            return self.command()
        raise MathError(f"cannot read {self.where()}")

    def plain_word(self) -> Node:
        t = self.take()
        word = t.text
        if self.at("(") and (word.lower() in FUNCTIONS or word in ("sigmoid", "yhat")):
            function = FUNCTIONS.get(word.lower())
            if function:
                return Call(function, self.arguments(), 0, word)
        if word in ("e", "E") and not self.at("("):
            return Const("e")
        if word == "pi":
            return Const("pi")
        return Name("=" + word, word, t.at)

    def arguments(self) -> tuple[Node, ...]:
        close = ")" if self.at("(") else "]"
        self.take()
        args = [self.expr()]
        while self.at(","):
            self.take()
            args.append(self.expr())
        self.expect(close)
        return tuple(args)

    def letter(self) -> Node:
        word = self.word_before_subscript()
        if word is not None:  # net_{h1}, out_{o1}, target_{o1}: one name, as students mean it
            return self.after_name(self.name_from(word.text, word.at, word.text))
        t = self.take()
        if t.text == "e" and self.at("^"):  # e^{x}
            self.take()
            return Call("exp", (self.exponent(),), 0, "e^")
        if t.text == "e" and not self.at("_"):
            return Const("e")
        return self.after_name(self.name_from(t.text, t.at, t.text))

    def word_before_subscript(self) -> Token | None:
        """Three or more letters written together and followed at once by a subscript
        (`net_{h1}`): taken as one name rather than a product of letters.  Plain text mode and
        shorter runs (`xy_1` is x·y₁) are left alone."""
        if self.plain:
            return None
        j, text = self.i, ""
        while self.tokens[j].kind == "letter" and (j == self.i or self.tokens[j].at ==
                                                      self.tokens[j - 1].at + 1):
            text += self.tokens[j].text
            j += 1
        after = self.tokens[j]
        if len(text) < 3 or after.kind != "op" or after.text != "_" or \
                after.at != self.tokens[j - 1].at + 1:
            return None
        start = self.tokens[self.i].at
        self.i = j
        return Token("letter", text, start)

    def command(self) -> Node:
        t = self.take()
        word = t.text[1:]
        if word in ("frac", "dfrac", "tfrac", "cfrac"):
            return self.fraction(t)
        if word == "sqrt":
            if self.at("["):
                raise MathError("\\sqrt[n] is not supported")
            return Call("sqrt", (self.group(),), 0, "sqrt")
        if word == "partial":  # ∂A/∂B written inline
            top = self.plain_name()
            self.expect("/")
            if not self.at("\\partial"):
                raise MathError("expected ∂ after / in ∂A/∂B")
            self.take()
            return Partial(top, self.plain_name(), t.at)
        if word in ("{", "lbrace"):
            node = self.expr()
            self.expect("\\}")
            return node
        if word in ("lvert", "vert", "|"):
            node = self.expr()
            if not self.at("\\rvert", "\\vert", "\\|", "|"):
                raise MathError("unclosed |")
            self.take()
            return Call("abs", (node,), 0, "|x|")
        if word == "begin":
            return self.matrix()
        if word in ("text", "mathrm", "operatorname", "textrm", "textnormal", "mathit", "textit"):
            inner = self.braced_text().strip()
            function = FUNCTIONS.get(inner.lower())
            if function and (self.at("(", "'") or word in ("operatorname",)):
                return self.call(function, inner)
            if re.fullmatch(r"[A-Za-z]+", inner) and word in ("mathrm", "mathit", "textit", "text"):
                if len(inner) > 1 and word == "text":
                    raise MathError(f"words ({inner!r}) in a formula")
                return self.after_name(self.name_from(inner, t.at, f"\\{word}{{{inner}}}"))
            raise MathError(f"words ({inner!r}) in a formula")
        if word == "pi":
            return Const("pi")
        if word in ("exp", "log", "ln", "tanh", "sin", "cos", "max", "min", "sinh", "cosh", "sech"):
            return self.call(FUNCTIONS[word], word)
        if word in TRANSPARENT:
            return self.after_name(self.compound("", t.at, word))
        if word in ACCENTS or word in ("bar", "overline"):
            return self.after_name(self.compound(word, t.at, word))
        if word in GREEK:
            if word in ("sigma", "phi", "varphi", "psi") and self.at("(", "'"):
                return self.call(FUNCTIONS.get(word) or f"?{word}||", "\\" + word)
            return self.after_name(self.name_from("\\" + word, t.at, "\\" + word))
        raise MathError(f"\\{word} is not mathematics symgrad reads")

    def call(self, function: str, text: str) -> Node:
        derivative = 0
        while self.at("'"):
            self.take()
            derivative += 1
        if self.at("(", "["):
            return Call(function, self.arguments(), derivative, text)
        if self.at("{"):
            return Call(function, (self.group(),), derivative, text)
        # \log x, \tanh z: the next power is the argument
        return Call(function, (self.power(),), derivative, text)

    def fraction(self, t: Token) -> Node:
        if not self.at("{") and self.tok.kind == "num" and re.fullmatch(r"[0-9]{2}", self.tok.text):
            digits = self.take()  # \frac12 is \frac{1}{2}
            return Op("/", (Num(digits.text[0], digits.at), Num(digits.text[1], digits.at + 1)))
        start = self.i
        top_text = self.braced_text().strip()
        bottom_text = self.braced_text().strip()
        for d in ("\\partial", "d", "\\mathrm{d}", "\\text{d}"):
            if top_text.startswith(d) and bottom_text.startswith(d):
                top, wrt = top_text[len(d):].strip(), bottom_text[len(d):].strip()
                if not top:
                    raise MathError("a derivative operator ∂/∂x applied to an expression")
                if d == "d" and not (wrt[:1].isalpha() or wrt[:1] == "\\"):
                    break
                try:
                    return Partial(self.sub_name(top), self.sub_name(wrt), t.at)
                except MathError:
                    if d == "\\partial":
                        raise
                    break
        self.i = start
        numerator = self.group()
        denominator = self.group()
        return Op("/", (numerator, denominator))

    def sub_name(self, text: str) -> Name:
        inner = Parser(text)
        node = inner.atom()
        if inner.tok.kind != "end" or not isinstance(node, Name):
            raise MathError(f"expected a name in a derivative, got {text!r}")
        return node

    def plain_name(self) -> Name:
        node = self.atom()
        if not isinstance(node, Name):
            raise MathError("expected a name after ∂")
        return node

    def compound(self, accent: str, at: int, command: str) -> Name:
        """\\hat{y}_1, \\bar{w}_{j1}, \\mathbf{z}_2: the argument is a name, and the scripts
        after the braces belong to it too."""
        inner_text = self.braced_text() if self.at("{") else self.take().text
        inner = Parser(inner_text)
        node = inner.atom()
        if not isinstance(node, Name) or inner.tok.kind != "end" or node.key.startswith("="):
            raise MathError(f"\\{command} of something that is not a name")
        base, sub, sup = node.key.split("|")
        bar = node.bar or accent in ("bar", "overline")
        if accent and accent not in ("bar", "overline"):
            base = f"{SAME_ACCENT.get(accent, accent)}:{base}"
        text = f"\\{command}{{{node.text}}}"
        outer = self.name_from(base, at, text)
        _, out_sub, out_sup = outer.key.split("|")
        return Name(f"{base}|{out_sub or sub}|{out_sup or sup}", outer.text, at, bar=bar)

    def name_from(self, base: str, at: int, text: str) -> Name:
        """A base letter and the sub- and superscripts that belong to it."""
        sub, sup = "", ""
        while True:
            if self.at("_") and not sub:
                self.take()
                raw = self.script()
                sub = normal_index(raw)
                text += "_{" + raw + "}"
            elif self.at("^") and not sup and self.is_name_superscript():
                self.take()
                raw = self.script()
                sup = normal_index(raw)
                text += "^{" + raw + "}"
            else:
                break
        key = f"{base.lstrip(chr(92))}|{sub}|{sup}"
        return Name(key, text, at)

    def script(self) -> str:
        if self.at("{"):
            return self.braced_text()
        t = self.take()
        if t.kind == "end":
            raise MathError("a subscript with nothing after it")
        if t.kind == "cmd" and t.text[1:] in ("prime",):
            return "'"
        if t.kind == "num":  # w_12 in TeX is w_1 2: only the first digit
            if len(t.text) > 1:
                raise MathError(f"ambiguous index _{t.text}; write _{{{t.text}}}")
        return t.text

    def is_name_superscript(self) -> bool:
        """^{[2]}, ^{(2)}, ^{(i)} and ^T name a layer, an example or a transpose; ^2 is a power."""
        nxt = self.peek()
        if nxt.kind == "letter" and nxt.text == "T":
            return True
        if nxt.kind == "op" and nxt.text == "{":
            j = self.i + 2
            first = self.tokens[j] if j < len(self.tokens) else None
            if first is not None and first.kind == "op" and first.text in "[(":
                return True
            if first is not None and first.kind == "letter" and first.text == "T":
                close = self.tokens[j + 1] if j + 1 < len(self.tokens) else None
                return close is not None and close.text == "}"
        return False

    def after_name(self, name: Name) -> Node:
        """A prime after a name (the updated value); `f(C x + b)`, `g(z)`, `p(x)`, `J(w)`: an
        unknown function applied, or a quantity named with its arguments (the checker decides
        which).  `y(1 - y)` and `w_{31}(h_1 + ...)` stay products."""
        if self.at("{") and self.peek().text == "}" and self.peek(2).text == "'":
            self.take()  # W^{[2]}_{11}{}': the empty group that sets a prime after scripts
            self.take()
        if self.at("'") or self.at("^") and self.peek().text == "\\prime":
            while self.at("'") or self.at("^"):
                self.take()
                if self.tokens[self.i - 1].text == "^":
                    self.take()
            return Name(name.key, name.text + "'", name.at, name.bar, updated=True)
        base, sub, sup = name.key.split("|")
        if not self.at("(") or name.bar or name.key.startswith("="):
            return name
        if base in UNKNOWN_FUNCTIONS and not sub and not sup:
            return Call("?" + name.key, self.arguments(), 0, name.text)
        if sub or sup:
            return name
        start = self.i
        try:
            args = self.arguments()
        except MathError:
            self.i = start
            return name
        if args and all(isinstance(a, Name) for a in args):
            return Call("?" + name.key, args, 0, name.text)
        self.i = start
        return name


    def matrix(self) -> Node:
        """\\begin{pmatrix} a & b \\\\ c & d \\end{pmatrix} (also bmatrix, matrix, ...)."""
        environment = self.braced_text().strip()
        if environment not in ("pmatrix", "bmatrix", "matrix", "Bmatrix", "vmatrix", "smallmatrix"):
            raise MathError(f"the {environment} environment inside a formula")
        rows: list[list[Node]] = [[]]
        while True:
            if self.at("\\end"):
                self.take()
                self.braced_text()
                break
            if self.tok.kind == "end":
                raise MathError(f"unclosed {environment}")
            rows[-1].append(self.expr())
            if self.at("&"):
                self.take()
            elif self.at("\\\\"):
                self.take()
                rows.append([])
            if len(rows) > MAX_MATRIX or len(rows[-1]) > MAX_MATRIX:
                raise MathError(f"a matrix larger than {MAX_MATRIX} × {MAX_MATRIX}")
        if not rows[-1]:
            rows.pop()
        if not rows or len({len(r) for r in rows}) != 1:
            raise MathError("a matrix with rows of unequal length")
        if self.at("_"):  # \end{pmatrix}_{2 \times 3}: its size, as a label
            self.take()
            self.script()
        return Matrix(tuple(tuple(r) for r in rows))


def normal_index(raw: str) -> str:
    """A sub- or superscript as a key: spaces, braces and \\mathrm dropped; "1,1" → "11" when
    every index is one character."""
    text = re.sub(r"\\(?:mathrm|text|mathit|mathbf)\s*", "", raw)
    text = re.sub(r"[\s{}]", "", text)
    parts = text.split(",")
    if len(parts) > 1 and all(len(p) == 1 for p in parts):
        text = "".join(parts)
    return text


def parse_element(text: str, plain: bool = False) -> Node:
    """One side of an `=`: a number, a name, a formula or a matrix."""
    return Parser(unicode_free(text) if not plain else text, plain).parse()


def name_key(latex: str) -> str | None:
    """The canonical key of a LaTeX name (`h_{1}` and `h_1` give the same), or None when the
    text is not a single name.  A bar or a prime is not part of the key."""
    try:
        p = Parser(unicode_free(latex))
        node = p.atom()
    except MathError:
        return None
    if p.tok.kind != "end" or not isinstance(node, Name):
        return None
    return ("bar:" if node.bar else "") + node.key


def plain(node: Node) -> str:
    """A side written compactly in plain text, for messages: matrices as (0.39, -0.26, 0.08),
    fractions as a/b, σ for the logistic function."""
    def text(n: Node, outer: int = 0) -> str:
        if isinstance(n, Num):
            return n.text
        if isinstance(n, Const):
            return n.name
        if isinstance(n, Name):
            shown = n.text.replace("{", "").replace("}", "").replace("\\", "")
            return ("bar " if n.bar else "") + shown
        if isinstance(n, Partial):
            return f"∂{text(n.top)}/∂{text(n.wrt)}"
        if isinstance(n, Matrix):
            rows = [", ".join(text(x) for x in row) for row in n.rows]
            if all(len(r) == 1 for r in n.rows) or len(n.rows) == 1:
                return "(" + ", ".join(rows) + ")"
            return "[" + "; ".join(rows) + "]"
        if isinstance(n, Call):
            name = {"sigmoid": "σ", "relu": "ReLU"}.get(n.function, n.function.lstrip("?").split("|")[0])
            return name + "'" * n.derivative + "(" + ", ".join(text(a) for a in n.args) + ")"
        if isinstance(n, Op):
            if n.op == "neg":
                return "-" + text(n.args[0], 3)
            if n.op == "+":
                out = text(n.args[0], 1)
                for a in n.args[1:]:
                    out += " - " + text(a.args[0], 1) if isinstance(a, Op) and a.op == "neg" \
                        else " + " + text(a, 1)
                return f"({out})" if outer > 1 else out
            if n.op == "*":
                out = "·".join(text(a, 2) for a in n.args)
                return f"({out})" if outer > 2 else out
            if n.op == "/":
                out = f"{text(n.args[0], 3)}/{text(n.args[1], 3)}"
                return f"({out})" if outer > 2 else out
            if n.op == "^":
                return f"{text(n.args[0], 3)}^{text(n.args[1], 3)}"
        return "?"

    return text(node)
