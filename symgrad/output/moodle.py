"""Moodle XML: the sheet's asked answers as questions for Moodle's question bank.

Following Moodle's documented XML format (docs.moodle.org/en/Moodle_XML_format):

    <quiz>
      <question type="category"><category><text>$course$/top/TITLE</text></category></question>
      <question type="numerical">
        <name><text>...</text></name>
        <questiontext format="html"><text>HTML</text></questiontext>
        <generalfeedback format="html"><text>the worked key</text></generalfeedback>
        <defaultgrade>1</defaultgrade> <penalty>0.3333333</penalty> <hidden>0</hidden>
        <answer fraction="100" format="moodle_auto_format">
          <text>0.08216704056423077</text> <tolerance>0.00001</tolerance>
          <feedback format="html"><text></text></feedback>
        </answer>
        <unitgradingtype>0</unitgradingtype> ... <showunits>3</showunits> <unitsleft>0</unitsleft>
      </question>
      <question type="cloze">   (one per part: {1:NUMERICAL:=value:tolerance} per answer)
    </quiz>

Style "numerical" gives a numerical question per asked answer, "cloze" a cloze question per part,
"auto" numerical for a part with one answer and cloze for more.  With variants, each part (or
answer) has a category of its own holding one question per variant, for a quiz's "random
question from category".  Text is escaped by ElementTree; the HTML in it was escaped when it was
rendered; anything in prose that looks like a cloze field ({1:NUMERICAL:...}) is defused.

Figures (the network, a graph, a plot: SVG, see svg.py) are files of the question, as Moodle's
own export writes them: base64 in a <file> beside the text that shows them, referred to as
`<img src="@@PLUGINFILE@@/fig-HASH.svg" alt="what it shows">`:

        <questiontext format="html"><text>...<img src="@@PLUGINFILE@@/fig-....svg" ...>...</text>
          <file name="fig-....svg" path="/" encoding="base64">PHN2Zy...</file></questiontext>
"""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from decimal import Decimal

from symgrad.output.answers import Asked, Item
from symgrad.output.markdown import one_line
from symgrad.output.svg import files_of

STYLES = ("auto", "numerical", "cloze")
CLOZE_FIELD = re.compile(r"\{(?=\s*[0-9]*\s*:\s*[A-Za-z_]+\s*:)")
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")


def plain(x: float) -> str:
    """A float in plain decimal (no exponent), exactly as repr gives it: 8.2e-05 → 0.000082."""
    return format(Decimal(repr(float(x))), "f")


def clean(text: str) -> str:
    """Text as XML 1.0 can hold it."""
    return XML_INVALID.sub("", text)


def category_name(text: str) -> str:
    """A category path component: one line, and "/" doubled (Moodle's escape for a slash)."""
    return one_line(text).replace("/", "//") or "symgrad"


def moodle_xml(title: str, variants: Sequence[tuple[str, Sequence[Item]]], precision: int,
               style: str = "auto") -> str:
    """The Moodle XML of one sheet (variants = [("", items)]) or of its variants
    ([("v01", items), ...]: a category per part, or per answer, holding every variant)."""
    quiz = ET.Element("quiz")
    top = f"$course$/top/{category_name(title)}"
    several = len(variants) > 1 or bool(variants and variants[0][0])
    if not several:
        add_category(quiz, top)
    groups: dict[str, list[ET.Element]] = {}
    for vid, parts in variants:
        for item in parts:
            cloze = style == "cloze" or (style == "auto" and len(item.answers) > 1)
            suffix = f" {vid}" if vid else ""
            where = f"{title} {item.name}".strip()
            if cloze:
                group = f"{top}/{category_name(item.name or 'answers')}"
                groups.setdefault(group, []).append(cloze_question(f"{where}{suffix}", item, precision))
            else:
                for a in item.answers:
                    group = f"{top}/{category_name((item.name + ' ' + a.key.split(':')[-1]).strip())}"
                    groups.setdefault(group, []).append(
                        numerical_question(f"{where} {a.key.split(':')[-1]}{suffix}", item, a, precision))
    for group, questions in groups.items():
        if several:
            add_category(quiz, group)
        quiz.extend(questions)
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"


def add_category(quiz: ET.Element, path: str) -> None:
    question = ET.SubElement(quiz, "question", type="category")
    text(ET.SubElement(question, "category"), path)


def text(parent: ET.Element, value: str) -> ET.Element:
    ET.SubElement(parent, "text").text = clean(value)
    return parent


def html(parent: ET.Element, tag: str, value: str) -> None:
    """HTML text, each of its figures a file of its own beside it."""
    value, files = files_of(value, "@@PLUGINFILE@@/")
    node = text(ET.SubElement(parent, tag, format="html"), value)
    for name, data in files.items():
        ET.SubElement(node, "file", name=name, path="/", encoding="base64").text = (
            base64.b64encode(data).decode("ascii"))


def header(kind: str, name: str, question_text: str, feedback: str) -> ET.Element:
    question = ET.Element("question", type=kind)
    text(ET.SubElement(question, "name"), one_line(name)[:250])
    html(question, "questiontext", question_text)
    html(question, "generalfeedback", feedback)
    return question


def ask(a: Asked, precision: int) -> str:
    what = f" {a.what}" if a.what else ""
    return rf"\({a.label}\){what}, to {precision} significant figures"


def numerical_question(name: str, item: Item, a: Asked, precision: int) -> ET.Element:
    statement = defused(item.statement) + f"<p>Give {ask(a, precision)}.</p>"
    question = header("numerical", name, statement, item.solution)
    ET.SubElement(question, "defaultgrade").text = "1"
    ET.SubElement(question, "penalty").text = "0.3333333"
    ET.SubElement(question, "hidden").text = "0"
    answer = ET.SubElement(question, "answer", fraction="100", format="moodle_auto_format")
    ET.SubElement(answer, "text").text = plain(a.value)
    ET.SubElement(answer, "tolerance").text = plain(a.tolerance)
    html(answer, "feedback", "")
    for tag, value in (("unitgradingtype", "0"), ("unitpenalty", "0.1"), ("showunits", "3"),
                       ("unitsleft", "0")):
        ET.SubElement(question, tag).text = value
    return question


def cloze_question(name: str, item: Item, precision: int) -> ET.Element:
    fields = "".join(
        f"<p>{ask(a, precision)}: {{1:NUMERICAL:={plain(a.value)}:{plain(a.tolerance)}}}</p>"
        for a in item.answers)
    question = header("cloze", name, defused(item.statement) + fields, item.solution)
    ET.SubElement(question, "penalty").text = "0.3333333"
    ET.SubElement(question, "hidden").text = "0"
    return question


def defused(statement: str) -> str:
    """The statement with every "{" that would open a cloze field written as an entity."""
    return CLOZE_FIELD.sub("&#123;", statement)
