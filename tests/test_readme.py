"""The README's Python API section, run as a doctest: every example in it is live."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_api_section_runs() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Python API"):text.index("\n## ", text.index("## Python API") + 1)]
    parser = doctest.DocTestParser()
    test = parser.get_doctest(section, {}, "README.md: Python API", "README.md", 0)
    assert len(test.examples) > 20
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    before = os.getcwd()
    os.chdir(ROOT)  # the examples name files as from a checkout
    try:
        runner.run(test)
    finally:
        os.chdir(before)
    assert runner.failures == 0
