"""Why a value is wrong: the Model run again with each known mistake, another part's value, a
weight's indices swapped, a flipped sign, a slipped digit, a number of the working that should have
been another, a link of the chain that does not hold, a formula `verify` refutes.  Each diagnosis
names the mistake in words.  `Diagnoses` is the part of the checker that finds them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from symgrad.analyses.claims import (Side, Unevaluable, claim_text, close, digit_slip, fmt,
                                     short, sigmoid, significant, slipped)
from symgrad.analyses.replay import Model, mistake_id
from symgrad.analyses.scope import Scope, prominence
from symgrad.input.answers import Element
from symgrad.input.mathtext import Call, Name, Node, Num, Op, plain, walk

IDENTITY_POINTS = (0.5, -0.7, 1.3, 2.1)  # where a claimed identity σ'(z) = ... is compared
SLIPS = {"a digit slip": "digit-slip", "two digits transposed": "digits-transposed",
         "a dropped digit": "digit-dropped"}


class Diagnoses:
    """The diagnosing half of the checker (which supplies the scopes, the student's values as
    overrides, the evaluation of a side, and the prover)."""

    scopes: list[Scope]
    order: int
    verify: Callable[[str], Any] | None

    def side(self, scope: Scope | None, point: int, mode: str, before: int) -> Side:
        raise NotImplementedError

    def overrides(self, scope: Scope, key: str, point: int) -> dict[str, float]:
        raise NotImplementedError

    @staticmethod
    def free_variable(key: str, z: float) -> Callable[[Node], tuple[float, float]]:
        def lookup(node: Node) -> tuple[float, float]:
            if isinstance(node, Name) and node.key == key and not node.bar and not node.updated:
                return z, 0.0
            if isinstance(node, Call) and node.function.startswith("?"):
                raise Unevaluable("an unknown function")
            raise Unevaluable("another variable")
        return lookup

    def identity_diagnosis(self, call: Call, variable: Name, element: Element) -> tuple[str, str]:
        """The words, and the stable id of the mistake: the wrong form of σ', or a formula that
        verify refutes."""
        words = []
        if call.function == "sigmoid" and call.derivative and element.node is not None:
            for mistake, g in (("(1 − σ)(1 + σ)", lambda s: (1 - s) * (1 + s)),
                               ("σ(1 + σ)", lambda s: s * (1 + s)), ("σ", lambda s: s)):
                side = Side(self.free_variable(variable.key, 0.0), lambda k: None)
                same = True
                for z in IDENTITY_POINTS:
                    side = Side(self.free_variable(variable.key, z), lambda k: None)
                    try:
                        v = side.value(element.node)
                    except Unevaluable:
                        same = False
                        break
                    if not close(v, 0, g(sigmoid(z)), 1e-9):
                        same = False
                        break
                if same:
                    words.append(f"σ' written as {mistake} instead of σ(1 − σ)")
        text = claim_text(element.node, variable.key) if element.node is not None else None
        if self.verify is not None and text is not None and call.derivative == 1:
            claim = f"diff({call.function}(z), z) = {text}"
            try:
                verdict = self.verify(claim)
            except Exception:  # noqa: BLE001 - a claim verify cannot read is simply not refuted
                verdict = None
            if verdict is not None and verdict.status == "REFUTED":
                point = ", ".join(f"{k} = {v:g}" for k, v in verdict.counterexample.items())
                if verdict.values:
                    left, right = verdict.values
                    words.append(f"refuted by symgrad verify: at {point} the derivative is "
                                 f"{left:.6g} but {element.text} is {right:.6g}")
                else:
                    words.append(f"refuted by symgrad verify: {verdict.reason}")
        mistake = "sigmoid-derivative-form" if words and words[0].startswith("σ' written") else \
            "formula-refuted" if words else ""
        return "; ".join(words), mistake

    def diagnose(self, scope: Scope, key: str, vals: list[Any], halves: list[Any],
                 element: Element, formula: bool, values: list[Any], chain: list[Element],
                 links: list[tuple[Element, Element, int]]) -> tuple[str, str]:
        """The words of the diagnosis, and the stable id of its first mistake ("" for none)."""
        words: list[str] = []
        ids: list[str] = []
        expected = scope.expected(key)

        def matches(target: Sequence[float | None], spread: float = 0.0) -> bool:
            return all(t is not None and close(v, h, t, spread) for v, h, t in zip(vals, halves, target))

        found = []
        for mistake in scope.mistakes:
            alone = [m.quantity(key) for m in scope.mutants(mistake)]
            if any(a is None for a in alone) or matches(expected) or \
                    all(a is not None and e is not None and close(a, 0, e, 0) for a, e in zip(alone, expected)):
                continue
            if matches(alone):
                found.append(mistake.words)
                ids.append(mistake_id(mistake.name))
                continue
            if not formula:
                carried = []
                for p, point in enumerate(scope.points):
                    carried.append(Model(scope.graph, point, self.overrides(scope, key, p),
                                         mistake=mistake, layers=scope.layers).quantity(key))
                if matches(carried):
                    found.append(mistake.words + " (with your own earlier values)")
                    ids.append(mistake_id(mistake.name))
        if found:
            words.append(" or ".join(found[:2]))

        def first(found: list[str], mistake: str) -> None:
            if found and not words:
                words.extend(found)
                ids.append(mistake)

        if not formula:
            first(self.other_part(scope, key, vals, halves), "other-part-value")
        first(self.transposed_key(scope, key, vals, halves), "weight-indices-swapped")
        if all(e is not None and close(v, h, -e, 0) and abs(e) > 1e-12
               for v, h, e in zip(vals, halves, expected)):
            first(["the sign is wrong"], "sign-flipped")
        if not words and not formula and not scope.symbolic:
            slip = digit_slip(element, expected[0])
            if slip:
                first([f"{slip}: {element.text} written for {fmt(expected[0])}"], SLIPS[slip])
        if not formula:
            first(self.literal_fix(scope, key, chain, values, expected), "wrong-number-used")
            first(self.other_quantity(scope, key, vals, halves), "other-quantity-value")
        if links:
            words.append(self.describe_links(links, scope, values, chain))
            ids.append("broken-link")
        return "; ".join(w for w in words if w), (ids[0] if ids else "")

    def other_part(self, scope: Scope, key: str, vals: list[Any], halves: list[Any]) -> list[str]:
        for other in self.scopes:
            if other is scope or not other.has(key) or other.symbolic != scope.symbolic:
                continue
            theirs = other.expected(key)
            mine = scope.expected(key)
            if any(t is None for t in theirs) or all(close(t, 0, m, 0) for t, m in zip(theirs, mine)
                                                       if m is not None):
                continue
            if all(close(v, h, t, 0) for v, h, t in zip(vals, halves, theirs)):
                return [f"{key} = {fmt(theirs[0])} is the value of {other.where}; here it is "
                        f"{fmt(mine[0])}"]
        return []

    def transposed_key(self, scope: Scope, key: str, vals: list[Any], halves: list[Any]) -> list[str]:
        m = re.fullmatch(r"(.*W\d+)\[(\d+),(\d+)\](.*)", key)
        if not m or m[2] == m[3]:
            return []
        other = f"{m[1]}[{m[3]},{m[2]}]{m[4]}"
        if not scope.has(other):
            return []
        theirs = scope.expected(other)
        mine = scope.expected(key)
        if any(t is None for t in theirs) or all(close(t, 0, e, 0) for t, e in zip(theirs, mine) if e is not None):
            return []
        if all(close(v, h, t, 0) for v, h, t in zip(vals, halves, theirs)):
            return [f"a weight's indices transposed: this is the value of {other}"]
        return []

    def other_quantity(self, scope: Scope, key: str, vals: list[Any], halves: list[Any]) -> list[str]:
        """The value of another quantity (to at least 3 significant figures), here or elsewhere."""
        if np.ndim(vals[0]):
            return []
        v = float(vals[0])
        if scope.symbolic or abs(v) < 1e-12 or abs(abs(v) - 1) < 1e-12:
            return []
        for other in [scope, *[s for s in self.scopes if s is not scope]]:
            if other.symbolic:
                continue
            for k in other.keys():
                if other is scope and k == key:
                    continue
                e = other.expected(k)[0]
                if e is None or abs(e) < 1e-12:
                    continue
                if significant(halves[0], v) >= 3 and close(v, halves[0], e, 0):
                    where = "" if other is scope else f" of {other.where}"
                    return [f"{fmt(v)} is the value of {k}{where}, not of {key}"]
        return []

    def literal_fix(self, scope: Scope, key: str, chain: list[Element], values: list[Any],
                    expected: list[float | None]) -> list[str]:
        """A number in the working that is a slip of a value (or another part's value): put the
        right one in and the side comes out right."""
        if scope.symbolic:
            return []
        for element in reversed(chain):
            if element.node is None:
                continue
            fix = self.fix_literal(scope, element.node, expected[0])
            if fix:
                return [fix]
        return []

    def fix_literal(self, scope: Scope, node: Node, target: Any) -> str:
        side = self.side(scope, 0, "student", self.order)
        for literal in [n for n in walk(node) if isinstance(n, Num)]:
            for what, value, where in self.candidate_values(scope, literal):
                try:
                    v = side.run(node, (id(literal), value - literal.value))
                except Unevaluable:
                    continue
                try:
                    _, h = side.with_uncertainty(node)
                except Unevaluable:
                    h = 0
                if close(v, h, target, 0):
                    return f"{literal.text} here should be {what} = {fmt(value)}{where}"
        return ""

    def candidate_values(self, scope: Scope, literal: Num) -> list[tuple[str, float, str]]:
        """Values a written number may have been meant as: a digit slip of one of this part's
        values, or this part's value of a quantity whose value elsewhere was written."""
        out: list[tuple[str, float, str]] = []
        for k in scope.keys() if not literal.exact else ():
            e = scope.expected(k)[0]
            if e is None:
                continue
            slip = slipped(literal.text, e)
            if slip:
                out.append((k, e, f" ({literal.text} is {slip} of it)"))
        for other in self.scopes:
            if other is scope or other.symbolic:
                continue
            for k in sorted(other.keys(), key=lambda k: prominence(other, k)):
                if not scope.has(k):
                    continue
                theirs, mine = other.expected(k)[0], scope.expected(k)[0]
                if theirs is None or mine is None or close(theirs, 0, mine, 0):
                    continue
                if close(literal.value, literal.half_unit, abs(theirs), 0) or \
                        close(-literal.value, literal.half_unit, theirs, 0):
                    out.append((k, mine, f" ({literal.text} is its value in {other.where})"))
        return out

    def describe_links(self, links: list[tuple[Element, Element, int]], scope: Scope | None,
                       values: list[Any], chain: list[Element] | None = None) -> str:
        return "; ".join(self.describe_link(link, scope, values) for link in links[:2])

    def describe_link(self, link: tuple[Element, Element, int], scope: Scope | None,
                      values: list[Any]) -> str:
        a, b, k = link
        left, right = values[k], values[k + 1]
        a_text, b_text = (short(plain(e.node)) if e.node is not None and "\\begin" in e.text
                          else short(e.text) for e in (a, b))
        text = f"{a_text} = {b_text} does not hold"
        if left is not None and right is not None and np.ndim(left[0][0]):
            lv = np.asarray(left[0][0], dtype=float).ravel()
            rv = np.asarray(right[0][0], dtype=float).ravel()
            lh = np.asarray(left[1][0], dtype=float).ravel() if np.ndim(left[1][0]) else np.zeros_like(lv)
            rh = np.asarray(right[1][0], dtype=float).ravel() if np.ndim(right[1][0]) else np.zeros_like(rv)
            if lv.shape == rv.shape:
                bad = [i for i in range(lv.size) if not close(lv[i], lh[i], rv[i], rh[i])]
                entries = ", ".join(f"entry {i + 1} is {lv[i]:.6g}, not {rv[i]:.6g}" for i in bad[:4])
                return f"{a_text} = {b_text} does not hold: {entries}"
            return text
        plain_a = a.node.args[0] if isinstance(a.node, Op) and a.node.op == "neg" else a.node
        if isinstance(plain_a, Num) and right is not None:  # two numbers: 0.0318 = 0.0381
            slip = slipped(("-" if plain_a is not a.node else "") + plain_a.text, float(right[0][0]))
            return f"{a_text} is not {b_text}" + (f" ({slip})" if slip else "")
        if left is not None:
            text = f"{a_text} is {fmt(float(left[0][0]))}, not {b_text}"
            if right is not None and b.node is not None and not isinstance(
                    b.node.args[0] if isinstance(b.node, Op) and b.node.op == "neg" else b.node, Num):
                text = f"{a_text} is {fmt(float(left[0][0]))} but {b_text} is {fmt(float(right[0][0]))}"
            if right is not None and all(
                    close(-va, ha, vb, hb) for va, ha, vb, hb in zip(left[0], left[1], right[0], right[1])):
                text += " (the sign is lost)"
        fix = ""
        if scope is not None and not scope.symbolic and b.node is not None and a.node is not None:
            try:
                target = self.side(scope, 0, "student", self.order).value(b.node)
                fix = self.fix_literal(scope, a.node, target)
            except Unevaluable:
                fix = ""
        return text + (f"; {fix}" if fix else "")
