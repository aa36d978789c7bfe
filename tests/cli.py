"""Running the command line from the tests, and the contract for bad input."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m symgrad ARGS`, importing this checkout whether or not it is installed."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "symgrad", *args], capture_output=True,
                          text=True, cwd=cwd, env=environment)


def run_here(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """The same as `run`, in this process: no interpreter start-up, so a table of hostile inputs
    stays fast.  An exception that `main` lets escape fails the test, as a traceback would."""
    from symgrad.cli import main

    out, err = io.StringIO(), io.StringIO()
    before = os.getcwd()
    os.chdir(cwd)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            try:
                code = main(list(args))
            except SystemExit as stop:  # argparse's own errors
                code = stop.code if isinstance(stop.code, int) else 2
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def assert_bad_input(out: subprocess.CompletedProcess[str], *expected: str) -> None:
    """Exit status 2, nothing on stdout, one line on stderr with no traceback, naming each of
    `expected` (the file, the field, what was expected)."""
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    for text in expected:
        assert text in lines[0], lines[0]
