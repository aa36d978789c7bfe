"""Problem files (TOML) read into validated, frozen specs: numbers, names and options, no sympy.

Every check names the file, the field and what was expected, so that a bad problem file gives
one clear line.  Expressions stay strings here; `build` parses them with the safe parser.
"""

from __future__ import annotations

import os
import re
import tomllib

import sympy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from symgrad.input import limits
from symgrad.input.entries import (  # noqa: F401  (re-exported: the readers of one entry)
    IDENTIFIER, Reader, Value, entry, is_number, matrix, shape_of, symbolic_or_vector, vector,
)
from symgrad.calculus.activations import ACTIVATIONS
from symgrad.errors import ProblemError
from symgrad.calculus.losses import LOSSES
from symgrad.input.layerspec import (
    KINDS, ActivationSpec, BatchNormSpec, ConvSpec, DropoutSpec, FlattenSpec, PoolSpec, RNNSpec, Shape,
    indices, nested, read_batchnorm, read_conv, read_dropout, read_pool, read_rnn, size,
)
from symgrad.input.optimizerspec import OptimizerSpec, read_optimizer
from symgrad.input.torchmodel import TorchNames, read_torch

OUTPUT = re.compile(r"yhat[0-9]*\Z")
# Names that may stand for an unspecified activation g(z): one letter or a Greek letter, so
# that a misspelt "sigmod" is reported instead of silently becoming an unknown function.
GREEK = {
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
    "mu", "nu", "xi", "rho", "sigma", "tau", "upsilon", "phi", "varphi", "chi", "psi", "omega",
}  # fmt: skip
UNSPECIFIED_ACTIVATION = re.compile(r"(?:[A-Za-z]|%s)[0-9]*\Z" % "|".join(sorted(GREEK)))


@dataclass(frozen=True)
class LayerSpec:
    units: int
    activation: str
    weights: tuple[tuple[Value, ...], ...] | None  # always [into unit i][from unit j]
    biases: tuple[Value, ...] | None
    negative_slope: float | None = None  # leaky_relu's α
    kind: str = "dense"


Layer = LayerSpec | ConvSpec | PoolSpec | FlattenSpec | RNNSpec | BatchNormSpec | DropoutSpec | ActivationSpec


@dataclass(frozen=True)
class NetworkSpec:
    inputs: int  # the values of one example (the product of `shape`)
    layers: tuple[Layer, ...]
    loss: str | None
    learning_rate: float | None
    l2: float | None
    layout: str = "out_in"  # how the file writes weight matrices (a student may write them so)
    shape: Shape = ()  # one example's input: (features,), (channels, length), (channels, h, w), (steps, features)
    batch: int = 0  # examples in [data] x; 0: one example, named without an example index
    reduction: str = "mean"  # of the per-example losses of a mini-batch

    @property
    def plain(self) -> bool:
        """Dense layers on one example: the network the matrix form, figures and check read."""
        return self.batch == 0 and all(isinstance(layer, LayerSpec) for layer in self.layers)

    @property
    def outputs(self) -> int:
        return size(self.layers[-1].shape) if not isinstance(self.layers[-1], LayerSpec) else self.layers[-1].units


@dataclass(frozen=True)
class GraphSpec:
    output: str
    define: tuple[tuple[str, str], ...]  # (name, expression), in file order
    learning_rate: float | None


@dataclass(frozen=True)
class AskSpec:
    gradients: tuple[str, ...] | None  # None: the default set
    update: bool


@dataclass(frozen=True)
class ProblemSpec:
    title: str
    source: str  # the file name used in messages
    network: NetworkSpec | None
    graph: GraphSpec | None
    data: dict[str, Value | tuple[Value, ...]]
    ask: AskSpec
    at: str = ""  # where in the file it sits ("question[2]"), for messages
    optimizer: OptimizerSpec | None = None
    torch: TorchNames | None = None  # [torch]: the PyTorch names of the parameters (from_torch)

    def field(self, key: str) -> str:
        return f"{self.at}.{key}" if self.at else key


# sympy's names for the functions the safe parser knows in lower case
SYMPY_NAMES = {"Abs": "abs", "Max": "max", "Min": "min"}


def expression_text(value: object) -> str | None:
    """An expression as text for the safe parser: a string as it is, or a sympy expression
    (from Python) written out, so that both go through the same checks."""
    if isinstance(value, str):
        return value
    if isinstance(value, sympy.Basic) and isinstance(value, sympy.Expr):
        text = sympy.sstr(value, order="none")
        for name, ours in SYMPY_NAMES.items():
            text = re.sub(rf"\b{name}\(", f"{ours}(", text)
        return text
    return None


def read_activation(reader: Reader, key: str) -> str:
    name = reader.string(key, "identity")
    assert name is not None
    if name in ACTIVATIONS or UNSPECIFIED_ACTIVATION.match(name):
        return name
    known = " | ".join(ACTIVATIONS)
    reader.fail(
        key,
        f"unknown activation {name!r}: expected {known}, or a one-letter or Greek-letter name "
        "(g, phi) for an unspecified function",
    )


def read_shape(net: Reader) -> Shape:
    """network.inputs: a number of features, or a list (channels, length), (channels, height,
    width) or, before an rnn, (steps, features)."""
    raw = net.table.get("inputs")
    if isinstance(raw, list):
        if not 1 <= len(raw) <= 3 or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in raw):
            net.fail("inputs", f"expected a whole number, or a list of 1 to 3 sizes such as [1, 6, 6], got {raw!r}")
        shape = tuple(raw)
    else:
        shape = (net.integer("inputs"),)
    limits.at_most(net.source, net.where("inputs"), "inputs", size(shape), limits.UNITS)
    return shape


def batch_size(source: str, raw_data: object, shape: Shape) -> int:
    """The number of examples when [data] x holds a mini-batch (one more level of lists than one
    example has), or 0 for one example."""
    x = raw_data.get("x") if isinstance(raw_data, dict) else None
    depth, v = 0, x
    while isinstance(v, list) and v:
        depth, v = depth + 1, v[0]
    if x is None or depth <= len(shape):
        return 0
    limits.at_most(source, "data.x", "examples of a mini-batch", len(x), limits.BATCH)
    return len(x)


def read_network(source: str, top: Reader) -> NetworkSpec:
    net = top.table_at(
        "network", {"inputs", "loss", "learning_rate", "layout", "layer", "l2", "reduction"}
    )
    shape = read_shape(net)
    batch = batch_size(source, top.table.get("data"), shape)
    layout = net.string("layout", "out_in")
    if layout not in ("out_in", "in_out"):
        net.fail("layout", f'expected "out_in" or "in_out", got {layout!r}')
    reduction = net.string("reduction", "mean")
    if reduction not in ("mean", "sum"):
        net.fail("reduction", f'expected "mean" or "sum" (of the mini-batch\'s losses), got {reduction!r}')
    loss = expression_text(net.table.get("loss"))
    if "loss" in net.table and loss is None:
        net.fail("loss", f"expected a loss name or an expression, got {net.table['loss']!r}")
    # a bare output name (loss = "yhat1": the output itself as objective) is an expression
    if loss is not None and IDENTIFIER.match(loss) and loss not in LOSSES and not OUTPUT.match(loss):
        net.fail(
            "loss",
            f"unknown loss {loss!r}: expected {' | '.join(LOSSES)}, or an expression in "
            "yhat1.., y1..",
        )
    raw_layers = net.table.get("layer")
    if not isinstance(raw_layers, list) or not raw_layers:
        net.fail("layer", "expected at least one [[network.layer]] table")
    limits.at_most(source, net.where("layer"), "layers", len(raw_layers), limits.LAYERS)
    layers: list[Layer] = []
    parameters = 0
    values = size(shape)  # per example, after each layer: bounds the graph's size
    for n, raw in enumerate(raw_layers, start=1):  # type: ignore[arg-type]
        if not isinstance(raw, dict):
            net.fail(f"layer[{n}]", "expected a table")
        layer = read_layer(source, raw, f"network.layer[{n}]", shape, layout, batch, first=n == 1)
        layers.append(layer)
        parameters += layer_parameters(layer, shape)
        limits.at_most(source, f"network.layer[{n}]", "weights and biases up to this layer",
                       parameters, limits.PARAMETERS)
        shape = layer.shape if not isinstance(layer, LayerSpec) else (layer.units,)
        values += size(shape) * (layer.steps if isinstance(layer, RNNSpec) else 1)
        limits.at_most(source, f"network.layer[{n}]", "values computed up to this layer, times "
                       "the examples", values * max(batch, 1), limits.VALUES)
    last = layers[-1]
    if loss == "cross_entropy" and getattr(last, "activation", None) != "softmax":
        net.fail("loss", "cross_entropy needs a softmax output layer (use bce for sigmoid units)")
    if len(shape) != 1 and net.table.get("loss") is not None:
        net.fail("layer", "the last layer must give a vector for the loss: end with a flatten or a dense layer")
    return NetworkSpec(
        inputs=size(read_shape(net)),
        layers=tuple(layers),
        loss=loss,
        learning_rate=net.number("learning_rate"),
        l2=net.number("l2"),
        layout=layout,
        shape=read_shape(net),
        batch=batch,
        reduction=reduction,
    )


def layer_parameters(layer: Layer, shape_in: Shape) -> int:
    if isinstance(layer, LayerSpec):
        return layer.units * (size(shape_in) + 1)
    if isinstance(layer, ConvSpec):
        return layer.channels * (layer.shape_in[0] * size(layer.kernel) + 1)
    if isinstance(layer, RNNSpec):
        return layer.units * (layer.shape_in[1] + layer.units + 2)
    if isinstance(layer, BatchNormSpec):
        return 2 * layer.shape[0]
    return 0


def read_layer(source: str, raw: dict[str, Any], where: str, shape: Shape, layout: str, batch: int,
               first: bool) -> Layer:
    kind = raw.get("type", "dense")
    if kind not in KINDS:
        Reader(source, raw, where, None).fail("type", f"unknown layer type {kind!r}: expected {' | '.join(KINDS)}")
    allowed = {
        "dense": {"units", "activation", "weights", "biases", "negative_slope"},
        "conv1d": {"out_channels", "kernel", "stride", "padding", "activation", "weights", "biases", "negative_slope"},
        "maxpool": {"kernel", "stride"},
        "flatten": set(),
        "rnn": {"units", "activation", "weights", "recurrent", "biases", "recurrent_biases", "h0"},
        "batchnorm": {"gamma", "beta", "epsilon"},
        "dropout": {"p", "mask"},
        "activation": {"activation", "negative_slope"},
    }
    allowed["conv2d"], allowed["avgpool"] = allowed["conv1d"], allowed["maxpool"]
    layer = Reader(source, raw, where, allowed[kind] | {"type"})
    activation = read_activation(layer, "activation")
    slope = layer.number("negative_slope")
    if slope is not None and activation != "leaky_relu":
        layer.fail("negative_slope", "only a leaky_relu layer takes a negative_slope")
    if activation == "softmax" and kind not in ("dense", "activation"):
        layer.fail("activation", "softmax acts on a vector: give it to a dense layer or an activation layer")
    if kind == "dense":
        if len(shape) != 1:
            layer.fail("type", f"a dense layer takes a vector, but gets shape {' × '.join(map(str, shape))}: "
                       'put a layer of type = "flatten" before it')
        units = layer.integer("units")
        limits.at_most(source, layer.where("units"), "units", units, limits.UNITS)
        weights, biases = raw.get("weights"), raw.get("biases")
        return LayerSpec(
            units=units,
            activation=activation,
            weights=None if weights is None else matrix(source, layer.where("weights"), weights, units, shape[0], layout),
            biases=symbolic_or_vector(source, layer.where("biases"), biases, units),
            negative_slope=slope,
        )
    if kind in ("conv1d", "conv2d"):
        return read_conv(layer, kind, shape, activation, slope)
    if kind in ("maxpool", "avgpool"):
        return read_pool(layer, kind, shape)
    if kind == "flatten":
        return FlattenSpec(shape, (size(shape),))
    if kind == "rnn":
        return read_rnn(layer, shape, activation if "activation" in raw else "tanh", first)
    if kind == "batchnorm":
        return read_batchnorm(layer, shape, batch)
    if kind == "dropout":
        return read_dropout(layer, shape, batch)
    if activation == "softmax" and len(shape) != 1:
        layer.fail("activation", "softmax acts on a vector: flatten first")
    return ActivationSpec(activation, shape, shape, slope)


def read_graph(source: str, top: Reader) -> GraphSpec:
    graph = top.table_at("graph", {"output", "define", "learning_rate"})
    output = graph.string("output")
    if output is None or not IDENTIFIER.match(output):
        graph.fail("output", f"expected the name of a defined variable, got {output!r}")
    define = graph.table_at("define", None)  # the variables are the file's own names
    limits.at_most(source, define.path, "variables", len(define.table), limits.VARIABLES)
    pairs: list[tuple[str, str]] = []
    for name, text in define.table.items():
        if not IDENTIFIER.match(name):
            define.fail(name, "expected a variable name (letters, digits, _)")
        written = expression_text(text)
        if written is None:
            define.fail(name, f"expected an expression in quotes, got {text!r}")
        pairs.append((name, written))
    if output not in dict(pairs):
        graph.fail("output", f"{output!r} is not defined under [graph.define]")
    return GraphSpec(output=output, define=tuple(pairs), learning_rate=graph.number("learning_rate"))


def read_data(source: str, top: Reader, network: NetworkSpec | None) -> dict[str, Any]:
    raw = top.table.get("data", {})
    if not isinstance(raw, dict):
        top.fail("data", "expected a table")
    data: dict[str, Value | tuple[Value, ...]] = {}
    if network is not None:
        where = Reader(source, raw, top.where("data"), {"x", "y"}).where
        examples = (network.batch,) if network.batch else ()
        for key, shape, what in (("x", network.shape, "inputs"), ("y", (network.outputs,), "targets")):
            if key not in raw:
                continue
            if len(shape) == 1 and not examples:  # one example's vector, as always
                data[key] = vector(source, where(key), raw[key], shape[0], what)
                continue
            full = examples + shape
            table = nested(source, where(key), raw[key], full, what)
            data[key] = tuple(table[at] for at in indices(full))  # flat, in C order
        return data
    for name, value in raw.items():
        data[name] = entry(source, f"{top.where('data')}.{name}", value)
    return data


def read_ask(top: Reader) -> AskSpec:
    raw = top.table.get("ask", {})
    if not isinstance(raw, dict):
        top.fail("ask", "expected a table")
    ask = Reader(top.source, raw, top.where("ask"), {"gradients", "update"})
    gradients = raw.get("gradients")
    if gradients is not None and not (
        isinstance(gradients, list) and all(isinstance(g, str) for g in gradients)
    ):
        ask.fail("gradients", 'expected a list of names such as ["W2[1,1]", "b1[2]"]')
    update = raw.get("update", False)
    if not isinstance(update, bool):
        ask.fail("update", f"expected true or false, got {update!r}")
    return AskSpec(gradients=None if gradients is None else tuple(gradients), update=update)


def read_problem(data: dict[str, Any], source: str = "<problem>", at: str = "") -> ProblemSpec:
    """Validate a parsed TOML document (or, `at` a dotted path, one question of a sheet)."""
    if not at:  # a whole document (a file's was checked as it was read; a dict from Python was not)
        limits.check_plain_data(data, source)
    top = Reader(source, data, at, {"title", "network", "graph", "data", "ask", "optimizer", "torch"})
    if ("network" in data) == ("graph" in data):
        raise ProblemError(source, at, "expected exactly one of [network] or [graph]")
    network = read_network(source, top) if "network" in data else None
    graph = read_graph(source, top) if "graph" in data else None
    return ProblemSpec(
        title=top.string("title", Path(source).stem) or "",
        source=source,
        network=network,
        graph=graph,
        data=read_data(source, top, network),
        ask=read_ask(top),
        at=at,
        optimizer=read_optimizer(top, network.learning_rate if network else graph.learning_rate if graph else None),
        torch=read_torch(top),
    )


def read_text(path: str | Path) -> str:
    """A file's text, read with a size bound (a device such as /dev/zero never ends); it must
    be UTF-8.  Every file symgrad reads from a user comes through here."""
    name = str(path)
    if not isinstance(path, (str, os.PathLike)):  # open(5) would read, then close, descriptor 5
        raise ProblemError(name, "", f"expected a file name, got {type(path).__name__}")
    try:
        with open(path, "rb") as handle:
            raw = handle.read(limits.FILE_BYTES + 1)
    except OSError as error:
        raise ProblemError(name, "", f"cannot read the file ({error.strerror})") from None
    if len(raw) > limits.FILE_BYTES:
        raise ProblemError(name, "", f"expected a file of at most {limits.FILE_BYTES} bytes")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ProblemError(
            name, "", f"expected UTF-8 text, found byte 0x{raw[error.start]:02x} at offset {error.start}"
        ) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """A TOML file as a dict, or a ProblemError naming the file; the document is checked
    against the bounds of `limits` before any use."""
    name = str(path)
    text = read_text(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProblemError(name, "", f"not valid TOML: {error}") from None
    except RecursionError:
        raise ProblemError(name, "", f"nested more than {limits.NESTING} levels deep") from None
    except ValueError:  # Python's own limit on converting a very long digit string
        raise ProblemError(
            name, "", f"expected numbers of at most {limits.INTEGER_DIGITS} digits"
        ) from None
    limits.check_plain_data(data, name)
    return data


def load_problem(path: str | Path) -> ProblemSpec:
    """Read and validate a problem file (without solving it)."""
    return read_problem(read_toml(path), str(path))
