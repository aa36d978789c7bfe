"""The figures of the exports as SVG: the PDF's own pictures, through TeX and dvisvgm.

Each network, computation graph or activation plot is the TikZ (pgfplots) picture that the PDF
draws, from the same macros of figures.tex.j2 (`picture`, `plot_picture`).  All the pictures of
a document go into one standalone LaTeX document, one page each, compiled in ONE run of latex
(DVI) and one of `dvisvgm --no-fonts`, which draws the glyphs as paths: the SVG needs no font.
Pictures are kept by their TeX source for the life of the process, so Markdown, HTML, Moodle and
Canvas of the same sheet compile once.

TeX runs as it does for the PDFs (pdf.py): in a private temporary folder, on the fixed name
figures.tex, with shell escape off and kpathsea's paranoid file access, in a process group that
is killed on a timeout or an error.  What a user wrote never reaches it unchecked: the pictures
are built from symgrad's own data (positions and numbers computed in Python), and each label
must pass `harmless` (the allowlist of input/latexcheck.py, widened by the few macros symgrad's
own printers write) or its figure is left out.  The SVG that comes back is read as XML and
written again with only drawing elements and attributes, and no reference outside itself.

Without latex or dvisvgm (or should TeX fail) the exports are written without figures, and
symgrad says so once on standard error.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from symgrad.input.latexcheck import GREEK, ONE_ARGUMENT, PLAIN, SYMBOLS, TOKEN
from symgrad.output.pdf import FLAGS, LatexError, relevant_lines, run_tex

PACKAGES = "texlive-latex-base texlive-latex-extra texlive-pictures dvisvgm"
SOURCE = "figures.tex"  # the only file name TeX sees
PREAMBLE = r"""\def\pgfsysdriver{pgfsys-dvisvgm.def}
\documentclass[11pt,tikz,border=2pt]{standalone}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage{amsmath,amssymb}
\usetikzlibrary{arrows.meta}
%s\begin{document}
\setlength{\linewidth}{16cm}
"""
PGFPLOTS = "\\usepackage{pgfplots}\n\\pgfplotsset{compat=1.16}\n"
SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
ELEMENTS = {"svg", "g", "path", "use", "defs", "rect", "line", "polyline", "polygon", "circle",
            "ellipse", "clipPath", "symbol", "linearGradient", "radialGradient", "stop", "mask",
            "pattern"}
ATTRIBUTES = {
    "viewBox", "width", "height", "version", "x", "y", "x1", "x2", "y1", "y2", "cx", "cy", "r",
    "rx", "ry", "d", "points", "transform", "fill", "fill-opacity", "fill-rule", "stroke",
    "stroke-width", "stroke-linecap", "stroke-linejoin", "stroke-miterlimit", "stroke-dasharray",
    "stroke-dashoffset", "stroke-opacity", "opacity", "clip-path", "clip-rule", "clipPathUnits",
    "id", "href", "preserveAspectRatio", "gradientUnits", "gradientTransform", "offset",
    "stop-color", "stop-opacity", "mask", "maskUnits", "patternUnits", "patternTransform",
}
# Macros symgrad's printers write in a figure's labels, beyond latexcheck's allowlist.
MACROS = set(SYMBOLS) | set(ONE_ARGUMENT) | set(GREEK) | set(
    "tanh sinh cosh sin cos tan exp log ln max min le leq ge geq neq approx to infty sigma"
    " cdot times pm mp".split())
SPACES = {"\\,", "\\;", "\\:", "\\!", "\\ ", "\\_"}
LABEL_PLAIN = PLAIN | set("=<>;:!")

_CACHE: dict[str, str | None] = {}
_SAID: set[str] = set()


def available() -> bool:
    """Whether latex and dvisvgm are there to draw with."""
    return bool(shutil.which("latex") and shutil.which("dvisvgm"))


def say_once(message: str) -> None:
    """One line on standard error, once in a process however many documents are written."""
    if message not in _SAID:
        _SAID.add(message)
        print("symgrad: " + " ".join(message.split()), file=sys.stderr)


def harmless(tex: str) -> bool:
    """Whether a label is LaTeX math of the small harmless grammar (input/latexcheck.py: letters,
    digits, a little punctuation, allowlisted macros each with its argument, balanced braces),
    widened by the relations, spaces and function names symgrad's printers write."""
    if len(tex) > 300:
        return False
    tokens = TOKEN.findall(tex)
    depth = 0
    for i, token in enumerate(tokens):
        if token.startswith("\\"):
            if token[1:] not in MACROS and token not in SPACES:
                return False
        elif token not in LABEL_PLAIN:
            return False
        depth += {"{": 1, "}": -1}.get(token, 0)
        if depth < 0 or depth > 8:
            return False
        if token in ("^", "_") or token[1:] in ONE_ARGUMENT:
            following = next((t for t in tokens[i + 1:] if t != " "), "")
            if following in ("", "}", "^", "_") or following[1:] in ONE_ARGUMENT:
                return False
    return depth == 0


def labels(figure: dict[str, Any]) -> Iterable[str]:
    """Every piece of text a figure's picture typesets."""
    for key in ("nodes", "edges", "biases"):
        for item in figure.get(key, ()):
            yield str(item.get("label") or "")
    for panel in figure.get("panels", ()):
        yield str(panel.get("tex") or "")


def drawable(figure: dict[str, Any]) -> bool:
    return all(harmless(label) for label in labels(figure) if label)


def svgs(pictures: Sequence[str]) -> list[str | None]:
    """The SVG of each picture (a tikzpicture's TeX), or None for each when it cannot be drawn;
    those not drawn before are compiled together, in one run."""
    todo = [p for p in dict.fromkeys(pictures) if p not in _CACHE]
    if todo:
        if not available():
            say_once("no latex or dvisvgm: the exports are written without figures "
                     f"(on Debian or Ubuntu: apt-get install {PACKAGES})")
            return [_CACHE.get(p) for p in pictures]
        try:
            drawn: list[str | None] = list(compile_pictures(todo))
        except (LatexError, OSError, ValueError, ET.ParseError) as error:
            say_once(f"the figures could not be drawn, the exports have none: {error}")
            drawn = [None] * len(todo)
        _CACHE.update(zip(todo, drawn))
    return [_CACHE.get(p) for p in pictures]


def compile_pictures(pictures: Sequence[str]) -> list[str]:
    """One document of the pictures, one a page: latex, then dvisvgm; each page's SVG, cleaned."""
    plots = any("\\begin{axis}" in p for p in pictures)
    document = PREAMBLE % (PGFPLOTS if plots else "") + "\n".join(pictures) + "\\end{document}\n"
    with tempfile.TemporaryDirectory(prefix="symgrad-") as folder:  # mkdtemp: mode 0700
        source = Path(folder) / SOURCE
        source.write_text(document, encoding="utf-8")
        status, output = run_tex(["latex", *FLAGS, SOURCE], folder, "figures")
        log_file = source.with_suffix(".log")
        log = log_file.read_text(errors="replace") if log_file.exists() else output
        if status != 0 or not source.with_suffix(".dvi").exists():
            raise LatexError(f"LaTeX failed: {relevant_lines(log)}")
        status, output = run_tex(["dvisvgm", "--no-fonts", "--page=1-", "--precision=3",
                                  "--output=fig-%p", source.with_suffix(".dvi").name], folder, "figures")
        pages = {int(m[1]): f for f in Path(folder).glob("fig-*.svg")
                 if (m := re.fullmatch(r"fig-0*(\d+)\.svg", f.name))}
        if status != 0 or sorted(pages) != list(range(1, len(pictures) + 1)):
            raise LatexError(f"dvisvgm made {len(pages)} of {len(pictures)} pictures: "
                             + " ".join(output.split())[-300:])
        return [clean(pages[k].read_text(encoding="utf-8")) for k in range(1, len(pictures) + 1)]


def clean(text: str) -> str:
    """dvisvgm's SVG written again: drawing elements and attributes only, every reference
    within the picture (href="#..", url(#..)), and nothing else: no script, style, text, link."""
    root = ET.fromstring(text)
    if local(root.tag) != "svg":
        raise ValueError("not an SVG")
    return write(root, top=True)


def local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def write(element: ET.Element, top: bool = False) -> str:
    tag = local(element.tag)
    if tag not in ELEMENTS:
        return ""
    attributes = {"xmlns": SVG} if top else {}
    for key, value in element.attrib.items():
        name = local(key)
        if name not in ATTRIBUTES or (name == "href" and not value.startswith("#")):
            continue
        if "url(" in value and not re.fullmatch(r"url\(#[\w.:-]+\)", value.strip()):
            continue
        attributes[name] = value
    attrs = "".join(f' {k}="{html.escape(v)}"' for k, v in attributes.items())
    inner = "".join(write(child) for child in element)
    return f"<{tag}{attrs}>{inner}</{tag}>" if inner else f"<{tag}{attrs}/>"


def name(data: bytes) -> str:
    """A figure's file name, from its content (the file's bytes): the same picture, the same
    file, whichever document or package holds it."""
    return "fig-" + hashlib.sha256(data).hexdigest()[:16] + ".svg"


DATA_URI = re.compile(r'src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"')


def files_of(fragment: str, prefix: str) -> tuple[str, dict[str, bytes]]:
    """An LMS fragment's figures (<img> of a data: URI, as markdown.draw writes them) as files:
    each src becomes `prefix` + the file's name, and the files are returned by name."""
    import base64

    files: dict[str, bytes] = {}

    def one(m: re.Match[str]) -> str:
        data = base64.b64decode(m[1])
        files[name(data)] = data
        return f'src="{prefix}{name(data)}"'

    return DATA_URI.sub(one, fragment), files


def inline(svg: str, alt: str, prefix: str) -> str:
    """The SVG to put in an HTML page: an image (role="img") named by its description, its ids
    made the page's own by `prefix` (two pictures hold glyphs of the same names)."""
    svg = svg.replace(f' xmlns="{SVG}"', "", 1)  # HTML puts <svg> in its namespace itself
    svg = re.sub(r'(\sid=")', r"\1" + prefix, svg)
    svg = svg.replace('href="#', 'href="#' + prefix).replace("url(#", "url(#" + prefix)
    return svg.replace("<svg ", f'<svg role="img" aria-label="{html.escape(alt)}" ', 1)


def file(svg: str, alt: str) -> bytes:
    """The SVG as a file of its own (beside a Markdown file, in an LMS package), titled with its
    description."""
    titled = re.sub(r"(<svg[^>]*>)", lambda m: m[1] + f"<title>{html.escape(alt)}</title>", svg,
                    count=1)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + titled + "\n").encode()
