"""Benchmark: derive and evaluate every gradient of sigmoid MLPs of growing depth and width.

symgrad's reverse sweep is set beside the naive way (compose the whole loss, then one
`sympy.diff` per parameter, each evaluated by substitution).  The naive column stops once a
run passes its time budget.  The last rows time the whole `symgrad solve --json` process.

    python bench/bench_mlp.py            # the table in the README
    python bench/bench_mlp.py --quick    # smaller sizes only
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time

import sympy

import symgrad
from symgrad.engine.build import build

NAIVE_BUDGET = 20.0  # seconds; once a naive run takes longer, larger networks skip it


def mlp_problem(depth: int, width: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    layers = [
        {
            "units": width,
            "activation": "sigmoid",
            "weights": [[round(rng.uniform(-1, 1), 4) for _ in range(width)] for _ in range(width)],
            "biases": [round(rng.uniform(-1, 1), 4) for _ in range(width)],
        }
        for _ in range(depth)
    ]
    return {
        "title": f"{depth} x {width} sigmoid MLP",
        "network": {"inputs": width, "loss": "half_squared_error", "learning_rate": 0.1, "layer": layers},
        "data": {
            "x": [round(rng.uniform(-1, 1), 4) for _ in range(width)],
            "y": [round(rng.uniform(0, 1), 4) for _ in range(width)],
        },
        "ask": {"update": True},
    }


def parameter_count(depth: int, width: int) -> int:
    return depth * (width * width + width)


def time_symgrad(problem: dict) -> float:
    start = time.perf_counter()
    solution = symgrad.solve(symgrad.read_problem(problem))
    solution.to_json()
    elapsed = time.perf_counter() - start
    assert len(solution.gradients) == len(solution.updated)
    return elapsed


def time_naive(problem: dict) -> float:
    """Compose L, then sympy.diff of the whole expression per parameter, evaluated by subs."""
    start = time.perf_counter()
    graph = build(symgrad.read_problem(problem))
    loss = graph.node("L").expr
    for node in reversed(graph.nodes):
        if node.expr is not None and loss.has(node.symbol):
            loss = loss.xreplace({node.symbol: node.expr})
    values = dict(graph.values)
    for name in graph.default_wrt:
        sympy.diff(loss, graph.node(name).symbol).xreplace(values).evalf()
    return time.perf_counter() - start


def time_cli(problem: dict) -> float:
    """The whole process, interpreter start-up and JSON output included."""
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "mlp.toml")
        with open(path, "w") as handle:
            handle.write(to_toml(problem))
        start = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-m", "symgrad", "solve", path, "--json"],
            check=True, capture_output=True, text=True,
        )
        elapsed = time.perf_counter() - start
    assert len(json.loads(out.stdout)["gradients"]) == parameter_count(
        len(problem["network"]["layer"]), problem["network"]["inputs"]
    )
    return elapsed


def to_toml(problem: dict) -> str:
    net = problem["network"]
    lines = [f'title = "{problem["title"]}"', "[network]", f"inputs = {net['inputs']}",
             f'loss = "{net["loss"]}"', f"learning_rate = {net['learning_rate']}"]
    for layer in net["layer"]:
        lines += ["[[network.layer]]", f"units = {layer['units']}", f'activation = "{layer["activation"]}"',
                  f"weights = {layer['weights']}", f"biases = {layer['biases']}"]
    lines += ["[data]", f"x = {problem['data']['x']}", f"y = {problem['data']['y']}", "[ask]", "update = true"]
    return "\n".join(lines) + "\n"


def main() -> None:
    options = argparse.ArgumentParser()
    options.add_argument("--quick", action="store_true")
    args = options.parse_args()
    sizes = [(1, 4), (2, 4), (3, 4), (4, 4), (3, 8), (4, 16), (8, 16), (8, 32), (16, 32), (16, 64)]
    if args.quick:
        sizes = sizes[:5]
    print("| depth × width | parameters | symgrad (s) | naive sympy.diff (s) |")
    print("|---|---|---|---|")
    naive_over = False
    for depth, width in sizes:
        problem = mlp_problem(depth, width)
        ours = time_symgrad(problem)
        naive = "—"
        if not naive_over:
            seconds = time_naive(problem)
            naive = f"{seconds:.2f}"
            naive_over = seconds > NAIVE_BUDGET
        print(f"| {depth} × {width} | {parameter_count(depth, width)} | {ours:.2f} | {naive} |", flush=True)
    if not args.quick:
        print()
        print("| whole process `symgrad solve --json` | parameters | seconds |")
        print("|---|---|---|")
        for depth, width in [(8, 32), (16, 64)]:
            seconds = time_cli(mlp_problem(depth, width))
            print(f"| {depth} × {width} | {parameter_count(depth, width)} | {seconds:.2f} |", flush=True)


if __name__ == "__main__":
    main()
