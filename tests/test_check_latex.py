"""The LaTeX and Markdown students write: thin spaces, \\quad, \\left( \\right), \\dfrac, align,
\\text{...}, \\boxed{...}, \\approx, 8.21 \\times 10^{-2}, \\mathbf{h}, vectors as tuples; in .md,
.txt and .tex.  Each form is read into the same statements and trees as its plain form (the
parser-level tests), and judged through the real checker (the end-to-end tests) on the 2-2-2
network of examples/two_two_two.toml, whose right values are worked out here in plain Python."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from symgrad import api
from symgrad.errors import ProblemError
from symgrad.input import mathtext
from symgrad.input.answers import read_written
from symgrad.input.mathtext import name_key, parse_element

ROOT = Path(__file__).resolve().parent.parent


def sig(v: float) -> float:
    return 1 / (1 + math.exp(-v))


X, T = (0.05, 0.10), (0.01, 0.99)
Z1 = [0.15 * X[0] + 0.20 * X[1] + 0.35, 0.25 * X[0] + 0.30 * X[1] + 0.35]
H = [sig(z) for z in Z1]
Z2 = [0.40 * H[0] + 0.45 * H[1] + 0.60, 0.50 * H[0] + 0.55 * H[1] + 0.60]
O = [sig(z) for z in Z2]
LOSS = sum(0.5 * (o - t) ** 2 for o, t in zip(O, T))
DELTA2 = [(o - t) * o * (1 - o) for o, t in zip(O, T)]  # ∂L/∂z2
GRAD = DELTA2[0] * H[0]  # ∂L/∂W2[1,1]
DW = "\\frac{\\partial L}{\\partial W^{[2]}_{11}}"
HALF = f"\\frac{{1}}{{2}}({O[0]:.4f} - 0.01)^2 + \\frac{{1}}{{2}}({O[1]:.4f} - 0.99)^2"


# ---------------------------------------------------------------------------------------------
# Helpers


def shape(node: Any) -> Any:
    """A tree without positions, to compare two ways of writing one thing."""
    if isinstance(node, mathtext.Num):
        return ("num", node.text)
    if isinstance(node, mathtext.Name):
        return ("name", node.key, node.bar, node.updated)
    if isinstance(node, mathtext.Partial):
        return ("partial", shape(node.top), shape(node.wrt))
    if isinstance(node, mathtext.Call):
        return ("call", node.function, node.derivative, tuple(shape(a) for a in node.args))
    if isinstance(node, mathtext.Op):
        return ("op", node.op, tuple(shape(a) for a in node.args))
    if isinstance(node, mathtext.Matrix):
        return ("matrix", tuple(tuple(shape(x) for x in row) for row in node.rows))
    if isinstance(node, mathtext.Const):
        return ("const", node.name)
    return node


def statements(text: str, source: str = "work.md") -> list[list[Any]]:
    """Each statement of a written solution as the shapes of its sides."""
    answers = read_written(text, source, [("", [""])])
    return [[shape(e.node) for e in st.elements] for st in answers.statements]


def judged(tmp_path: Path, text: str, suffix: str = ".md") -> dict[Any, Any]:
    """The checker's items of a written solution, by line (and all of them under "all")."""
    problem = tmp_path / "p.toml"
    problem.write_text((ROOT / "examples/two_two_two.toml").read_text())
    work = tmp_path / f"work{suffix}"
    work.write_text(text)
    report = api.check(problem, work)
    return {**{i.line: i for i in report.items}, "all": report.items}


def display(*lines: str) -> str:
    """Each line as $$...$$ on line 1, 3, 5, ..."""
    return "\n\n".join(f"$${line}$$" for line in lines) + "\n"


def verdicts(items: dict[Any, Any]) -> dict[int, str]:
    return {line: item.verdict for line, item in items.items() if line != "all"}


# ---------------------------------------------------------------------------------------------
# Spacing and sizing


def test_a_thin_space_between_two_numbers_is_a_product() -> None:
    plain = statements(display("L = 0.7414 \\cdot 0.1868 = 0.1385"))
    for space in ("\\,", "\\;", "\\:", "~", "\\ "):
        assert statements(display(f"L = 0.7414 {space} 0.1868 = 0.1385")) == plain, space
    # the bug: `\,` between two factors of a chain made two statements of one
    assert len(plain) == 1 and len(plain[0]) == 3
    assert statements(display("L = 0.5 \\! \\cdot 0.3")) == statements(display("L = 0.5 \\cdot 0.3"))


def test_thin_spaces_end_to_end(tmp_path: Path) -> None:
    a, b = O[0] - T[0], O[0] * (1 - O[0])
    items = judged(tmp_path, display(
        f"{DW} = {a:.4f} \\, {b:.4f} \\, {H[0]:.4f} = {GRAD:.4f}",
        f"{DW} = {a:.4f} \\; {b:.4f} \\; {H[0]:.4f}",
        f"{DW} = {a:.4f} \\, 0.2 \\, {H[0]:.4f}",  # a wrong factor: 0.088
    ))
    assert verdicts(items) == {1: "correct", 3: "correct", 5: "wrong"}
    assert items[1].key == "dL/dW2[1,1]"


def test_quad_separates_two_equations_and_is_a_space_otherwise() -> None:
    two = statements(display("h_1 = 0.5933", "h_2 = 0.5969"))
    for space in ("\\quad", "\\qquad", "\\hspace{1cm}"):
        assert statements(display(f"h_1 = 0.5933 {space} h_2 = 0.5969")) == two, space
    one = statements(display("z = 0.15 \\cdot 0.05 + 0.35"))
    assert statements(display("z = 0.15 \\cdot 0.05 \\quad + 0.35")) == one
    assert statements(display("z = 0.15 \\cdot \\qquad 0.05 + 0.35")) == one
    # an equation's number after \quad is not part of the value
    assert statements(display("z = 0.4 \\quad (2.1.3)")) == statements(display("z = 0.4"))


def test_quad_end_to_end(tmp_path: Path) -> None:
    items = judged(tmp_path, display(
        f"a^{{[1]}}_1 = \\sigma({Z1[0]:.4f}) = {H[0]:.4f} \\quad a^{{[1]}}_2 = \\sigma({Z1[1]:.4f})"
        f" = {H[1]:.4f}",
        f"z^{{[1]}}_1 = 0.15 \\cdot 0.05 \\quad + 0.2 \\cdot 0.1 + 0.35 = {Z1[0]:.4f}",
        f"a^{{[1]}}_1 = {H[0]:.4f} \\qquad a^{{[1]}}_2 = {H[1] + 0.02:.4f}",
    ))
    found = sorted((i.line, i.key, i.verdict) for i in items["all"])
    assert found == [(1, "a1[1]", "correct"), (1, "a1[2]", "correct"), (3, "z1[1]", "correct"),
                     (5, "a1[1]", "correct"), (5, "a1[2]", "wrong")]


def test_left_right_and_big_are_sizes_only() -> None:
    plain = statements(display("L = (0.5 - 0.01)^2 + [2 (1 + 3)]"))
    for sized in ("L = \\left(0.5 - 0.01\\right)^2 + \\left[2 \\left(1 + 3\\right)\\right]",
                  "L = \\big(0.5 - 0.01\\big)^2 + \\Big[2 \\bigl(1 + 3\\bigr)\\Big]",
                  "L = \\Bigg(0.5 - 0.01\\Bigg)^2 + \\biggl[2 (1 + 3)\\biggr]"):
        assert statements(display(sized)) == plain, sized


def test_sizes_end_to_end(tmp_path: Path) -> None:
    items = judged(tmp_path, display(
        f"L = \\frac{{1}}{{2}}\\left({O[0]:.4f} - 0.01\\right)^2 + \\frac{{1}}{{2}}\\Big({O[1]:.4f}"
        f" - 0.99\\Big)^2 = {LOSS:.4f}",
        f"L = \\frac{{1}}{{2}}\\big({O[0]:.4f} - 0.01\\big)^2"
        f" + \\frac{{1}}{{2}}\\big({O[1]:.4f} - 0.99\\big)^2",
        f"L = \\left( {LOSS + 0.05:.4f} \\right)",
    ))
    assert verdicts(items) == {1: "correct", 3: "correct", 5: "wrong"}


# ---------------------------------------------------------------------------------------------
# Operators and fractions


def test_cdot_times_dfrac_and_tfrac() -> None:
    plain = statements(display("L = \\frac{1}{2} \\cdot 0.5 * 3"))
    for written in ("L = \\dfrac{1}{2} \\times 0.5 \\cdot 3", "L = \\tfrac{1}{2} \\cdot 0.5 \\times 3",
                    "L = \\frac12 × 0.5 · 3"):
        assert statements(display(written)) == plain, written


def test_operators_end_to_end(tmp_path: Path) -> None:
    items = judged(tmp_path, display(
        f"z^{{[1]}}_1 = 0.15 \\times 0.05 + 0.2 \\times 0.1 + 0.35 = {Z1[0]:.4f}",
        f"L = \\dfrac{{1}}{{2}}({O[0]:.4f} - 0.01)^2 + \\tfrac{{1}}{{2}}({O[1]:.4f} - 0.99)^2",
        f"z^{{[1]}}_2 = 0.25 \\cdot 0.05 + 0.3 \\cdot 0.1 + 0.35 = {Z1[1] + 0.01:.4f}",
    ))
    assert verdicts(items) == {1: "correct", 3: "correct", 5: "wrong"}


# ---------------------------------------------------------------------------------------------
# Layout: align, \text, \boxed


def test_align_text_and_boxed() -> None:
    plain = statements(display("L = 0.5 + 0.25 = 0.75"))
    assert statements("\\begin{align}\nL &= 0.5 + 0.25 \\\\\n  &= 0.75\n\\end{align}\n") == plain
    assert statements("\\begin{align*} L &= 0.5 + 0.25 \\\\ &= 0.75 \\end{align*}\n") == plain
    assert statements(display("\\begin{aligned} L &= 0.5 + 0.25 \\\\ &= 0.75 \\end{aligned}")) == plain
    assert statements(display("\\boxed{L = 0.5 + 0.25 = 0.75}")) == plain
    assert statements(display("L = 0.5 + 0.25 = \\boxed{0.75}")) == plain
    assert statements(display("L = 0.5 + 0.25 = 0.75 \\quad \\text{(the loss)}")) == plain
    assert statements(display("L = 0.5 + 0.25 \\text{ by (1)} = 0.75")) == plain
    assert statements(display("\\text{so } L = 0.5 + 0.25 = 0.75")) == plain


def test_layout_end_to_end(tmp_path: Path) -> None:
    text = (f"\\begin{{align}}\nL &= {HALF} \\\\\n  &= {LOSS:.4f}\n\\end{{align}}\n\n"
            + display(f"\\boxed{{\\hat{{y}}_1 = \\sigma({Z2[0]:.4f}) = {O[0]:.4f}}}",
                      f"\\hat{{y}}_2 = \\boxed{{{O[1]:.4f}}} \\quad \\text{{(the second output)}}",
                      f"\\text{{so }} z^{{[2]}}_1 = {Z2[0] + 0.1:.4f}"))
    items = judged(tmp_path, text)
    assert verdicts(items) == {3: "correct", 6: "correct", 8: "correct", 10: "wrong"}


# ---------------------------------------------------------------------------------------------
# Approximations


def test_approximately_equal_links_like_equals() -> None:
    plain = statements(display("L = 0.5 + 0.25 = 0.75"))
    for sign in ("\\approx", "≈", "\\simeq"):
        assert statements(display(f"L = 0.5 + 0.25 {sign} 0.75")) == plain, sign


def test_approximations_end_to_end(tmp_path: Path) -> None:
    items = judged(tmp_path, display(
        f"L = {HALF} \\approx {LOSS:.4f}",
        f"\\hat{{y}}_1 = \\sigma({Z2[0]:.4f}) ≈ {O[0]:.4f}",
        f"\\hat{{y}}_2 \\simeq {O[1]:.4f}",
        f"L \\approx {LOSS + 0.01:.4f}",
    ))
    assert verdicts(items) == {1: "correct", 3: "correct", 5: "correct", 7: "wrong"}


# ---------------------------------------------------------------------------------------------
# Numbers


@pytest.mark.parametrize("written", ["8.21 \\times 10^{-2}", "8.21 \\cdot 10^{-2}", "8.21e-2",
                                     "8.21E-2", "8.21 × 10⁻²", "8.21 \\times 10^-2"])
def test_a_number_times_a_power_of_ten_is_one_number(written: str) -> None:
    number = parse_element(written)
    assert isinstance(number, mathtext.Num)
    assert number.value == pytest.approx(0.0821)
    assert number.half_unit == pytest.approx(0.5 * 0.01 * 0.01)  # half of 0.01, times 10^-2
    assert number.digits == "821" and not number.exact
    assert float(number.text) == pytest.approx(0.0821)


def test_powers_of_ten_keep_their_mantissas_precision() -> None:
    three = parse_element("3 \\times 10^{2}")
    assert isinstance(three, mathtext.Num) and three.value == 300 and three.half_unit == 50
    assert not three.exact  # 3 × 10² is 300 ± 50, not the whole number 300
    negative = parse_element("-1.5 \\cdot 10^{+3}")
    assert shape(negative) == ("op", "neg", (("num", "1.5e3"),))
    # not one number: a divisor's power, a power without a mantissa, 10 to a fraction
    assert shape(parse_element("1 / 2 \\times 10^{-2}"))[1] == "*"
    assert not isinstance(parse_element("10^{-2}"), mathtext.Num)
    assert not isinstance(parse_element("2 \\times 10^{0.5}"), mathtext.Num)
    for bad in ("1e999", "2 \\times 10^{400} = 1"):
        with pytest.raises(mathtext.MathError):
            parse_element(bad)


def test_words_around_a_number_read_as_the_number() -> None:
    plain = statements(display("L = 0.5 + 0.25 = 0.082"))
    assert statements(display("L = 0.5 + 0.25 = \\text{about } 0.082")) == plain
    assert statements(display("L = 0.5 + 0.25 \\approx 0.082 \\text{ (rounded)}")) == plain
    assert statements(display("L = 0.5 + 0.25 \\approx \\text{roughly } -0.082")) == \
        statements(display("L = 0.5 + 0.25 = -0.082"))


def test_numbers_end_to_end(tmp_path: Path) -> None:
    g = GRAD * 100  # ∂L/∂W2[1,1] in hundredths
    items = judged(tmp_path, display(
        f"{DW} = {g:.2f} \\times 10^{{-2}}",
        f"{DW} = {g:.2f} \\cdot 10^{{-2}}",
        f"{DW} = {GRAD * 10:.2f}e-1",
        f"{DW} = {GRAD * 10:.2f}E-1",
        f"L = {round(LOSS * 10)} \\times 10^{{-1}}",  # 3 × 10⁻¹: ±0.05, right
        f"L = {LOSS * 10 - 0.1:.1f} \\times 10^{{-1}}",  # 2.9 × 10⁻¹: ±0.005, wrong
        f"{DW} = {g + 0.05:.2f} \\times 10^{{-2}}",
        f"L = \\text{{about }} {LOSS:.4f}",
        f"L \\approx {LOSS:.3f} \\text{{ (rounded)}}",
        f"L = {HALF} = \\text{{about }} {LOSS + 0.01:.4f}",
    ))
    assert verdicts(items) == {1: "correct", 3: "correct", 5: "correct", 7: "correct",
                               9: "correct", 11: "wrong", 13: "wrong", 15: "correct",
                               17: "correct", 19: "wrong"}
    assert items[1].claimed == pytest.approx(round(g, 2) / 100)


# ---------------------------------------------------------------------------------------------
# Decorations


@pytest.mark.parametrize("one, other", [
    ("\\mathbf{h}", "h"), ("\\boldsymbol{h}_1", "h_1"), ("\\vec{w}", "w"), ("\\bm{z}_2", "z_2"),
    ("\\hat{y}", "ŷ"), ("\\hat y_1", "\\hat{y}_{1}"), ("\\widehat{y}", "\\hat{y}"),
    ("\\bar{z}", "\\bar z"), ("\\vec{h}_1", "\\mathbf{h}_{1}"),
])
def test_decorations_name_the_same_quantity(one: str, other: str) -> None:
    assert name_key(one) == name_key(other) is not None


def test_a_bar_is_the_adjoint_and_a_hat_is_not_the_plain_letter() -> None:
    assert name_key("\\bar{z}") == "bar:" + name_key("z")  # type: ignore[operator]
    assert name_key("\\hat{y}") != name_key("y")


def test_decorations_end_to_end(tmp_path: Path) -> None:
    items = judged(tmp_path, display(
        f"\\mathbf{{h}}_1 = {H[0]:.4f}",
        f"\\boldsymbol{{h}}_2 = {H[1]:.4f}",
        f"\\hat{{y}}_1 = {O[0]:.4f}",
        f"\\vec{{h}}_1 = \\sigma({Z1[0]:.4f})",
        f"\\bar{{z}}^{{[2]}}_1 = {DELTA2[0]:.4f}",
        f"\\hat{{y}}_2 = {O[1] - 0.02:.4f}",
    ))
    assert verdicts(items) == {1: "correct", 3: "correct", 5: "correct", 7: "correct",
                               9: "correct", 11: "wrong"}
    assert items[9].key == "dL/dz2[1]" and items[1].key == "a1[1]"


# ---------------------------------------------------------------------------------------------
# Vectors written as tuples


COLUMN = ("matrix", ((("num", "0.5933"),), (("num", "0.5969"),)))


@pytest.mark.parametrize("written", [
    "(0.5933, 0.5969)", "[0.5933, 0.5969]", "\\left( 0.5933, 0.5969 \\right)",
    "\\begin{pmatrix} 0.5933 \\\\ 0.5969 \\end{pmatrix}",
    "\\begin{bmatrix} 0.5933 \\\\ 0.5969 \\end{bmatrix}",
])
def test_a_parenthesized_list_is_a_column_vector(written: str) -> None:
    assert shape(parse_element(written)) == COLUMN
    assert statements(display(f"\\mathbf{{h}} = {written}")) == [[shape(parse_element("h")), COLUMN]]


def test_calls_and_groups_are_not_vectors() -> None:
    assert shape(parse_element("f(x, y)"))[0] == "call"
    z = shape(parse_element("z"))
    assert shape(parse_element("\\max(0, z)")) == ("call", "max", 0, (("num", "0"), z))
    assert shape(parse_element("(0.5)")) == ("num", "0.5")
    assert shape(parse_element("(1 + 2)(3 + 4)"))[1] == "*"
    with pytest.raises(mathtext.MathError):
        parse_element("(0.5, 0.6) + 1")


def test_vectors_end_to_end(tmp_path: Path) -> None:
    """A layer written at once, as a tuple, a bracketed list, a pmatrix or a bmatrix: each entry
    judged (the checker's vector reading), the same for every way of writing it."""
    right = f"{H[0]:.4f}, {H[1]:.4f}"
    wrong = f"{H[0]:.4f}, {H[1] + 0.02:.4f}"
    forms = ["({})", "[{}]", "\\left( {} \\right)",
             "\\begin{{pmatrix}} {} \\end{{pmatrix}}", "\\begin{{bmatrix}} {} \\end{{bmatrix}}"]

    def written(form: str, entries: str) -> str:
        return form.format(entries.replace(", ", " \\\\ ") if "matrix" in form else entries)

    lines = [f"\\mathbf{{h}}^{{[1]}} = {written(form, right)}" for form in forms]
    lines += [f"\\mathbf{{h}}^{{[1]}} = {written(form, wrong)}" for form in forms]
    items = judged(tmp_path, display(*lines))
    by_line: dict[int, list[tuple[str, str]]] = {}
    for item in items["all"]:
        by_line.setdefault(item.line, []).append((item.key, item.verdict))
    for k in range(len(forms)):
        assert sorted(by_line[2 * k + 1]) == [("a1[1]", "correct"), ("a1[2]", "correct")], forms[k]
        assert sorted(by_line[2 * (k + len(forms)) + 1]) == [("a1[1]", "correct"),
                                                             ("a1[2]", "wrong")], forms[k]


# ---------------------------------------------------------------------------------------------
# Markdown, .txt and .tex


def test_markdown_and_txt_read_dollars_and_brackets() -> None:
    text = ("Some words, $z = 0.5$ inline, and a display:\n\n$$L = 0.25$$\n\n"
            "\\[ h = 0.6 \\]\n\n> quoted $$y\n> = 0.7$$\n\n- a list item with $w = 0.1$\n\n"
            "```\n$not = 1$\n```\n\nIt costs \\$5 and \\(b = 0.2\\) here.\n")
    expected = [[shape(parse_element(a)), shape(parse_element(b))] for a, b in
                [("z", "0.5"), ("L", "0.25"), ("h", "0.6"), ("y", "0.7"), ("w", "0.1"), ("b", "0.2")]]
    assert statements(text) == expected
    assert statements(text, "work.txt") == expected
    answers = read_written(text, "work.md", [("", [""])])
    assert [st.line for st in answers.statements] == [1, 3, 5, 7, 10, 16]
    assert [st.inline for st in answers.statements] == [True, False, False, False, True, True]


def test_latex_reads_every_math_environment() -> None:
    text = ("\\documentclass{article}\n\\begin{document}\n"
            "Inline $z = 0.5$ and \\(b = 0.2\\). % $not = 1$\n"
            "\\[ L = 0.25 \\]\n$$ h = 0.6 $$\n"
            "\\begin{equation} y = 0.7 \\label{eq:y} \\end{equation}\n"
            "\\begin{align} w &= 0.1 \\\\ &= 0.10 \\end{align}\n"
            "\\begin{align*} v &= 0.3 \\end{align*}\n"
            "\\begin{gather} u = 0.4 \\end{gather}\n"
            "\\begin{multline} t = 0.8 \\end{multline}\n"
            "It costs \\$5.\n\\end{document}\n")
    got = statements(text, "work.tex")
    names = [side[0] for side in got]
    assert names == [shape(parse_element(n)) for n in ("z", "b", "L", "h", "y", "w", "v", "u", "t")]
    assert got[5] == [shape(parse_element(x)) for x in ("w", "0.1", "0.10")]


def test_markers_front_matter_and_yes_no_still_read() -> None:
    text = ("+++\n[check.symbols]\n\"E\" = \"L\"\n+++\n\n## 2.3: the loss\n\n$$E = 0.3$$\n\n"
            "1b) $J = 16$\n\nNo, it does not depend on b.\n")
    answers = read_written(text, "work.md", [("1", ["a", "b"]), ("2.3", [])])
    assert [(st.question, st.part, st.line) for st in answers.statements] == [("2.3", None, 8),
                                                                             ("1", "b", 10)]
    assert answers.symbols == {name_key("E"): "L"}
    assert [(y.says, y.line) for y in answers.yes_no] == [(False, 12)]


def test_latex_end_to_end(tmp_path: Path) -> None:
    text = ("\\documentclass{article}\n\\begin{document}\n"  # lines 1-2
            f"Here $a^{{[1]}}_1 = {H[0]:.4f}$ and \\(a^{{[1]}}_2 = {H[1]:.4f}\\).\n"  # 3
            f"\\[ L = {HALF} \\approx {LOSS:.4f} \\]\n"  # 4
            f"\\begin{{align*}}\n\\hat{{y}}_1 &= \\sigma({Z2[0]:.4f}) \\\\\n  &= {O[0]:.4f}\n"
            "\\end{align*}\n"  # 5-8
            f"\\begin{{equation}} \\hat{{y}}_2 = {O[1] + 0.02:.4f} \\end{{equation}}\n"  # 9
            f"% \\[ L = {LOSS + 1:.4f} \\]\n"  # 10: a comment
            "\\end{document}\n")
    items = judged(tmp_path, text, ".tex")
    assert sorted((i.line, i.key, i.verdict) for i in items["all"]) == [
        (3, "a1[1]", "correct"), (3, "a1[2]", "correct"), (4, "L", "correct"),
        (7, "yhat[1]", "correct"), (9, "yhat[2]", "wrong")]
    assert items[4].verdict == "correct"


def test_a_latex_file_nested_past_the_bound_is_one_clear_line(tmp_path: Path) -> None:
    problem = ROOT / "examples/two_two_two.toml"
    work = tmp_path / "deep.tex"
    work.write_text("$L = " + "{" * 150 + "1" + "}" * 150 + "$\n")
    with pytest.raises(ProblemError) as caught:
        api.check(problem, work)
    message = str(caught.value)
    assert "deep.tex" in message and "nested" in message and "\n" not in message
    # in Markdown the same formula is one unreadable line, not an error
    work = tmp_path / "deep.md"
    work.write_text("$$L = " + "{" * 150 + "1" + "}" * 150 + "$$\n")
    (item,) = api.check(problem, work).items
    assert item.verdict == "unchecked"
