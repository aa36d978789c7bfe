"""PDFs: the .tex compiled by latexmk (or pdflatex, twice) in a private temporary folder.

A LaTeX error gives a short message with the relevant lines of the log and exit status 3; no
half-written PDF is left behind, because the PDF is moved into place only once it is complete.

TeX is an interpreter with file and shell access, and sheets, names and templates come from other
people, so: TeX only ever sees the fixed name `sheet.tex` (a user's file name could otherwise reach
latexmk as an option, or break TeX with `$ % # ~`), runs with shell escape off and with kpathsea's
paranoid file access (no absolute paths, no `..`), and runs in its own process group, which is
killed on a timeout, an error or a signal.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from symgrad.output import outfile
from symgrad.errors import SymgradError

PACKAGES = "texlive-latex-base texlive-latex-recommended texlive-latex-extra texlive-pictures latexmk"
TIME_LIMIT = 300  # seconds for one document
SOURCE = "sheet.tex"  # the only file name TeX sees
# kpathsea reads these from the environment before texmf.cnf: \input{|"cmd"} and \write18 are off,
# and TeX opens no absolute path, no `..` and no dot file (\input{/etc/passwd} is refused).
PARANOID = {"shell_escape": "f", "openin_any": "p", "openout_any": "p"}
FLAGS = ["-no-shell-escape", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error"]


class LatexError(SymgradError):
    """No TeX engine, or LaTeX failed on the document (exit status 3)."""


def engine() -> list[str]:
    if shutil.which("latexmk"):
        # -norc: no latexmkrc (the user's or one in a folder) may change the command it runs.
        return ["latexmk", "-norc", "-pdf", *(f"-latexoption={flag}" for flag in FLAGS)]
    if shutil.which("pdflatex"):
        return ["pdflatex", *FLAGS]
    raise LatexError(
        f"no TeX engine found (latexmk or pdflatex); on Debian or Ubuntu: apt-get install {PACKAGES}"
    )


def build_pdf(tex: str, target: Path) -> str:
    """Compile `tex` into `target`; returns the LaTeX log for callers that check it."""
    pdf, log = compile_pdf(tex, target.with_suffix(".tex").name)
    outfile.write(target, pdf)
    return log


def compile_pdf(tex: str, name: str) -> tuple[bytes, str]:
    """The PDF of `tex` and its log; `name` is only used in messages."""
    command = engine()
    with tempfile.TemporaryDirectory(prefix="symgrad-") as folder:  # mkdtemp: mode 0700
        source = Path(folder) / SOURCE
        source.write_text(tex, encoding="utf-8")
        runs = 1 if command[0] == "latexmk" else 2  # pdflatex twice: references settle
        for _ in range(runs):
            status, output = run_tex([*command, SOURCE], folder, name)
            log_file = source.with_suffix(".log")
            log = log_file.read_text(errors="replace") if log_file.exists() else output
            built = source.with_suffix(".pdf")
            if status != 0 or not built.exists():
                found = relevant_lines(log).replace(SOURCE, name)  # the user's name, not ours
                raise LatexError(f"{name}: LaTeX failed: {found}")
        return built.read_bytes(), log


def run_tex(command: list[str], folder: str, name: str) -> tuple[int, str]:
    """Run TeX in `folder` in a new session; on any way out but a normal exit, kill its group
    (latexmk and the pdflatex it started) so that nothing keeps writing to the folder."""
    process = subprocess.Popen(
        command, cwd=folder, env={**os.environ, **PARANOID}, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, encoding="utf-8", errors="replace",
        start_new_session=True,
    )
    try:
        output, _ = process.communicate(timeout=TIME_LIMIT)
    except subprocess.TimeoutExpired:
        raise LatexError(f"{name}: LaTeX ran past {TIME_LIMIT} s") from None
    finally:
        if process.returncode is None:  # a timeout, KeyboardInterrupt, SIGTERM's exception
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode, output


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
