"""`symgrad check`: a student's work judged line by line.

The answers are made by the independent oracle (tests/oracle.py, plain Python) and then spoiled
on purpose, one known mistake per entry, so that the verdicts, the errors carried forward and the
diagnoses are tested against numbers symgrad did not compute.  Written solutions have known wrong
lines; the source documents' own known mistakes must be found.
"""

from __future__ import annotations

import json
import math
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import oracle
from cli import ROOT, assert_bad_input, run_here

import symgrad.api as api
from symgrad.input import mathtext
from symgrad.input.answers import read_written
from symgrad.input.mathtext import MathError, name_key, parse_element

SEEDS = ROOT.parent / "shared" / "seeds"
CONTRACT = {"key", "name", "question", "part", "line", "text", "claimed", "expected", "verdict",
            "diagnosis", "mistake"}


def sigmoid(v: float) -> float:
    return 1 / (1 + math.exp(-v))


# ---------------------------------------------------------------------------------------------
# Networks, and their answers from the oracle


NETWORKS: dict[str, dict[str, Any]] = {
    # 2-2-2, sigmoid everywhere, ½ squared error: the classic worked example
    "sigmoid": {"x": [0.05, 0.10], "y": [0.01, 0.99], "loss": "half_squared_error", "eta": 0.5,
                "layers": [([[0.15, 0.20], [0.25, 0.30]], [0.35, 0.35], "sigmoid"),
                           ([[0.40, 0.45], [0.50, 0.55]], [0.60, 0.60], "sigmoid")]},
    # 2-3-1, tanh hidden units, a linear output, squared error (no ½)
    "tanh": {"x": [0.5, -1.0], "y": [0.3], "loss": "squared_error", "eta": 0.1,
             "layers": [([[0.2, -0.4], [0.7, 0.1], [-0.3, 0.5]], [0.1, -0.2, 0.05], "tanh"),
                        ([[0.6, -0.5, 0.9]], [0.2], "identity")]},
    # 2-2-1, ReLU hidden units (a square first layer), a sigmoid output with cross-entropy
    "relu": {"x": [1.0, 2.0], "y": [1], "loss": "bce", "eta": 0.2,
             "layers": [([[0.5, -0.25], [0.3, 0.8]], [0.1, -0.1], "relu"),
                        ([[0.7, -1.2]], [0.3], "sigmoid")]},
}


def problem_toml(net: dict[str, Any]) -> str:
    lines = ["title = \"oracle network\"", "[network]", f"inputs = {len(net['x'])}",
             f"loss = \"{net['loss']}\"", f"learning_rate = {net['eta']}"]
    for weights, biases, activation in net["layers"]:
        lines += ["[[network.layer]]", f"units = {len(biases)}", f"activation = \"{activation}\"",
                  f"weights = {weights}", f"biases = {biases}"]
    lines += ["[data]", f"x = {net['x']}", f"y = {net['y']}", "[ask]", "update = true"]
    return "\n".join(lines) + "\n"


def oracle_answers(net: dict[str, Any], derivative: Callable[[float, float], float] | None = None,
                   loss: str | None = None) -> dict[str, Any]:
    """Every value, δ, gradient and update of the network, by the oracle; `derivative`
    replaces σ' and `loss` the loss, to make a student's mistake."""
    saved = oracle.DERIVATIVES["sigmoid"]
    if derivative is not None:
        oracle.DERIVATIVES["sigmoid"] = derivative
    try:
        rows = oracle.backward(net["x"], net["layers"], net["y"], loss or net["loss"])
    finally:
        oracle.DERIVATIVES["sigmoid"] = saved
    depth = len(rows)
    values: dict[str, float] = {}
    deltas: dict[str, float] = {}
    gradients: dict[str, float] = {}
    updated: dict[str, float] = {}
    for l, row in enumerate(rows, 1):
        weights, biases, _ = net["layers"][l - 1]
        for i, (z, a, d) in enumerate(zip(row["z"], row["a"], row["delta"]), 1):
            values[f"z{l}[{i}]"] = z
            values[f"yhat[{i}]" if l == depth else f"a{l}[{i}]"] = a
            deltas[f"dL/dz{l}[{i}]"] = d
            gradients[f"dL/db{l}[{i}]"] = row["bias_gradient"][i - 1]
            updated[f"b{l}[{i}]"] = biases[i - 1] - net["eta"] * row["bias_gradient"][i - 1]
            for j, g in enumerate(row["weight_gradient"][i - 1], 1):
                gradients[f"dL/dW{l}[{i},{j}]"] = g
                updated[f"W{l}[{i},{j}]"] = weights[i - 1][j - 1] - net["eta"] * g
    values["L"] = oracle.forward(net["x"], net["layers"], net["y"], net["loss"])
    return {"values": values, "deltas": deltas, "gradients": gradients, "updated": updated}


def check(tmp_path: Path, net: str, answers: dict[str, Any], suffix: str = ".json") -> Any:
    problem = tmp_path / f"{net}.toml"
    problem.write_text(problem_toml(NETWORKS[net]))
    target = tmp_path / f"answers{suffix}"
    target.write_text(json.dumps(answers))
    return api.check(problem, target)


def by_key(report: Any) -> dict[str, Any]:
    return {i.key: i for i in report.items}


@pytest.mark.parametrize("net", sorted(NETWORKS))
def test_the_oracles_answers_are_all_correct(tmp_path: Path, net: str) -> None:
    report = check(tmp_path, net, oracle_answers(NETWORKS[net]))
    assert {i.verdict for i in report.items} == {"correct"}
    assert len(report.items) > 20 and report.exit_status == 0
    assert report.points == report.out_of == len(report.items)


def spoiled(net: str, mistakes: dict[str, tuple[str, Callable[[dict[str, Any]], float]]]) -> dict[str, Any]:
    """The oracle's answers with one entry per mistake replaced by the spoiled value."""
    answers = oracle_answers(NETWORKS[net])
    for key, (section, value) in mistakes.items():
        answers[section][key] = value(answers)
    return answers


def test_each_known_mistake_is_diagnosed_in_a_sigmoid_network(tmp_path: Path) -> None:
    net = NETWORKS["sigmoid"]
    eta = net["eta"]
    one_minus_plus = oracle_answers(net, lambda z, a: (1 - a) * (1 + a))
    one_plus = oracle_answers(net, lambda z, a: a * (1 + a))
    itself = oracle_answers(net, lambda z, a: a)
    no_derivative = oracle_answers(net, lambda z, a: 1.0)
    squared = oracle_answers(net, loss="squared_error")
    right = oracle_answers(net)
    g = right["gradients"]
    answers = spoiled("sigmoid", {
        "dL/dW1[1,1]": ("gradients", lambda a: one_minus_plus["gradients"]["dL/dW1[1,1]"]),
        "dL/db1[1]": ("gradients", lambda a: one_plus["gradients"]["dL/db1[1]"]),
        "dL/dW1[2,1]": ("gradients", lambda a: itself["gradients"]["dL/dW1[2,1]"]),
        "dL/dW2[2,1]": ("gradients", lambda a: no_derivative["gradients"]["dL/dW2[2,1]"]),
        "dL/db2[1]": ("gradients", lambda a: squared["gradients"]["dL/db2[1]"]),
        "dL/dW2[1,2]": ("gradients", lambda a: g["dL/dW2[2,1]"]),  # the other index order
        "dL/dW2[2,2]": ("gradients", lambda a: a["deltas"]["dL/dz2[2]"] * a["values"]["z1[2]"]),
        "W2[1,1]": ("updated", lambda a: 0.40 + eta * g["dL/dW2[1,1]"]),
        "W2[2,2]": ("updated", lambda a: 0.55 - g["dL/dW2[2,2]"]),
        "b2[2]": ("updated", lambda a: 0.60 - eta * eta * g["dL/db2[2]"]),
        "dL/dz2[1]": ("deltas", lambda a: -a["deltas"]["dL/dz2[1]"]),
    })
    del answers["deltas"]["dL/dz2[2]"], answers["values"]["z1[2]"]  # not the student's values
    answers["values"]["a1[2]"] = "0.5869"  # 0.5969 with a slipped digit
    report = check(tmp_path, "sigmoid", answers)
    items = by_key(report)
    expected = {
        "dL/dW1[1,1]": "(1 − σ)(1 + σ)",
        "dL/db1[1]": "σ(1 + σ)",
        "dL/dW1[2,1]": "σ itself",
        "dL/dW2[2,1]": "activation's derivative g'(z) left out",
        "dL/db2[1]": "½ of the loss",
        "dL/dW2[1,2]": "indices transposed: this is the value of dL/dW2[2,1]",
        "dL/dW2[2,2]": "z used for a",
        "updated W2[1,1]": "the update's sign",
        "updated W2[2,2]": "learning rate η left out",
        "updated b2[2]": "η applied twice",
        "dL/dz2[1]": "the sign is wrong",
        "a1[2]": "a digit slip: 0.5869",
    }
    for key, words in expected.items():
        assert items[key].verdict == "wrong", (key, items[key])
        assert words in items[key].diagnosis, (key, items[key].diagnosis)
    wrong = {i.key for i in report.items if i.verdict != "correct"}
    assert wrong == set(expected)
    assert report.exit_status == 1


def test_mistakes_in_tanh_and_relu_networks(tmp_path: Path) -> None:
    half = oracle_answers(NETWORKS["tanh"], loss="half_squared_error")
    answers = spoiled("tanh", {
        "dL/dW1[2,1]": ("gradients", lambda a: half["gradients"]["dL/dW1[2,1]"]),
        "dL/db1[3]": ("gradients", lambda a: a["deltas"]["dL/dz1[3]"] / (1 - a["values"]["a1[3]"] ** 2)
                      * (1 - math.tanh(a["values"]["a1[3]"]) ** 2)),  # tanh' taken at a
    })
    report = check(tmp_path, "tanh", answers)
    items = by_key(report)
    assert "a ½ added" in items["dL/dW1[2,1]"].diagnosis
    assert "g' evaluated at a = g(z)" in items["dL/db1[3]"].diagnosis
    # the first layer read transposed: every number of the student's forward pass follows
    relu = NETWORKS["relu"]
    transposed = dict(relu, layers=[([[0.5, 0.3], [-0.25, 0.8]], [0.1, -0.1], "relu"),
                                    relu["layers"][1]])
    wrong = oracle_answers(transposed)
    report = check(tmp_path, "relu", {"gradients": {"dL/dW2[1,1]": wrong["gradients"]["dL/dW2[1,1]"]}})
    (item,) = report.items
    assert item.verdict == "wrong" and "W1 read transposed" in item.diagnosis


def test_error_carried_forward_through_the_graph(tmp_path: Path) -> None:
    """A wrong a1[1]: every value downstream that follows from it is correct-ecf, naming it;
    a value that does not follow from it stays wrong; the ECF share is the problem's to set."""
    net = NETWORKS["sigmoid"]
    right = oracle_answers(net)["values"]
    a11 = 0.6123  # should be 0.59327
    z21 = 0.40 * a11 + 0.45 * right["a1[2]"] + 0.60
    z22 = 0.50 * a11 + 0.55 * right["a1[2]"] + 0.60
    y1, y2 = sigmoid(z21), sigmoid(z22)
    delta = (y1 - 0.01) * y1 * (1 - y1)
    answers = {
        "values": {"a1[1]": a11, "z2[1]": z21, "yhat[1]": y1, "yhat[2]": y2,
                   "L": 0.5 * (y1 - 0.01) ** 2 + 0.5 * (y2 - 0.99) ** 2},
        "gradients": {"dL/dW2[1,1]": delta * a11, "dL/dW2[1,2]": delta * 0.5},  # 0.5: no reason
        "updated": {"W2[1,1]": 0.40 - 0.5 * delta * a11},
    }
    report = check(tmp_path, "sigmoid", answers)
    items = by_key(report)
    assert items["a1[1]"].verdict == "wrong"
    for key in ("z2[1]", "yhat[1]", "L", "dL/dW2[1,1]", "updated W2[1,1]"):
        assert items[key].verdict == "correct-ecf", (key, items[key])
    assert "a1[1] = 0.6123" in items["z2[1]"].diagnosis
    assert "dL/dW2[1,1]" in items["updated W2[1,1]"].diagnosis  # the nearest wrong value it used
    assert items["dL/dW2[1,2]"].verdict == "wrong"
    # the problem decides what ECF is worth, and whether it passes
    problem = tmp_path / "sigmoid.toml"
    problem.write_text(problem_toml(net) + "[check]\necf_credit = 0.5\npoints = 10\n")
    report = api.check(problem, tmp_path / "answers.json")
    assert report.out_of == 10 and math.isclose(report.points, 10 * (6 * 0.5 + 0) / 8)
    assert report.exit_status == 1


def test_a_value_from_another_part_and_ecf_in_a_sheet(tmp_path: Path) -> None:
    report = api.check(ROOT / "examples/seed001.toml", ROOT / "examples/students/seed001-answers.json")
    items = {(i.part, i.key): i for i in report.items}
    assert items["c", "yhat[1]"].verdict == "wrong"
    assert "value of question 1 (b)" in items["c", "yhat[1]"].diagnosis
    for key in ("L", "dL/db2[1]", "dL/dW2[1,2]"):
        assert items["c", key].verdict == "correct-ecf"
        assert "yhat[1] = 38" in items["c", key].diagnosis
    assert items["b", "yhat[1]"].verdict == "correct"
    assert items["d", "updated W1[3,1]"].verdict == "correct"


# ---------------------------------------------------------------------------------------------
# Written solutions


def test_a_written_solution_flags_exactly_its_wrong_lines() -> None:
    report = api.check(ROOT / "examples/two_two_two.toml", ROOT / "examples/students/two_two_two-alex.md")
    flagged = {i.line: i.verdict for i in report.items if i.verdict != "correct"}
    assert flagged == {32: "wrong", 34: "correct-ecf", 36: "inconsistent", 38: "wrong",
                       40: "correct-ecf", 44: "wrong", 46: "correct-ecf"}
    by_line = {i.line: i for i in report.items}
    assert "(1 − σ)(1 + σ)" in by_line[32].diagnosis
    assert "dyhat[1]/dz2[1] = 0.4354 (line 32)" in by_line[34].diagnosis
    assert "two digits transposed" in by_line[36].diagnosis
    assert "two digits transposed" in by_line[38].diagnosis
    assert "dL/da1[2] = 0.0441 (line 38)" in by_line[40].diagnosis
    assert "update's sign" in by_line[44].diagnosis
    assert sum(1 for i in report.items if i.verdict == "correct") == 10
    text = report.to_text()
    assert "line 32  ✗" in text and "line 34  ECF" in text and "Score:" in text


def written(text: str, layout: list[tuple[str, list[str]]] | None = None) -> Any:
    return read_written(text, "<test>", layout or [("", [""])])


def test_chains_continuations_columns_and_markers() -> None:
    answers = written(
        "3.\n$$h_1 = \\sigma(1.5) \\quad h_2 = \\sigma(5.5)$$\n$$= 0.8176 \\quad = 0.9959$$\n"
        "\\begin{align} y &= \\sigma(0.4047) \\\\ &= 0.5998 \\end{align}\n"
        "1b) $J = (38 - 32)^2 \\Rightarrow \\underline{J = 16}$\n",
        [("1", ["a", "b"]), ("3-4", ["a", "b"])])
    chains = [(s.question, s.part, [e.text for e in s.elements]) for s in answers.statements]
    assert chains == [
        ("3-4", None, ["h_1", "\\sigma(1.5)", "0.8176"]),
        ("3-4", None, ["h_2", "\\sigma(5.5)", "0.9959"]),
        ("3-4", None, ["y", "\\sigma(0.4047)", "0.5998"]),
        ("1", "b", ["J", "(38 - 32)^2"]),
        ("1", "b", ["J", "16"]),
    ]
    assert [s.line for s in answers.statements] == [2, 2, 4, 5, 5]


@pytest.mark.parametrize("one, other", [
    ("h_1", "h_{1}"), ("W^{[2]}_{11}", "W_{11}^{[2]}"), ("\\hat{y}_1", "\\hat{y}_{1}"),
    ("\\mathbf{z}_2", "z_2"), ("w_{1,2}", "w_{12}"), ("ŷ", "\\hat{y}"),
])
def test_one_name_however_it_is_written(one: str, other: str) -> None:
    assert name_key(one) == name_key(other) is not None


def test_what_the_math_reader_understands() -> None:
    assert isinstance(parse_element("\\frac{\\partial J}{\\partial b_1^{[2]}}"), mathtext.Partial)
    assert isinstance(parse_element("∂L/∂w_2"), mathtext.Partial)
    prime = parse_element("\\sigma'(z_2)")
    assert isinstance(prime, mathtext.Call) and prime.function == "sigmoid" and prime.derivative == 1
    updated = parse_element("w_{j1}'")
    assert isinstance(updated, mathtext.Name) and updated.updated
    bar = parse_element("\\bar{w}_{j1}")
    assert isinstance(bar, mathtext.Name) and bar.bar
    assert parse_element("0.9176").half_unit == pytest.approx(0.00005)  # type: ignore[union-attr]
    for bad in ("\\input{/etc/passwd}", "\\sum_{i=1}^2 x_i", "x_12", "(" * 200 + "1" + ")" * 200):
        with pytest.raises(MathError):
            parse_element(bad)


def test_the_readers_never_run_text() -> None:
    for module in ("mathtext", "answers"):
        source = (ROOT / "symgrad" / "input" / f"{module}.py").read_text()
        code = re.sub(r'""".*?"""|#[^\n]*', "", source, flags=re.S)
        for word in (r"\beval\(", r"\bexec\(", "sympify", "parse_expr", r"(?<!re\.)\bcompile\("):
            assert not re.search(word, code), (module, word)


# ---------------------------------------------------------------------------------------------
# The source documents: their known mistakes must be found


def seed(stem: str, name: str, symbols: dict[str, str] | None = None) -> Any:
    matches = sorted(SEEDS.glob(f"{stem}_*.txt")) if SEEDS.is_dir() else []
    if not matches:
        pytest.skip(f"the source documents are not here ({SEEDS} is absent)")
    return api.check(ROOT / "examples" / f"{name}.toml", matches[0], symbols=symbols)


def test_seed000_a_slipped_digit_and_a_false_derivative() -> None:
    report = seed("000", "seed000", {"y_j": "yhat[1]", "z_2": "z2[1]", "w_{11}": "W1[1,1]",
                                     "w_{12}": "W1[1,2]", "w_{21}": "W1[2,1]",
                                     "w_{22}": "W1[2,2]"})
    slip = [i for i in report.items if i.claimed == 0.9176]
    assert slip and slip[0].verdict == "wrong" and "a digit slip: 0.9176" in slip[0].diagnosis
    carried = [i for i in report.items if "0.5(0.9176)" in i.text]
    assert carried[0].verdict == "inconsistent"
    assert "0.9176 here should be a1[1] = 0.817574" in carried[0].diagnosis
    derivative = [i for i in report.items if i.key == "diff(sigmoid(z), z)"]
    assert derivative[0].verdict == "wrong"
    assert "(1 − σ)(1 + σ)" in derivative[0].diagnosis and "refuted" in derivative[0].diagnosis
    sign = [i for i in report.items if i.key == "dL/dW1[1,2]" and i.claimed == 0.00716]
    assert sign and sign[0].verdict == "wrong" and "sign is wrong" in sign[0].diagnosis


def test_seed001_a_value_from_another_part() -> None:
    report = seed("001", "seed001")
    (item,) = [i for i in report.items if i.text == "J = (38 - 32)^2"]
    assert item.verdict == "wrong" and item.part == "c"
    assert "38 here should be yhat[1] = 36 (38 is its value in question 1 (b))" in item.diagnosis


def test_seed002_a_claim_that_the_derivative_does_not_depend_on_b2() -> None:
    report = seed("002", "seed002")
    (item,) = [i for i in report.items if i.key.startswith("depends")]
    assert item.verdict == "wrong" and item.claimed == "no" and item.expected == "yes"
    assert item.question == "2.3" and "does change with b2[1]" in item.diagnosis


def test_seed003_an_addition_that_does_not_hold() -> None:
    report = seed("003", "seed003")
    (item,) = [i for i in report.items if "entry 3 is 0.38, not -0.22" in i.diagnosis]
    assert item.verdict == "inconsistent" and item.question == "2"
    assert {i.verdict for i in report.items if i.question == "3" and i.key.startswith("dL/")} == {"correct"}


# ---------------------------------------------------------------------------------------------
# The command line, and bad input


def test_the_command_line_contract(tmp_path: Path) -> None:
    problem = ROOT / "examples/two_two_two.toml"
    out = run_here("check", str(problem), str(ROOT / "examples/students/two_two_two-answers.json"),
                   "--json")
    assert out.returncode == 1, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= {"score", "items"} and set(data["score"]) == {"points", "out_of"}
    assert all(set(i) == CONTRACT for i in data["items"])
    assert {i["verdict"] for i in data["items"]} <= {"correct", "correct-ecf", "wrong",
                                                      "inconsistent", "unchecked"}
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"values": {"L": 0.2983711087600027}}))
    out = run_here("check", str(problem), str(good), "-o", str(tmp_path / "fb"))
    assert out.returncode == 0 and "Score: 1 / 1" in out.stdout
    tex = (tmp_path / "fb" / "good-feedback.tex").read_text()
    assert "\\documentclass" in tex and "Score: 1 / 1" in tex


def test_the_feedback_document_escapes_the_students_text(tmp_path: Path) -> None:
    hostile = tmp_path / "hostile.md"
    hostile.write_text("$$L = \\input{/etc/passwd} = 0.2984$$\n$$\\write18{rm -rf /} = 1$$\n"
                       "$$L = 0.2984 \\text{\\immediate\\write18{ls}}$$\n")
    report = api.check(ROOT / "examples/two_two_two.toml", hostile)
    tex = report.to_latex()
    body = tex[tex.index("\\begin{document}"):]
    assert "\\input{" not in body and "\\write18" not in body
    assert "\\textbackslash{}input" in body


@pytest.mark.parametrize("name, content, expected", [
    ("bad.md", b"\xff\xfe $x = 1$", "expected UTF-8 text"),
    ("bad.json", b'{"values": {"L": NaN}}', "expected finite numbers"),
    ("bad.json", b'{"valeus": {"L": 1}}', "valeus: unknown field"),
    ("bad.json", b'{"values": {"L": [1, 2]}}', "values.L: expected a number"),
    ("bad.json", b'[' * 50 + b']' * 50, "bad.json"),
    ("bad.toml", b"values = 3", "values: expected a table"),
    ("bad.docx", b"PK", "expected answers in .json or .toml"),
    ("bad.md", b"+++\n[check.symbols]\n\"h_1\" = \"nothing[9]\"\n+++\n$h_1 = 1$", "check.symbols.h_1"),
    ("bad.md", b"+++\n[check.symbols]\n\"\\\\input{x}\" = \"L\"\n+++\n", "check.symbols"),
])
def test_a_bad_answers_file_is_one_line(tmp_path: Path, name: str, content: bytes, expected: str) -> None:
    target = tmp_path / name
    target.write_bytes(content)
    out = run_here("check", str(ROOT / "examples/two_two_two.toml"), str(target), "-o",
                   str(tmp_path / "out"))
    assert_bad_input(out, expected)
    assert not (tmp_path / "out").exists()


def test_a_huge_answers_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "huge.md"
    target.write_bytes(b"$x = 1$\n" * 200_000)
    assert_bad_input(run_here("check", str(ROOT / "examples/two_two_two.toml"), str(target)),
                     "at most 1000000 bytes")


def test_deeply_nested_or_odd_lines_are_unchecked_not_errors(tmp_path: Path) -> None:
    target = tmp_path / "odd.md"
    target.write_text("$$L = " + "(" * 300 + "0.3" + ")" * 300 + "$$\n$$L = 10^{99999}$$\n"
                      "$$L = \\frac{1}{0}$$\n$$L = \\begin{pmatrix} 1 & 2 \\end{pmatrix}$$\n")
    report = api.check(ROOT / "examples/two_two_two.toml", target)
    assert [i.verdict for i in report.items] == ["unchecked"] * 4


needs_tex = pytest.mark.skipif(
    not (shutil.which("latexmk") or shutil.which("pdflatex")) and not os.environ.get("CI"),
    reason="no TeX engine here",
)


@needs_tex
def test_the_feedback_pdf_compiles_cleanly(tmp_path: Path) -> None:
    """The feedback document through TeX: no error, nothing running into the margin."""
    from symgrad.output.pdf import build_pdf

    report = api.check(ROOT / "examples/two_two_two.toml", ROOT / "examples/students/two_two_two-alex.md")
    log = build_pdf(report.to_latex(), tmp_path / "feedback.pdf")
    assert (tmp_path / "feedback.pdf").read_bytes().startswith(b"%PDF")
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(w <= 1.0 for w in widths), widths


@needs_tex
def test_any_unicode_in_a_students_text_typesets(tmp_path: Path) -> None:
    """What pdflatex cannot set (₁ pasted from a word processor, an emoji, CJK, a combining
    accent) has a stand-in: a student's text cannot stop the feedback PDF (exit status 3 is for
    the user's own templates)."""
    work = tmp_path / "unicode.md"
    work.write_text("## 1. 😀 \u202e ħ\n\n$$L = ½(ŷ₁ − y₁)² + … = 0.2984$$\n\n"
                    "$$z^{[1]}_1 = 0.3775 \u0301 中文 𝐀 ⟨ ⟩ ∫ = 0.3775$$\n")
    out = run_here("check", str(ROOT / "examples/two_two_two.toml"), str(work), "--pdf", "-o",
                   str(tmp_path / "o"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "o" / "unicode-feedback.pdf").read_bytes().startswith(b"%PDF")
    assert "y\\_1" in (tmp_path / "o" / "unicode-feedback.tex").read_text()  # ₁ as _1


def test_the_exit_status_follows_the_problems_ecf_rule() -> None:
    from symgrad.analyses.check import Item, Report

    ecf = Item("L", "", "", 3, "L = 36", 36, 16, "correct-ecf", "right from your own yhat[1] = 38")
    assert Report("t", "p", "a", (ecf,), (), 1, 1, False).exit_status == 1
    assert Report("t", "p", "a", (ecf,), (), 1, 1, True).exit_status == 0


def test_the_problems_check_table(tmp_path: Path) -> None:
    """[check.symbols] maps the student's names; a bad [check] field is one line."""
    answers = tmp_path / "work.md"
    answers.write_text("$$h = \\sigma(0.3775) = 0.5933$$\n$$E = 0.2984$$\n")
    problem = tmp_path / "net.toml"
    base = (ROOT / "examples/two_two_two.toml").read_text()
    problem.write_text(base + '[check]\npoints = 4\n[check.symbols]\n"h" = "a1[1]"\n"E" = "L"\n')
    report = api.check(problem, answers)
    assert [(i.key, i.verdict) for i in report.items] == [("a1[1]", "correct"), ("L", "correct")]
    assert (report.points, report.out_of) == (4, 4)
    for table, field in (("[check]\necf_credit = 2\n", "check.ecf_credit"),
                         ("[check]\nfoo = 1\n", "check.foo: unknown field"),
                         ('[check.symbols]\n"h" = "a9[9]"\n', "check.symbols.h"),
                         # a points key that names no part: not a silent score of 0 / 0
                         ('[check]\npoints = {"zz" = 4}\n', "check.points.zz: expected one number")):
        problem.write_text(base + table)
        assert_bad_input(run_here("check", str(problem), str(answers)), str(problem), field)
    sheet = tmp_path / "sheet.toml"
    sheet.write_text((ROOT / "examples/seed001.toml").read_text()
                     + '[check]\npoints = {"1/a" = 4, "2" = 3, "1/z" = 1}\n')
    assert_bad_input(run_here("check", str(sheet), str(ROOT / "examples/students/seed001-answers.json")),
                     str(sheet), "check.points.1/z: expected a question or part of the sheet, such as 1, 1/a")


def test_a_computation_graph_with_its_own_names(tmp_path: Path) -> None:
    """f = sin(g1) + g2², g1 = x1 e^(x2), g2 = x1 + x2², at x = (1, 0.5), worked out by hand; a
    wrong g1 carries into f and df/dg1 (ECF), and the written names are the file's own."""
    x1, x2 = 1.0, 0.5
    g1, g2 = x1 * math.exp(x2), x1 + x2**2
    wrong_g1 = 1.7
    work = tmp_path / "graph.md"
    work.write_text(
        f"$$g_1 = x_1 e^{{x_2}} = {wrong_g1}$$\n"
        f"$$g_2 = x_1 + x_2^2 = {g2}$$\n"
        f"$$f = \\sin({wrong_g1}) + {g2}^2 = {math.sin(wrong_g1) + g2**2:.4f}$$\n"
        f"$$\\frac{{\\partial f}}{{\\partial g_1}} = \\cos(g_1) = {math.cos(wrong_g1):.4f}$$\n"
        f"$$\\frac{{\\partial f}}{{\\partial x_1}} = {math.cos(g1) * math.exp(x2) + 2 * g2:.4f}$$\n")
    report = api.check(ROOT / "examples/chain_rule_graph.toml", work)
    verdicts = [(i.key, i.verdict) for i in report.items]
    assert verdicts == [("g1", "wrong"), ("g2", "correct"), ("f", "correct-ecf"),
                        ("df/dg1", "correct-ecf"), ("df/dx1", "correct")]


def test_whole_numbers_and_drifting_links_earn_no_marks(tmp_path: Path) -> None:
    """A whole number is exact: "L = 0" is not 0.298 within ±0.5, and links that each hold within
    their digits cannot walk from a right side to a wrong end (0.3 = 0.4 = ... = 0.9)."""
    work = tmp_path / "gaming.md"
    work.write_text("$$L = 0$$\n\n$$L = 0 = 0$$\n\n$$\\hat{y}_1 = 1 = 1$$\n\n"
                    "$$L = 0.3 = 0.4 = 0.5 = 0.6 = 0.7 = 0.8 = 0.9$$\n\n"
                    "$$L = " + " = ".join(str(k) for k in range(30)) + "$$\n\n$$L = 0.3$$\n")
    report = api.check(ROOT / "examples/two_two_two.toml", work)
    assert [i.verdict for i in report.items] == ["wrong"] * 5 + ["correct"]


def test_a_chain_of_forty_thousand_links_is_quick(tmp_path: Path) -> None:
    """Looking back along a chain for a rounding carried is linear in its links, not quadratic
    (40,000 links took half a minute, 100,000 ten minutes)."""
    import time

    work = tmp_path / "links.md"
    work.write_text("$$L = " + " = ".join(["1"] * 40_000) + "$$\n")
    start = time.monotonic()
    out = run_here("check", str(ROOT / "examples/two_two_two.toml"), str(work), cwd=tmp_path)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("text, expected", [
    ('{"values": {"L": [1, 2.50]}}', "got [1, 2.50]"),  # numbers as written, not Quoted objects
    ('{"questions": [{"number": "1", "parts": [{"label": [1.0], "values": {"L": 1}}]}]}',
     "got [1.0]"),
    ('{"values": {"L": ' + "9" * 5000 + "}}", "(5000 characters)"),  # not the 5,000 digits
    ('{"values": {"L": "' + "9" * 5000 + '"}}', "(5000 characters)"),
])
def test_a_bad_answer_file_is_a_short_line(text: str, expected: str, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(text)
    out = run_here("check", str(ROOT / "examples/two_two_two.toml"), str(answers), cwd=tmp_path)
    assert_bad_input(out, "answers.json", expected)
    assert len(out.stderr) < 300 and "object at 0x" not in out.stderr


def test_the_report_holds_no_terminal_escapes(tmp_path: Path) -> None:
    """A student's ESC sequences (clear the screen, move up a line, set the title) and U+202E
    (reverse what follows) do not reach the terminal through the text report."""
    work = tmp_path / "escapes.md"
    work.write_text("$$L = 0.2984 \x1b[2J\x1b[1A\x1b]0;pwn\x07 \u202e = 0.2984$$\n")
    out = run_here("check", str(ROOT / "examples/two_two_two.toml"), str(work), cwd=tmp_path)
    assert out.stdout and not re.search("[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]", out.stdout)


def test_many_yes_no_lines_are_read_in_linear_time() -> None:
    """40,000 lines saying "does not depend" (a file under the size bound) took 20 s: each line
    was looked up in a list and sliced the rest of the file."""
    import time

    start = time.monotonic()
    answers = written("It does not depend on b\n" * 40_000)
    assert len(answers.yes_no) == 40_000 and answers.yes_no[-1].line == 40_000
    assert answers.yes_no[0].text == "It does not depend on b"
    assert time.monotonic() - start < 5
