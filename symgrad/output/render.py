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
from collections.abc import Callable, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError
from sympy import Expr, Symbol

from symgrad.errors import SymgradError
from symgrad.input.prose import QUANTITY, UNICODE_MATH, checked_prose, segments, unicode_math
from symgrad.output.backprop import (backprop_context, is_numeric, style_of, update_columns,
                                     update_context)
from symgrad.output.context_analyses import collapse_context, matrix_context, proof_context
from symgrad.output.latex import format_number, renamed_functions, textbook_latex, variable_latex
from symgrad.output.printer import LINE_LENGTH, PartPrinter
from symgrad.output.stated import asked_gradients, stated
from symgrad.output.figures import chain_edges, graph_figure, network_figure, once, plot_figure
from symgrad.analyses.vector import N, U, ExampleSum, VectorGradient
from symgrad.input.names import Partial
from symgrad.input.spec import IDENTIFIER
from symgrad.output.layer_context import layer_sections
from symgrad.output.notation import family_latex, latex_names, quantity_latex

if TYPE_CHECKING:
    from symgrad.analyses.dependency import Dependency
    from symgrad.analyses.sheet import Part, Sheet
    from symgrad.engine.solution import Solution

TEX_SPECIALS = {
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "$": r"\$", "&": r"\&", "%": r"\%",
    "#": r"\#", "_": r"\_", "^": r"\textasciicircum{}", "~": r"\textasciitilde{}",
}  # fmt: skip
SPECIAL = re.compile("[%s]" % re.escape("".join(TEX_SPECIALS) + "".join(UNICODE_MATH)))


# Characters pdflatex (T1, utf8) cannot typeset, tested one by one: below U+0180 these few, and
# above it all but a handful.  Prose (a student's text above all) holds them; each becomes a
# stand-in so that no text can stop the PDF.
UNTYPESETTABLE = set("\u0126\u0127\u0138\u013f\u0140\u0149\u0166\u0167\u017f")
TYPESETTABLE = set("\u2018\u2019\u201c\u201d\u2013\u2014\u2022\u20ac\u2026")
STAND_INS = ({chr(0x2080 + k): f"_{k}" for k in range(10)} | {chr(0x2070): "^0"}
             | {chr(0x2070 + k): f"^{k}" for k in range(4, 10)})


def typesettable(c: str) -> str:
    """A character pdflatex can set, or its stand-in (₁ as _1, an emoji or a CJK character as ?)."""
    if c in UNICODE_MATH or c in TYPESETTABLE or (c < "\u0180" and c not in UNTYPESETTABLE):
        return c
    return STAND_INS.get(c, "?")


def escape_tex(text: str) -> str:
    """Prose as text: every TeX special character is escaped, so `\\input{...}` stays words.

    Invisible characters are dropped (a NUL, an escape or U+200B is an error or worse to TeX)
    and a leading "[" is braced: prose follows \\part or \\titledquestion{..}, which would take
    "[42]" as their optional argument and lose it.
    """
    def one(m: re.Match[str]) -> str:
        c = m.group()
        return TEX_SPECIALS[c] if c in TEX_SPECIALS else f"${UNICODE_MATH[c]}$"

    text = "".join(typesettable(c) for c in "".join(map(printable, text.replace("\r\n", "\n"))))
    text = SPECIAL.sub(one, text)
    start = len(text) - len(text.lstrip())
    return text[:start] + "{[}" + text[start + 1:] if text[start:start + 1] == "[" else text


def prose_latex(text: str, quantity: Callable[[str], str]) -> str:
    """Prose as LaTeX: its text escaped (escape_tex), each `$...$` (checked when the file was
    read, input/prose.py) set as mathematics with every \\q{name} in the sheet's notation."""
    try:  # checked when read; prose from elsewhere (a title made from a file's name) is checked
        checked_prose("", "", text)  # here, and what fails is set as plain text
    except SymgradError:
        return escape_tex(text)
    out = []
    for is_math, piece in segments(text):
        if is_math:
            math = QUANTITY.sub(lambda m: "{%s}" % quantity(m[1]), unicode_math(" ".join(piece.split())))
            out.append(f"${math}$")
        else:
            out.append(escape_tex(piece))
    return "".join(out)


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
    env.filters["tex_cell"] = lambda math: f"${math}$"  # a table cell of symgrad's own mathematics
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
    every = [p.solution for q in sheet.questions for p in q.parts if p.solution is not None]
    sheet_names = quantities(every[0] if every else None, sheet)
    drawn: list[dict[str, Any]] = []
    for n, q in enumerate(sheet.questions, 1):
        own = next((p.solution for p in q.parts if p.solution is not None), None)
        names = quantities(own, sheet) if own is not None else sheet_names
        parts = []
        for part in q.parts:
            context = part_context(part, sheet, names)
            # a network is drawn once on the sheet: a later part (or question) with the same
            # one gets no figure, or a line naming its own activations
            context["figure"] = once(context["figure"], drawn)
            parts.append(context)
        questions.append({
            "number": one_line(q.number or str(n)), "text": prose_latex(q.text, names),
            "note": prose_latex(q.note, names), "parts": parts,
            "points": parts[0]["points"] if len(parts) == 1 else "",
            "need": room(parts[0]),
            "summary": [u for part in parts for u in part["updates"]],
        })
    return {
        "title": one_line(prose_latex(sheet.title, sheet_names)),
        "author": one_line(prose_latex(sheet.author, sheet_names)),
        "precision": sheet.precision,
        "eta": sheet.notation.eta,
        "questions": questions,
        "points": any(part["points"] for q in questions for part in q["parts"]),
    }


def room(first: dict[str, Any]) -> dict[str, str]:
    """The space a question needs left on its page to start there, so that its text is not left
    alone at the foot of a page: its first part's figure, statement and (on the question sheet)
    answer box; in the key, the figure and a few lines."""
    figure = 5 if first["figure"] else 0
    space = float(first["space"].removesuffix("cm"))
    return {"key": f"{figure + 3}cm", "questions": f"{min(figure + space + 3, 22)}cm"}


def quantities(solution: Solution | None, sheet: Sheet) -> Callable[[str], str]:
    """How prose's \\q{name} prints near this problem: in the sheet's notation (a graph keeps its
    own names, as on the rest of the sheet)."""
    if solution is None:
        return lambda name: quantity_latex(name, {}, sheet.notation)
    notation = sheet.notation if solution.spec.network else replace(sheet.notation, symbols={})
    names = latex_names([n.name for n in solution.graph.nodes], notation)
    return lambda name: sheet.notation.eta if name.strip() == "eta" else quantity_latex(name, names, notation)


OPTIMIZER_NAMES = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam"}


def one_line(text: str) -> str:
    """A title or a question's number: a blank line would end a TeX argument or paragraph early."""
    return " ".join(text.split())


def part_context(part: Part, sheet: Sheet, names: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The context of one part (see _part_context), every function the sheet renames
    ([sheet.symbols] sigmoid = "\\operatorname{logistic}") written so: in the derivations and
    proofs (output/latex.py) and in the figures' fixed labels."""
    with renamed_functions(sheet.notation.renamed_functions):
        context = _part_context(part, sheet, names)
    relabel = heads_relabelled(sheet.notation.symbols, sheet.notation.written_out)
    if relabel is not None:
        for plot in context["plots"]:
            plot["g_tex"], plot["slope_tex"] = relabel(plot["g_tex"]), relabel(plot["slope_tex"])
            for panel in plot["panels"]:
                panel["tex"] = relabel(panel["tex"])
        for figure_ in [context["figure"], *(g.get("figure") for g in context["gradients"])]:
            if figure_ and figure_.get("activations"):
                figure_["activations"] = [relabel(a) for a in figure_["activations"]]
    return context


# How the figures write each function by default, in their fixed labels (σ(z), H(z), \mathrm{softmax}).
FIGURE_HEADS = {"sigmoid": [r"\sigma"], "softplus": [r"\operatorname{softplus}"],
                "relu": [r"\operatorname{ReLU}"], "step": ["H"],
                "leaky_relu": [r"\operatorname{LeakyReLU}", r"\mathrm{leaky\_relu}"],
                "softmax": [r"\mathrm{softmax}"]}


# The plots' labels of a function the sheet writes out ([sheet] written_out).
WRITTEN_LABELS = {"sigmoid": {r"\sigma(z)": r"\frac{1}{1 + e^{-z}}",
                              r"\sigma'(z)": r"\frac{e^{-z}}{(1 + e^{-z})^{2}}"},
                  "softplus": {r"\operatorname{softplus}(z)": r"\log(1 + e^{z})"}}


def heads_relabelled(symbols: Mapping[str, str], written_out: Sequence[str] = ()) -> Callable[[str], str] | None:
    """The figures' labels with each renamed function's head replaced, in one pass (so that a
    sheet may swap two names), and a function written out written so; None when the sheet
    renames none."""
    renamed = {name: symbols[name] for name in FIGURE_HEADS if name in symbols}
    written = {label: tex for name in written_out for label, tex in WRITTEN_LABELS[name].items()}
    if not (renamed or written):
        return None
    pattern = re.compile("|".join(
        f"(?P<{name}>" + "|".join(r"(?<![\\A-Za-z])%s(?![A-Za-z])" % re.escape(h) for h in FIGURE_HEADS[name]) + ")"
        for name in renamed) or r"(?!)")
    return lambda tex: written.get(tex) or pattern.sub(lambda m: renamed[m.lastgroup or ""] + " ", tex)


def _part_context(part: Part, sheet: Sheet, names: Callable[[str], str] | None = None) -> dict[str, Any]:
    """The context of one part.  `names` prints prose's \\q{name} when the part has no problem of
    its own (its question's)."""
    names = quantities(part.solution, sheet) if part.solution is not None or names is None else names
    context: dict[str, Any] = {
        "label": part.label, "text": prose_latex(part.text, names),
        "remark": prose_latex(part.remark, names), "note": prose_latex(part.note, names),
        "points": str(part.points) if part.points else "",
        "forward": [], "loss": None, "gradients": [], "backprop": [], "updates": [],
        "update_rule": "", "update_columns": 1,
        "proof": (proof_context(part.verdict, part.proof, sheet.precision, sheet.notation.symbols)
                  if part.verdict else None),
        "figure": None, "given": [], "given_display": False, "asks": [], "plots": [],
        "space": "3cm", "dependency": None, "collapse": None, "matrix": None, "layers": [],
        "optimized": None,
    }
    value = lambda v: format_number(v, sheet.precision)  # noqa: E731
    context["plots"] = [plot_figure(a, operating_points(part, a), value, leaky_slope(part))
                        for a in part.plot]
    if part.verdict is not None and not part.text:  # a text says what to prove
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
    context["asks"] = asks(p, part, solution)
    if not (context["asks"] or part.collapse or part.matrix or part.dependency):
        return context  # a plot of the network's activations, say: its data are not asked about
    context["given"] = given(p, solution)
    context["given_display"] = any(len(g) > LINE_LENGTH // 2 for g in context["given"])
    context["figure"] = figure(p, solution)
    outputs = {n.name for n in graph.nodes if n.name.startswith("yhat[") or n.name == graph.output}
    for node in graph.nodes:
        if node.expr is None:
            continue
        # the asked results are boxed: the loss, and the network's (or graph's) outputs, where
        # something was worked out (a graph's formula alone is what was given, not a result)
        value = solution.values[node.name]
        boxed = (node.kind == "loss" or node.name in outputs) and (is_numeric(value) or value != node.expr)
        equation = p.equation(node.name, p.names[node.name], node.expr, solution.values[node.name], boxed)
        if node.kind == "loss":
            context["loss"] = equation if "loss" in part.show else None
        elif "forward" in part.show:
            context["forward"].append(equation)
    if "gradients" in part.show:
        context["backprop"], context["gradients"] = backprop_context(p, style_of(part.style, solution))
    if "update" in part.show and solution.updated and solution.spec.optimizer is None:  # else its table
        eta = graph.learning_rate
        assert eta is not None
        for name, new in solution.updated.items():
            gradient = solution.gradients[str(Partial(graph.output, name))]
            old = graph.values.get(graph.node(name).symbol, graph.node(name).symbol)
            context["updates"].append(update_context(p, name, old, eta, gradient, new))
        context["update_columns"] = update_columns(context["updates"])
        loss = p.names[graph.output]
        context["update_rule"] = (r"\theta \leftarrow \theta - %s \, \partial %s / \partial \theta"
                                  % (p.eta, loss))
    optimizer = solution.spec.optimizer
    if "update" in part.show and solution.updated and optimizer is not None:  # what an LMS asks
        steps = f"{optimizer.steps} step{'s' if optimizer.steps > 1 else ''}"
        context["optimized"] = {"words": f"after {steps} of {OPTIMIZER_NAMES[optimizer.name]}",
                                "names": {name: p.names[name] for name in solution.updated}}
    if "gradients" in part.show or "update" in part.show:
        context["layers"] = layer_sections(part.layers, solution.steps, solution.spec.optimizer, p.names,
                                           p.names.get(graph.output, "L"), sheet.precision)
    if part.dependency is not None:
        context["dependency"] = dependency_context(p, part.dependency)
    family = lambda f: family_latex(f, p.notation)  # noqa: E731  (a layer's symbol: C, W^{[2]})
    if part.collapse is not None:
        context["collapse"] = collapse_context(part.collapse, p.names, graph.values, sheet.precision,
                                               family)
    if part.matrix is not None:
        context["matrix"] = matrix_context(part.matrix, p.names.get("L", "L"), sheet.precision, family)
    rows = len(context["forward"]) + 2 * len(context["gradients"]) + len(context["updates"])
    context["space"] = f"{min(3 + rows // 2, 9)}cm"  # room to answer on the question sheet
    if "paths" in part.show:
        for g, shown in zip(solution.gradients.values(), context["gradients"]):
            if shown.get("short"):  # a line over the δ above: no figure of its own
                continue
            edges = chain_edges(graph, g.derivation.top, g.derivation.wrt)
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
        v for l, layer in enumerate(network.layers, 1) if getattr(layer, "activation", None) == activation
        for k, v in values.items() if k.startswith(f"z{l}[") and isinstance(v, (int, float))
    ]


def leaky_slope(part: Part) -> float | None:
    """The negative slope of the part's first leaky ReLU layer (None: the default 0.01)."""
    network = part.solution.spec.network if part.solution else None
    slopes = [l.negative_slope for l in network.layers  # pooling, flatten, batch norm: none
              if getattr(l, "activation", None) == "leaky_relu"] if network else []
    return slopes[0] if slopes else None


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
    network = solution.spec.network
    if network is not None and not network.plain:  # its parameters too, block by block
        return stated(p, solution)
    graph = solution.graph
    out = []
    if solution.spec.graph is not None:
        out += [f"{p.names[n.name]} = {p.tex(n.expr)}" for n in graph.nodes if n.expr is not None]
    for node in graph.nodes:
        v = graph.values.get(node.symbol)
        if node.kind in ("input", "target", "leaf") and isinstance(v, (int, float)):
            out.append(f"{p.names[node.name]} = {p.value(v, given=True)}")
    if graph.learning_rate is not None and solution.updated:
        out.append(f"{p.eta} = {p.value(graph.learning_rate, given=True)}")
    return out


def asks(p: PartPrinter, part: Part, solution: Solution) -> list[str]:
    """What the part asks for, as the question sheet words it."""
    out = []
    if "forward" in part.show and any(n.kind != "loss" and n.expr is not None for n in solution.graph.nodes):
        out.append("the forward pass")
    if "loss" in part.show and "L" in solution.values:
        out.append(f"the loss ${p.names['L']}$")
    if "gradients" in part.show and solution.gradients:
        out.append(asked_gradients(p, solution))
    if "update" in part.show and solution.updated:
        optimizer = solution.spec.optimizer
        out.append("one step of gradient descent" if optimizer is None else
                   f"{optimizer.steps} step{'s' if optimizer.steps > 1 else ''} of {OPTIMIZER_NAMES[optimizer.name]}")
    return out


def figure(p: PartPrinter, solution: Solution, highlight: set[tuple[str, str]] = frozenset()) -> dict[str, Any] | None:  # type: ignore[assignment]
    """The network (up to 6 units a layer) or the computation graph, drawn in the sheet's notation."""
    if solution.spec.network is not None:
        layers = solution.spec.network.layers
        if not solution.spec.network.plain:  # convolutions, recurrence, a batch: not drawn
            return None
        if max(l.units for l in layers) > 6 or solution.spec.network.inputs > 6:
            return None
        return network_figure(solution.graph, [l.activation for l in layers], p.names,
                              lambda v: p.value(v, given=True), highlight)
    return graph_figure(solution.graph, p.names, highlight)


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
            for section in part_context(part, sheet)["backprop"]:
                for g in section["gradients"]:
                    if g["key"] != key:
                        continue
                    if section["kind"] == "delta":  # the δ it is made of, then its line
                        lines += [equation_line(r) for r in section["rows"]]
                    elif g["chain"]:
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
