"""What a question states of a network beyond dense layers on one example (a kernel, a mini-batch,
a sequence): its known parameters and data as vectors and matrices, a block each, not entry by
entry.

A leaf's indices are its name's bracket groups: `K1[2,1,3,3]` (a kernel), `x[2][1,3,4]` (example
2, channel 1, row 3, column 4), `h1[0][2]` (the initial state).  The last two indices of the last
group are a matrix's rows and columns (one index: a vector); the earlier indices name the block
(K^{[1]}_{21}, x^{(2)}_{1}), so that a 6 × 6 input is one matrix, not 36 lines.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from symgrad.output.notation import family_latex
from symgrad.output.printer import DISPLAY_WIDTH, visible

if TYPE_CHECKING:
    from symgrad.engine.solution import Solution
    from symgrad.output.printer import PartPrinter

KINDS = ("weight", "bias", "input", "target")
RANK = {"weight": 0, "bias": 0, "input": 1, "target": 2}  # parameters layer by layer, then the data
GROUP = re.compile(r"\[([\d,]+)\]")
SMALL = 16  # entries of a block from which it is set in script size


def stated(p: PartPrinter, solution: Solution) -> list[str]:
    """The known parameters and data, a block a line (several short ones share a line)."""
    graph = solution.graph
    blocks: dict[tuple[int, str, tuple[int, ...], tuple[int, ...]], dict[tuple[int, ...], str]] = {}
    loose: list[str] = []  # entries of a block that is not wholly known
    for node in graph.nodes:
        value = graph.values.get(node.symbol)
        if node.kind not in KINDS or "[" not in node.name:
            continue
        groups = [tuple(int(i) for i in g.split(",")) for g in GROUP.findall(node.name)]
        family = node.name[:node.name.index("[")]
        last = groups[-1]
        lead = tuple(i for g in groups[:-1] for i in g)
        key = (RANK[node.kind], family, lead, last[:-2])
        blocks.setdefault(key, {})[last[-2:]] = (
            p.value(value, given=True) if isinstance(value, (int, float)) else "")
    for node in graph.nodes:  # a scalar leaf of the network (none today), as it is
        value = graph.values.get(node.symbol)
        if node.kind in KINDS and "[" not in node.name and isinstance(value, (int, float)):
            loose.append(f"{p.names[node.name]} = {p.value(value, given=True)}")
    lines: list[tuple[str, float]] = []  # each block, with its width as printed
    for (_, family, lead, prefix), entries in sorted(blocks.items(), key=lambda item: item[0][0]):
        if not all(entries.values()):  # some entry is unknown (symbolic): the known ones alone
            for at, text in entries.items():
                if text:
                    name = f"{family}{''.join(f'[{i}]' for i in lead)}[{','.join(map(str, prefix + at))}]"
                    loose.append(f"{p.names.get(name, name)} = {text}")
            continue
        name = block_latex(p, family, lead, prefix)
        small = len(entries) >= SMALL  # a 4 × 4 input and up: in script size, two to a line
        lines.append((f"{name} = {matrix(entries, small)}",
                      visible(f"{name} = ") + (0.7 if small else 1) * visible(matrix(entries))))
    out = together(lines + [(text, visible(text)) for text in loose])
    if graph.learning_rate is not None and solution.updated and solution.spec.optimizer is None:
        out.append(f"{p.eta} = {p.value(graph.learning_rate, given=True)}")
    return out


def block_latex(p: PartPrinter, family: str, lead: tuple[int, ...], prefix: tuple[int, ...]) -> str:
    """The name of a block: the family's symbol (K^{[1]}, x), the example's or time step's
    index up (x^{(2)}), the leading indices down (K^{[1]}_{21})."""
    tex = family_latex(family, p.notation)
    if lead:
        up = "".join(f"({i})" for i in lead)
        m = re.fullmatch(r"(.*)\^\{([^{}]*)\}", tex)
        tex = f"{m[1]}^{{{m[2]}{up}}}" if m else (f"{{{tex}}}^{{{up}}}" if "^" in tex else f"{tex}^{{{up}}}")
    if prefix:
        joiner = "," if any(i > 9 for i in prefix) else ""
        tex = (f"{{{tex}}}" if "_" in tex else tex) + "_{" + joiner.join(map(str, prefix)) + "}"
    return tex


def matrix(entries: dict[tuple[int, ...], str], small: bool = False) -> str:
    """A vector (one index) as a row (1, 2, 3), a matrix (two) as a pmatrix (a smallmatrix in
    brackets when `small`); one entry as itself."""
    if len(entries) == 1:
        return next(iter(entries.values()))
    if all(len(at) == 1 for at in entries):
        return r"\left(" + ", ".join(entries[at] for at in sorted(entries)) + r"\right)"
    rows: dict[int, list[Any]] = {}
    for (i, j) in sorted(entries):
        rows.setdefault(i, []).append(entries[(i, j)])
    body = r" \\ ".join(" & ".join(row) for row in rows.values())
    if small:
        return r"\left(\begin{smallmatrix} " + body + r" \end{smallmatrix}\right)"
    return r"\begin{pmatrix} " + body + r" \end{pmatrix}"


def together(lines: list[tuple[str, float]]) -> list[str]:
    """Short blocks side by side (with \\quad between), as many as a display line holds."""
    out: list[str] = []
    width = 0.0
    for line, wide in lines:
        if out and width + wide + 2 <= DISPLAY_WIDTH:
            out[-1] += r", \quad " + line
            width += wide + 2
        else:
            out.append(line)
            width = wide
    return out


def asked_gradients(p: PartPrinter, solution: Solution) -> str:
    """The asked gradients as the question words them; a network beyond dense layers on one
    example asks for a whole family at once when every entry is asked (∂L/∂K^{[1]}, each entry)
    rather than listing each of a kernel's or a batch's entries."""
    gradients = [g.derivation for g in solution.gradients.values()]
    network = solution.spec.network
    one = lambda d: f"${p.partial(d.top, d.wrt)}$"  # noqa: E731
    if network is None or network.plain:
        return ", ".join(one(d) for d in gradients)
    graph = solution.graph
    members: dict[str, set[str]] = {}  # a family's leaves
    for node in graph.nodes:
        if node.is_leaf and "[" in node.name:
            members.setdefault(node.name[:node.name.index("[")], set()).add(node.name)
    items: list[tuple[str, bool]] = []  # (text, a whole family)
    done: set[tuple[str, str]] = set()
    for d in gradients:
        family = d.wrt[:d.wrt.index("[")] if "[" in d.wrt else d.wrt
        if (d.top, family) in done:
            continue
        asked = {e.wrt for e in gradients if e.top == d.top and e.wrt.startswith(family + "[")}
        if family in members and len(asked) > 1 and asked == members[family]:
            done.add((d.top, family))
            top = p.names.get(d.top, d.top)
            items.append((r"$\partial %s / \partial %s$" % (top, family_latex(family, p.notation)), True))
        else:
            items.append((one(d), False))
    out = ""
    for k, (text, whole) in enumerate(items):
        out += (", " if k else "") + text
        if whole and (k + 1 == len(items) or not items[k + 1][1]):
            out += " (every entry)"
    return out
