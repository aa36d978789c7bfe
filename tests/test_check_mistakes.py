"""Every diagnosis carries a stable mistake id beside its words (the contract grade counts by).
The mistakes are planted by hand: the values below are worked out here, not taken from symgrad."""

from __future__ import annotations

import math
from pathlib import Path

from symgrad import api

ROOT = Path(__file__).resolve().parent.parent


def sig(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def test_the_planted_mistakes_of_the_example_have_their_ids() -> None:
    report = api.check(ROOT / "examples/two_two_two.toml", ROOT / "examples/students/two_two_two-alex.md")
    ids = {i.line: i.mistake for i in report.items if i.verdict in ("wrong", "inconsistent")}
    assert ids == {32: "sigmoid-derivative-form", 36: "broken-link", 38: "digits-transposed",
                   44: "update-sign"}
    assert all(not i.mistake for i in report.items if i.verdict in ("correct", "correct-ecf"))


def test_update_and_activation_mistakes(tmp_path: Path) -> None:
    z = [0.15 * 0.05 + 0.2 * 0.1 + 0.35, 0.25 * 0.05 + 0.3 * 0.1 + 0.35]
    a = [sig(v) for v in z]
    z2 = 0.4 * a[0] + 0.45 * a[1] + 0.6
    o = sig(z2)
    delta = (o - 0.01) * o * (1 - o)
    g = delta * a[0]  # ∂L/∂W2[1,1]
    without_derivative = (o - 0.01) * a[0]  # g'(z) left out
    work = tmp_path / "w.md"
    work.write_text("\n\n".join([
        f"$$\\frac{{\\partial L}}{{\\partial W^{{[2]}}_{{11}}}} = {without_derivative:.5f}$$",
        f"$$W^{{[2]}}_{{11}}{{}}' = {0.4 - 0.5 * 0.5 * g:.5f}$$",   # η applied twice
        f"$$W^{{[2]}}_{{12}}{{}}' = {0.45 + 0.5 * delta * a[1]:.5f}$$",   # the sign
    ]) + "\n")
    report = api.check(ROOT / "examples/two_two_two.toml", work)
    assert [i.mistake for i in report.items] == [
        "missing-activation-derivative", "update-eta-twice", "update-sign"]
