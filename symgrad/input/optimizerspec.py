"""`[optimizer]`: the optimizer that takes the steps, with PyTorch's names and defaults.

    name = "sgd"      lr, momentum = 0, dampening = 0, nesterov = false, weight_decay = 0
    name = "rmsprop"  lr, alpha = 0.99, eps = 1e-8, momentum = 0, weight_decay = 0
    name = "adam"     lr, betas = [0.9, 0.999], eps = 1e-8, weight_decay = 0 (amsgrad off)
    steps = 1 ... 20  (all on the same data)

lr defaults to the problem's learning_rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from symgrad.input import limits
from symgrad.input.entries import Reader, is_number

NAMES = ("sgd", "rmsprop", "adam")


@dataclass(frozen=True)
class OptimizerSpec:
    name: str
    lr: float
    steps: int = 1
    momentum: float = 0.0
    dampening: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    alpha: float = 0.99  # RMSprop's smoothing constant
    eps: float = 1e-8
    betas: tuple[float, float] = (0.9, 0.999)


def fraction(reader: Reader, key: str, default: float, below_one: bool = True) -> float:
    value = reader.table.get(key, default)
    if not is_number(value) or value < 0 or (below_one and value >= 1):
        reader.fail(key, f"expected a number from 0 to {'below 1' if below_one else 'up'}, got {value!r}")
    return float(value)


def read_optimizer(top: Reader, learning_rate: float | None) -> OptimizerSpec | None:
    if "optimizer" not in top.table:
        return None
    opt = top.table_at("optimizer", {"name", "lr", "steps", "momentum", "dampening", "nesterov",
                                     "weight_decay", "alpha", "eps", "betas", "amsgrad"})
    name = opt.string("name")
    if name not in NAMES:
        opt.fail("name", f"expected {' | '.join(NAMES)}, got {name!r}")
    lr = opt.number("lr", positive=True)
    if lr is None:
        lr = learning_rate
    if lr is None:
        opt.fail("lr", "expected the learning rate (here, or as the problem's learning_rate)")
    steps = opt.integer("steps") if "steps" in opt.table else 1
    limits.at_most(opt.source, opt.where("steps"), "steps", steps, limits.STEPS)
    own = {"sgd": {"momentum", "dampening", "nesterov"}, "rmsprop": {"alpha", "eps", "momentum"},
           "adam": {"betas", "eps", "amsgrad"}}[name]
    common = {"name", "lr", "steps", "weight_decay"}
    stray = [k for k in opt.table if k not in own | common]
    if stray:
        opt.fail(stray[0], f"{name} takes no {stray[0]} (it takes: {', '.join(sorted(own | common))})")
    if opt.table.get("amsgrad", False) is not False:
        opt.fail("amsgrad", "amsgrad is not supported: expected false")
    nesterov = opt.table.get("nesterov", False)
    if not isinstance(nesterov, bool):
        opt.fail("nesterov", f"expected true or false, got {nesterov!r}")
    momentum = fraction(opt, "momentum", 0.0)
    dampening = fraction(opt, "dampening", 0.0, below_one=False)
    if nesterov and (momentum <= 0 or dampening != 0):
        opt.fail("nesterov", "Nesterov momentum needs a momentum > 0 and dampening = 0 (as PyTorch)")
    betas = opt.table.get("betas", [0.9, 0.999])
    if not (isinstance(betas, list) and len(betas) == 2 and all(is_number(b) and 0 <= b < 1 for b in betas)):
        opt.fail("betas", f"expected [β1, β2], each from 0 to below 1, got {betas!r}")
    eps = opt.number("eps", positive=True)
    return OptimizerSpec(
        name=name, lr=float(lr), steps=steps, momentum=momentum, dampening=dampening, nesterov=nesterov,
        weight_decay=fraction(opt, "weight_decay", 0.0, below_one=False),
        alpha=fraction(opt, "alpha", 0.99), eps=float(eps) if eps is not None else 1e-8,
        betas=(float(betas[0]), float(betas[1])),
    )
