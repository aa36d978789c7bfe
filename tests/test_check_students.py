"""Student work written in other hands than symgrad's: a worked example in its own notation
(net, out, E_total, w_1 ... w_8), a LaTeX article with vectors, δ and \\times 10^{-2}, and an answer
file.  Every number in them is first checked here against a plain-Python forward and backward
pass of the 2-2-2 network of examples/two_two_two.toml (independent of symgrad); the verdicts a
careful TA would give are then asserted line by line."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

from symgrad import api

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent / "students"
PROBLEM = ROOT / "examples/two_two_two.toml"


def sig(v: float) -> float:
    return 1 / (1 + math.exp(-v))


# the network, worked out by hand in plain Python
X, T, ETA = (0.05, 0.10), (0.01, 0.99), 0.5
W1, B1 = ((0.15, 0.20), (0.25, 0.30)), (0.35, 0.35)
W2, B2 = ((0.40, 0.45), (0.50, 0.55)), (0.60, 0.60)
Z1 = [sum(w * x for w, x in zip(row, X)) + b for row, b in zip(W1, B1)]
A1 = [sig(z) for z in Z1]
Z2 = [sum(w * a for w, a in zip(row, A1)) + b for row, b in zip(W2, B2)]
O = [sig(z) for z in Z2]
L = sum(0.5 * (o - t) ** 2 for o, t in zip(O, T))
D2 = [(o - t) * o * (1 - o) for o, t in zip(O, T)]
DA1 = [sum(W2[i][j] * D2[i] for i in range(2)) for j in range(2)]
D1 = [DA1[j] * A1[j] * (1 - A1[j]) for j in range(2)]
GW2 = [[D2[i] * A1[j] for j in range(2)] for i in range(2)]
GW1 = [[D1[i] * X[j] for j in range(2)] for i in range(2)]
GX = [sum(W1[i][j] * D1[i] for i in range(2)) for j in range(2)]


def within(written: str, truth: float) -> bool:
    """The written number is the truth rounded (one unit of its last digit allowed)."""
    mantissa, _, exponent = written.lower().partition("e")
    unit = 10.0 ** (int(exponent or 0) - len(mantissa.partition(".")[2]))
    return abs(float(written) - truth) <= unit


def test_the_worked_example_in_its_own_notation() -> None:
    """net_{h1}, out_{h1}, E_total, w_1 ... w_8 are nowhere in the sheet: they are read from the
    student's definitions.  Two mistakes are planted: w_6's update with the wrong sign and
    ∂E/∂w_2 worked out wrong.  net_{o2} can only be told from its value (its definition fits
    both output units), so that line proves nothing and stays unchecked."""
    for written, truth in [("0.593269992", A1[0]), ("0.596884378", A1[1]), ("1.105905967", Z2[0]),
                           ("1.2249214", Z2[1]), ("0.75136507", O[0]), ("0.772928465", O[1]),
                           ("0.298371109", L), ("0.186815602", O[0] * (1 - O[0])),
                           ("0.082167041", GW2[0][0]), ("0.35891648", 0.4 - ETA * GW2[0][0]),
                           ("0.036350306", DA1[0]), ("0.000438568", GW1[0][0]),
                           ("0.149780716", 0.15 - ETA * GW1[0][0]), ("0.082667628", GW2[0][1])]:
        assert within(written, truth), (written, truth)
    assert not within("0.000979", GW1[0][1])  # the planted slip
    report = api.check(PROBLEM, HERE / "mazur-style.md")
    verdicts = {i.line: i.verdict for i in report.items}
    assert {line for line, v in verdicts.items() if v != "correct"} == {20, 36, 44}
    assert verdicts[20] == "unchecked" and verdicts[36] == verdicts[44] == "wrong"
    assert [i.mistake for i in report.items if i.line == 36] == ["update-sign"]
    learnt = {s.key: s.target for s in report.symbols}
    assert learnt["w|5|"] == "W2[1,1]" and learnt["net|h1|"] == "z1[1]" and learnt["out|o1|"] == "yhat[1]"


TEX = (HERE / "vector-style.tex").read_text()


def test_a_latex_article_with_vectors_and_deltas(tmp_path: Path) -> None:
    for written, truth in [("0.3775", Z1[0]), ("0.3925", Z1[1]), ("0.5933", A1[0]), ("0.5969", A1[1]),
                           ("0.7514", O[0]), ("0.7729", O[1]), ("0.2984", L), ("1.385e-1", D2[0]),
                           ("8.217e-2", GW2[0][0]), ("0.08267", GW2[0][1]), ("0.1385", D2[0])]:
        assert within(written, truth), (written, truth)
    report = api.check(PROBLEM, HERE / "vector-style.tex")
    assert [i.verdict for i in report.items] == ["correct"] * 11
    keys = [i.key for i in report.items]
    assert keys[:4] == ["z1[1]", "z1[2]", "a1[1]", "a1[2]"] and "dL/dz2[1]" in keys
    # the same article with a_2 used for a_1 in ∂L/∂W_12: that line, and only it, is wrong
    planted = tmp_path / "planted.tex"
    planted.write_text(TEX.replace("0.1385 \\times 0.5969 \\approx 0.08267", "0.1385 \\times 0.5933 \\approx 0.08217"))
    report = api.check(PROBLEM, planted)
    assert [(i.line, i.verdict) for i in report.items if i.verdict != "correct"] == [(16, "wrong")]


def test_an_answer_file_keyed_by_parameters() -> None:
    """"gradients": {"W2[1,1]": ...} is the gradient by W2[1,1], not its value."""
    data = json.loads((HERE / "answers-style.json").read_text())
    truth = {"W2[1,1]": GW2[0][0], "W2[2,2]": GW2[1][1], "b1[2]": D1[1], "x[1]": GX[0]}
    right = {k: within(v, truth[k]) for k, v in data["gradients"].items()}
    assert right == {"W2[1,1]": True, "W2[2,2]": True, "b1[2]": True, "x[1]": False}
    report = api.check(PROBLEM, HERE / "answers-style.json")
    wrong = [i.key for i in report.items if i.verdict != "correct"]
    assert wrong == ["dL/dx[1]"]
