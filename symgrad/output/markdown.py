"""Markdown and standalone HTML (MathJax) of a sheet, its answer key or its questions, and the
HTML of each part's statement and worked solution for the LMS exports (Moodle, Canvas).

Everything is rendered from the same context as the LaTeX (`render.sheet_context`): the
mathematics is the printer's LaTeX, written between `$ $` / `$$ $$` in Markdown and `\\( \\)` /
`\\[ \\]` in HTML, which MathJax, KaTeX, Moodle's MathJax filter and Canvas all read.  Prose from
the problem file is escaped: in HTML by jinja2's autoescape (every value, mathematics too) and
kept away from MathJax (class tex2jax_ignore), in Markdown by backslash escapes and entities, so
neither can inject markup or a script.  The templates (`sheet.md.j2`, `sheet.html.j2`,
`part.html.j2`) run in the same sandbox as the LaTeX ones; `--templates DIR` overrides them.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from markupsafe import Markup

from symgrad.errors import SymgradError
from symgrad.input.prose import QUANTITY, segments, unicode_math
from symgrad.output.latex import format_number
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
    """A file's prose (text with checked `$...$` mathematics, input/prose.py) for "md" or "html":
    the text escaped, each formula's \\q{name} in the sheet's notation, between $ $ or \\( \\).
    In HTML the text is kept from MathJax (class tex2jax_ignore), so no text becomes a formula."""
    out = []
    for is_math, piece in segments(printable(text)):
        if is_math:
            math = QUANTITY.sub(lambda m: "{%s}" % names(m[1]), unicode_math(" ".join(piece.split())))
            if kind == "html":
                out.append(r"\(" + html.escape(math, quote=False) + r"\)")
            else:  # < and > as macros: no Markdown reader takes them for a tag
                out.append("$" + math.replace("<", r"\lt ").replace(">", r"\gt ") + "$")
        elif kind == "html":
            out.append(f'<span class="tex2jax_ignore">{html.escape(piece)}</span>')
        else:  # the spaces between text and a formula stay: "and $x$ 1" is not "and$x$1"
            text = escape_markdown(piece)
            lead = " " if out and piece[:1] in (" ", "\t") else ""
            trail = " " if piece[-1:] in (" ", "\t") and text else ""
            out.append(lead + text + trail)
    return "".join(out).rstrip(" ")


def parameters(solution: Solution | None, names: Callable[[str], str], precision: int) -> list[str]:
    """A network's known weights and biases as matrices: the LaTeX sheet shows them on its
    figure, which Markdown, HTML and the LMS exports do not have."""
    if solution is None or solution.spec.network is None:
        return []
    graph, out = solution.graph, []
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


def web_context(sheet: Sheet, context: dict[str, Any], kind: str) -> dict[str, Any]:
    """The sheet's context with its prose (title, author, texts, remarks, notes) written for
    Markdown or HTML from the file's own text; the context's LaTeX prose is for TeX only."""
    every = [p.solution for q in sheet.questions for p in q.parts if p.solution is not None]
    sheet_names = quantities(every[0] if every else None, sheet)
    mark: Callable[[str], Any] = Markup if kind == "html" else str  # escaped here, not again

    def written(text: str, names: Callable[[str], str], line: bool = False) -> Any:
        return mark(prose(one_line(text) if line else text, names, kind)) if text else ""

    questions = []
    for n, (q, qc) in enumerate(zip(sheet.questions, context["questions"]), 1):
        own = next((p.solution for p in q.parts if p.solution is not None), None)
        names = quantities(own, sheet) if own is not None else sheet_names
        parts = []
        for part, pc in zip(q.parts, qc["parts"]):
            mine = quantities(part.solution, sheet) if part.solution is not None else names
            parts.append({**pc, **{f: written(getattr(part, f, ""), mine)
                                   for f in ("text", "remark", "note")},
                          "given": parameters(part.solution, mine, sheet.precision) + pc["given"]})
        number = one_line(q.number) or str(n)
        # kept from MathJax as prose is: "\\(\\href{javascript:...}{x}\\)" stays text
        questions.append({**qc, "number": mark(f'<span class="tex2jax_ignore">{html.escape(number)}'
                                               '</span>') if kind == "html"
                          else escape_markdown(number),
                          "text": written(q.text, names), "note": written(getattr(q, "note", ""), names),
                          "parts": parts})
    return {**context, "questions": questions, "title": written(sheet.title, sheet_names, True),
            "author": written(sheet.author, sheet_names, True)}


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
    for HTML: `\\(...\\)`."""
    return INLINE_MATH.sub(lambda m: r"\(" + m.group(1) + r"\)", str(text))


def tex_prose(text: str) -> str:
    """A sentence symgrad wrote for LaTeX text mode (the matrix form's convention): \\texttt{x}
    as x; its `$...$` mathematics stays."""
    return TEXTTT.sub(lambda m: m.group(1), str(text))


def env_for(kind: str, user_templates: str | Path | None) -> jinja2.Environment:
    """The sandboxed environment for "md", "html" or "tex", made once per template folder."""
    key = (kind, str(user_templates or ""))
    if key not in _ENVIRONMENTS:
        env = environment(user_templates)
        env.autoescape = kind == "html"
        env.filters.update(escape_md=escape_markdown, equals=equals, html_math=html_math,
                           tex_prose=tex_prose)
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
    """The Markdown of a sheet (its context made once): the key, or with key=False the questions."""
    web = web_context(sheet, context, "md")
    return run("md", user_templates, "sheet.md.j2", lambda t: t.render({**web, "key": key}))


def render_html(sheet: Sheet, context: dict[str, Any], key: bool,
                user_templates: str | Path | None = None) -> str:
    """A standalone HTML page (MathJax from a CDN) of a sheet."""
    web = web_context(sheet, context, "html")
    return run("html", user_templates, "sheet.html.j2", lambda t: t.render({**web, "key": key}))


def part_html(web: dict[str, Any], question: dict[str, Any], part: dict[str, Any],
              user_templates: str | Path | None = None) -> tuple[str, str]:
    """(statement, worked solution) of one part as HTML fragments for an LMS, from the HTML
    context (web_context): the question's and the part's text, the given values and what is
    asked; then the part's working."""
    env = env_for("html", user_templates)
    try:
        module = env.get_template("part.html.j2").make_module({**web, "key": True})
        statement, solution = getattr(module, "statement"), getattr(module, "solution")
        return str(statement(question, part)), str(solution(part))
    except Exception as error:  # noqa: BLE001
        raise SymgradError(template_error(error, env.loader.loaded)) from None  # type: ignore[union-attr]
