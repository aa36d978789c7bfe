"""Backpropagation on the answer key, as textbooks write it, and the gradient-descent step.

Style "paths": each partial by the chain rule, one product a path, each factor once with its
number.  Style "delta": the error δ = ∂L/∂z of each unit once, from the output down, with its
working and numbers; then one short line a parameter, ∂L/∂W_ij = δ_i a_j.  Either way every
number in a line is derived in an earlier one.  The default is δ for a network with more than a
few parameters (and wherever there are too many paths to show), paths for graphs and small
problems.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sympy
from sympy import Expr, Symbol

from symgrad.input.names import Partial
from symgrad.output.notation import delta_latex
from symgrad.output.printer import DISPLAY_WIDTH, FIT_WIDTH, Chain, PartPrinter, joined, packed, row, visible

if TYPE_CHECKING:
    from symgrad.engine.solution import Gradient, Solution

FEW_PARAMETERS = 6  # a network with more than this many weights and biases is shown in δ form


def style_of(asked: str, solution: Solution) -> str:
    """The part's `style`, or the default: δ for a network with a loss and more than a few
    parameters, paths for graphs and small problems."""
    if asked:
        return asked
    network = solution.spec.network
    return "delta" if network and solution.graph.output and len(solution.graph.updatable) > FEW_PARAMETERS else "paths"


def backprop_context(p: PartPrinter, style: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(sections, gradients): each section is {"kind": "delta", "intro", "rows", "assumptions",
    "gradients"} or {"kind": "paths", "gradients"}; `gradients` lists every gradient's context
    in the engine's order (each has a "figure" slot for its highlighted paths)."""
    solution = p.solution
    by_top: dict[str, list[Gradient]] = {}
    for g in solution.gradients.values():
        by_top.setdefault(g.derivation.top, []).append(g)
    shown: dict[str, dict[str, Any]] = {}
    sections: list[dict[str, Any]] = []
    for top, gradients in by_top.items():
        too_many = any(g.derivation.paths is None and g.derivation.wrt != top for g in gradients)
        if (style == "delta" and top == solution.graph.output) or too_many:
            section = delta_section(p, top, gradients)
        else:
            contexts = [paths_context(p, g) for g in gradients]
            section = {"kind": "paths", "gradients": contexts}
            if sections and sections[-1]["kind"] == "paths":  # ∂h/∂z, then ∂y/∂z: one section
                sections[-1]["gradients"] += contexts
                section = sections.pop()
            section["groups"] = grouped(section["gradients"])
        sections.append(section)
        shown.update({g["key"]: g for g in section["gradients"]})
    return sections, [shown[key] for key in solution.gradients]


# --- style "paths" --------------------------------------------------------------------------------


def paths_context(p: PartPrinter, g: Gradient) -> dict[str, Any]:
    d = g.derivation
    lhs = p.partial(d.top, d.wrt)
    factors: dict[tuple[str, str], dict[str, Any]] = {}
    chain = []
    if d.paths and any(len(path) > 1 for path in d.paths):  # ∂J/∂w = ∂J/∂w says nothing
        chain = [r" \cdot ".join(p.partial(f.of, f.wrt) for f in path) for path in d.paths]
        for path, values in zip(d.paths, g.factor_values or ()):
            for f, v in zip(path, values):
                if (f.of, f.wrt) not in factors:
                    # a factor's value is shown when it is a number (not the factor in leaves)
                    factors[f.of, f.wrt] = p.equation("", p.partial(f.of, f.wrt), f.expr,
                                                      v if is_numeric(v) else None)
    heads = dict(d.heads)
    head_rows = []
    for head, form in d.heads:
        value = p.values.get(Symbol(str(Partial(d.top, head)), real=True))
        head_rows.append(p.equation("", p.partial(d.top, head), form, value))
    products: list[list[Expr]] = []
    numbers: list[list[str]] = []
    has_numbers = False
    for path, values in zip(d.paths or (), g.factor_values or ()):
        cut = next((i for i, f in enumerate(path) if f.wrt in heads), None)
        pairs = [(f.expr, v) for f, v in zip(path, values)]
        if cut is not None:  # the output factors combined (ŷ − y), with the value of ∂L/∂z
            head = path[cut].wrt
            head_value = p.values.get(Symbol(str(Partial(d.top, head)), real=True), heads[head])
            pairs = [(heads[head], head_value), *pairs[cut + 1:]]
        products.append([e for e, _ in pairs])
        numbers.append([factor_number(p, e, v) for e, v in pairs if e != 1] or ["1"])
        # a numeric line only where a factor that is not a constant has a number
        has_numbers = has_numbers or any(is_numeric(v) and not e.is_number for e, v in pairs)
    # each form once: the chain in its order, the result after cancelling, a graph's in its leaves
    steps: list[list[str]] = []
    forms: list[Expr] = []  # what is shown, to show each form once (in whatever order)
    if products:
        written = Chain(tuple(Chain.product(list(f)).terms[0] for f in products))
        steps.append(p.chain(written) or [])
        forms.append(written.expr())
    for form in (d.result, g.expanded):
        if form is not None and form not in forms and not (steps and form.is_number):
            steps.append(p.lines(form, p.tex))
            forms.append(form)
    if len(products) == 1 and len(products[0]) == 1:  # one factor: its numbers substituted
        if p.numbers(products[0][0]) is not None:
            steps.append(p.lines(products[0][0], lambda e: p.numbers(e) or p.tex(e)))
    elif has_numbers:
        steps.append(number_lines(numbers))
    result = None
    if is_numeric(g.value):
        result = p.value(g.value)

    return {
        "key": g.key,
        "lhs": lhs,
        "figure": None,  # with show = ["paths"]: the figure with this partial's paths in red
        "chain": chain,
        "chain_inline": sum(len(path) for path in chain) < 220,
        "factors": list(factors.values()),
        "factor_columns": columns(list(factors.values())),
        "heads": head_rows,
        "result": row(g.key, lhs, steps, result, box=True),
        "assumptions": [assumption_tex(a, p.names) for a in d.assumptions] if head_rows else [],
    }


def is_numeric(value: Any) -> bool:
    """A number, or an expression with numbers in it (linear in an unknown target, say)."""
    return isinstance(value, (int, float)) or (isinstance(value, sympy.Basic) and value.has(sympy.Float))


def factor_number(p: PartPrinter, expr: Expr, value: Any) -> str:
    """A factor's value as its own line shows it; a value still linear in an unknown y, in brackets."""
    if isinstance(value, (int, float)):
        return p.value_of(expr, value)
    text = p.value(value) if is_numeric(value) else p.tex(value)
    return rf"\left({text}\right)" if getattr(value, "is_Add", False) else text


def grouped(contexts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Partials with no chain to show (one factor: ∂h/∂z = h(1 − h)) set together in one display;
    each other partial on its own."""
    groups: list[dict[str, Any]] = []
    for g in contexts:
        simple = not g["chain"] and not g["heads"]
        if simple and groups and groups[-1]["simple"]:
            groups[-1]["gradients"].append(g)
        else:
            groups.append({"simple": simple, "gradients": [g]})
    return groups


def number_lines(products: list[list[str]]) -> list[str]:
    """Σ over paths of the product of the factors' numbers, parenthesising the negative ones."""
    texts = []
    for product in products:
        shown = [product[0]] + [rf"\left({t}\right)" if t.startswith("-") else t for t in product[1:]]
        texts.append(r" \cdot ".join(shown))
    whole = texts[0] + "".join(joined(t) for t in texts[1:])
    return [whole] if len(whole) < 110 and visible(whole) <= FIT_WIDTH else packed(texts)


def assumption_tex(assumption: str, names: dict[str, str]) -> str:
    """"y[1] + y[2] = 1" in the sheet's notation."""
    lhs, rhs = assumption.split(" = ")
    terms = [names[t.strip()] for t in lhs.split("+")]
    return " + ".join(terms) + " = " + rhs


# --- style "delta" --------------------------------------------------------------------------------


def delta_section(p: PartPrinter, top: str, gradients: list[Gradient]) -> dict[str, Any]:
    """δ = ∂T/∂v for each unit the asked gradients pass through, from the output down, then a
    short line a gradient over those δ."""
    solution = p.solution
    graph, sweep = solution.graph, solution.sweeps[top]
    T = sweep.top.symbol
    node_of = {s: v for v, s in sweep.adjoint_symbols.items() if isinstance(s, Symbol)}
    network = solution.spec.network is not None
    for v, s in sweep.adjoint_symbols.items():  # δ for a network's pre-activations
        if network and isinstance(s, Symbol) and graph.by_symbol[v].kind == "preactivation":
            p.adjoints[s] = delta_latex(p.names[graph.by_symbol[v].name])

    def transparent(v: Symbol) -> bool:
        """An elementwise activation a = g(z): its adjoint is folded into δ of its z."""
        node = graph.by_symbol[v]
        return network and v != T and node.kind == "activation" and len(node.partials) == 1

    def chain_of(v: Symbol, raw: bool = False) -> Chain:
        """∂T/∂v over the adjoints of v's children (δ), in the order the chain rule writes it."""
        if v in sweep.simplified and not raw:
            return Chain.product([sweep.head_forms[v]])
        terms = []
        for c in graph.children[v]:
            if c not in sweep.relevant:
                continue
            local = graph.by_symbol[c].partials[v]
            if c == T:
                terms.append(Chain.product([local]))
            elif transparent(c):
                terms.append(Chain.product([chain_of(c), local]))
            else:
                terms.append(Chain.product([sweep.adjoint_symbols[c], local]))
        return Chain(tuple(t.terms[0] for t in terms))

    def used(chain: Chain) -> set[Symbol]:
        out: set[Symbol] = set()
        for term in chain.terms:
            for f in term:
                out |= used(f) if isinstance(f, Chain) else {node_of[s] for s in f.free_symbols if s in node_of}
        return out

    wanted = [graph.node(g.derivation.wrt).symbol for g in gradients]
    needed: set[Symbol] = set()
    todo = set().union(*(used(chain_of(w)) for w in wanted))
    while todo:
        v = todo.pop()
        if v not in needed and v != T:
            needed.add(v)
            todo |= used(chain_of(v))
    rank: dict[Symbol, int] = {T: 0}  # steps down from the top: a layer's units together
    for v in sweep.order[1:]:
        rank[v] = 1 + max(rank[c] for c in graph.children[v] if c in sweep.relevant)
    position = {n.symbol: k for k, n in enumerate(graph.nodes)}
    rows, simplified = [], False
    for v in sorted(needed, key=lambda v: (rank[v], position[v])):
        name = graph.by_symbol[v].name
        adjoint = sweep.adjoint_symbols[v]
        lhs = p.partial(top, name)
        if adjoint in p.adjoints:
            lhs = f"{p.adjoints[adjoint]} = {lhs}"
        chain = chain_of(v)
        steps = []
        if v in sweep.simplified:  # ∂L/∂ŷ · ∂ŷ/∂z, then the form it simplifies to (ŷ − y)
            steps.append(p.chain(chain_of(v, raw=True)) or [])
            simplified = True
        steps.append(p.chain(chain) or [])
        numbers = p.chain(chain, numbers=True)
        if numbers:
            steps.append(numbers)
        value = solution.adjoint_values.get(str(adjoint))
        result = p.value(value) if is_numeric(value) else None
        rows.append({**row(str(adjoint), lhs, steps, result), "node": name})
    lines = []
    for g in gradients:
        w = graph.node(g.derivation.wrt).symbol
        chain = chain_of(w)
        lhs = p.partial(top, g.derivation.wrt, slash=True)  # a line each: kept one line high
        steps = [p.chain(chain) or [], p.chain(chain, numbers=True) or []]
        result = p.value(g.value) if is_numeric(g.value) else None
        lines.append({"key": g.key, "lhs": lhs, "figure": None, "short": True,
                      "result": row(g.key, lhs, steps, result, box=True)})
    loss = p.names[top]
    unit = r"\delta = \partial %s / \partial z" % loss if network else r"\partial %s / \partial v" % loss
    return {
        "kind": "delta",
        "intro": (rf"The error ${unit}$ of each unit, once, from the output down:" if network else
                  rf"The adjoint ${unit}$ of each variable, once, from the output down:"),
        "rows": rows,
        "assumptions": [assumption_tex(a, p.names) for a in sweep.assumptions] if simplified else [],
        "gradients": lines,
        "columns": columns([g["result"] for g in lines]),
        "outro": (r"Each gradient from the $\delta$ of the unit its parameter feeds:" if network
                  else "Each gradient from the adjoints above:"),
    }


def columns(rows: list[dict[str, Any]]) -> int:
    """Two columns when every row is one short line (half a display, with room between)."""
    short = len(rows) > 2 and all(r["inline"] and r["width"] <= DISPLAY_WIDTH / 2 - 3 for r in rows)
    return 2 if short else 1


def update_columns(updates: list[dict[str, Any]]) -> int:
    """Two columns when every θ ← numbers = value is short."""
    return columns([{"inline": True, "width": visible(f"{u['theta']} = {u['numbers']} = {u['result']}")}
                    for u in updates])


# --- the gradient-descent step -------------------------------------------------------------------


def update_context(p: PartPrinter, name: str, old: Any, eta: float, g: Gradient, new: Any) -> dict[str, Any]:
    """θ ← θ − η ∂L/∂θ with its numbers; the new value with enough digits to show the change."""
    theta = p.names[name]
    grad = p.value(g.value)
    if not isinstance(g.value, (int, float)) or g.value < 0:
        grad = r"\left(%s\right)" % grad
    digits = visible_digits(old, new, p.precision)
    rate = p.value(eta, given=True)
    return {
        "key": f"updated {name}",
        "theta": theta,
        "rate": p.eta,
        "gradient": p.partial(g.derivation.top, name),
        "numbers": "%s - %s \\cdot %s" % (p.value(old, given=True), rate if eta >= 0 else r"\left(%s\right)" % rate, grad),
        "result": p.value(new, digits=digits),
        "old": p.value(old, given=True),
        "slope": p.value(g.value),
    }


def visible_digits(old: Any, new: Any, precision: int) -> int:
    """The significant figures that show a non-zero change: 3 − 0.1 · (−3.9 × 10⁻⁴) is 3.000039,
    not 3 (the stated precision, or more when it would hide the step)."""
    from symgrad.output.latex import format_number

    if not (isinstance(old, (int, float)) and isinstance(new, (int, float))) or old == new:
        return precision
    digits = precision
    while digits < 15 and format_number(float(new), digits, True) == format_number(float(old), digits, True):
        digits += 1
    return digits
