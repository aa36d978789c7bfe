"""Parse an expression string from a problem file into sympy, without running any Python code.

sympy's own string parser hands the text to Python to run, so a problem file could execute
arbitrary code through it.  This module instead tokenizes the text and parses it by recursive
descent, building sympy objects directly: the only names that mean anything are the ones
`symbol_for` resolves and the ones in the `functions` table.

Grammar (Python's precedence; `**` is right-associative and binds tighter than a unary minus on
its left, so -x**2 is -(x**2), while 2**-1 is allowed):

    expr  := term (('+' | '-') term)*
    term  := unary (('*' | '/') unary)*
    unary := ('-' | '+') unary | atom ('**' unary)?
    atom  := NUMBER | NAME | NAME '(' [expr (',' expr)*] ')' | '(' expr ')'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import NamedTuple

import sympy

MAX_LENGTH = 10_000
MAX_DEPTH = 200  # parentheses, calls, signs and exponents; well inside Python's recursion limit
MAX_EXPONENT = 1000  # sympy takes seconds to read 1e100000, and no float is that large anyway
MAX_BITS = 10_000  # an exact power larger than this is refused: 9**9**9 would never finish

# One alternative per token kind; `other` catches every character no token can start with.
_TOKEN = r"""
    (?P<space>[ \t\r\n]+)
  | (?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|<=|>=|[-+*/(),<>])
  | (?P<other>.)
"""


class ExpressionError(ValueError):
    """A syntax or vocabulary error; `position` is the 0-based character offset in the text.

    `message` is the complaint alone ("unknown name 'foo'"); `str()` adds the position and any
    hint, on one line.  A `symbol_for` that cannot know the position passes -1 for the parser to
    fill in.
    """

    def __init__(self, message: str, position: int, *, hint: str = "") -> None:
        self.message = message
        self.position = position
        self.hint = hint
        where = f" at position {position}" if position >= 0 else ""
        super().__init__(f"{message}{where}{hint}")


class Token(NamedTuple):
    kind: str  # "number", "name", "op" or "end"
    text: str
    position: int


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    for match in re.finditer(_TOKEN, text, re.VERBOSE | re.DOTALL):
        kind, word, start = match.lastgroup or "", match.group(), match.start()
        if kind == "other":
            if word == "^":
                raise ExpressionError("'^' is not allowed", start, hint="; write powers as **")
            raise ExpressionError(f"unexpected {word!r}", start)
        if kind == "number" and text[match.end() : match.end() + 1] in tuple(".eE"):
            # "1.2.3" or "1e": otherwise read as two numbers, or a number and a name
            raise ExpressionError(f"malformed number {text[start : match.end() + 1]!r}", start)
        if kind == "name" and word.startswith("__"):
            # Python's dunder names are how sandbox escapes start: never a variable here
            raise ExpressionError(f"name {word!r} is not allowed", start)
        if kind != "space":
            tokens.append(Token(kind, word, start))
    tokens.append(Token("end", "", len(text)))
    return tokens


def _number(token: Token) -> sympy.Expr:
    mantissa, _, exponent = token.text.lower().partition("e")
    try:
        if not exponent and "." not in mantissa:
            return sympy.Integer(token.text)
        if exponent and abs(int(exponent)) > MAX_EXPONENT:
            raise ValueError
        return sympy.Float(token.text)  # the text, so that 0.1 keeps the digits as written
    except ValueError:  # also Python's limit on converting very long digit strings
        raise ExpressionError("number out of range", token.position) from None


def _power(base: sympy.Expr, exponent: sympy.Expr, position: int) -> sympy.Expr:
    # sympy works exact powers out at once, so their size must be bounded before asking
    if base.is_Rational and exponent.is_Integer and base not in (0, 1, -1):
        bits = abs(int(exponent)) * max(int(base.p).bit_length(), int(base.q).bit_length())
        if bits > MAX_BITS:
            raise ExpressionError("number too large", position)
    return base**exponent


class _Parser:
    def __init__(
        self,
        text: str,
        symbol_for: Callable[[str], sympy.Expr],
        functions: Mapping[str, Callable[..., sympy.Expr]],
        relations: bool = False,
    ) -> None:
        self.tokens = _tokenize(text)
        self.index = 0
        self.depth = 0
        self.symbol_for = symbol_for
        self.functions = functions
        self.relations = relations

    def at(self, *ops: str) -> bool:
        token = self.tokens[self.index]
        return token.kind == "op" and token.text in ops

    def take(self) -> Token:
        self.index += 1
        return self.tokens[self.index - 1]

    def enter(self, token: Token) -> None:
        # counted rather than left to Python, so that the error is ours and not a RecursionError
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ExpressionError(
                "expression nested too deeply", token.position, hint=f" (limit {MAX_DEPTH})"
            )

    def unexpected(self, token: Token) -> ExpressionError:
        if token.kind == "end":
            return ExpressionError("unexpected end of expression", token.position)
        if token.kind in ("number", "name") or token.text == "(":
            return ExpressionError(f"expected an operator before {token.text!r}", token.position)
        return ExpressionError(f"unexpected {token.text!r}", token.position)

    def parse(self) -> sympy.Expr:
        if self.tokens[0].kind == "end":
            raise ExpressionError("empty expression", 0)
        result = self.relation()
        if self.tokens[self.index].kind != "end":
            raise self.unexpected(self.tokens[self.index])
        return result

    def expr(self) -> sympy.Expr:
        # sums and products in one loop rather than one method each: every nesting level then
        # costs three Python frames (expr, unary, atom), far from the limit even at MAX_DEPTH
        total: sympy.Expr | None = None
        sign = "+"
        while True:
            term = self.unary()
            while self.at("*", "/"):
                op = self.take().text
                right = self.unary()
                term = term * right if op == "*" else term / right
            if total is None:
                total = term
            elif sign == "+":
                total = total + term
            else:
                total = total - term
            if not self.at("+", "-"):
                return total
            sign = self.take().text

    def unary(self) -> sympy.Expr:
        if self.at("-", "+"):
            sign = self.take()
            self.enter(sign)
            operand = self.unary()
            self.depth -= 1
            return -operand if sign.text == "-" else operand
        base = self.atom()
        if not self.at("**"):
            return base
        op = self.take()
        self.enter(op)
        exponent = self.unary()
        self.depth -= 1
        return _power(base, exponent, op.position)

    def atom(self) -> sympy.Expr:
        token = self.take()
        if token.kind == "number":
            return _number(token)
        if token.kind == "name" and not self.at("("):
            return self.name(token)
        if token.kind == "name":
            function = self.function(token)
            opening = self.take()
        elif token.text == "(":
            function, opening = None, token
        else:
            raise self.unexpected(token)
        # a call's arguments are read here, not in a helper, for the same reason as in expr
        self.enter(opening)
        args: list[sympy.Expr] = []
        if function is None or not self.at(")"):  # an empty call: the function says what it needs
            args.append(self.relation())
            while (function is not None or self.relations) and self.at(","):
                self.take()
                args.append(self.relation())
        self.close(opening)
        if function is None:  # (a, b) is a tuple only where relations are on: Piecewise's pairs
            return args[0] if len(args) == 1 else sympy.Tuple(*args)
        return self.apply(token, function, args)

    def relation(self) -> sympy.Expr:
        """An argument: an expression, or with `relations` on, a comparison such as z > 0."""
        left = self.expr()
        if not (self.relations and self.at("<", "<=", ">", ">=")):
            return left
        op = self.take().text
        right = self.expr()
        return {"<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge}[op](left, right)

    def close(self, opening: Token) -> None:
        token = self.take()
        if token.text == ")" and token.kind == "op":
            self.depth -= 1
        elif token.kind == "end":
            raise ExpressionError("unclosed '('", opening.position)
        else:
            raise self.unexpected(token)

    def name(self, token: Token) -> sympy.Expr:
        try:
            return self.symbol_for(token.text)
        except ExpressionError as error:
            if error.position >= 0:
                raise
            raise ExpressionError(error.message, token.position, hint=error.hint) from None
        except (KeyError, ValueError):
            raise ExpressionError(f"unknown name {token.text!r}", token.position) from None

    def function(self, name: Token) -> Callable[..., sympy.Expr]:
        function = self.functions.get(name.text)
        if function is None:
            allowed = ", ".join(sorted(self.functions)) or "none"
            raise ExpressionError(
                f"unknown function {name.text!r}", name.position, hint=f" (allowed: {allowed})"
            )
        return function

    def apply(
        self, name: Token, function: Callable[..., sympy.Expr], args: list[sympy.Expr]
    ) -> sympy.Expr:
        try:
            return function(*args)
        except (TypeError, ValueError) as error:
            text = " ".join(str(error).split())  # one line, whatever the function raised
            message = text if text.startswith(f"{name.text}(") else f"{name.text}(): {text}"
            raise ExpressionError(message, name.position) from None


def parse_expression(
    text: str,
    symbol_for: Callable[[str], sympy.Expr],
    functions: Mapping[str, Callable[..., sympy.Expr]],
    relations: bool = False,
) -> sympy.Expr:
    """The sympy expression `text` denotes; ExpressionError if it is not a valid expression.

    With `relations`, arguments may be comparisons and pairs, for Piecewise((z, z > 0), (0, True))
    and for assumptions such as z > 0; problem files never need them.
    """
    if len(text) > MAX_LENGTH:
        raise ExpressionError(
            "expression too long", MAX_LENGTH, hint=f" ({len(text)} characters; limit {MAX_LENGTH})"
        )
    try:
        return _Parser(text, symbol_for, functions, relations).parse()
    except RecursionError:  # only if the caller's own stack was already nearly full
        raise ExpressionError("expression nested too deeply", 0) from None


def _checked(
    name: str, function: Callable[..., sympy.Expr], least: int, most: int | None
) -> Callable[..., sympy.Expr]:
    # sympy's own complaints about argument counts name its classes, not what the user wrote
    def apply(*args: sympy.Expr) -> sympy.Expr:
        if len(args) < least or (most is not None and len(args) > most):
            wanted = f"{least} argument" if most == least else f"{least} or more arguments"
            raise ValueError(f"{name}() takes {wanted} ({len(args)} given)")
        return function(*args)

    apply.__name__ = name
    return apply


_ONE_ARGUMENT: dict[str, Callable[..., sympy.Expr]] = {
    "exp": sympy.exp, "log": sympy.log, "sin": sympy.sin, "cos": sympy.cos,
    "tan": sympy.tan, "tanh": sympy.tanh, "sqrt": sympy.sqrt, "abs": sympy.Abs,
}  # fmt: skip

DEFAULT_FUNCTIONS: dict[str, Callable[..., sympy.Expr]] = {
    **{name: _checked(name, function, 1, 1) for name, function in _ONE_ARGUMENT.items()},
    "max": _checked("max", sympy.Max, 2, None),
    "min": _checked("min", sympy.Min, 2, None),
}
