"""PDFs: the .tex compiled by latexmk (or pdflatex, twice) in a temporary folder.

A LaTeX error gives a short message with the relevant lines of the log and exit status 3; no
half-written PDF is left behind, because the PDF is moved into place only once it is complete.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import SymgradError

PACKAGES = "texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-pictures latexmk"
TIME_LIMIT = 300  # seconds for one document


class LatexError(SymgradError):
    """No TeX engine, or LaTeX failed on the document (exit status 3)."""


def engine() -> list[str]:
    if shutil.which("latexmk"):
        return ["latexmk", "-pdf", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
    if shutil.which("pdflatex"):
        return ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]
    raise LatexError(
        f"no TeX engine found (latexmk or pdflatex); on Debian or Ubuntu: apt-get install {PACKAGES}"
    )


def build_pdf(tex: str, target: Path) -> str:
    """Compile `tex` into `target`; returns the LaTeX log for callers that check it."""
    command = engine()
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / f"{target.stem}.tex"
        source.write_text(tex, encoding="utf-8")
        runs = 1 if command[0] == "latexmk" else 2  # pdflatex twice: references settle
        for _ in range(runs):
            try:
                done = subprocess.run(
                    [*command, source.name], cwd=folder, capture_output=True, text=True,
                    timeout=TIME_LIMIT, stdin=subprocess.DEVNULL,
                )
            except subprocess.TimeoutExpired:
                raise LatexError(f"{target.stem}.tex: LaTeX ran past {TIME_LIMIT} s") from None
            log_file = source.with_suffix(".log")
            log = log_file.read_text(errors="replace") if log_file.exists() else done.stdout
            built = source.with_suffix(".pdf")
            if done.returncode != 0 or not built.exists():
                raise LatexError(f"{target.stem}.tex: LaTeX failed: {relevant_lines(log)}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        shutil.copyfile(built, partial)
        os.replace(partial, target)
        return log


def relevant_lines(log: str, most: int = 3) -> str:
    """The error lines of a LaTeX log ("! ..." or "file:line: ..."), with the line they name."""
    lines = log.splitlines()
    picked = []
    for k, line in enumerate(lines):
        if line.startswith("!") or re.match(r"[^ ]+\.tex:\d+: ", line):
            context = next((l for l in lines[k + 1 : k + 8] if l.startswith("l.")), "")
            picked.append(f"{line.strip()} {context.strip()}".strip())
        if len(picked) == most:
            break
    return " | ".join(picked) or "see the log (no error line found)"
