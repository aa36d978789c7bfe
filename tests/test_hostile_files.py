"""Hostile file names, output folders, planted symlinks, TeX that reaches for files or a shell,
and signals: each gives one line and the right exit status, writes nothing it should not, and
runs no command (the canary a command would create never appears)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from symgrad.output import outfile
from symgrad.errors import SymgradError
from symgrad.output.pdf import LatexError, build_pdf

from cli import ROOT, assert_bad_input, run, run_here
from test_pdf import needs_tex

TINY = '[graph]\noutput = "f"\n[graph.define]\nf = "x*y"\n[data]\nx = 2\ny = 3\n'  # no title:
# the file's stem becomes the title, so an odd name reaches the LaTeX text too


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def one_line(out: subprocess.CompletedProcess[str], status: int) -> str:
    assert out.returncode == status, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("symgrad: "), out.stderr
    assert "Traceback" not in out.stderr
    return lines[0]


@needs_tex
@pytest.mark.parametrize("stem", ["-pdflatex=cd ..;touch PWNED;false", "-x $%#&~\\ _^{} y"])
def test_odd_file_names_build_and_run_nothing(stem: str, tmp_path: Path) -> None:
    work, temporary = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    temporary.mkdir()
    (work / f"{stem}.toml").write_text(TINY)
    out = run("solve", f"./{stem}.toml", "--pdf", "-o", "out", cwd=work,
              env={"TMPDIR": str(temporary)})
    assert out.returncode == 0, out.stderr
    assert sorted(os.listdir(work / "out")) == sorted([f"{stem}.pdf", f"{stem}.tex"])
    assert (work / "out" / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
    assert not [p for p in tmp_path.rglob("PWNED")] and not (tmp_path.parent / "PWNED").exists()
    assert listing(temporary) == []  # the private compile folder is gone


@needs_tex
def test_planted_symlinks_are_not_followed(tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(TINY)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    victims = {}
    for name in ["p.tex", "p.pdf", ".p.pdf.partial", ".p.tex.partial", "sheet.pdf", "sheet.tex"]:
        victim = tmp_path / f"victim-{name}"
        victim.write_text("precious")
        (out_dir / name).symlink_to(victim)
        victims[name] = victim
    out = run_here("solve", "p.toml", "--pdf", "-o", "out", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert all(victim.read_text() == "precious" for victim in victims.values())
    for name in ["p.tex", "p.pdf"]:  # the links themselves are replaced by the new files
        assert not (out_dir / name).is_symlink() and (out_dir / name).stat().st_size > 100


def test_atomic_write_replaces_a_link_and_leaves_no_temporary(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "a.json").symlink_to(victim)
    outfile.write(tmp_path / "out" / "a.json", "{}")
    outfile.write(tmp_path / "out" / "b.pdf", b"%PDF")
    assert victim.read_bytes() == b"precious"
    assert listing(tmp_path / "out") == ["a.json", "b.pdf"]
    assert (tmp_path / "out" / "a.json").read_text() == "{}"
    (tmp_path / "out" / "dir").mkdir()  # a folder where the file should go: one error, no debris
    with pytest.raises(SymgradError, match="cannot write"):
        outfile.write(tmp_path / "out" / "dir", "x")
    assert listing(tmp_path / "out") == ["a.json", "b.pdf", "dir"]


# TeX that reaches outside its folder; `..` is the test's folder (TMPDIR). Without the paranoid
# settings the reads and the kpsewhich pipe succeed; the canaries are what a command would make.
REACHING = {
    "read an absolute path": r"\input{TMP/secret}",
    "read from ..": r"\input{../secret}",
    "write to ..": r"\newwrite\f\immediate\openout\f=../canary.tex\immediate\write\f{x}",
    "pipe to an allowed command": r'\input{|"kpsewhich -var-value=TEXMFROOT"}',
    "run a command": r'\immediate\write18{touch TMP/canary1}\input{|"touch TMP/canary2"}',
}


@needs_tex
@pytest.mark.parametrize("body", REACHING.values(), ids=REACHING.keys())
def test_tex_cannot_reach_outside_its_folder(body: str, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the compile folder's parent is tmp_path
    monkeypatch.setattr("tempfile.tempdir", None)
    (tmp_path / "secret.tex").write_text("TOPSECRET")
    tex = rf"\documentclass{{article}}\begin{{document}}{body}\end{{document}}"
    with pytest.raises(LatexError) as error:
        build_pdf(tex.replace("TMP", str(tmp_path)), tmp_path / "out.pdf")
    assert "TOPSECRET" not in str(error.value) and "\n" not in str(error.value)
    assert os.listdir(tmp_path) == ["secret.tex"]  # no canary, no PDF, no compile folder


@pytest.mark.parametrize("target", ["a-file", "/dev/null", "/proc/x", "/proc/x/y", "a-file/sub",
                                    "/sys/nope"])
def test_output_folder_that_cannot_be_one(target: str, tmp_path: Path) -> None:
    (tmp_path / "p.toml").write_text(TINY)
    (tmp_path / "a-file").write_text("mine")
    before = listing(tmp_path)
    out = run_here("solve", "p.toml", "-o", target, cwd=tmp_path)
    assert_bad_input(out, target, "-o", "expected a folder")
    assert listing(tmp_path) == before and (tmp_path / "a-file").read_text() == "mine"
    assert not Path("/proc/x").exists()


def test_examples_reports_each_bad_file_and_renders_the_rest(tmp_path: Path) -> None:
    problems = tmp_path / "problems"
    problems.mkdir()
    for name in ["a.toml", "c.toml"]:
        (problems / name).write_text(TINY)
    (problems / "b.toml").write_text("title = [")
    (problems / "d.toml").write_bytes(b'[graph]\noutput = "f"\n[graph.define]\nf = "x**"\n')
    out = run_here("examples", "--from", str(problems), "-o", str(tmp_path / "out"))
    assert out.returncode == 2 and "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("symgrad: ") for line in lines), out.stderr
    assert "b.toml" in lines[0] and "d.toml" in lines[1]
    assert listing(tmp_path / "out") == ["a-questions.tex", "a.tex", "c-questions.tex", "c.tex"]


@needs_tex
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_pdf_cleans_up(signum: int, tmp_path: Path) -> None:
    templates, temporary, out_dir = tmp_path / "templates", tmp_path / "tmp", tmp_path / "out"
    templates.mkdir()
    temporary.mkdir()
    (tmp_path / "p.toml").write_text(TINY)
    # TeX loops for ever, so the signal surely comes while it runs
    (templates / "base.tex.j2").write_text(
        "\\documentclass{article}\\begin{document}\\loop\\iftrue\\repeat\\end{document}\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "symgrad", "solve", "p.toml", "--pdf", "-o", str(out_dir),
         "--templates", str(templates)],
        cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(temporary)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    deadline = time.monotonic() + 30
    while not (children.exists() and children.read_text().split()):
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    tex = [int(pid) for pid in children.read_text().split()]
    time.sleep(0.3)  # let latexmk start pdflatex
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signum, stderr
    assert len(stderr.strip().splitlines()) == 1 and stderr.startswith("symgrad: "), stderr
    assert listing(temporary) == [] and not out_dir.exists()
    assert not [pid for pid in tex for _ in alive_in_session(pid)]  # latexmk and its pdflatex


def alive_in_session(session: int) -> list[int]:
    """The processes (not zombies) in TeX's session: its id is latexmk's pid."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):  # gone meanwhile
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive
