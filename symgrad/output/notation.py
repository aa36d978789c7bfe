"""The sheet's notation: how each of symgrad's plain names (W2[1,1], yhat[1], ...) is written in LaTeX.

Styles: "bracket" W^{[l]}_{ij} (the default), "paren" W^{(l)}_{ij}, "flat" w_1, w_2, ... (every
weight numbered in order, as in a one-unit-per-layer chain).  `index_order = "in_out"` writes
the weight's subscripts from-to (w_{ij}: from unit i to unit j), as some courses do.  Single
symbols or whole families can be renamed: {"W1" = "C", "a1" = "h", "yhat" = "y", "y" = "t",
"L" = "J", "b2[1]" = "b_j"}.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from sympy import Symbol

from symgrad.input.names import Partial
from symgrad.input.sheetspec import Notation
from symgrad.output.latex import variable_latex

# W2[1,1]; with an example's or a time step's index first, z1[2][1] and h1[3][2]: z^{[1](2)}_{1}
INDEXED = re.compile(r"(?P<base>[A-Za-z]+?)(?P<layer>\d*)(?P<lead>(?:\[\d+\])*)\[(?P<index>[\d,]+)\]\Z")
LETTERS = {"yhat": r"\hat{y}", "W": "W", "b": "b", "z": "z", "a": "a", "x": "x", "y": "y",
           "gamma": r"\gamma", "beta": r"\beta", "mu": r"\mu", "var": r"\sigma^{2}", "xhat": r"\hat{x}",
           "xmu": r"\tilde{x}"}  # x̃ = x − μ, a batch normalisation's deviation from the mean
FLAT_LETTERS = {"W": "w"}
SCRIPTED = re.compile(r"[_^]")


def latex_names(names: Sequence[str], notation: Notation) -> dict[str, str]:
    """LaTeX for every node name of one problem (flat numbering needs them all at once)."""
    units: dict[str, set[str]] = {}  # the units that share a base and layer: one unit drops its index
    for name in names:
        m = INDEXED.match(name)
        if m:
            units.setdefault(m["base"] + m["layer"], set()).add(m["index"])
    counts = {family: len(indexes) for family, indexes in units.items()}
    numbering: dict[str, int] = {}
    out = {}
    for name in names:
        out[name] = name_latex(name, notation, counts, numbering)
    return out


def name_latex(
    name: str, notation: Notation, counts: Mapping[str, int], numbering: dict[str, int]
) -> str:
    if name in notation.symbols:
        return notation.symbols[name]
    m = INDEXED.match(name)
    if m is None:
        return variable_latex(name)  # L, a graph's own names: x1 ↦ x_{1}, alpha ↦ \alpha
    base, layer, index = m["base"], m["layer"], m["index"].split(",")
    if base == "L" and not layer:  # one example's loss in a mini-batch: L^{(n)}
        return "{%s}^{(%s)}" % (notation.symbols.get("L", "L"), m["index"])
    if base == "W" and notation.index_order == "in_out":
        index = index[::-1]
    family = base + layer
    alone = counts.get(family, 0) == 1 and base != "W"
    if family in notation.symbols:  # a renamed family drops its layer mark: C_{11}, h_{1}
        letter, mark = notation.symbols[family], ""
    elif notation.style == "flat" and layer:
        letter, mark = FLAT_LETTERS.get(base, LETTERS.get(base, base)), ""
        if counts.get(family, 0) > 1 or base == "W":
            numbering[base] = numbering.get(base, 0) + 1
            return f"{letter}_{{{numbering[base]}}}"
        return f"{letter}_{{{layer}}}"
    else:
        letter = notation.symbols.get(base, LETTERS.get(base, base))
        mark = f"^{{({layer})}}" if notation.style == "paren" else f"^{{[{layer}]}}"
        mark = mark if layer else ""
    # the example, the time step: (n), or ⟨n⟩ where the layer itself is written (l)
    around = (r"\langle ", r" \rangle") if notation.style == "paren" else ("(", ")")
    lead = "".join(f"{around[0]}{k}{around[1]}" for k in re.findall(r"\d+", m["lead"]))
    if alone and not layer:
        return letter + (f"^{{{lead}}}" if lead else "")  # a single output ŷ, target y, input x
    joiner = "," if any(len(i) > 1 for i in index) else ""
    if lead:
        mark = "^{%s%s}" % (mark[2:-1], lead)
    if SCRIPTED.search(letter) and (not mark or "^" in letter):  # {w_2}_{11}, {\sigma^{2}}^{[1]}
        letter = "{%s}" % letter
    return f"{letter}{mark}_{{{joiner.join(index)}}}"


def family_latex(family: str, notation: Notation) -> str:
    """A whole layer's symbol, as prose names it (\\q{W2}): W^{[2]}, C when renamed, \\hat{y}."""
    if family in notation.symbols:
        return notation.symbols[family]
    m = re.fullmatch(r"(?P<base>[A-Za-z]+?)(?P<layer>\d*)", family)
    if m is None:
        return variable_latex(family)
    base, layer = m["base"], m["layer"]
    letter = notation.symbols.get(base, LETTERS.get(base, base))
    if not layer:
        return letter
    if notation.style == "flat":
        return f"{letter}_{{{layer}}}"
    return f"{letter}^{{({layer})}}" if notation.style == "paren" else f"{letter}^{{[{layer}]}}"


def quantity_latex(name: str, names: Mapping[str, str], notation: Notation) -> str:
    """What prose's \\q{name} prints: a node's LaTeX, a family's, or the learning rate's."""
    name = name.replace(" ", "")
    if name in names:
        return names[name]
    return notation.eta if name == "eta" else family_latex(name, notation)


def delta_latex(z: str) -> str:
    """δ for the adjoint ∂L/∂z of a pre-activation written `z`: z^{[2]}_{1} ↦ δ^{[2]}_{1}."""
    if re.match(r"z(?![A-Za-z])", z):
        return r"\delta" + z[1:]
    return r"\delta_{%s}" % z


def adjoint_latex(name: str, names: Mapping[str, str]) -> str:
    """∂T/∂v for an adjoint symbol named "dT/dv"."""
    partial = Partial.parse(name)
    assert partial is not None, name
    return r"\frac{\partial %s}{\partial %s}" % (names[partial.top], names[partial.wrt])


def symbol_names(expr_symbols: set[Symbol], names: Mapping[str, str]) -> dict[Symbol, str]:
    """The LaTeX of each symbol of an expression: node names and adjoint symbols."""
    out = {}
    for s in expr_symbols:
        if s.name in names:
            out[s] = names[s.name]
        elif Partial.parse(s.name):
            out[s] = adjoint_latex(s.name, names)
    return out
