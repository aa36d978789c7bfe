"""Benchmark: is `symgrad check` ever wrong about a simulated student's line?

Random networks and computation graphs (tests/submissions.py), each solved once, and several
submissions checked against each: all right ("a"), one slip carried forward ("b"), one slip
not carried forward ("c").  Every line has the verdict it must get; the counts of lines the
checker gets wrong are printed, by kind, with a few minimal reproducers of each kind of failure
written to a folder.

    python bench/bench_check_soundness.py                   # 20,000 submissions
    python bench/bench_check_soundness.py --n 2000 --seed 3 --jobs 2 --out /tmp/soundness_repros

Failure kinds: false-correct (a line that must be wrong or correct-ecf judged correct, or one
that must be wrong judged correct-ecf), false-wrong (a line that must be correct or correct-ecf
judged wrong or inconsistent), unchecked (a line not judged, or judged unchecked), other (a line
that must be correct judged correct-ecf, or one that must be wrong judged inconsistent), and
disputable (a verdict the README allows too, see submissions.disputable: not a failure).  A
failure is "primary" when it is the first in its submission, "cascade" when an earlier line of
the same submission already failed (it may only follow from that one).
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import submissions as S  # noqa: E402

PER_PROBLEM = 10  # submissions checked against each solved problem
KEEP = 3  # reproducers kept per kind of failure


def units(a: str, b: str | float, of: str) -> float:
    """|a − b| in units of the last written digit of `of`."""
    return abs(float(a) - float(b)) / float(S.unit_of(of))


def constants(problem: S.Problem) -> set[str]:
    """The decimal constants of the problem's own formulas: the leaky slope, a graph's 0.5."""
    if problem.family == "network":
        leaky = any(g == "leaky_relu" for _, _, g in problem.info["net"].layers)
        return {"0.01"} if leaky else set()
    out: set[str] = set()

    def walk(e: S.E) -> None:
        if isinstance(e, S.Num) and "." in e.text:
            out.add(e.text)
        for child in ("a", "b"):
            if hasattr(e, child):
                walk(getattr(e, child))
    for e in problem.info["graph"].define.values():
        walk(e)
    return out


def cause(checked: S.Checked, sub: S.Submission, bad: S.Disagreement) -> str:
    """A first guess at why a line is judged falsely, from what changes the verdict."""
    line = bad.line
    n = sub.lines.index(line)
    closure = [sub.lines[k] for k in sub.closure(n)]
    tags = []
    numbers = {t for l in closure for t in l.working.replace("(", " ").replace(")", " ")
               .replace("{", " ").replace("}", " ").split()} | {l.value for l in closure}
    used = sorted(constants(sub.problem) & numbers)
    if used:
        tags.append(f"a constant of the problem's formulas ({', '.join(used)}) in a working")
    other = {"a": "z", "z": "a", "parent": "child", "child": "parent"}[sub.style["path"]]
    again = S.restyled(sub, path=other)
    if again is not None and len(again.lines) == len(sub.lines):
        twin = again.lines[n]
        redo = {d.line.number: d for d in S.disagreements(again, checked.check(again.text))}
        if twin.number not in redo and twin.expected == line.expected:
            tags.append(f"path-sensitive (right with path {other})")
    exact = sub.problem.exact.get(line.key)
    if exact is not None and bad.got in ("correct", "correct-ecf") and \
            line.expected in ("wrong", "correct-ecf"):
        honest = abs(float(sub.unslipped[line.key]) - exact)
        off = abs(float(line.value) - exact)
        if off <= honest + float(S.unit_of(line.value)) / 2:
            side = "far side" if (float(line.value) - exact) * (
                float(sub.unslipped[line.key]) - exact) < 0 else "near side"
            tags.append(f"within the honest student's error from the key ({side})")
    return "; ".join(tags) or "-"


def signature(sub: S.Submission, bad: S.Disagreement, primary: bool, why: str) -> str:
    return (f"{bad.category}: expected {bad.line.expected} got {bad.got}, "
            f"{sub.problem.family}, {'primary' if primary else 'cascade'}, cause: {why}")


def work(task: tuple[int, int, int]) -> dict[str, Any]:
    """Check `count` submissions, PER_PROBLEM to a problem, from one seed."""
    seed, count, offset = task
    rng = random.Random(seed)
    out: dict[str, Any] = {"submissions": 0, "lines": 0, "counts": Counter(), "lines_by": Counter(),
                           "signatures": Counter(), "repros": {}, "solve": 0.0, "check": 0.0,
                           "errors": []}
    made = 0
    k = offset
    while made < count:
        family = "network" if k % 2 == 0 else "graph"
        k += 1
        problem = S.draw_problem(rng, family, title=f"generated {family}")
        t = time.perf_counter()
        try:
            checked = S.Checked(problem)
        except Exception as error:  # the engine refused a problem: report it, go on
            out["errors"].append(f"solve: {type(error).__name__}: {error}\n{problem.toml}")
            continue
        out["solve"] += time.perf_counter() - t
        for _ in range(min(PER_PROBLEM, count - made)):
            kind = rng.choice("abc")
            try:
                sub = S.make(problem, kind, rng)
            except S.Degenerate:
                continue
            made += 1
            t = time.perf_counter()
            try:
                items = checked.check(sub.text)
            except Exception as error:
                out["errors"].append(f"check: {type(error).__name__}: {error}\n{S.explain(sub)}")
                continue
            out["check"] += time.perf_counter() - t
            out["submissions"] += 1
            out["lines"] += len(sub.lines)
            for line in sub.lines:
                out["lines_by"][line.expected] += 1
            seen = False
            for bad in S.disagreements(sub, items, strict=True):
                if bad.disputable:
                    out["counts"]["disputable"] += 1
                    sig = (f"disputable: expected {bad.line.expected} got {bad.got}, "
                           f"{bad.disputable}")
                else:
                    out["counts"][bad.category] += 1
                    why = cause(checked, sub, bad) if not seen else "-"
                    sig = signature(sub, bad, not seen, why)
                    seen = True
                out["signatures"][sig] += 1
                kept = out["repros"].setdefault(sig, [])
                if len(kept) < KEEP:
                    small, found = S.minimize(checked, sub, bad)
                    kept.append((len(small.lines), reproducer(small, found, bad)))
    return out


def reproducer(sub: S.Submission, found: list[S.Disagreement], bad: S.Disagreement) -> str:
    got = {d.line.number: d for d in found}
    rows = []
    for line in sub.lines:
        d = got.get(line.number)
        verdict = line.expected if d is None else f"{d.got}   <-- expected {line.expected}"
        rows.append(f"line {line.number:3d}  {verdict}   ({line.key})")
        if d is not None and d.item is not None and d.item.diagnosis:
            rows.append(f"          diagnosis: {d.item.diagnosis}")
    return "\n".join([
        "--- problem.toml", sub.problem.toml.rstrip(),
        f"--- submission.md ({sub.describe()}; first found at {bad.line.key}, "
        f"{S.key_kind(bad.line.key)})",
        sub.text.rstrip(), "--- verdicts", *rows, ""])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20000, help="submissions (default 20000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="processes (default 1)")
    parser.add_argument("--out", default="/tmp/soundness_repros",
                        help="folder for the reproducers (default /tmp/soundness_repros)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    jobs = max(1, args.jobs)
    chunks = []
    left = args.n
    per = -(-args.n // (jobs * 8)) if jobs > 1 else args.n
    k = 0
    while left > 0:
        chunks.append((args.seed * 1_000_003 + k, min(per, left), k))
        left -= per
        k += 1
    if jobs > 1:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            results = pool.map(work, chunks, chunksize=1)
    else:
        results = [work(c) for c in chunks]
    total: dict[str, Any] = {"submissions": 0, "lines": 0, "counts": Counter(),
                             "lines_by": Counter(), "signatures": Counter(), "repros": {},
                             "solve": 0.0, "check": 0.0, "errors": []}
    for r in results:
        for key in ("submissions", "lines", "solve", "check"):
            total[key] += r[key]
        for key in ("counts", "lines_by", "signatures"):
            total[key].update(r[key])
        total["errors"] += r["errors"]
        for sig, kept in r["repros"].items():
            total["repros"].setdefault(sig, []).extend(kept)
    elapsed = time.perf_counter() - start
    counts = total["counts"]
    print(f"{total['submissions']} submissions, {total['lines']} lines "
          f"(expected: {dict(total['lines_by'])}) in {elapsed:.1f} s "
          f"(solving {total['solve']:.1f} s, checking {total['check']:.1f} s, {jobs} process(es))")
    print(f"false-correct {counts['false-correct']}  false-wrong {counts['false-wrong']}  "
          f"unchecked {counts['unchecked']}  other {counts['other']}  "
          f"(and disputable {counts['disputable']}: not counted)  errors {len(total['errors'])}")
    for sig, n in total["signatures"].most_common():
        print(f"  {n:6d}  {sig}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = out / f"bench-seed{args.seed}.txt"
    with report.open("w") as f:
        f.write(f"bench_check_soundness --n {args.n} --seed {args.seed}\n\n")
        for sig, n in total["signatures"].most_common():
            f.write(f"{'=' * 100}\n{sig}  ({n} lines)\n")
            for size, text in sorted(total["repros"].get(sig, []))[:KEEP]:
                f.write(text + "\n")
        for error in total["errors"][:20]:
            f.write(f"{'=' * 100}\nerror\n{error}\n")
    print(f"reproducers: {report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
