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
from typing import Any, NoReturn, cast

from symgrad.input import limits
from symgrad.calculus.activations import ACTIVATIONS
from symgrad.errors import ProblemError
from symgrad.calculus.losses import LOSSES

# A weight, bias, input or target: a number, or None/a name to keep it symbolic.
Value = int | float | str | None

IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
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


@dataclass(frozen=True)
class NetworkSpec:
    inputs: int
    layers: tuple[LayerSpec, ...]
    loss: str | None
    learning_rate: float | None
    l2: float | None
    layout: str = "out_in"  # how the file writes weight matrices (a student may write them so)


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

    def field(self, key: str) -> str:
        return f"{self.at}.{key}" if self.at else key


class Reader:
    """Typed access to one TOML table, reporting a wrong field by its dotted path."""

    def __init__(
        self, source: str, table: dict[str, Any], path: str, allowed: set[str] | None
    ) -> None:
        """`allowed`: the keys this table may have; None for a table of the user's own names."""
        self.source, self.table, self.path = source, table, path
        unknown = [key for key in table if allowed is not None and key not in allowed]
        if unknown:
            expected = ", ".join(sorted(allowed or ()))
            self.fail(unknown[0], f"unknown field (expected one of: {expected})")

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, expected: str) -> NoReturn:
        raise ProblemError(self.source, self.where(key), expected)

    def table_at(self, key: str, allowed: set[str] | None) -> Reader:
        value = self.table.get(key)
        if not isinstance(value, dict):
            self.fail(key, "expected a table")
        return Reader(self.source, value, self.where(key), allowed)

    def string(self, key: str, default: str | None = None) -> str | None:
        value = self.table.get(key, default)
        if value is not None and not isinstance(value, str):
            self.fail(key, f"expected a string, got {value!r}")
        return value

    def number(self, key: str, positive: bool = False) -> float | None:
        value = self.table.get(key)
        if value is None:
            return None
        if not is_number(value):
            self.fail(key, f"expected a number, got {value!r}")
        if positive and value <= 0:
            self.fail(key, f"expected a positive number, got {value!r}")
        return value

    def integer(self, key: str) -> int:
        value = self.table.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            self.fail(key, f"expected a positive whole number, got {value!r}")
        return value


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


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def entry(source: str, field: str, value: object) -> Value:
    """One number, or a name that keeps the entry symbolic."""
    if is_number(value):
        return value  # type: ignore[return-value]
    if isinstance(value, str) and IDENTIFIER.match(value):
        return value
    raise ProblemError(
        source, field, f"expected a number, or a name to keep it symbolic, got {value!r}"
    )


def vector(source: str, field: str, value: object, length: int, what: str) -> tuple[Value, ...]:
    if not isinstance(value, list) or len(value) != length:
        got = f"{len(value)} entries" if isinstance(value, list) else repr(value)
        raise ProblemError(source, field, f"expected a list of {length} {what}, got {got}")
    return tuple(entry(source, f"{field}[{k + 1}]", v) for k, v in enumerate(value))


def symbolic_or_vector(source: str, field: str, value: object, units: int) -> tuple[Value, ...] | None:
    """Biases: a list, `true` for symbolic biases, or nothing (omitted or `false`) for none."""
    if value is None or value is False:
        return None
    if value is True:
        return (None,) * units
    return vector(source, field, value, units, "biases (or true for symbolic biases)")


def matrix(
    source: str, field: str, value: object, units: int, fan_in: int, layout: str
) -> tuple[tuple[Value, ...], ...]:
    """The weight matrix as [into unit i][from unit j], whatever the file's layout."""
    rows, cols = (units, fan_in) if layout == "out_in" else (fan_in, units)
    shape_ok = isinstance(value, list) and len(value) == rows and all(
        isinstance(row, list) and len(row) == cols for row in value
    )
    if not shape_ok:
        got = shape_of(value)
        raise ProblemError(
            source,
            field,
            f"expected {rows} rows of {cols} entries ({layout} layout: {units} units fed by "
            f"{fan_in}), got {got}",
        )
    rows_read = cast(list[list[object]], value)  # its shape was checked above
    table = tuple(
        tuple(entry(source, f"{field}[{r + 1}][{c + 1}]", v) for c, v in enumerate(row))
        for r, row in enumerate(rows_read)
    )
    return table if layout == "out_in" else tuple(zip(*table))


def shape_of(value: object) -> str:
    if not isinstance(value, list):
        return repr(value)
    widths = {len(row) if isinstance(row, list) else -1 for row in value}
    if widths == {-1}:
        return f"a flat list of {len(value)}"
    if len(widths) == 1 and -1 not in widths:
        return f"{len(value)} rows of {widths.pop()}"
    return f"{len(value)} rows of unequal length"


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


def read_network(source: str, top: Reader) -> NetworkSpec:
    net = top.table_at(
        "network", {"inputs", "loss", "learning_rate", "layout", "layer", "l2"}
    )
    inputs = net.integer("inputs")
    limits.at_most(source, net.where("inputs"), "inputs", inputs, limits.UNITS)
    layout = net.string("layout", "out_in")
    if layout not in ("out_in", "in_out"):
        net.fail("layout", f'expected "out_in" or "in_out", got {layout!r}')
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
    layers: list[LayerSpec] = []
    parameters = 0
    fan_in = inputs
    for n, raw in enumerate(raw_layers, start=1):  # type: ignore[arg-type]
        if not isinstance(raw, dict):
            net.fail(f"layer[{n}]", "expected a table")
        layer = Reader(
            source,
            raw,
            f"network.layer[{n}]",
            {"units", "activation", "weights", "biases", "negative_slope"},
        )
        units = layer.integer("units")
        limits.at_most(source, layer.where("units"), "units", units, limits.UNITS)
        parameters += units * (fan_in + 1)
        limits.at_most(source, layer.where("units"), "weights and biases up to this layer",
                       parameters, limits.PARAMETERS)
        activation = read_activation(layer, "activation")
        weights = raw.get("weights")
        biases = raw.get("biases")
        slope = layer.number("negative_slope")
        if slope is not None and activation != "leaky_relu":
            layer.fail("negative_slope", "only a leaky_relu layer takes a negative_slope")
        layers.append(
            LayerSpec(
                units=units,
                activation=activation,
                weights=None
                if weights is None
                else matrix(source, layer.where("weights"), weights, units, fan_in, layout),
                biases=symbolic_or_vector(source, layer.where("biases"), biases, units),
                negative_slope=slope,
            )
        )
        fan_in = units
    if loss == "cross_entropy" and layers[-1].activation != "softmax":
        net.fail("loss", "cross_entropy needs a softmax output layer (use bce for sigmoid units)")
    return NetworkSpec(
        inputs=inputs,
        layers=tuple(layers),
        loss=loss,
        learning_rate=net.number("learning_rate"),
        l2=net.number("l2"),
        layout=layout,
    )


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
        if "x" in raw:
            data["x"] = vector(source, where("x"), raw["x"], network.inputs, "inputs")
        if "y" in raw:
            outputs = network.layers[-1].units
            data["y"] = vector(source, where("y"), raw["y"], outputs, "targets")
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
    top = Reader(source, data, at, {"title", "network", "graph", "data", "ask"})
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
