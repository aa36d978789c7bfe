"""The layers beyond the dense one, read from `[[network.layer]]` tables with a `type`.

    type = "conv1d" | "conv2d"   out_channels, kernel, stride, padding, weights, biases, activation
    type = "maxpool" | "avgpool" kernel, stride (1-D or 2-D from the shape it gets)
    type = "flatten"
    type = "rnn"                 units, activation (tanh | relu), weights, recurrent, biases,
                                 recurrent_biases, h0; its input is the whole sequence
    type = "batchnorm"           gamma, beta, epsilon; statistics of the mini-batch (training mode)
    type = "dropout"             p, mask (a 0/1 entry per value, per example)
    type = "activation"          activation, on every value it gets

Each reader knows the shape that comes in, (features,), (channels, length) or (channels,
height, width), and returns the shape that goes out, so that a weight list of the wrong size is
reported where it stands.  Numbers stay numbers here; `engine.layers` builds the nodes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from symgrad.errors import ProblemError
from symgrad.input import limits
from symgrad.input.entries import Reader, Value, entry, matrix, symbolic_or_vector, vector

Shape = tuple[int, ...]
Tensor = dict[tuple[int, ...], Value]  # 1-based index ↦ entry

KINDS = ("dense", "conv1d", "conv2d", "maxpool", "avgpool", "flatten", "rnn", "batchnorm",
         "dropout", "activation")


@dataclass(frozen=True)
class ConvSpec:
    kind: str  # conv1d | conv2d
    channels: int  # out
    kernel: Shape
    stride: Shape
    padding: Shape
    activation: str
    weights: Tensor | None  # K[c_out, c_in, i(, j)]
    biases: tuple[Value, ...] | None
    shape_in: Shape
    shape: Shape  # out: (channels, length) or (channels, height, width)
    negative_slope: float | None = None


@dataclass(frozen=True)
class PoolSpec:
    kind: str  # maxpool | avgpool
    kernel: Shape
    stride: Shape
    shape_in: Shape
    shape: Shape


@dataclass(frozen=True)
class FlattenSpec:
    shape_in: Shape
    shape: Shape
    kind: str = "flatten"


@dataclass(frozen=True)
class RNNSpec:
    units: int
    activation: str  # tanh | relu
    weights: tuple[tuple[Value, ...], ...] | None  # W[i, j], input j to unit i
    recurrent: tuple[tuple[Value, ...], ...] | None  # U[i, k], h_{t-1, k} to unit i
    biases: tuple[Value, ...] | None
    recurrent_biases: tuple[Value, ...] | None
    h0: tuple[Value, ...]
    steps: int  # the sequence's length T
    shape_in: Shape  # (T, features)
    shape: Shape  # (units,): the last step's hidden state goes on
    kind: str = "rnn"


@dataclass(frozen=True)
class BatchNormSpec:
    gamma: tuple[Value, ...]
    beta: tuple[Value, ...]
    epsilon: float
    shape_in: Shape
    shape: Shape
    kind: str = "batchnorm"


@dataclass(frozen=True)
class DropoutSpec:
    p: float
    mask: tuple[tuple[int, ...], ...]  # per example, the values in C order
    shape_in: Shape
    shape: Shape
    kind: str = "dropout"


@dataclass(frozen=True)
class ActivationSpec:
    activation: str
    shape_in: Shape
    shape: Shape
    negative_slope: float | None = None
    kind: str = "activation"


def size(shape: Shape) -> int:
    return math.prod(shape)


def indices(shape: Shape) -> list[tuple[int, ...]]:
    """Every 1-based index of a shape, in C order (the last index fastest, as PyTorch stores)."""
    out: list[tuple[int, ...]] = [()]
    for n in shape:
        out = [i + (k,) for i in out for k in range(1, n + 1)]
    return out


def nested(source: str, field: str, value: object, shape: Shape, what: str) -> Tensor:
    """A nested list of the given shape, entry by entry (numbers or names)."""
    def walk(v: object, depth: int, at: tuple[int, ...]) -> None:
        if depth == len(shape):
            table[at] = entry(source, field + "".join(f"[{k}]" for k in at), v)
            return
        if not isinstance(v, list) or len(v) != shape[depth]:
            got = f"{len(v)} entries" if isinstance(v, list) else repr(v)
            where = field + "".join(f"[{k}]" for k in at)
            raise ProblemError(source, where, f"expected {what} of shape "
                               f"{' × '.join(map(str, shape))}: a list of {shape[depth]}, got {got}")
        for k, item in enumerate(v, 1):
            walk(item, depth + 1, at + (k,))

    table: Tensor = {}
    walk(value, 0, ())
    return table


def pair(reader: Reader, key: str, dims: int, default: int | None, least: int) -> Shape:
    """A size given as one whole number or one per dimension (kernel = 3 or [3, 2])."""
    raw = reader.table.get(key, default)
    values = [raw] * dims if isinstance(raw, int) and not isinstance(raw, bool) else raw
    if not (isinstance(values, list) and len(values) == dims and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= least for v in values)):
        each = "a whole number" + (" ≥ 0" if least == 0 else " ≥ 1")
        reader.fail(key, f"expected {each}, or a list of {dims} of them, got {raw!r}")
    return tuple(values)


def spatial(reader: Reader, shape_in: Shape, kind: str) -> int:
    """1 or 2 spatial dimensions, from the layer's name or the shape it gets."""
    dims = {"conv1d": 1, "conv2d": 2}.get(kind, len(shape_in) - 1)
    if len(shape_in) != dims + 1 or dims not in (1, 2):
        wanted = {1: "(channels, length)", 2: "(channels, height, width)"}.get(dims, "(channels, length) or (channels, height, width)")
        reader.fail("type", f"{kind} expects values of shape {wanted}, but gets shape "
                    f"{' × '.join(map(str, shape_in))} (set network.inputs to a list such as [1, 6, 6])")
    return dims


def out_size(n: int, kernel: int, stride: int, padding: int) -> int:
    return (n + 2 * padding - kernel) // stride + 1


def read_conv(reader: Reader, kind: str, shape_in: Shape, activation: str, slope: float | None) -> ConvSpec:
    dims = spatial(reader, shape_in, kind)
    channels = reader.integer("out_channels")
    limits.at_most(reader.source, reader.where("out_channels"), "channels", channels, limits.UNITS)
    kernel = pair(reader, "kernel", dims, None, 1)
    stride = pair(reader, "stride", dims, 1, 1)
    padding = pair(reader, "padding", dims, 0, 0)
    sizes = tuple(out_size(n, k, s, p) for n, k, s, p in zip(shape_in[1:], kernel, stride, padding))
    if any(n < 1 for n in sizes):
        reader.fail("kernel", f"the kernel {list(kernel)} does not fit the input "
                    f"{list(shape_in[1:])} with padding {list(padding)}")
    weights = reader.table.get("weights")
    kernel_shape = (channels, shape_in[0], *kernel)
    return ConvSpec(
        kind, channels, kernel, stride, padding, activation,
        None if weights is None else nested(reader.source, reader.where("weights"), weights,
                                            kernel_shape, "a kernel [c_out][c_in][i]" + ("[j]" if dims == 2 else "")),
        read_biases(reader, channels), shape_in, (channels, *sizes), slope,
    )


def read_pool(reader: Reader, kind: str, shape_in: Shape) -> PoolSpec:
    dims = spatial(reader, shape_in, kind)
    kernel = pair(reader, "kernel", dims, None, 1)
    stride = pair(reader, "stride", dims, None, 1) if "stride" in reader.table else kernel
    sizes = tuple(out_size(n, k, s, 0) for n, k, s in zip(shape_in[1:], kernel, stride))
    if any(n < 1 for n in sizes):
        reader.fail("kernel", f"the window {list(kernel)} does not fit the input {list(shape_in[1:])}")
    return PoolSpec(kind, kernel, stride, shape_in, (shape_in[0], *sizes))


def read_biases(reader: Reader, count: int, key: str = "biases") -> tuple[Value, ...] | None:
    return symbolic_or_vector(reader.source, reader.where(key), reader.table.get(key), count)


def read_matrix(reader: Reader, key: str, rows: int, cols: int) -> tuple[tuple[Value, ...], ...] | None:
    value = reader.table.get(key)
    return None if value is None else matrix(reader.source, reader.where(key), value, rows, cols, "out_in")


def read_rnn(reader: Reader, shape_in: Shape, activation: str, first: bool) -> RNNSpec:
    if not first or len(shape_in) != 2:
        reader.fail("type", "an rnn layer must come first, fed by the sequence: set "
                    "network.inputs = [steps, features]")
    if activation not in ("tanh", "relu"):
        reader.fail("activation", f'an rnn cell is "tanh" or "relu", got {activation!r}')
    units = reader.integer("units")
    limits.at_most(reader.source, reader.where("units"), "units", units, limits.UNITS)
    steps, features = shape_in
    h0 = reader.table.get("h0")
    return RNNSpec(
        units, activation,
        read_matrix(reader, "weights", units, features),
        read_matrix(reader, "recurrent", units, units),
        read_biases(reader, units), read_biases(reader, units, "recurrent_biases"),
        (0,) * units if h0 is None else vector(reader.source, reader.where("h0"), h0, units, "initial states"),
        steps, shape_in, (units,),
    )


def read_batchnorm(reader: Reader, shape_in: Shape, batch: int) -> BatchNormSpec:
    if len(shape_in) != 1:
        reader.fail("type", "batchnorm normalises features: put it after a dense layer or a flatten")
    if batch < 2:
        reader.fail("type", "batchnorm in training mode needs a mini-batch of at least 2 examples in [data] x")
    n = shape_in[0]
    gamma, beta = reader.table.get("gamma"), reader.table.get("beta")
    epsilon = reader.number("epsilon", positive=True)
    return BatchNormSpec(
        (1,) * n if gamma is None else vector(reader.source, reader.where("gamma"), gamma, n, "scales γ"),
        (0,) * n if beta is None else vector(reader.source, reader.where("beta"), beta, n, "shifts β"),
        1e-5 if epsilon is None else epsilon, shape_in, shape_in,
    )


def read_dropout(reader: Reader, shape_in: Shape, batch: int) -> DropoutSpec:
    p = reader.number("p")
    if p is None or not 0 <= p < 1:
        reader.fail("p", f"expected the drop probability, 0 ≤ p < 1, got {reader.table.get('p')!r}")
    raw = reader.table.get("mask")
    if raw is None:
        reader.fail("mask", "expected the dropout mask (0 drops a value, 1 keeps it), one per value"
                    + (" of each example" if batch else ""))
    shape = ((batch,) if batch else ()) + shape_in
    table = nested(reader.source, reader.where("mask"), raw, shape, "a 0/1 mask")
    bad = [at for at, v in table.items() if v not in (0, 1) or isinstance(v, bool)]
    if bad:
        reader.fail("mask" + "".join(f"[{k}]" for k in bad[0]), f"expected 0 or 1, got {table[bad[0]]!r}")
    flat = [int(table[at]) for at in indices(shape)]  # type: ignore[arg-type]
    per = size(shape_in)
    mask = tuple(tuple(flat[n * per:(n + 1) * per]) for n in range(max(batch, 1)))
    return DropoutSpec(p, mask, shape_in, shape_in)
