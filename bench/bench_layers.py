"""Benchmark: a mini-batch of 8 through conv(1→2, 3×3) + ReLU + max pooling + linear on a 6×6
input: derived, certified and rendered to .tex (issue 21's target: at most 10 s).

    python bench/bench_layers.py [--batch 8] [--repeat 3]

Prints the time of each stage (build and solve, the worked layer forms, the .tex), best of the repeats.
"""

from __future__ import annotations

import argparse
import random
import time

from symgrad.analyses.sheet import sheet_of
from symgrad.engine.solution import solve_spec
from symgrad.input.spec import read_problem
from symgrad.output.render import render_sheet


def problem(batch: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    r = lambda: round(rng.uniform(-1, 1), 2)  # noqa: E731
    return {
        "title": f"A convolutional network on a batch of {batch}",
        "network": {
            "inputs": [1, 6, 6], "loss": "half_squared_error", "learning_rate": 0.1,
            "layer": [
                {"type": "conv2d", "out_channels": 2, "kernel": 3, "activation": "relu",
                 "weights": [[[[r() for _ in range(3)] for _ in range(3)]] for _ in range(2)],
                 "biases": [r(), r()]},
                {"type": "maxpool", "kernel": 2},
                {"type": "flatten"},
                {"units": 1, "activation": "identity", "weights": [[r() for _ in range(8)]], "biases": [r()]},
            ],
        },
        "data": {"x": [[[[r() for _ in range(6)] for _ in range(6)]] for _ in range(batch)],
                 "y": [[r()] for _ in range(batch)]},
        "ask": {"update": True},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    best: dict[str, float] = {}
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        solution = solve_spec(read_problem(problem(args.batch), "bench"))
        t1 = time.perf_counter()
        sheet = sheet_of(solution)
        t2 = time.perf_counter()
        tex = render_sheet(sheet)
        t3 = time.perf_counter()
        for stage, seconds in (("solve (derive, certify)", t1 - t0), ("layer forms", t2 - t1),
                               (".tex", t3 - t2), ("total", t3 - t0)):
            best[stage] = min(best.get(stage, seconds), seconds)
    print(f"batch {args.batch}: {len(solution.graph.nodes)} nodes, {len(solution.gradients)} gradients, "
          f"{len(tex) // 1000} kB of .tex")
    for stage, seconds in best.items():
        print(f"  {stage:26s} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
