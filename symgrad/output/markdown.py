"""Markdown and standalone HTML of a sheet, its answer key or its questions, and the HTML of each
part's statement and worked solution for the LMS exports (Moodle, Canvas).

Everything is rendered from the same context as the LaTeX (`render.sheet_context`).  Three kinds of
web document, each with its own jinja2 environment:

- "md": Markdown, mathematics in `$ $` / `$$ $$`; each figure an SVG file beside it
  (`figures/fig-HASH.svg`, from `markdown_figures`), shown by `![description](...)`.
- "page": a standalone HTML page, mathematics as MathML (mathml.py), each figure an inline SVG;
  nothing outside the page is referred to.
- "html": HTML fragments for an LMS, mathematics in `\\( \\)` / `\\[ \\]` for Moodle's and
  Canvas's MathJax, each figure an <img> of a data: URI, which moodle.py and qti.py turn into a
  file of the package.

The figures (svg.py) are the PDF's own TikZ pictures, all of a document compiled in one TeX run;
each has a description in words (figures.describe).  Where a network is drawn, the page and the
Markdown no longer state its weights as matrices; the LMS questions still do (a question of a
quiz stands alone).  Prose from the problem file is escaped: in HTML by jinja2's autoescape
(every value, mathematics too) and kept away from MathJax (class tex2jax_ignore), in Markdown
by backslash escapes and entities, so neither can inject markup or a script.  The templates
(`sheet.md.j2`, `sheet.html.j2`, `part.html.j2`, `figures.tex.j2`) run in the same sandbox as
the LaTeX ones; `--templates DIR` overrides them.
"""

from __future__ import annotations

import base64
import copy
import html
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from symgrad.errors import SymgradError
from symgrad.input.prose import QUANTITY, segments, unicode_math
from symgrad.output import svg
from symgrad.output.figures import describe, describe_plot
from symgrad.output.latex import format_number
from symgrad.output.mathml import mathml, text_of
from symgrad.output.render import environment, quantities, template_error

if TYPE_CHECKING:
    from symgrad.analyses.sheet import Sheet
    from symgrad.engine.solution import Solution

_ENVIRONMENTS: dict[tuple[str, str], jinja2.Environment] = {}
MD_INLINE = re.compile(r"([\\`*_\[\]|~$])")  # what marks up text anywhere in a line
MD_LINE_START = re.compile(r"^(\d*)([#>+=.)-])", re.MULTILINE)  # headings, quotes, lists
INLINE_MATH = re.compile(r"\$([^$]+)\$")
TEXTTT = re.compile(r"\\texttt\{([^{}]*)\}")


def printable(text: str) -> str:
    """Prose without control, format or unassigned characters (a NUL or an escape is not text,
    and XML 1.0 cannot even hold most of them); tabs and odd spaces become spaces."""
    out = []
    for c in str(text).replace("\r\n", "\n"):
        category = unicodedata.category(c)
        if c == "\n" or category[0] not in "CZ":
            out.append(c)
        elif c == "\r" or category in ("Zl", "Zp"):
            out.append("\n")
        elif c == "\t" or category == "Zs":
            out.append(" ")
    return "".join(out)


def escape_markdown(text: str) -> str:
    """Plain text as Markdown text: & < > as entities (no raw HTML), the characters that mark up
    text backslash-escaped, nothing at a line's start read as a heading, quote or list, and no
    line indented (an indented line is code)."""
    text = printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = MD_INLINE.sub(r"\\\1", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return MD_LINE_START.sub(lambda m: m[1] + "\\" + m[2]
                             if m[1] or m[2] in "#>+=-" else m[0], text)


def one_line(text: str) -> str:
    return " ".join(printable(text).split())


def prose(text: str, names: Callable[[str], str], kind: str) -> str:
    """A file's prose (text with checked `$...$` mathematics, input/prose.py) for "md", "html" or
    "page": the text escaped, each formula's \\q{name} in the sheet's notation, between $ $,
    between \\( \\), or as MathML.  In HTML the text is kept from MathJax (class tex2jax_ignore),
    so no text becomes a formula."""
    out = []
    for is_math, piece in segments(printable(text)):
        if is_math:
            math = QUANTITY.sub(lambda m: "{%s}" % names(m[1]), unicode_math(" ".join(piece.split())))
            if kind == "page":
                out.append(mathml(math))
            elif kind == "html":
                out.append(r"\(" + html.escape(math, quote=False) + r"\)")
            else:  # < and > as macros: no Markdown reader takes them for a tag
                out.append("$" + math.replace("<", r"\lt ").replace(">", r"\gt ") + "$")
        elif kind in ("html", "page"):
            out.append(f'<span class="tex2jax_ignore">{html.escape(piece)}</span>')
        else:  # the spaces between text and a formula stay: "and $x$ 1" is not "and$x$1"
            text = escape_markdown(piece)
            lead = " " if out and piece[:1] in (" ", "\t") else ""
            trail = " " if piece[-1:] in (" ", "\t") and text else ""
            out.append(lead + text + trail)
    return "".join(out).rstrip(" ")


def plain_text(text: str) -> str:
    """A file's prose as plain text (a page's <title>): its formulas as text, no markup."""
    try:
        pieces = segments(printable(text))
    except ValueError:
        return one_line(text)
    return one_line("".join(text_of(piece) if is_math else piece for is_math, piece in pieces))


def parameters(solution: Solution | None, names: Callable[[str], str], precision: int) -> list[str]:
    """A network's known weights and biases as matrices: what its figure shows, stated for an LMS
    question (which stands alone) and wherever the figure is not drawn."""
    if solution is None or solution.spec.network is None:
        return []
    graph, out = solution.graph, []
    if not solution.spec.network.plain:  # kernels, recurrent weights, γ and β: the given states them
        return []
    fan_in = solution.spec.network.inputs
    for l, layer in enumerate(solution.spec.network.layers, 1):
        for family, rows in ((f"W{l}", [[f"W{l}[{i},{j}]" for j in range(1, fan_in + 1)]
                                         for i in range(1, layer.units + 1)]),
                             (f"b{l}", [[f"b{l}[{i}]"] for i in range(1, layer.units + 1)])):
            nodes = [[graph.by_name.get(n) for n in row] for row in rows]
            values = [[graph.values.get(n.symbol) if n is not None else None for n in row]
                      for row in nodes]
            if all(isinstance(v, (int, float)) for row in values for v in row):
                body = r" \\ ".join(" & ".join(format_number(v, precision) for v in row)
                                    for row in values)
                out.append(rf"{names(family)} = \begin{{pmatrix}} {body} \end{{pmatrix}}")
        fan_in = layer.units
    return out


MAX_DRAWN = 6  # units a layer (and inputs) of a network that is drawn: render.figure's limit


def drawn_network(solution: Solution | None) -> bool:
    """Whether the answer key draws this problem's network (up to 6 units a layer)."""
    network = solution.spec.network if solution is not None else None
    return network is not None and network.plain and network.inputs <= MAX_DRAWN and all(
        l.units <= MAX_DRAWN for l in network.layers)


def web_context(sheet: Sheet, context: dict[str, Any], kind: str,
                user_templates: str | Path | None = None,
                collect: list[str] | None = None) -> dict[str, Any]:
    """The sheet's context for "md", "page" (a standalone HTML page) or "html" (an LMS's
    fragments): its prose (title, author, texts, remarks, notes) written from the file's own
    text (the context's LaTeX prose is for TeX only), and its figures drawn (see `draw`)."""
    every = [p.solution for q in sheet.questions for p in q.parts if p.solution is not None]
    sheet_names = quantities(every[0] if every else None, sheet)
    web = kind in ("html", "page")
    mark: Callable[[str], Any] = Markup if web else str  # escaped here, not again

    def written(text: str, names: Callable[[str], str], line: bool = False) -> Any:
        return mark(prose(one_line(text) if line else text, names, kind)) if text else ""

    questions, parts_of = [], []
    for n, (q, qc) in enumerate(zip(sheet.questions, context["questions"]), 1):
        own = next((p.solution for p in q.parts if p.solution is not None), None)
        names = quantities(own, sheet) if own is not None else sheet_names
        parts = []
        for part, pc in zip(q.parts, qc["parts"]):
            mine = quantities(part.solution, sheet) if part.solution is not None else names
            # a copy: the figures get their pictures, and the context serves the LaTeX too
            parts.append({**copy.deepcopy(pc), **{f: written(getattr(part, f, ""), mine)
                                                  for f in ("text", "remark", "note")}})
            parts_of.append((part, parts[-1], mine))
        number = one_line(q.number) or str(n)
        # kept from MathJax as prose is: "\\(\\href{javascript:...}{x}\\)" stays text
        questions.append({**qc, "number": mark(f'<span class="tex2jax_ignore">{html.escape(number)}'
                                               '</span>') if web else escape_markdown(number),
                          "text": written(q.text, names), "note": written(getattr(q, "note", ""), names),
                          "parts": parts})
    drawn, files = draw(sheet, parts_of, kind, user_templates, collect)
    for part, pc, mine in parts_of:
        # the matrices an LMS question states (it stands alone), or where no figure shows them
        stated = kind == "html" or not (drawn and drawn_network(part.solution))
        pc["given"] = (parameters(part.solution, mine, sheet.precision) if stated else []) + pc["given"]
    out = {**context, "questions": questions, "title": written(sheet.title, sheet_names, True),
           "author": written(sheet.author, sheet_names, True),
           "title_text": plain_text(sheet.title)}
    if kind == "md":
        out["figure_files"] = files
    return out


def figures_in(value: Any) -> Iterator[dict[str, Any]]:
    """Every network or graph figure held anywhere in a part's context (its own, and each
    gradient's with its chain-rule paths), once each."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            figure = item.get("figure")
            if isinstance(figure, dict) and figure.get("kind") in ("network", "graph") \
                    and id(figure) not in seen:
                seen.add(id(figure))
                yield figure
            stack.extend(v for k, v in item.items() if k != "figure")
        elif isinstance(item, list):
            stack.extend(item)


def draw(sheet: Sheet, parts: list[tuple[Any, dict[str, Any], Any]], kind: str,
         user_templates: str | Path | None, collect: list[str] | None = None,
         ) -> tuple[bool, dict[str, bytes]]:
    """Give every figure and plot of the document its picture, `web`: an inline <svg> ("page"),
    an <img> of a data: URI ("html", for moodle.py and qti.py to make a file of), or a Markdown
    image of a file ("md"; the files are returned, by name).  All are compiled in one TeX run.
    An LMS question stands alone, so there each part with something asked shows its network,
    even where the sheet drew it once for several parts.  Returns (every figure drawn, files).
    With `collect`, the pictures' TeX is only added to it, for `prefetch_figures`."""
    from symgrad.output.printer import PartPrinter
    from symgrad.output.render import figure as part_figure

    figures: list[dict[str, Any]] = []
    plots: list[dict[str, Any]] = []
    for part, pc, _ in parts:
        if kind == "html" and part.solution is not None and pc["asks"] and not (
                pc["figure"] and pc["figure"].get("redraw")):
            pc["figure"] = part_figure(PartPrinter(part.solution, sheet), part.solution)
        for figure in figures_in(pc):
            figure.update(web="", drawn=False)
            if figure.get("redraw"):
                figures.append(figure)
        for plot in pc["plots"]:
            plot.update(web="", drawn=False)
            plots.append(plot)
    if not figures and not plots:
        return True, {}
    module = env_for("tex", user_templates).get_template("figures.tex.j2").make_module({})
    wanted = [(f, describe(f), "picture") for f in figures] + [(p, describe_plot(p), "plot_picture")
                                                              for p in plots]
    sources = []
    for item, _, macro in wanted:
        try:
            sources.append(str(getattr(module, macro)(item)) if svg.drawable(item) else None)
        except Exception as error:  # noqa: BLE001 - a template error (often a user's) is one line
            raise SymgradError(template_error(error, env_for("tex", user_templates).loader.loaded)) from None  # type: ignore[union-attr]
    if collect is not None:
        collect.extend(s for s in sources if s is not None)
        return False, {}
    if any(s is None for s in sources):
        svg.say_once("a figure has a label that is not plain mathematics; it is left out")
    pictures = iter(svg.svgs([s for s in sources if s is not None]))
    drawn = [next(pictures) if s is not None else None for s in sources]
    files: dict[str, bytes] = {}
    for k, ((item, alt, _), picture) in enumerate(zip(wanted, drawn), 1):
        if picture is None:
            continue
        item["drawn"] = True
        if kind == "page":
            item["web"] = Markup(svg.inline(picture, alt, f"f{k}-"))
        elif kind == "html":
            data = base64.b64encode(svg.file(picture, alt)).decode("ascii")
            item["web"] = Markup(f'<img src="data:image/svg+xml;base64,{data}" alt="{html.escape(alt)}"'
                                 ' style="max-width: 100%; height: auto">')
        else:
            data = svg.file(picture, alt)
            name = f"figures/{svg.name(data)}"
            files[name] = data
            item["web"] = f"![{escape_markdown(one_line(alt))}]({name})"
    everything = all(picture is not None for picture in drawn)
    for _, pc, _ in parts:  # "the network above" only where a network was drawn above
        for figure in figures_in(pc):
            if not figure.get("redraw"):
                figure["drawn"] = everything
    return everything, files


def prefetch_figures(sheets: Sequence[Sheet], user_templates: str | Path | None = None) -> None:
    """Compile the figures of many sheets (exam variants, each with its own weights) in one TeX
    run, before their documents are rendered one by one: each then finds its pictures made."""
    from symgrad.output.render import sheet_context

    sources: list[str] = []
    for sheet in sheets:  # an LMS's set of pictures holds the page's and the Markdown's
        web_context(sheet, sheet_context(sheet), "html", user_templates, collect=sources)
    if sources:
        svg.svgs(list(dict.fromkeys(sources)))


def equals(row: dict[str, Any]) -> str:
    """A context row's right side: step = step = value (a step of several lines joined), its
    value (or last step) boxed when the row is an asked result."""
    items = [" ".join(step) for step in row["steps"]]
    if row.get("result") is not None:
        items.append(row["result"])
    if row.get("box") and items:
        items[-1] = r"\boxed{%s}" % items[-1]
    return " = ".join(items)


def html_math(text: str) -> str:
    """Symgrad's own text with `$...$` mathematics (what is asked, a dependency's question)
    for an LMS: `\\(...\\)`."""
    return INLINE_MATH.sub(lambda m: r"\(" + m.group(1) + r"\)", str(text))


def page_math(text: Any) -> Markup:
    """Symgrad's own text with `$...$` mathematics for a page: the text escaped, each formula
    MathML."""
    out, last = [], 0
    raw = str(text)
    for m in INLINE_MATH.finditer(raw):
        out += [html.escape(raw[last:m.start()]), mathml(m.group(1))]
        last = m.end()
    return Markup("".join(out) + html.escape(raw[last:]))


def tex_prose(text: str) -> str:
    """A sentence symgrad wrote for LaTeX text mode (the matrix form's convention): \\texttt{x}
    as x; its `$...$` mathematics stays."""
    return TEXTTT.sub(lambda m: m.group(1), str(text))


def inline_tex(latex: Any) -> Markup:
    """Inline mathematics for an LMS: \\( \\), for its MathJax; the LaTeX escaped for HTML."""
    return Markup(r"\( " + html.escape(str(latex), quote=False) + r" \)")


def display_tex(block: Any) -> Markup:
    """A display for an LMS, from the filter block round its LaTeX (already escaped): \\[ \\]."""
    return Markup(r"\[" + str(block).strip() + "\\]\n")


def inline_mathml(latex: Any) -> Markup:
    return Markup(mathml(str(latex)))


def display_mathml(block: Any) -> Markup:
    """A display on a page: its LaTeX (the filter block's text, escaped for HTML, read back) as
    block MathML, in a box that scrolls sideways on a narrow screen (and can be reached by the
    keyboard to scroll it)."""
    latex = html.unescape(str(block)).strip()
    return Markup(f'<div class="display" tabindex="0">{mathml(latex, display=True)}</div>\n')


def env_for(kind: str, user_templates: str | Path | None) -> jinja2.Environment:
    """The sandboxed environment for "md", "html", "page" or "tex", made once per template
    folder."""
    key = (kind, str(user_templates or ""))
    if key not in _ENVIRONMENTS:
        env = environment(user_templates)
        env.autoescape = kind in ("html", "page")
        page = kind == "page"
        env.filters.update(escape_md=escape_markdown, equals=equals, tex_prose=tex_prose,
                           html_math=page_math if page else html_math,
                           m=inline_mathml if page else inline_tex,
                           dm=display_mathml if page else display_tex)
        _ENVIRONMENTS[key] = env
    return _ENVIRONMENTS[key]


def run(kind: str, user_templates: str | Path | None, name: str, call: Any) -> str:
    env = env_for(kind, user_templates)
    try:
        return str(call(env.get_template(name)))
    except Exception as error:  # noqa: BLE001 - any template error is one line
        raise SymgradError(template_error(error, env.loader.loaded)) from None  # type: ignore[union-attr]


def render_tex(context: dict[str, Any], key: bool, user_templates: str | Path | None = None) -> str:
    """The LaTeX document of a sheet's context, through an environment made once (the same
    templates as `render.render_sheet`)."""
    return run("tex", user_templates, "sheet.tex.j2",
               lambda t: t.render({**context, "key": key}))


def render_markdown(sheet: Sheet, context: dict[str, Any], key: bool,
                    user_templates: str | Path | None = None) -> str:
    """The Markdown of a sheet (its context made once): the key, or with key=False the questions.
    Its figures are files beside it: `markdown_figures`."""
    web = web_context(sheet, context, "md", user_templates)
    return run("md", user_templates, "sheet.md.j2", lambda t: t.render({**web, "key": key}))


def markdown_figures(sheet: Sheet, context: dict[str, Any],
                     user_templates: str | Path | None = None) -> dict[str, str]:
    """The SVG files the Markdown of a sheet shows, by name relative to the Markdown's folder
    ("figures/fig-HASH.svg", the same for the key and the questions), already compiled by
    `render_markdown`: files to write beside it."""
    files = web_context(sheet, context, "md", user_templates)["figure_files"]
    return {name: data.decode("utf-8") for name, data in files.items()}


def render_html(sheet: Sheet, context: dict[str, Any], key: bool,
                user_templates: str | Path | None = None) -> str:
    """A standalone HTML page of a sheet: MathML, inline SVG figures, nothing from outside."""
    web = web_context(sheet, context, "page", user_templates)
    return run("page", user_templates, "sheet.html.j2", lambda t: t.render({**web, "key": key}))


def part_html(web: dict[str, Any], question: dict[str, Any], part: dict[str, Any],
              user_templates: str | Path | None = None) -> tuple[str, str]:
    """(statement, worked solution) of one part as HTML fragments for an LMS, from the HTML
    context (web_context): the question's and the part's text, the figure, the given values and
    what is asked; then the part's working."""
    env = env_for("html", user_templates)
    try:
        module = env.get_template("part.html.j2").make_module({**web, "key": True})
        statement, solution = getattr(module, "statement"), getattr(module, "solution")
        return str(statement(question, part)), str(solution(part))
    except Exception as error:  # noqa: BLE001
        raise SymgradError(template_error(error, env.loader.loaded)) from None  # type: ignore[union-attr]
