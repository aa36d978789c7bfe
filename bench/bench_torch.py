"""Benchmark: symgrad.from_torch against PyTorch's autograd over many random stacks.

    python bench/bench_torch.py [--cases 200] [--seed 1000]

Each case is a random network of tests/test_torch.py (dense with batch norm and dropout, conv1d
or conv2d with pooling, or an rnn; a random loss; an optimizer over 1 to 3 steps, or none),
solved from its TOML and held against torch in float64.  Prints the cases by family, loss and
optimizer, the largest relative difference of any loss, gradient or updated parameter, the cases
over 1e-9, and the time symgrad and torch took.  Needs torch (pip install 'symgrad[torch]').
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import torch  # noqa: E402

from test_torch import RTOL, compare, random_stack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1000, help="the first case's seed")
    args = parser.parse_args()
    torch.set_default_dtype(torch.float64)
    counts: collections.Counter[str] = collections.Counter()
    worst, over, errors = 0.0, [], []
    start = time.perf_counter()
    for seed in range(args.seed, args.seed + args.cases):
        model, x, y, loss, optimizer, steps, masks = random_stack(seed)
        kinds = {type(m).__name__ for m in model}
        counts["family " + ["dense", "conv1d", "conv2d", "rnn"][seed % 4]] += 1
        counts.update(f"layer {k}" for k in kinds)
        counts[f"loss {type(loss).__name__} ({loss.reduction})"] += 1
        counts[f"optimizer {type(optimizer).__name__ if optimizer else 'none'}"] += 1
        counts["batch of one" if x.shape[0] == 1 else "mini-batch"] += 1
        try:
            _, deviation = compare(model, x, y, loss, optimizer, steps, masks)
        except Exception as error:  # noqa: BLE001 - counted and shown
            errors.append((seed, f"{type(error).__name__}: {error}"))
            continue
        worst = max(worst, deviation)
        if deviation > RTOL:
            over.append((seed, deviation))
    elapsed = time.perf_counter() - start
    for key in sorted(counts):
        print(f"{counts[key]:6d}  {key}")
    print(f"{args.cases} cases in {elapsed:.1f} s ({elapsed / args.cases * 1000:.0f} ms a case, "
          "symgrad and torch)")
    print(f"largest relative difference: {worst:.2e} (bound {RTOL:g}); over it: {len(over)}; errors: {len(errors)}")
    for seed, deviation in over[:10]:
        print(f"  seed {seed}: {deviation:.2e}")
    for seed, message in errors[:10]:
        print(f"  seed {seed}: {message[:200]}")
    if over or errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
