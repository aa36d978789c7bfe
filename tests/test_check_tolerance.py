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


SOFTMAX = """title = "softmax"
[network]
inputs = 1
loss = "cross_entropy"
learning_rate = 0.3
[[network.layer]]
units = 3
activation = "softmax"
weights = [[-0.7], [-1], [0.8]]
biases = [-0.41, 0.7, 0.7]
[data]
x = [0.54]
y = [0.1, 0.3, 0.6]
"""


def test_a_softmax_derivative_is_not_mixed_from_written_values_and_arguments(
        tmp_path: Path) -> None:
    """δ₁ = ŷ₁ − y₁ is a small difference of rounded numbers.  From the written ŷ₁ = 0.0963 it
    is −0.0037 (the exact value is −0.00386); −0.00362 is further off than that rounding
    reaches, and only a mixture (∂L/∂ŷ from the written ŷ, the softmax's Jacobian worked out
    again from the written z) would pass it."""
    z = [-0.7 * 0.54 - 0.41, -1 * 0.54 + 0.7, 0.8 * 0.54 + 0.7]
    e = [math.exp(v) for v in z]
    yhat = [v / sum(e) for v in e]
    assert abs((yhat[0] - 0.1) - -0.00386) < 5e-6
    written = [math.exp(v) for v in (-0.788, 0.160, 1.13)]
    rounded = [round(v / sum(written), 4 if k == 0 else 3) for k, v in enumerate(written)]
    assert rounded == [0.0963, 0.248, 0.655]
    problem = tmp_path / "p.toml"
    problem.write_text(SOFTMAX)
    work = tmp_path / "s.md"
    lines = ["z^{[1]}_1 = -0.788", "z^{[1]}_2 = 0.160", "z^{[1]}_3 = 1.13",
             "\\hat{y}_1 = 0.0963", "\\hat{y}_2 = 0.248", "\\hat{y}_3 = 0.655",
             "\\frac{\\partial L}{\\partial z^{[1]}_1} = -0.00362",
             "\\frac{\\partial L}{\\partial z^{[1]}_1} = -0.00370"]
    work.write_text("\n\n".join(f"$${line}$$" for line in lines) + "\n")
    assert [i.verdict for i in api.check(problem, work).items] == ["correct"] * 6 + [
        "wrong", "correct"]


def test_a_value_worked_from_a_wrong_value_is_ecf_not_rounding(tmp_path: Path) -> None:
    """f = g1 + g2 with g1 = 0.5 and g2 = 1.2² = 1.44, written 1.4 (its rounding).  A wrong
    g1 = 0.52 gives f = 0.52 + 1.4 = 1.92: right from the student's own g1 (correct-ecf), not
    right against the key (1.94), although it lies between the key and what the rounded g2
    alone gives (0.5 + 1.4 = 1.90)."""
    assert abs(0.5 + 1.2 ** 2 - 1.94) < 1e-12 and abs(0.52 + 1.4 - 1.92) < 1e-12
    assert graph_verdicts(tmp_path, {"f": "g1 + g2", "g2": "x3**2", "g1": "x1*x2"},
                          {"x1": 0.5, "x2": 1, "x3": 1.2}, [
        "g_{1} = 0.52", "g_{2} = 1.4", "f = 1.92",
    ]) == ["wrong", "correct", "correct-ecf"]


def test_the_ecf_allowance_keeps_right_values_as_they_are(tmp_path: Path) -> None:
    """A wrong g1 = 0.6 (g1 = 0.5) not carried into g2 = 2·g1 = 1.0: f = g1 + g2 from the
    student's own values is 1.6 (± the half unit of g1), from the key 1.5.  f = 1.75 is neither;
    it only passed when g2 was worked out again from the wrong g1 (1.2) to size the allowance."""
    assert graph_verdicts(tmp_path, {"f": "g1 + g2", "g2": "2*g1", "g1": "x1*x2"},
                          {"x1": 0.5, "x2": 1}, [
        "g_{1} = 0.6", "g_{2} = 1.0", "f = 1.75", "f = 1.6",
    ]) == ["wrong", "correct", "wrong", "correct-ecf"]


def test_a_gradient_from_the_values_beneath_a_derivative_written_in_between(
        tmp_path: Path) -> None:
    """f = sin(g2)/tanh(g3), g2 = x3² − 3·g1.  From the written g2 = 4.59 and g3 = -0.727,
    ∂f/∂g2 = cos(g2)/tanh(g3) = 0.1965, and ∂f/∂g1 = −3 of that: −0.590.  A ∂f/∂g2 = 0.186
    written in between (nearer the exact 0.1830, so not wrong) was not what ∂f/∂g1 came from:
    −0.590 is still right from the student's own g2 and g3."""
    x1, x2, x3 = -1.1, 1.01, 1.11
    g1 = x1 * x2 ** 2
    g2, g3 = x3 ** 2 - 3 * g1, 0.5 * x2 - x3 ** 2
    assert (round(g1, 2), round(g2, 2), round(g3, 3)) == (-1.12, 4.60, -0.727)
    from_written = math.cos(4.59) / math.tanh(-0.727)
    exact = math.cos(g2) / math.tanh(g3)
    assert round(from_written, 4) == 0.1965 and round(exact, 4) == 0.1830
    assert f"{-3 * from_written:.3f}" == "-0.590"
    assert graph_verdicts(tmp_path, {"f": "sin(g2)/tanh(g3)", "g3": "0.5*x2 - x3**2",
                                     "g2": "x3**2 - 3*g1", "g1": "x1*x2**2"},
                          {"x1": x1, "x2": x2, "x3": x3}, [
        "g_{1} = -1.12", "g_{2} = 4.59", "g_{3} = -0.727",
        "\\frac{\\partial f}{\\partial g_{2}} = 0.186",
        "\\frac{\\partial f}{\\partial g_{1}} = -0.590",
    ]) == ["correct"] * 5


def test_a_quotient_keeps_its_textbook_derivative_beside_exp_from_its_value(
        tmp_path: Path) -> None:
    """f = g2/g1, g2 = exp(g1²).  A student takes exp' from the written g2 (2·g1·g2) and the
    quotient's ∂f/∂g1 as −g2/g1² from the written values: 1.110·2·0.9006·2.250 − 2.250/0.9006²
    = 1.7244, where the key is 1.7262.  Taking the quotient "from the node's value" too
    (−f/g1) is a form no student writes, and it was the only one tried beside exp' = g."""
    g1 = math.exp(-0.2) * 1.1
    g2 = math.exp(g1 ** 2)
    exact = 1 / g1 * 2 * g1 * g2 - g2 / g1 ** 2
    mine = 1.110 * 2 * 0.9006 * 2.250 - 2.250 / 0.9006 ** 2
    assert (f"{g1:.4f}", f"{g2:.3f}", f"{1 / 0.9006:.3f}") == ("0.9006", "2.250", "1.110")
    assert f"{mine:.3f}" == "1.724" and f"{exact:.3f}" == "1.726"
    assert graph_verdicts(tmp_path, {"f": "g2/g1", "g2": "exp(g1**2)", "g1": "exp(x1)*x2"},
                          {"x1": -0.2, "x2": 1.1}, [
        "g_{1} = 0.9006", "g_{2} = 2.250", "f = 2.498",
        "\\frac{\\partial f}{\\partial g_{2}} = 1.110",
        "\\frac{\\partial f}{\\partial g_{1}} = 1.724",
    ]) == ["correct"] * 5


def test_a_negated_tanh_is_a_function_of_one_argument(tmp_path: Path) -> None:
    """f = tanh(cos(g2) − g1), which sympy holds as −tanh(g1 − cos(g2)): tanh' is taken as
    1 − f² from the written f = −0.83810.  With ∂f/∂g2 = 0.19710 written, ∂f/∂g1 = 0.19710 −
    (1 − f²) held unrounded (a slip −0.09754 written instead), and g1 = σ(x1)/σ(x2) so that
    ∂g1/∂x2 = −g1·(1 − σ(x2)): ∂f/∂x2 = 0.031257; from tanh at its argument it is 0.031259."""
    sig = lambda v: 1 / (1 + math.exp(-v))  # noqa: E731
    x1, x2 = -1.7, -0.7
    g1 = sig(x1) / sig(x2)
    g2 = g1 - 2 * x1
    f = math.tanh(math.cos(g2) - g1)
    assert (f"{g1:.5f}", f"{g2:.4f}", f"{f:.5f}") == ("0.46552", "3.8655", "-0.83809")
    dg1_dx2 = -0.46552 * (1 - sig(x2))
    mine = (0.19710 - (1 - 0.83810 ** 2)) * dg1_dx2
    at_argument = (0.19710 - (1 - math.tanh(math.cos(3.8655) - 0.46552) ** 2)) * dg1_dx2
    assert f"{mine:.6f}" == "0.031257" and f"{at_argument:.6f}" != "0.031257"
    assert graph_verdicts(tmp_path, {"f": "tanh(cos(g2) - g1)", "g2": "g1 - 2*x1",
                                     "g1": "sigmoid(x1)/sigmoid(x2)"},
                          {"x1": x1, "x2": x2}, [
        "g_{1} = 0.46552", "g_{2} = 3.8655", "f = -0.83810",
        "\\frac{\\partial f}{\\partial g_{2}} = 0.19710",
        "\\frac{\\partial f}{\\partial g_{1}} = -0.09754",
        "\\frac{\\partial f}{\\partial x_{2}} = 0.031257",
    ]) == ["correct"] * 4 + ["wrong", "correct"]


def test_ecf_from_a_sigmoid_output_above_one(tmp_path: Path) -> None:
    """A slip ŷ = 1.30 (σ(2.3) = 0.909) carried into δ = ŷ − y = 0.30 is right from the
    student's own ŷ, although the BCE's log(1 − ŷ) (in ∂L/∂y, which δ does not need) is
    undefined there."""
    z = 0.78 * 1.65 - 0.2 * -1.9 + 0.63
    assert f"{z:.1f}" == "2.3" and f"{1 / (1 + math.exp(-z)):.2f}" == "0.91"
    problem = tmp_path / "p.toml"
    problem.write_text('title = "bce"\n[network]\ninputs = 2\nloss = "bce"\n'
                       'learning_rate = 0.05\n[[network.layer]]\nunits = 1\n'
                       'activation = "sigmoid"\nweights = [[0.78, -0.2]]\nbiases = [0.63]\n'
                       '[data]\nx = [1.65, -1.9]\ny = [1]\n')
    work = tmp_path / "s.md"
    work.write_text("$$z^{[1]}_{1} = 2.3$$\n\n$$\\hat{y} = 1.30$$\n\n$$\\delta^{[1]}_{1} = 0.30$$\n")
    assert [i.verdict for i in api.check(problem, work).items] == [
        "correct", "wrong", "correct-ecf"]


def test_a_derivative_from_a_value_held_unrounded_beneath_one_written_in_between(
        tmp_path: Path) -> None:
    """f = cos(2·g2/g1), g2 = sin(cos(x2) + g1²), g1 = 2·sin(x1).  From the written g1 = 1.9,
    g2 = −0.2389 and ∂f/∂g2 = −sin(2·g2/g1)·2/g1 = 0.26.  A g2 = −0.29 written in between lies
    between that and the exact −0.338 (so it is not wrong), but ∂f/∂g2 was not taken from it:
    0.26 is right from the student's own g1, with g2 as their calculator held it."""
    x1, x2 = 1.3, 1.8
    g1 = 2 * math.sin(x1)
    g2 = math.sin(math.cos(x2) + g1 ** 2)
    held = math.sin(math.cos(x2) + 1.9 ** 2)
    assert (f"{g1:.1f}", f"{g2:.3f}", f"{held:.4f}") == ("1.9", "-0.338", "-0.2389")
    assert f"{-math.sin(2 * held / 1.9) * 2 / 1.9:.2f}" == "0.26"
    assert f"{-math.sin(2 * -0.29 / 1.9) * 2 / 1.9:.2f}" == "0.32"  # from the g2 written
    assert graph_verdicts(tmp_path, {"f": "cos(2*g2/g1)", "g2": "sin(cos(x2) + g1**2)",
                                     "g1": "2*sin(x1)"}, {"x1": x1, "x2": x2}, [
        "g_{1} = 1.9", "g_{2} = -0.29", "\\frac{\\partial f}{\\partial g_{2}} = 0.26",
    ]) == ["correct"] * 3


def test_exp_from_its_value_where_sympy_splits_the_exponential(tmp_path: Path) -> None:
    """g1 = exp(x1³ − log x2), which sympy holds as exp(x1³)/x2: exp' is still taken from the
    written g1 = 1.1.  ∂f/∂x1 = 0.69 · 1.1 · 3·0.6² = 0.82 at two figures (from exp at its
    argument, 0.69 · 1.118 · 1.08 = 0.83; the key 0.96)."""
    g1 = math.exp(0.6 ** 3 - math.log(1.11))
    assert (f"{g1:.1f}", f"{2 * math.log(1.1):.2f}", f"{0.38 * 2 / 1.1:.2f}") == (
        "1.1", "0.19", "0.69")
    assert f"{0.69 * 1.1 * 3 * 0.6 ** 2:.2f}" == "0.82"
    assert f"{0.69 * g1 * 3 * 0.6 ** 2:.2f}" == "0.83"
    assert graph_verdicts(tmp_path, {"f": "g2 + g3**2", "g3": "2*log(g1)",
                                     "g2": "x3**2*tanh(x2)", "g1": "exp(x1**3 - log(x2))"},
                          {"x1": 0.6, "x2": 1.11, "x3": -1.5}, [
        "g_{1} = 1.1", "g_{3} = 0.19", "\\frac{\\partial f}{\\partial g_{3}} = 0.38",
        "\\frac{\\partial f}{\\partial g_{1}} = 0.69", "\\frac{\\partial f}{\\partial x_{1}} = 0.82",
    ]) == ["correct"] * 5
