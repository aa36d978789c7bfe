"""The exports (Moodle XML, Canvas QTI 1.2, Markdown, HTML), for variants and for single sheets:
parsed back, checked against the formats' documented structure, and their answers equal to the
manifest's (variants.json) or the solution's.  Prose cannot inject XML, HTML or a cloze field.
"""

from __future__ import annotations

import html.parser
import json
import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path
from typing import Any

import pytest

from symgrad.output.answers import tolerance
from symgrad.output.exam import sheet_files

from cli import assert_bad_input, run_here
from conftest import EXAMPLES, ROOT, solved
from test_variants import TANH_NET, write

QTI = "{http://www.imsglobal.org/xsd/ims_qtiasiv1p2}"
MANIFEST = "{http://www.imsglobal.org/xsd/imsccv1p1/imscp_v1p1}"
CLOZE = re.compile(r"\{1:NUMERICAL:=([^:}]+):([^}]+)\}")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three variants with every export (cloze questions in Moodle)."""
    here = tmp_path_factory.mktemp("exports")
    problem = write(here, TANH_NET)
    out = run_here("variants", str(problem), "-n", "3", "--seed", "2", "-o", str(here / "v"),
                   "--format", "moodle", "qti", "md", "html", cwd=here)
    assert out.returncode == 0, out.stderr
    return here / "v"


def manifest_answers(entry: dict[str, Any]) -> list[float]:
    """A variant's asked answers, in order, read from its solve --json object."""
    s = entry["solution"]
    return ([s["values"]["yhat[1]"], s["values"]["L"]] + [g["value"] for g in s["gradients"].values()]
            + list(s["updated"].values()))


def check_moodle(text: str) -> list[ET.Element]:
    """Moodle XML's documented structure; the questions other than categories."""
    quiz = ET.fromstring(text)
    assert quiz.tag == "quiz"
    questions = []
    for q in quiz:
        assert q.tag == "question" and q.get("type") in ("category", "numerical", "cloze")
        if q.get("type") == "category":
            path = q.find("category/text")
            assert path is not None and path.text.startswith("$course$/top/")
            continue
        assert q.find("name/text").text
        for tag in ("questiontext", "generalfeedback"):
            assert q.find(tag).get("format") == "html" and q.find(f"{tag}/text") is not None
        if q.get("type") == "numerical":
            (answer,) = q.findall("answer")
            assert answer.get("fraction") == "100"
            assert answer.find("text").text and answer.find("tolerance").text
            assert q.find("showunits").text == "3"
        questions.append(q)
    return questions


def test_moodle_cloze_answers_are_the_manifest(folder: Path) -> None:
    manifest = json.loads((folder / "variants.json").read_text())
    questions = check_moodle((folder / "TANH-moodle.xml".replace("TANH", "net")).read_text())
    assert [q.get("type") for q in questions] == ["cloze"] * 3
    for q, entry in zip(questions, manifest):
        assert q.find("name/text").text.endswith(entry["id"])
        fields = CLOZE.findall(q.find("questiontext/text").text)
        expected = manifest_answers(entry)
        assert [float(v) for v, _ in fields] == expected
        assert [float(t) for _, t in fields] == [tolerance(v, 4) for v in expected]
        feedback = q.find("generalfeedback/text").text
        assert "\\boxed{" in feedback and "\\[" in feedback  # the worked key, for MathJax


def test_moodle_states_the_drawn_weights(folder: Path) -> None:
    """An LMS shows no figure, so the question text states every weight and bias it needs."""
    manifest = json.loads((folder / "variants.json").read_text())
    questions = check_moodle((folder / "net-moodle.xml").read_text())
    for q, entry in zip(questions, manifest):
        text = q.find("questiontext/text").text
        matrices = re.findall(r"\\begin\{pmatrix\}(.*?)\\end\{pmatrix\}", text)
        shown = [float(v) for m in matrices for v in re.findall(r"-?\d+(?:\.\d+)?", m)]
        drawn = [v for name, v in entry["given"].items() if name.startswith(("W", "b"))]
        assert drawn and all(any(abs(v - w) < 1e-12 for w in shown) for v in drawn)


def test_moodle_numerical_questions(tmp_path: Path) -> None:
    problem = write(tmp_path, TANH_NET)
    out = run_here("variants", str(problem), "-n", "2", "-o", str(tmp_path / "v"), "--format",
                   "moodle", "--moodle-style", "numerical", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    root = ET.parse(tmp_path / "v" / "net-moodle.xml").getroot()
    manifest = json.loads((tmp_path / "v" / "variants.json").read_text())
    categories = [q.find("category/text").text for q in root if q.get("type") == "category"]
    assert len(categories) == 11 and "$course$/top/A 2-2-1 network/dL//dW2[1,1]" in categories
    values = [float(q.find("answer/text").text) for q in check_moodle(ET.tostring(root, "unicode"))]
    expected = [v for k in range(11) for v in (manifest_answers(manifest[0])[k], manifest_answers(manifest[1])[k])]
    assert values == expected  # a category per answer, holding one question per variant


def test_qti_package_and_answers(folder: Path) -> None:
    manifest = json.loads((folder / "variants.json").read_text())
    with zipfile.ZipFile(folder / "net-qti.zip") as package:
        names = set(package.namelist())
        ims = ET.fromstring(package.read("imsmanifest.xml"))
        assert ims.tag == f"{MANIFEST}manifest" and ims.get("identifier")
        resources = ims.findall(f"{MANIFEST}resources/{MANIFEST}resource")
        qti = [r for r in resources if r.get("type") == "imsqti_xmlv1p2"]
        assert len(qti) == 1 and all(r.get("identifier") for r in resources)
        for r in resources:
            assert all(f.get("href") in names for f in r.findall(f"{MANIFEST}file"))
        body = ET.fromstring(package.read(qti[0].find(f"{MANIFEST}file").get("href")))
    assert body.tag == f"{QTI}questestinterop"
    (assessment,) = body.findall(f"{QTI}assessment")
    assert assessment.get("ident") and assessment.get("title") == "A 2-2-1 network"
    (root,) = assessment.findall(f"{QTI}section")
    groups = root.findall(f"{QTI}section")
    assert len(groups) == 11  # one group a question, each picking 1 of the 3 variants
    for k, group in enumerate(groups):
        assert group.find(f"{QTI}selection_ordering/{QTI}selection/{QTI}selection_number").text == "1"
        items = group.findall(f"{QTI}item")
        assert len(items) == 3
        for item, entry in zip(items, manifest):
            assert item.get("ident") and item.get("title")
            fields = {f.find(f"{QTI}fieldlabel").text: f.find(f"{QTI}fieldentry").text
                      for f in item.iter(f"{QTI}qtimetadatafield")}
            assert fields["question_type"] == "numerical_question"
            material = item.find(f"{QTI}presentation/{QTI}material/{QTI}mattext")
            assert material.get("texttype") == "text/html" and "\\(" in material.text
            response = item.find(f"{QTI}presentation/{QTI}response_str")
            assert response.get("ident") == "response1" and response.get("rcardinality") == "Single"
            assert response.find(f"{QTI}render_fib").get("fibtype") == "Decimal"
            assert item.find(f"{QTI}resprocessing/{QTI}outcomes/{QTI}decvar").get("varname") == "SCORE"
            right = [c for c in item.iter(f"{QTI}respcondition") if c.get("continue") == "No"][0]
            value = float(right.find(f".//{QTI}varequal").text)
            assert value == manifest_answers(entry)[k]
            low, high = (float(right.find(f".//{QTI}{t}").text) for t in ("vargte", "varlte"))
            assert low < value < high
            assert right.find(f"{QTI}setvar").text == "100"
            assert "\\boxed{" in item.find(f"{QTI}itemfeedback//{QTI}mattext").text


def test_the_same_seed_gives_the_same_zip(folder: Path, tmp_path: Path) -> None:
    problem = write(tmp_path, TANH_NET)
    run_here("variants", str(problem), "-n", "3", "--seed", "2", "-o", str(tmp_path / "v"),
             "--format", "qti", "moodle", cwd=tmp_path)
    for name in ("net-qti.zip", "net-moodle.xml", "variants.json", "net-v2.tex"):
        assert (tmp_path / "v" / name).read_bytes() == (folder / name).read_bytes()


class Checker(html.parser.HTMLParser):
    """Collects tags, and checks that every element opened is closed in order."""

    VOID = {"meta", "br", "hr", "img", "input", "link"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, (tag, self.stack)


def test_markdown_and_html_of_each_variant(folder: Path) -> None:
    manifest = json.loads((folder / "variants.json").read_text())
    for entry in manifest:
        name = f"net-{entry['id']}"
        md, questions = (folder / f"{name}.md").read_text(), (folder / f"{name}-questions.md").read_text()
        assert md.startswith("# A 2-2-1 network, variant") and "**Solution.**" in md and "$$" in md
        assert "**Solution.**" not in questions and "Find the forward pass" in questions
        assert md.count("\\boxed{") >= len(manifest_answers(entry))
        page = (folder / f"{name}.html").read_text()
        checker = Checker()
        checker.feed(page)
        checker.close()
        assert checker.stack == [] and "script" not in checker.tags and "math" in checker.tags
        assert "mathjax" not in page.lower() and "<svg " in page  # MathML and the network, inline
        assert '<annotation encoding="application/x-tex">\\begin{aligned}' in page
        assert 'class="solution"' not in (folder / f"{name}-questions.html").read_text()


HOSTILE = r'''
title = "<script>alert(1)</script> & ]]> {1:NUMERICAL:=1} \u0001"
[[question]]
text = "</text></questiontext><question type='cloze'> <![CDATA[ x ]]> &amp; {2:SHORTANSWER:=a}"
[question.network]
inputs = 1
loss = "half_squared_error"
learning_rate = 0.1
[[question.network.layer]]
units = 1
activation = "sigmoid"
weights = [[0.5]]
biases = [0.1]
[question.data]
x = [1]
y = [1]
[[question.part]]
text = "[click](javascript:alert(1)) <img src=x onerror=alert(1)> *bold* # heading"
remark = "<b>remark</b>"
gradients = ["W1[1,1]"]
update = true
'''


def test_prose_cannot_inject_markup(tmp_path: Path) -> None:
    problem = write(tmp_path, HOSTILE, "hostile.toml")
    out = run_here("solve", str(problem), "--format", "md", "html", "moodle", "qti", "-o",
                   str(tmp_path / "o"), "--key", "--questions", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    o = tmp_path / "o"
    for name in ("hostile.html", "hostile-questions.html", "hostile.md", "hostile-questions.md"):
        text = (o / name).read_text()
        for raw in ("<script>alert", "<img", "<b>remark", "</text>", "\x01"):
            assert raw not in text, (name, raw)
        if name.endswith(".md"):  # a link, emphasis or heading in Markdown: escaped
            assert "\\[click\\](javascript" in text and "\\*bold\\*" in text
        if name.endswith(".html"):
            checker = Checker()
            checker.feed(text)
            assert "script" not in checker.tags  # MathML needs no script
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    questions = check_moodle((o / "hostile-moodle.xml").read_text())
    (cloze,) = questions
    body = cloze.find("questiontext/text").text  # the HTML, once the XML is read
    figures = re.findall(r"<img[^>]*>", body)  # the prose's <img> is text; the one is the figure
    assert "<script" not in body and "&lt;img" in body
    assert len(figures) == 1 and figures[0].startswith('<img src="@@PLUGINFILE@@/fig-')
    assert len(CLOZE.findall(body)) == 4  # ŷ, L, the gradient and the update; no field from prose
    assert "{2:SHORTANSWER" not in body and "&#123;2:SHORTANSWER:=a}" in body
    with zipfile.ZipFile(o / "hostile-qti.zip") as package:
        for name in package.namelist():
            ET.fromstring(package.read(name))  # every file is well-formed XML
            assert b"<script" not in package.read(name).replace(b"&lt;script", b"")


def test_exports_of_a_single_problem_equal_its_solution(tmp_path: Path) -> None:
    out = run_here("solve", str(ROOT / "examples" / "two_two_two.toml"), "--format", "moodle",
                   "qti", "tex", "--moodle-style", "numerical", "-o", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "two_two_two-moodle.xml", "two_two_two-qti.zip", "two_two_two.tex"]
    solution = solved("two_two_two")
    expected = [solution.values["yhat[1]"], solution.values["yhat[2]"], solution.values["L"],
                *(g.value for g in solution.gradients.values()), *solution.updated.values()]
    questions = check_moodle((tmp_path / "two_two_two-moodle.xml").read_text())
    assert [float(q.find("answer/text").text) for q in questions] == expected
    assert float(questions[3].find("answer/tolerance").text) == 1e-5  # 0.08217 at 4 figures
    with zipfile.ZipFile(tmp_path / "two_two_two-qti.zip") as package:
        body = next(ET.fromstring(package.read(n)) for n in package.namelist()
                    if n.endswith(".xml") and "meta" not in n and n != "imsmanifest.xml")
    values = [float(v.text) for v in body.iter(f"{QTI}varequal")]
    assert values == expected and not body.findall(f".//{QTI}selection_ordering")


def test_a_sheet_exports_each_part() -> None:
    sheet = solved("seed001")
    files = sheet_files(sheet, "seed001", ["moodle", "md", "html"], [True, False])
    questions = check_moodle(files["seed001-moodle.xml"])
    names = [q.find("name/text").text for q in questions]
    assert names[0].endswith(" 1a yhat[1]")  # one answer: a numerical question
    first = sheet.questions[0].parts[0].solution
    assert questions[0].get("type") == "numerical"
    assert float(questions[0].find("answer/text").text) == first.values["yhat[1]"] == 36
    cloze = [q for q in questions if q.get("type") == "cloze"]  # several answers: one cloze
    assert cloze and all(len(CLOZE.findall(q.find("questiontext/text").text)) > 1 for q in cloze)
    assert "## Question 2" in files["seed001.md"] and "$$" in files["seed001.md"]
    assert files["seed001-questions.html"].count("<h2>") == len(sheet.questions)


@pytest.mark.parametrize("args, expected", [
    (["--format", "md", "--json"], "--format"),
    (["--format", "qti", "-o", "-"], "--format"),
    (["--format", "doc"], "invalid choice"),
])
def test_bad_format_options(args: list[str], expected: str, tmp_path: Path) -> None:
    out = run_here("solve", str(ROOT / "examples" / "two_two_two.toml"), *args, cwd=tmp_path)
    assert_bad_input(out, expected)
    assert list(tmp_path.iterdir()) == []


def test_nothing_to_export_is_one_line(tmp_path: Path) -> None:
    out = run_here("solve", str(ROOT / "examples" / "vector_ridge.toml"), "--format", "md",
                   "moodle", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert_bad_input(out, "vector_ridge.toml", "--format moodle", "no number")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("problem", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_as_markdown_and_html(problem: Path) -> None:
    """Every piece of every example sheet (proofs, vector forms, δ, matrices, collapses,
    dependencies, summaries) has a form in Markdown and HTML: the templates follow the context."""
    sheet = solved(problem.stem)
    sheet = sheet.sheet() if hasattr(sheet, "sheet") else sheet
    files = sheet_files(sheet, problem.stem, ["md", "html"], [True, False])
    for name, text in files.items():
        assert "Undefined" not in text and "((*" not in text, name
        if name.endswith(".html"):
            checker = Checker()
            checker.feed(text)
            checker.close()
            assert checker.stack == [], name
    key = files[f"{problem.stem}.md"]
    assert key.count("## Question") == len(sheet.questions)


def test_markdown_keeps_the_spaces_around_formulas(tmp_path: Path) -> None:
    """Text and formulas stay apart in Markdown: "$a$ $b$" run together is "$a$$b$" (display
    mathematics), and "$x$ 1" as "$x$1" leaves the formula open (a `$` before a digit does not
    close), so the text after it would be read as TeX."""
    text = TANH_NET.replace('title = "A 2-2-1 network"',
                            'title = "cost $x$ 1 apple, $y$ $z$ and $w$"')
    problem = write(tmp_path, text, "spaces.toml")
    out = run_here("solve", str(problem), "--format", "md", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    first = (tmp_path / "o" / "spaces.md").read_text().splitlines()[0]
    assert first == "# cost $x$ 1 apple, $y$ $z$ and $w$", first


def test_a_question_number_is_kept_from_mathjax(tmp_path: Path) -> None:
    """A question's number is the file's text, like prose: in HTML it is kept from MathJax, so
    "\\(\\href{javascript:...}{x}\\)" is not typeset into a link."""
    text = (HOSTILE.replace("[[question]]\n", '[[question]]\nnumber = "\\\\(\\\\href{javascript:alert(1)}{x}\\\\)"\n', 1))
    problem = write(tmp_path, text, "number.toml")
    out = run_here("solve", str(problem), "--format", "html", "-o", str(tmp_path / "o"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    page = (tmp_path / "o" / "number.html").read_text()
    assert '<span class="tex2jax_ignore">\\(\\href{javascript:alert(1)}{x}\\)</span>' in page
