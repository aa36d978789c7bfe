"""Answer keys: the context of strings that a sheet's templates lay out, and the jinja2 environment.

This is the only module that imports jinja2.  The context holds strings and numbers only: all
mathematics comes from `latex.py` (the one module that prints sympy), all prose from the problem
file passes through `escape_tex`, and the templates do no arithmetic.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import replace
from collections.abc import Callable, Mapping
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
import sympy
from sympy import Expr, Symbol

from symgrad.errors import SymgradError
from symgrad.output.context_analyses import collapse_context, matrix_context, proof_context
from symgrad.output.latex import (format_number, rounded_latex, substituted_latex, textbook_latex,
                                  variable_latex)
from symgrad.output.figures import graph_figure, network_figure, plot_figure
from symgrad.analyses.vector import N, U, ExampleSum, VectorGradient
from symgrad.input.names import Partial
from symgrad.input.spec import IDENTIFIER
from symgrad.output.notation import latex_names, symbol_names

if TYPE_CHECKING:
    from symgrad.analyses.dependency import Dependency
    from symgrad.analyses.sheet import Part, Sheet
    from symgrad.engine.solution import Gradient, Solution

TEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "%": r"\%",
    "#": r"\#", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
}  # fmt: skip
# Symbols a course's prose is full of, which pdflatex cannot typeset from Unicode.
UNICODE_MATH = {
    "σ": r"\sigma", "η": r"\eta", "λ": r"\lambda", "δ": r"\delta", "θ": r"\theta",
    "α": r"\alpha", "β": r"\beta", "ϕ": r"\phi", "φ": r"\varphi", "Σ": r"\Sigma", "∂": r"\partial",
    "ŷ": r"\hat{y}", "′": r"'", "−": "-", "²": "^{2}", "³": "^{3}", "ᵀ": "^{T}", "·": r"\cdot",
    "×": r"\times", "→": r"\to", "≈": r"\approx", "≠": r"\neq", "≤": r"\leq", "≥": r"\geq",
    "∈": r"\in", "∞": r"\infty", "⊙": r"\odot", "‖": r"\|",
}  # fmt: skip
LINE_LENGTH = 110  # characters of LaTeX past which a sum is set a term per line
SPECIAL = re.compile("[%s]" % re.escape("".join(TEX_SPECIALS) + "".join(UNICODE_MATH)))


def escape_tex(text: str) -> str:
    """Prose as text: every TeX special character is escaped, so `\\input{...}` stays words.

    Invisible characters are dropped (a NUL, an escape or U+200B is an error or worse to TeX)
    and a leading "[" is braced: prose follows \\part or \\titledquestion{..}, which would take
    "[42]" as their optional argument and lose it.
    """
    def one(m: re.Match[str]) -> str:
        c = m.group()
        return TEX_SPECIALS[c] if c in TEX_SPECIALS else f"${UNICODE_MATH[c]}$"

    text = SPECIAL.sub(one, "".join(map(printable, text.replace("\r\n", "\n"))))
    start = len(text) - len(text.lstrip())
    return text[:start] + "{[}" + text[start + 1:] if text[start:start + 1] == "[" else text


def printable(c: str) -> str:
    """A character as prose may hold it: tabs and odd spaces as a space, line ends as newlines,
    other control, format and unassigned characters as nothing."""
    category = unicodedata.category(c)
    if c in "\n " or c == "\u00a0" or category[0] not in "CZ":
        return c
    if c == "\r" or category in ("Zl", "Zp"):
        return "\n"
    return " " if c == "\t" or category == "Zs" else ""


def template_folder() -> Path:
    """The built-in templates: shipped in the wheel as symgrad.templates, or beside the package."""
    try:  # a namespace package: ask for a file in it, whose folder is the one to load from
        return Path(str(resources.files("symgrad.templates").joinpath("sheet.tex.j2"))).parent
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "templates"


class TemplateLoader(jinja2.FileSystemLoader):
    """The template folders, read as UTF-8 with a one-line complaint naming the file and line,
    and never through a link to a file outside them (a user's folder must not pull /etc/passwd
    into the sheet).  `loaded` lists the files read, to find a runtime error's template."""

    def __init__(self, folders: list[str]) -> None:
        super().__init__(folders)
        self.loaded: set[str] = set()

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        try:
            source, filename, uptodate = super().get_source(environment, template)
        except UnicodeDecodeError:
            filename = next(f for f in (os.path.join(p, *template.split("/")) for p in self.searchpath)
                            if os.path.isfile(f))
            raw = Path(filename).read_bytes()
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as error:  # again, on the whole file: the byte's line
                line = raw[:error.start].count(b"\n") + 1
                raise jinja2.TemplateSyntaxError(
                    f"not UTF-8 text (byte {raw[error.start]:#04x})", line, template, filename
                ) from None
            raise
        real = os.path.realpath(filename)
        if not any(os.path.commonpath([real, os.path.realpath(p)]) == os.path.realpath(p)
                   for p in self.searchpath):
            raise jinja2.TemplateSyntaxError(
                f"links to {real}, outside the template folders", 1, template, filename)
        self.loaded.add(filename)
        return source, filename, uptodate


class Sandbox(ImmutableSandboxedEnvironment):
    """jinja2's sandbox (no attribute starting with _, no mutating a value: a template cannot
    reach Python's os), and no arithmetic that would allocate without bound (10**10**10)."""

    intercepted_binops = frozenset(["*", "**"])
    LARGEST = 10**6  # digits or items of one value

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        numbers = [v for v in (left, right) if isinstance(v, int)]
        sized = [v for v in (left, right) if isinstance(v, (str, list, tuple))]
        if operator == "**" and len(numbers) == 2 and right > 0 and abs(left) > 1:
            too_big = right * abs(left).bit_length() > 3.33 * self.LARGEST
        elif operator == "*" and sized and numbers:
            too_big = len(sized[0]) * numbers[0] > self.LARGEST
        else:
            too_big = False
        if too_big:
            raise SecurityError(f"the result of {operator} would be too large")
        return super().call_binop(context, operator, left, right)


def environment(user_templates: str | Path | None = None) -> jinja2.Environment:
    """Delimiters that cannot clash with TeX braces: ((* block *)), ((( variable ))), ((= =))."""
    folders = [str(user_templates)] if user_templates else []
    env = Sandbox(
        loader=TemplateLoader([*folders, str(template_folder())]),
        block_start_string="((*",
        block_end_string="*))",
        variable_start_string="(((",
        variable_end_string=")))",
        comment_start_string="((=",
        comment_end_string="=))",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["escape_tex"] = escape_tex
    env.globals.pop("lipsum", None)  # lorem ipsum on demand: n paragraphs without bound
    return env


def render_sheet(sheet: Sheet, user_templates: str | Path | None = None, key: bool = True) -> str:
    """The answer key, or with `key=False` the question sheet (the same source, no solutions).

    The context is built first, so that any error while the templates run is theirs (often a
    user's template): it is reported as one line naming the template file and line.
    """
    context = {**sheet_context(sheet), "key": key}
    env = environment(user_templates)
    try:
        return env.get_template("sheet.tex.j2").render(context)
    except Exception as error:  # noqa: BLE001 - 1/0, a bad attribute, a recursion: all one line
        raise SymgradError(template_error(error, env.loader.loaded)) from None  # type: ignore[union-attr]


def template_error(error: Exception, loaded: set[str]) -> str:
    """FILE:LINE: template error: WHAT, on one line, for a syntax error or a failure while running."""
    if isinstance(error, jinja2.TemplateSyntaxError):
        where, what = f"{error.filename or error.name}:{error.lineno}", error.message or ""
    else:
        where = "template"
        traceback = error.__traceback__
        while traceback is not None:  # the innermost frame in a template (jinja2 maps its line)
            if traceback.tb_frame.f_code.co_filename in loaded:
                where = f"{traceback.tb_frame.f_code.co_filename}:{traceback.tb_lineno}"
            traceback = traceback.tb_next
        if isinstance(error, jinja2.TemplateNotFound):
            what = f"no template named {error.name!r}"
        elif isinstance(error, jinja2.TemplateError):
            what = str(error)
        else:
            what = f"{type(error).__name__}: {error}"
    what = " ".join(what.split())  # one line, whatever the message holds
    return f"{where}: template error: {what[:300]}"


def sheet_context(sheet: Sheet) -> dict[str, Any]:
    questions = []
    for n, q in enumerate(sheet.questions, 1):
        parts, drawn = [], None
        for part in q.parts:
            context = part_context(part, sheet)
            problem = part.problem
            model = (problem.network, problem.graph, problem.data) if problem else None
            if model is not None and model == drawn:
                context["figure"] = None  # the question's figure is drawn once, with its first part
            drawn = model or drawn
            parts.append(context)
        questions.append({"number": one_line(q.number or str(n)), "text": q.text, "parts": parts})
    return {
        "title": one_line(sheet.title),
        "author": one_line(sheet.author),
        "precision": sheet.precision,
        "eta": sheet.notation.eta,
        "questions": questions,
    }


def one_line(text: str) -> str:
    """A title or a question's number: a blank line would end a TeX argument or paragraph early."""
    return " ".join(text.split())


class PartPrinter:
    """Prints one solved problem in the sheet's notation, at the sheet's precision."""

    def __init__(self, solution: Solution, sheet: Sheet) -> None:
        self.solution = solution
        self.precision = sheet.precision
        self.eta = sheet.notation.eta
        graph = solution.graph
        # a graph's names are the file's own: the sheet's renamings are for network names
        notation = sheet.notation if solution.spec.network else replace(sheet.notation, symbols={})
        self.names = latex_names([n.name for n in graph.nodes], notation)
        self.values: dict[Symbol, int | float] = {
            s: v for s, v in graph.values.items() if isinstance(v, (int, float))
        }
        for name, v in [*solution.values.items(), *solution.adjoint_values.items()]:
            if isinstance(v, (int, float)):
                self.values[Symbol(name, real=True)] = v

    def symbols(self, expr: Expr) -> dict[Symbol, str]:
        return symbol_names(expr.free_symbols, self.names)

    def tex(self, expr: Expr) -> str:
        return textbook_latex(expr, self.symbols(expr))

    def numbers(self, expr: Expr) -> str | None:
        """`expr` with its numbers in, or None when a symbol has no value (nothing to add)."""
        if not expr.free_symbols or not expr.free_symbols <= set(self.values):
            return None
        return substituted_latex(expr, self.symbols(expr), self.values, self.precision)

    def value(self, v: Any) -> str:
        if isinstance(v, (int, float)):
            return format_number(v, self.precision)
        return rounded_latex(v, self.symbols(v), self.precision)  # linear in an unknown y, say

    def partial(self, of: str, wrt: str) -> str:
        return r"\frac{\partial %s}{\partial %s}" % (self.names[of], self.names[wrt])

    def equation(self, key: str, lhs: str, expr: Expr, value: Any) -> dict[str, Any]:
        """lhs = textbook form = numbers substituted = value, without repeating a step.

        Each step is a list of lines: a long sum (several chain-rule paths) gets a line a term.
        """
        steps = [self.lines(expr, self.tex)]
        if self.numbers(expr) is not None:
            numbers = self.lines(expr, lambda e: self.numbers(e) or "")
            if numbers != steps[-1]:
                steps.append(numbers)
        result = None
        if isinstance(value, (int, float)) or (
            isinstance(value, sympy.Basic) and value.has(sympy.Float)
        ):
            result = self.value(value)
        elif isinstance(value, sympy.Basic) and value != expr:
            # a symbolic value worth a line of its own (b' = w31 b1 + ... at x = 0); a whole
            # composed network written out would only bury the working
            written = self.tex(value)
            if len(written) < LINE_LENGTH and [written] != steps[-1]:
                steps.append([written])
        if result is not None and [result] == steps[-1]:
            steps.pop()  # ∂z/∂b = 1, not 1 = 1
        width = sum(len(line) for step in steps for line in step) + len(result or "")
        return {"key": key, "lhs": lhs, "steps": steps, "result": result,
                "inline": width < LINE_LENGTH and all(len(step) == 1 for step in steps)}

    @staticmethod
    def lines(expr: Expr, show: Any) -> list[str]:
        whole: str = show(expr)
        if not expr.is_Add or len(whole) < LINE_LENGTH:
            return [whole]
        terms = sorted(expr.as_ordered_terms(), key=lambda t: t.could_extract_minus_sign())
        out = [show(terms[0])]
        for term in terms[1:]:
            text = show(term)
            out.append(f"- {text[1:].lstrip()}" if text.startswith("-") else f"+ {text}")
        return out


def part_context(part: Part, sheet: Sheet) -> dict[str, Any]:
    context: dict[str, Any] = {
        "label": part.label, "text": part.text, "remark": part.remark,
        "forward": [], "loss": None, "gradients": [], "updates": [],
        "proof": proof_context(part.verdict, part.proof, sheet.precision) if part.verdict else None,
        "figure": None, "given": [], "given_display": False, "asks": [], "plots": [],
        "space": "3cm", "dependency": None, "collapse": None, "matrix": None,
    }
    value = lambda v: format_number(v, sheet.precision)  # noqa: E731
    context["plots"] = [plot_figure(a, operating_points(part, a), value) for a in part.plot]
    if part.verdict is not None:
        context["asks"] = ["a proof or a counterexample"]
    context["vector"] = vector_latex(part.vector, textbook_latex) if part.vector else None
    if context["vector"]:
        context["given"] = [context["vector"]["function"]]
        context["given_display"] = True
        context["asks"] = [f"${context['vector']['lhs']}$ in vector form"]
    solution = part.solution
    if solution is None:
        return context
    p = PartPrinter(solution, sheet)
    graph = solution.graph
    context["given"] = given(p, solution)
    context["given_display"] = any(len(g) > LINE_LENGTH // 2 for g in context["given"])
    context["asks"] = asks(p, part, solution)
    context["figure"] = figure(p, solution)
    for node in graph.nodes:
        if node.expr is None:
            continue
        row = p.equation(node.name, p.names[node.name], node.expr, solution.values[node.name])
        if node.kind == "loss":
            context["loss"] = row if "loss" in part.show else None
        elif "forward" in part.show:
            context["forward"].append(row)
    if "gradients" in part.show:
        context["gradients"] = [gradient_context(p, g) for g in solution.gradients.values()]
    if "update" in part.show and solution.updated:
        eta = graph.learning_rate
        assert eta is not None
        for name, new in solution.updated.items():
            gradient = solution.gradients[str(Partial(graph.output, name))]
            old = graph.values.get(graph.node(name).symbol, graph.node(name).symbol)
            context["updates"].append(update_context(p, name, old, eta, gradient, new))
    if part.dependency is not None:
        context["dependency"] = dependency_context(p, part.dependency)
    if part.collapse is not None:
        context["collapse"] = collapse_context(part.collapse, p.names, graph.values, sheet.precision)
    if part.matrix is not None:
        context["matrix"] = matrix_context(part.matrix, p.names.get("L", "L"), sheet.precision)
    rows = len(context["forward"]) + 2 * len(context["gradients"]) + len(context["updates"])
    context["space"] = f"{min(2 + rows, 16)}cm"  # room to answer on the question sheet
    if "paths" in part.show:
        for g, shown in zip(solution.gradients.values(), context["gradients"]):
            edges = {(f.wrt, f.of) for path in g.derivation.paths or () for f in path}
            shown["figure"] = figure(p, solution, edges)
    return context


def operating_points(part: Part, activation: str) -> list[float]:
    """The points to mark on a plot: the part's `plot_at`, or else the pre-activations of the
    forward pass at the units that use this activation."""
    network = part.solution.spec.network if part.solution else None
    if part.plot_at or network is None:
        return list(part.plot_at)
    values = part.solution.values if part.solution else {}
    return [
        v for l, layer in enumerate(network.layers, 1) if layer.activation == activation
        for k, v in values.items() if k.startswith(f"z{l}[") and isinstance(v, (int, float))
    ]


def dependency_context(p: PartPrinter, d: Dependency) -> dict[str, Any]:
    """Does the derivative change with the variable: yes with the non-zero term, or no."""
    g = p.solution.gradients[d.of].derivation
    of = p.partial(g.top, g.wrt)
    on = p.names[d.on]
    return {
        "question": f"Does ${of}$ depend on ${on}$?",
        "answer": "Yes" if d.depends else "No",
        "through": ", ".join(f"${p.names[s]}$" for s in d.through),
        "equation": r"\frac{\partial}{\partial %s} %s = %s" % (on, of, p.tex(d.derivative)),
    }


def given(p: PartPrinter, solution: Solution) -> list[str]:
    """What the question states: the inputs, targets and rate of a network; a graph's definitions."""
    graph = solution.graph
    out = []
    if solution.spec.graph is not None:
        out += [f"{p.names[n.name]} = {p.tex(n.expr)}" for n in graph.nodes if n.expr is not None]
    for node in graph.nodes:
        v = graph.values.get(node.symbol)
        if node.kind in ("input", "target", "leaf") and isinstance(v, (int, float)):
            out.append(f"{p.names[node.name]} = {p.value(v)}")
    if graph.learning_rate is not None and solution.updated:
        out.append(f"{p.eta} = {p.value(graph.learning_rate)}")
    return out


def asks(p: PartPrinter, part: Part, solution: Solution) -> list[str]:
    """What the part asks for, as the question sheet words it."""
    out = []
    if "forward" in part.show and any(n.kind != "loss" and n.expr is not None for n in solution.graph.nodes):
        out.append("the forward pass")
    if "loss" in part.show and "L" in solution.values:
        out.append(f"the loss ${p.names['L']}$")
    if "gradients" in part.show and solution.gradients:
        out.append(", ".join(f"${p.partial(g.derivation.top, g.derivation.wrt)}$"
                             for g in solution.gradients.values()))
    if "update" in part.show and solution.updated:
        out.append("one step of gradient descent")
    return out


def figure(p: PartPrinter, solution: Solution, highlight: set[tuple[str, str]] = frozenset()) -> dict[str, Any] | None:  # type: ignore[assignment]
    """The network (up to 6 units a layer) or the computation graph, drawn in the sheet's notation."""
    if solution.spec.network is not None:
        layers = solution.spec.network.layers
        if max(l.units for l in layers) > 6 or solution.spec.network.inputs > 6:
            return None
        return network_figure(solution.graph, [l.activation for l in layers], p.names,
                              p.value, highlight)
    return graph_figure(solution.graph, p.names, highlight)


def gradient_context(p: PartPrinter, g: Gradient) -> dict[str, Any]:
    d = g.derivation
    lhs = p.partial(d.top, d.wrt)
    factors: dict[tuple[str, str], dict[str, Any]] = {}
    chain = []
    if d.paths and any(len(path) > 1 for path in d.paths):  # ∂J/∂w = ∂J/∂w says nothing
        chain = [r" \cdot ".join(p.partial(f.of, f.wrt) for f in path) for path in d.paths]
        for path, values in zip(d.paths, g.factor_values or ()):
            for f, v in zip(path, values):
                if (f.of, f.wrt) not in factors:
                    factors[f.of, f.wrt] = p.equation("", p.partial(f.of, f.wrt), f.expr, v)
    heads = []
    for head, form in d.heads:
        value = p.values.get(Symbol(str(Partial(d.top, head)), real=True))
        row = p.equation("", p.partial(d.top, head), form, value)
        heads.append(row)
    result = p.equation(g.key, lhs, d.result, g.value)
    if g.expanded is not None:  # a graph's result in its leaves, before the numbers
        expanded = p.lines(g.expanded, p.tex)
        # a constant gradient (f = 3x) has no steps, only its value: nothing to expand
        if result["steps"] and expanded != result["steps"][0]:
            result["steps"].insert(1, expanded)
    return {
        "key": g.key,
        "lhs": lhs,
        "figure": None,  # with show = ["paths"]: the figure with this partial's paths in red
        "chain": chain,
        "chain_inline": sum(len(path) for path in chain) < 2 * LINE_LENGTH,
        "factors": list(factors.values()),
        "heads": heads,
        "result": result,
        "assumptions": [assumption_tex(a, p.names) for a in d.assumptions],
    }


def assumption_tex(assumption: str, names: Mapping[str, str]) -> str:
    """"y[1] + y[2] = 1" in the sheet's notation."""
    lhs, rhs = assumption.split(" = ")
    terms = [names[t.strip()] for t in lhs.split("+")]
    return " + ".join(terms) + " = " + rhs


def update_context(p: PartPrinter, name: str, old: Any, eta: float, g: Gradient, new: Any) -> dict[str, Any]:
    theta = p.names[name]
    grad = p.value(g.value)
    if isinstance(g.value, (int, float)) and g.value < 0 or not isinstance(g.value, (int, float)):
        grad = r"\left(%s\right)" % grad
    return {
        "key": f"updated {name}",
        "theta": theta,
        "gradient": p.partial(g.derivation.top, name),
        "numbers": "%s - %s \\cdot %s" % (p.value(old), p.value(eta) if eta >= 0 else r"\left(%s\right)" % p.value(eta), grad),
        "result": p.value(new),
    }


def notebook_latex(sheet: Sheet) -> str:
    """What a notebook shows: each partial and update as display math (MathJax, no preamble)."""
    lines = []
    for q in sheet.questions:
        for part in q.parts:
            context = part_context(part, sheet)
            lines += [equation_line(g["result"]) for g in context["gradients"]]
            for u in context["updates"]:
                lines.append(f"{u['theta']} &\\leftarrow {u['numbers']} = {u['result']}")
    return "$$\\begin{aligned}" + r" \\ ".join(lines) + "\\end{aligned}$$"


def equation_line(row: dict[str, Any]) -> str:
    """One equation of a context (lhs, its steps, its result) as a line of an aligned block."""
    steps = [" ".join(step) for step in row["steps"]]
    return " &= ".join([row["lhs"], *steps, *([row["result"]] if row["result"] else [])])


def gradient_latex(sheet: Sheet, key: str) -> str:
    """One partial for a notebook: its chain rule, each factor with its number, and the result,
    as display math (MathJax, no preamble)."""
    lines = []
    for q in sheet.questions:
        for part in q.parts:
            for g in part_context(part, sheet)["gradients"]:
                if g["key"] != key:
                    continue
                if g["chain"]:
                    lines.append(f"{g['lhs']} &= " + " + ".join(g["chain"]))
                lines += [equation_line(f) for f in g["factors"] + g["heads"]]
                lines.append(equation_line(g["result"]))
    return "$$\\begin{aligned}" + r" \\ ".join(lines) + "\\end{aligned}$$"


def vector_latex(g: VectorGradient, printer: Callable[[Expr, dict[Symbol, str]], str]) -> dict[str, str]:
    """F and ∇_w F as a textbook writes them: x σ(wᵀx)(1 − σ(wᵀx)), Σᵢ (wᵀx⁽ⁱ⁾ − y⁽ⁱ⁾) x⁽ⁱ⁾ + 2λw."""
    per_example = g.function.has(ExampleSum)
    names = {U: r"w^{T} x^{(i)}" if per_example else r"w^{T} x", N: r"\lVert w \rVert^{2}"}
    for s in g.scalars:
        names[s] = r"y^{(i)}" if s.name == "y" and per_example else variable_latex(s.name)
    terms = []
    for t in g.terms:
        coefficient = printer(t.coefficient, names)
        if t.coefficient.is_Add:
            coefficient = r"\left(%s\right)" % coefficient
        vector = "x^{(i)}" if t.summed else t.vector
        one = vector if t.coefficient == 1 else (
            f"{coefficient} \\, {vector}" if t.summed or t.vector == "w" else f"{vector} \\, {coefficient}"
        )
        terms.append(r"\sum_{i=1}^{m} " + one if t.summed else one)
    gradient = " + ".join(terms).replace("+ -", "- ") or "0"
    name = variable_latex(g.name) if IDENTIFIER.match(g.name) else g.name
    return {"lhs": rf"\nabla_{{w}} {name}", "function": f"{name}(w) = {printer(g.function, names)}",
            "gradient": gradient, "check": g.certificate}
