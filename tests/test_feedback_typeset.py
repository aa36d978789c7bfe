"""The feedback document typesets a student's lines from their parsed trees with symgrad's own
printer (output/studentmath.py): nothing the student wrote reaches TeX as written, the side found
wrong is marked, and the student's notation heads the document."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from symgrad.analyses.check import Item, PartScore, Report
from symgrad.analyses.notation import SymbolEntry
from symgrad.input.answers import Element, Statement
from symgrad.input.mathtext import (Call, Const, MathError, Matrix, Name, Num, Op, Partial,
                                    parse_element)
from symgrad.output import feedback, studentmath
from symgrad.output.studentmath import PLACEHOLDER, key_latex, math_latex, quantity_latex

ROOT = Path(__file__).resolve().parents[1]

# every control sequence the printer may write
ALLOWED = {
    "frac", "partial", "cdot", "times", "sigma", "tanh", "operatorname", "exp", "log", "sin",
    "cos", "max", "min", "cosh", "sinh", "sqrt", "lvert", "rvert", "left", "right", "begin",
    "end", "hat", "tilde", "dot", "ddot", "check", "breve", "widehat", "widetilde", "bar",
    "mathit", "mathtt", "mathord", "dots", "pi", "_",
} | set(studentmath.GREEK)
HOSTILE = [
    "\\input{/etc/passwd}", "\\write18{rm -rf /}", "^^5c input", "^^5cinput", "#1", "50%", "$x$",
    "{", "}", "}{", "\\", "\\\\", "\x00", "\x1b[2J", "\u202e", "\x7f", "a&b", "~", "\\csname",
    "\\catcode`\\^^M=13", "\\def\\x{y}", "\\immediate\\write18{ls}", "x" * 5000,
    "\\" + "a" * 5000, "{" * 300, "\\input|sub|[2]", "|", "||", "a|b|c|d", ":", "hat:", ":x",
    "bar:\\input||", "=\\input{x}", "=W2[1,1]}\\input{x}",
]


def assert_safe(tex: str, most: int = 20_000) -> None:
    """Only the printer's own vocabulary: known control sequences, no TeX specials that read
    a file, change category codes or end the formula, balanced braces, bounded length."""
    assert len(tex) <= most, len(tex)
    for command in re.findall(r"\\([A-Za-z]+|.)", tex, re.DOTALL):
        assert command in ALLOWED | {"\\", ",", " "}, (command, tex[:200])
    assert not re.search(r"[#%$~\x00-\x1f\x7f\u202e]|\^\^", tex), tex[:200]
    depth = 0
    for c in re.sub(r"\\[{}]", "", tex):
        depth += {"{": 1, "}": -1}.get(c, 0)
        assert depth >= 0, tex[:200]
    assert depth == 0, tex[:200]


# ---------------------------------------------------------------------------------------------
# The printer


@pytest.mark.parametrize("text", ["0.5933", ".5", "36", "1.2e-05", "8.21e-2", "1E+3"])
def test_numbers_as_written(text: str) -> None:
    out = math_latex(Num(text, 0))
    assert out.startswith(text.lower().partition("e")[0])
    assert_safe(out)


@pytest.mark.parametrize("text", HOSTILE + ["1.5\\input", "0x1F", "1e99999", "1" * 40, "-1",
                                            "1 2", "١٢", "1e-5}", "NaN", "inf", ""])
def test_a_number_that_is_not_plain_digits_is_a_placeholder(text: str) -> None:
    assert math_latex(Num(text, 0)) == PLACEHOLDER


@pytest.mark.parametrize("key, expected", [
    ("h|1|", "h_{1}"), ("hat:y|1|", r"\hat{y}_{1}"), ("w|j1|[2]", "w_{j1}^{[2]}"),
    ("sigma||", r"\sigma"), ("delta|1|[2]", r"\delta_{1}^{[2]}"), ("net|h1|", r"\mathit{net}_{h1}"),
    ("widehat:tilde:y||", r"\hat{\tilde{y}}"), ("x||(i)", "x^{(i)}"), ("W||T", "W^{T}"),
    ("z|h_1|", "z_{h1}"), ("x|\\alpha|", r"x_{\alpha}"), ("bar:q||", r"\bar{q}"),
])
def test_names_are_rebuilt_from_their_keys(key: str, expected: str) -> None:
    assert key_latex(key) == expected


def test_bar_and_prime_and_engine_names() -> None:
    assert key_latex("w|j1|", bar=True, updated=True) == r"{\bar{w}_{j1}}'"
    assert key_latex("=W2[1,1]", engine={"W2[1,1]": "W^{[2]}_{11}"}) == "{W^{[2]}_{11}}"
    assert key_latex("=W2[1,1]", engine=lambda n: None) == r"\mathtt{W2[1,1]}"
    assert key_latex("=a_b", engine=None) == r"\mathtt{a\_b}"
    assert key_latex("=dL/dW2[1,1]") == r"\mathtt{dL/dW2[1,1]}"
    for bad in ("=W2[1,1]}\\input{x}", "=\\input", "=a b", "=" + "a" * 100, "="):
        assert key_latex(bad) == PLACEHOLDER


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_name_keys_never_reach_tex(text: str) -> None:
    for key in (text, f"{text}||", f"x|{text}|", f"x||{text}", f"hat:{text}|{text}|{text}",
                f"{text}:x|1|", f"={text}"):
        for bar in (False, True):
            out = key_latex(key, bar=bar, updated=bar)
            assert_safe(out, 400)
            assert_safe(math_latex(Name(key, text, 0, bar)), 400)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_trees_never_reach_tex(text: str) -> None:
    name = Name(f"x|{text}|{text}", text, 0)
    trees = [
        Call(text, (Num("1", 0),)), Call("?" + text, (name,), 2, text), Call(f"?{text}||", ()),
        Const(text), Op(text, (name, name)), Op("/", (name,)), Op("^", (name, Num(text, 0))),
        Partial(name, Name(text, text, 0), 0), Matrix(((name, Num(text, 0)), (Const(text), name))),
        Op("+", (Op("neg", (name,)), Op("*", (Op("neg", (Num("2", 0),)), name)))),
        Call("sqrt", (name,)), Call("abs", (Op("/", (name, name)),)), Call("exp", (name,), 0, "e^"),
    ]
    for tree in trees:
        assert_safe(math_latex(tree))


def test_a_very_deep_tree_is_cut_off() -> None:
    node = Num("1", 0)
    for _ in range(500):
        node = Op("+", (Num("2", 0), Call("sigmoid", (node,))))
    out = math_latex(node)
    assert PLACEHOLDER in out
    assert_safe(out, 100_000)


@pytest.mark.parametrize("text, expected", [
    (r"\frac{1}{2}(t - y)^2", r"\frac{1}{2} (t - y)^{2}"),
    (r"0.7414 \cdot 0.1868 \cdot 0.45 + (-0.2171)(0.1755)", r"0.7414 \cdot 0.1868 \cdot 0.45 + (-0.2171) \cdot 0.1755"),
    (r"\sigma'(z_2)", r"{\sigma}'(z_{2})"),
    (r"\frac{\partial L}{\partial W^{[2]}_{11}}", r"\frac{\partial L}{\partial W_{11}^{[2]}}"),
    (r"a - (b - c)", "a - (b - c)"),
    (r"g_2^2 + \sigma(z)^2", r"g_{2}^{2} + \sigma(z)^{2}"),
    (r"-(a + b)", "-(a + b)"),
    (r"(a + b)(a - b)", "(a + b) (a - b)"),
    (r"\frac{a}{b}^2", r"\left(\frac{a}{b}\right)^{2}"),
    (r"W^{[2]}_{11}^2", r"{W_{11}^{[2]}}^{2}"),
    (r"2\frac{1}{2}", r"2 \cdot \frac{1}{2}"),
    (r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}", r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}"),
    (r"\operatorname{relu}(z)", r"\operatorname{ReLU}(z)"),
    (r"8.21 \times 10^{-2}", r"8.21 \times 10^{-2}"),
    (r"W^{[2]}_{11}{}'", r"{W_{11}^{[2]}}'"),
    (r"f(x)", "f(x)"),
])
def test_typesetting_parsed_lines(text: str, expected: str) -> None:
    assert math_latex(parse_element(text)) == expected


@pytest.mark.parametrize("text", [
    r"x_{\input{/etc/passwd}}", r"\hat{y}_{\write18{ls}}", r"w_{#1}", r"w_{^^5c}", r"w^{[\$]}",
    r"net_{\catcode}", r"x_{" + "9" * 3000 + "}", r"\mathrm{out}_{o1%}", r"h_{\x1b}",
])
def test_hostile_student_text_through_the_parser(text: str) -> None:
    try:
        node = parse_element(text)
    except (MathError, RecursionError):
        return
    assert_safe(math_latex(node))


def test_a_quantity_name_is_printed_only_when_it_is_a_name() -> None:
    assert quantity_latex(r"\hat{y}_1") == r"\hat{y}_{1}"
    assert quantity_latex(r"\frac{\partial E}{\partial w_{j1}}") == r"\frac{\partial E}{\partial w_{j1}}"
    for bad in (r"\input{x}", "0.5", r"a + b", "", "x" * 1000, r"\write18{ls}", "$x$"):
        assert quantity_latex(bad) is None


# ---------------------------------------------------------------------------------------------
# The document


@pytest.fixture(scope="module")
def sheet():
    from symgrad.analyses import sheet as sheets
    from symgrad.input.answers import load_check_problem
    from symgrad.input.sheetspec import read_sheet

    data, _ = load_check_problem(ROOT / "examples/two_two_two.toml")
    return sheets.solve_sheet(read_sheet(data, "two_two_two.toml"))


def element(text: str, line: int = 3) -> Element:
    try:
        return Element(text, line, parse_element(text))
    except MathError as error:
        return Element(text, line, None, str(error))


def statement(*texts: str, line: int = 3) -> Statement:
    return Statement(tuple(element(t, line) for t in texts), None, None)


def item(st: Statement, verdict: str = "wrong", mark: int | None = None, name: str = "",
         key: str = "yhat[1]", diagnosis: str = "") -> Item:
    return Item(key, "", "", st.line, st.text, 0.7, 0.7513650695523157, verdict, diagnosis,
                name=name, statement=st, mark=mark)


def report(*items: Item, symbols: tuple[SymbolEntry, ...] = ()) -> Report:
    return Report("A 2-2-2 network", "two_two_two.toml", "work.md", items,
                  (PartScore("", "", 0, 1, len(items)),), 0, 1, False, symbols)


def body(tex: str) -> str:
    return tex[tex.index("\\begin{document}"):]


def test_the_wrong_side_is_marked(sheet) -> None:
    st = statement(r"\hat{y}_1", r"\sigma(1.1059)", "0.7000")
    tex = feedback.render_feedback(report(item(st, mark=1)), sheet)
    assert r"\markedmath{wrongpart}{1}{\sigma(1.1059)}" in tex
    assert r"\flowmath{0.7000}" not in tex and r"\fitmath{0.7000}" in tex
    assert r"\hat{y}_{1}" in tex and "0.7514" in tex  # expected value in the sheet's notation
    # no mark from the checker: a wrong line's end, a broken link's side on the item's line
    tex = feedback.render_feedback(report(item(st)), sheet)
    assert r"\markedmath{wrongpart}{0}{0.7000}" in tex
    two_lines = Statement((element("L", 3), element("0.1 + 0.2", 3), element("0.4", 4),
                           element("0.4", 5)), None, None)
    broken = replace_line(item(two_lines, verdict="inconsistent", key="L"), 4)
    tex = feedback.render_feedback(report(broken), sheet)
    assert tex.count(r"\markedmath{brokenlink}") == 1
    assert r"\flowmath{0.1 + 0.2} $=$ \markedmath{brokenlink}{0}{0.4} $=$ \fitmath{0.4}" in tex
    assert r"\markedmath" not in body(feedback.render_feedback(report(item(st, verdict="correct")),
                                                                sheet))


def replace_line(it: Item, line: int) -> Item:
    from dataclasses import replace

    return replace(it, line=line)


def test_an_unreadable_side_is_escaped_text(sheet) -> None:
    st = statement(r"\hat{y}_1", r"\input{/etc/passwd} \write18{rm}", "0.7")
    tex = body(feedback.render_feedback(report(item(st, mark=1)), sheet))
    assert st.elements[1].node is None
    assert r"\markedtext{wrongpart}{\texttt{\textbackslash{}input\{/etc/passwd\}" in tex
    assert "\\input{" not in tex and "\\write18" not in tex


def test_hostile_lines_and_names_never_reach_tex(sheet) -> None:
    lines = [statement(r"\hat{y}_{\input{x}}", "0.7"), statement(r"w_{#1}", "1"),
             statement(r"x^{[\write18{ls}]}", r"\frac{1}{2}"), statement("^^5cinput", "1"),
             statement("a_{" + "z" * 3000 + "}", "2")]
    items = [item(st, name=name) for st, name in zip(lines, [
        r"\hat{y}_{\input{x}}", r"\write18{ls}", "$x$ % #", "^^5c", "\\" + "q" * 5000])]
    tex = body(feedback.render_feedback(report(*items), sheet))
    for bad in ("\\input{", "\\write18", "^^5c", "\\q", "$x$"):
        assert bad not in tex, bad
    assert not re.search(r"(?<!\\)[#%]", tex)
    for it in items:  # each side: the printer's mathematics, or escaped typewriter text
        for side in feedback.work_latex(it, {}).split(" $=$ "):
            math = re.fullmatch(r"\\(?:flowmath|fitmath|markedmath\{\w+\}\{\d\})\{(.*)\}", side)
            if math:
                assert_safe(math[1])
            else:
                text = re.fullmatch(r"(?:\\markedtext\{\w+\}\{)?\\texttt\{(.*)\}\}?", side)
                assert text, side
                escaped = re.sub(r"\\(?:textbackslash|textasciicircum|textasciitilde|allowbreak)"
                                 r"\{\}|\\[{}$&%#_]", "", text[1])
                assert not re.search(r"[\\{}$&%#_^~]", escaped), side


def test_the_students_name_is_printed_only_when_it_is_a_name(sheet) -> None:
    st = statement("q_1", "0.7")
    tex = feedback.render_feedback(report(item(st, name="q_1")), sheet)
    assert r"$\displaystyle q_{1}$ (in the sheet's notation $\displaystyle \hat{y}_{1}$)" in tex
    same = feedback.render_feedback(report(item(st, name=r"\hat{y}_{1}")), sheet)
    assert "in the sheet's notation" not in same
    for bad in (r"\input{x}", r"q_1 + \write18", "$"):
        tex = feedback.render_feedback(report(item(st, name=bad)), sheet)
        assert "in the sheet's notation" not in tex


def test_the_students_notation_heads_the_document(sheet) -> None:
    symbols = (
        SymbolEntry(r"q_{1}\input{x}", "q|1|", "yhat[1]", "definition (line 4)", "", ""),
        SymbolEntry(r"\write18{ls}", "\\write18|{ls}|", "a1[1]", "value (line 9) \\input{y}"),
        SymbolEntry("z_{2}", "z|2|", "", "definitions", "", "",
                    "z_{2} is used for two things: z2[1] (line 68) and z1[2] (line 68) $#%"),
        SymbolEntry("L", "L||", "L", "sheet"),
    )
    tex = body(feedback.render_feedback(report(symbols=symbols), sheet))
    assert "Your notation" in tex
    assert r"q_{1} & $\hat{y}_{1}$ & definition (line 4)" in tex
    assert r"\emph{ambiguous:} $z_{2}$ is used for two things: $z^{[2]}_{1}$" in tex
    assert "\\input{" not in tex and "\\write18" not in tex
    assert r"\$\#\%" in tex and r"value (line 9) \textbackslash{}input\{y\}" in tex
    assert "Your notation" not in feedback.render_feedback(report(), sheet)


def test_json_and_text_report_coverage_and_notation() -> None:
    st = statement("L", "0.3")
    symbols = (SymbolEntry("h_1\x1b[2J", "h|1|", "a1[1]", "sheet", "1", "a"),
               SymbolEntry("z_2", "z|2|", "", "definitions", "1", "", "z_2 is used for two things"))
    rep = report(item(st, name="L"), item(st, verdict="unchecked"), symbols=symbols)
    data = feedback.report_json(rep)
    assert data["coverage"] == {"lines": 2, "checked": 1}
    assert data["symbols"][0] == {"name": "h_1\x1b[2J", "key": "h|1|", "target": "a1[1]",
                                  "source": "sheet", "question": "1", "part": "a", "ambiguous": ""}
    assert [i["name"] for i in data["items"]] == ["L", ""]
    assert {"key", "question", "part", "line", "text", "claimed", "expected", "verdict",
            "diagnosis"} < set(data["items"][0])
    text = feedback.feedback_text(rep)
    assert "Checked 1 of 2 lines." in text
    assert "Your notation:" in text and "h_1[2J = a1[1]" in text
    assert "ambiguous: z_2 is used for two things" in text
    assert "\x1b" not in text
    assert "Your notation" not in feedback.feedback_text(report(item(st)))


needs_tex = pytest.mark.skipif(
    not (shutil.which("latexmk") or shutil.which("pdflatex")) and not os.environ.get("CI"),
    reason="no TeX engine here",
)


@needs_tex
def test_a_hostile_and_long_report_compiles_without_overfull_lines(sheet, tmp_path: Path) -> None:
    from symgrad.output.pdf import build_pdf

    long_sum = " + ".join(f"w_{{{k}}} h_{{{k}}}" for k in range(1, 40))
    long_fraction = r"\frac{" + long_sum + "}{2}"
    matrix = r"\begin{pmatrix}" + " & ".join(["0.123456"] * 30) + r"\end{pmatrix}"
    items = [
        item(statement("L", long_sum, "0.5"), mark=1, diagnosis=f"{long_sum} is 3, not 0.5"),
        item(statement("L", long_fraction, "0.5"), mark=1),
        item(statement("L", long_fraction, "0.5"), verdict="correct"),
        item(statement("W", matrix), verdict="correct"),
        item(statement(r"\hat{y}_{\input{x}}", r"\write18{ls} " * 20, "0.7"), mark=1),
        item(statement("q_{" + "9" * 200 + "}", "0.7"), name="q_{" + "9" * 200 + "}"),
    ]
    symbols = (SymbolEntry("x", "x|" + "1" * 300 + "|", "yhat[1]", "sheet"),)
    log = build_pdf(feedback.render_feedback(report(*items, symbols=symbols), sheet),
                    tmp_path / "feedback.pdf")
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([\d.]+)pt too wide\)", log)]
    assert all(w <= 1.0 for w in widths), widths
