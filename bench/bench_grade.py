"""Grading a class: 1,000 written submissions of a 2-2-1 sheet over 20 variants, end to end.

    python bench/bench_grade.py [-n 1000] [--variants 20] [--runs 1] [--jobs N]

The target (issue 19): `symgrad grade PROBLEM SUBMISSIONS -o DIR --variants variants.json`
(without --pdf) for 1,000 written submissions in at most 60 s on the 2-core development
machine, timed as a command, start-up included.  The variants come from `symgrad variants`; each
student's Markdown is worked out here in plain Python from their variant's numbers (a forward
pass, two gradients and the update, at 5 significant figures), and about a third of them carry
a planted mistake (the update's sign, a digit slip, the activation's derivative left out, another
variant's value), so that the diagnosing is part of the time.  The figure is the median of
`--runs` runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SHEET = """\
title = "A 2-2-1 network"

[[question]]
number = "1"
text = "A 2-2-1 network with sigmoid units."

[question.network]
inputs = 2
loss = "half_squared_error"
learning_rate = 0.5

[[question.network.layer]]
units = 2
activation = "sigmoid"
weights = [[0.1, 0.2], [0.3, 0.4]]
biases = [0.1, 0.1]

[[question.network.layer]]
units = 1
activation = "sigmoid"
weights = [[0.5, 0.6]]
biases = [0.2]

[question.data]
x = [1.0, 0.5]
y = [1]

[[question.part]]
show = ["forward", "loss"]
points = 4

[[question.part]]
show = ["gradients"]
gradients = ["W2[1,1]", "W1[1,1]"]
points = 4

[[question.part]]
show = ["update"]
gradients = ["W2[1,1]"]
update = true
points = 2

[variants]
W1 = { uniform = [-1, 1], step = 0.1 }
W2 = { uniform = [-1, 1], step = 0.1 }
x = { choose = [[1, 0.5], [0.5, 1], [1, 1], [0.5, 0.5]] }
"""


def sig(v: float) -> float:
    return 1 / (1 + math.exp(-v))


def worked(g: dict[str, float]) -> dict[str, float | list[float]]:
    x = [g["x[1]"], g["x[2]"]]
    z1 = [g[f"W1[{i},1]"] * x[0] + g[f"W1[{i},2]"] * x[1] + 0.1 for i in (1, 2)]
    a1 = [sig(v) for v in z1]
    z2 = g["W2[1,1]"] * a1[0] + g["W2[1,2]"] * a1[1] + 0.2
    o = sig(z2)
    delta = (o - 1) * o * (1 - o)
    return {"z1": z1, "a1": a1, "z2": z2, "o": o, "L": 0.5 * (o - 1) ** 2, "W2": g["W2[1,1]"],
            "gW2": delta * a1[0], "gW1": delta * g["W2[1,1]"] * a1[0] * (1 - a1[0]) * x[0],
            "bare": (o - 1) * a1[0]}


def w(v: float) -> str:
    return f"{v:.5g}" if abs(v) >= 1e-4 else "0"


def slip(text: str) -> str:
    places = [k for k, c in enumerate(text) if c.isdigit() and text[:k + 1].strip("-0.")]
    k = places[min(2, len(places) - 1)]
    return text[:k] + str((int(text[k]) + 3) % 10) + text[k + 1:]


def markdown(k: int, vid: str, v: dict, other: dict) -> str:
    gw2 = v["bare"] if k % 9 == 3 else v["gW2"]
    sign = "+" if k % 5 == 1 else "-"
    new = v["W2"] + 0.5 * gw2 if sign == "+" else v["W2"] - 0.5 * gw2
    lines = [f"variant: {vid}", "## 1a)",
             *(f"$$z^{{[1]}}_{i + 1} = {w(v['z1'][i])}$$" for i in range(2)),
             *(f"$$a^{{[1]}}_{i + 1} = {w(v['a1'][i])}$$" for i in range(2)),
             f"$$z^{{[2]}}_1 = {w(v['z2'])}$$", f"$$\\hat{{y}}_1 = {w(v['o'])}$$",
             f"$$L = {slip(w(v['L'])) if k % 7 == 2 else w(v['L'])}$$", "## 1b)",
             f"$$\\frac{{\\partial L}}{{\\partial W^{{[2]}}_{{11}}}} = {w(gw2)}$$",
             f"$$\\frac{{\\partial L}}{{\\partial W^{{[1]}}_{{11}}}} = "
             f"{w(other['gW1'] if k % 10 == 4 else v['gW1'])}$$", "## 1c)",
             f"$$W^{{[2]}}_{{11}}{{}}' = {w(v['W2'])} {sign} 0.5 \\cdot {w(gw2)} = {w(new)}$$"]
    return "\n\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=1000, help="submissions (default 1000)")
    ap.add_argument("--variants", type=int, default=20, help="variants (default 20)")
    ap.add_argument("--runs", type=int, default=1, help="runs to take the median of (default 1)")
    ap.add_argument("--jobs", type=int, default=None, help="symgrad grade --jobs (default: a core each)")
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    symgrad = [sys.executable, "-m", "symgrad"]
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as folder:
        tmp = Path(folder)
        (tmp / "exam.toml").write_text(SHEET)
        subprocess.run([*symgrad, "variants", str(tmp / "exam.toml"), "-n", str(args.variants),
                        "--seed", "3", "-o", str(tmp / "variants")], check=True, env=env,
                       stdout=subprocess.DEVNULL)
        manifest = json.loads((tmp / "variants" / "variants.json").read_text())
        work = tmp / "work"
        work.mkdir()
        numbers = [worked(m["given"]) for m in manifest]
        for k in range(args.n):
            j = k % len(manifest)
            (work / f"s{k:05d}.md").write_text(
                markdown(k, manifest[j]["id"], numbers[j], numbers[(j + 7) % len(manifest)]))
        times = []
        for run in range(args.runs):
            out = tmp / f"out{run}"
            command = [*symgrad, "grade", str(tmp / "exam.toml"), str(work), "--variants",
                       str(tmp / "variants" / "variants.json"), "-o", str(out)]
            if args.jobs:
                command += ["--jobs", str(args.jobs)]
            start = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                sys.exit(f"symgrad grade failed ({done.returncode}): {done.stderr.strip()}")
        report = json.loads((tmp / "out0" / "report.json").read_text())
    seconds = statistics.median(times)
    mistakes = ", ".join(f"{m['mistake']} {m['count']}" for m in report["mistakes"])
    print(f"symgrad grade: {args.n} written submissions over {args.variants} variants on "
          f"{os.cpu_count()} cores: {seconds:.1f} s ({args.n / seconds:.0f} a second; target: "
          f"at most 60 s for 1,000), start-up included")
    print(f"  graded {report['graded']} of {report['students']}, mean {report['mean']:.2f} of "
          f"{report['out_of']:g}; mistakes found: {mistakes}")


if __name__ == "__main__":
    main()
