"""One symbol, one meaning: the mathematics a sheet's prose states, held to what its key prints.

An answer key is read as a whole: when question 2.2 says "the softplus activation
σ(z) = log(1 + e^z)" and its working then writes ∂ŷ/∂z₂ = σ(z₂) for the logistic function, the
printed answer is wrong.  So, once the sheet is solved, every `$...$` of its prose is read by the
bounded LaTeX reader (input/mathtext: never eval, sympify or parse_expr) and each statement
`A = B (= C ...)` is compared with the engine's meaning, by the certificate's agreement checker
(calculus/agree.py):

- a function defined, `\\sigma(z) = \\log(1 + e^{z})`: when the key writes that head for one of
  its functions (σ for sigmoid, unless [sheet.symbols] renames it), the definition must agree
  with that function; a head the key does not write may be defined in prose, once;
- a quantity, `h_1 = \\sigma(z_1)`, `\\hat{y} = 0.7514`, `L = \\frac{1}{2} (t - y)^2`: when its
  symbol is one the key prints for the problem the prose belongs to, every later side whose
  names are all the key's must agree with it, as formulas in the problem's leaves or else at the
  problem's numbers (within the digits written);
- a collapsed layer's entry, `w_2' = w_{12} w_{31} + w_{22} w_{32}` or `b'`, in a question that
  shows the collapse; an updated value `w'` elsewhere;
- a statement of numbers alone, `\\sigma(1.5) = 0.8176`.

A statement that holds is left as it is.  One that does not is an error (exit status 2, one line
naming the symbol, both meanings and where each stands), unless it stands in a note marked
`erratum = true`: a note quoting the source's mistakes.  What the reader cannot take in (a
derivative ∂ or σ', a vector, a name the key does not print, an inequality) is not a statement
about the key, and is left alone.  Two quantities of one problem that the key would print alike
(`"a1[1]" = "h"`, `"z1[1]" = "h"`, or a graph's x1 beside x_1) are an error too.

The LaTeX each quantity prints as comes from the output's notation, which this layer may not
import: the caller (the façade) hands it in as `printed`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

import sympy
from sympy import Expr, Symbol
from sympy.core.function import AppliedUndef

from symgrad.analyses.collapse import EquivalentLayer
from symgrad.analyses.sheet import Part, Sheet
from symgrad.calculus import activations as act
from symgrad.calculus.agree import RTOL, agree, evaluate, tree_size
from symgrad.engine.graph import Graph
from symgrad.engine.solution import Solution
from symgrad.errors import ProblemError
from symgrad.input.latexcheck import TOKEN
from symgrad.input.mathtext import Call, Const, MathError, Name, Node, Num, Op, parse_element, plain, walk
from symgrad.input.prose import QUANTITY, VALUE, segments, unicode_math
from symgrad.input.sheetspec import FUNCTION_WORDS, FUNCTIONS, head_key, symbol_key

Printed = Callable[[Solution], Mapping[str, str]]  # a problem's node names → the LaTeX the key prints
SIZE = 4000  # tree nodes of a composed side past which a statement is not compared
POINTS = 6
# The functions prose may write by their usual names, which no sheet renames.
ELEMENTARY: dict[str, Callable[..., Expr]] = {
    "exp": sympy.exp, "log": sympy.log, "sin": sympy.sin, "cos": sympy.cos, "tanh": sympy.tanh,
    "sqrt": sympy.sqrt, "abs": sympy.Abs, "sinh": sympy.sinh, "cosh": sympy.cosh,
    "sech": sympy.sech, "max": sympy.Max, "min": sympy.Min, "identity": lambda u: u,
}
SEPARATORS = {",", ";", "\\quad", "\\qquad", "\\text"}  # between two statements of one formula


@dataclass
class Problem:
    """One solved problem as prose near it reads it: the key's symbols and their quantities."""

    solution: Solution
    where: str  # "question 2.2 (b)"
    names: dict[str, str]  # a symbol's key (mathtext) → the node it prints ("eta" for η)
    collapse: EquivalentLayer | None = None
    unspecified: dict[str, str] = field(default_factory=dict)  # head key → activation name (g)


@dataclass(frozen=True)
class Statement:
    """One `A = B = ...` of a field's mathematics: its sides as written and as read (up to the
    first side the reader cannot read, which ends the chain), and the names of the quantities
    its \\q{...} and \\val{...} print (read as the placeholder PLACEHOLDER_k)."""

    texts: tuple[str, ...]
    nodes: tuple[Node, ...]
    quantities: tuple[str, ...] = ()


PLACEHOLDER = "qquantity"  # \q{NAME} is read as \mathrm{qquantity}_{k}, NAME the k-th quantity


class Clash(Exception):
    """A statement that does not hold: the message, without the file and field."""


def check_meanings(sheet: Sheet, printed: Printed) -> None:
    """Refuse the sheet (ProblemError) where a symbol has two meanings: two quantities of one
    problem printed alike, or prose stating what the key contradicts."""
    read = {text: statements(text) for text in prose(sheet)}
    stated = any(read.values())
    problems: dict[int, Problem] = {}
    for n, q in enumerate(sheet.questions, 1):
        for part in q.parts:
            solution = part.solution
            # default names of a network never collide; a graph's own names, renamings and flat
            # numbering may (and prose needs the table to read its symbols)
            if solution is not None and (stated or solution.spec.network is None
                                         or sheet.notation.symbols or sheet.notation.style == "flat"):
                problems[id(part)] = problem_of(sheet, part, printed, where_of(q.number or str(n), part.label))
    if not stated:
        return
    functions = engine_functions(sheet)
    defined: dict[str, tuple[Expr, str, str]] = {}  # a head only prose defines → (meaning in U, text, field)
    for field_name, text, scope, erratum in prose_fields(sheet, problems):
        for statement in read[text]:
            try:
                check_statement(statement, scope, functions, defined, field_name, sheet)
            except Clash as clash:
                if not erratum:
                    hint = ("; if the note quotes the source's mistake, mark it erratum = true"
                            if field_name.endswith(".note") else "")
                    raise ProblemError(sheet.source, field_name, f"{clash}{hint}") from None


def prose(sheet: Sheet) -> list[str]:
    """Every piece of prose on the sheet."""
    out = [sheet.title, sheet.author]
    for q in sheet.questions:
        out += [q.text, q.note, *(t for p in q.parts for t in (p.text, p.remark, p.note))]
    return out


def where_of(number: str, label: str) -> str:
    return f"question {number}" + (f" ({label})" if label else "")


# ---------------------------------------------------------------------------------------------
# The key's symbols


def problem_of(sheet: Sheet, part: Part, printed: Printed, where: str) -> Problem:
    """The key's symbols of one part's problem; two quantities printed alike are an error."""
    solution = part.solution
    assert solution is not None
    names: dict[str, str] = {}
    tex_of = dict(printed(solution))
    if solution.graph.learning_rate is not None:
        tex_of["eta"] = sheet.notation.eta
    for node, tex in tex_of.items():
        key = symbol_key(tex)
        other = names.setdefault(key, node)
        if other != node:
            renamed = [n for n in (other, node) if n in sheet.notation.symbols
                       or n.split("[")[0] in sheet.notation.symbols]
            field_name = "sheet.symbols" if renamed else (solution.spec.at or "graph")
            raise ProblemError(sheet.source, field_name,
                               f"{other} and {node} would both print as {tex} in {where}: one "
                               "symbol, one meaning (give one of them another symbol)")
    network = solution.spec.network
    unspecified = {}
    for layer in network.layers if network is not None else ():
        name = getattr(layer, "activation", "")
        if name and name not in act.ACTIVATIONS and name != "identity":
            unspecified[name] = name  # printed letter for letter: g, phi (\phi)
    return Problem(solution, where, names, part.collapse, unspecified)


def engine_functions(sheet: Sheet) -> dict[str, tuple[type, str]]:
    """Each head the key writes a function with (after renamings) → (its class, its name)."""
    out = {}
    for name, tex in sheet.notation.functions.items():
        key = head_key(tex)
        if key is not None:
            out[key] = (FUNCTIONS[name][0], name)
    return out


def prose_fields(sheet: Sheet, problems: dict[int, Problem]) -> list[tuple[str, str, list[Problem], bool]]:
    """(field, prose, the problems it speaks of, whether it is an erratum note), for every piece
    of prose: a part's own problem (else its question's); the question's problem (the one its
    parts share, else each of its parts'); every problem of the sheet."""
    every = list(problems.values())
    out = [("title", sheet.title, every, False), ("author", sheet.author, every, False)]
    for n, q in enumerate(sheet.questions, 1):
        own = [problems[id(p)] for p in q.parts if id(p) in problems]
        shared = [p for p in own if ".part[" not in p.solution.spec.at]  # not a part's own network
        own = shared or own
        out += [(f"question[{n}].text", q.text, own, False), (f"question[{n}].note", q.note, own, q.erratum)]
        for k, p in enumerate(q.parts, 1):
            scope = [problems[id(p)]] if id(p) in problems else own
            at = f"question[{n}].part[{k}]"
            if p.verdict is None:  # a part with `verify` states its claim to prove or refute
                out.append((f"{at}.text", p.text, scope, False))
            out += [(f"{at}.remark", p.remark, scope, False), (f"{at}.note", p.note, scope, p.erratum)]
    return [f for f in out if "$" in f[1]]


# ---------------------------------------------------------------------------------------------
# Reading the statements


def statements(text: str) -> list[Statement]:
    """Every `A = B = ...` in the `$...$` of checked prose, cut at top-level separators (a comma,
    \\quad, \\text{and}) into single statements."""
    out = []
    for is_math, piece in segments(text):
        if not is_math:
            continue
        math = VALUE.sub(r"\\q{\1}", piece)  # its number: the quantity itself, at the problem's numbers
        for chunk in chunks(unicode_math(math)):
            sides = split_top(chunk, "=")
            if len(sides) < 2:
                continue
            names: list[str] = []

            def placeholder(m: re.Match[str]) -> str:
                names.append(m[1].replace(" ", ""))
                return "\\mathrm{%s}_{%d}" % (PLACEHOLDER, len(names) - 1)

            nodes: list[Node] = []
            for side in sides:
                try:
                    nodes.append(parse_element(QUANTITY.sub(placeholder, side)))
                except (MathError, RecursionError):
                    break
            if len(nodes) >= 2:
                texts = tuple(" ".join(s.split()) for s in sides[:len(nodes)])
                out.append(Statement(texts, tuple(nodes), tuple(names)))
    return out


def chunks(math: str) -> list[str]:
    """The mathematics cut at separators outside any brackets: `h_1 = a, h_2 = b` is two."""
    out, current, depth = [], [], 0
    tokens = TOKEN.findall(math)
    i = 0
    while i < len(tokens):
        t = tokens[i]
        depth += 1 if t in ("{", "(", "[", "\\left") else -1 if t in ("}", ")", "]", "\\right") else 0
        if depth == 0 and t in SEPARATORS:
            out.append("".join(current))
            current = []
            if t == "\\text" and i + 1 < len(tokens) and tokens[i + 1] == "{":
                while i < len(tokens) and tokens[i] != "}":  # \text{and}: words, not mathematics
                    i += 1
            i += 1
            continue
        current.append(t)
        i += 1
    out.append("".join(current))
    return [c for c in out if c.strip()]


def split_top(math: str, at: str) -> list[str]:
    """`math` split at `at` outside braces and brackets."""
    out, current, depth = [], [], 0
    for t in TOKEN.findall(math):
        depth += 1 if t in ("{", "(", "[") else -1 if t in ("}", ")", "]") else 0
        if t == at and depth == 0:
            out.append("".join(current))
            current = []
        else:
            current.append(t)
    out.append("".join(current))
    return out


# ---------------------------------------------------------------------------------------------
# Comparing


U = Symbol("u", real=True)  # a function definition's variable


def check_statement(statement: Statement, scope: list[Problem], functions: dict[str, tuple[type, str]],
                    defined: dict[str, tuple[Expr, str, str]], field_name: str, sheet: Sheet) -> None:
    first = statement.nodes[0]
    if (isinstance(first, Call) and first.derivative == 0 and len(first.args) == 1
            and isinstance(first.args[0], Name) and is_variable(first.args[0])):
        function_definition(statement, functions, defined, field_name, sheet)
        return
    if not any(isinstance(n, Name) for node in statement.nodes for n in walk(node)):
        closed_statement(statement, functions)  # numbers alone: σ(1.5) = 0.8176
        return
    for problem in scope:
        quantity_statement(statement, problem, functions, sheet)


def closed_statement(statement: Statement, functions: dict[str, tuple[type, str]]) -> None:
    nothing: Callable[[Name], Expr | None] = lambda n: None  # noqa: E731
    first = to_sympy(statement.nodes[0], nothing, functions)
    if first is None:
        return
    for text, node in zip(statement.texts[1:], statement.nodes[1:]):
        side = to_sympy(node, nothing, functions)
        if side is None:
            continue
        found = disagrees(first, side, tolerance(statement.nodes[0], node))
        if found is not None:
            lhs = statement.texts[0]
            raise Clash(f"{lhs} = {text} is false: {lhs} is {short(found[0])} with the key's "
                        f"functions, not {short(found[1])}")


def tolerance(*sides: Node) -> float:
    """The rounding the written numbers allow: half a unit in the last digit of a side that is a
    number (0.7514), and for a side with rounded numbers in it (0.5933 \\cdot 0.4: three or more
    significant figures) the relative half units added up.  Short numbers (1.5, 0.15) are exact."""
    total = 0.0
    for side in sides:
        bare = side.args[0] if isinstance(side, Op) and side.op == "neg" else side
        if isinstance(bare, Num):
            total += 0.0 if bare.exact else bare.half_unit
            continue
        total += sum(n.half_unit / abs(n.value) for n in numbers(side)
                     if not n.exact and n.value and len(n.digits) >= 3)
    return total


def is_variable(name: Name) -> bool:
    """A function's variable: one plain letter, z or x (not z_1, not a primed or barred name)."""
    base, sub, sup = name.key.split("|")
    return len(base) == 1 and not sub and not sup and not name.bar and not name.updated


def function_definition(statement: Statement, functions: dict[str, tuple[type, str]],
                        defined: dict[str, tuple[Expr, str, str]], field_name: str, sheet: Sheet) -> None:
    """`F(z) = ...`: the key's function F, or F as prose defined it first."""
    first = statement.nodes[0]
    assert isinstance(first, Call) and isinstance(first.args[0], Name)
    head = first.text.lstrip("\\")
    variable = first.args[0].key
    sides = [(text, to_sympy(node, lambda n: U if n.key == variable else None, functions))
             for text, node in zip(statement.texts[1:], statement.nodes[1:])]
    shown = f"{statement.texts[0]} = {statement.texts[1]}"
    if head in functions:
        cls, name = functions[head]
        meaning = cls(U, sympy.Rational(1, 100)) if name == "leaky_relu" else cls(U)
        if name == "softmax":
            return
        for text, side in sides:
            if side is not None and disagrees(meaning, side, 0.0) is not None:
                raise Clash(f"{symbol_text(first.text)} stands for two things: {text} here "
                            f"({statement.texts[0]} = {text}), and {FUNCTION_WORDS[name]} "
                            f"({name}) {used_where(sheet, cls)}; rename it in [sheet.symbols] (such as "
                            f'{name} = "\\operatorname{{{"logistic" if name == "sigmoid" else name}}}") '
                            "or write the function another way here")
        return
    for text, side in sides:
        if side is None:
            continue
        if head not in defined:
            defined[head] = (side, text, field_name)
        elif disagrees(defined[head][0], side, 0.0) is not None:
            _, earlier_text, earlier_field = defined[head]
            raise Clash(f"{symbol_text(first.text)} stands for two things: {text} here ({shown}), and "
                        f"{earlier_text} in {earlier_field}")


def used_where(sheet: Sheet, cls: type) -> str:
    """Where the key writes a function: the first part whose working or proof holds it."""
    for n, q in enumerate(sheet.questions, 1):
        for part in q.parts:
            graph = part.solution.graph if part.solution is not None else None
            exprs = [e for node in graph.nodes for e in (node.expr, *node.partials.values())
                     if e is not None] if graph is not None else []
            if part.verdict is not None:
                exprs += [part.verdict.lhs, part.verdict.rhs]
            if any(isinstance(e, sympy.Basic) and e.has(cls) for e in exprs):
                return f"where the key writes it, in {where_of(q.number or str(n), part.label)}"
    return "in the key's notation"


def symbol_text(head: str) -> str:
    """A function's head as a message shows it: \\sigma (σ)."""
    greek = {"\\sigma": "σ", "\\phi": "φ", "\\varphi": "φ", "\\psi": "ψ"}
    return f"{head} ({greek[head]})" if head in greek else head


def quantity_statement(statement: Statement, problem: Problem, functions: dict[str, tuple[type, str]],
                       sheet: Sheet) -> None:
    """`A = B = ...` in one problem: B (and C ...) agree with A wherever all their names are the
    key's.  Nothing is said when A itself is not the key's."""
    graph = problem.solution.graph
    resolve = lambda n: quantity(n, problem, statement.quantities)  # noqa: E731
    heads = {**functions, **{k: (sympy.Function(v), v) for k, v in problem.unspecified.items()}}
    first = to_sympy(statement.nodes[0], resolve, heads)
    if first is None:
        return
    for text, node in zip(statement.texts[1:], statement.nodes[1:]):
        side = to_sympy(node, resolve, heads)
        if side is None:
            continue
        found = compare(graph, first, side, tolerance(statement.nodes[0], node))
        if found is None:
            continue
        lhs = statement.texts[0]
        meaning = described(statement.nodes[0], first, problem)
        a, b, at_numbers = found
        differ = (f"at the problem's numbers {short(a)}, not {short(b)}" if at_numbers
                  else f"another formula (at a random point {short(a)}, not {short(b)})")
        raise Clash(f"{lhs} = {text} is false in {problem.where}: {lhs} is {meaning} in the key, "
                    f"{differ}")


def described(node: Node, expr: Expr, problem: Problem) -> str:
    """What a side means in the key, for a message: the node and its definition."""
    if isinstance(node, Name) and isinstance(expr, Symbol) and expr.name in problem.solution.graph.by_name:
        defined = problem.solution.graph.node(expr.name).expr
        return expr.name + (f" = {defined}" if defined is not None and len(str(defined)) < 80 else "")
    text = str(expr)
    return text if len(text) < 80 else plain(node)


def short(value: float) -> str:
    return f"{value:.6g}"


def numbers(node: Node) -> list[Num]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, Num):
            out.append(n)
        elif isinstance(n, (Call, Op)):
            stack.extend(n.args)
    return out


def quantity(name: Name, problem: Problem, quantities: tuple[str, ...] = ()) -> Expr | None:
    """The key's meaning of a symbol in one problem: a node's symbol, η's value, a collapsed
    layer's entry (w_2', b'), an updated value (w'); None when the key prints no such symbol.
    A \\q{NAME} (the placeholder) is the quantity NAME."""
    if name.bar:
        return None
    graph = problem.solution.graph
    base, sub, _ = name.key.split("|")
    if base == PLACEHOLDER:
        node = quantities[int(sub)] if sub.isdigit() and int(sub) < len(quantities) else ""
        if name.updated or (node not in graph.by_name and node != "eta"):
            return None  # a family (\\q{W1}) is a matrix, not one quantity
    elif name.updated:
        return updated(name, problem)
    else:
        node = problem.names.get(name.key)
    if node is None:
        return None
    if node == "eta":
        rate = graph.learning_rate
        return number(rate) if rate is not None else None
    return graph.node(node).symbol


def updated(name: Name, problem: Problem) -> Expr | None:
    base, sub, sup = name.key.split("|")
    layer = problem.collapse
    if layer is not None and base in ("w", "b") and not sup:
        rows, cols = layer.weights.shape
        if base == "b":
            k = int(sub) if sub.isdigit() else 1 if not sub and rows == 1 else 0
            return layer.biases[k - 1] if 1 <= k <= rows else None
        if rows == 1 and sub.isdigit() and 1 <= int(sub) <= cols:
            return layer.weights[0, int(sub) - 1]
        if len(sub) == 2 and sub.isdigit() and 1 <= int(sub[0]) <= rows and 1 <= int(sub[1]) <= cols:
            return layer.weights[int(sub[0]) - 1, int(sub[1]) - 1]
        return None
    node = problem.names.get(name.key)
    new = problem.solution.updated.get(node or "")
    return number(new) if isinstance(new, (int, float)) else None


def number(value: float | int) -> Expr:
    return sympy.Integer(value) if isinstance(value, int) else sympy.Float(value)


def to_sympy(node: Node, resolve: Callable[[Name], Expr | None],
             functions: Mapping[str, tuple[object, str]]) -> Expr | None:
    """A side read by mathtext as a sympy expression, built node by node (nothing is parsed from
    text), or None when it holds anything this check does not know."""
    if isinstance(node, Num):
        value = Fraction(node.text)
        return sympy.Rational(value.numerator, value.denominator)
    if isinstance(node, Const):
        return sympy.E if node.name == "e" else sympy.pi if node.name == "pi" else None
    if isinstance(node, Name):
        return resolve(node)
    if isinstance(node, Call):
        if node.derivative:
            return None
        args = [to_sympy(a, resolve, functions) for a in node.args]
        if any(a is None for a in args):
            return None
        head = node.text.lstrip("\\")
        if head in functions and node.function != "exp":  # e^{z} is exp, whatever else is renamed
            cls, name = functions[head]
            if name == "leaky_relu":
                return cls(args[0], sympy.Rational(1, 100)) if len(args) == 1 else cls(*args) if len(args) == 2 else None
            if name == "softmax" or len(args) != 1:
                return None
            return cls(args[0])  # type: ignore[operator]
        if node.function in ELEMENTARY and not node.function.startswith("?"):
            try:
                return ELEMENTARY[node.function](*args)
            except (TypeError, ValueError):
                return None
        return None
    if isinstance(node, Op):
        args = [to_sympy(a, resolve, functions) for a in node.args]
        if any(a is None for a in args):
            return None
        if node.op == "+":
            return sympy.Add(*args)
        if node.op == "*":
            return sympy.Mul(*args)
        if node.op == "neg":
            return -args[0]
        if node.op == "/" and len(args) == 2:
            return args[0] / args[1]
        if node.op == "^" and len(args) == 2:
            return args[0] ** args[1]
    return None


def compare(graph: Graph, first: Expr, side: Expr, tolerance: float) -> tuple[float, float, bool] | None:
    """None when `side` means what `first` means (as formulas in the leaves, or at the problem's
    numbers within `tolerance`), else the two values where they part, and whether those are
    the problem's own numbers (no leaf left free)."""
    a, b = composed(graph, first), composed(graph, side)
    if a is None or b is None:
        return None
    if disagrees(a, b, 0.0) is None:
        return None
    known = {s: sympy.Float(v) for s, v in graph.values.items() if isinstance(v, (int, float))}
    a, b = a.xreplace(known), b.xreplace(known)
    found = disagrees(a, b, tolerance)
    return None if found is None else (*found, not (a.free_symbols | b.free_symbols))


def composed(graph: Graph, expr: Expr) -> Expr | None:
    """`expr` with every node written out down to the leaves, each unspecified function g given
    a stand-in of its own (so that g and another are told apart); None past SIZE."""
    needed = set(expr.free_symbols)
    for node in reversed(graph.nodes):
        if node.expr is not None and node.symbol in needed:
            needed |= node.expr.free_symbols
    done: dict[Symbol, Expr] = {}
    for node in graph.nodes:
        if node.expr is not None and node.symbol in needed:
            done[node.symbol] = node.expr.xreplace(done)
            if tree_size(done[node.symbol], SIZE) >= SIZE:
                return None
    out = expr.xreplace(done)
    return stand_ins(out) if tree_size(out, SIZE) < SIZE else None


def stand_ins(expr: Expr) -> Expr:
    if not expr.has(AppliedUndef):
        return expr
    names = sorted({type(e).__name__ for e in expr.atoms(AppliedUndef)})
    shift = {name: k for k, name in enumerate(names, 1)}
    return expr.replace(lambda e: isinstance(e, AppliedUndef),
                        lambda e: sympy.sin(e.args[0] + shift[type(e).__name__]) + e.args[0] ** 3 / 3)


def disagrees(a: Expr, b: Expr, tolerance: float) -> tuple[float, float] | None:
    """The agreement checker's verdict: None when a and b agree (relative 1e-8, or `tolerance`
    for numbers written rounded: absolute between two numbers, else relative) at the points where
    both have a value, else the two values at the first point where they part.  No point with
    values on both sides: nothing is said."""
    a, b = stand_ins(a), stand_ins(b)
    if tolerance and not (a.free_symbols | b.free_symbols):  # two numbers: |a - b| <= tolerance
        x, y = evaluate(a, {}), evaluate(b, {})
        tolerance = tolerance / (1 + abs(x) + abs(y)) if math.isfinite(x) and math.isfinite(y) else 0.0
    found = agree(a, b, points=POINTS, rtol=max(RTOL, tolerance))
    if found.agrees or found.values is None:
        return None
    x, y = found.values
    if not (math.isfinite(x) and math.isfinite(y)):
        return None
    return x, y
