"""The one place that turns sympy expressions into LaTeX for answer sheets.

An answer sheet shows each result twice: symbolically ("\\hat{y} - y") and with the numbers
dropped in ("0.7514 - 0.01").  Both lines come from the same printer walking the same symbolic
tree, so they always have the same layout; the numeric line never substitutes into the
expression (sympy would evaluate ŷ − y to a single number and the working would vanish).

Layout rules beyond sympy's own printer, chosen to match how a textbook writes gradients:
sums put their positive terms first (ŷ − y, not −y + ŷ); products put a numeric coefficient
first, then plain factors, then parenthesised groups (σ(z)(1 − σ(z)), a ŷ(1 − ŷ)(ŷ − y));
g'(z) for the derivative of an unspecified function; H(z) for the step function, which the
numeric line evaluates (H(1.5) is 1).  Computed numbers keep their trailing zeros (0.2400: the
stated precision); given numbers print as given (0.15).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import sympy
from sympy import Derivative, Expr, Function, Subs, Symbol
from sympy.core.function import AppliedUndef
from sympy.printing.conventions import split_super_sub
from sympy.printing.latex import (LatexPrinter, accepted_latex_functions, greek_letters_set,
                                  other_symbols, tex_greek_dictionary)
from sympy.printing.precedence import PRECEDENCE
from sympy.simplify import fraction

from symgrad.calculus.definitions import DEFINITIONS

Number = int | float

FIXED_EXPONENTS = range(-3, 5)  # 1e-3 <= |x| < 1e5 prints in fixed point
# The functions a sheet renames ([sheet.symbols] sigmoid = "\\operatorname{logistic}"), class →
# LaTeX head, for whatever is printed while `renamed_functions` is in force: the derivations, the
# proofs and the figures of one sheet all follow it without each passing it on.
# A class mapped to None is written out in elementary functions ([sheet] written_out).
_RENAMED: ContextVar[Mapping[type, str | None]] = ContextVar("renamed_functions", default={})


@contextmanager
def renamed_functions(heads: Mapping[type, str | None]) -> Iterator[None]:
    """Print each function class in `heads` with that LaTeX head instead of its own, or (None)
    written out by its definition, σ(z) as 1/(1 + e^{-z}), within."""
    token = _RENAMED.set(dict(heads))
    try:
        yield
    finally:
        _RENAMED.reset(token)


def renamed_head(cls: type, default: str) -> str:
    """The head the printer writes `cls` with now: its renaming, else `default`."""
    return _RENAMED.get().get(cls) or default


def format_number(x: Number, precision: int = 4, keep_zeros: bool = False) -> str:
    """A number as LaTeX, rounded for display to `precision` significant figures.

    Integers are exact; floats are fixed point for 1e-3 <= |x| < 1e5 (after rounding), else
    "m \\times 10^{e}".  Trailing zeros are dropped (a given 0.15), or with `keep_zeros` kept, so
    that a computed value shows the precision it is stated to (0.2400).  The sign is a plain "-".
    """
    if isinstance(x, bool):  # a bool here is a caller's bug, not the number 0 or 1
        raise TypeError(f"not a number: {x!r}")
    if isinstance(x, numbers.Integral):
        return str(int(x))
    if precision < 1:
        raise ValueError(f"precision must be at least 1, not {precision}")
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(f"cannot display {value} as a number")
    if value == 0:
        return "0"  # also -0.0
    sign = "-" if value < 0 else ""
    # One correctly rounded conversion gives digits and exponent, carry included (9.9996 → 1.000e1);
    # both layouts are built from it so they can never disagree about the rounding.
    mantissa, exp_text = f"{abs(value):.{precision - 1}e}".split("e")
    exponent = int(exp_text)
    strip = (lambda d: d) if keep_zeros else strip_zeros
    if exponent not in FIXED_EXPONENTS:
        return rf"{sign}{strip(mantissa)} \times 10^{{{exponent}}}"
    digits = mantissa.replace(".", "")
    if exponent >= 0:
        digits = digits.ljust(exponent + 1, "0")
        fixed = f"{digits[:exponent + 1]}.{digits[exponent + 1:]}"
    else:
        fixed = "0." + "0" * (-exponent - 1) + digits
    return sign + strip(fixed.removesuffix("."))  # 12350. when every digit is before the point


def strip_zeros(decimal: str) -> str:
    """1.500 → 1.5, 2.000 → 2 (only after a decimal point: 12350 keeps its zero)."""
    return decimal.rstrip("0").rstrip(".") if "." in decimal else decimal


def variable_latex(name: str, several: str = r"\mathit") -> str:
    """A variable's name as LaTeX, letter for letter: x ↦ x, x1 ↦ x_{1}, alpha ↦ \\alpha,
    w_out ↦ w_{\\mathit{out}}, xscr ↦ \\mathit{xscr}.

    sympy's own printer reads suffixes as accents and fonts (xscr ↦ \\mathscr{x}, which the
    sheet's preamble lacks; xhat ↦ \\hat{x}) and prints a name containing a backslash verbatim, so
    a name could become any macro.  Here the output is built only from the name's letters and
    digits and fixed Greek macros.  `several` sets a multi-letter word (\\operatorname for a
    function's name).  The layout (base, ^{supers}, _{subs}) is sympy's, so ordinary names
    print exactly as before.
    """
    base, supers, subs = split_super_sub(name)
    tex = _word(base, several)
    if supers:
        tex += "^{%s}" % " ".join(_word(s, several) for s in supers)
    if subs:
        tex += "_{%s}" % " ".join(_word(s, several) for s in subs)
    return tex


def _word(word: str, several: str) -> str:
    if word in tex_greek_dictionary:  # fixed strings: Alpha ↦ \mathrm{A}, lamda ↦ \lambda
        return tex_greek_dictionary[word]
    if word.lower() in greek_letters_set:
        return "\\" + word.lower()
    if word in other_symbols:  # ell, hbar, aleph, ...
        return "\\" + word
    if not word or word.isascii() and (word.isdigit() or len(word) == 1 and word.isalpha()):
        return word
    # Only letters and digits inside the braces: anything else (not from the safe parser) is
    # written as a harmless "?" rather than passed to TeX.
    safe = "".join(c if c.isascii() and c.isalnum() else "\\_" if c == "_" else "?" for c in word)
    return f"{several}{{{safe}}}"


class _Printer(LatexPrinter):
    """sympy's LaTeX printer with textbook layout; with `values`, prints numbers for symbols."""

    def __init__(self, names: Mapping[Symbol, str], values: Mapping[Symbol, Number | Expr] | None = None,
                 precision: int = 4, given: Collection[Symbol] = ()) -> None:
        super().__init__()
        self._names, self._values, self._precision = names, values, precision
        self._given = given  # symbols whose numbers are the problem's own: printed as given
        self._stack: list[Any] = []  # the expressions being printed, outermost first

    def _print(self, expr: Any, **kwargs: Any) -> str:
        # The stack lets a number know its context (see _print_Symbol).
        self._stack.append(expr)
        try:
            renamed = _RENAMED.get()
            if isinstance(expr, Function) and type(expr) in renamed and not isinstance(expr, sympy.Heaviside):
                head = renamed[type(expr)]
                if head is None and type(expr) in DEFINITIONS:  # written out: 1/(1 + e^{-z})
                    text = self._print(DEFINITIONS[type(expr)](*expr.args))
                    exp = kwargs.get("exp")
                    return text if exp is None else r"\left(%s\right)^{%s}" % (text, exp)
                if head is not None:
                    return self._renamed(expr, head, kwargs.get("exp"))
            return super()._print(expr, **kwargs)
        finally:
            self._stack.pop()

    def _renamed(self, expr: Expr, head: str, exp: Any = None) -> str:
        """A renamed function applied: head(z), or with a leading parameter as a subscript as
        symgrad writes it (LeakyReLU_{α}(z), softmax_{i}(z_1, ..., z_n))."""
        args = list(expr.args)
        script = ""
        if expr.func.__name__ == "leaky_relu" and len(args) == 2:
            script = self._print(args.pop())
        elif expr.func.__name__ == "softmax" and args:
            script = self._print(args.pop(0))
        if script:
            head = "{%s}_{%s}" % (head, script)
        call = r"%s\left(%s\right)" % (head, ", ".join(self._print(a) for a in args))
        return call if exp is None else r"%s^{%s}" % (call, exp)

    def _print_Symbol(self, expr: Symbol, style: str = "plain") -> str:
        if self._values is not None and expr in self._values:
            value = self._values[expr]
            parent = self._stack[-2] if len(self._stack) > 1 else None
            if isinstance(value, sympy.Basic):  # still linear in an unknown y: (0.07968 - 0.2823 y)
                value = sympy.expand(value).evalf(self._precision)
                text = _Printer(self._names).doprint(value)
                return text if parent is None or not value.is_Add else rf"\left({text}\right)"
            text = format_number(value, self._precision, keep_zeros=expr not in self._given)
            # A negative number stands alone (bare) as the whole expression, a whole function
            # argument or a whole exponent; anywhere else "-" would read as an operator.
            alone = parent is None or isinstance(parent, (Function, Derivative, Subs)) or (
                parent.is_Pow and parent.exp == expr)
            return text if alone or not text.startswith("-") else rf"\left({text}\right)"
        name = self._names.get(expr)
        return name if name is not None else variable_latex(expr.name)

    def _hprint_Function(self, func: str) -> str:
        # An unspecified function g(z), phi(z): its name letter for letter, as for a variable.
        if func in accepted_latex_functions:
            return super()._hprint_Function(func)
        return variable_latex(func, r"\operatorname")

    def _as_ordered_terms(self, expr: Any, order: Any = None) -> list[Expr]:
        terms = super()._as_ordered_terms(expr, order=order)
        # Positive terms first (stable): ŷ − y rather than −y + ŷ.  All negative stays as is.
        return sorted(terms, key=lambda t: bool(t.could_extract_minus_sign()))

    def _print_Mul(self, expr: Expr) -> str:
        if expr.could_extract_minus_sign():
            return "- " + self.parenthesize(-expr, PRECEDENCE["Mul"], strict=True)
        numer, denom = fraction(expr, exact=True)
        if denom == 1:
            return self._product(expr)
        return r"\frac{%s}{%s}" % (self._product(numer), self._product(denom))

    def _product(self, expr: Expr) -> str:
        """Factors in textbook order: the coefficient, plain factors, then parenthesised groups."""
        if not expr.is_Mul:
            return self._print(expr)  # a whole numerator or denominator needs no brackets
        factors = expr.as_ordered_factors()
        grouped = set().union(*(f.free_symbols for f in factors if self._grouped(f)))
        # a logarithm last, as in (1 - y) log(1 - ŷ): "log(1 - ŷ) (1 - y)" reads as log of both;
        # a plain factor next to the group that holds it: x f (1 - f), not f x (1 - f) (f of x)
        factors.sort(key=lambda f: 0 if f.is_Number else 3 if isinstance(f, sympy.log)
                     else 2 if self._grouped(f) else 1.5 if f.free_symbols & grouped else 1)
        tex = ""
        for i, factor in enumerate(factors):
            term = self._print(factor)
            if self._needs_mul_brackets(factor, first=i == 0, last=i == len(factors) - 1):
                term = r"\left(%s\right)" % term
            if i:
                # A factor that shows a number gets a \cdot before it, so that numbers never run
                # together ("0.5 0.75") or onto a name ("W 0.5"); "2 y", "a (1 - a)" keep a space.
                tex += r" \cdot " if self._shows_number(factor) else " "
            tex += term
        return tex

    def _shows_number(self, factor: Expr) -> bool:
        values = self._values or {}
        return bool(factor.is_Number) or any(s in values for s in factor.free_symbols)

    def _grouped(self, factor: Expr) -> bool:
        """A factor printed in parentheses (a sum, or a power of one)."""
        base = factor.base if factor.is_Pow else factor
        return bool(self._needs_mul_brackets(base, last=True))

    def _prime(self, function: Expr, argument: Expr) -> str:
        return r"%s'\left(%s\right)" % (self._hprint_Function(function.func.__name__),
                                        self._print(argument))

    @staticmethod
    def _is_first_derivative(expr: Expr) -> bool:
        """d/dz g(z) for an unspecified g of one argument z."""
        inner = expr.expr
        return (isinstance(inner, AppliedUndef) and len(inner.args) == 1
                and tuple(expr.variable_count) == ((inner.args[0], 1),))

    def _print_Derivative(self, expr: Derivative) -> str:
        if self._is_first_derivative(expr):
            return self._prime(expr.expr, expr.expr.args[0])
        return super()._print_Derivative(expr)

    def _print_Subs(self, expr: Subs) -> str:
        # g'(value): sympy's form of g'(z) once z is replaced (Subs(d/dξ g(ξ), ξ, value))
        inner, old, new = expr.args
        if (isinstance(inner, Derivative) and len(old) == 1 and self._is_first_derivative(inner)
                and inner.expr.args[0] == old[0]):
            return self._prime(inner.expr, new[0])
        return super()._print_Subs(expr)

    def _print_Heaviside(self, expr: Expr, exp: Any = None) -> str:
        # The step function as textbooks write it; the value at 0 (second argument) is not shown.
        # With numbers in, it is evaluated: H(1.5) is 1 (at 0, its second argument, else 0).
        argument = expr.args[0]
        if self._values is not None and argument.free_symbols <= set(self._values):
            z = float(argument.xreplace({s: sympy.Float(self._values[s]) for s in argument.free_symbols}))
            at_zero = expr.args[1] if len(expr.args) > 1 else sympy.S.Half  # sympy's H(0)
            return "1" if z > 0 else "0" if z < 0 else self._print(at_zero)
        tex = r"%s\left(%s\right)" % (renamed_head(sympy.Heaviside, "H"), self._print(argument))
        return tex if exp is None else r"%s^{%s}" % (tex, exp)

    def _print_sign(self, expr: Expr, exp: Any = None) -> str:
        tex = r"\operatorname{sign}\left(%s\right)" % self._print(expr.args[0])
        return tex if exp is None else r"%s^{%s}" % (tex, exp)


def textbook_latex(expr: Expr, names: Mapping[Symbol, str]) -> str:
    """An expression as a textbook writes it; each Symbol printed as names[symbol] (verbatim LaTeX).

    A symbol missing from `names` prints as sympy would print it.
    """
    return _Printer(names).doprint(sympy.sympify(expr))


def rounded_latex(expr: Expr, names: Mapping[Symbol, str], precision: int = 4) -> str:
    """A value that is still an expression (linear in an unknown y, say) written out as a sum of
    terms, its floats rounded to `precision` significant figures: "0.07006 - 0.2484 y_{1}"."""
    return textbook_latex(sympy.expand(expr).evalf(precision), names)


def substituted_latex(expr: Expr, names: Mapping[Symbol, str], values: Mapping[Symbol, Number],
                      precision: int = 4, given: Collection[Symbol] = ()) -> str:
    """The same expression, laid out the same way, with every symbol that has a value replaced by its number.

    Numbers print with `format_number(value, precision)`.  A negative number is wrapped as
    "\\left(-0.4\\right)" except where it stands alone: the whole expression, a whole function
    argument ("\\sigma\\left(-0.4\\right)") or a whole exponent.  A product factor that shows a
    number is preceded by " \\cdot " ("2 \\cdot \\left(36 - 32\\right)"), so numbers never run
    together; a purely symbolic factor by a space.  The operators are those of the symbolic line,
    so ŷ − y with y = −0.5 prints "0.7514 - \\left(-0.5\\right)".  Symbols without a value keep
    their names.  Computed numbers keep their trailing zeros (0.2400); the symbols in `given` (the
    problem's own data) print their numbers as given (0.15).  A step function H(z) whose argument
    has its numbers prints its value, 1 or 0.
    """
    return _Printer(names, values, precision, given).doprint(sympy.sympify(expr))
