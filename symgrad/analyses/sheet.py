"""Solving a read sheet: every part's problem solved, claim verified (with its proof's steps),
vector gradient derived, dependency answered, and the equivalent layer and matrix form worked out
where the part shows them.  The result is plain data; the output modules turn it into LaTeX or JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from symgrad.analyses.collapse import EquivalentLayer, equivalent_layer
from symgrad.analyses.dependency import Dependency, dependency
from symgrad.analyses.layerforms import LayerForms, layer_forms
from symgrad.analyses.matrixform import MatrixBackprop, matrix_backprop
from symgrad.analyses.vector import VectorGradient, vector_gradient_of
from symgrad.engine.solution import Solution, solve_spec
from symgrad.errors import NumericError, ProblemError
from symgrad.input.prose import quantities
from symgrad.input.sheetspec import SHOWABLE, Notation, PartSpec, SheetSpec
from symgrad.input.spec import ProblemSpec
from symgrad.proof.steps import ProofSteps, proof_steps
from symgrad.proof.verify import ClaimError, Verdict, verify


@dataclass(frozen=True)
class Part:
    label: str  # "a", "b", ...; "" for the only part of a question
    text: str
    show: tuple[str, ...]
    remark: str
    problem: ProblemSpec | None
    solution: Solution | None = None
    verdict: Verdict | None = None  # a claim to prove or refute: `verify = "..."`
    vector: VectorGradient | None = None  # a gradient in vector form: `[vector] function = ...`
    dependency: Dependency | None = None  # does ∂ŷ/∂x depend on b₂? `depends = {of, on}`
    plot: tuple[str, ...] = ()  # activations to plot with their derivatives
    plot_at: tuple[float, ...] = ()  # operating points to mark (default: the forward pass's)
    proof: ProofSteps | None = None  # the steps of the verdict's proof (with a verdict)
    collapse: EquivalentLayer | None = None  # show = [..., "collapse"], for a linear network
    matrix: MatrixBackprop | None = None  # show = [..., "matrix"], for a numeric network
    note: str = ""  # prose for the answer key only
    points: int | None = None  # marks for the part
    style: str = ""  # "paths", "delta" or "" (the default for the problem)
    erratum: bool = False  # the note quotes the source's mistakes (its false formulas are meant)
    layers: LayerForms | None = None  # convolution, pooling, BPTT, batch norm, mini-batch worked out


@dataclass(frozen=True)
class Question:
    number: str
    text: str
    parts: tuple[Part, ...]
    note: str = ""  # prose for the answer key only
    erratum: bool = False  # the note quotes the source's mistakes


@dataclass(frozen=True)
class Sheet:
    title: str
    author: str
    source: str
    precision: int
    notation: Notation
    questions: tuple[Question, ...]

    @property
    def single(self) -> Solution | None:
        """A plain problem file's Solution (a sheet of one unnumbered question and part)."""
        if len(self.questions) == 1 and not self.questions[0].number:
            return self.questions[0].parts[0].solution
        return None


def solve_sheet(spec: SheetSpec) -> Sheet:
    """Solve every part of a read sheet."""
    questions = tuple(
        Question(q.number, q.text, tuple(solve_part(spec.source, p) for p in q.parts), q.note,
                 q.erratum)
        for q in spec.questions
    )
    sheet = Sheet(spec.title, spec.author, spec.source, spec.precision, spec.notation, questions)
    check_quantities(sheet)
    return sheet


def known_names(solutions: list[Solution]) -> set[str]:
    """What prose may name with \\q{...}: the nodes (W2[1,1]), their families (W2, a1) and eta."""
    names = {n.name for s in solutions for n in s.graph.nodes}
    return names | {n.split("[")[0] for n in names if "[" in n} | {"eta"}


def prose_scopes(sheet: Sheet) -> list[tuple[str, str, list[Solution]]]:
    """(field, prose, the solutions whose names it may use), for every piece of prose: a part's
    own problem, else its question's, else the sheet's."""
    every = [p.solution for q in sheet.questions for p in q.parts if p.solution is not None]
    out = [("title", sheet.title, every[:1]), ("author", sheet.author, every[:1])]
    for n, q in enumerate(sheet.questions, 1):
        own = [p.solution for p in q.parts if p.solution is not None]
        out += [(f"question[{n}].{k}", text, (own or every)[:1])
                for k, text in (("text", q.text), ("note", q.note))]
        for k, p in enumerate(q.parts, 1):
            scope = [p.solution] if p.solution is not None else (own or every)[:1]
            out += [(f"question[{n}].part[{k}].{f}", text, scope)
                    for f, text in (("text", p.text), ("remark", p.remark), ("note", p.note))]
    return out


def check_quantities(sheet: Sheet) -> None:
    """Every \\q{name} in the prose names a quantity of the problem it is read with."""
    for field, text, scope in prose_scopes(sheet):
        names = known_names(scope)
        for name in quantities(text):
            if name.replace(" ", "") not in names:
                example = ", ".join(sorted(names - {"eta"})[:4]) or "none: this prose has no problem"
                raise ProblemError(sheet.source, field,
                                   f"\\q{{{name}}}: no quantity of that name (names here: {example}, ...)")


def solve_part(source: str, spec: PartSpec) -> Part:
    part = Part(spec.label, spec.text, spec.show, spec.remark, spec.problem, plot=spec.plot,
                plot_at=spec.plot_at, note=spec.note, points=spec.points, style=spec.style,
                erratum=spec.erratum)
    if spec.claim is not None:
        try:
            verdict = verify(spec.claim.claim, where=list(spec.claim.where),
                             assume=list(spec.claim.assume))
        except ClaimError as error:
            raise ProblemError(source, spec.claim.field, str(error)) from None
        part = replace(part, verdict=verdict, proof=proof_steps(verdict))
    if spec.vector is not None:
        part = replace(part, vector=vector_gradient_of(spec.vector))
    part = solved(source, part)
    if spec.depends is not None:
        asked = spec.depends
        solution = part.solution
        if solution is None or asked.of not in solution.gradients:
            raise ProblemError(source, asked.field, f"{asked.of!r} must be one of this part's gradients")
        if asked.on not in solution.graph.by_name:
            raise ProblemError(source, asked.field, f"the problem has no variable named {asked.on!r}")
        part = replace(part, dependency=dependency(solution, asked.of, asked.on))
    if part.solution is not None and "collapse" in part.show:
        part = replace(part, collapse=equivalent_layer(part.solution))
    if part.solution is not None and "matrix" in part.show:
        part = replace(part, matrix=matrix_backprop(part.solution))
    return part


def solved(source: str, part: Part) -> Part:
    if part.problem is None:
        return part
    try:
        solution = solve_spec(part.problem)
        return replace(part, solution=solution, layers=layer_forms(solution))
    except NumericError as error:
        where = f"{part.problem.at}: " if part.problem.at else ""
        raise NumericError(f"{source}: {where}{error}") from None


def sheet_of(solution: Solution, notation: Notation = Notation(), precision: int = 4) -> Sheet:
    """A single solved problem as a sheet of one question, to render it."""
    part = Part("", "", SHOWABLE, "", solution.spec, solution, layers=layer_forms(solution))
    return Sheet(solution.title, "", solution.spec.source, precision, notation,
                 (Question("", "", (part,)),))
