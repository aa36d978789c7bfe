"""Hostile LaTeX and templates: no problem file or template folder can run a command, read a file
or end in a traceback; legitimate odd input ([42] prose, a variable named xscr, a constant
gradient, LaTeX renamings) still builds.  Issue 9, items 3, 4 and 6."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import symgrad
from symgrad.errors import ProblemError
from symgrad.output.latex import variable_latex
from symgrad.input.latexcheck import MAX_LENGTH, checked_math
from symgrad.output.render import escape_tex

from cli import ROOT, assert_bad_input, run_here as run

needs_tex = pytest.mark.skipif(
    not (shutil.which("latexmk") or shutil.which("pdflatex")) and not os.environ.get("CI"),
    reason="no TeX engine here",
)
GRAPH = "[graph]\noutput = 'f'\n[graph.define]\nf = 'x**2'\n[data]\nx = 3\n"
CANARY = "CANARY"


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def solve_in(folder: Path, *args: str) -> object:
    """`symgrad solve ARGS -o out`, run in `folder` (where a command would leave the canary)."""
    return run("solve", *args, "-o", str(folder / "out"), cwd=folder)


# --- the grammar of user LaTeX --------------------------------------------------------------

ACCEPTED = ["C", "w_{j1}", r"\hat{y}", r"\hat {y}", "t", r"\alpha", r"\mathbf{W}^{[1]}_{ij}",
            r"h'_{1}", r"\boldsymbol{\theta}", r"\mathrm{out}", r"\tilde{x}^{(i)}", r"\ell",
            r"\partial", r"\nabla_{w} J", r"W^{\top}", "a_{1,2}", r"\bar{x}", r"\mathit{loss}"]
REJECTED = [
    (r"\input{x}", r"'\input' is not an allowed macro"),
    (r"J\input{|'touch CANARY'}", r"'\input'"),
    (r"\def\x{y}", r"'\def'"),
    (r"\csname input\endcsname", r"'\csname'"),
    (r"\catcode`\^^M=13", r"'\catcode'"),
    ("^^5c input", "'^' needs an argument"),
    ("x^", "'^' needs an argument"),
    (r"\hat", r"'\hat' needs an argument"),
    ("$x$", "'$' is not allowed"),
    ("50%", "'%' is not allowed"),
    ("#1", "'#' is not allowed"),
    ("a & b", "'&' is not allowed"),
    ("a~b", "'~' is not allowed"),
    ("w_{j", "a '{' is never closed"),
    ("w}_{j{", "'}' before its '{'"),
    (r"a \\ b", r"'\\' is not an allowed macro"),  # a line break (its [..] argument)
    (r"\mathscr{x}", r"'\mathscr'"),  # not in the preamble: a LaTeX error, so not listed
    ("x\ny", r"'\n' is not allowed"),
    ("ŷ", "'ŷ' is not allowed"),
    ("\\", r"'\' is not an allowed macro"),
    ("", "empty"),
    ("x" * (MAX_LENGTH + 1), "too long"),
    ("{" * 9 + "x" + "}" * 9, "nested"),
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_checked_math_accepts_harmless_math(text: str) -> None:
    assert checked_math("f.toml", "sheet.symbols.W1", text) == text


@pytest.mark.parametrize(("text", "why"), REJECTED)
def test_checked_math_rejects_anything_else(text: str, why: str) -> None:
    with pytest.raises(ProblemError) as caught:
        checked_math("f.toml", "sheet.symbols.W1", text)
    message = str(caught.value)
    assert message.startswith("f.toml: sheet.symbols.W1: ") and why in message
    assert "\n" not in message


# --- names print letter for letter ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "tex"),
    [("x", "x"), ("x1", "x_{1}"), ("w31", "w_{31}"), ("lambda", r"\lambda"), ("alpha1", r"\alpha_{1}"),
     ("xscr", r"\mathit{xscr}"), ("xhat", r"\mathit{xhat}"), ("xbm", r"\mathit{xbm}"),
     ("w_out", r"w_{\mathit{out}}"), ("loss", r"\mathit{loss}"), ("Gamma", r"\Gamma")],
)
def test_variable_names_print_literally(name: str, tex: str) -> None:
    assert variable_latex(name) == tex


@pytest.mark.parametrize(
    ("text", "tex"),
    [("[42] points", "{[}42] points"), ("\n  [a] b", "\n  {[}a] b"), ("see [1]", "see [1]"),
     ("a\x00b\x1b\x7fc\u200bd", "abcd"), ("a\tb\r\nc\u2028d", "a b\nc\nd"),
     ("^^5c", r"\textasciicircum{}\textasciicircum{}5c"), ("~$&#%_{}", r"\textasciitilde{}\$\&\#\%\_\{\}"),
     # what pdflatex cannot set has a stand-in; what it can stays
     ("y₁ x⁴ 😀 中 ħ é “ő” – …", r"y\_1 x\textasciicircum{}4 ? ? ? é “ő” – …")],
)
def test_escape_tex_covers_brackets_and_invisible_characters(text: str, tex: str) -> None:
    assert escape_tex(text) == tex


# --- hostile files: one line, exit 2, nothing written ----------------------------------------

SHEET_PART = "[[question]]\n[[question.part]]\ntext = 'x'\n"


@pytest.mark.parametrize(
    ("toml", "field", "why"),
    [
        ('title = "v"\n[vector]\nname = "J\\\\input{/etc/passwd}"\nfunction = "norm2(w)"\n',
         "vector.name", r"'\input'"),
        ("[sheet.symbols]\nW1 = '\\input{|\"touch CANARY\"}'\n" + SHEET_PART,
         "sheet.symbols.W1", r"'\input'"),
        ("[sheet.symbols]\neta = '^^5cinput{/etc/passwd}'\n" + SHEET_PART, "sheet.symbols.eta", "'^'"),
        ('[sheet.symbols]\n"W2[1,1]" = "w\\\\\\\\[1em]"\n' + SHEET_PART, "sheet.symbols.W2[1,1]", r"'\\'"),
        ('[sheet.symbols]\n"a\\nb" = "$x$"\n' + SHEET_PART, "sheet.symbols.'a\\nb'", "'$'"),
        ("[[question]]\n[question.vector]\nname = '\\mathscr{J}'\nfunction = 'norm2(w)'\n",
         "question[1].vector.name", r"'\mathscr'"),
    ],
    ids=["vector-input", "symbols-pipe", "symbols-caret", "symbols-linebreak", "key-newline", "mathscr"],
)
def test_user_latex_outside_the_grammar_is_one_line(tmp_path: Path, toml: str, field: str, why: str) -> None:
    (tmp_path / "bad.toml").write_text(toml)
    before = listing(tmp_path)
    out = solve_in(tmp_path, "bad.toml")
    assert_bad_input(out, "symgrad: bad.toml: " + field, why)
    assert listing(tmp_path) == before and not (tmp_path / CANARY).exists()


@pytest.mark.parametrize(
    ("template", "line", "why"),
    [
        ("x\n((( cycler.__init__.__globals__.os.popen('touch CANARY').read() )))\n", 2, "unsafe"),
        ("((( self.__init__.__globals__['__builtins__']['__import__']('os').system('touch CANARY') )))",
         1, "unsafe"),
        ("((* set x = [] *))((( x.append(1) )))", 1, "unsafe"),  # the immutable sandbox
        ("a\nb\n((( 1/0 )))\n", 3, "ZeroDivisionError: division by zero"),
        ("\n((( no_such_value )))\n", 2, "'no_such_value' is undefined"),
        ("((* if *))", 1, "Expected an expression"),
        ("((( 10 ** 100000000 )))", 1, "too large"),
        (b"ok\n\xe9t\xe9\n", 2, "not UTF-8 text (byte 0xe9)"),
    ],
    ids=["cycler-popen", "self-builtins", "mutate", "divide-by-zero", "undefined", "syntax",
         "huge-power", "latin-1"],
)
def test_a_bad_template_is_one_line_naming_file_and_line(
    tmp_path: Path, template: str | bytes, line: int, why: str
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    path = folder / "sheet.tex.j2"
    path.write_bytes(template if isinstance(template, bytes) else template.encode())
    before = listing(tmp_path)
    out = solve_in(tmp_path, str(ROOT / "examples" / "two_two_two.toml"), "--templates", "templates")
    assert_bad_input(out, f"symgrad: templates/sheet.tex.j2:{line}: template error: ", why)
    assert listing(tmp_path) == before and not (tmp_path / CANARY).exists()


def test_a_template_links_to_no_file_outside_its_folders(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("SECRET")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "base.tex.j2").symlink_to(tmp_path / "secret.txt")
    before = listing(tmp_path)
    out = solve_in(tmp_path, str(ROOT / "examples" / "two_two_two.toml"), "--templates", "templates")
    assert_bad_input(out, "templates/base.tex.j2:1: template error: links to", "outside the template folders")
    assert listing(tmp_path) == before


# --- legitimate input builds -------------------------------------------------------------------

ODD_BUT_FINE = """title = "[1] Odd but fine"
[sheet.symbols]
L = "J"
[[question]]
text = "[42] points: the derivative of a constant and of xscr."
[question.graph]
output = "f"
[question.graph.define]
f = "3*x + xscr**2 + xhat"
[question.data]
x = 2
xscr = 1.5
xhat = 1
[[question.part]]
text = "[a] The gradients."
remark = "[b] The end."
[[question.part]]
text = "Prove it."
verify = "diff(xscr**2, xscr) = 2*xscr"
"""


def test_odd_but_legitimate_input_builds(tmp_path: Path) -> None:
    (tmp_path / "odd.toml").write_text(ODD_BUT_FINE)
    tex = symgrad.solve(tmp_path / "odd.toml").to_latex()
    assert "\\titledquestion{1}\n{[}42] points" in tex and "\\part\n{[}a] The gradients." in tex
    assert "\\mathit{xscr}" in tex and "\\mathit{xhat}" in tex
    assert "\\mathscr" not in tex and "\\hat{x}" not in tex
    assert "\\frac{\\partial f}{\\partial x} &= \\boxed{3}" in tex  # a constant gradient
    assert "\\frac{d}{d \\mathit{xscr}}" in tex  # the proof names it literally too


def test_latex_renamings_and_vector_names_still_work(tmp_path: Path) -> None:
    sheet = tmp_path / "renamed.toml"
    sheet.write_text(
        '[sheet.symbols]\nyhat = "\\\\hat{o}"\n"W2[1,1]" = "w_{j1}"\neta = "\\\\alpha"\nL = "\\\\mathcal{L}"\n'
        + (ROOT / "examples" / "two_two_two.toml").read_text().split("[network]", 1)[1].join(["[network]", ""])
    )
    tex = symgrad.solve(sheet).to_latex()
    assert "\\hat{o}_{1}" in tex and "w_{j1}" in tex and "\\alpha" in tex and "\\mathcal{L}" in tex
    vector = tmp_path / "vector.toml"
    vector.write_text('[vector]\nname = "\\\\hat{J}"\nfunction = "lambda*norm2(w)"\n')
    tex = symgrad.solve(vector).to_latex()
    assert "\\nabla_{w} \\hat{J}" in tex and "2 \\lambda \\, w" in tex


@needs_tex
def test_odd_but_legitimate_input_compiles(tmp_path: Path) -> None:
    (tmp_path / "odd.toml").write_text(ODD_BUT_FINE)
    out = solve_in(tmp_path, "odd.toml", "--pdf")
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out" / "odd.pdf").stat().st_size > 10_000
