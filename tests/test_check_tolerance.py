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
