"""The façade: `solve()` a problem, then `to_latex()`, `to_json()` and notebook display.

The engine and the analyses return plain data; this module pairs that data with the sheet's
notation and precision, and hands it to the output modules.  It is the only place that knows
both sides, so nothing below it imports anything above it.
"""

from __future__ import annotations

import dataclasses
import numbers
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import sympy

from symgrad.analyses import sheet as sheets
from symgrad.analyses.meanings import check_meanings
from symgrad.analyses.variants import Variants, draw_variants
from symgrad.engine import solution as engine
from symgrad.engine.compiled import Compiled, compile_solution
from symgrad.errors import NumericError, ProblemError, SymgradError
from symgrad.input import limits
from symgrad.input.names import Partial
from symgrad.input.sheetspec import Notation, SheetSpec, load_sheet, read_sheet
from symgrad.input.spec import AskSpec, ProblemSpec, read_toml
from symgrad.input.variantspec import read_variants
from symgrad.output.jsonout import sheet_json, solution_json
from symgrad.output.notation import latex_names
from symgrad.output.render import gradient_latex, notebook_latex, render_sheet

Gradient = engine.Gradient


@dataclass(frozen=True)
class Solution(engine.Solution):
    """A solved problem, with the notation and precision its answer key is written in."""

    notation: Notation = Notation()
    precision: int = 4

    @classmethod
    def of(cls, solved: engine.Solution, notation: Notation = Notation(), precision: int = 4) -> Solution:
        plain = {f.name: getattr(solved, f.name) for f in fields(engine.Solution)}
        return cls(**plain, notation=notation, precision=precision)

    def __repr__(self) -> str:
        return (f"<Solution {self.title!r}: {len(self.values)} values, {len(self.gradients)} "
                f"gradients, {len(self.updated)} updated>")

    def symbol(self, name: str) -> sympy.Symbol:
        """The sympy symbol of a leaf or node as `expression` writes it: plain, named as in the
        JSON ("W1[1,1]", "x[1]"), so that `expr.subs({solution.symbol("x[1]"): 0.5})` works."""
        if name not in self.graph.by_name:
            raise SymgradError(f"{name!r}: the problem has no such name (names look like "
                               f"{', '.join(n.name for n in self.graph.nodes[:3])}, ...)")
        return sympy.Symbol(name)

    def expression(self, key: str) -> sympy.Expr:
        """A gradient ("dL/dW2[1,1]") or a value ("yhat[1]", "L") written in the problem's leaves
        (inputs, parameters, targets), with plain symbols named as the JSON names."""
        if key in self.gradients:
            expr = self.gradients[key].derivation.result
        elif key in self.graph.by_name:
            expr = self.graph.by_name[key].symbol
        else:
            raise SymgradError(f"{key!r}: expected a gradient key such as "
                               f"{next(iter(self.gradients), 'dL/dW1[1,1]')!r} or a node name")
        return plain_symbols(in_leaves(self, expr))

    def layer_gradients(self, layer: int) -> LayerGradients:
        """∂L/∂W^{[l]} and ∂L/∂b^{[l]} as matrices: textbook forms and numbers."""
        network = self.spec.network
        if network is None or not 1 <= layer <= len(network.layers) or not self.graph.output:
            raise SymgradError(f"layer_gradients({layer}): expected a layer 1 to "
                               f"{len(network.layers) if network else 0} of a network with a loss")
        if not network.plain:
            raise SymgradError(f"layer_gradients({layer}): expected dense layers on one example; "
                               "this network has other layers or a mini-batch (see .gradients)")
        units = network.layers[layer - 1].units
        fan_in = network.inputs if layer == 1 else network.layers[layer - 2].units
        weights = [[f"W{layer}[{i},{j}]" for j in range(1, fan_in + 1)] for i in range(1, units + 1)]
        biased = network.layers[layer - 1].biases is not None
        biases = [f"b{layer}[{i}]" for i in range(1, units + 1)] if biased else []
        asked = [n for row in weights for n in row] + biases
        solved = self.with_gradients([str(Partial(self.graph.output, n)) for n in asked])
        grad = lambda n: solved.gradients[str(Partial(self.graph.output, n))]  # noqa: E731
        return LayerGradients(
            sympy.Matrix([[plain_symbols(grad(n).derivation.result) for n in row] for row in weights]),
            np.array([[float(grad(n).value) for n in row] for row in weights]),
            sympy.Matrix([plain_symbols(grad(n).derivation.result) for n in biases]) if biased else None,
            np.array([float(grad(n).value) for n in biases]) if biased else None,
        )

    def jacobian(self) -> tuple[sympy.Matrix, np.ndarray]:
        """∂ŷ/∂x of a network: the Jacobian (row i: output i) in textbook form and in numbers."""
        network = self.spec.network
        if network is None:
            raise SymgradError("jacobian(): expected a network")
        if not network.plain:
            raise SymgradError("jacobian(): expected dense layers on one example; this network has "
                               "other layers or a mini-batch")
        outputs = network.layers[-1].units
        keys = [[str(Partial(f"yhat[{i}]", f"x[{j}]")) for j in range(1, network.inputs + 1)]
                for i in range(1, outputs + 1)]
        solved = self.with_gradients([k for row in keys for k in row])
        return (
            sympy.Matrix([[plain_symbols(solved.gradients[k].derivation.result) for k in row]
                          for row in keys]),
            np.array([[float(solved.gradients[k].value) for k in row] for row in keys]),
        )

    def with_gradients(self, keys: list[str]) -> engine.Solution:
        """The same problem solved again for these gradients (and no update)."""
        ask = AskSpec(gradients=tuple(keys), update=False)
        return engine.solve_spec(dataclasses.replace(self.spec, ask=ask))

    def explain(self, key: str) -> Explained:
        """One gradient and its derivation, for a notebook: `solution.explain("dL/dW2[1,1]")`."""
        if key not in self.gradients:
            raise SymgradError(f"{key!r}: expected one of {', '.join(self.gradients)}")
        return Explained(self, key)

    def sheet(self) -> sheets.Sheet:
        from symgrad.analyses.variants import prose_with_values

        return prose_with_values(sheets.sheet_of(self, self.notation, self.precision))

    def to_json(self) -> dict[str, Any]:
        return solution_json(self, self.notation)

    def by_torch_name(self) -> dict[str, Any]:
        """The loss, the gradients (of the first step) and the parameters after the optimizer's
        steps, under `model.named_parameters()`'s names, each a nested list shaped as the
        parameter: for a problem made by `symgrad.from_torch`."""
        from symgrad.input.torchmodel import by_torch_name

        return by_torch_name(self.spec.torch, self.values, self.gradients, self.updated, self.graph.output)

    def to_latex(self, templates: str | Path | None = None, key: bool = True) -> str:
        """The answer key (or with key=False the question sheet) as a LaTeX document;
        `templates` is a folder whose files override the built-in ones."""
        return render_sheet(self.sheet(), templates, key)

    def _repr_latex_(self) -> str:
        return notebook_latex(self.sheet())


@dataclass(frozen=True)
class LayerGradients:
    """∂L/∂W^{[l]} (one row per unit, as torch.nn.Linear) and ∂L/∂b^{[l]}."""

    weights: sympy.Matrix
    weight_values: np.ndarray
    biases: sympy.Matrix | None
    bias_values: np.ndarray | None


@dataclass(frozen=True)
class Explained:
    """One gradient with its derivation; a notebook shows it as display mathematics."""

    solution: Solution
    key: str

    def __repr__(self) -> str:
        g = self.solution.gradients[self.key]
        return f"{self.key} = {g.derivation.result} = {g.value}"

    def _repr_latex_(self) -> str:
        return gradient_latex(self.solution.sheet(), self.key)


@dataclass(frozen=True)
class Sheet(sheets.Sheet):
    """A solved sheet of questions; each part holds the Solution of its problem."""

    def to_json(self) -> dict[str, Any]:
        return sheet_json(self)

    def to_latex(self, templates: str | Path | None = None, key: bool = True) -> str:
        return render_sheet(self, templates, key)

    def _repr_latex_(self) -> str:
        return notebook_latex(self)

    def __repr__(self) -> str:
        parts = sum(len(q.parts) for q in self.questions)
        return f"<Sheet {self.title!r}: {len(self.questions)} questions, {parts} parts>"


def solve(problem: str | Path | ProblemSpec | SheetSpec | dict[str, Any]) -> Any:
    """Solve a problem or sheet file, a dict in the file's TOML structure, or a read spec.

    A single problem gives a `Solution`; a sheet of questions gives a `Sheet` whose parts hold
    their Solutions.  Both have `to_latex()`, `_repr_latex_()` and `to_json()`.
    """
    if isinstance(problem, ProblemSpec):
        try:
            return Solution.of(engine.solve_spec(problem))
        except NumericError as error:
            raise NumericError(f"{problem.source}: {error}") from None
    if isinstance(problem, dict):
        spec = read_sheet(problem, "<python>")
    elif isinstance(problem, SheetSpec):
        spec = problem
    else:
        spec = load_sheet(problem)
    from symgrad.analyses.variants import prose_with_values

    return present(prose_with_values(solved_sheet(spec)))


def solved_sheet(spec: SheetSpec) -> sheets.Sheet:
    """A read sheet solved, once every symbol on it has one meaning (analyses/meanings.py: its
    prose against the key, and no two quantities printed alike).  The LaTeX each quantity
    prints as is the output's notation, handed down from here."""
    solved = sheets.solve_sheet(spec)

    def printed(solution: engine.Solution) -> dict[str, str]:
        # as the key writes them: a graph keeps its own names (output/printer.py)
        notation = solved.notation if solution.spec.network else dataclasses.replace(solved.notation, symbols={})
        return latex_names([n.name for n in solution.graph.nodes], notation)

    check_meanings(solved, printed)
    return solved


def compile(problem: str | Path | ProblemSpec | dict[str, Any]) -> Compiled:  # noqa: A001
    """The problem's forward pass, gradients and update compiled once into a numpy function.

    `f = symgrad.compile("net.toml"); f({"x[1]": xs, "x[2]": ys})` gives
    {"values": ..., "gradients": ..., "updated": ...} keyed as the JSON, each an array
    broadcast over the inputs given; every name not given keeps the problem's value."""
    solved = solve(problem)
    if not isinstance(solved, engine.Solution):
        raise SymgradError("compile: expected a single problem, not a sheet of questions")
    return compile_solution(solved)


def variants(problem: str | Path | dict[str, Any], n: int = 10, seed: int = 0,
             precision: int | None = None) -> Variants:
    """n exam variants of a problem or sheet file with a `[variants]` table (or a dict in the
    file's structure): derived once, every draw evaluated in batches, the kept ones ready to
    render.  The same seed gives the same variants; `.variants[k].given`, `.answers`, `.sheet`,
    and `.report()` for the draws each condition rejected and the spread of every answer."""
    for name, value, low, high in (("n", n, 1, limits.VARIANTS), ("seed", seed, 0, 2**63 - 1),
                                   ("precision", 4 if precision is None else precision, 1, 15)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not low <= value <= high:
            raise SymgradError(f"variants: {name}: expected a whole number from {low} to {high}, "
                               f"got {value!r}")
    if isinstance(problem, dict):
        data, source = problem, "<python>"
        limits.check_plain_data(data, source)
    else:
        data, source = read_toml(problem), str(problem)
    spec = read_sheet(data, source)
    table = read_variants(data, source)
    if table is None:
        raise ProblemError(source, "variants", "expected a [variants] table saying what to draw, "
                           "such as W1 = { uniform = [-1, 1], step = 0.1 }")
    sheet = solved_sheet(spec)
    if precision is not None:
        sheet = dataclasses.replace(sheet, precision=precision)
    return draw_variants(sheet, table, n, seed)


def in_leaves(solution: engine.Solution, expr: sympy.Expr) -> sympy.Expr:
    """`expr` with every adjoint symbol (∂L/∂z, the δ of z) and every node written out, down to
    the leaves."""
    adjoints: dict[sympy.Symbol, sympy.Expr] = {}
    for sweep in solution.sweeps.values():
        for v in sweep.order:  # T first: each adjoint over its children's, already written out
            symbol = sweep.adjoint_symbols[v]
            if isinstance(symbol, sympy.Symbol) and v in sweep.adjoints:
                adjoints[symbol] = sweep.adjoints[v].xreplace(adjoints)
    expr = expr.xreplace(adjoints)
    nodes: dict[sympy.Symbol, sympy.Expr] = {}
    for node in solution.graph.nodes:  # parents first
        if node.expr is not None:
            nodes[node.symbol] = node.expr.xreplace(nodes)
    return expr.xreplace(nodes)


def plain_symbols(expr: sympy.Expr) -> sympy.Expr:
    """The engine's symbols are real; hand out plain ones, as a user writes Symbol("x[1]")."""
    return expr.xreplace({s: sympy.Symbol(s.name) for s in expr.free_symbols})


def present(solved: sheets.Sheet) -> Solution | Sheet:
    """A plain problem file's Solution carries the sheet's notation; a sheet stays a Sheet."""
    single = solved.single
    if single is not None:
        return Solution.of(single, solved.notation, solved.precision)
    plain = {f.name: getattr(solved, f.name) for f in fields(sheets.Sheet)}
    return Sheet(**plain)


def check(problem: str | Path, answers: str | Path, *,
          symbols: dict[str, str] | None = None) -> CheckReport:
    """Check a student's answers (an answer file, or a written solution) against a problem or
    sheet file: a report of every line with its verdict, diagnosis and marks, with `to_json()`,
    `to_text()` and `to_latex()`.  `symbols` adds to the problem's [check.symbols]: the
    student's LaTeX names ("h_1") → the engine's ("a1[1]")."""
    from symgrad.analyses.check import check_sheet
    from symgrad.input.answers import load_answers, load_check_problem, read_symbols
    from symgrad.proof.verify import verify as prove

    data, options = load_check_problem(problem)
    solved = solved_sheet(read_sheet(data, str(problem)))
    layout = [(q.number, [p.label for p in q.parts]) for q in solved.questions]
    student = load_answers(answers, layout)
    options = options.merged(student.symbols, student.symbol_text)
    if symbols:
        extra, text = read_symbols(symbols, "<symbols>", "symbols")
        options = options.merged(extra, text)
    names = check_names(solved, options)
    report = check_sheet(solved, student, options, names,
                         verify=lambda claim: prove(claim, seconds=5))
    plain = {f.name: getattr(report, f.name) for f in fields(report)}
    return CheckReport(**plain, sheet=solved)


from symgrad.analyses import check as checking  # noqa: E402 - kept with the check façade


@dataclass(frozen=True)
class CheckReport(checking.Report):
    """A checked piece of work, with the solved sheet it was checked against (for its notation)."""

    sheet: sheets.Sheet | None = None

    def __repr__(self) -> str:
        counts = ", ".join(f"{n} {v}" for v, n in self.counts.items() if n)
        return f"<CheckReport {self.points:g}/{self.out_of:g}: {counts}>"

    def to_json(self) -> dict[str, Any]:
        from symgrad.output.feedback import report_json

        return report_json(self)

    def to_text(self) -> str:
        from symgrad.output.feedback import feedback_text

        return feedback_text(self)

    def to_latex(self, templates: str | Path | None = None) -> str:
        from symgrad.output.feedback import render_feedback

        assert self.sheet is not None
        return render_feedback(self, self.sheet, templates)


def check_names(solved: sheets.Sheet, options: Any) -> dict[tuple[str, str], dict[str, str]]:
    """For each part, the key of every way to write each of its names (the sheet's notation,
    the default notation, the engine's own names, η) → the engine's name, the student's
    [check.symbols] first.  A symbol naming nothing in the problem is one line (exit status 2)."""
    from symgrad.errors import ProblemError
    from symgrad.input.mathtext import name_key
    from symgrad.output.notation import latex_names

    activations = {"identity", "sigmoid", "tanh", "relu", "leaky_relu", "softplus", "exp"}
    out: dict[tuple[str, str], dict[str, str]] = {}
    known: set[str] = set()
    for q in solved.questions:
        for part in q.parts:
            if part.solution is None:
                continue
            graph = part.solution.graph
            plain = [n.name for n in graph.nodes]
            notation = solved.notation if part.solution.spec.network else \
                dataclasses.replace(solved.notation, symbols={})
            table: dict[str, str] = {}
            for style in (Notation(), notation):  # the sheet's own notation wins
                for name, tex in latex_names(plain, style).items():
                    key = name_key(tex)
                    if key is not None:
                        table[key] = name
            table.update({"=" + n: n for n in plain})
            eta = name_key(solved.notation.eta)
            for k in ("eta||", eta):
                if k is not None and graph.learning_rate is not None:
                    table[k] = "eta"
            for key, target in options.symbols.items():
                if target in activations:
                    continue
                partial = Partial.parse(target)
                names = [partial.top, partial.wrt] if partial else [target]
                if all(n in graph.by_name for n in names) or target == "eta":
                    table[key] = target
                    known.add(key)
            out[q.number, part.label] = table
    for key, target in options.symbols.items():
        if key not in known and target not in activations:
            raise ProblemError(options.source, f"check.symbols.{options.symbol_text.get(key, key)}",
                               f"{target!r} is not a name of the problem (names look like "
                               "a1[1], W2[1,1], dL/dz1[1], or an activation such as relu)")
    return out
