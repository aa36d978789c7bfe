"""Exam variants: 1,000 variants of a 2-2-1 problem to .tex, against one `symgrad solve` of it.

    python bench/bench_variants.py [-n 1000] [--runs 3]

The targets (issue 15): `symgrad variants PROBLEM -n 1000` (an answer key and a question sheet
for each variant, variants.json, variants.csv and the report) in at most 15 times one
`symgrad solve PROBLEM`, both timed as commands, start-up included; and the numbers alone (draw,
evaluate the compiled program, screen by every condition) at 100,000 variants a second or more.
Each figure is the median of `--runs` runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import symgrad  # noqa: E402
from symgrad.analyses import sheet as sheets  # noqa: E402
from symgrad.analyses.variants import Sampler  # noqa: E402
from symgrad.input.sheetspec import read_sheet  # noqa: E402
from symgrad.input.variantspec import read_variants  # noqa: E402

PROBLEM = """\
title = "A 2-2-1 network"

[network]
inputs = 2
loss = "half_squared_error"
learning_rate = 0.5

[[network.layer]]
units = 2
activation = "sigmoid"
weights = [[0.15, 0.20], [0.25, 0.30]]
biases = [0.35, 0.35]

[[network.layer]]
units = 1
activation = "sigmoid"
weights = [[0.40, 0.45]]
biases = [0.60]

[data]
x = [0.05, 0.10]
y = [0.01]

[ask]
gradients = ["W2[1,1]", "W1[1,1]", "b1[2]"]
update = true

[variants]
W1 = { uniform = [-1, 1], step = 0.1 }
W2 = { uniform = [-1, 1], step = 0.1 }
b1 = { uniform = [-0.5, 0.5], step = 0.1 }
x = { choose = [[1, 0], [0, 1], [1, 1], [0.5, 1]] }
y = { choose = [0, 1] }
require = ["abs(z2[1]) < 2"]
"""


def command(*args: str) -> float:
    """Seconds for `python -m symgrad ARGS`, start-up included."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "symgrad", *args], check=True, env=environment,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("-n", type=int, default=1000)
    options.add_argument("--runs", type=int, default=3)
    args = options.parse_args()
    with tempfile.TemporaryDirectory(prefix="symgrad-bench-") as folder:
        problem = Path(folder) / "p221.toml"
        problem.write_text(PROBLEM)
        command("solve", str(problem), "-o", f"{folder}/warm")  # byte-compile, warm the disk cache
        solve = statistics.median(command("solve", str(problem), "-o", f"{folder}/s")
                                  for _ in range(max(args.runs, 5)))
        runs = [command("variants", str(problem), "-n", str(args.n), "--seed", str(k),
                        "-o", f"{folder}/v{k}") for k in range(args.runs)]
        variants = statistics.median(runs)
        files = len(list(Path(f"{folder}/v0").iterdir()))

    data = tomllib.loads(PROBLEM)
    sheet = sheets.solve_sheet(read_sheet(data, "p221.toml"))
    sampler = Sampler(sheet, read_variants(data, "p221.toml"))  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    rejected: dict[str, int] = {}
    sampler.batch(rng, sampler.size, rejected)  # warm up
    batches = 200
    start = time.perf_counter()
    kept = sum(int(sampler.batch(rng, sampler.size, rejected)[2].sum()) for _ in range(batches))
    screened = batches * sampler.size / (time.perf_counter() - start)
    start = time.perf_counter()
    made = symgrad.variants(data, n=10_000, seed=0)
    with_solutions = len(made.variants) / (time.perf_counter() - start)

    print(f"one `symgrad solve` of the 2-2-1 problem: {solve:.2f} s (median of {max(args.runs, 5)})")
    print(f"`symgrad variants -n {args.n}` ({files} files): {variants:.2f} s "
          f"(median of {args.runs}: {', '.join(f'{r:.2f}' for r in runs)}), "
          f"{variants / solve:.1f} times one solve (target: at most 15)")
    print(f"numbers alone (draw, evaluate, screen): {screened:,.0f} draws per second, "
          f"{kept / (batches * sampler.size):.0%} kept (target: 100,000 a second or more)")
    print(f"10,000 variants with their Solutions (solve and compile included): "
          f"{with_solutions:,.0f} variants per second")
    print(f"cores: {os.cpu_count()}")


if __name__ == "__main__":
    main()
