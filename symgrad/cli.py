"""The command line.  Only `main` turns errors into exit codes and one-line messages.

    symgrad solve PROBLEM.toml [-o DIR] [--templates DIR]   write DIR/<stem>.tex (default output/)
    symgrad solve PROBLEM.toml --json                       print the solution as JSON
    symgrad examples [--from DIR] [-o DIR]                  render every problem in examples/
    symgrad variants PROBLEM.toml -n N --seed S [-o DIR] [--pdf] [--format md html moodle qti]
                                        exam variants: a key and a question sheet each, and more
    symgrad check PROBLEM.toml ANSWERS [--json] [-o DIR] [--pdf]
                                        a student's work line by line: exit 0 all correct,
                                        1 something wrong or inconsistent, 2 bad input
    symgrad grade PROBLEM.toml SUBMISSION... -o DIR [--variants variants.json] [--roster CSV]
                  [--jobs N] [--pdf] [--gradebook moodle|canvas]
                                        a whole class: grades.csv, results.jsonl, feedback and
                                        the class report; exit 1 when a submission was unreadable
    symgrad verify "diff(sigmoid(z), z) = sigmoid(z)*(1 - sigmoid(z))" [--where ...] [--json]
                                        exit 0 PROVED, 1 REFUTED, 3 UNDECIDED, 2 a bad claim
"""

from __future__ import annotations

import argparse
import dataclasses
import contextlib
import json
import os
import signal
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from symgrad import __version__
from symgrad.errors import SymgradError
from symgrad.output.pdf import LatexError

FORMATS = ("tex", "md", "html", "moodle", "qti")
STYLES = ("auto", "numerical", "cloze")
GRADEBOOKS = ("moodle", "canvas")


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the usage itself is one `--help` away)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"symgrad: {message} (see {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    top = OneLineParser(
        prog="symgrad", description="Chain-rule derivations of neural networks, worked out."
    )
    top.add_argument("--version", action="version", version=f"symgrad {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    solve = commands.add_parser("solve", help="solve a problem file and write its answer key")
    solve.add_argument("problem", help="a problem or sheet file (TOML)")
    solve.add_argument("--json", action="store_true", help="print the solution as one JSON object")
    solve.add_argument("--text", action="store_true", help="print a plain-text summary instead")
    solve.add_argument("--key", action="store_true",
                       help="write the answer key (the default; with --questions, both)")
    solve.add_argument("--questions", action="store_true",
                       help="write the question sheet: no solutions, space to answer")
    solve.add_argument("--format", nargs="+", action="extend", choices=FORMATS, metavar="FORMAT",
                       help="what to write: tex (the default), md, html, moodle (Moodle XML), "
                            "qti (Canvas QTI 1.2 zip); several may be given")
    examples = commands.add_parser("examples", help="write the answer key of every example")
    examples.add_argument("--from", dest="folder", default=None,
                          help="the problem folder (default: the examples installed with symgrad)")
    variants = commands.add_parser("variants", help="exam variants with their keys, from a "
                                   "file's [variants] table")
    variants.add_argument("problem", help="a problem or sheet file (TOML) with a [variants] table")
    variants.add_argument("-n", type=int, default=10, help="how many variants (default 10)")
    variants.add_argument("--seed", type=int, default=0,
                          help="the random seed (default 0): the same seed gives the same files")
    variants.add_argument("--format", nargs="+", action="extend", choices=FORMATS[1:],
                          metavar="FORMAT", help="also write md, html (each variant), moodle "
                          "(Moodle XML) or qti (Canvas QTI 1.2 zip) of all variants")
    variants.add_argument("--pdf-each", action="store_true",
                          help="also one PDF per variant key and question sheet (a TeX run each)")
    for command in (solve, variants):
        command.add_argument("--moodle-style", choices=STYLES, default="auto",
                             help="Moodle questions: a numerical question per answer, a cloze "
                                  "question per part, or auto (numerical for one answer)")
    check = commands.add_parser("check", help="check a student's answers or written solution")
    check.add_argument("problem", help="the problem or sheet file (TOML)")
    check.add_argument("answers", help="the student's answers (.json, .toml) or written solution "
                       "(.md, .txt, .tex)")
    check.add_argument("--json", action="store_true", help="print the report as one JSON object")
    check.add_argument("-o", "--output", default=None,
                       help="write the feedback document (LaTeX) into this folder")
    check.add_argument("--pdf", action="store_true", help="also build the feedback PDF")
    check.add_argument("--templates", help="a folder of templates that override the built-in")
    grade = commands.add_parser("grade", help="grade a class: every submission checked, with "
                                "grades, gradebook files, feedback and a class report")
    grade.add_argument("problem", help="the problem or sheet file (TOML)")
    grade.add_argument("submissions", nargs="+", metavar="SUBMISSION",
                       help="a student's file (.json, .toml, .md, .txt, .tex) or a folder of them")
    grade.add_argument("-o", "--output", required=True, help="the folder to write in")
    grade.add_argument("--variants", help="the variants.json of `symgrad variants`: each "
                       "submission is checked against its own variant")
    grade.add_argument("--roster", help="a CSV with the columns file,student,variant")
    grade.add_argument("--jobs", type=int, default=None,
                       help="processes to grade with (default: one a core)")
    grade.add_argument("--pdf", action="store_true",
                       help="also the PDFs of the class report and of each student's feedback")
    grade.add_argument("--gradebook", choices=GRADEBOOKS,
                       help="also the gradebook file Moodle or Canvas imports")
    verify = commands.add_parser("verify", help="prove or refute a claimed identity")
    verify.add_argument("claim", nargs="?", help='e.g. "diff(tanh(z), z) = 1 - tanh(z)**2"')
    verify.add_argument("--where", action="append", default=[], help='a definition "s = ..."')
    verify.add_argument("--assume", action="append", default=[], help='a sign such as "z > 0"')
    verify.add_argument("--json", action="store_true", help="print the verdict as JSON")
    verify.add_argument("--time-limit", default="10",
                        help="seconds for the whole command (for each claim with --bundled)")
    verify.add_argument("--bundled", action="store_true", help="check the bundled identities")
    for command in (solve, examples, variants):
        command.add_argument("-o", "--output", default=None,
                             help="the folder to write in (default output/STEM-variants)"
                             if command is variants else "the folder to write in (default "
                             "output/); for solve, - writes the .tex to standard output")
        command.add_argument("--precision", type=int, default=None, metavar="N",
                             help="significant figures shown (1 to 15; default: the sheet's own)")
        command.add_argument("--pdf", action="store_true", help="also build the PDF (LaTeX)")
        command.add_argument("--templates", help="a folder of templates that override the built-in")
    return top


def solved_at(problem: Path, precision: int | None) -> Any:
    """The solved problem or sheet, at the precision asked for on the command line."""
    from symgrad.api import solve

    solved = solve(problem)
    return solved if precision is None else dataclasses.replace(solved, precision=precision)


def render(problem: Path, output: Path, templates: str | None, keys: Sequence[bool],
           pdf: bool, precision: int | None = None, formats: Sequence[str] = ("tex",),
           moodle_style: str = "auto") -> list[Path]:
    """Write the answer key (output/<stem>.tex) and/or the question sheet (<stem>-questions.tex),
    and their PDFs. Every document is made before any file is written, so that an error (a
    LaTeX error in the question sheet, say) leaves no file of this problem behind."""
    from symgrad.output import outfile
    from symgrad.output.pdf import compile_pdf
    solved = solved_at(problem, precision)
    files: dict[Path, str | bytes] = {}
    for key in keys if "tex" in formats or pdf else ():
        latex = solved.to_latex(templates, key)
        target = output / (f"{problem.stem}.tex" if key else f"{problem.stem}-questions.tex")
        files[target] = latex
        if pdf:
            files[target.with_suffix(".pdf")] = compile_pdf(latex, target.name)[0]
    if set(formats) - {"tex"}:
        from symgrad.output.exam import sheet_files

        sheet = solved.sheet() if hasattr(solved, "sheet") else solved
        exports = sheet_files(sheet, problem.stem, [f for f in formats if f != "tex"], keys,
                              templates, moodle_style)
        files.update({output / name: data for name, data in exports.items()})
    outfile.write_all(files)
    return list(files)


class Terminated(BaseException):
    """SIGTERM, raised like KeyboardInterrupt (and, like it, not an Exception that a handler could
    swallow) so that every `finally` runs: temporary files and folders are removed and TeX's
    process group is killed."""


def stop(signum: int, frame: object) -> None:
    for each in (signal.SIGINT, signal.SIGTERM):  # a second signal must not cut the cleanup short
        signal.signal(each, signal.SIG_IGN)
    raise KeyboardInterrupt if signum == signal.SIGINT else Terminated


def say(message: object) -> None:
    """One line on stderr, whatever the message holds (a file name may contain a newline)."""
    print("symgrad: " + " ".join(str(message).splitlines()), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    writes = args.command in ("examples", "variants", "grade") or (
        args.command == "solve" and not (args.json or args.text) and args.output != "-")
    saved = {each: signal.getsignal(each) for each in (signal.SIGINT, signal.SIGTERM)}
    if writes:  # not for verify: its forked prover is ended with SIGTERM and must just die
        try:
            for each in saved:
                signal.signal(each, stop)
        except ValueError:  # main() called outside the main thread: signals are not ours
            pass
    try:
        if args.command == "verify":
            return verify_command(args)
        if args.command == "check":
            return check_command(args)
        if args.command == "grade":
            return grade_command(args)
        check_options(args)
        if args.command == "examples":
            return examples_command(args)
        if args.command == "variants":
            return variants_command(args)
        if args.json or args.text:
            from symgrad.output.text import summary

            solution = solved_at(Path(args.problem), args.precision)
            # allow_nan=False: the JSON is strict; the engine already refuses NaN and infinities
            text = (json.dumps(solution.to_json(), indent=1, allow_nan=False) + "\n" if args.json
                    else summary(solution) + "\n")
            if args.json and args.output not in (None, "-"):
                from symgrad.output import outfile

                target = Path(args.output) / f"{Path(args.problem).stem}.json"
                outfile.write(target, text)
                print(f"wrote {target}")
            else:
                sys.stdout.write(text)
        elif args.output == "-":
            solved = solved_at(Path(args.problem), args.precision)
            sys.stdout.write(solved.to_latex(args.templates, not args.questions))
        else:
            keys = [True] * (args.key or not args.questions) + [False] * args.questions
            for path in render(Path(args.problem), Path(args.output or "output"), args.templates,
                               keys, args.pdf, args.precision, args.format or ["tex"],
                               args.moodle_style):
                print(f"wrote {path}")
    except LatexError as error:
        say(error)
        return 3
    except SymgradError as error:
        say(error)
        return 2
    except BrokenPipeError:  # `symgrad solve ... | head` is not an error
        sys.stderr.close()
    except KeyboardInterrupt:
        say("interrupted (SIGINT)")
        return 128 + signal.SIGINT
    except Terminated:
        say("terminated (SIGTERM)")
        return 128 + signal.SIGTERM
    finally:
        with contextlib.suppress(ValueError):
            for each, handler in saved.items():
                signal.signal(each, handler)
    return 0


def check_options(args: argparse.Namespace) -> None:
    """The options of solve and examples, checked before any work is done."""
    if args.templates and not Path(args.templates).is_dir():
        raise SymgradError(f"{args.templates}: --templates: expected a folder of templates")
    if args.precision is not None and not 1 <= args.precision <= 15:
        raise SymgradError(f"--precision {args.precision}: expected significant figures from 1 to 15")
    if args.command == "solve" and args.format and set(args.format) != {"tex"} and (
            args.json or args.text or args.output == "-"):
        raise SymgradError("--format: writes files; not with --json, --text or -o -")
    if args.command == "variants":
        from symgrad.input import limits

        if not 1 <= args.n <= limits.VARIANTS:
            raise SymgradError(f"-n {args.n}: expected 1 to {limits.VARIANTS} variants")
        if not 0 <= args.seed < 2**63:
            raise SymgradError(f"--seed {args.seed}: expected a whole number from 0 to 2**63 - 1")
        if args.output is None:
            args.output = str(Path("output") / f"{Path(args.problem).stem}-variants")
    if args.output == "-":
        if args.command != "solve" or args.pdf or args.text or (args.key and args.questions):
            raise SymgradError("-o -: writes one .tex (or the JSON) to standard output; "
                               "not with --pdf, --text, examples or both --key and --questions")
        return
    if args.command != "solve" or not (args.json or args.text) or args.output is not None:
        from symgrad.output.outfile import check_folder

        check_folder(Path(args.output or "output"))


def variants_command(args: argparse.Namespace) -> int:
    """Draw the variants, make every file in memory (TeX included), then write them all."""
    from symgrad.api import variants
    from symgrad.output import outfile
    from symgrad.output.exam import variant_files

    problem, folder = Path(args.problem), Path(args.output)
    if args.pdf or args.pdf_each:
        from symgrad.output.pdf import engine

        engine()  # no TeX engine: say so before any work
    made = variants(problem, args.n, args.seed, args.precision)
    files = variant_files(made, problem.stem, args.format or [], args.pdf, args.pdf_each,
                          args.templates, args.moodle_style)
    outfile.write_all({folder / name: data for name, data in files.items()})
    each = [n for n in files if n.startswith(f"{problem.stem}-v")]
    print(f"wrote {len(each)} files of {len(made.variants)} variants to {folder} "
          f"({each[0]}, ...)")
    for name in files:
        if name not in each:
            print(f"wrote {folder / name}")
    sys.stdout.write(made.report())
    return 0


def examples_folder() -> Path:
    """The examples installed with symgrad (symgrad.examples in the wheel; examples/ beside
    the package in a checkout)."""
    try:
        return Path(str(resources.files("symgrad.examples").joinpath("two_two_two.toml"))).parent
    except ModuleNotFoundError:
        return Path(__file__).resolve().parent.parent / "examples"


def examples_command(args: argparse.Namespace) -> int:
    """Render every problem in the folder; a bad one is one line and the rest still get done.
    Exit status 2 if any problem file was bad, 3 if only LaTeX failed, else 0."""
    folder = Path(args.folder) if args.folder else examples_folder()
    problems = sorted(folder.glob("*.toml"))
    if not problems:
        raise SymgradError(f"{folder}: no problem files (*.toml) in this folder")
    if args.pdf:
        from symgrad.output.pdf import engine

        engine()  # no TeX engine: say so once, not once a file
    status = 0
    for problem in problems:
        try:
            written = render(problem, Path(args.output or "output"), args.templates, (True, False),
                             args.pdf, args.precision)
        except SymgradError as error:
            message = str(error)
            say(message if str(problem) in message else f"{problem}: {message}")
            status = max(status, 3 if isinstance(error, LatexError) else 2)
            continue
        for path in written:
            print(f"wrote {path}")
    return status


def verify_command(args: argparse.Namespace) -> int:
    import math

    from symgrad.proof.verify import command_start, verify

    try:
        seconds = float(args.time_limit)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise SymgradError(f"--time-limit {args.time_limit!r}: expected a positive number of seconds")
    if args.bundled:
        from symgrad.proof.identities import IDENTITIES

        wrong = 0
        for identity in IDENTITIES:
            verdict = verify(identity.claim, where=identity.where, assume=identity.assume,
                             seconds=seconds)
            mark = "ok" if verdict.status == identity.expected else "UNEXPECTED"
            wrong += mark != "ok"
            print(f"{mark:10} {verdict.status:9} {identity.name}: {identity.claim}")
        return 1 if wrong else 0
    if not args.claim:
        raise SymgradError("verify: expected a claim such as \"diff(tanh(z), z) = 1 - tanh(z)**2\"")
    deadline = command_start() + seconds - 0.2  # a moment is left for printing
    verdict = verify(args.claim, where=args.where, assume=args.assume, seconds=seconds,
                     deadline=deadline)
    if args.json:
        print(json.dumps(verdict.to_json(), indent=1))
    else:
        print(f"{verdict.status}: {verdict.claim}")
        print(f"  {verdict.reason}")
        for caveat in verdict.caveats:
            print(f"  note: {caveat}")
    return verdict.exit_status


def check_command(args: argparse.Namespace) -> int:
    """Check a student's work: the report on standard output (text, or JSON with --json); with
    -o DIR (or --pdf) the feedback document too.  Exit 0 when every checked line is correct, 1
    when one is wrong or inconsistent (or correct only from the student's own earlier values,
    unless the problem's [check] table says that counts as correct), 3 when nothing could be
    checked."""
    from symgrad.api import check

    if args.templates and not Path(args.templates).is_dir():
        raise SymgradError(f"{args.templates}: --templates: expected a folder of templates")
    if args.output == "-":
        raise SymgradError("-o -: check writes its feedback document into a folder; the report "
                           "itself goes to standard output (--json for JSON)")
    folder = Path(args.output) if args.output is not None else (Path("output") if args.pdf else None)
    if folder is not None:
        from symgrad.output.outfile import check_folder

        check_folder(folder)
    report = check(args.problem, args.answers)
    files: dict[Path, str | bytes] = {}
    if folder is not None:  # every file is made before any is written
        from symgrad.output.pdf import compile_pdf

        latex = report.to_latex(args.templates)
        target = folder / f"{Path(args.answers).stem}-feedback.tex"
        files[target] = latex
        if args.pdf:
            files[target.with_suffix(".pdf")] = compile_pdf(latex, target.name)[0]
    text = (json.dumps(report.to_json(), indent=1, allow_nan=False, ensure_ascii=False) + "\n"
            if args.json else report.to_text())
    if files:
        from symgrad.output import outfile

        outfile.write_all(files)
    sys.stdout.write(text)
    for path in files:
        print(f"wrote {path}", file=sys.stderr if args.json else sys.stdout)
    if report.exit_status == 3:
        lines = report.coverage["lines"]
        say(f"{args.answers}: nothing could be checked against {args.problem} "
            f"({lines} line{'s' if lines != 1 else ''}, none mapped to the problem)")
    return report.exit_status


def grade_command(args: argparse.Namespace) -> int:
    """Grade a class: every submission checked (against its own variant with --variants), then
    every file made in memory and written.  Exit 0 when every submission was graded (wrong
    answers are not errors), 1 when some could not be read (one line each on stderr), 2 for a
    bad problem, manifest, roster or option (one line, nothing written)."""
    from tqdm import tqdm

    from symgrad.grade import collect, grade
    from symgrad.output import outfile
    from symgrad.output.classreport import class_files

    if args.jobs is not None and not 1 <= args.jobs <= 256:
        raise SymgradError(f"--jobs {args.jobs}: expected a number of processes from 1 to 256")
    folder = Path(args.output)
    outfile.check_folder(folder)
    if args.pdf:
        from symgrad.output.pdf import engine

        engine()  # no TeX engine: say so before any work
    submissions = collect(args.submissions)
    if not submissions:
        raise SymgradError(f"{' '.join(args.submissions)}: no submissions (files ending in .json, "
                           ".toml, .md, .txt or .tex)")
    quiet = not sys.stderr.isatty()  # a bar on a terminal only
    with tqdm(total=len(submissions), desc="grading", unit="student", file=sys.stderr,
              disable=quiet, leave=False) as bar:
        result = grade(args.problem, submissions, args.variants, args.roster, args.jobs, bar.update)
    summary = result.summary()
    documents = len(result.graded) + 1 if args.pdf else 0
    with tqdm(total=documents, desc="typesetting", unit="PDF", file=sys.stderr,
              disable=quiet or not documents, leave=False) as bar:
        made = class_files(result, summary, args.gradebook, args.pdf, args.jobs or os.cpu_count() or 1,
                           bar.update)
    outfile.write_all({folder / name: data for name, data in made.items()})
    for u in result.unreadable:
        say(u.reason if u.file in u.reason else f"{u.file}: {u.reason}")
    kinds = len(summary["mistakes"])
    print(f"graded {len(result.graded)} of {summary['students']} submissions: mean "
          f"{summary['mean']:.4g} of {summary['out_of']:g}, {kinds} kind{'s' * (kinds != 1)} of "
          f"mistake")
    feedback = [n for n in made if n.startswith("feedback/")]
    for name in made:
        if name not in feedback:
            print(f"wrote {folder / name}")
    if feedback:
        print(f"wrote {len(feedback)} feedback files to {folder / 'feedback'}")
    return result.exit_status


def main_exit() -> None:
    sys.exit(main())
