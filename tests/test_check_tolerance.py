"""The rounding allowance of `symgrad check` comes only from the rounding the student did: a
number that is exactly right carries none, so a wrong value downstream of it is never correct.
Expected values are worked out here with math.tanh, not taken from symgrad."""

from __future__ import annotations

import math
from pathlib import Path

from symgrad import api

TANH = """title = "tanh"
[network]
inputs = 2
loss = "half_squared_error"
learning_rate = 0.5
[[network.layer]]
units = 2
activation = "tanh"
weights = [[0.5, 0.5], [0.25, 0.3]]
biases = [{b}, 0.35]
[[network.layer]]
units = 1
activation = "sigmoid"
weights = [[0.4, 0.45]]
biases = [0.6]
[data]
x = [0.4, 0.4]
y = [1]
"""


def verdicts(tmp_path: Path, lines: list[str], b: float = 0.2) -> list[str]:
    problem = tmp_path / "p.toml"
    problem.write_text(TANH.format(b=b))
    work = tmp_path / "s.md"
    work.write_text("\n\n".join(f"$${line}$$" for line in lines) + "\n")
    return [i.verdict for i in api.check(problem, work).items]


def test_an_exact_value_widens_nothing(tmp_path: Path) -> None:
    z = 0.5 * 0.4 + 0.5 * 0.4 + 0.2  # 0.6 exactly
    a = math.tanh(z)  # 0.53705
    assert abs(a - 0.557) > 0.01
    assert verdicts(tmp_path, [
        "z^{[1]}_1 = 0.6",
        "a^{[1]}_1 = 0.557",
        "a^{[1]}_1 = \\tanh(0.6) = 0.557",
        f"a^{{[1]}}_1 = {a:.3f}",
        f"a^{{[1]}}_1 = {a:.2f}",
    ]) == ["correct", "wrong", "wrong", "correct", "correct"]


def test_the_students_own_rounding_is_allowed(tmp_path: Path) -> None:
    """z = 0.6137 rounded to 0.61: tanh(0.61) = 0.5441 is right from the rounded z, while
    tanh(0.6137) = 0.5468; anything further off is wrong."""
    z = 0.5 * 0.4 + 0.5 * 0.4 + 0.2137
    assert abs(z - 0.6137) < 1e-12
    from_rounded = math.tanh(0.61)
    assert abs(from_rounded - math.tanh(z)) > 0.002  # more than the half unit of 4 decimals
    assert verdicts(tmp_path, [
        "z^{[1]}_1 = 0.61",
        f"a^{{[1]}}_1 = {from_rounded:.4f}",
        f"a^{{[1]}}_1 = \\tanh(0.61) = {from_rounded:.4f}",
        f"a^{{[1]}}_1 = {from_rounded - 0.004:.4f}",  # beyond the drift the other way
    ], b=0.2137) == ["correct", "correct", "correct", "wrong"]


# ---------------------------------------------------------------------------------------------
# Root causes found by bench/bench_check_soundness.py, each cut down to a few lines


def graph_verdicts(tmp_path: Path, define: dict[str, str], data: dict[str, float],
                   lines: list[str]) -> list[str]:
    """The verdicts of a written solution of a computation graph with output f."""
    rows = "\n".join(f'{k} = "{v}"' for k, v in define.items())
    given = "\n".join(f"{k} = {v}" for k, v in data.items())
    problem = tmp_path / "g.toml"
    problem.write_text(f'title = "graph"\n[graph]\noutput = "f"\n[graph.define]\n{rows}\n'
                       f"[data]\n{given}\n")
    work = tmp_path / "g.md"
    work.write_text("\n\n".join(f"$${line}$$" for line in lines) + "\n")
    return [i.verdict for i in api.check(problem, work).items]


def test_ecf_through_a_derivative_taken_from_the_nodes_own_value(tmp_path: Path) -> None:
    """exp' written as the node's own value g2: a wrong g2 = 1.25 carried into ∂f/∂g1 = 3·g2
    makes that line right from the student's own g2 (correct-ecf), although the engine's form
    exp(g1) does not use g2 at all."""
    g1 = 0.5 * 0.4  # 0.2 exactly
    assert abs(3 * math.exp(g1) - 3 * 1.25) > 0.05  # 3.664 against 3.75: no rounding
    assert graph_verdicts(tmp_path, {"f": "3*g2", "g2": "exp(g1)", "g1": "x1*x2"},
                          {"x1": 0.5, "x2": 0.4}, [
        "g_{1} = 0.2",
        "g_{2} = 1.25",  # exp(0.2) = 1.2214
        "\\frac{\\partial f}{\\partial g_{2}} = 3",
        "\\frac{\\partial f}{\\partial g_{1}} = 3.75",  # 3 · 1.25
    ]) == ["correct", "wrong", "correct", "correct-ecf"]
