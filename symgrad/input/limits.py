"""The bounds on what symgrad reads, checked while reading and before anything large is built.

Problem files come from students and colleagues, so every size that could make symgrad run out
of time, memory or stack is bounded here, in one table that the README states.  A file over a
bound is one line naming the file and field, never a MemoryError or a RecursionError.
"""

from __future__ import annotations

import math

from symgrad.errors import ProblemError

FILE_BYTES = 1_000_000  # a problem or sheet file; also stops /dev/zero and other endless files
NESTING = 12  # tables and arrays inside each other (a sheet needs 6: question.part.network.layer.weights[i])
INTEGER_DIGITS = 18  # an integer in a file (a float has 15-17 significant digits anyway)
EXPRESSION_CHARACTERS = 10_000  # one expression (the safe parser's own limit)
UNITS = 512  # units in one layer, and inputs
BATCH = 64  # examples of a mini-batch
VALUES = 20_000  # values a network computes (every unit, position, time step), times its examples
STEPS = 20  # steps of an optimizer
LAYERS = 64  # layers of a network
PARAMETERS = 100_000  # weights and biases of a network (16 × 64 has 66,560)
VARIABLES = 500  # defined variables of a computation graph
DEPTH = 130  # the longest chain of nodes from an input to the top (64 layers give 129)
QUESTIONS = 100  # questions of a sheet, and parts of a question
TEXT_CHARACTERS = 20_000  # one piece of prose (title, text, remark)
VARIANTS = 10_000  # exam variants of one run (symgrad variants -n)
DRAWS = 1_000_000  # draws of one run, accepted or not ([variants] draws)
VARIANT_QUANTITIES = 1_000  # quantities named in [variants]
CHOICES = 10_000  # values of one `choose` list
CONDITIONS = 100  # conditions in `require`

BOUNDS = {  # for the README's table and the tests
    "file size (bytes)": FILE_BYTES,
    "nesting of tables and arrays": NESTING,
    "digits of an integer": INTEGER_DIGITS,
    "characters per expression": EXPRESSION_CHARACTERS,
    "units per layer (and inputs)": UNITS,
    "examples of a mini-batch": BATCH,
    "values a network computes, times its examples": VALUES,
    "steps of an optimizer": STEPS,
    "layers": LAYERS,
    "weights and biases": PARAMETERS,
    "variables of a graph": VARIABLES,
    "longest chain of nodes": DEPTH,
    "questions of a sheet, parts of a question": QUESTIONS,
    "characters of one string (prose)": TEXT_CHARACTERS,
    "exam variants of one run": VARIANTS,
    "draws of one run": DRAWS,
    "quantities in [variants]": VARIANT_QUANTITIES,
    "values of one choose list": CHOICES,
    "conditions in require": CONDITIONS,
}


def check_plain_data(data: object, source: str, path: str = "") -> None:
    """Walk a parsed document without recursion and refuse what no problem needs.

    Nesting beyond NESTING, integers longer than INTEGER_DIGITS digits, and NaN or infinite
    floats are refused here, naming the field, so that later stages meet only sane numbers.
    """
    stack: list[tuple[object, str, int]] = [(data, path, 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > NESTING:
                raise ProblemError(source, where, f"nested more than {NESTING} levels deep")
            items = value.items() if isinstance(value, dict) else (
                (f"[{k + 1}]", v) for k, v in enumerate(value)
            )
            for key, item in items:
                inner = f"{where}{key}" if key.startswith("[") else (
                    f"{where}.{key}" if where else str(key)
                )
                stack.append((item, inner, depth + 1))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            if abs(value) >= 10**INTEGER_DIGITS:
                raise ProblemError(
                    source, where, f"expected a number of at most {INTEGER_DIGITS} digits"
                )
        elif isinstance(value, str) and len(value) > TEXT_CHARACTERS:
            raise ProblemError(
                source, where, f"{len(value)} characters: symgrad takes at most {TEXT_CHARACTERS}"
            )
        elif isinstance(value, float) and not math.isfinite(value):
            raise ProblemError(source, where, f"expected a finite number, got {value}")


def at_most(source: str, field: str, what: str, count: int, bound: int) -> None:
    if count > bound:
        raise ProblemError(source, field, f"{count} {what}: symgrad takes at most {bound}")

