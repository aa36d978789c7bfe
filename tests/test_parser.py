"""The safe expression parser: what it builds, what it refuses, and where it says the fault is."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import sympy
from sympy import Float, Integer, Max, Min, Rational, Symbol

from symgrad.input import parser
from symgrad.input.parser import DEFAULT_FUNCTIONS, ExpressionError, parse_expression

NAMES = ("x", "y", "a", "b", "c", "x1", "x2")
x, y, a, b, c, x1, x2 = (Symbol(name, real=True) for name in NAMES)


def resolve(name: str) -> sympy.Expr:
    if name not in NAMES:
        raise KeyError(name)
    return Symbol(name, real=True)


def parse(text: str) -> sympy.Expr:
    return parse_expression(text, resolve, DEFAULT_FUNCTIONS)


VALID = [
    ("x1*exp(x2)", x1 * sympy.exp(x2)),
    ("-x**2", -(x**2)),
    ("(-x)**2", x**2),
    ("2**3**2", Integer(2) ** Integer(9)),
    ("2**-1", Rational(1, 2)),
    ("x**-y", x ** (-y)),
    ("a - b - c", a - b - c),
    ("a/b/c", a / b / c),
    ("a*b/c", a * b / c),
    ("a + b*c", a + b * c),
    ("(a + b) * c", (a + b) * c),
    ("2 * (3 + 4)", Integer(14)),
    ("1/2", Rational(1, 2)),
    ("-a*b", -a * b),
    ("+x", x),
    ("--x", x),
    ("a*-b", a * -b),
    ("3", Integer(3)),
    ("3.5", Float("3.5")),
    (".5", Float(".5")),
    ("5.", Float("5.")),
    ("1e-3", Float("1e-3")),
    ("2.5E+4", Float("2.5E+4")),
    ("0.1*x", Float("0.1") * x),
    ("max(x, 0)", Max(x, 0)),
    ("min(a, b, c)", Min(a, b, c)),
    ("abs(x)", sympy.Abs(x)),
    ("sqrt(a)", sympy.sqrt(a)),
    ("log(1 + exp(-x))", sympy.log(1 + sympy.exp(-x))),
    ("sin(a) + cos(b) * tan(c)", sympy.sin(a) + sympy.cos(b) * sympy.tan(c)),
    ("tanh(x)", sympy.tanh(x)),
    ("tanh(a)\n+\tb ", sympy.tanh(a) + b),
    ("(" * 200 + "x" + ")" * 200, x),
    ("-" * 200 + "x", x),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid(text: str, expected: sympy.Expr) -> None:
    result = parse(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("text", ["3.5", ".5", "5.", "1e-3", "2.5E+4"])
def test_decimals_are_floats_and_integers_are_integers(text: str) -> None:
    assert isinstance(parse(text), Float)
    assert isinstance(parse("35"), Integer)


INVALID = [
    ("__import__('os').system('ls')", 0, "name '__import__' is not allowed"),
    ("x + __class__", 4, "not allowed"),
    ("x.y", 1, "unexpected '.'"),
    ("lambda: 1", 6, "unexpected ':'"),
    ("x^2", 1, "write powers as **"),
    ("(x", 0, "unclosed '('"),
    ("max(x, y", 3, "unclosed '('"),
    ("x)", 1, "unexpected ')'"),
    ("", 0, "empty expression"),
    ("  \n", 0, "empty expression"),
    ("2 x", 2, "expected an operator before 'x'"),
    ("(a)(b)", 3, "expected an operator before '('"),
    ("max(x y)", 6, "expected an operator"),
    ("foo(x)", 0, "unknown function 'foo'"),
    ("x(1)", 0, "unknown function 'x'"),
    ("q + 1", 0, "unknown name 'q'"),
    ("exp", 0, "unknown name 'exp'"),
    ("exp(x, y)", 0, "exp() takes 1 argument (2 given)"),
    ("2*sqrt()", 2, "sqrt() takes 1 argument (0 given)"),
    ("max(x)", 0, "max() takes 2 or more arguments (1 given)"),
    ("max(x,)", 6, "unexpected ')'"),
    ("max(a=1)", 5, "unexpected '='"),
    ("x[1]", 1, "unexpected '['"),
    ("{x}", 0, "unexpected '{'"),
    ("a = 1", 2, "unexpected '='"),
    ("a < b", 2, "unexpected '<'"),
    ("a > b", 2, "unexpected '>'"),
    ("a, b", 1, "unexpected ','"),
    ("'s'", 0, "unexpected \"'\""),
    ('"s"', 0, "unexpected '\"'"),
    ("x @ y", 2, "unexpected '@'"),
    ("!x", 0, "unexpected '!'"),
    ("a; b", 1, "unexpected ';'"),
    ("x // y", 3, "unexpected '/'"),
    ("**x", 0, "unexpected '**'"),
    ("1 +", 3, "unexpected end of expression"),
    ("exp(", 4, "unexpected end of expression"),
    ("1e", 0, "malformed number '1e'"),
    ("1.2.3", 0, "malformed number"),
    ("1e100000", 0, "number out of range"),
    ("9**9**9", 1, "number too large"),
    ("x+" * 10_000, 10_000, "expression too long"),
    ("(" * 1000 + "x" + ")" * 1000, 200, "expression nested too deeply"),
    ("-" * 1000 + "x", 200, "expression nested too deeply"),
    ("exp(" * 1000 + "x" + ")" * 1000, 803, "expression nested too deeply"),
    ("x" + "**x" * 1000, 601, "expression nested too deeply"),
]


@pytest.mark.parametrize(("text", "position", "message"), INVALID, ids=lambda v: repr(v)[:40])
def test_invalid(text: str, position: int, message: str) -> None:
    with pytest.raises(ExpressionError) as caught:
        parse(text)
    assert caught.value.position == position
    assert message in str(caught.value)
    assert f"at position {position}" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_error_text() -> None:
    with pytest.raises(ExpressionError) as caught:
        parse("x)")
    assert str(caught.value) == "unexpected ')' at position 1"
    assert isinstance(caught.value, ValueError)
    with pytest.raises(ExpressionError) as caught:
        parse("x^2")
    assert str(caught.value) == "'^' is not allowed at position 1; write powers as **"
    with pytest.raises(ExpressionError) as caught:
        parse("foo(x)")
    assert str(caught.value) == (
        "unknown function 'foo' at position 0 "
        "(allowed: abs, cos, exp, log, max, min, sin, sqrt, tan, tanh)"
    )
    assert caught.value.message == "unknown function 'foo'"


def test_resolver_errors() -> None:
    def unpositioned(name: str) -> sympy.Expr:
        raise ExpressionError(f"{name} is reserved", -1)

    with pytest.raises(ExpressionError) as caught:
        parse_expression("1 + y", unpositioned, DEFAULT_FUNCTIONS)
    assert (caught.value.position, str(caught.value)) == (4, "y is reserved at position 4")

    def positioned(name: str) -> sympy.Expr:
        raise ExpressionError("kept", 42)

    with pytest.raises(ExpressionError) as caught:
        parse_expression("y", positioned, DEFAULT_FUNCTIONS)
    assert caught.value.position == 42

    def refusing(name: str) -> sympy.Expr:
        raise ValueError("no")

    with pytest.raises(ExpressionError, match="unknown name 'y' at position 2"):
        parse_expression("2*y", refusing, DEFAULT_FUNCTIONS)


def test_added_functions() -> None:
    def one_argument(z: sympy.Expr) -> sympy.Expr:
        return 2 * z

    functions = {**DEFAULT_FUNCTIONS, "double": one_argument}
    assert parse_expression("double(x) + exp(x)", resolve, functions) == 2 * x + sympy.exp(x)
    with pytest.raises(ExpressionError) as caught:
        parse_expression("1 + double(x, y)", resolve, functions)
    assert caught.value.position == 4
    assert caught.value.message.startswith("double(")
    with pytest.raises(ExpressionError, match=r"\(allowed: none\)"):
        parse_expression("exp(x)", resolve, {})


def test_no_python_evaluation_in_source() -> None:
    source = Path(parser.__file__).read_text(encoding="utf-8")
    for forbidden in ("sympify", "eval(", "exec(", "compile("):
        assert forbidden not in source
    # `parse_expression` is the module's own name: look for sympy's parse_expr as a whole word
    assert not re.search(r"\bparse_expr\b", source)
    called = {
        node.id if isinstance(node, ast.Name) else node.attr
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Name, ast.Attribute))
    }
    assert not called & {"eval", "exec", "compile", "sympify", "parse_expr", "__import__"}
