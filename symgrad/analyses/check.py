"""Checking a student's work line by line: each claimed value against the engine's, the error
carried forward through the graph, every written link tested, known mistakes diagnosed.

Verdicts, for each line (or each entry of an answer file):

- `correct`: the value agrees with the engine's within the precision the student wrote (half a
  unit in the last written digit, and never tighter than a relative 1e-9).  A value worked out
  from the student's own correctly rounded earlier numbers (0.5998 → L = 0.08008, where the exact
  L rounds to 0.08007) is correct too: the difference is only rounding carried along.
- `correct-ecf`: wrong against the key, right when worked out again from the student's own
  earlier values (error carried forward): the Model of `replay` puts their numbers in place of the
  engine's, so every quantity downstream of a wrong one is judged by what they should have found.
  Where the student's wrong values reach a line, this comes before the allowance for rounding:
  a value that is neither the key's own rounding nor what their right values alone give is
  judged by what their wrong values give.
- `wrong`, with a diagnosis when a known mistake reproduces the value (the Model run again with
  the mistake, `replay.mistakes`), when it is another part's value, a slipped digit, a flipped
  sign, or a formula that `verify` refutes.
- `inconsistent`: a link A = B of the student's own chain does not hold, even though the end
  value is right.
- `unchecked`: a line that could not be mapped to the problem or read, said plainly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sympy

from symgrad.analyses.claims import (ACTIVATION_WORDS, FUNCTIONS, Side, Unevaluable, _safe,
                                     close, first_unknown, has_numbers, short)
from symgrad.analyses.diagnose import IDENTITY_POINTS, Diagnoses
from symgrad.analyses.notation import SymbolEntry, read_notation, used_names
from symgrad.analyses.replay import Model
from symgrad.analyses.scope import Claim, Scope
from symgrad.analyses.sheet import Sheet
from symgrad.analyses.vectors import expand
from symgrad.errors import ProblemError
from symgrad.input.answers import (Answers, CheckOptions, Element, Statement, YesNo,
                                   parsed_number)
from symgrad.input.mathtext import Call, Name, Node, Num, Op, Partial, walk
from symgrad.input.names import Partial as PartialName

VERDICTS = ("correct", "correct-ecf", "wrong", "inconsistent", "unchecked")


@dataclass(frozen=True)
class Item:
    key: str  # "dL/dW2[1,1]", "a1[1]", "updated W2[1,1]"; "" for a line with no quantity
    question: str
    part: str
    line: int | None
    text: str
    claimed: Any
    expected: Any
    verdict: str
    diagnosis: str
    credit: float = 0.0  # the share of the line's marks earned
    marked: bool = False  # counted in the score
    name: str = ""  # the quantity in the student's or the sheet's notation (LaTeX), "" if none
    statement: Statement | None = None  # the line as parsed, for typesetting it back
    mark: int | None = None  # the side of the statement (an index of its elements) found wrong
    mistake: str = ""  # the stable id of the diagnosed mistake ("update-sign"), "" for none


@dataclass(frozen=True)
class PartScore:
    question: str
    part: str
    points: float
    out_of: float
    items: int


@dataclass(frozen=True)
class Report:
    title: str
    problem: str
    answers: str
    items: tuple[Item, ...]
    parts: tuple[PartScore, ...]
    points: float
    out_of: float
    ecf_counts_as_correct: bool
    symbols: tuple[SymbolEntry, ...] = ()  # the student's notation as it was read

    @property
    def counts(self) -> dict[str, int]:
        return {v: sum(1 for i in self.items if i.verdict == v) for v in VERDICTS}

    @property
    def coverage(self) -> dict[str, int]:
        """How much of the work was judged: lines reported, and those not left unchecked."""
        return {"lines": len(self.items),
                "checked": sum(1 for i in self.items if i.verdict != "unchecked")}

    @property
    def exit_status(self) -> int:
        """0 when everything checked is correct (correct-ecf only if the problem says so), 1
        when anything is wrong, 3 when nothing could be checked at all."""
        if not self.coverage["checked"]:
            return 3
        bad = {"wrong", "inconsistent"} | (set() if self.ecf_counts_as_correct else {"correct-ecf"})
        return 1 if any(i.verdict in bad for i in self.items) else 0


# ---------------------------------------------------------------------------------------------
# Where a line belongs: a part of the sheet, with its names and its points


# ---------------------------------------------------------------------------------------------
# The checker


class Checker(Diagnoses):
    def __init__(self, sheet: Sheet, answers: Answers, options: CheckOptions,
                 scopes: list[Scope], verify: Callable[[str], Any] | None) -> None:
        self.sheet = sheet
        self.answers = answers
        self.options = options
        self.scopes = scopes
        self.verify = verify  # the prover, for formulas about a function (σ'(z) = ...)
        self.claims: dict[tuple[int, str], list[Claim]] = {}
        self.claimed_keys: dict[int, dict[str, None]] = {}  # each part's claimed keys, in order
        self.items: list[Item] = []
        self.order = 0

    # -- scopes
    def candidates(self, statement: Statement | YesNo) -> list[Scope]:
        """The parts a line may belong to, the marked one first."""
        if len(self.scopes) == 1 and not self.scopes[0].question:
            return list(self.scopes)
        if statement.question is None:
            # before the first section marker of a written solution: nowhere, unless the
            # solution has no markers at all (then every part is searched for the quantity)
            marked = any(st.question for st in self.answers.statements)
            return [] if self.answers.written and marked else list(self.scopes)
        inside = [s for s in self.scopes if s.question == statement.question]
        if statement.part:
            inside.sort(key=lambda s: s.label != statement.part)
        return inside

    # -- keys
    def head_key(self, head: Node | None, scope: Scope) -> str | None:
        if head is None:
            return None
        graph = scope.graph
        if isinstance(head, Name):
            name = scope.engine_name(Name(head.key, head.text, head.at))
            if name is None:
                return None
            if head.bar:
                key = str(PartialName(graph.output or "L", name))
                return key if scope.has(key) else None
            if head.updated:
                key = f"updated {name}"
                return key if scope.has(key) else None
            return name
        if isinstance(head, Partial):
            of = scope.engine_name(Name(head.top.key, head.top.text, head.top.at))
            by = scope.engine_name(Name(head.wrt.key, head.wrt.text, head.wrt.at))
            if of is None or by is None or PartialName.parse(of) or PartialName.parse(by):
                return None
            key = str(PartialName(of, by))
            return key if scope.has(key) else None
        if isinstance(head, Call) and head.function.startswith("?") and \
                all(isinstance(a, Name) for a in head.args):
            if scope.function(head.function[1:]) is None:
                key = head.function[1:]
                name = scope.names.get(key)
                return name if name is not None and scope.has(name) else None
        return None

    def is_formula(self, node: Node | None, scope: Scope) -> bool:
        """A side in terms of computed quantities (2(ŷ − 32), σ(z₁)), not only numbers and given
        leaves (x, w, or a target y left unknown): it is judged as a formula, at the engine's
        values, rather than as a number."""
        if node is None:
            return False
        for n in walk(node):
            if isinstance(n, Partial) or isinstance(n, Call) and n.function.startswith("?") \
                    and scope.function(n.function[1:]) is None:
                return True
            if isinstance(n, Name):
                key = self.head_key(n, scope)
                if key is None or key == "eta":
                    continue
                node_ = scope.graph.by_name.get(key)
                if node_ is None or node_.expr is not None:
                    return True
        return False

    def resolver(self, scope: Scope) -> Callable[[Node], bool]:
        def resolves(node: Node) -> bool:
            if isinstance(node, Call):
                return scope.function(node.function[1:]) is not None or \
                    self.head_key(node, scope) is not None
            return self.head_key(node, scope) is not None
        return resolves

    def lookup_for(self, scope: Scope, point: int, mode: str, before: int,
                   group_claims: bool = True) -> Callable[[Node], tuple[float, float]]:
        """Names as numbers: mode "engine" gives the engine's value, "student" the student's own
        latest value before this line where there is one (with its half unit)."""
        def lookup(node: Node) -> tuple[float, float]:
            key = self.head_key(node, scope)
            if key is None:
                text = node.text if isinstance(node, (Name, Call)) else "a derivative"
                if isinstance(node, Partial):
                    text = f"∂{node.top.text}/∂{node.wrt.text}"
                raise Unevaluable(f"{text} is not a name of the problem")
            if mode == "student":
                claim = self.latest(scope, key, before)
                if claim is not None:
                    return claim.values[point], claim.half[point]
            value = scope.expected(key)[point]
            if value is None:
                raise Unevaluable(f"{key} has no number")
            return value, 0.0
        return lookup

    def latest(self, scope: Scope, key: str, before: int) -> Claim | None:
        """The student's latest value of key before this line (claims are kept in order)."""
        for claim in reversed(self.claims.get((scope.group, key), [])):
            if claim.order < before:
                return claim
        return None

    def side(self, scope: Scope | None, point: int, mode: str, before: int) -> Side:
        if scope is None:
            def nothing(node: Node) -> tuple[float, float]:
                raise Unevaluable("no question of the sheet to take names from")
            return Side(nothing, lambda key: None)
        return Side(self.lookup_for(scope, point, mode, before), scope.function, scope.data)

    # -- the run
    def run(self) -> list[Item]:
        if not self.answers.written:  # an answer file: every value is the student's own
            for st in self.answers.statements:
                self.register_file_claim(st)
        for k, written in enumerate(self.answers.statements):
            self.order = k if self.answers.written else 10**9
            for st in expand(written, self.candidates(written)):
                item = self.judge(st)
                if item is not None:
                    # the quantity as the student names it (the left side), beside the key
                    name = st.elements[0].text if item.key and not st.headless else ""
                    self.items.append(replace(item, statement=item.statement or st,
                                              name=item.name or name))
        self.items += self.dependency_items()
        return self.items

    def register_file_claim(self, st: Statement) -> None:
        for scope in self.candidates(st):
            if scope.label != (st.part or scope.label):
                continue
            key = self.head_key(st.elements[0].node, scope)
            if key is None:
                continue
            element = st.elements[-1]
            if element.node is None:
                continue
            values = self.values_at(scope, element.node, "engine", 0)
            if values is None:
                continue
            vals, halves = values
            expected = scope.expected(key)
            right = all(e is not None and close(v, h, e, 0) for v, h, e in zip(vals, halves, expected))
            exact = all(n.exact for n in walk(element.node) if isinstance(n, Num))
            spread = [0.0 if exact else float(np.max(h)) for h in halves]
            self.claims.setdefault((scope.group, key), []).append(
                Claim([float(v) for v in vals], spread, st.line, -1, right, element.text))
            self.claimed_keys.setdefault(scope.group, {})[key] = None
            return

    def values_at(self, scope: Scope | None, node: Node, mode: str, before: int,
                  ) -> tuple[list[Any], list[Any]] | None:
        """A side's value and uncertainty at every point of its scope, or None."""
        points = range(len(scope.points)) if scope is not None else range(1)
        vals, halves = [], []
        for p in points:
            try:
                v, h = self.side(scope, p, mode, before).with_uncertainty(node)
            except Unevaluable:
                return None
            vals.append(v)
            halves.append(h)
        if isinstance(node, Num) or isinstance(node, Op) and node.op == "neg" and \
                isinstance(node.args[0], Num):
            plain = node if isinstance(node, Num) else node.args[0]
            assert isinstance(plain, Num)
            # a whole number as written is exact (README): "L = 0" claims 0, not 0 ± 0.5
            halves = [max(float(np.max(h)), 0.0 if plain.exact else plain.half_unit)
                      for h in halves]
        return vals, halves

    def judge(self, st: Statement) -> Item | None:
        reason = self.ambiguity(st)
        if reason:
            return Item("", st.question or "", st.part or "", st.line, st.text, None, None,
                        "unchecked", reason)
        head = None if st.headless else st.elements[0]
        rhs = list(st.elements[1:] if head is not None else st.elements)
        scopes = self.candidates(st)
        unreadable = [e for e in st.elements if e.node is None and e.error]
        if head is not None and head.node is not None and self.identity_head(head.node):
            return self.judge_identity(st, head, rhs)
        keyed = [(s, k) for s in scopes
                 if (k := self.head_key(head.node if head else None, s)) is not None]
        if keyed:
            chosen, key = self.choose(keyed, rhs, st)
            return self.judge_keyed(st, chosen, key, rhs)
        # no quantity on the left: only the links can be checked
        scope = scopes[0] if scopes else None
        chain = ([head] if head is not None and head.node is not None else []) + rhs
        values = self.chain_values(scope, chain)
        broken = self.broken_links(chain, values)
        question = scope.question if scope else (st.question or "")
        label = scope.label if scope else (st.part or "")
        if broken:
            return Item("", question, label, broken[0][1].line, st.text, None, None,
                        "inconsistent", self.describe_links(broken, scope, values),
                        mistake="broken-link")
        if st.inline:
            return None
        if head is not None and head.node is not None and not has_numbers(st) and not any(
                isinstance(e.node, (Name, Partial, Call)) for e in [head]):
            return None
        if unreadable:
            reason = f"could not read “{short(unreadable[0].text)}”: {unreadable[0].error}"
        elif head is None:
            reason = "a chain with no left side"
        elif head.node is None:
            reason = f"could not read “{short(head.text)}”"
        elif scope is None:
            reason = "not under a question of the sheet that has a problem to check against"
        else:
            unknown = first_unknown(head.node, self.resolver(scope))
            reason = (f"could not map {unknown} to a name of {scope.where} (map it under "
                      f"[check.symbols])" if unknown else
                      f"{head.text} is not a quantity of {scope.where}")
        return Item("", question, label, st.line, st.text, None, None, "unchecked", reason)

    def ambiguity(self, st: Statement) -> str:
        """Why a line cannot be judged: a name in it that the document uses for two things in
        every part the line may belong to."""
        scopes = self.candidates(st)
        if not scopes:
            return ""
        keys = {n.key for e in st.elements if e.node is not None for n in walk(e.node)
                if isinstance(n, Name)} | {p.key for e in st.elements if e.node is not None
                                           for q in walk(e.node) if isinstance(q, Partial)
                                           for p in (q.top, q.wrt)}
        head = st.elements[0].node if not st.headless else None
        if isinstance(head, Name) and all(s.from_value.get(head.key) == st.line for s in scopes):
            return (f"{head.text} is read from this value (it has no other name here): the line "
                    f"says what {head.text} is, not whether it is right")
        sigma = any(isinstance(n, Call) and n.function == "sigmoid" and n.text == "\\sigma"
                    for e in st.elements if e.node is not None for n in walk(e.node))
        reasons = [next((s.ambiguous[k] for k in sorted(keys) if k in s.ambiguous), "") or
                   (self.sigma_reason(s) if sigma else "") for s in scopes]
        return reasons[0] if all(reasons) else ""

    @staticmethod
    def sigma_reason(scope: Scope) -> str:
        """σ is the logistic function; in a part whose network has no sigmoid, a student who
        writes ŷ = σ(z) most likely means the part's activation: judging it either way is a guess."""
        if not scope.activations or "sigmoid" in scope.activations:
            return ""
        shown = ", ".join(sorted(scope.activations - {"identity"})) or "identity"
        return (f"σ is the logistic function, but the network of {scope.where} has {shown} "
                f"activations: σ may stand for its activation")

    def choose(self, keyed: list[tuple[Scope, str]], rhs: list[Element],
               st: Statement) -> tuple[Scope, str]:
        """The part a line belongs to: the marked part if it has the quantity, else the first
        part whose value matches the line's, else the first that has it."""
        first = keyed[0]
        if len(keyed) == 1 or (st.part and first[0].label == st.part):
            return first
        last = next((e for e in reversed(rhs) if e.node is not None
                     and not self.is_formula(e.node, first[0])), None)
        if last is None or last.node is None:
            return first
        for scope, key in keyed:
            values = self.values_at(scope, last.node, "engine", self.order)
            expected = scope.expected(key)
            if values and all(e is not None and close(v, h, e, 0)
                              for v, h, e in zip(values[0], values[1], expected)):
                return scope, key
        return first

    def chain_values(self, scope: Scope | None, chain: list[Element]) -> list[Any]:
        """Each side's values and uncertainties (student mode), None where it has no number."""
        return [self.values_at(scope, e.node, "student", self.order) if e.node is not None else None
                for e in chain]

    @staticmethod
    def broken_links(chain: list[Element], values: list[Any]) -> list[tuple[Element, Element, int]]:
        broken = []
        for k in range(len(chain) - 1):
            a, b = values[k], values[k + 1]
            if a is None or b is None:
                continue
            if not all(close(va, ha, vb, hb) for va, ha, vb, hb in zip(a[0], a[1], b[0], b[1])):
                broken.append((chain[k], chain[k + 1], k))
        return broken

    # -- a line about a quantity
    def judge_keyed(self, st: Statement, scope: Scope, key: str, rhs: list[Element]) -> Item | None:
        values = self.chain_values(scope, rhs)
        expected = scope.expected(key)
        shown_expected = self.shown(scope, key, expected)
        last_k = max((k for k, v in enumerate(values) if v is not None), default=None)
        if any(e is None for e in expected):
            return self.item(st, scope, key, rhs, None, shown_expected, "unchecked",
                             f"{key} has no number here (it holds an unspecified function)")
        if last_k is None and all(e.node is None and not e.error for e in rhs):
            return None  # "ŷ = ?": a question restated, nothing claimed
        if last_k is None:
            bad = next((e for e in rhs if e.node is None and e.error), None)
            resolves = self.resolver(scope)
            unknown = next((first_unknown(e.node, resolves) for e in rhs if e.node is not None
                            and first_unknown(e.node, resolves)), None)
            reason = (f"could not read “{short(bad.text)}”: {bad.error}" if bad else
                      f"could not map {unknown} to a name of {scope.where}" if unknown else
                      "no value to check")
            return self.item(st, scope, key, rhs, None, shown_expected, "unchecked", reason)
        # a parameter stated with a new value is its updated value (b = 0 - 2·8 = -16)
        if key in scope.graph.updatable and scope.has(f"updated {key}"):
            given = expected
            claimed = values[last_k]
            if not all(close(v, h, e, 0) for v, h, e in zip(claimed[0], claimed[1], given)):
                key = f"updated {key}"
                expected = scope.expected(key)
                shown_expected = self.shown(scope, key, expected)
        chain = rhs
        links = self.broken_links(chain, values)
        claim_element = chain[last_k]
        claimed_vals, claimed_halves = values[last_k]
        formula = self.is_formula(claim_element.node, scope)
        if formula and claim_element.node is not None:  # judged at the engine's values
            engine = self.values_at(scope, claim_element.node, "engine", self.order)
            if engine is not None:
                claimed_vals, claimed_halves = engine
        if any(np.ndim(v) for v in claimed_vals):
            return self.item(st, scope, key, rhs, None, shown_expected, "unchecked",
                             f"a matrix written for the single value {key}")
        shown_claim = claim_element.text if formula or scope.symbolic else \
            self.shown_value(claimed_vals)
        if not formula and parsed_number(claim_element.node) is None and claim_element.node:
            # a formula of numbers as the last side (0.5(0.8176), 0.0701 - 0.2486y): the numbers
            # that are roundings of the part's quantities are the allowance below; the others
            # are the student's own results, rounded
            claimed_halves = [self.own_rounding(scope, claim_element.node, p)
                              for p in range(len(claimed_vals))]
        own = all(close(v, h, e, 0) for v, h, e in zip(claimed_vals, claimed_halves, expected))
        verdict, diagnosis = ("correct" if own else "wrong"), ""
        right_end = own
        if not own and not formula and scope.replayable(key):
            # right from the student's own wrong earlier values (error carried forward)?  That
            # comes before the allowance for their rounding: where their wrong values reach
            # the key, the value is what they worked out from those, and a right value of the
            # key moved by rounding alone (with those wrong values put back to the exact ones)
            # is what they did not do
            direct = self.from_right_values(scope, key, claimed_vals, claimed_halves)
            ecf = None if direct else self.ecf(scope, key, claimed_vals, claimed_halves)
            if ecf is not None:
                verdict, diagnosis = ecf
            elif direct or self.rounded_right(scope, key, claimed_vals, claimed_halves, chain, values,
                                    last_k, links):
                verdict, right_end = "correct", True
        mistake = ""
        if verdict in ("correct", "correct-ecf") and links:
            verdict, mistake = "inconsistent", "broken-link"
            diagnosis = self.describe_links(links, scope, values, chain)
        elif verdict == "wrong" and scope.replayable(key):
            diagnosis, mistake = self.diagnose(scope, key, claimed_vals, claimed_halves,
                                               claim_element, formula, values, chain, links)
        self.register(scope, key, st, claimed_vals, claimed_halves, right_end, formula)
        marked_side = links[0][1] if verdict == "inconsistent" else claim_element
        item = self.item(st, scope, key, rhs, shown_claim, shown_expected, verdict, diagnosis,
                         line=marked_side.line)
        if verdict in ("wrong", "inconsistent") and marked_side in st.elements:
            item = replace(item, mark=st.elements.index(marked_side))
        return replace(item, mistake=mistake)

    def overrides(self, scope: Scope, key: str, point: int) -> dict[str, float]:
        """The student's latest value of every other quantity of this part, before this line."""
        return {k: c.values[point] for k, c in self.used(scope, key).items()}

    def used(self, scope: Scope, key: str) -> dict[str, Claim]:
        out = {}
        for k in self.claimed_keys.get(scope.group, ()):
            if k != key:
                claim = self.latest(scope, k, self.order)
                if claim is not None:
                    out[k] = claim
        return out

    def from_right_values(self, scope: Scope, key: str, vals: list[Any], halves: list[Any]) -> bool:
        """Whether the value is what the student's right earlier values give (the rest exact),
        within half a unit of its last digit: then it is right whatever wrong values the
        student wrote before it, since they did not change it beyond its own rounding.  The
        right values are taken all together, or only the forward ones (the derivatives worked
        out again from those: a student may reach a gradient from their written values without
        a derivative they wrote in between), or all but one of the key's immediate inputs (that
        one worked out again from the values beneath it, as the student's calculator holds it)."""
        right = {k: c for k, c in self.used(scope, key).items() if c.right}
        forward = {k: c for k, c in right.items() if k in scope.graph.by_name}
        beneath = [{k: c for k, c in right.items() if k != one}
                   for one in sorted(self.inputs(scope, key) & right.keys())]
        sets = [right] + [s for s in (forward, *beneath) if s and len(s) < len(right)]

        def hit(mine: dict[str, Claim], p: int, local: str) -> bool:
            reached = Model(scope.graph, scope.points[p], {k: c.values[p] for k, c in mine.items()},
                            layers=scope.layers, local=local).quantity(key)
            return reached is not None and close(vals[p], halves[p], reached, 0)

        return any(all(hit(mine, p, local) for p in range(len(scope.points)))
                   for mine in sets if mine for local in ("", "value", "argument"))

    @staticmethod
    def inputs(scope: Scope, key: str) -> set[str]:
        """The quantities a key is worked out from in one step: a node's parents; for ∂T/∂v
        each ∂T/∂c and ∂c/∂v over the children c of v, and the values ∂c/∂v is taken from (c
        and its parents); for an updated θ its gradient."""
        graph = scope.graph
        if key.startswith("updated "):
            return {str(PartialName(graph.output, key[len("updated "):]))} if graph.output else set()
        node = graph.by_name.get(key)
        if node is not None:
            return {graph.by_symbol[p].name for p in node.partials}
        partial = PartialName.parse(key)
        if partial is None or partial.wrt not in graph.by_name:
            return set()
        v = graph.node(partial.wrt)
        out = set()
        for c in graph.children.get(v.symbol, ()):
            node = graph.by_symbol[c]
            out |= {str(PartialName(partial.top, node.name)), str(PartialName(node.name, v.name)),
                    node.name} | {graph.by_symbol[p].name for p in node.partials}
        return out

    def rounded_right(self, scope: Scope, key: str, vals: list[Any], halves: list[Any],
                      chain: list[Element], values: list[Any], last: int,
                      links: list[tuple[Element, Element, int]]) -> bool:
        """Whether the student's value of `key` is the right one, moved only by the rounding they
        actually did.  Each explanation is a value the student could have reached from their own
        written numbers: the computation with their right earlier values in place of the exact
        ones (a local derivative taken either from the node's written value or from its
        argument's: exp' as g or exp(x), tanh' as 1 − a² or from z), and each side of this chain that leads to the value by links
        that hold, at the numbers written against the exact values they stand for.  The value
        must lie between the exact one and an explanation, give or take half a unit of its own
        last digit: a number exactly right (0.6 for z = 0.6) explains nothing away, and a value
        beyond the student's own rounding is wrong on either side."""
        expected = scope.expected(key)
        if all(e is not None and close(v, h, e, 0) for v, h, e in zip(vals, halves, expected)):
            return True
        right = {k: c for k, c in self.used(scope, key).items() if c.right}
        held_from = last
        broken_at = {k for _, _, k in links}
        while held_from > 0 and values[held_from - 1] is not None and held_from - 1 not in broken_at:
            held_from -= 1
        sides = [chain[k].node for k in range(held_from, last + 1) if chain[k].node is not None
                 and not (k == last and parsed_number(chain[k].node) is not None)]
        for p, (v, h, e) in enumerate(zip(vals, halves, expected)):
            if e is None:
                return False

            def between(reached: float | None) -> bool:
                if reached is None:
                    return False
                low, high = min(e, reached), max(e, reached)
                floor = 1e-9 * max(abs(v), abs(e)) + 1e-15
                return low - h - floor <= v <= high + h + floor

            def model(overrides: dict[str, float], local: str = "") -> float | None:
                return Model(scope.graph, scope.points[p], overrides, layers=scope.layers,
                             local=local).quantity(key)

            mine = {k: c.values[p] for k, c in right.items()}
            if right and between(model(mine)):
                continue
            if any(between(e + d) for node in sides if (d := self.drift(scope, node, p)) is not None):
                continue
            if right and any(between(model(mine, local)) for local in ("value", "argument")):
                continue
            return False
        return True

    def drift(self, scope: Scope, node: Node, point: int) -> float | None:
        """How far the student's rounding moved a side, with its sign: the side at their written
        numbers (and their own values of the names in it) less the same side at the exact values
        those stand for, each name they had right at the engine's value and each written number
        that is a rounding of one of the part's quantities at that quantity's value (the nearest,
        if it could be a rounding of several).  A number that is no rounding of anything (a slip,
        a value of their own) stays as written: that is not rounding."""
        student = Side(self.lookup_for(scope, point, "student", self.order), scope.function, scope.data)

        def exact(n: Node) -> tuple[float, float]:
            key = self.head_key(n, scope)
            claim = self.latest(scope, key, self.order) if key is not None else None
            if claim is not None and not claim.right:
                return claim.values[point], 0.0
            return self.lookup_for(scope, point, "engine", self.order)(n)

        substitutes: dict[int, float] = {}
        for n in walk(node):
            if isinstance(n, Num) and not n.exact and round(n.value, 12) not in scope.data:
                near = scope.rounded_from(n.value, n.half_unit, point)
                if near:
                    substitutes[id(n)] = min(near, key=lambda v: abs(v - n.value))
        try:
            at_written = student.value(node)
            at_exact = Side(exact, scope.function, scope.data, substitutes).value(node)
        except Unevaluable:
            return None
        if np.ndim(at_written) or np.ndim(at_exact):
            return None
        return float(at_written) - float(at_exact)

    def own_rounding(self, scope: Scope, node: Node, point: int) -> float:
        """What the rounding of a side's numbers that stand for no quantity of the part (the
        coefficients of a result, 0.0701 - 0.2486y) may move it: half a unit of each one's last
        digit."""
        side = self.side(scope, point, "student", self.order)
        try:
            base = np.asarray(side.value(node), dtype=float)
            spread = 0.0
            for n in walk(node):
                if isinstance(n, Num) and not n.exact and round(n.value, 12) not in scope.data \
                        and not scope.rounded_from(n.value, n.half_unit, point):
                    moved = np.asarray(side.run(node, (id(n), n.half_unit)), dtype=float)
                    spread += float(np.max(np.abs(moved - base)))
        except Unevaluable:
            return 0.0
        return spread

    def ecf(self, scope: Scope, key: str, vals: list[Any], halves: list[Any]) -> tuple[str, str] | None:
        """Right from the student's own wrong earlier values?  ("correct-ecf", words) or None.
        The allowance is the rounding of those values: each wrong one moved by half a unit of
        its last digit (the student may have carried more digits than written), and the right
        ones taken as written or exact."""
        used = self.used(scope, key)
        wrong = {k: c for k, c in used.items() if not c.right}
        if not wrong:
            return None

        def matched(p: int, local: str) -> bool:
            def model(overrides: dict[str, float]) -> float | None:
                return Model(scope.graph, scope.points[p], overrides, layers=scope.layers,
                             local=local).quantity(key)

            overrides = {k: c.values[p] for k, c in used.items()}
            target = model(overrides)
            if target is None:
                return False
            # the right ones at their exact values, not worked out again from the wrong ones:
            # a right value written after a wrong one was not computed from it
            plain = model({**{k: c.values[p] for k, c in wrong.items()},
                           **{k: e for k, c in used.items() if c.right
                              and (e := scope.expected(k)[p]) is not None}})
            spread = abs(plain - target) if plain is not None else 0.0
            for k, c in wrong.items():
                if c.half[p]:
                    moved = model({**overrides, k: c.values[p] + c.half[p]})
                    if moved is not None:
                        spread += abs(moved - target)
            return close(vals[p], halves[p], target, spread)

        # a local derivative taken from the node's written value or from its argument's alike;
        # a wrong value counts as carried when it changes the key the way the matching form
        # takes the derivative (exp' = g uses the student's g, exp' = exp(x) does not)
        carried: list[str] = []
        for local in ("", "value", "argument"):
            if all(matched(p, local) for p in range(len(scope.points))):
                carried = [k for k in wrong if self.affects(scope, k, key, used, local)]
                if carried:
                    break
        if not carried:
            return None
        names = ", ".join(f"{k} = {used[k].text}" + (f" (line {used[k].line})" if used[k].line else "")
                          for k in carried[:3])
        return "correct-ecf", f"right from your own {names}"

    def affects(self, scope: Scope, k: str, key: str, used: dict[str, Claim],
                local: str = "") -> bool:
        """Whether the student's value of k was used for key: with it put right (and the
        student's other values kept), key comes out differently, its local derivatives taken
        in the form `local` (see Model)."""
        p = 0
        overrides = {name: c.values[p] for name, c in used.items()}
        mine = Model(scope.graph, scope.points[p], overrides, layers=scope.layers,
                     local=local).quantity(key)
        right = scope.expected(k)[p]
        if right is None:
            return False
        fixed = Model(scope.graph, scope.points[p], {**overrides, k: right},
                      layers=scope.layers, local=local).quantity(key)
        return mine is not None and fixed is not None and not close(mine, 0, fixed, 0)

    def register(self, scope: Scope, key: str, st: Statement, vals: list[Any], halves: list[Any],
                 right: bool, formula: bool) -> None:
        if formula or any(np.ndim(v) for v in vals):
            return
        element = st.elements[-1]
        exact = element.node is not None and all(n.exact for n in walk(element.node) if isinstance(n, Num))
        # a whole number is exact data (a1 = 9): it carries no rounding into what follows
        spread = [0.0 if exact else float(np.max(h)) for h in halves]
        self.claims.setdefault((scope.group, key), []).append(
            Claim([float(v) for v in vals], spread, st.line, self.order, right, element.text))
        self.claimed_keys.setdefault(scope.group, {})[key] = None

    # -- a line about a function: σ'(z) = σ(z)(1 − σ(z))
    def identity_head(self, node: Node) -> bool:
        return (isinstance(node, Call) and node.function in FUNCTIONS and
                all(isinstance(a, Name) for a in node.args) and len(node.args) == 1)

    def judge_identity(self, st: Statement, head: Element, rhs: list[Element]) -> Item:
        call = head.node
        assert isinstance(call, Call)
        variable = call.args[0]
        assert isinstance(variable, Name)
        f = FUNCTIONS[call.function][1 if call.derivative else 0]
        key = f"diff({call.function}({variable.text}), {variable.text})" if call.derivative else \
            f"{call.function}({variable.text})"
        question, label = st.question or "", st.part or ""
        if f is None or call.derivative > 1:
            return Item(key, question, label, st.line, st.text, None, None, "unchecked",
                        "a derivative of that order is not checked")
        results: list[bool | None] = []
        for e in rhs:
            if e.node is None:
                results.append(None)
                continue
            ok: bool | None = True
            for z in IDENTITY_POINTS:
                side = Side(self.free_variable(variable.key, z), lambda k: None)
                try:
                    v, h = side.with_uncertainty(e.node)
                except Unevaluable:
                    ok = None
                    break
                if not close(v, h, _safe(f)(z), 0):
                    ok = False
                    break
            results.append(ok)
        known = [(k, r) for k, r in enumerate(results) if r is not None]
        if not known:
            return Item(key, question, label, st.line, st.text, None, None, "unchecked",
                        "could not read the right side")
        last, ok = known[-1]
        element = rhs[last]
        mistake = ""
        if ok and all(r for _, r in known):
            verdict, diagnosis = "correct", ""
        elif ok:
            verdict, mistake = "inconsistent", "broken-link"
            bad = next(k for k, r in known if not r)
            diagnosis = f"{rhs[bad].text} is not {head.text}"
            element = rhs[bad]
        else:
            verdict = "wrong"
            diagnosis, mistake = self.identity_diagnosis(call, variable, element)
        return Item(key, question, label, element.line, st.text, element.text,
                    "σ(z)(1 − σ(z))" if call.function == "sigmoid" and call.derivative else None,
                    verdict, diagnosis, mistake=mistake)

    # -- yes or no: does ∂ŷ/∂x depend on b2?
    def dependency_items(self) -> list[Item]:
        out = []
        for scope in self.scopes:
            d = scope.part.dependency
            if d is None:
                continue
            answers = [y for y in self.answers.yes_no
                       if (y.question == scope.question or len(self.scopes) == 1)
                       and (not y.part or y.part == scope.label)]
            if not answers:
                continue
            first = answers[0]
            verdict = "correct" if first.says == d.depends else "wrong"
            key = f"depends {d.of} on {d.on}"
            if d.depends:
                through = ", ".join(d.through)
                point = ", ".join(f"{k} = {v:.3g}" for k, v in list(d.witness.items())[:4])
                why = (f"{d.of} does change with {d.on}: it holds {through}, which {d.on} reaches, "
                       f"and its derivative by {d.on} is not 0" + (f" (at {point}, say)" if point else ""))
            else:
                why = f"{d.of} does not depend on {d.on}: its derivative by {d.on} is 0"
            out.append(Item(key, scope.question, scope.label, first.line, first.text,
                            "yes" if first.says else "no", "yes" if d.depends else "no", verdict,
                            "" if verdict == "correct" else why,
                            mistake="" if verdict == "correct" else "dependency"))
        return out

    # -- presenting
    def shown(self, scope: Scope, key: str, expected: list[float | None]) -> Any:
        if scope.symbolic:
            sol = scope.solution
            table = {**sol.values, **{k: g.value for k, g in sol.gradients.items()},
                     **{f"updated {k}": v for k, v in sol.updated.items()}, **sol.adjoint_values}
            value = table.get(key)
            partial = PartialName.parse(key)
            if value is None and partial is not None and partial.top in scope.graph.by_name:
                node = scope.graph.node(partial.top)
                wrt = scope.graph.by_name.get(partial.wrt)
                if wrt is not None and wrt.symbol in node.partials:
                    value = node.partials[wrt.symbol]
            return str(sympy.expand(value)) if isinstance(value, sympy.Basic) else value
        return expected[0]

    @staticmethod
    def shown_value(vals: list[Any]) -> Any:
        v = vals[0]
        if np.ndim(v):
            return np.asarray(v, dtype=float).round(12).tolist()
        return float(v)

    def item(self, st: Statement, scope: Scope, key: str, rhs: list[Element], claimed: Any,
             expected: Any, verdict: str, diagnosis: str, line: int | None = None) -> Item:
        return Item(key, scope.question, scope.label, line or st.line, st.text, claimed, expected,
                    verdict, diagnosis)




# ---------------------------------------------------------------------------------------------
# Marks


def marked(items: list[Item], scopes: list[Scope], options: CheckOptions) -> tuple[list[Item], list[PartScore], float, float]:
    """Each part's points shared among its checked lines; correct 1, correct-ecf and
    inconsistent their configured share, wrong 0.  With no points anywhere, a line is a point."""
    credit = {"correct": 1.0, "correct-ecf": options.ecf_credit,
              "inconsistent": options.inconsistent_credit, "wrong": 0.0}
    parts = [(s.question, s.label) for s in scopes]
    seen: list[tuple[str, str]] = []
    for key in parts:
        if key not in seen:
            seen.append(key)
    for item in items:
        key = (item.question, item.part)
        if key not in seen and item.verdict in credit:
            seen.append(key)
    by_question: dict[str, list[str]] = {}
    for q, label in seen:
        by_question.setdefault(q, []).append(label)

    def points_of(q: str, label: str) -> float | None:
        if (q, label) in options.part_points:
            return options.part_points[q, label]
        if (q, None) in options.part_points:
            own = [l for l in by_question.get(q, []) if (q, l) not in options.part_points]
            return options.part_points[q, None] / max(len(own), 1)
        return options.points

    any_points = options.points is not None or bool(options.part_points)
    out_items: list[Item] = []
    scores: list[PartScore] = []
    total = out_of = 0.0
    for q, label in seen:
        judged = [i for i in items if (i.question, i.part) == (q, label) and i.verdict in credit]
        points = points_of(q, label) if any_points else float(len(judged))
        if points is None:
            continue
        earned = points * sum(credit[i.verdict] for i in judged) / len(judged) if judged else 0.0
        if judged or any_points:
            scores.append(PartScore(q, label, round(earned, 6), points, len(judged)))
            total += earned
            out_of += points
    counted = {(s.question, s.part) for s in scores}
    for item in items:
        share = credit.get(item.verdict)
        out_items.append(replace(item, credit=share or 0.0,
                                 marked=share is not None and (item.question, item.part) in counted))
    return out_items, scores, round(total, 6), round(out_of, 6)


def known_points(sheet: Sheet, options: CheckOptions) -> None:
    """Every key of a [check] points table names a question or a part of the sheet: a typo
    ("1/z", "zz") would leave the parts it meant without points, and the score 0 / 0."""
    parts = {(q.number, None) for q in sheet.questions} | {
        (q.number, part.label) for q in sheet.questions for part in q.parts}
    for q, label in options.part_points:
        if (q, label) not in parts:
            key = q if label is None else f"{q}/{label}"
            shown = sorted(n if l is None else f"{n}/{l}" for n, l in parts if n and (l or l is None))
            expected = (f"a question or part of the sheet, such as {', '.join(shown[:6])}" if shown
                        else "one number for a single problem, such as points = 10")
            raise ProblemError(options.source, f"check.points.{key}", f"expected {expected}")


def check_sheet(sheet: Sheet, answers: Answers, options: CheckOptions,
                names: Mapping[tuple[str, str], dict[str, str]],
                verify: Callable[[str], Any] | None = None) -> Report:
    """Judge `answers` against the solved `sheet`.  `names` gives, for each part (question,
    label), the student's name keys mapped to engine names (from the sheet's notation and the
    [check.symbols] table); `verify` proves or refutes a formula about a function."""
    scopes: list[Scope] = []
    groups: list[tuple[Any, ...]] = []
    functions = {k: v for k, v in options.symbols.items() if v in ACTIVATION_WORDS}
    for q in sheet.questions:
        for part in q.parts:
            if part.solution is None:
                continue
            spec = part.solution.spec
            identity: tuple[Any, ...] = (q.number, spec.network, spec.graph,
                                         tuple(sorted(map(str, spec.data.items()))))
            if not answers.written:  # an answer file names each part: its values stay in it
                identity = (q.number, part.label)
            if identity not in groups:
                groups.append(identity)
            scopes.append(Scope(q.number, part.label, part, dict(names.get((q.number, part.label), {})),
                                functions, groups.index(identity)))
    known_points(sheet, options)
    symbols = read_notation(answers, scopes, options.symbols)
    checker = Checker(sheet, answers, options, scopes, verify)
    items = checker.run()
    items_marked, parts, points, out_of = marked(items, scopes, options)
    return Report(sheet.title, sheet.source, answers.source, tuple(items_marked), tuple(parts),
                  points, out_of, options.ecf_counts_as_correct,
                  symbols + used_names(answers, scopes, options, symbols))
