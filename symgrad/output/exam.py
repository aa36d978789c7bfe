"""The files of `symgrad variants` (and of `symgrad solve --format ...`), made in memory before
anything is written: an answer key and a question sheet per variant, variants.json,
variants.csv, the stress report, the combined PDFs and the exports.

Each variant's context (`render.sheet_context`) is built once and serves every document of that
variant: the key, the questions, Markdown, HTML and the LMS exports.  The templates are compiled
once for the whole run.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import os
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symgrad.analyses.sheet import Sheet
from symgrad.analyses.variants import Variant, Variants
from symgrad.errors import SymgradError
from symgrad.output.answers import items
from symgrad.output.jsonout import number, sheet_json, solution_json
from symgrad.output.markdown import (markdown_figures, prefetch_figures, render_html,
                                     render_markdown, render_tex)
from symgrad.output.moodle import moodle_xml
from symgrad.output.pdf import compile_pdf
from symgrad.output.qti import qti_zip
from symgrad.output.render import sheet_context

FORMATS = ("tex", "md", "html", "moodle", "qti")
Files = dict[str, "str | bytes"]


def document_name(stem: str, kind: str, key: bool) -> str:
    """<stem>.tex, <stem>-questions.md, <stem>-moodle.xml, <stem>-qti.zip, ..."""
    if kind == "moodle":
        return f"{stem}-moodle.xml"
    if kind == "qti":
        return f"{stem}-qti.zip"
    return f"{stem}{'' if key else '-questions'}.{kind}"


def sheet_files(sheet: Sheet, stem: str, formats: Sequence[str], keys: Sequence[bool],
                templates: str | Path | None = None, moodle_style: str = "auto") -> Files:
    """The documents of one solved sheet in each format asked (the LaTeX is made by the caller,
    as before): names relative to the output folder."""
    context = sheet_context(sheet)
    files: Files = {}
    for kind in formats:
        if kind in ("md", "html"):
            render = render_markdown if kind == "md" else render_html
            for key in keys:
                files[document_name(stem, kind, key)] = render(sheet, context, key, templates)
            if kind == "md":  # its figures: SVG files beside it, figures/fig-HASH.svg
                files.update(markdown_figures(sheet, context, templates))
        elif kind in ("moodle", "qti"):
            found = items(sheet, context, templates)
            if not found:
                raise SymgradError(f"{sheet.source}: --format {kind}: the sheet asks for no number "
                                   "to export (no forward pass, loss, gradient or update)")
            if kind == "moodle":
                files[document_name(stem, kind, True)] = moodle_xml(
                    sheet.title, [("", found)], sheet.precision, moodle_style)
            else:
                files[document_name(stem, kind, True)] = qti_zip(sheet.title, [("", found)],
                                                                 sheet.precision)
    return files


def variant_files(variants: Variants, stem: str, formats: Sequence[str] = (), pdf: bool = False,
                  pdf_each: bool = False, templates: str | Path | None = None,
                  moodle_style: str = "auto",
                  progress: Callable[[str], None] | None = None) -> Files:
    """Every file of a run of variants, by name relative to the output folder."""
    files: Files = {}
    job = Job(variants, tuple(formats), templates, json_template(variants.base))
    if set(formats) & {"md", "html", "moodle", "qti"}:  # every variant's figures in one TeX run
        prefetch_figures([v.sheet for v in variants.variants], templates)
    rendered = render_all(job)
    for v, out in zip(variants.variants, rendered):
        name = f"{stem}-{v.id}"
        files[f"{name}.tex"], files[f"{name}-questions.tex"] = out["tex"]
        for kind in ("md", "html"):
            if kind in out:
                files[f"{name}.{kind}"], files[f"{name}-questions.{kind}"] = out[kind]
        files.update(out.get("md_figures", {}))  # figures/fig-HASH.svg: the same picture, one file
    exports = [(v.id, out.get("items", [])) for v, out in zip(variants.variants, rendered)]
    if ("moodle" in formats or "qti" in formats) and not any(found for _, found in exports):
        raise SymgradError(f"{variants.base.source}: --format: the sheet asks for no number to "
                           "export (no forward pass, loss, gradient or update)")
    if "moodle" in formats:
        files[f"{stem}-moodle.xml"] = moodle_xml(variants.base.title, exports,
                                                 variants.base.precision, moodle_style)
    if "qti" in formats:
        files[f"{stem}-qti.zip"] = qti_zip(variants.base.title, exports, variants.base.precision)
    manifest = [{"id": v.id, "given": v.given, "solution": out["json"]}
                for v, out in zip(variants.variants, rendered)]
    files["variants.json"] = json.dumps(manifest, indent=1, allow_nan=False) + "\n"
    files["variants.csv"] = variants_csv(variants)
    files["report.txt"] = variants.report()
    keys = [out["tex"][0] for out in rendered]
    questions = [out["tex"][1] for out in rendered]
    if pdf or pdf_each:
        if progress:
            progress("compiling the question sheets and the keys (two TeX runs)")
        files[f"{stem}-questions.pdf"] = compile_pdf(combined(questions), f"{stem}-questions.tex")[0]
        files[f"{stem}-keys.pdf"] = compile_pdf(combined(keys), f"{stem}-keys.tex")[0]
    if pdf_each:
        for v, key, question in zip(variants.variants, keys, questions):
            name = f"{stem}-{v.id}"
            files[f"{name}.pdf"] = compile_pdf(key, f"{name}.tex")[0]
            files[f"{name}-questions.pdf"] = compile_pdf(question, f"{name}-questions.tex")[0]
    return files


@dataclass(frozen=True)
class Job:
    variants: Variants
    formats: tuple[str, ...]
    templates: str | Path | None
    json_template: dict[str, Any] | None


def render_variant(job: Job, k: int) -> dict[str, Any]:
    """Every document of variant k from its one context: the LaTeX key and questions, Markdown
    and HTML if asked, the parts for the LMS exports, and its JSON."""
    v = job.variants.variants[k]
    context = sheet_context(v.sheet)
    out: dict[str, Any] = {"tex": (render_tex(context, True, job.templates),
                                   render_tex(context, False, job.templates))}
    if "md" in job.formats:
        out["md"] = (render_markdown(v.sheet, context, True, job.templates),
                     render_markdown(v.sheet, context, False, job.templates))
        out["md_figures"] = markdown_figures(v.sheet, context, job.templates)
    if "html" in job.formats:
        out["html"] = (render_html(v.sheet, context, True, job.templates),
                       render_html(v.sheet, context, False, job.templates))
    if "moodle" in job.formats or "qti" in job.formats:
        out["items"] = items(v.sheet, context, job.templates)
    out["json"] = variant_json(v, job.json_template)
    return out


PARALLEL = 64  # variants from which the rendering is shared among processes
_JOB: Job | None = None  # the job a forked worker renders (inherited, not pickled)


def render_all(job: Job) -> list[dict[str, Any]]:
    """Render every variant, in order.  Many variants are shared among forked worker processes
    (one per core): each inherits the solved variants and renders a slice, and only the text
    comes back.  The first variant is rendered here first, so that the templates are compiled
    once, before the fork."""
    count = len(job.variants.variants)
    first = [render_variant(job, 0)]
    workers = min(os.cpu_count() or 1, 8)
    if count < PARALLEL or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return first + [render_variant(job, k) for k in range(1, count)]
    global _JOB
    _JOB = job
    try:
        with multiprocessing.get_context("fork").Pool(workers, initializer=quiet) as pool:
            results = list(pool.imap(render_in_worker, range(1, count),
                                     chunksize=max(1, count // (8 * workers))))
    finally:
        _JOB = None
    for status, payload in results:
        if status == "error":
            raise SymgradError(payload)
    return first + [payload for _, payload in results]


def quiet() -> None:
    """A worker leaves signals to the parent: Ctrl-C there ends the pool, SIGTERM ends a worker."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def render_in_worker(k: int) -> tuple[str, Any]:
    assert _JOB is not None
    try:
        return "ok", render_variant(_JOB, k)
    except SymgradError as error:  # its subclasses need not pickle: send the one line
        return "error", str(error)


def combined(documents: Sequence[str]) -> str:
    """One LaTeX document of several made from the same templates: the first one's preamble,
    then each body on new pages, numbered from 1 again."""
    begin, end = "\\begin{document}", "\\end{document}"
    head = documents[0].split(begin, 1)[0]
    bodies = []
    for document in documents:
        if begin not in document or end not in document or document.split(begin, 1)[0] != head:
            raise SymgradError("--pdf: the documents do not share one preamble between "
                               "\\documentclass and \\begin{document}; cannot combine them")
        bodies.append(document.split(begin, 1)[1].rsplit(end, 1)[0])
    return head + begin + "\n" + "\n\\clearpage\\setcounter{page}{1}\n".join(bodies) + end + "\n"


def json_template(sheet: Sheet) -> dict[str, Any] | None:
    """The JSON of a single problem's base solution, whose numbers each variant replaces (its
    expressions, LaTeX and paths are the same for every variant); None for a sheet."""
    return solution_json(sheet.single, sheet.notation) if sheet.single is not None else None


def variant_json(v: Variant, template: dict[str, Any] | None) -> dict[str, Any]:
    """The solve --json object of the variant: the template with this variant's numbers."""
    single = v.sheet.single
    if template is None or single is None:
        return sheet_json(v.sheet)
    gradients = {}
    for key, entry in template["gradients"].items():
        g = single.gradients[key]
        entry = {**entry, "value": number(g.value)}
        if "paths" in entry:
            entry["paths"] = [[{**f, "value": number(x)} for f, x in zip(path, values)]
                              for path, values in zip(entry["paths"], g.factor_values or ())]
        gradients[key] = entry
    return {**template, "values": {k: number(x) for k, x in single.values.items()},
            "gradients": gradients,
            "updated": {k: number(x) for k, x in single.updated.items()},
            "deltas": {k: number(single.adjoint_values[k]) for k in template["deltas"]}}


def variants_csv(variants: Variants) -> str:
    """id, every drawn value, every asked answer: one row a variant."""
    answers = list(variants.spread)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # a question's number is the file's text: "=HYPERLINK(...)" must not become a formula in a
    # spreadsheet (the values are numbers, written by repr)
    writer.writerow([f"'{c}" if c[:1] in ("=", "+", "-", "@", "\t", "\r") else c
                     for c in ["id", *variants.drawn, *answers]])
    for v in variants.variants:
        writer.writerow([v.id, *(repr(v.given[n]) for n in variants.drawn),
                         *(repr(v.answers[a]) for a in answers)])
    return out.getvalue()
