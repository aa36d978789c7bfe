"""The command line: `symgrad solve PROBLEM.toml --json`.  Only `main` turns errors into exit codes."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .errors import SymgradError


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="symgrad", description="Chain-rule derivations of neural networks, worked out."
    )
    commands = top.add_subparsers(dest="command", required=True)
    solve = commands.add_parser("solve", help="solve a problem file")
    solve.add_argument("problem", help="a problem file (TOML)")
    solve.add_argument("--json", action="store_true", help="print the solution as one JSON object")
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        from .solution import solve
        from .text import summary

        solution = solve(args.problem)
        if args.json:
            print(json.dumps(solution.to_json(), indent=1))
        else:
            print(summary(solution))
    except SymgradError as error:
        print(f"symgrad: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `symgrad solve ... | head` is not an error
        sys.stderr.close()
    return 0


def main_exit() -> None:
    sys.exit(main())
