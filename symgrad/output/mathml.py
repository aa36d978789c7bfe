"""LaTeX mathematics as MathML Core, for every HTML page symgrad writes.

    mathml(r"\\frac{\\partial L}{\\partial w}", display=True)
    → '<math display="block"><semantics><mrow>…</mrow>
       <annotation encoding="application/x-tex">\\frac{\\partial L}{\\partial w}</annotation></semantics></math>'

Browsers render MathML Core natively (no script, nothing fetched) and screen readers read it; the
LaTeX stays as the annotation, for copying and for tools.  The conversion is latex2mathml's; its
output is then read back as XML and written again with only what MathML Core renders: `\\boxed`
(menclose, which Core lacks) becomes a bordered mrow, an aligned environment a table whose
columns are aligned by CSS, and every text and attribute is escaped here, whatever the
converter wrote.  The LaTeX comes from symgrad's own printers; were a piece ever beyond the
converter, it is shown as its LaTeX in an <mtext>, never dropped.
"""

from __future__ import annotations

import functools
import html
import re
import xml.etree.ElementTree as ET
from typing import Any

from latex2mathml.converter import convert

NS = "{http://www.w3.org/1998/Math/MathML}"
# aligned (and its starred kin) as align*: latex2mathml makes a table of it, right/left aligned
ALIGNED = re.compile(r"\\(begin|end)\{(aligned|alignedat|split)\}")
BOX = "border: 1px solid currentColor; padding: 0.15em 0.3em"
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
ATTRIBUTES = {"display", "mathvariant", "stretchy", "fence", "form", "separator", "accent",
              "accentunder", "displaystyle", "scriptlevel", "width", "height", "depth", "lspace",
              "rspace", "largeop", "movablelimits", "symmetric", "minsize", "maxsize",
              "linethickness", "style", "encoding"}


def mathml(latex: str, display: bool = False) -> str:
    """The MathML of some LaTeX mathematics (no delimiters), inline or as a display
    (display="block"), with the LaTeX kept as its annotation: HTML, safe to insert as is."""
    return _mathml(str(latex), bool(display))


@functools.lru_cache(maxsize=4096)
def _mathml(latex: str, display: bool) -> str:
    source = XML_INVALID.sub("", latex).strip()
    try:
        tree = ET.fromstring(convert(ALIGNED.sub(lambda m: rf"\{m[1]}{{align*}}", source)))
        body = "".join(write(child) for child in tree)
    except Exception:  # noqa: BLE001 - whatever the converter does not know: the LaTeX as text
        body = f"<mtext>{html.escape(source, quote=False)}</mtext>"
    mode = "block" if display else "inline"
    annotation = html.escape(source, quote=False)
    return (f'<math display="{mode}"><semantics><mrow>{body}</mrow>'
            f'<annotation encoding="application/x-tex">{annotation}</annotation></semantics></math>')


FUNCTIONS = {"sin", "cos", "tan", "sinh", "cosh", "tanh", "exp", "log", "ln", "max", "min", "det",
             "arg", "lim", "sup", "inf"}
ROWS = {"mrow", "mtd", "mstyle", "mpadded", "mphantom", "merror"}  # hold a row of any length
THIN = '<mspace width="0.1667em"></mspace>'


def function_name(element: ET.Element) -> bool:
    """\\tanh, \\log (or \\tanh^2): a function's name, which a thin space parts from its argument."""
    if element.tag.removeprefix(NS) in ("msup", "msub", "msubsup") and len(element):
        element = element[0]
    return element.tag == NS + "mi" and (element.text or "") in FUNCTIONS


def letters(element: ET.Element) -> str | None:
    """The word of \\mathrm{identity}, which latex2mathml spells as upright letters one by one."""
    children = list(element)
    if len(children) > 1 and all(c.tag == NS + "mi" and c.get("mathvariant") == "normal"
                                 and len(c.text or "") == 1 and not len(c) for c in children):
        return "".join(c.text or "" for c in children)
    return None


def write(element: ET.Element) -> str:
    """One element, written again as MathML Core (tags without a namespace, for HTML)."""
    tag = element.tag.removeprefix(NS)
    attributes = {k: v for k, v in element.attrib.items() if k in ATTRIBUTES}
    word = letters(element) if tag == "mrow" else None
    if word is not None:  # one name, read as a word and set upright (a multi-letter <mi>)
        return f"<mrow><mi>{html.escape(word, quote=False)}</mi></mrow>"
    if tag == "menclose":  # \boxed: a box drawn by CSS round an mrow
        tag, attributes = "mrow", {"style": BOX}
    elif tag == "mtd" and element.get("columnalign") in ("left", "right", "center"):
        attributes["style"] = f"text-align: {element.get('columnalign')}"
    elif tag == "mo" and len(element.text or "") > 1 and (element.text or "").isalpha():
        tag, attributes = "mi", {}  # \operatorname{ReLU}: a name, upright, not an operator
    elif tag == "mo" and element.text == "/":  # ∂L/∂z: a slash set close, as TeX sets it
        attributes.update(lspace="0", rspace="0")
    elif tag == "mspace" and element.get("linebreak"):
        return ""  # a line break outside a table: Core has none
    if not re.fullmatch(r"m[a-z]+|semantics|annotation", tag):
        raise ValueError(f"not MathML: {tag}")
    attrs = "".join(f' {k}="{html.escape(v)}"' for k, v in sorted(attributes.items()))
    inner = html.escape(element.text or "", quote=False)
    children = list(element)
    for k, child in enumerate(children):
        inner += write(child) + html.escape(child.tail or "", quote=False)
        following = children[k + 1] if k + 1 < len(children) else None
        if tag in ROWS and function_name(child) and following is not None and not (
                following.tag == NS + "mo" and (following.text or "") in "([{|\u2016"):
            inner += THIN  # \\tanh z, not tanhz
    return f"<{tag}{attrs}>{inner}</{tag}>"


@functools.lru_cache(maxsize=None)
def _reader() -> Any:
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="text")


@functools.lru_cache(maxsize=4096)
def text_of(latex: str) -> str:
    """Some LaTeX mathematics as plain text (a page's <title>, a figure's description):
    W^{[1]}_{11} → W^[1]_11, \\hat{y}_1 → ŷ_1."""
    spaced = re.sub(r"(\\[A-Za-z]+) +(?=[A-Za-z0-9])", r"\1{} ", str(latex))  # \tanh z: tanh z
    try:
        text = _reader().latex_to_text(spaced)
    except Exception:  # noqa: BLE001
        text = str(latex)
    return " ".join(text.replace("{", "").replace("}", "").split())
