"""Running the command line from the tests, and the contract for bad input."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m symgrad ARGS`, importing this checkout whether or not it is installed."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "symgrad", *args], capture_output=True,
                          text=True, cwd=cwd, env=environment)


def assert_bad_input(out: subprocess.CompletedProcess[str], *expected: str) -> None:
    """Exit status 2, nothing on stdout, one line on stderr with no traceback, naming each of
    `expected` (the file, the field, what was expected)."""
    assert out.returncode == 2, out.stderr
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    for text in expected:
        assert text in lines[0], lines[0]
