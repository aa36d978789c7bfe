"""One solved problem printed in the sheet's notation and at its precision: rows of working
(lhs = textbook form = numbers = value) and chain-rule products kept in the order the chain rule
writes them, as strings for the templates.

Numbers follow one rule: the problem's own data (weights, inputs, targets, η) print as given
(0.15); every computed number shows the stated precision, trailing zeros kept (0.2400).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Union

import sympy
from sympy import Expr, Integer, Symbol

from symgrad.output.latex import format_number, rounded_latex, substituted_latex, textbook_latex
from symgrad.output.notation import latex_names, symbol_names

if TYPE_CHECKING:
    from symgrad.analyses.sheet import Sheet
    from symgrad.engine.solution import Solution

LINE_LENGTH = 110  # characters of LaTeX past which a sum is set a term per line
DISPLAY_WIDTH = 62  # characters (as `visible` counts them) that a display line holds
STEP_WIDTH = 46  # characters of one line of a step, after the left side's column
FIT_WIDTH = 54  # a step this wide stays on one line (wider ones run off the page beside a left side)


@dataclass(frozen=True)
class Chain:
    """A sum of products of chain-rule factors, each product in the order the chain rule writes
    it (∂L/∂ŷ · ∂ŷ/∂z · ∂z/∂w), not sympy's; a factor may itself be a Chain (Σ_k δ_k W_kj)."""

    terms: tuple[tuple[Union[Expr, "Chain"], ...], ...]

    @staticmethod
    def product(factors: list[Union[Expr, "Chain"]]) -> "Chain":
        """One product; a factor 1 is left out, a one-term Chain factor is spliced in."""
        out: list[Expr | Chain] = []
        for f in factors:
            if isinstance(f, Chain) and len(f.terms) == 1:
                out += f.terms[0]
            elif not (isinstance(f, Expr) and f == 1):
                out.append(f)
        return Chain((tuple(out),))

    def expr(self) -> Expr:
        """The same as one sympy expression (sympy's order)."""
        return sympy.Add(*(sympy.Mul(*(f.expr() if isinstance(f, Chain) else f for f in t))
                           for t in self.terms))


class PartPrinter:
    """Prints one solved problem in the sheet's notation, at the sheet's precision."""

    def __init__(self, solution: Solution, sheet: Sheet) -> None:
        self.solution = solution
        self.precision = sheet.precision
        self.eta = sheet.notation.eta
        graph = solution.graph
        # a graph's names are the file's own: the sheet's renamings are for network names
        self.notation = sheet.notation if solution.spec.network else replace(sheet.notation, symbols={})
        self.names = latex_names([n.name for n in graph.nodes], self.notation)
        self.given = {s for s, v in graph.values.items() if isinstance(v, (int, float))}
        self.values: dict[Symbol, int | float] = {s: graph.values[s] for s in self.given}  # type: ignore[misc]
        for name, v in [*solution.values.items(), *solution.adjoint_values.items()]:
            # a number, or an expression with numbers in it (linear in an unknown target)
            if isinstance(v, (int, float)) or (isinstance(v, sympy.Basic) and v.has(sympy.Float)):
                self.values[Symbol(name, real=True)] = v
        self.adjoints: dict[Symbol, str] = {}  # an adjoint symbol written otherwise (δ)

    def symbols(self, expr: Expr) -> dict[Symbol, str]:
        """The LaTeX of each symbol of `expr`, and of the symbols in their values (an unknown y)."""
        inner = {s for v in (self.values.get(s) for s in expr.free_symbols)
                 if isinstance(v, sympy.Basic) for s in v.free_symbols}
        out = symbol_names(expr.free_symbols | inner, self.names)
        out.update({s: t for s, t in self.adjoints.items() if s in out})
        return out

    def tex(self, expr: Expr) -> str:
        return textbook_latex(expr, self.symbols(expr))

    def numbers(self, expr: Expr) -> str | None:
        """`expr` with its numbers in (an unknown keeps its name), or None when no symbol has a
        value (nothing to add)."""
        if not expr.free_symbols & self.values.keys():
            return None
        return substituted_latex(expr, self.symbols(expr), self.values, self.precision, self.given)

    def value(self, v: Any, given: bool = False, digits: int | None = None) -> str:
        """A value: as given (the problem's own data), or at the stated precision with its zeros."""
        if isinstance(v, (int, float)):
            return format_number(v, digits or self.precision, keep_zeros=not given)
        return rounded_latex(v, self.symbols(v), self.precision)  # linear in an unknown y, say

    def value_of(self, expr: Expr, v: Any) -> str:
        """The value of `expr`, printed as given when `expr` is a given symbol or a constant."""
        return self.value(v, given=expr in self.given or bool(expr.is_Number))

    def partial(self, of: str, wrt: str, slash: bool = False) -> str:
        """∂of/∂wrt as a fraction, or with `slash` on one line: ∂L/∂w."""
        form = r"\partial %s / \partial %s" if slash else r"\frac{\partial %s}{\partial %s}"
        return form % (self.names[of], self.names[wrt])

    def equation(self, key: str, lhs: str, expr: Expr, value: Any, box: bool = False) -> dict[str, Any]:
        """lhs = textbook form = numbers substituted = value, without repeating a step.

        Each step is a list of lines: a long sum (several chain-rule paths) gets a line a term.
        """
        steps = [self.lines(expr, self.tex)]
        if self.numbers(expr) is not None:
            steps.append(self.lines(expr, lambda e: self.numbers(e) or self.tex(e)))
        result = None
        if isinstance(value, (int, float)) or (
            isinstance(value, sympy.Basic) and value.has(sympy.Float)
        ):
            result = self.value_of(expr, value)
        elif isinstance(value, sympy.Basic) and value != expr:
            # a symbolic value worth a line of its own (b' = w31 b1 + ... at x = 0); a whole
            # composed network written out would only bury the working
            written = self.tex(value)
            if len(written) < LINE_LENGTH:
                steps.append([written])
        return row(key, lhs, steps, result, box)

    def chain(self, chain: Chain, numbers: bool = False) -> list[str] | None:
        """A chain-rule sum of products in its own order, as lines (one a term when it is long);
        with `numbers`, the numbers in (None when a symbol has no value).  Factors that are sums
        are bracketed, and a factor showing a number or a bracket is set off by \\cdot, so that
        "f x (1 - f)" never reads as f(x)."""
        texts = []
        for term in chain.terms:
            text = self.product(term, numbers)
            if text is None:
                return None
            texts.append(text)
        whole = texts[0] + "".join(joined(t) for t in texts[1:])
        if len(texts) == 1:  # one product: its bracketed sum over lines of its own when too wide
            return (visible(whole) > DISPLAY_WIDTH and self.broken(chain.terms[0], numbers)) or texts
        if len(whole) < LINE_LENGTH and visible(whole) <= FIT_WIDTH:
            return [whole]
        return packed(texts)

    def broken(self, term: tuple[Expr | Chain, ...], numbers: bool) -> list[str] | None:
        r"""A product with a bracketed sum too long for a line (Σ_k δ_k W_kj, or a pooled
        value's routes, times g'(z)), the sum's terms over lines between \Bigl( and \Bigr);
        None when it has no such sum."""
        at = next((k for k, f in enumerate(term) if isinstance(f, Chain) and len(f.terms) > 1), None)
        if at is None:
            return None
        inner = term[at]
        assert isinstance(inner, Chain)
        texts = [self.product(t, numbers) for t in inner.terms]
        before = self.product(term[:at], numbers) if at else None
        after = self.product(term[at + 1:], numbers) if at + 1 < len(term) else None
        if any(t is None for t in texts) or (at and before is None) or (after is None and at + 1 < len(term)):
            return None
        lines = packed(texts)  # type: ignore[arg-type]
        lines[0] = (f"{before} \\cdot " if before else "") + r"\Bigl(" + lines[0]
        close = r"\Bigr)" + (f" \\cdot {after}" if after else "")
        if visible(lines[-1] + close) <= DISPLAY_WIDTH:
            lines[-1] += close
        else:  # the factor after the bracket on a line of its own
            lines.append(close)
        return lines

    def product(self, term: tuple[Expr | Chain, ...], numbers: bool) -> str | None:
        factors = list(term) or [Integer(1)]
        shown: list[tuple[str, bool]] = []
        for f in factors:
            if isinstance(f, Chain):
                inner = self.chain(f, numbers)
                if inner is None:
                    return None
                text = " ".join(inner)
                shown.append((r"\left(%s\right)" % text if len(f.terms) > 1 else text, False))
                continue
            text = (numbers and self.numbers(f)) or self.tex(f)
            value = self.values.get(f) if numbers else None  # a δ still linear in y is a sum
            summed = f.is_Add or isinstance(value, sympy.Basic) and sympy.expand(value).is_Add
            if len(factors) > 1 and (summed or text.startswith("-") and shown):
                text = r"\left(%s\right)" % text
            shown.append((text, bool(f.is_Symbol) and not numbers))
        tex = shown[0][0]
        for (_, before), (text, atom) in zip(shown, shown[1:]):
            tex += (" " if before and atom else r" \cdot ") + text
        return tex

    @staticmethod
    def lines(expr: Expr, show: Any) -> list[str]:
        whole: str = show(expr)
        if not expr.is_Add or (len(whole) < LINE_LENGTH and visible(whole) <= FIT_WIDTH):
            return [whole]
        terms = sorted(expr.as_ordered_terms(), key=lambda t: t.could_extract_minus_sign())
        return packed([show(t) for t in terms])


def packed(texts: list[str], width: float = STEP_WIDTH) -> list[str]:
    """The terms of a long sum, as many to a line as fit in `width` (a long one alone), the lines
    made as even as their number allows (no last line of one short term)."""
    out = greedy(texts, width)
    narrower = width - 2
    while narrower > width / 2 and len(even := greedy(texts, narrower)) == len(out):
        out, narrower = even, narrower - 2
    return out


def greedy(texts: list[str], width: float) -> list[str]:
    out = [texts[0]]
    for text in texts[1:]:
        more = joined(text)
        if visible(out[-1] + more) <= width and len(out[-1] + more) < LINE_LENGTH:
            out[-1] += more
        else:
            out.append(more.lstrip())
    return out


def joined(term: str) -> str:
    """A term after the first of a sum: " - x" for a negative one, else " + x"."""
    return f" - {term[1:].lstrip()}" if term.startswith("-") else f" + {term}"


MACRO = re.compile(r"\\([A-Za-z]+)\s*")


def visible(tex: str) -> float:
    """About how many characters wide `tex` prints in a display: a fraction as its wider line,
    scripts smaller, \\left( and \\cdot as one character.  Good enough to choose a layout."""
    width, i = 0.0, 0
    while i < len(tex):
        if tex.startswith(r"\begin{pmatrix}", i):  # a matrix: as wide as its widest row
            end = tex.find(r"\end{pmatrix}", i)
            end = len(tex) if end < 0 else end
            body = tex[i + len(r"\begin{pmatrix}"):end]
            width += 2 + max(visible(r) for r in body.split(r"\\"))
            i = end + len(r"\end{pmatrix}")
            continue
        m = MACRO.match(tex, i)
        if m and m[1] in ("frac", "dfrac", "tfrac"):
            top, i = group(tex, m.end())
            bottom, i = group(tex, i)
            width += max(visible(top), visible(bottom))
            continue
        if m:
            width += 0 if m[1] in ("left", "right", "boxed", "operatorname", "mathrm", "hat",
                                   "quad") else 1
            i = m.end()
            continue
        c = tex[i]
        if c in "^_":
            script, i = group(tex, i + 1)
            width += 0.7 * visible(script)
            continue
        width += 0 if c in "{} &\\" else 1
        i += 1
    return width


def group(tex: str, i: int) -> tuple[str, int]:
    """The argument at tex[i]: a {group} (without its braces) or one character; and where it ends."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i < len(tex) and tex[i] == "{":
        depth, j = 0, i
        while j < len(tex):
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            j += 1
            if depth == 0:
                break
        return tex[i + 1:j - 1], j
    return tex[i:i + 1], i + 1


def row(key: str, lhs: str, steps: list[list[str]], result: str | None, box: bool = False) -> dict[str, Any]:
    """One equation of working: lhs = step = step = result.  Repeated steps are dropped (∂z/∂b = 1,
    not 1 = 1); with `box`, the final value (or the last step when there is no value) is boxed.
    It is `inline` when it fits on one line."""
    kept: list[list[str]] = []
    for step in steps:
        if step and step not in kept:
            kept.append(step)
    if result is not None and kept and [result] == kept[-1]:
        kept.pop()
    width = visible(" = ".join([lhs, *(" ".join(step) for step in kept), result or ""]))
    inline = width < DISPLAY_WIDTH and all(len(step) == 1 for step in kept)
    # the value on the line of the last step, when it fits: "= (0.5998 - 1) · 0.5998 = -0.4002"
    tail = (not inline and result is not None and bool(kept) and len(kept[-1]) == 1
            and visible(kept[-1][0]) + visible(result) < DISPLAY_WIDTH - 15)
    # the display lines it takes: a block of many may break across pages (derivation.tex.j2)
    lines = 1 if inline else sum(map(len, kept)) + (result is not None and not tail)
    return {"key": key, "lhs": lhs, "steps": kept, "result": result, "box": box,
            "inline": inline, "tail": tail, "width": width, "lines": lines}
