"""The errors symgrad reports to a user as one line: which file, which field, what was expected."""

from __future__ import annotations


class SymgradError(Exception):
    """An error in the user's input, reported without a traceback (exit status 2)."""


class ProblemError(SymgradError):
    """A problem file that cannot be used: `source` is the file, `field` the dotted key path."""

    def __init__(self, source: str, field: str, expected: str) -> None:
        self.source = source
        self.field = field
        self.expected = expected
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {expected}")


class NumericError(SymgradError):
    """A value that cannot be computed in floating point (overflow, log 0, division by 0)."""
