"""Variants redraw everything: a drawn learning rate flows into every update (checked against the
independent backward pass of tests/oracle.py, not against symgrad's own numbers), `\\val{NAME}` in
prose prints each variant's own number, a number written out in prose that [variants] draws is
reported, and an unknown or hostile `\\val{...}` is one line with exit status 2.
"""

from __future__ import annotations

import functools
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

import symgrad
from symgrad.analyses.sheet import solve_sheet
from symgrad.analyses.variants import prose_with_values
from symgrad.errors import ProblemError
from symgrad.input.prose import checked_prose, literals, printed_number, with_values
from symgrad.input.sheetspec import read_sheet
from symgrad.output.exam import variant_files
from symgrad.output.latex import format_number
from symgrad.output.render import render_sheet

from cli import assert_bad_input, run_here
from oracle import backward, forward

W1 = [[0.15, 0.2], [0.25, 0.3]]
B1 = [0.35, 0.35]
B2 = [0.6]
X, Y = [0.05, 0.1], [0.01]

SHEET = """
title = 'Step size $\\val{eta}$'
[[question]]
text = 'A 2-2-1 network with $\\q{x} = (0.05, 0.1)$ and learning rate 0.5; $\\q{eta} = 0.5$.'
[question.network]
inputs = 2
loss = "half_squared_error"
learning_rate = 0.5
[[question.network.layer]]
units = 2
activation = "sigmoid"
weights = [[0.15, 0.2], [0.25, 0.3]]
biases = [0.35, 0.35]
[[question.network.layer]]
units = 1
activation = "sigmoid"
weights = [[0.4, 0.45]]
biases = [0.6]
[question.data]
x = [0.05, 0.1]
y = [0.01]
[question.ask]
update = true
[[question.part]]
text = 'Take $\\q{eta} = \\val{eta}$ and $\\q{W2[1,1]} = \\val{W2[1,1]}$: the loss is \\val{L}.'
[variants]
eta = { choose = [0.1, 0.25, 2] }
W2 = { uniform = [-1, 1], step = 0.25 }
require = ["eta * abs(dL/dW2[1,1]) < 1"]
"""

GRAPH = """
[graph]
output = "f"
learning_rate = 0.1
[graph.define]
f = "x1*x2 + x1**2"
[data]
x1 = 1.0
x2 = 0.5
[ask]
update = true
[variants]
learning_rate = { choose = [0.05, 0.2, 0.3] }
x1 = { uniform = [-1, 1], step = 0.25 }
"""


@functools.lru_cache(maxsize=None)
def made(text: str, n: int, seed: int) -> Any:
    return symgrad.variants(tomllib.loads(text), n=n, seed=seed)


def oracle_step(w2: list[float], eta: float) -> dict[str, float]:
    """θ − η ∂L/∂θ for every weight and bias, from tests/oracle.py's own backward pass."""
    layers = [(W1, B1, "sigmoid"), ([w2], B2, "sigmoid")]
    rows = backward(X, layers, Y, "half_squared_error")
    out = {}
    for l, (row, (weights, biases, _)) in enumerate(zip(rows, layers), 1):
        for i, w_row in enumerate(weights, 1):
            for j, w in enumerate(w_row, 1):
                out[f"W{l}[{i},{j}]"] = w - eta * row["weight_gradient"][i - 1][j - 1]
            out[f"b{l}[{i}]"] = biases[i - 1] - eta * row["bias_gradient"][i - 1]
    return out


def test_a_drawn_learning_rate_steps_every_parameter() -> None:
    variants = made(SHEET, 6, 3)
    etas = {v.given["eta"] for v in variants.variants}
    assert len(etas) > 1 and etas <= {0.1, 0.25, 2.0}
    assert "eta" in variants.drawn
    for v in variants.variants:
        eta = v.given["eta"]
        w2 = [v.given["W2[1,1]"], v.given["W2[1,2]"]]
        expected = oracle_step(w2, eta)
        solution = v.sheet.questions[0].parts[0].solution
        assert solution.graph.learning_rate == eta
        assert solution.spec.network.learning_rate == eta
        assert set(solution.updated) == set(expected)
        for name, value in expected.items():
            assert solution.updated[name] == pytest.approx(value, rel=1e-12, abs=1e-15)
            assert v.answers[f"1:updated {name}"] == pytest.approx(value, rel=1e-12, abs=1e-15)
        assert eta * abs(solution.gradients["dL/dW2[1,1]"].value) < 1  # require names eta


def test_a_graph_s_drawn_learning_rate() -> None:
    variants = made(GRAPH, 4, 0)
    assert len({v.given["eta"] for v in variants.variants}) > 1
    for v in variants.variants:
        eta, x1, x2 = v.given["eta"], v.given["x1"], 0.5
        solution = v.sheet.single
        assert solution.graph.learning_rate == eta and solution.spec.graph.learning_rate == eta
        assert solution.updated["x1"] == pytest.approx(x1 - eta * (x2 + 2 * x1), abs=1e-12)
        assert solution.updated["x2"] == pytest.approx(x2 - eta * x1, abs=1e-12)


def shown(x: float) -> str:
    """A drawn number as a key prints a given value (0.25, -0.75, 2)."""
    return f"{x:g}"


def test_val_prints_each_variant_s_own_numbers(tmp_path: Path) -> None:
    variants = made(SHEET, 3, 3)
    files = variant_files(variants, "net", ["md", "html"])
    for v in variants.variants:
        eta, w = shown(v.given["eta"]), shown(v.given["W2[1,1]"])
        layers = [(W1, B1, "sigmoid"), ([[v.given["W2[1,1]"], v.given["W2[1,2]"]]], B2, "sigmoid")]
        loss = f"{forward(X, layers, Y, 'half_squared_error'):.3e}"
        for name in (f"net-{v.id}.tex", f"net-{v.id}-questions.tex", f"net-{v.id}.md",
                     f"net-{v.id}.html"):
            text = files[name]
            assert "\\val" not in text and "val{" not in text, name
            assert f"{{\\eta}} = {{{eta}}}" in text, name
            assert f"{{W^{{[2]}}_{{11}}}} = {{{w}}}" in text, name
            # $...$ in Markdown, MathML with its LaTeX as the annotation in HTML
            math = r'(?:\$|<math display="inline"><semantics>.*?<annotation encoding="application/x-tex">)'
            assert re.search(r"Step size (?:</span>)?" + math + re.escape(f"{{{eta}}}"), text), name
            found = re.search(r"the loss is (?:</span>)?" + math + r"\{([-0-9.]+)\}", text)
            assert found and float(found[1]) == float(loss), (name, found and found[1], loss)
            assert len(found[1].replace("-", "").replace(".", "").lstrip("0")) == 4  # its zeros
        assert f"\\eta = {eta}$" in files[f"net-{v.id}.tex"]  # the given line of the key
        for prose in (v.sheet.title, v.sheet.questions[0].parts[0].text):
            assert checked_prose("t", "f", prose) == prose and "\\val" not in prose


def test_plain_solve_prints_the_problem_s_own_numbers() -> None:
    sheet = prose_with_values(solve_sheet(read_sheet(tomllib.loads(SHEET), "net.toml")))
    text = sheet.questions[0].parts[0].text
    layers = [(W1, B1, "sigmoid"), ([[0.4, 0.45]], B2, "sigmoid")]
    assert text.startswith("Take $\\q{eta} = {0.5}$ and $\\q{W2[1,1]} = {0.4}$: the loss is ${")
    assert float(text.split("${")[-1].split("}")[0]) == float(
        f"{forward(X, layers, Y, 'half_squared_error'):.3e}")
    assert sheet.title == "Step size ${0.5}$"
    assert "{\\eta} = {0.5}" in render_sheet(sheet)
    # outside mathematics a number is set as mathematics; a quantity with no number as its name
    assert with_values("a \\$ b \\val{x} c \\\\val{y}", lambda n: None if n == "y" else "-1") == \
        "a \\$ b ${-1}$ c \\ $\\q{y}$"


def test_a_number_that_variants_draw_is_reported(tmp_path: Path) -> None:
    report = made(SHEET, 2, 3).report()
    warnings = [line for line in report.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, report  # one line for the 0.5 of the text (twice written)
    assert "question[1].text: 0.5" in warnings[0] and "eta" in warnings[0]
    assert "\\val{eta}" in warnings[0]
    # 0.05 (x is not drawn), the 2-2-1 of the text and sub- or superscripts are not numbers drawn
    assert [w for w, _ in literals("A 2-2-1 net: $x_1 = 0.05$, $W^{[2]}_{11}$, $\\q{W2[1,1]}$")] == ["0.05"]
    path = tmp_path / "net.toml"
    path.write_text(SHEET)
    out = run_here("variants", str(path), "-n", "2", "--seed", "3", "-o", str(tmp_path / "v"))
    assert out.returncode == 0, out.stderr
    line = warnings[0].replace("<python>", str(path))
    assert line in out.stdout.splitlines()
    assert line in (tmp_path / "v" / "report.txt").read_text().splitlines()


def test_an_unknown_val_name_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "net.toml"
    path.write_text(SHEET.replace("\\val{L}", "\\val{Lx}"))
    out = run_here("variants", str(path), "-n", "2", "-o", str(tmp_path / "v"))
    assert_bad_input(out, "net.toml", "question[1].part[1].text", "\\val{Lx}", "no quantity")
    assert not (tmp_path / "v").exists()
    no_rate = GRAPH.replace("learning_rate = 0.1\n", "").replace("update = true", "update = false")
    with pytest.raises(ProblemError, match="variants.learning_rate: the problem has no learning rate"):
        made(no_rate, 2, 0)


HOSTILE = [
    "\\val{\\input{/etc/passwd}}",
    "$\\val{\\input{/etc/passwd}}$",
    "$x = \\val{W2[1,1]\\write18{rm -rf /}}$",
    "\\val{\\\\}",
    "\\val{{eta}}",
    "\\val{eta",
    "$\\val{eta}}$",
    "\\val{W2[1,1]^^5c}",
    "\\val{}",
    "\\val eta",
    "$\\val$",
    "\\val{eta\n}",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_val_is_refused(text: str) -> None:
    with pytest.raises(ProblemError) as error:
        checked_prose("net.toml", "question[1].text", text)
    assert "question[1].text" in str(error.value) and "\n" not in str(error.value)


def test_hostile_val_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "net.toml"
    path.write_text(SHEET.replace("\\val{L}", "\\val{\\input{/etc/passwd}}"))
    out = run_here("variants", str(path), "-n", "2", "-o", str(tmp_path / "v"))
    assert_bad_input(out, "net.toml", "question[1].part[1].text", "expected \\val{NAME}")
    assert not (tmp_path / "v").exists()


def test_val_prints_numbers_as_the_key_does() -> None:
    """printed_number (input layer) and output/latex.format_number give the same digits."""
    cases = [0, 0.0, -0.0, 3, -12, 2.0, 0.15, -0.75, 0.1070, 0.22418, 9.99951, 99999.5, 12350.0,
             1e-3, 9.9996e-4, 1.23456e-5, -4.5e7, 1 / 3, 2 / 3 * 1e4, 123456789.0]
    for x in cases:
        for precision in (1, 3, 4, 6, 15):
            for zeros in (False, True):
                assert printed_number(x, precision, zeros) == format_number(x, precision, zeros), \
                    (x, precision, zeros)
