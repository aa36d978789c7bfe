"""The LaTeX of the analyses' records, for the templates: the equivalent single layer, backprop in
matrix form and a proof's steps.  The records hold the mathematics (sympy matrices, numbers,
expressions); this module only prints them, in the sheet's notation and at its precision.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sympy import Expr, Symbol

from symgrad.analyses.collapse import EquivalentLayer
from symgrad.analyses.matrixform import MatrixBackprop
from symgrad.output.latex import format_number, substituted_latex, textbook_latex, variable_latex
from symgrad.output.notation import delta_latex, symbol_names
from symgrad.output.printer import DISPLAY_WIDTH, visible
from symgrad.proof.steps import ProofSteps
from symgrad.proof.verify import Verdict

CONVENTION = (r"$W^{[l]}$ has one row per unit of layer $l$ (rows = output units, columns = input "
              r"units), as \texttt{torch.nn.Linear}.")
VECTOR_NAMES = {"yhat[1]": r"\hat{y}", "y[1]": "y"}  # a head form ŷ₁ − y₁ read as ŷ − y


def pmatrix(rows: Sequence[Sequence[str]]) -> str:  # a column vector is rows of one entry
    return r"\begin{pmatrix} %s \end{pmatrix}" % r" \\ ".join(" & ".join(r) for r in rows)


def bracket_family(family: str) -> str:
    """A layer's symbol in the default notation: W2 ↦ W^{[2]}, x ↦ x."""
    base, layer = family.rstrip("0123456789"), family[len(family.rstrip("0123456789")):]
    return f"{base}^{{[{layer}]}}" if layer else {"yhat": r"\hat{y}"}.get(base, base)


def factored(biased: Sequence[bool], family: Callable[[str], str] = bracket_family) -> str:
    """The nested product, as a textbook writes it for L layers (bias-free layers left out), each
    layer's symbol in the sheet's notation (`family("W2")`: W^{[2]}, or C when renamed)."""
    W = " ".join(family(f"W{l}") for l in range(len(biased), 0, -1))
    b = ""
    for l in range(1, len(biased) + 1):
        if b:
            b = f"{family(f'W{l}')} " + (rf"\left({b}\right)" if "+" in b else b)
        if biased[l - 1]:
            b = f"{b} + {family(f'b{l}')}" if b else family(f"b{l}")
    return rf"W' = {W}, \quad b' = {b or '0'}"


def collapse_context(layer: EquivalentLayer, names: Mapping[str, str], values: Mapping[Symbol, Any],
                     precision: int, family: Callable[[str], str] = bracket_family) -> dict[str, Any]:
    """The equivalent layer as LaTeX strings (math mode, no $):

      "weights":  [[W'_kj]] (k: output unit, j: input), "biases": [b'_k],
      "equation": z^{[L]} = W' x + b' with W', x and b' written out as pmatrix,
      "factored": "W' = W^{[L]} ⋯ W^{[1]}, \\quad b' = W^{[L]}(⋯) + b^{[L]}",
      "entries":  [{"lhs": "w'_{kj}" (single output "w'_{j}"), "rhs": entry}, ...,
                   {"lhs": "b'_{k}" (single output "b'"), "rhs": entry}],
      "numbers":  the same entries with "rhs" the numbers substituted and "value" the result,
                  when every weight and bias in them has a value; else None.
    `values` are the leaf values the numbers are written with.
    """
    W, b = layer.weights, layer.biases
    outputs = W.rows

    def tex(expr: Expr) -> str:
        return textbook_latex(expr, symbol_names(expr.free_symbols, names))

    def sub(*index: int) -> str:  # w'_{12}; a comma only when an index has two digits
        return ("," if any(i > 9 for i in index) else "").join(map(str, index))

    one = outputs == 1
    labelled = [(f"w'_{{{sub(j + 1) if one else sub(k + 1, j + 1)}}}", W[k, j])
                for k in range(outputs) for j in range(W.cols)]
    labelled += [("b'" if one else f"b'_{{{k + 1}}}", b[k]) for k in range(outputs)]
    numbers = None
    if layer.known:  # every entry a number: write each with its numbers in, then its value
        assert layer.weight_values is not None and layer.bias_values is not None
        known = [*layer.weight_values, *layer.bias_values]  # row by row, as labelled
        numbers = [{"lhs": lhs, "rhs": substituted_latex(
            e, symbol_names(e.free_symbols, names), values, precision, values.keys()),
            "value": format_number(int(v) if v.is_Integer else float(v), precision, keep_zeros=True)}
            for (lhs, e), v in zip(labelled, known)]
    zs = [[names[z]] for z in layer.outputs]
    equation = "%s = %s %s + %s" % (
        zs[0][0] if one else pmatrix(zs),
        pmatrix([[tex(W[k, j]) for j in range(W.cols)] for k in range(outputs)]),
        pmatrix([[names[x]] for x in layer.inputs]),
        pmatrix([[tex(b[k])] for k in range(outputs)]),
    )
    return {
        "weights": [[tex(W[k, j]) for j in range(W.cols)] for k in range(outputs)],
        "biases": [tex(b[k]) for k in range(outputs)],
        "equation": equation,
        "factored": factored(layer.biased, family),
        "entries": [{"lhs": lhs, "rhs": tex(e)} for lhs, e in labelled],
        "numbers": numbers,
    }


def matrix_context(m: MatrixBackprop, loss: str, precision: int,
                   family: Callable[[str], str] = bracket_family) -> dict[str, Any]:
    """Backprop in matrix form with the numbers, as LaTeX strings (math mode, no $); `loss` is
    the loss's LaTeX (L, J).  The shape:

    {"convention": text-mode sentence on the layout of W,
     "steps": [{"lhs", "formula", "numbers", "value"[, "note" (text mode)]}, ...]  # δ^{[L]} .. δ^{[1]}
     "gradients": [{"lhs", "formula", "numbers", "value"} for W^{[l]},
                   {"lhs", "formula", "value"} for b^{[l]} (layers with biases), l = L .. 1]}
    """
    def matrix(rows: Sequence[Sequence[float]], given: bool = False) -> str:
        return pmatrix([[format_number(v, precision, keep_zeros=not given) for v in row] for row in rows])

    def vec(v: Sequence[float]) -> str:
        return matrix([[x] for x in v])

    def delta(l: int) -> str:
        return delta_latex(family(f"z{l}"))

    def transposed(tex: str) -> str:  # (W^{[2]})^{T}, x^{T}
        return f"{tex}^{{T}}" if len(tex) == 1 else f"({tex})^{{T}}"

    depth, top = len(m.layers), m.layers[-1]
    top_delta = vec(top.delta)
    if m.output_gradient is not None and top.derivative is not None:
        formula = rf"\nabla_{{{family('yhat')}}} {loss} \odot g'({family(f'z{depth}')})"
        numbers = rf"{vec(m.output_gradient)} \odot {vec(top.derivative)}"
    else:  # softmax, or ∇_ŷ L folded into ŷ − y: the engine's ∂L/∂z^{[L]} as a whole
        formula, numbers = rf"\frac{{\partial {loss}}}{{\partial {family(f'z{depth}')}}}", top_delta
    first = {"lhs": delta(depth), "formula": formula, "numbers": numbers, "value": top_delta}
    if m.head_form is not None:
        form = textbook_latex(m.head_form, {s: VECTOR_NAMES[s.name] for s in m.head_form.free_symbols})
        first["note"] = (rf"the output factors combine: $\frac{{\partial {loss}}}"
                         rf"{{\partial {family(f'z{depth}')}}} = {form}$")
    steps = [first]
    for below, above in zip(reversed(m.layers[:-1]), reversed(m.layers[1:])):
        l = below.layer
        w_t = matrix(list(zip(*above.weights)), given=True)
        g = vec(below.derivative or [])
        steps.append({"lhs": delta(l),
                      "formula": rf"{transposed(family(f'W{l + 1}'))} {delta(l + 1)} \odot g'({family(f'z{l}')})",
                      "numbers": rf"{w_t} {vec(above.delta)} \odot {g} = {vec(below.propagated or [])} \odot {g}",
                      "value": vec(below.delta)})
    gradients: list[dict[str, str]] = []
    for layer in reversed(m.layers):
        l = layer.layer
        a = transposed(family("x") if l == 1 else family(f"a{l - 1}"))
        gradients.append({"lhs": rf"\frac{{\partial {loss}}}{{\partial {family(f'W{l}')}}}",
                          "formula": rf"{delta(l)} {a}",
                          "numbers": rf"{vec(layer.delta)} {matrix([layer.inputs], given=l == 1)}",
                          "value": matrix(layer.weight_gradient)})
        if layer.bias_gradient is not None:
            gradients.append({"lhs": rf"\frac{{\partial {loss}}}{{\partial {family(f'b{l}')}}}",
                              "formula": delta(l), "value": vec(layer.bias_gradient)})
    # which lines fit on one line: δ^{[2]} = ... = (−0.09606), in the order of steps + gradients
    inline = [visible(" = ".join([s["lhs"], s["formula"], s.get("numbers", ""), s["value"]]))
              < DISPLAY_WIDTH for s in steps + gradients]
    return {"convention": CONVENTION, "steps": steps, "gradients": gradients, "inline": inline}


def proof_context(verdict: Verdict, steps: ProofSteps | None, precision: int,
                  renamed: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The proof from definitions, as the sources write it, or the counterexample.  A claim's
    variable that the sheet renames as a single symbol (`L = "J"`, `eta = "\\alpha"`) is written so."""
    renamed = renamed or {}

    def tex(expr: Expr) -> str:
        return textbook_latex(expr, {s: renamed[s.name] for s in expr.free_symbols
                                     if isinstance(s, Symbol) and s.name in renamed})

    def lines(side: Sequence[Expr]) -> list[str]:
        out: list[str] = []
        for e in side:  # two steps that print alike are one
            if not out or tex(e) != out[-1]:
                out.append(tex(e))
        return out

    steps = steps or ProofSteps((), (), ())
    context: dict[str, Any] = {
        "status": verdict.status,
        "claim": f"{tex(verdict.lhs)} = {tex(verdict.rhs)}",
        "definitions": [f"{tex(f)} = {tex(d)}" for f, d in steps.definitions]
        + [f"{renamed.get(n) or variable_latex(n)} = {tex(v)}" for n, v in verdict.definitions],
        "left": lines(steps.left), "right": lines(steps.right), "same": False,
        "counterexample": None, "reason": verdict.reason, "caveats": verdict.caveats,
    }
    if context["left"] and context["right"]:
        context["same"] = context["left"][-1] == context["right"][-1]
    context["inline"] = all(visible(" = ".join(side)) < DISPLAY_WIDTH
                            for side in (context["left"], context["right"]))
    if verdict.counterexample and verdict.values:
        point = ", ".join(f"{renamed.get(n) or variable_latex(n)} = {format_number(v, precision)}"
                          for n, v in verdict.counterexample.items())
        left, right = (format_number(v, precision, keep_zeros=True) for v in verdict.values)
        context["counterexample"] = {"point": point, "left": left, "right": right}
    return context
