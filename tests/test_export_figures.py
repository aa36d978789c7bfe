"""Figures in every export: the PDF's own TikZ pictures as SVG (latex, then dvisvgm), inline in
HTML, files beside the Markdown, base64 files of a Moodle question (@@PLUGINFILE@@), files of the
Canvas package ($IMS-CC-FILEBASE$); each with a description that states its weights.  All the
pictures of a document are compiled in one TeX run; nothing a user wrote reaches TeX unchecked;
without TeX the exports are written without figures, and that is said once.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import urllib.parse
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest

from symgrad.output import svg
from symgrad.output.exam import sheet_files
from symgrad.output.markdown import env_for, markdown_figures, render_markdown
from symgrad.output.render import sheet_context

from cli import run_here
from conftest import ROOT, solved
from test_exports import MANIFEST, QTI, check_moodle
from test_variants import TANH_NET, write

needs_tex = pytest.mark.skipif(
    not (shutil.which("latex") and shutil.which("dvisvgm")) and not os.environ.get("CI"),
    reason="needs latex and dvisvgm (CI installs them)")
WEIGHTS = "Weights: x_1 to a^[1]_1: 0.15; x_2 to a^[1]_1: 0.2"  # two_two_two's first weights


def sheet_of(stem: str):  # type: ignore[no-untyped-def]
    solution = solved(stem)
    return solution.sheet() if hasattr(solution, "sheet") else solution


def is_figure(data: bytes) -> ET.Element:
    """An SVG file of symgrad's: XML, an <svg> with a title, drawn (paths), nothing from outside."""
    root = ET.fromstring(data)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("viewBox")
    assert root.find("{http://www.w3.org/2000/svg}title").text.startswith("Diagram of the ")
    assert len(root.findall(".//{http://www.w3.org/2000/svg}path")) > 10
    assert b"http:" not in data.replace(b'xmlns="http://www.w3.org/2000/svg"', b"")
    return root


@needs_tex
def test_moodle_and_canvas_carry_the_network(tmp_path: Path) -> None:
    out = run_here("solve", str(ROOT / "examples" / "two_two_two.toml"), "--format", "moodle",
                   "qti", "--moodle-style", "numerical", "-o", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    questions = check_moodle((tmp_path / "two_two_two-moodle.xml").read_text())
    assert len(questions) == 8  # as before: a numerical question per answer, each with the figure
    for q in questions:
        text = q.find("questiontext/text").text
        files = {f.get("name"): f for f in q.findall("questiontext/file")}
        shown = re.findall(r'<img src="@@PLUGINFILE@@/([^"]+)" alt="([^"]*)"', text)
        assert [name for name, _ in shown] == list(files) and len(files) == 1, text[:300]
        (name, alt), = shown
        assert WEIGHTS in alt and "Biases: a^[1]_1: +0.35" in alt
        f = files[name]
        assert f.get("path") == "/" and f.get("encoding") == "base64"
        data = base64.b64decode(f.text)
        assert svg.name(data) == name and WEIGHTS in is_figure(data)[0].text
        assert "\\begin{pmatrix}" in text  # an LMS question still states its weights
    with zipfile.ZipFile(tmp_path / "two_two_two-qti.zip") as package:
        names = set(package.namelist())
        ims = ET.fromstring(package.read("imsmanifest.xml"))
        resources = ims.findall(f"{MANIFEST}resources/{MANIFEST}resource")
        for r in resources:
            assert all(f.get("href") in names for f in r.findall(f"{MANIFEST}file"))
        media = [r.get("href") for r in resources if r.get("type") == "webcontent"]
        assert len(media) == 1 and media[0].startswith("web_resources/Uploaded Media/fig-")
        is_figure(package.read(media[0]))
        body = ET.fromstring(package.read(next(n for n in names if n.endswith(".xml")
                                               and "meta" not in n and n != "imsmanifest.xml")))
    texts = [m.text for m in body.iter(f"{QTI}mattext")]
    referred = {urllib.parse.unquote(src) for t in texts
                for src in re.findall(r'src="\$IMS-CC-FILEBASE\$/([^"]+)"', t)}
    assert referred == {media[0].removeprefix("web_resources/")}
    assert sum("$IMS-CC-FILEBASE$/Uploaded%20Media/fig-" in t for t in texts) == 8
    assert not any("data:" in t for t in texts)


@needs_tex
def test_each_variant_draws_its_own_weights(tmp_path: Path) -> None:
    problem = write(tmp_path, TANH_NET)
    out = run_here("variants", str(problem), "-n", "2", "--seed", "4", "-o", str(tmp_path / "v"),
                   "--format", "moodle", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    questions = check_moodle((tmp_path / "v" / "net-moodle.xml").read_text())
    alts = [re.search(r'alt="([^"]*)"', q.find("questiontext/text").text)[1] for q in questions]
    assert len(set(alts)) == 2  # two variants, two pictures
    for q, alt in zip(questions, alts):
        (f,) = q.findall("questiontext/file")
        assert f.get("name") in q.find("questiontext/text").text
        assert alt in base64.b64decode(f.text).decode()  # the file's title: the same words


@needs_tex
def test_one_tex_run_draws_every_format_and_markdown_has_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """seed000 (two networks and three plots) in every format: one TeX run;
    the Markdown shows each figure from a file beside it (markdown_figures gives the files)."""
    runs: list[int] = []
    compile_pictures = svg.compile_pictures
    monkeypatch.setattr(svg, "compile_pictures", lambda p: runs.append(len(p)) or compile_pictures(p))
    monkeypatch.setattr(svg, "_CACHE", {})
    sheet = sheet_of("seed000")
    files = sheet_files(sheet, "seed000", ["md", "html", "moodle", "qti"], [True, False])
    assert runs == [5], runs  # Markdown, the page, Moodle and Canvas alike: 2 networks, 3 plots
    assert files["seed000.html"].count("<svg ") == 5
    figures = markdown_figures(sheet, sheet_context(sheet))
    assert runs == [5]
    shown = re.findall(r"!\[((?:[^\]\\]|\\.)*)\]\((figures/fig-[0-9a-f]{16}\.svg)\)", files["seed000.md"])
    assert len(shown) == 5 and {name for _, name in shown} == set(figures)
    for name, data in figures.items():
        root = ET.fromstring(data)
        assert root.find("{http://www.w3.org/2000/svg}title").text
        assert name == "figures/" + svg.name(data.encode())
    assert any("Plots of σ(z) (left)" in alt for alt, _ in shown)
    assert sum("Diagram of the network" in alt for alt, _ in shown) == 2
    # where a figure shows the weights, the Markdown and the page no longer state them as matrices
    two = sheet_of("two_two_two")
    assert "pmatrix" not in render_markdown(two, sheet_context(two), True)


@needs_tex
def test_the_svg_is_the_pdf_s_own_picture() -> None:
    """The TikZ compiled for the SVG is, character for character, the picture in the LaTeX key."""
    sheet = sheet_of("two_two_two")
    context = sheet_context(sheet)
    figure = context["questions"][0]["parts"][0]["figure"]
    picture = str(env_for("tex", None).get_template("figures.tex.j2").make_module({}).picture(figure))
    assert picture.startswith("\\begin{tikzpicture}") and picture in solved("two_two_two").to_latex()


def test_nothing_a_user_wrote_reaches_tex() -> None:
    assert svg.harmless(r"W^{[1]}_{11}") and svg.harmless(r"\hat{y}_{1}") and svg.harmless("-0.35")
    assert svg.harmless(r"\operatorname{LeakyReLU}(z)") and svg.harmless(r"1.2 \times 10^{-5}")
    for evil in (r"\input{/etc/passwd}", r"x}\node{y", "^^5cinput", r"\immediate\write18{id}",
                 r"\catcode`\@=11", "x % comment", "a$b", r"\def\x{y}", "x^", "{x"):
        assert not svg.harmless(evil), evil
    figure = {"kind": "graph", "nodes": [{"label": r"x_{1}"}, {"label": r"\input{/etc/passwd}"}],
              "edges": [], "biases": []}
    assert not svg.drawable(figure)
    hostile = ('<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
               'viewBox="0 0 1 1" onload="alert(1)"><script>alert(1)</script><style>@import url(//x)'
               '</style><foreignObject><p>x</p></foreignObject><image href="http://x/y.png"/>'
               '<a href="javascript:alert(1)"><path d="M0 0"/></a><use xlink:href="http://x#y"/>'
               '<path d="M0 0" style="fill:url(http://x)" fill="url(#g)"/></svg>')
    cleaned = svg.clean(hostile)
    for bad in ("onload", "script", "style", "foreignObject", "image", "javascript", "http://x", "<a"):
        assert bad not in cleaned, bad
    assert 'fill="url(#g)"' in cleaned and cleaned.startswith('<svg xmlns="http://www.w3.org/2000/svg"')


def test_without_tex_the_exports_have_no_figures_and_say_so_once(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(svg, "available", lambda: False)
    monkeypatch.setattr(svg, "_CACHE", {})
    monkeypatch.setattr(svg, "_SAID", set())
    sheet = sheet_of("two_two_two")
    files = sheet_files(sheet, "two_two_two", ["md", "html", "moodle", "qti"], [True, False])
    files.update(sheet_files(sheet, "again", ["html"], [True]))
    assert "<svg" not in files["two_two_two.html"] and "pmatrix" in files["two_two_two.html"]
    assert "![" not in files["two_two_two.md"] and "pmatrix" in files["two_two_two.md"]
    assert "<img" not in files["two_two_two-moodle.xml"] and "<file" not in files["two_two_two-moodle.xml"]
    assert "The network above" not in files["two_two_two.html"]
    with zipfile.ZipFile(__import__("io").BytesIO(files["two_two_two-qti.zip"])) as package:
        assert not any(n.startswith("web_resources/") for n in package.namelist())
    err = capsys.readouterr().err
    assert err.count("symgrad: no latex or dvisvgm") == 1 and "dvisvgm" in err, err
