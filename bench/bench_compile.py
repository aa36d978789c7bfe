"""Compiled evaluation: samples per second through `symgrad.compile` for a 3-4-2 network.

    python bench/bench_compile.py

The function is compiled once (straight-line numpy code: forward pass, backward sweep, results);
each call evaluates the loss, every gradient and the update for a batch of 10,000 inputs.
"""

from __future__ import annotations

import time

import numpy as np

import symgrad

NET = {
    "network": {
        "inputs": 3, "loss": "half_squared_error", "learning_rate": 0.1,
        "layer": [
            {"units": 4, "activation": "sigmoid", "weights": [[0.1 * (i + j) - 0.3 for j in range(3)] for i in range(4)],
             "biases": [0.1, -0.1, 0.2, 0.0]},
            {"units": 2, "activation": "sigmoid", "weights": [[0.05 * (i - j) for j in range(4)] for i in range(2)],
             "biases": [0.05, -0.05]},
        ],
    },
    "data": {"x": [0.5, -1.0, 2.0], "y": [0.2, 0.7]},
    "ask": {"update": True},
}


def main() -> None:
    start = time.perf_counter()
    f = symgrad.compile(NET)
    compiled = time.perf_counter() - start
    rng = np.random.default_rng(0)
    batch = {f"x[{j}]": rng.normal(size=10_000) for j in (1, 2, 3)}
    f(batch)  # warm up
    runs = 50
    start = time.perf_counter()
    for _ in range(runs):
        out = f(batch)
    seconds = (time.perf_counter() - start) / runs
    print(f"compile (solve + lambdify): {compiled:.2f} s")
    print(f"batch of 10,000: {seconds * 1000:.2f} ms, {10_000 / seconds:,.0f} samples per second "
          f"({len(out['gradients'])} gradients and {len(out['updated'])} updates each)")


if __name__ == "__main__":
    main()
