"""Answer keys: golden sheets, every number on a sheet against the engine, escaping, templates."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

import symgrad
from symgrad.output.render import escape_tex

from cli import ROOT, assert_bad_input, run_here as run
from conftest import EXAMPLES, rendered, solved


@pytest.mark.parametrize("key", [True, False], ids=["key", "questions"])
@pytest.mark.parametrize("problem", EXAMPLES, ids=lambda p: p.stem)
def test_gallery_is_up_to_date(problem: Path, key: bool) -> None:
    """output/ holds the rendered examples; regenerate on purpose with `symgrad examples`."""
    golden = ROOT / "output" / (f"{problem.stem}.tex" if key else f"{problem.stem}-questions.tex")
    assert golden.exists(), f"{golden.name} is missing: run `symgrad examples`"
    assert rendered(problem.stem, key) == golden.read_text(encoding="utf-8"), (
        f"output/{golden.name} is stale: run `symgrad examples` and review the difference"
    )


def test_question_sheet_has_no_solutions() -> None:
    questions = rendered("two_two_two", key=False)
    assert "\\printanswers" not in questions and "solutionorbox" in questions
    assert "\\printanswers" in rendered("two_two_two")


def parse_number(text: str) -> float:
    """A number as the sheet prints it: 0.08217, -16, 1.235 \\times 10^{-5}."""
    m = re.fullmatch(r"(-?[\d.]+)(?: \\times 10\^\{(-?\d+)\})?", text.strip())
    assert m, f"not a number: {text!r}"
    return float(m[1]) * 10 ** int(m[2] or 0)


def shown_values(tex: str) -> list[tuple[str, str]]:
    """(key, the last number of its row) for every '% symgrad: key' marker, in order."""
    out = []
    for block in tex.split("% symgrad: ")[1:]:
        key, _, body = block.partition("\n")
        row = re.split(r"\n(?:% symgrad|\\end\{align)", body)[0]
        boxed = re.search(r"\\boxed\{(.+)\}", row)
        last = boxed[1] if boxed else row.rstrip().removesuffix("\\\\").rsplit("= ", 1)[-1]
        out.append((key, last.strip()))
    return out


def engine_values(sheet: object) -> list[tuple[str, object]]:
    """What the engine computed, in the order the sheet shows it."""
    parts = [p for q in sheet.questions for p in q.parts] if hasattr(sheet, "questions") else None
    if parts is None:
        from symgrad.analyses.sheet import sheet_of

        parts = [p for q in sheet_of(sheet).questions for p in q.parts]
    out: list[tuple[str, object]] = []
    for part in parts:
        s = part.solution
        if s is None:
            continue
        for node in s.graph.nodes:
            if node.expr is not None and ("loss" if node.kind == "loss" else "forward") in part.show:
                out.append((node.name, s.values[node.name]))
        if "gradients" in part.show:
            out += [(key, g.value) for key, g in s.gradients.items()]
        if "update" in part.show and s.spec.optimizer is None:  # an optimizer's: in its table
            out += [(f"updated {name}", v) for name, v in s.updated.items()]
    return out


@pytest.mark.parametrize("problem", EXAMPLES, ids=lambda p: p.stem)
def test_every_number_on_the_sheet_is_the_engines(problem: Path) -> None:
    sheet = solved(problem.stem)
    precision = getattr(sheet, "precision", 4)
    shown = shown_values(rendered(problem.stem))
    expected = engine_values(sheet)
    assert [k for k, _ in shown] == [k for k, _ in expected]
    checked = 0
    for (key, text), (_, value) in zip(shown, expected):
        if not isinstance(value, (int, float)):
            continue  # symbolic (an unknown target): no single number to compare
        number = parse_number(text)
        if isinstance(value, int):
            assert number == value, key
        else:  # equal at the displayed precision: within half a unit of the last digit
            scale = 10 ** (math.floor(math.log10(abs(value))) - precision + 1) if value else 0
            assert abs(number - value) <= 0.5 * scale * (1 + 1e-9), (key, text, value)
        checked += 1
    assert checked or problem.stem in ("seed002", "vector_ridge"), "no number was checked"


def test_prose_is_escaped_and_never_a_command(tmp_path: Path) -> None:
    title = r"50% & costs \$5 #1 under_score {x} \input{/etc/passwd} \write18{rm -rf /} ^~"
    problem = tmp_path / "p.toml"
    problem.write_text(
        f"title = '''{title}'''\n[graph]\noutput = 'f'\n[graph.define]\nf = 'x**2'\n[data]\nx = 3\n"
    )
    tex = symgrad.solve(problem).to_latex()
    line = next(l for l in tex.splitlines() if "costs" in l)
    assert r"50\% \& costs \$5 \#1 under\_score \{x\}" in line
    assert r"\textbackslash{}input\{/etc/passwd\}" in line
    assert r"\textbackslash{}write18\{rm -rf /\}" in line
    assert "\\input{" not in tex and "\\write18" not in tex


@pytest.mark.parametrize(
    "text, tex",
    [
        ("a_b", r"a\_b"),
        ("100%", r"100\%"),
        ("σ'(z) = σ(1 − σ)", r"$\sigma$'(z) = $\sigma$(1 $-$ $\sigma$)"),  # a real minus sign
        ("ŷ − y", r"$\hat{y}$ $-$ y"),
        (r"\\", r"\textbackslash{}\textbackslash{}"),
    ],
)
def test_escape_tex(text: str, tex: str) -> None:
    assert escape_tex(text) == tex


def test_solve_writes_the_key_and_says_where(tmp_path: Path) -> None:
    out = run("solve", "examples/two_two_two.toml", "-o", str(tmp_path))
    assert out.returncode == 0, out.stderr
    target = tmp_path / "two_two_two.tex"
    assert out.stdout.strip() == f"wrote {target}"
    assert target.read_text().startswith("\\documentclass")


def test_examples_command_renders_every_example(tmp_path: Path) -> None:
    out = run("examples", "-o", str(tmp_path))
    assert out.returncode == 0, out.stderr
    stems = sorted([p.stem for p in EXAMPLES] + [f"{p.stem}-questions" for p in EXAMPLES])
    assert sorted(p.stem for p in tmp_path.glob("*.tex")) == stems
    for problem in EXAMPLES:  # what the Python API renders (and the gallery holds)
        assert (tmp_path / f"{problem.stem}.tex").read_text() == rendered(problem.stem)
        assert (tmp_path / f"{problem.stem}-questions.tex").read_text() == rendered(problem.stem, False)


def test_user_templates_override_single_files(tmp_path: Path) -> None:
    (tmp_path / "base.tex.j2").write_text(
        "\\documentclass{article}\\begin{document}CUSTOM ((( title | escape_tex )))"
        "((* block body *))((* endblock *))\\end{document}\n"
    )
    out = run("solve", "examples/two_two_two.toml", "-o", str(tmp_path), "--templates", str(tmp_path))
    tex = (tmp_path / "two_two_two.tex").read_text()
    assert out.returncode == 0 and "CUSTOM A 2-2-2 network" in tex
    assert "\\boxed{0.08217}" in tex  # the built-in derivation macros are still used


def test_a_missing_template_value_fails_loudly(tmp_path: Path) -> None:
    (tmp_path / "sheet.tex.j2").write_text("((( no_such_value )))\n")
    out = run("solve", "examples/two_two_two.toml", "-o", str(tmp_path), "--templates", str(tmp_path))
    assert_bad_input(out, "sheet.tex.j2:1: template error:", "no_such_value")
    assert not (tmp_path / "two_two_two.tex").exists()  # nothing half-written


def test_python_api_to_latex_and_notebook() -> None:
    solution = solved("two_two_two")
    assert rendered("two_two_two").startswith("\\documentclass")
    notebook = solution._repr_latex_()
    assert notebook.startswith("$$\\begin{aligned}") and "\\partial L / \\partial W^{[2]}_{11}" in notebook
    assert "\\titledquestion{3.4}" in rendered("seed001")


def test_notation_styles_and_overrides() -> None:
    paren = (ROOT / "output" / "seed004.tex").read_text()
    assert "W^{(2)}_{11}" in paren and "\\delta^{(2)}_{1} = \\frac{\\partial J}{\\partial z^{(2)}_{1}}" in paren
    flat = (ROOT / "output" / "seed003.tex").read_text()
    assert "\\frac{\\partial L}{\\partial w_{2}}" in flat and "a_{1}" in flat
    renamed = (ROOT / "output" / "seed000.tex").read_text()
    assert "C_{12}" in renamed and "h_{1}" in renamed and "w_{j1}" in renamed
    assert "\\left(y - t\\right) \\cdot y \\left(1 - y\\right)" in renamed  # ŷ is written y, the target t


@pytest.mark.parametrize(
    "sheet, field, expected",
    [
        ("[sheet]\nprecision = 0\n[[question]]\ntext = 'x'", "sheet.precision", "1 to 15"),
        ("[sheet]\nnotation = 'fancy'\n[[question]]\ntext = 'x'", "sheet.notation", "bracket"),
        ("[[question]]\ntxt = 'x'", "question[1].txt", "unknown field"),
        ("[[question]]\n[[question.part]]\nshow = ['proof']", "question[1].part[1].show", "forward"),
        ("[[question]]\n[question.network]\ninputs = 0", "question[1].network.inputs", "positive"),
        ("[[question]]\n[[question.part]]\ngradients = ['x']", "question[1].part[1].gradients", "no network"),
    ],
)
def test_bad_sheets_are_one_line(tmp_path: Path, sheet: str, field: str, expected: str) -> None:
    problem = tmp_path / "bad.toml"
    problem.write_text(sheet)
    out = run("solve", str(problem), "-o", str(tmp_path))
    assert_bad_input(out, str(problem), field, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]
