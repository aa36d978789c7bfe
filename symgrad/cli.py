"""The command line.  Only `main` turns errors into exit codes and one-line messages.

    symgrad solve PROBLEM.toml [-o DIR] [--templates DIR]   write DIR/<stem>.tex (default output/)
    symgrad solve PROBLEM.toml --json                       print the solution as JSON
    symgrad examples [--from DIR] [-o DIR]                  render every problem in examples/
    symgrad verify "diff(sigmoid(z), z) = sigmoid(z)*(1 - sigmoid(z))" [--where ...] [--json]
                                        exit 0 PROVED, 1 REFUTED, 3 UNDECIDED, 2 a bad claim
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .errors import SymgradError
from .pdf import LatexError


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="symgrad", description="Chain-rule derivations of neural networks, worked out."
    )
    commands = top.add_subparsers(dest="command", required=True)
    solve = commands.add_parser("solve", help="solve a problem file and write its answer key")
    solve.add_argument("problem", help="a problem or sheet file (TOML)")
    solve.add_argument("--json", action="store_true", help="print the solution as one JSON object")
    solve.add_argument("--text", action="store_true", help="print a plain-text summary instead")
    which = solve.add_mutually_exclusive_group()
    which.add_argument("--key", dest="key", action="store_true", default=True,
                       help="write the answer key (the default)")
    which.add_argument("--questions", dest="key", action="store_false",
                       help="write the question sheet: no solutions, space to answer")
    examples = commands.add_parser("examples", help="write the answer key of every example")
    examples.add_argument("--from", dest="folder", default="examples", help="the problem folder")
    verify = commands.add_parser("verify", help="prove or refute a claimed identity")
    verify.add_argument("claim", nargs="?", help='e.g. "diff(tanh(z), z) = 1 - tanh(z)**2"')
    verify.add_argument("--where", action="append", default=[], help='a definition "s = ..."')
    verify.add_argument("--assume", action="append", default=[], help='a sign such as "z > 0"')
    verify.add_argument("--json", action="store_true", help="print the verdict as JSON")
    verify.add_argument("--time-limit", type=float, default=10.0, help="seconds for the proof")
    verify.add_argument("--bundled", action="store_true", help="check the bundled identities")
    for command in (solve, examples):
        command.add_argument("-o", "--output", default="output", help="where to write the .tex")
        command.add_argument("--pdf", action="store_true", help="also build the PDF (LaTeX)")
        command.add_argument("--templates", help="a folder of templates that override the built-in")
    return top


def write_atomically(path: Path, text: str) -> None:
    """Write the whole file or nothing: a failure leaves no half-written answer key behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # an ordinary file, not mkstemp's private one
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def render(problem: Path, output: Path, templates: str | None, keys: Sequence[bool],
           pdf: bool) -> list[Path]:
    """Write the answer key (output/<stem>.tex) and/or the question sheet (<stem>-questions.tex)."""
    from .pdf import build_pdf
    from .solution import solve

    solved = solve(problem)
    written = []
    for key in keys:
        latex = solved.to_latex(templates, key)
        target = output / (f"{problem.stem}.tex" if key else f"{problem.stem}-questions.tex")
        if pdf:  # first, so that a LaTeX error leaves neither file behind
            build_pdf(latex, target.with_suffix(".pdf"))
        write_atomically(target, latex)
        written += [target, target.with_suffix(".pdf")] if pdf else [target]
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "verify":
            return verify_command(args)
        if args.templates and not Path(args.templates).is_dir():
            raise SymgradError(f"{args.templates}: --templates: expected a folder of templates")
        if args.command == "examples":
            problems = sorted(Path(args.folder).glob("*.toml"))
            if not problems:
                raise SymgradError(f"{args.folder}: no problem files (*.toml) in this folder")
            for problem in problems:
                for path in render(problem, Path(args.output), args.templates, (True, False), args.pdf):
                    print(f"wrote {path}")
        elif args.json or args.text:
            from .solution import solve
            from .text import summary

            solution = solve(args.problem)
            print(json.dumps(solution.to_json(), indent=1) if args.json else summary(solution))
        else:
            for path in render(Path(args.problem), Path(args.output), args.templates, (args.key,),
                               args.pdf):
                print(f"wrote {path}")
    except LatexError as error:
        print(f"symgrad: {error}", file=sys.stderr)
        return 3
    except SymgradError as error:
        print(f"symgrad: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `symgrad solve ... | head` is not an error
        sys.stderr.close()
    return 0


def verify_command(args: argparse.Namespace) -> int:
    from .verify import verify

    if args.bundled:
        from .identities import IDENTITIES

        wrong = 0
        for identity in IDENTITIES:
            verdict = verify(identity.claim, where=identity.where, assume=identity.assume,
                             seconds=args.time_limit)
            mark = "ok" if verdict.status == identity.expected else "UNEXPECTED"
            wrong += mark != "ok"
            print(f"{mark:10} {verdict.status:9} {identity.name}: {identity.claim}")
        return 1 if wrong else 0
    if not args.claim:
        raise SymgradError("verify: expected a claim such as \"diff(tanh(z), z) = 1 - tanh(z)**2\"")
    verdict = verify(args.claim, where=args.where, assume=args.assume, seconds=args.time_limit)
    if args.json:
        print(json.dumps(verdict.to_json(), indent=1))
    else:
        print(f"{verdict.status}: {verdict.claim}")
        print(f"  {verdict.reason}")
        for caveat in verdict.caveats:
            print(f"  note: {caveat}")
    return verdict.exit_status


def main_exit() -> None:
    sys.exit(main())
