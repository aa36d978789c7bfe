"""The JSON form of a Solution: numbers as numbers, anything still symbolic as a string."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import sympy

from sympy import Expr

from symgrad.analyses.layerforms import LayerForms, layer_forms
from symgrad.output.latex import textbook_latex
from symgrad.input.sheetspec import Notation
from symgrad.output.notation import latex_names, symbol_names
from symgrad.engine.numeric import Value
from symgrad.input.names import Partial

if TYPE_CHECKING:
    from symgrad.analyses.collapse import EquivalentLayer
    from symgrad.analyses.dependency import Dependency
    from symgrad.analyses.matrixform import MatrixBackprop
    from symgrad.analyses.sheet import Part, Sheet
    from symgrad.analyses.vector import VectorGradient
    from symgrad.engine.solution import Solution
    from symgrad.proof.steps import ProofSteps


def plain_product(expr: Expr) -> bool:
    """The δ form ∂L/∂z · a of a large network, thousands of times: worth a shortcut."""
    return bool(expr.is_Mul) and all(a.is_Symbol for a in expr.args)


def to_text(expr: Expr) -> str:
    """sympy's own string form, which sympy can read back."""
    return "*".join(a.name for a in expr.args) if plain_product(expr) else str(expr)


def number(value: Value) -> float | int | str:
    if isinstance(value, (int, float)):
        return value
    return str(sympy.expand(value))


def solution_json(solution: Solution, notation: Notation = Notation()) -> dict[str, Any]:
    """The JSON object of a Solution; `latex` fields are written in the sheet's notation."""
    if solution.spec.graph is not None:  # a graph's names are the file's own (as on the sheet)
        notation = Notation(notation.style, notation.index_order, {})
    names = latex_names([n.name for n in solution.graph.nodes], notation)

    def to_latex(expr: Expr) -> str:
        symbols = symbol_names(expr.free_symbols, names)
        if plain_product(expr):
            return " ".join(symbols[a] for a in expr.args)
        return textbook_latex(expr, symbols)

    factor_texts: dict[Expr, str] = {}

    def factor_text(expr: Expr) -> str:
        # the same factor (∂L/∂ŷ₁, ∂ŷ₁/∂z) stands in many paths: print it once
        if expr not in factor_texts:
            factor_texts[expr] = str(expr)
        return factor_texts[expr]

    gradients = {}
    for key, g in solution.gradients.items():
        d = g.derivation
        entry: dict[str, Any] = {
            "value": number(g.value),
            "expr": to_text(d.result),
            "latex": to_latex(d.result),
            "certified": g.certificate,
            "path_count": d.path_count,
        }
        if d.assumptions:
            entry["assumptions"] = list(d.assumptions)
        if g.expanded is not None:
            entry["expanded"] = str(g.expanded)
        if d.paths is not None:
            entry["paths"] = [
                [
                    {"of": f.of, "wrt": f.wrt, "expr": factor_text(f.expr), "value": number(v)}
                    for f, v in zip(path, values)
                ]
                for path, values in zip(d.paths, g.factor_values or ())
            ]
        gradients[key] = entry
    out = {
        "title": solution.title,
        "values": {name: number(v) for name, v in solution.values.items()},
        "gradients": gradients,
        "updated": {name: number(v) for name, v in solution.updated.items()},
        # the adjoint of each computed node the gradients pass through: "dL/dz1[1]" is the δ
        # of z1[1] (a leaf's adjoint is its gradient, under "gradients")
        "deltas": {name: number(v) for name, v in solution.adjoint_values.items()
                   if (partial := Partial.parse(name)) is not None
                   and solution.graph.by_name[partial.wrt].expr is not None},
    }
    if solution.steps and solution.spec.optimizer is not None:
        out["optimizer"] = {**asdict(solution.spec.optimizer), "steps": [
            {"step": s.number, "loss": s.loss, "states": s.states} for s in solution.steps]}
    forms = layer_forms(solution)
    if forms:
        out["layers"] = layers_json(forms)
    return out


def layers_json(forms: LayerForms) -> dict[str, Any]:
    """The worked layer forms as numbers: each kernel entry's products, each pooled value's
    routing, each time step's δ, each normalised feature's gradients, each example's gradients."""
    return {
        "convolutions": [{"layer": c.layer, "kernels": {
            e.kernel: {"value": e.value, "terms": [[t.delta, t.delta_value, t.other, t.other_value] for t in e.terms]}
            for e in c.entries}} for c in forms.convolutions],
        "poolings": [{"layer": p.layer, "kind": p.kind, "routes": [
            {"output": r.output, "upstream": r.upstream, "window": [list(w) for w in r.window]}
            for r in p.routes]} for p in forms.poolings],
        "recurrences": [{"layer": r.layer, "example": r.example, "steps": [
            {"t": s.t, "h": list(s.h), "dL/dh": list(s.dh), "delta": list(s.dz)} for s in r.steps]}
            for r in forms.recurrences],
        "normalisations": [{"layer": b.layer, "features": [asdict(f) for f in b.features]}
                           for b in forms.normalisations],
        "batch": {g.parameter: {"per_example": list(g.per_example), g.reduction: g.reduced}
                  for g in forms.batch},
    }


def entry(e: Expr) -> float | int | str:
    """A matrix entry: a number when it is one (an exact integer stays an int), else its text."""
    if e.is_Integer:
        return int(e)
    if e.is_number:
        return float(e)
    return str(e)


def collapse_json(layer: EquivalentLayer) -> dict[str, Any]:
    """W' and b' of the equivalent layer: over the weight symbols, and with the numbers in."""
    def rows(m: Any, put: Any) -> list[list[Any]]:
        return [[put(m[k, j]) for j in range(m.cols)] for k in range(m.rows)]

    return {
        "inputs": list(layer.inputs),
        "outputs": list(layer.outputs),
        "weights": rows(layer.weights, str),
        "biases": [str(e) for e in layer.biases],
        "weight_values": rows(layer.weight_values, entry) if layer.weight_values is not None else None,
        "bias_values": [entry(e) for e in layer.bias_values] if layer.bias_values is not None else None,
        "certified": layer.certified,
    }


def matrix_json(m: MatrixBackprop) -> dict[str, Any]:
    """Backprop in matrix form by layer: δ, (W^{[l+1]})ᵀ δ^{[l+1]}, g'(z), ∂L/∂W and ∂L/∂b."""
    def listed(v: Any) -> Any:
        return None if v is None else [listed(x) if isinstance(x, tuple) else x for x in v]

    return {
        "layout": m.layout,
        "output_gradient": listed(m.output_gradient),
        "output_factor": str(m.head_form) if m.head_form is not None else None,
        "layers": [
            {"layer": l.layer, "weights": listed(l.weights), "inputs": listed(l.inputs),
             "delta": listed(l.delta), "propagated": listed(l.propagated),
             "derivative": listed(l.derivative), "weight_gradient": listed(l.weight_gradient),
             "bias_gradient": listed(l.bias_gradient)}
            for l in m.layers
        ],
    }


def dependency_json(d: Dependency) -> dict[str, Any]:
    return {"of": d.of, "on": d.on, "depends": d.depends, "through": list(d.through),
            "derivative": str(d.derivative), "witness": dict(d.witness)}


def proof_json(p: ProofSteps) -> dict[str, Any]:
    return {"definitions": [[str(f), str(d)] for f, d in p.definitions],
            "left": [str(e) for e in p.left], "right": [str(e) for e in p.right]}


def part_json(p: Part, notation: Notation) -> dict[str, Any]:
    return {
        "label": p.label,
        **(solution_json(p.solution, notation) if p.solution else {}),
        **({"vector": vector_json(p.vector)} if p.vector else {}),
        **({"verify": p.verdict.to_json()} if p.verdict else {}),
        **({"proof": proof_json(p.proof)} if p.proof else {}),
        **({"dependency": dependency_json(p.dependency)} if p.dependency else {}),
        **({"collapse": collapse_json(p.collapse)} if p.collapse else {}),
        **({"matrix": matrix_json(p.matrix)} if p.matrix else {}),
    }


def vector_json(g: VectorGradient) -> dict[str, object]:
    return {
        "function": str(g.function).replace("ExampleSum", "sum"),
        "gradient": [
            {"coefficient": str(t.coefficient), "vector": "x[i]" if t.summed else t.vector,
             "summed_over_examples": t.summed}
            for t in g.terms
        ],
        "check": g.certificate,
    }


def sheet_json(sheet: Sheet) -> dict[str, Any]:
    """A plain problem file gives the engine's JSON contract; a sheet, its questions and parts."""
    if sheet.single is not None:
        return solution_json(sheet.single, sheet.notation)
    return {
        "title": sheet.title,
        "questions": [
            {
                "number": q.number,
                "parts": [part_json(p, sheet.notation) for p in q.parts],
            }
            for q in sheet.questions
        ],
    }
