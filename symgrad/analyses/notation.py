"""The student's notation, read from their document before it is judged: which of their names
stands for which quantity of the problem, and where that was learnt.

Sources, strongest first: the `[check.symbols]` table, the student's own definitions
(`y = \\sigma(z_2)`, `z_3 = w_5 h_1 + w_6 h_2 + b_3`), the sheet's notation, conventional names
(x, h or a, z, o or ŷ; E, L, J or C for the loss; δ and a bar for adjoints) and values (a name
whose written number matches exactly one quantity).  A name the document uses for two things is
ambiguous: its lines are not judged against a guess.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SymbolEntry:
    """One name of the student's, as the report shows it."""

    name: str  # as the student (or the sheet) writes it: "z_2", "\\bar{w}_{j1}"
    key: str  # the parser's canonical key of the name ("z|2|")
    target: str  # the engine's name ("z2[1]"), "" when ambiguous
    source: str  # "check.symbols", "definition (line 68)", "sheet", "convention", "value (line 94)"
    question: str = ""  # the question and part it holds in ("" for the whole document)
    part: str = ""
    ambiguous: str = ""  # why it is not used: "z_2 is defined as z2[1] (line 68) and z1[2] (line 68)"


# ---------------------------------------------------------------------------------------------
# Reading it

from collections.abc import Callable, Iterable  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

import sympy  # noqa: E402

from symgrad.calculus import activations as act  # noqa: E402
from symgrad.input.answers import Answers, Statement, parsed_number  # noqa: E402
from symgrad.input.mathtext import Call, Name, Node, Num, Op, Partial, walk  # noqa: E402

if TYPE_CHECKING:
    from symgrad.analyses.scope import Scope
    from symgrad.engine.graph import Graph

CALLS = {"sigmoid": act.sigmoid, "relu": act.relu, "softplus": act.softplus, "tanh": sympy.tanh,
         "exp": sympy.exp, "log": sympy.log, "leaky_relu": act.leaky_relu}
MAX_TERMS = 8  # terms of a sum (or factors of a product) matched in every order
LOSS_NAMES = ("E", "L", "J", "C", "ell")


def read_notation(answers: Answers, scopes: list[Scope], fixed: Iterable[str]) -> tuple[SymbolEntry, ...]:
    """Learn the student's names from their document and put them into each scope's table:
    their definitions first, then conventional names where the table has nothing.  Names used
    for two things are marked ambiguous in the scope.  `fixed` are the keys of [check.symbols],
    which nothing overrides.  Returns the notation as the report shows it."""
    fixed = set(fixed)
    entries: list[SymbolEntry] = []
    written = [st for st in answers.statements if answers.written]
    for scope in scopes:
        for key, target in conventions(scope.graph, scope.layers).items():
            if key not in scope.names and scope.has(target):
                scope.names[key] = target
                scope.conventional.add(key)
        own = [st for st in written if st.question in (None, scope.question) or not scope.question]
        for _ in range(12):  # read again while it teaches something: net_{h1} = 0.15·0.05 + ...
            # names net_{h1}, then net_{h1} = w_1 i_1 + ... names w_1, then out_{h1} = σ(net_{h1});
            # values only when definitions teach nothing more
            more = learn(own, scope, fixed) or by_value(own, scope)
            entries += more
            if not more:
                break
    return tuple(entries)


def learn(own: list[Statement], scope: Scope, fixed: set[str]) -> list[SymbolEntry]:
    """One reading of the definitions into the scope's table; what it learnt, as entries."""
    entries: list[SymbolEntry] = []
    learnt: dict[str, dict[str, list[int]]] = {}  # key → target → lines
    texts: dict[str, str] = {}
    for st in own:
        for key, target, text in definitions(st, scope):
            learnt.setdefault(key, {}).setdefault(target, []).append(st.line)
            texts.setdefault(key, text)
    for key, targets in learnt.items():
        if key in fixed or key in scope.ambiguous:
            continue
        if len(targets) > 1:
            where = " and ".join(f"{t} (line {lines[0]})" for t, lines in targets.items())
            scope.ambiguous[key] = f"{texts[key]} is used for two things: {where}"
            entries.append(SymbolEntry(texts[key], key, "", "definitions", scope.question,
                                       scope.label, scope.ambiguous[key]))
            continue
        (target, lines), = targets.items()
        sheet = scope.names.get(key) if key not in scope.conventional else None
        if sheet is not None and sheet != target:  # never judge against a guess
            scope.ambiguous[key] = (f"{texts[key]} is {target} by your definition (line "
                                    f"{lines[0]}) but {sheet} in the sheet's notation")
            entries.append(SymbolEntry(texts[key], key, "", "definitions", scope.question,
                                       scope.label, scope.ambiguous[key]))
            continue
        if scope.names.get(key) == target and key not in scope.conventional:
            continue  # known already (the sheet's, or the first reading's)
        scope.names[key] = target
        scope.conventional.discard(key)
        entries.append(SymbolEntry(texts[key], key, target, f"definition (line {lines[0]})",
                                   scope.question, scope.label))
    return entries


def by_value(statements: list[Statement], scope: Scope) -> list[SymbolEntry]:
    """Names learnt from values: `\\bar{q} = -0.09567` where q is no name of the sheet, and the
    number (to three or more significant figures) is the value of exactly one quantity of its
    kind (an adjoint for a bar, an updated value for a prime, a value otherwise) that has no
    other name in the student's table.  The line the name is read from proves nothing about
    itself: it stays unchecked, and the name serves the lines after it."""
    if scope.symbolic:
        return []
    used = {n for st in statements for e in st.elements if e.node is not None
            for n in walk(e.node) if isinstance(n, Name)}
    taken = {scope.engine_name(n) for n in used} - {None}  # quantities the document names already
    found: dict[str, dict[str, int]] = {}
    texts: dict[str, str] = {}
    for st in statements:
        head = st.elements[0].node if not st.headless else None
        number = parsed_number(st.elements[-1].node) if len(st.elements) > 1 else None
        if not isinstance(head, Name) or number is None or head.key.startswith("=") or \
                scope.engine_name(head) is not None or head.key in scope.ambiguous:
            continue
        value = number.value * (-1 if number is not st.elements[-1].node else 1)
        if len(number.digits) < 3 or abs(value) < 1e-12:
            continue
        output = scope.graph.output or "L"
        kinds = [k for k in scope.keys() if
                 (k.startswith(f"d{output}/d") if head.bar else
                  k.startswith("updated ") if head.updated else "/" not in k and " " not in k)]
        matches = [k for k in kinds if abs(scope.expected(k)[0] - value) <= number.half_unit]
        if len(matches) != 1:
            continue
        target = matches[0]
        name = target.split("/d", 1)[1] if head.bar else target.removeprefix("updated ")
        if name in taken:
            continue
        found.setdefault(head.key, {}).setdefault(name, st.line)
        texts.setdefault(head.key, head.text.rstrip("'"))
    # one name at a time, the first in the document: the definitions may name the rest
    for key, targets in found.items():
        if len(targets) > 1:
            scope.ambiguous[key] = f"{texts[key]} has the values of {' and of '.join(targets)}"
            return [SymbolEntry(texts[key], key, "", "values", scope.question, scope.label,
                                scope.ambiguous[key])]
        (name, line), = targets.items()
        scope.names[key] = name
        scope.from_value[key] = line
        return [SymbolEntry(texts[key], key, name, f"value (line {line})", scope.question,
                            scope.label)]
    return []


def definitions(st: Statement, scope: Scope) -> list[tuple[str, str, str]]:
    """What one line defines: (key, engine name, the name as written) for its head and every
    name inside a side that matches the expression of exactly one node of the problem."""
    if st.headless or len(st.elements) < 2:
        return []
    head = st.elements[0].node
    if isinstance(head, Call) and head.function.startswith("?") and all(isinstance(a, Name) for a in head.args):
        head = Name(head.function[1:], head.text, 0)  # p(x) = ...: the name p
    if not isinstance(head, Name) or head.bar or head.updated or head.key.startswith("="):
        return []
    # a head the sheet already names is defined as that node or not at all: a line such as
    # ŷ = w a + b under a ReLU that is active is a step of a computation, not a renaming
    known = scope.engine_name(head)
    nodes = [scope.graph.by_name[known]] if known in scope.graph.by_name else \
        [] if known is not None else list(scope.graph.nodes)
    out: list[tuple[str, str, str]] = []
    # the first side is the definition; the sides after it are steps of a computation, whose
    # slips (σ(z_2) = 1/(1 + e^{-z_1})) must not rename anything.  Only a side of numbers alone
    # (0.15·0.05 + 0.2·0.1 + 0.35) may still say which node an unknown head is.
    for k, element in enumerate(st.elements[1:]):
        node = element.node
        if k and (known is not None or node is None or
                  any(isinstance(n, (Name, Call, Partial)) for n in walk(node))):
            continue
        if node is None or isinstance(node, (Num, Name)) or known is not None and \
                not any(isinstance(n, (Name, Call)) for n in walk(node)):
            continue  # numbers alone say which node an unknown head is, and nothing more
        if any(isinstance(n, Name) and (n.bar or n.updated) for n in walk(node)):
            continue
        # the names the sheet (or convention) gives hold first; only when nothing fits so is
        # the line read as a definition of its own, against the head's node alone
        def sheet(key: str) -> str | None:
            return scope.engine_name(Name(key, "", 0))

        def value(name: str) -> float | None:
            return None if scope.symbolic else scope.expected(name)[0]

        matches = []
        for candidate in nodes:
            bound: dict[str, str] = {head.key: candidate.name}
            if candidate.expr is not None and unify(node, candidate.expr, bound, scope.graph, sheet, value):
                matches.append(bound)
        if not matches and known in scope.graph.by_name and nodes[0].expr is not None:
            bound = {head.key: known}
            if unify(node, nodes[0].expr, bound, scope.graph, lambda key: None):
                matches.append(bound)
        if len(matches) != 1:
            continue
        texts = {n.key: n.text for n in walk(node) if isinstance(n, Name)}
        texts[head.key] = head.text
        out += [(k, v, texts.get(k, k)) for k, v in matches[0].items()]
    return out


def without_ones(student: Node) -> Node:
    """A product with its factors 1 left out (b_1 * 1, the bias's input written out)."""
    if isinstance(student, Op) and student.op == "*":
        kept = [a for a in student.args if not (isinstance(a, Num) and a.exact and a.value == 1)]
        if len(kept) < len(student.args):
            return kept[0] if len(kept) == 1 else Op("*", tuple(kept)) if kept else student
    return student


def logistic_argument(student: Node) -> Node | None:
    """x when the student wrote the logistic function out: 1/(1 + e^{-x})."""
    if not (isinstance(student, Op) and student.op == "/" and isinstance(student.args[0], Num)
            and student.args[0].value == 1):
        return None
    bottom = student.args[1]
    if not (isinstance(bottom, Op) and bottom.op == "+" and len(bottom.args) == 2):
        return None
    one, power = bottom.args
    if isinstance(power, Num):
        one, power = power, one
    if not (isinstance(one, Num) and one.value == 1 and isinstance(power, Call)
            and power.function == "exp" and len(power.args) == 1):
        return None
    inner = power.args[0]
    return inner.args[0] if isinstance(inner, Op) and inner.op == "neg" else None


def unify(student: Node, expr: sympy.Expr, bound: dict[str, str], graph: Graph,
          known: Callable[[str], str | None], value: Callable[[str], float | None] = lambda n: None,
          ) -> bool:
    """Whether the student's side has the shape of `expr` (a node's expression over its parents),
    with each of their names standing for one node; `bound` collects the names (and must stay
    consistent, and agree with `known`, the names already given).  A node's own expression is
    looked into when the student writes it out."""
    student = without_ones(student)
    inside = logistic_argument(student)
    if inside is not None and getattr(expr, "func", None) is act.sigmoid:
        return unify(inside, expr.args[0], bound, graph, known, value)
    if isinstance(expr, sympy.Symbol) and expr in graph.by_symbol:
        node = graph.by_symbol[expr]
        if isinstance(student, Name) and not student.key.startswith("="):
            if bound.get(student.key, known(student.key) or node.name) != node.name:
                return False
            if node.name in bound.values() and bound.get(student.key) != node.name:
                return False  # two of the student's names for one node: not a definition
            bound[student.key] = node.name
            return True
        if isinstance(student, Name):
            return student.key[1:] == node.name
        if isinstance(student, Num):  # a given number, or a rounding of the node's value
            number = graph.values.get(expr) if node.expr is None else value(node.name)
            return number is not None and abs(abs(float(number)) - student.value) <= student.half_unit
        if node.expr is not None:  # the student wrote the node out: look inside
            trial = dict(bound)
            if unify(student, node.expr, trial, graph, known, value):
                bound.update(trial)
                return True
        return False
    if isinstance(student, Num):
        return bool(expr.is_number) and abs(float(expr) - student.value) <= student.half_unit
    if isinstance(student, Call):
        function = CALLS.get(student.function)
        if student.derivative or len(student.args) != 1 or len(expr.args) < 1:
            return False
        if student.function.startswith("?"):  # f(...), g(...): the part's activation
            if expr.func not in CALLS.values() and \
                    not isinstance(expr.func, sympy.core.function.UndefinedFunction):
                return False
        elif function is None or expr.func is not function:
            return False
        return unify(student.args[0], expr.args[0], bound, graph, known, value)
    if isinstance(student, Op):
        if student.op == "neg":
            return expr.could_extract_minus_sign() and unify(student.args[0], -expr, bound, graph, known, value)
        kind = {"+": sympy.Add, "*": sympy.Mul}.get(student.op)
        if kind is None or not isinstance(expr, kind) or len(expr.args) != len(student.args) \
                or len(student.args) > MAX_TERMS:
            return False
        return matched(list(student.args), list(expr.args), bound, graph, known, value)
    return False


def matched(students: list[Node], exprs: list[sympy.Expr], bound: dict[str, str], graph: Graph,
            known: Callable[[str], str | None], value: Callable[[str], float | None]) -> bool:
    """The terms of a sum (or factors of a product) matched one to one, in some order."""
    if not students:
        return True
    first = students[0]
    for k, expr in enumerate(exprs):
        trial = dict(bound)
        if unify(first, expr, trial, graph, known, value) and \
                matched(students[1:], exprs[:k] + exprs[k + 1:], trial, graph, known, value):
            bound.clear()
            bound.update(trial)
            return True
    return False


def conventions(graph: Graph, layers: int) -> dict[str, str]:
    """Conventional names: E, L, J or C for the loss; o or ŷ for the output; t for the
    target; x for the input; δ with a layer for ∂L/∂z; h or a and z for the hidden layer when
    there is one."""
    names = {n.name for n in graph.nodes}
    out: dict[str, str] = {}
    if "L" in names:
        out.update({f"{b}||": "L" for b in LOSS_NAMES})
        out.update({f"{b}|total|": "L" for b in LOSS_NAMES})
    outputs = sorted(n for n in names if n.startswith("yhat["))
    for n in outputs:
        k = n[5:-1]
        out[f"o|{k}|"] = n
        out[f"hat:y|{k}|"] = n
    if len(outputs) == 1:
        out["o||"] = out["hat:y||"] = outputs[0]
    targets = sorted(n for n in names if n.startswith("y[") and graph.by_name[n].expr is None)
    for n in targets:
        out[f"t|{n[2:-1]}|"] = n
    if len(targets) == 1:
        out["t||"] = targets[0]
    for n in names:
        if n.startswith("x[") and n.endswith("]"):
            out[f"x|{n[2:-1]}|"] = n
            out[f"i|{n[2:-1]}|"] = n  # i_1, i_2: inputs, as many worked examples name them
        if n.startswith("z") and "[" in n and layers:
            layer, unit = n[1:n.index("[")], n[n.index("[") + 1:-1]
            for sup in (f"[{layer}]", f"({layer})"):
                out[f"delta|{unit}|{sup}"] = f"dL/d{n}"
            if layers == 1:
                out[f"delta|{unit}|"] = f"dL/d{n}"
    if layers == 2:
        for n in names:
            if n.startswith("a1[") or n.startswith("z1["):
                unit = n[3:-1]
                for base in (("h", "a") if n[0] == "a" else ("z",)):
                    out[f"{base}|{unit}|"] = n
    return out


def used_names(answers: Answers, scopes: list[Scope], options: object,
               learnt: tuple[SymbolEntry, ...]) -> tuple[SymbolEntry, ...]:
    """The rest of the notation the report shows: each name the student used that maps by the
    sheet's notation, [check.symbols] or convention, once for each question."""
    fixed = set(getattr(options, "symbols", {}))
    done = {(e.key, e.question) for e in learnt}
    out: list[SymbolEntry] = []
    for st in answers.statements:
        nodes = [n for e in st.elements if e.node is not None for n in walk(e.node)]
        names = [n for n in nodes if isinstance(n, Name)]
        names += [p for n in nodes if isinstance(n, Partial) for p in (n.top, n.wrt)]
        for name in names:
            if name.key.startswith("="):
                continue
            for scope in scopes:
                if st.question not in (None, scope.question) and scope.question:
                    continue
                if (name.key, scope.question) in done:
                    continue
                target = scope.engine_name(Name(name.key, name.text, 0))
                if target is None:
                    continue
                source = ("check.symbols" if name.key in fixed else
                          "convention" if name.key in scope.conventional else "sheet")
                done.add((name.key, scope.question))
                out.append(SymbolEntry(name.text.rstrip("'"), name.key, target, source,
                                       scope.question))
    return tuple(out)
