"""Answer keys an instructor hands out as they are (issue 12): nothing on a question sheet gives an
answer away, prose holds checked mathematics, backpropagation by δ derives every number it uses,
numbers show the stated precision, updates show their change, results are boxed once, points.

The expected values are worked out here (hand formulas, tests/oracle.py's plain backward pass),
never copied from symgrad's output.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

import symgrad
from symgrad.output.latex import format_number

from cli import ROOT, assert_bad_input, run_here as run
from conftest import EXAMPLES, rendered, solved
from oracle import backward

NUMBER = re.compile(r"(?<![\w.^{])-?\d+(?:\.\d+)?(?: \\times 10\^\{-?\d+\})?(?![\d.])")


def sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def parts(stem: str) -> list:
    sheet = solved(stem)
    return [p for q in sheet.questions for p in q.parts] if hasattr(sheet, "questions") else []


def numbers_in(tex: str) -> list[str]:
    return NUMBER.findall(tex)


def as_float(text: str) -> float:
    """A number as the sheet prints it: -0.007163, \\left(-3.894 \\times 10^{-4}\\right)."""
    m = re.fullmatch(r"(?:\\left\()?(-?[\d.]+)(?: \\times 10\^\{(-?\d+)\})?(?:\\right\))?", text.strip())
    assert m, text
    return float(m[1]) * 10 ** int(m[2] or 0)


def boxed(tex: str) -> list[str]:
    """The contents of every \\boxed{...}, braces balanced."""
    out = []
    for m in re.finditer(r"\\boxed\{", tex):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(tex[i], 0)
            i += 1
        out.append(tex[m.end():i - 1])
    return out


def without_figures(tex: str) -> str:
    """The question sheet without its TikZ coordinates (a node's place is no value); the labels
    drawn in a figure stay."""
    def labels(m: re.Match[str]) -> str:
        return " ".join(re.findall(r"\{\$([^$]*)\$\}", m[0]))
    tex = re.sub(r"\\begin\{tikzpicture\}.*?\\end\{tikzpicture\}", labels, tex, flags=re.S)
    tex = re.sub(r"\\(?:part|titledquestion\{[^}]*\})\[\d+\]", "", tex)  # points
    tex = re.sub(r"\\needroom\{[^}]*\}|\[[\d.]+cm\]", "", tex)  # layout lengths
    tex = re.sub(r"\\pgfplotsset\{compat=[\d.]+\}", "", tex)  # the preamble's version number
    return "\n".join(line for line in tex.splitlines() if not line.lstrip().startswith("%"))


def given_numbers(stem: str) -> set[str]:
    """The problem's own data, in every form the sheets print them: they may appear."""
    out: set[str] = set()
    for p in parts(stem):
        values = list(p.plot_at)
        if p.solution is not None:
            g = p.solution.graph
            values += [v for v in g.values.values() if isinstance(v, (int, float))]
            values += [g.learning_rate] if g.learning_rate is not None else []
            optimizer = p.solution.spec.optimizer  # its settings are given: Adam's β₂ = 0.999
            values += [*optimizer.betas, optimizer.lr, optimizer.momentum] if optimizer else []
        for v in values:
            out |= {format_number(v, 4), format_number(v, 4, True), repr(v), str(v)}
    return out


def computed_values(stem: str) -> list[float]:
    """Every value the engine works out: forward values, δ, gradients, updated parameters."""
    out = []
    for p in parts(stem):
        s = p.solution
        if s is None:
            continue
        for v in [*s.values.values(), *s.adjoint_values.values(),
                  *(g.value for g in s.gradients.values()), *s.updated.values()]:
            if isinstance(v, (int, float)):
                out.append(v)
    return out


def leaks(questions: str, stem: str) -> list[str]:
    """What the question sheet `questions` gives away of example `stem`'s answers: computed values
    (at the sheet's precision or one figure less, zeros kept or not) that are not given data, and
    boxed results of the key."""
    questions = without_figures(questions)
    precision = getattr(solved(stem), "precision", 4)
    given, shown = given_numbers(stem), set(numbers_in(questions))
    out = []
    for v in computed_values(stem):
        if v in (0, 1):
            continue  # no answer to give away (a ReLU's 0, a factor 1)
        forms = {format_number(v, p, zeros) for p in (precision, precision - 1) for zeros in (False, True)}
        out += [f"the value {v} as {f}" for f in (forms & shown) - given]
    for result in boxed(rendered(stem)):
        if not NUMBER.fullmatch(result.strip()) and result in questions:  # numbers: just above
            out.append(f"the result {result}")
    return out


@pytest.mark.parametrize("problem", EXAMPLES, ids=lambda p: p.stem)
def test_a_question_sheet_gives_no_answer_away(problem: Path) -> None:
    questions = rendered(problem.stem, key=False)
    assert leaks(questions, problem.stem) == []
    body = questions.split("\\begin{document}")[1].lower()
    assert "the document" not in body and "document's" not in body  # notes: the key only
    assert "\\boxed" not in body and "\\printanswers" not in questions  # no hidden solution either


def test_the_leak_test_catches_a_leak(tmp_path: Path) -> None:
    """A question text that states a computed value (the source's "ReLU keeps 0.38") or a result
    of the key fails the test above."""
    sheet = tmp_path / "seed003.toml"
    sheet.write_text((ROOT / "examples" / "seed003.toml").read_text().replace(
        "Find $W_1^{T} x + b_1^{T}$", "ReLU keeps $0.38$. Find $W_1^{T} x + b_1^{T}$"))
    found = leaks(symgrad.solve(sheet).to_latex(key=False), "seed003")
    assert found and all(f.endswith("as 0.38") for f in found)
    key = rendered("seed002")
    result = boxed(key[key.index("% symgrad: dyhat[1]/dW1[1,1]"):])[0]  # the key's result
    sheet.write_text((ROOT / "examples" / "seed002.toml").read_text().replace(
        "Find $\\\\partial \\\\hat{y} / \\\\partial w_{1,11}$.", f"It is ${result}$.".replace("\\", "\\\\")))
    assert leaks(symgrad.solve(sheet).to_latex(key=False), "seed002") == [f"the result {result}"]


def test_notes_are_in_the_key_only() -> None:
    key, questions = rendered("seed000"), rendered("seed000", key=False)
    assert key.count("Note on the source.") == 5 and "Note on the source" not in questions
    assert "w_2' = w_{12} w_{31} + w_{22} w_{32}" in key  # the note, typeset


# --- prose mathematics -----------------------------------------------------------------------

PROSE = """title = "Prose with $\\\\hat{{y}} = \\\\sigma(z)$ and \\\\$5"
[[question]]
text = '''{text}'''
[question.network]
inputs = 1
loss = "half_squared_error"
learning_rate = 0.5
[[question.network.layer]]
units = 1
activation = "sigmoid"
weights = [[0.3]]
biases = [0.1]
[question.data]
x = [2]
y = [1]
[[question.part]]
{part}
"""


def prose_sheet(tmp_path: Path, text: str, part: str = "show = ['forward']", symbols: str = "") -> Path:
    path = tmp_path / "prose.toml"
    title, rest = PROSE.format(text=text, part=part).split("\n", 1)
    path.write_text(f"{title}\n{symbols}{rest}")
    return path


def test_prose_math_is_typeset_and_names_quantities_in_the_notation(tmp_path: Path) -> None:
    text = r"The weight $\q{W1[1,1]}$ of $\q{W1}$, the rate $\q{eta}$, $\frac{1}{2} (t - y)^2 \leq 1$; 5% & more."
    tex = symgrad.solve(prose_sheet(tmp_path, text)).to_latex()
    assert r"Prose with $\hat{y} = \sigma(z)$ and \$5" in tex
    assert r"The weight ${W^{[1]}_{11}}$ of ${W^{[1]}}$, the rate ${\eta}$, $\frac{1}{2} (t - y)^2 \leq 1$; 5\% \& more." in tex
    renamed = prose_sheet(tmp_path, text, symbols='[sheet.symbols]\nW1 = "C"\neta = "\\\\alpha"\n')
    tex = symgrad.solve(renamed).to_latex()
    assert "${C_{11}}$ of ${C}$, the rate ${\\alpha}$" in tex


@pytest.mark.parametrize(
    ("text", "why"),
    [
        (r"costs $5", "never closed"),
        (r"$\input{/etc/passwd}$", r"'\input' is not an allowed macro"),
        (r"$x$ and $\write18{rm}$", r"'\write'"),
        (r"$^^5c$", "needs an argument"),
        ("$a # b$", "'#' is not allowed"),
        (r"$\frac{1}$", r"\frac needs two arguments"),
        (r"$\left( x$", r"\left without its \right"),
        ("$$", "empty"),
        ("$" + "x + " * 120 + "x$", "too long"),
        (r"$\q{W1[1,1}$", "expected a name"),
    ],
)
def test_bad_prose_math_is_one_line_naming_file_and_field(tmp_path: Path, text: str, why: str) -> None:
    path = prose_sheet(tmp_path, text.replace("'", "\\'"))
    out = run("solve", str(path), "-o", str(tmp_path / "out"))
    assert_bad_input(out, str(path), "question[1].text", why)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("part", "field", "why"),
    [
        (r"text = '$\q{W9[1,1]}$'", "question[1].part[1].text", "no quantity of that name"),
        (r"note = '$\q{z}$'", "question[1].part[1].note", "no quantity of that name"),
        ("points = 0", "question[1].part[1].points", "whole number of points"),
        ("points = 2.5", "question[1].part[1].points", "whole number of points"),
        ("points = true", "question[1].part[1].points", "whole number of points"),
        ("style = 'fancy'", "question[1].part[1].style", '"paths" or "delta"'),
    ],
)
def test_bad_names_points_and_styles_are_one_line(tmp_path: Path, part: str, field: str, why: str) -> None:
    path = prose_sheet(tmp_path, "x", part)
    out = run("solve", str(path), "-o", str(tmp_path / "out"))
    assert_bad_input(out, str(path), field, why)


def test_points_go_through_the_exam_class() -> None:
    key, questions = rendered("seed000"), rendered("seed000", key=False)
    for tex in (key, questions):
        assert "\\addpoints" in tex and "\\gradetable[h][questions]" in tex
        assert "\\part[4]" in tex and "\\part[8]" in tex
    assert "\\gradetable" not in rendered("two_two_two")  # no points, no table


# --- backpropagation by δ ----------------------------------------------------------------------

def rows_after(tex: str, marker: str) -> list[tuple[str, str]]:
    """(key, the row's text) for each "% MARKER: key" comment."""
    out = []
    for block in tex.split(f"% {marker}: ")[1:]:
        key, _, body = block.partition("\n")
        out.append((key, re.split(r"\n(?:% symgrad|\\end\{align)", body)[0]))
    return out


def test_delta_rows_match_a_plain_backward_pass() -> None:
    """two_two_two (δ by default: 12 parameters): each δ on the key against tests/oracle.py."""
    layers = [([[0.15, 0.20], [0.25, 0.30]], [0.35, 0.35], "sigmoid"),
              ([[0.40, 0.45], [0.50, 0.55]], [0.60, 0.60], "sigmoid")]
    oracle = backward([0.05, 0.10], layers, [0.01, 0.99], "half_squared_error")
    tex = rendered("two_two_two")
    shown = dict(rows_after(tex, "symgrad-delta"))
    assert set(shown) == {f"dL/dz{l}[{i}]" for l in (1, 2) for i in (1, 2)}
    for l in (1, 2):
        for i in (1, 2):
            value = oracle[l - 1]["delta"][i - 1]
            assert shown[f"dL/dz{l}[{i}]"].rstrip(" \\\n").endswith(format_number(value, 4, True))
    # a line a parameter, over those δ: ∂L/∂W^{[2]}_{11} = δ^{[2]}_1 a^{[1]}_1
    lines = dict(rows_after(tex, "symgrad"))
    assert lines["dL/dW2[1,1]"].startswith(r"\partial L / \partial W^{[2]}_{11} &= \delta^{[2]}_{1} a^{[1]}_{1} = ")


@pytest.mark.parametrize("problem", EXAMPLES, ids=lambda p: p.stem)
def test_every_number_in_a_backward_line_is_derived_earlier(problem: Path) -> None:
    """In the δ rows and the lines over them, each number in the working appears earlier on the
    key (in the forward pass, an earlier δ, the figure or the data)."""
    tex = rendered(problem.stem)
    for marker in ("symgrad-delta", "symgrad"):
        for m in re.finditer(f"% {marker}: (d[^\\n]*)\\n", tex):
            if "updated" in m[1]:
                continue
            row = re.split(r"\n(?:% symgrad|\\end\{align)", tex[m.end():])[0]
            steps = re.split(r"&?= ", row)[1:-1]  # the working: not the lhs, not the value
            for number in numbers_in(" ".join(steps)):
                if abs(float(number.split(" ")[0])) <= 2 and "." not in number:
                    continue  # a constant of the formula (1 - h, 2 (y - t))
                assert number in tex[:m.start()], f"{problem.stem} {m[1]}: {number} is not derived before"


def test_softmax_hidden_gradients_derive_their_deltas(tmp_path: Path) -> None:
    """A softmax output with cross-entropy: ∂L/∂W of the hidden layer is δ x, and each δ (the
    0.5025 the issue found underived) has its own row with its working; no orphan assumption."""
    problem = {
        "network": {"inputs": 2, "loss": "cross_entropy", "layer": [
            {"units": 2, "activation": "tanh", "weights": [[0.2, -0.4], [0.7, 0.1]], "biases": [0.1, -0.2]},
            {"units": 3, "activation": "softmax", "weights": [[0.5, -0.3], [0.2, 0.8], [-0.6, 0.4]],
             "biases": [0.0, 0.1, -0.1]}]},
        "data": {"x": [1.0, 0.5], "y": [0, 1, 0]},
    }
    layers = [(l["weights"], l["biases"], l["activation"]) for l in problem["network"]["layer"]]
    oracle = backward([1.0, 0.5], layers, [0, 1, 0], "cross_entropy")
    tex = symgrad.solve(problem).to_latex()
    deltas = dict(rows_after(tex, "symgrad-delta"))
    for l, layer in enumerate(oracle, 1):
        for i, value in enumerate(layer["delta"], 1):
            assert deltas[f"dL/dz{l}[{i}]"].rstrip(" \\\n").endswith(format_number(value, 4, True))
    assert "\nso\n" not in tex and ") so" not in tex
    assert "y_{1} + y_{2} + y_{3} = 1" in tex  # the assumption stands with the output's δ


def test_style_paths_and_delta_on_request(tmp_path: Path) -> None:
    path = prose_sheet(tmp_path, "x", "style = 'delta'")
    assert "% symgrad-delta: dL/dz1[1]" in symgrad.solve(path).to_latex()
    path = prose_sheet(tmp_path, "x", "style = 'paths'")
    tex = symgrad.solve(path).to_latex()
    assert "symgrad-delta" not in tex and "By the chain rule" in tex
    assert "symgrad-delta" in rendered("seed000") and "symgrad-delta" not in rendered("seed003")


# --- printing -------------------------------------------------------------------------------------

def test_products_in_chain_rule_order() -> None:
    key = rendered("seed000")
    assert r"\delta_{1} = \frac{\partial L}{\partial z_{1}} &= \delta_{j} w_{j1} \cdot h_{1} \left(1 - h_{1}\right)" in key
    assert r"\left(y - t\right) \cdot y \left(1 - y\right)" in key  # ∂L/∂y · ∂y/∂z
    seed003 = rendered("seed003")  # paths: (ŷ − y) · w_2 · a_1(1 − a_1) · x, as written
    assert r"\left(\hat{y} - y\right) \cdot w_{2} \cdot a_{1} \left(1 - a_{1}\right) \cdot x" in seed003
    assert "x_{1} f \\left(1 - f\\right)" in rendered("seed001")  # never f x_1 (1 - f)


def test_steps_are_evaluated_and_zeros_kept() -> None:
    key = rendered("seed000")
    relu = key[key.index("Question 7"):] if "Question 7" in key else key[key.index("{7}"):]
    assert r"\delta_{j} w_{j1} \cdot H\left(z_{1}\right) = " in relu and "H\\left(1.5" not in relu
    assert "0.2400" in key and "= 0.24 " not in key  # σ'(z_j) at four figures


def test_updates_show_their_change() -> None:
    """Each new value, as printed, differs from the old one when the step is not zero, and is
    the hand value θ − η ∂L/∂θ at the digits shown."""
    for stem in ("seed000", "seed001", "seed003", "two_two_two", "chain_rule_graph"):
        for key, row in rows_after(rendered(stem), "symgrad"):
            if not key.startswith("updated"):
                continue
            m = re.search(r"\\leftarrow (.+) - (.+) \\cdot (.+) = \\boxed\{(.+)\}", row)
            assert m, row
            old, rate, gradient, new = (as_float(t) for t in m.groups())
            exact = old - rate * gradient
            digits = len(m[4].split(" ")[0].lstrip("-").replace(".", "").lstrip("0"))
            assert new == pytest.approx(exact, rel=10 ** (1 - digits), abs=1e-12), (stem, key)
            if abs(rate * gradient) > 1e-12:
                assert new != old, (stem, key, row)
    seed000 = rendered("seed000")
    assert "3 - 0.1 \\cdot \\left(-3.894 \\times 10^{-4}\\right) = \\boxed{3.00004}" in seed000


@pytest.mark.parametrize("problem", EXAMPLES, ids=lambda p: p.stem)
def test_every_asked_result_is_boxed_once(problem: Path) -> None:
    tex = rendered(problem.stem)
    for key, row in rows_after(tex, "symgrad"):
        if key.startswith(("d", "updated")) or key == "L":
            assert row.count("\\boxed{") == 1, (problem.stem, key, row)
    for key, row in rows_after(tex, "symgrad-delta"):
        assert "\\boxed" not in row  # a δ is working, not an asked result
    # a derivation is kept in one block; only one longer than a page may break, in a group of its own
    assert "\\allowdisplaybreaks" not in tex.split("\\begin{document}")[0]
    assert tex.count("\\allowdisplaybreaks") == tex.count("\\begingroup\\allowdisplaybreaks")


def test_summary_tables_and_update_headings_in_the_sheets_notation() -> None:
    seed000 = rendered("seed000")
    assert seed000.count(r"\textbf{Summary.}") == 2 and "parameter & old value & gradient & new value" in seed000
    assert r"$C_{22}$ & $3$ & $-3.894 \times 10^{-4}$ & $3.00004$" in seed000
    assert r"\theta \leftarrow \theta - \eta \, \partial f / \partial \theta" in rendered("chain_rule_graph")
    assert r"\partial J / \partial \theta" in rendered("seed001") and r"\partial L / \partial \theta" not in rendered("seed001")
    assert "W' = W^{[2]} C" in seed000  # the collapse in the renamed notation


def test_seed000_shows_every_gradient_and_update_in_delta_form() -> None:
    """All nine gradients and updates of questions 3-4 and 7, each a short line over the δ (this
    is what keeps the key to seven pages, as checked by eye on the PDF)."""
    key = rendered("seed000")
    assert key.count("% symgrad: updated") == 18 and key.count("% symgrad: dL/d") == 18
    assert key.count("% symgrad-delta: ") == 6 and key.count("By the chain rule") == 2


def test_renamings_reach_verify_parts(tmp_path: Path) -> None:
    path = tmp_path / "claim.toml"
    path.write_text('[sheet.symbols]\nL = "J"\n[[question]]\n[[question.part]]\ntext = "Show it."\n'
                    'verify = "diff(L**2, L) = 2*L"\n')
    tex = symgrad.solve(path).to_latex()
    assert r"\textbf{Claim.} $\frac{d}{d J} J^{2} = 2 J$" in tex
