"""A whole layer written at once, `\\mathbf{h} = (0.5933, 0.5969)`, `W_1 = \\begin{pmatrix} ...
\\end{pmatrix}`, `\\delta^{[2]} = ...`: split into one statement per entry, each in the engine's
name, so that every entry is judged like a line of its own.

The left side names a layer's vector or matrix: x, h or a (a hidden layer), z, ŷ or o, W, b, δ,
a bar-adjoint (`\\bar{\\mathbf{h}}`), an updated value, or a gradient `\\frac{\\partial L}{\\partial
W^{[2]}}`.  Which layer is read from the student's notation: the name's entries, written as the
scalars they would be (`h_1`, `h_2`; `W^{[2]}_{11}`; `\\mathbf{a}_1` as `a^{[1]}_k`), must map
to exactly the nodes of one layer; failing that, a base letter whose scalars all name one kind of
quantity (or a conventional letter, when the document gives it no meaning) with an explicit layer.
The last side must be a matrix whose shape fits that layer: a vector of its units, row or column;
a weight matrix units_out × units_in, or transposed (Wᵀx), the problem's layout deciding a square
one.  Anything else, or a name tied to no layer or to two, is left as it is (never a guess).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from symgrad.input.answers import Element, Statement
from symgrad.input.mathtext import Call, Const, Matrix, Name, Node, Num, Op, Partial, walk
from symgrad.input.names import Partial as PartialName

if TYPE_CHECKING:
    from symgrad.analyses.scope import Scope

NODE_NAME = re.compile(r"^([A-Za-z]+)(\d*)\[(\d+)(?:,(\d+))?\]$")  # a1[2], W2[1,3], yhat[1]
LAYERED = {"a", "z", "b", "W"}  # stems that carry a layer number
# conventional letters (README "The student's notation"), used only for a base the document
# gives no meaning, and only with an explicit layer: h^{[1]}, W_2, \delta^{(2)}
CONVENTIONAL = {"h": ("", "a"), "a": ("", "a"), "z": ("", "z"), "W": ("", "W"), "w": ("", "W"),
                "b": ("", "b"), "delta": ("d", "z")}
BOLD = ("\\mathbf", "\\boldsymbol", "\\bm", "\\vec", "\\pmb", "\\overrightarrow")
Index = tuple[int, ...]
_FAMILIES: WeakKeyDictionary[Scope, dict[str, Family]] = WeakKeyDictionary()
_RESOLVED: WeakKeyDictionary[Scope, dict[str, Family | None]] = WeakKeyDictionary()


@dataclass(frozen=True)
class Family:
    """The nodes of one layer's vector or matrix: a1[1..n], W2[1..U, 1..I], dL/dz2[1..n]."""

    prefix: str  # "" or "dL/d" (an adjoint of the graph's output)
    stem: str  # "a1", "W2", "yhat", "x"
    shape: tuple[int, ...]  # (n,) or (units_out, units_in)

    def name(self, index: Index) -> str:
        return f"{self.prefix}{self.stem}[{','.join(map(str, index))}]"

    def indices(self) -> list[Index]:
        if len(self.shape) == 1:
            return [(k,) for k in range(1, self.shape[0] + 1)]
        return [(i, j) for i in range(1, self.shape[0] + 1) for j in range(1, self.shape[1] + 1)]

    @property
    def kind(self) -> tuple[str, str]:
        return self.prefix, self.stem.rstrip("0123456789")

    @property
    def layer(self) -> int | None:
        digits = self.stem[len(self.stem.rstrip("0123456789")):]
        return int(digits) if digits and self.kind[1] in LAYERED else None


def families(scope: Scope) -> dict[str, Family]:
    """Every whole vector or matrix of the scope's network (and the adjoints of the vectors), by
    its full stem: "a1", "W2", "dL/dz2"."""
    if scope in _FAMILIES:
        return _FAMILIES[scope]
    found: dict[str, set[Index]] = {}
    for node in scope.graph.nodes:
        m = NODE_NAME.match(node.name)
        if m:
            index = (int(m[3]),) if m[4] is None else (int(m[3]), int(m[4]))
            found.setdefault(m[1] + m[2], set()).add(index)
    out: dict[str, Family] = {}
    for stem, indices in found.items():
        sizes = {len(i) for i in indices}
        if len(sizes) != 1:
            continue
        shape = tuple(max(i[d] for i in indices) for d in range(sizes.pop()))
        family = Family("", stem, shape)
        if set(family.indices()) != indices:
            continue  # not a whole vector or matrix
        out[stem] = family
        output = scope.graph.output
        if output:
            adjoint = Family(f"d{output}/d", stem, shape)
            if all(scope.has(adjoint.name(i)) for i in adjoint.indices()):
                out[adjoint.prefix + stem] = adjoint
    _FAMILIES[scope] = out
    return out


def family_of(target: str, scope: Scope) -> Family | None:
    """The family an engine name belongs to: "a1[2]" → a1, "dL/dz2[1]" → dL/dz2."""
    output = scope.graph.output or "L"
    prefix = f"d{output}/d" if target.startswith(f"d{output}/d") else ""
    m = NODE_NAME.match(target[len(prefix):])
    return families(scope).get(prefix + m[1] + m[2]) if m else None


def index_text(index: Index) -> str:
    """An index as mathtext keys write it: 3, 12 for (1, 2), 10,2 for (10, 2)."""
    if len(index) == 1:
        return str(index[0])
    parts = [str(i) for i in index]
    return "".join(parts) if all(len(p) == 1 for p in parts) else ",".join(parts)


def layer_of(text: str) -> int | None:
    m = re.fullmatch(r"\[(\d+)\]|\((\d+)\)|(\d+)", text)
    return int(next(g for g in m.groups() if g)) if m else None


# ---------------------------------------------------------------------------------------------
# A name as a whole vector or matrix


def resolve(key: str, scope: Scope) -> Family | None:
    """The one layer vector or matrix a name key ("h||", "W||[2]", "a|1|") stands for in this
    scope, or None when it stands for none or for more than one."""
    known = _RESOLVED.setdefault(scope, {})
    if key not in known:
        known[key] = resolved(key, scope)
    return known[key]


def resolved(key: str, scope: Scope) -> Family | None:
    if not scope.layers or key.startswith("=") or key.count("|") != 2:
        return None
    base, sub, sup = key.split("|")
    bases = {base, base.swapcase()} if len(base) == 1 and base.isalpha() else {base}
    if any(k in scope.ambiguous for k in (key, *(f"{b}|{sub}|{sup}" for b in bases))):
        return None
    if not sub:
        schemes: list[Callable[[str], str]] = [lambda i: f"{base}|{i}|{sup}"]
    elif not sup and sub.isdigit():
        schemes = [lambda i, s=s: f"{base}|{i}|{s}" for s in (f"[{sub}]", f"({sub})")]
    else:
        return None
    found: set[Family] = set()
    for family in families(scope).values():
        for entry_key in schemes:
            targets = []
            for index in family.indices():
                target = scope.engine_name(Name(entry_key(index_text(index)), "", 0))
                if target is None or family_of(target, scope) != family:
                    break
                targets.append(target)
            else:
                if len(set(targets)) == len(targets) >= 2:
                    found.add(family)
    if found:
        return found.pop() if len(found) == 1 else None
    # a letter with an explicit layer: \mathbf{h}_1, W^{[2]} when only W^{[2]}_{11} is known
    layer = layer_of(sup) if not sub else layer_of(sub)
    if layer is None:
        return None
    kinds = set()
    for k, target in scope.names.items():
        if k.startswith("=") or k.split("|")[0] not in bases or k in scope.ambiguous:
            continue
        family = family_of(target, scope)
        kinds.add(family.kind if family is not None else None)
    if not kinds:
        kinds = {CONVENTIONAL[base]} if base in CONVENTIONAL else set()
    if len(kinds) != 1 or None in kinds:
        return None
    (prefix, stem), = kinds
    if stem not in LAYERED:
        return None
    return families(scope).get(f"{prefix}{stem}{layer}" if prefix else f"{stem}{layer}")


# ---------------------------------------------------------------------------------------------
# The left side


@dataclass(frozen=True)
class Head:
    """What the left side names: a family, how to make each entry's head, and its text."""

    family: Family
    make: Callable[[str, str], Node]  # (engine name, text) → the entry's head node
    text: str
    transposed: bool  # W^T = ...: the written matrix is the family's transposed


def transposed_name(node: Node) -> tuple[Name | Partial | None, bool]:
    """A name, possibly transposed (W_1^T, (W^{[1]})^T, W^{[2]T}); the flag says so."""
    if isinstance(node, Op) and node.op == "^" and len(node.args) == 2 and \
            isinstance(node.args[1], Name) and node.args[1].key == "T||" and \
            isinstance(node.args[0], (Name, Partial)):
        return node.args[0], True
    if isinstance(node, Name) and node.key.endswith("T") and node.key.count("|") == 2:
        base, sub, sup = node.key.split("|")
        return Name(f"{base}|{sub}|{sup[:-1]}", node.text, node.at, node.bar, node.updated), True
    if isinstance(node, (Name, Partial)):
        return node, False
    return None, False


def head_of(element: Element, scope: Scope) -> Head | None:
    if element.node is None:
        return None
    node, transposed = transposed_name(element.node)
    output = scope.graph.output or "L"
    if isinstance(node, Name):
        family = resolve(node.key, scope)
        if family is None:
            return None
        if node.bar or node.updated:
            if family.prefix:
                return None
            wanted = (lambda n: str(PartialName(output, n))) if node.bar else \
                (lambda n: f"updated {n}")
            if not all(scope.has(wanted(family.name(i))) for i in family.indices()):
                return None
        bar, updated = node.bar, node.updated
        return Head(family, lambda name, text: Name("=" + name, text, node.at, bar, updated),
                    element.text, transposed)
    if isinstance(node, Partial):
        of = scope.engine_name(node.top)
        family = resolve(node.wrt.key, scope)
        if of is None or PartialName.parse(of) or family is None or family.prefix or \
                resolve(node.top.key, scope) is not None:
            return None
        if not all(scope.has(str(PartialName(of, family.name(i)))) for i in family.indices()):
            return None
        top = Name("=" + of, node.top.text, node.top.at)
        return Head(family, lambda name, text: Partial(top, Name("=" + name, text, node.wrt.at),
                                                        node.at),
                    element.text, transposed)
    return None


# ---------------------------------------------------------------------------------------------
# The written matrix, read against the family's shape


def written(node: Node | None) -> tuple[Matrix, bool] | None:
    """A side that is a matrix, or a matrix transposed (\\begin{pmatrix} ... \\end{pmatrix}^T)."""
    if isinstance(node, Matrix):
        return node, False
    if isinstance(node, Op) and node.op == "^" and len(node.args) == 2 and \
            isinstance(node.args[0], Matrix) and isinstance(node.args[1], Name) and \
            node.args[1].key == "T||":
        return node.args[0], True
    return None


def rows_of(matrix: Matrix, transposed: bool) -> list[list[Node]]:
    rows = [list(r) for r in matrix.rows]
    return [list(c) for c in zip(*rows)] if transposed else rows


def placement(family: Family, shape: tuple[int, int], layout: str | None,
              ) -> dict[tuple[int, int], Index] | None:
    """Each written position (row, column) → the family's index, or None when the shape fits
    no reading, or two with nothing to choose between them."""
    rows, cols = shape
    if len(family.shape) == 1:
        n = family.shape[0]
        if rows * cols != n or min(rows, cols) != 1 or n < 2:
            return None
        return {(r, c): (r * cols + c + 1,) for r in range(rows) for c in range(cols)}
    out_, in_ = family.shape
    if rows * cols < 2:
        return None
    readings = []
    if (rows, cols) == (out_, in_):
        readings.append("out_in")
    if (rows, cols) == (in_, out_):
        readings.append("in_out")
    if len(readings) == 2:
        readings = [layout] if layout in readings else []
    if len(readings) != 1:
        return None
    flip = readings[0] == "in_out"
    return {(r, c): ((c + 1, r + 1) if flip else (r + 1, c + 1))
            for r in range(rows) for c in range(cols)}


# ---------------------------------------------------------------------------------------------
# The sides between: matrices of the same shape, or formulas taken entry by entry


ENTRYWISE_OPS = {"+", "neg", "*", "/", "^"}


def entry_of(node: Node, position: tuple[int, int], shape: tuple[int, int], scope: Scope,
             vector: int | None) -> Node | None:
    """The side's entry at a written position, or None when it cannot be taken soundly: a
    matrix of the same shape, or a formula of vector names of the same length, numbers,
    scalar names and elementwise functions (σ(\\mathbf{z})); no products of two vectors."""
    found = written(node)
    if found is not None:
        rows = rows_of(*found)
        r, c = position
        if (len(rows), len(rows[0])) == shape:
            return rows[r][c]
        if vector is not None and len(rows) * len(rows[0]) == vector and \
                min(len(rows), len(rows[0])) == 1:  # a column for a row, or a row for a column
            k = r * shape[1] + c
            flat = [x for row in rows for x in row]
            return flat[k]
        return None
    if vector is None:
        return None  # a matrix: only matrices of the same shape
    k = position[0] * shape[1] + position[1] + 1
    used = [False]

    def go(n: Node) -> Node | None:
        if isinstance(n, (Num, Const)):
            return n
        if isinstance(n, Name):
            family = resolve(n.key, scope)
            scalar = scope.engine_name(n)
            bold = n.text.startswith(BOLD)
            if family is not None and len(family.shape) == 1 and family.shape[0] == vector and \
                    not family.prefix and (bold or scalar is None):
                used[0] = True
                name = family.name((k,))
                if n.bar and not scope.has(str(PartialName(scope.graph.output or "L", name))):
                    return None
                return Name("=" + name, f"{n.text}[{k}]", n.at, n.bar, n.updated)
            if family is None and scalar is not None and not bold:
                return n  # a scalar (η, a given number's name) is the same in every entry
            return None
        if isinstance(n, Call):
            if n.function.startswith("?") and scope.function(n.function[1:]) is None:
                return None
            args = [go(a) for a in n.args]
            return None if any(a is None for a in args) else \
                Call(n.function, tuple(args), n.derivative, n.text)  # type: ignore[arg-type]
        if isinstance(n, Op) and n.op in ENTRYWISE_OPS:
            if n.op in ("*", "/", "^"):
                with_vectors = [a for a in n.args if vector_in(a, scope)]
                if len(with_vectors) > 1 or n.op == "^" and n.args[-1] in with_vectors:
                    return None
            args = [go(a) for a in n.args]
            return None if any(a is None for a in args) else Op(n.op, tuple(args))  # type: ignore[arg-type]
        if isinstance(n, Partial):
            of, by = scope.engine_name(n.top), scope.engine_name(n.wrt)
            if of is None or by is None or resolve(n.top.key, scope) or resolve(n.wrt.key, scope):
                return None
            return n
        return None

    out = go(node)
    return out if used[0] else None


def vector_in(node: Node, scope: Scope) -> bool:
    return any(isinstance(n, Matrix) or isinstance(n, Name) and resolve(n.key, scope) is not None
               for n in walk(node))


# ---------------------------------------------------------------------------------------------
# Texts of the entries


def split_top(text: str, separator: str) -> list[str]:
    """The text split at each separator outside braces, brackets, parentheses and environments."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(text):
        if text.startswith("\\begin{", i):
            depth += 1
            i += 7
            continue
        if text.startswith("\\end{", i):
            depth -= 1
            i += 5
            continue
        ch = text[i]
        if text.startswith("\\\\", i) and separator != "\\\\":
            i += 2
            continue
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "{}()[]":
            i += 2
            continue
        if ch in "{([":
            depth += 1
        elif ch in "})]":
            depth -= 1
        elif depth == 0 and text.startswith(separator, i):
            out.append(text[start:i])
            i += len(separator)
            start = i
            continue
        i += 1
    out.append(text[start:])
    return [p.strip() for p in out]


def entry_texts(text: str, rows: int, cols: int) -> list[list[str]] | None:
    """The written entries of a matrix's text, as the student wrote them, or None."""
    body = None
    m = re.search(r"\\begin\{(\w+)\}(.*)\\end\{\1\}", text, re.S)
    if m:
        pieces = split_top(m[2], "\\\\")
        if pieces and not pieces[-1]:
            pieces.pop()
        body = [split_top(p, "&") for p in pieces]
    else:
        t = re.sub(r"\\(left|right|big|Big|bigl|bigr|Bigl|Bigr)\s*", "", text).strip()
        if len(t) >= 2 and t[0] + t[-1] in ("()", "[]"):
            body = [[p] for p in split_top(t[1:-1], ",")]
    if body is None:
        return None
    if len(body) == rows and all(len(r) == cols for r in body):
        return body
    flat = [x for r in body for x in r]
    if len(flat) == rows * cols and (rows == 1 or cols == 1):
        return [flat] if rows == 1 else [[x] for x in flat]
    return None


def latex(node: Node) -> str:
    """A side written back as LaTeX, for the text of an entry taken from a formula."""
    def go(n: Node, outer: int = 0) -> str:
        if isinstance(n, Num):
            return n.text
        if isinstance(n, Const):
            return n.name
        if isinstance(n, Name):
            return n.text
        if isinstance(n, Partial):
            return r"\frac{\partial %s}{\partial %s}" % (go(n.top), go(n.wrt))
        if isinstance(n, Call):
            name = n.text or {"sigmoid": "\\sigma"}.get(n.function, "\\" + n.function)
            return name + "'" * n.derivative + "(" + ", ".join(go(a) for a in n.args) + ")"
        if isinstance(n, Op):
            if n.op == "neg":
                return "-" + go(n.args[0], 3)
            if n.op == "+":
                out = go(n.args[0], 1)
                for a in n.args[1:]:
                    out += " - " + go(a.args[0], 1) if isinstance(a, Op) and a.op == "neg" \
                        else " + " + go(a, 1)
                return f"({out})" if outer > 1 else out
            if n.op == "*":
                out = " ".join(go(a, 2) for a in n.args)
                return f"({out})" if outer > 2 else out
            if n.op == "/":
                return r"\frac{%s}{%s}" % (go(n.args[0]), go(n.args[1]))
            if n.op == "^":
                return "%s^{%s}" % (go(n.args[0], 3), go(n.args[1]))
        return "?"
    return go(node)


# ---------------------------------------------------------------------------------------------
# Expanding a statement


def expand_in(statement: Statement, scope: Scope) -> list[Statement] | None:
    head_element, *rest = statement.elements
    last = written(statement.elements[-1].node)
    if last is None or not rest:
        return None
    rows = rows_of(*last)  # as written (a matrix written with ^T turned back)
    shape = (len(rows), len(rows[0]))
    if shape[0] * shape[1] < 2:
        return None
    head = head_of(head_element, scope)
    if head is None:
        return None
    family = head.family
    network = scope.solution.spec.network
    # Wᵀ = M: W is Mᵀ, so the family is read from the transposed shape
    where = placement(family, shape[::-1] if head.transposed else shape,
                      getattr(network, "layout", None))
    if where is None:
        return None
    vector = family.shape[0] if len(family.shape) == 1 else None
    matrix, turned = last
    texts = entry_texts(statement.elements[-1].text, len(matrix.rows), len(matrix.rows[0]))
    if texts is not None and turned:
        texts = [list(c) for c in zip(*texts)]
    out = []
    for r, c in ((r, c) for r in range(shape[0]) for c in range(shape[1])):  # as written
        index = where[(c, r) if head.transposed else (r, c)]
        position = f"{r + 1},{c + 1}" if vector is None else str(r * shape[1] + c + 1)
        text = f"{head.text}[{position}]"
        elements = [Element(text, head_element.line, head.make(family.name(index), text))]
        for element in rest[:-1]:
            node = None if element.node is None else \
                entry_of(element.node, (r, c), shape, scope, vector)
            if node is not None:
                literal = written(element.node)
                shown = None
                if literal is not None and not literal[1]:
                    found = entry_texts(element.text, len(literal[0].rows),
                                        len(literal[0].rows[0]))
                    if found is not None and (len(found), len(found[0])) == shape:
                        shown = found[r][c]
                elements.append(Element(shown or latex(node), element.line, node))
        value = rows[r][c]
        elements.append(Element(texts[r][c] if texts is not None else latex(value),
                                statement.elements[-1].line, value))
        out.append(Statement(tuple(elements), statement.question, statement.part, False,
                             statement.inline))
    return out


def expand(statement: Statement, scopes: list[Scope]) -> list[Statement]:
    """The statement's entries as statements of their own; the statement itself when it does not
    write a layer as a vector or matrix."""
    if statement.headless or len(statement.elements) < 2 or not scopes or \
            written(statement.elements[-1].node) is None:
        return [statement]
    if statement.elements[0].node is not None and written(statement.elements[0].node):
        return by_named_entries(statement)
    results = [expand_in(statement, scope) for scope in scopes]
    if statement.part and scopes[0].label == statement.part and results[0] is not None:
        return results[0]
    found = [r for r in results if r is not None]
    if not found or any(heads(r) != heads(found[0]) for r in found[1:]):
        return [statement]
    return found[0]


def heads(statements: list[Statement]) -> list[Node | None]:
    return [st.elements[0].node for st in statements]


def by_named_entries(statement: Statement) -> list[Statement]:
    """(h_1, h_2) = (0.5933, 0.5969): each named entry with its value, when both sides (and any
    matrix between them) have one shape."""
    head = written(statement.elements[0].node)
    assert head is not None
    names = rows_of(*head)
    shape = (len(names), len(names[0]) if names else 0)
    if shape[0] * shape[1] < 2 or not all(isinstance(x, (Name, Partial)) for r in names for x in r):
        return [statement]
    sides = []
    for element in statement.elements[1:]:
        found = written(element.node)
        if found is None:
            if element is statement.elements[-1]:
                return [statement]
            continue
        rows = rows_of(*found)
        if (len(rows), len(rows[0]) if rows else 0) != shape:
            return [statement]
        texts = entry_texts(element.text, *shape) if not found[1] else None
        sides.append((element, rows, texts))
    head_texts = entry_texts(statement.elements[0].text, *shape) \
        if not written(statement.elements[0].node)[1] else None  # type: ignore[index]
    out = []
    for r in range(shape[0]):
        for c in range(shape[1]):
            name = names[r][c]
            elements = [Element(head_texts[r][c] if head_texts else latex(name),
                                statement.elements[0].line, name)]
            for element, rows, texts in sides:
                elements.append(Element(texts[r][c] if texts else latex(rows[r][c]),
                                        element.line, rows[r][c]))
            out.append(Statement(tuple(elements), statement.question, statement.part, False,
                                 statement.inline))
    return out
