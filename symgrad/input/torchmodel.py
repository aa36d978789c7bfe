"""A PyTorch model read into a problem: `from_torch(model, x, y, loss, optimizer, steps)`.

The problem is a plain dict in the problem file's structure (`symgrad.solve` takes it,
`symgrad.to_toml` writes it).  Its `[torch]` table keeps, for each of `model.named_parameters()`,
the symgrad family it became and its shape, so that `Solution.by_torch_name()` hands the numbers
back under PyTorch's names:

    [torch.names]               [torch.shapes]
    "0.weight" = "K1"           "0.weight" = [2, 1, 3, 3]
    "0.bias" = "b1"             "0.bias" = [2]

torch is imported only inside `from_torch`: symgrad itself does not need it.  Every parameter,
input and target is written in float64, exactly as torch holds it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from symgrad.errors import ProblemError, SymgradError
from symgrad.input.entries import IDENTIFIER, Reader

SOURCE = "from_torch"
ACTIVATIONS = {"Sigmoid": "sigmoid", "Tanh": "tanh", "ReLU": "relu", "LeakyReLU": "leaky_relu",
               "Softplus": "softplus", "Softmax": "softmax"}
RNN_NAMES = {"weight_ih_l0": "W", "weight_hh_l0": "U", "bias_ih_l0": "b", "bias_hh_l0": "c"}


@dataclass(frozen=True)
class TorchNames:
    """The `[torch]` table: each PyTorch parameter name with its symgrad family and shape."""

    parameters: tuple[tuple[str, str, tuple[int, ...]], ...]  # (torch name, family, shape)


def fail(field: str, expected: str) -> None:
    raise ProblemError(SOURCE, field, expected)


# ---------------------------------------------------------------------------------------------
# The model, module by module


def modules(model: Any, nn: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """(the name its parameters carry, the module): a Sequential's children, nested Sequentials
    opened, or the model itself."""
    if not isinstance(model, nn.Sequential):
        return [(prefix, model)]
    out = []
    for name, child in model.named_children():
        out += modules(child, nn, f"{prefix}{name}.") if isinstance(child, nn.Sequential) \
            else [(f"{prefix}{name}.", child)]
    return out


def floats(tensor: Any) -> Any:
    """A tensor as nested lists of Python floats (float64: exactly the tensor's values)."""
    import torch

    return tensor.detach().to(device="cpu", dtype=torch.float64).tolist()


def pair(value: Any, dims: int) -> list[int]:
    return [int(v) for v in value] if isinstance(value, (tuple, list)) else [int(value)] * dims


class Reading:
    """The layers, names and shapes of a model, read one module at a time."""

    def __init__(self, shape: tuple[int, ...], batch: int) -> None:
        self.shape, self.batch = shape, batch
        self.layers: list[dict[str, Any]] = []
        self.names: dict[str, str] = {}
        self.shapes: dict[str, list[int]] = {}
        self.mergeable = False  # the last layer is a dense or conv layer with no activation yet

    def add(self, layer: dict[str, Any], shape: tuple[int, ...], mergeable: bool = False) -> int:
        self.layers.append(layer)
        self.shape, self.mergeable = shape, mergeable
        return len(self.layers)

    def name(self, torch_name: str, family: str, tensor: Any) -> None:
        self.names[torch_name] = family
        self.shapes[torch_name] = list(tensor.shape)

    def activation(self, function: str, slope: float | None = None) -> None:
        last = self.layers[-1] if self.layers else None
        if self.mergeable and last is not None and (function != "softmax" or "type" not in last):
            last["activation"] = function
            if slope is not None:
                last["negative_slope"] = slope
            self.mergeable = False
            return
        layer: dict[str, Any] = {"type": "activation", "activation": function}
        if slope is not None:
            layer["negative_slope"] = slope
        self.add(layer, self.shape)


def read_module(reading: Reading, where: str, prefix: str, module: Any, nn: Any,
                masks: dict[Any, Any], index: Any) -> None:
    kind = type(module).__name__
    shape = reading.shape
    l = len(reading.layers) + 1
    if type(module) is nn.Linear:
        if len(shape) != 1 or shape[0] != module.in_features:
            fail(where, f"Linear({module.in_features}, {module.out_features}) gets values of shape "
                 f"{list(shape)}: expected {module.in_features} features (put an nn.Flatten before it)")
        layer: dict[str, Any] = {"units": module.out_features, "activation": "identity",
                                 "weights": floats(module.weight)}
        reading.name(prefix + "weight", f"W{l}", module.weight)
        if module.bias is not None:
            layer["biases"] = floats(module.bias)
            reading.name(prefix + "bias", f"b{l}", module.bias)
        reading.add(layer, (module.out_features,), mergeable=True)
    elif type(module) in (nn.Conv1d, nn.Conv2d):
        dims = 1 if type(module) is nn.Conv1d else 2
        if len(shape) != dims + 1 or shape[0] != module.in_channels:
            wanted = "(channels, length)" if dims == 1 else "(channels, height, width)"
            fail(where, f"{kind} expects one example of shape {wanted} with {module.in_channels} "
                 f"channels, got {list(shape)}")
        if any(d != 1 for d in pair(module.dilation, dims)) or module.groups != 1:
            fail(where, f"{kind} with dilation or groups: symgrad takes dilation = 1 and groups = 1")
        if module.padding_mode != "zeros":
            fail(where, f"{kind} with padding_mode={module.padding_mode!r}: symgrad pads with zeros")
        kernel, stride = pair(module.kernel_size, dims), pair(module.stride, dims)
        padding = module.padding
        if padding == "valid":
            padding = [0] * dims
        elif padding == "same":
            if any(k % 2 == 0 for k in kernel):
                fail(where, f"{kind} with padding='same' and an even kernel pads unevenly: give the padding")
            padding = [(k - 1) // 2 for k in kernel]
        padding = pair(padding, dims)
        sizes = [(n + 2 * p - k) // s + 1 for n, k, s, p in zip(shape[1:], kernel, stride, padding)]
        layer = {"type": f"conv{dims}d", "out_channels": module.out_channels, "kernel": kernel,
                 "stride": stride, "padding": padding, "activation": "identity",
                 "weights": floats(module.weight)}
        reading.name(prefix + "weight", f"K{l}", module.weight)
        if module.bias is not None:
            layer["biases"] = floats(module.bias)
            reading.name(prefix + "bias", f"b{l}", module.bias)
        reading.add(layer, (module.out_channels, *sizes), mergeable=True)
    elif type(module) in (nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d):
        dims = 1 if kind.endswith("1d") else 2
        if len(shape) != dims + 1:
            fail(where, f"{kind} expects one example of shape "
                 f"{'(channels, length)' if dims == 1 else '(channels, height, width)'}, got {list(shape)}")
        if any(pair(module.padding, dims)) or module.ceil_mode:
            fail(where, f"{kind} with padding or ceil_mode: symgrad pools without padding, rounding down")
        if kind.startswith("Max") and (any(d != 1 for d in pair(module.dilation, dims)) or module.return_indices):
            fail(where, f"{kind} with dilation or return_indices: symgrad takes neither")
        if kind == "AvgPool2d" and module.divisor_override is not None:
            fail(where, "AvgPool2d with divisor_override: symgrad divides by the window's size")
        kernel = pair(module.kernel_size, dims)
        stride = pair(module.stride if module.stride not in (None, ()) else module.kernel_size, dims)
        sizes = [(n - k) // s + 1 for n, k, s in zip(shape[1:], kernel, stride)]
        reading.add({"type": "maxpool" if kind.startswith("Max") else "avgpool", "kernel": kernel,
                     "stride": stride}, (shape[0], *sizes))
    elif type(module) is nn.Flatten:
        if module.start_dim != 1 or module.end_dim != -1:
            fail(where, "Flatten with start_dim or end_dim: symgrad flattens one whole example (start_dim=1, end_dim=-1)")
        reading.add({"type": "flatten"}, (math.prod(shape),))
    elif type(module) is nn.RNN:
        if reading.layers or len(shape) != 2:
            fail(where, "an RNN must come first, fed by x of shape (batch, steps, features)")
        if module.num_layers != 1 or module.bidirectional or not module.batch_first or module.proj_size:
            fail(where, "RNN: symgrad takes one layer, one direction, batch_first=True and no proj_size")
        if shape[1] != module.input_size:
            fail(where, f"RNN(input_size={module.input_size}) gets {shape[1]} features per step")
        layer = {"type": "rnn", "units": module.hidden_size, "activation": module.nonlinearity}
        for key, torch_name in (("weights", "weight_ih_l0"), ("recurrent", "weight_hh_l0"),
                                ("biases", "bias_ih_l0"), ("recurrent_biases", "bias_hh_l0")):
            tensor = getattr(module, torch_name, None)
            if tensor is not None:
                layer[key] = floats(tensor)
                reading.name(prefix + torch_name, f"{RNN_NAMES[torch_name]}{l}", tensor)
        reading.add(layer, (module.hidden_size,))
    elif type(module) is nn.BatchNorm1d:
        if len(shape) != 1 or shape[0] != module.num_features:
            fail(where, f"BatchNorm1d({module.num_features}) gets values of shape {list(shape)}: "
                 "symgrad normalises the features of a vector")
        if not module.training or not module.affine:
            fail(where, "BatchNorm1d: symgrad takes training mode (the batch's statistics) with affine=True")
        if reading.batch < 2:
            fail(where, "BatchNorm1d in training mode needs a mini-batch of at least 2 examples in x")
        reading.name(prefix + "weight", f"gamma{l}", module.weight)
        reading.name(prefix + "bias", f"beta{l}", module.bias)
        reading.add({"type": "batchnorm", "gamma": floats(module.weight), "beta": floats(module.bias),
                     "epsilon": float(module.eps)}, shape)
    elif type(module) is nn.Dropout:
        key = index if index in masks else prefix.rstrip(".")
        mask = masks.pop(key, None)
        if not module.training:  # the identity
            if mask is not None:
                fail(where, "Dropout in eval mode drops nothing: remove its mask, or call model.train()")
            return
        if mask is None:
            if module.p == 0:
                return
            fail(where, f"Dropout(p={module.p}) in training mode needs its mask: "
                 f"from_torch(..., masks={{{index!r}: a 0/1 tensor shaped as the layer's input}})")
        import torch

        mask = torch.as_tensor(mask)
        full = (reading.batch or 1, *shape)
        if tuple(mask.shape) == shape and not reading.batch:
            mask = mask.unsqueeze(0)
        if tuple(mask.shape) != full or not bool(((mask == 0) | (mask == 1)).all()):
            fail(where, f"the mask of Dropout: expected 0s and 1s of shape {list(full)}, "
                 f"got shape {list(mask.shape)}")
        values = [[int(v) for v in row] for row in mask.reshape(full[0], -1).tolist()]
        nested = [reshape(row, list(shape)) for row in values]
        reading.add({"type": "dropout", "p": float(module.p),
                     "mask": nested if reading.batch else nested[0]}, shape)
    elif kind in ACTIVATIONS and type(module) is getattr(nn, kind):
        slope = None
        if kind == "LeakyReLU":
            slope = float(module.negative_slope)
        if kind == "Softplus" and module.beta != 1:
            fail(where, f"Softplus(beta={module.beta}): symgrad's softplus is log(1 + e^z), beta = 1")
        if kind == "Softmax" and (len(shape) != 1 or module.dim not in (None, 1, -1)):
            fail(where, "Softmax: symgrad takes a softmax over the features of a vector (dim=1 or -1)")
        reading.activation(ACTIVATIONS[kind], slope)
    elif type(module) is nn.Identity:
        return
    else:
        fail(where, f"{kind} is not a module symgrad reads: it takes Linear, Conv1d, Conv2d, "
             "MaxPool1d/2d, AvgPool1d/2d, Flatten, RNN, BatchNorm1d, Dropout, Sigmoid, Tanh, "
             "ReLU, LeakyReLU, Softplus and Softmax, in an nn.Sequential")


def reshape(flat: list[Any], shape: list[int]) -> list[Any]:
    if len(shape) <= 1:
        return list(flat)
    step = len(flat) // shape[0]
    return [reshape(flat[k * step:(k + 1) * step], shape[1:]) for k in range(shape[0])]


# ---------------------------------------------------------------------------------------------
# The loss and the optimizer


def elementwise(function: str, outputs: int) -> str:
    """One example's loss as torch's mean takes it: the mean over the outputs."""
    term = {"squared": "(yhat{k} - y{k})**2", "absolute": "abs(yhat{k} - y{k})",
            "bce": "y{k}*log(yhat{k}) + (1 - y{k})*log(1 - yhat{k})"}[function]
    total = " + ".join(term.format(k=k) for k in range(1, outputs + 1))
    return f"-({total})/{outputs}" if function == "bce" else f"({total})/{outputs}"


def read_loss(reading: Reading, loss: Any, y: Any, nn: Any, torch: Any) -> tuple[str | None, Any]:
    """network.loss and the targets (nested lists, one row per example), appending the softmax
    of CrossEntropyLoss and the sigmoid of BCEWithLogitsLoss."""
    if loss is None:
        return None, None if y is None else floats(torch.as_tensor(y))
    kind = type(loss).__name__
    known = (nn.MSELoss, nn.L1Loss, nn.BCELoss, nn.BCEWithLogitsLoss, nn.CrossEntropyLoss)
    if type(loss) not in known:
        fail("loss", f"{kind} is not a loss symgrad reads: it takes MSELoss, L1Loss, BCELoss, "
             "BCEWithLogitsLoss and CrossEntropyLoss")
    if loss.reduction not in ("mean", "sum"):
        fail("loss", f"{kind}(reduction={loss.reduction!r}): symgrad takes 'mean' or 'sum'")
    if getattr(loss, "weight", None) is not None or getattr(loss, "pos_weight", None) is not None:
        fail("loss", f"{kind} with weight or pos_weight: symgrad weighs every term alike")
    if len(reading.shape) != 1:
        fail("loss", f"the model's output has shape {list(reading.shape)} per example: "
             "a loss takes a vector (end with a Flatten or a Linear)")
    outputs = reading.shape[0]
    examples = reading.batch or 1
    if y is None:
        targets = None
    else:
        y = torch.as_tensor(y)
        if type(loss) is nn.CrossEntropyLoss and not torch.is_floating_point(y):
            if tuple(y.shape) != (examples,) or not bool(((y >= 0) & (y < outputs)).all()):
                fail("y", f"CrossEntropyLoss's class indices: expected {examples} of them, "
                     f"each from 0 to {outputs - 1}, got shape {list(y.shape)}")
            if bool((y == loss.ignore_index).any()):
                fail("y", f"a class index equals ignore_index ({loss.ignore_index}): symgrad ignores no example")
            targets = [[int(k == c) for k in range(outputs)] for c in y.tolist()]
        else:
            if tuple(y.shape) != (examples, outputs):
                fail("y", f"expected targets of shape {[examples, outputs]} (as the model's output), "
                     f"got {list(y.shape)}")
            targets = floats(y)
    if type(loss) is nn.CrossEntropyLoss:
        if loss.label_smoothing:
            fail("loss", "CrossEntropyLoss with label_smoothing: symgrad takes the targets as given")
        reading.activation("softmax")
        return "cross_entropy", targets
    if type(loss) is nn.BCEWithLogitsLoss:
        reading.activation("sigmoid")
    function = {nn.MSELoss: "squared", nn.L1Loss: "absolute"}.get(type(loss), "bce")
    if outputs == 1 or loss.reduction == "sum":  # torch's mean is over every element
        return {"squared": "squared_error", "absolute": "absolute_error", "bce": "bce"}[function], targets
    return elementwise(function, outputs), targets


def read_optimizer(optimizer: Any, model: Any, steps: int, torch: Any) -> dict[str, Any]:
    kind = type(optimizer).__name__
    if type(optimizer) not in (torch.optim.SGD, torch.optim.RMSprop, torch.optim.Adam):
        fail("optimizer", f"{kind} is not an optimizer symgrad reads: it takes torch.optim.SGD, "
             "RMSprop and Adam")
    if len(optimizer.param_groups) != 1:
        fail("optimizer", f"{kind} with {len(optimizer.param_groups)} parameter groups: symgrad takes one")
    group = optimizer.param_groups[0]
    if {id(p) for p in group["params"]} != {id(p) for p in model.parameters()}:
        fail("optimizer", f"{kind} must hold every parameter of the model, and only those")
    if any(optimizer.state.get(p) for p in group["params"]):
        fail("optimizer", f"{kind} has taken steps already: symgrad starts from a fresh optimizer")
    for flag in ("maximize", "centered", "amsgrad", "decoupled_weight_decay"):
        if group.get(flag):
            fail("optimizer", f"{kind}({flag}=True): symgrad does not take {flag}")
    lr = float(group["lr"])
    common = {"lr": lr, "steps": steps, "weight_decay": float(group["weight_decay"])}
    if type(optimizer) is torch.optim.SGD:
        return {"name": "sgd", **common, "momentum": float(group["momentum"]),
                "dampening": float(group["dampening"]), "nesterov": bool(group["nesterov"])}
    if type(optimizer) is torch.optim.RMSprop:
        return {"name": "rmsprop", **common, "alpha": float(group["alpha"]), "eps": float(group["eps"]),
                "momentum": float(group["momentum"])}
    return {"name": "adam", **common, "betas": [float(b) for b in group["betas"]], "eps": float(group["eps"])}


def from_torch(model: Any, x: Any, y: Any = None, loss: Any = None, optimizer: Any = None,
               steps: int = 1, masks: dict[Any, Any] | None = None, title: str | None = None) -> dict[str, Any]:
    """The problem of a PyTorch model on a batch `x` (its first dimension the examples), with
    targets `y`, a loss module, an optimizer and its number of steps.

    `masks` gives each Dropout in training mode its mask: {its index in the Sequential (or its
    name): a 0/1 tensor shaped as the layer's input, batch first}.  A batch of one example is
    written as one example (names without an example index)."""
    try:
        import torch
        from torch import nn
    except ImportError:  # pragma: no cover - torch is an optional extra
        raise SymgradError("from_torch needs PyTorch: pip install 'symgrad[torch]' (on a machine "
                           "without a GPU, pip install 'torch==2.13.0+cpu' first)") from None
    if not isinstance(model, nn.Module):
        fail("model", f"expected a torch.nn.Module, got {type(model).__name__}")
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 20:
        fail("steps", f"expected a whole number of steps from 1 to 20, got {steps!r}")
    if optimizer is None and steps != 1:
        fail("steps", "steps are an optimizer's: give optimizer=")
    x = torch.as_tensor(x)
    if x.dim() < 2:
        fail("x", f"expected a batch: x's first dimension counts the examples, got shape {list(x.shape)}")
    count = int(x.shape[0])
    reading = Reading(tuple(int(n) for n in x.shape[1:]), count if count > 1 else 0)
    masks = dict(masks or {})
    parts = modules(model, nn)
    for index, (prefix, module) in enumerate(parts):
        where = f"model.{prefix.rstrip('.')}" if prefix else "model"
        read_module(reading, f"{where} ({type(module).__name__})", prefix, module, nn, masks,
                    index if isinstance(model, nn.Sequential) else prefix.rstrip("."))
    if masks:
        fail("masks", f"{', '.join(map(repr, masks))}: not a Dropout in training mode of the model "
             "(a mask is keyed by the Dropout's index in the Sequential, or its name)")
    if not reading.layers:
        fail("model", "expected at least one layer")
    names = {n for n, _ in model.named_parameters()}
    if names != set(reading.names):
        missing = sorted(names - set(reading.names))
        fail("model", f"the parameters {', '.join(missing)} are not read (frozen or shared parameters?)")
    loss_name, targets = read_loss(reading, loss, y, nn, torch)
    inputs: Any = list(reading_shape(x))
    network: dict[str, Any] = {"inputs": inputs[0] if len(inputs) == 1 else inputs}
    if loss_name is not None:
        network["loss"] = loss_name
        if count > 1:
            network["reduction"] = loss.reduction
    network["layer"] = reading.layers
    data: dict[str, Any] = {"x": floats(x) if count > 1 else floats(x)[0]}
    if targets is not None:
        data["y"] = targets if count > 1 else targets[0]
    problem: dict[str, Any] = {"title": title or f"A PyTorch {type(model).__name__}", "network": network,
                               "data": data}
    if optimizer is not None:
        if loss is None:
            fail("optimizer", "an optimizer needs a loss")
        problem["optimizer"] = read_optimizer(optimizer, model, steps, torch)
    problem["torch"] = {"names": dict(reading.names), "shapes": dict(reading.shapes)}
    return problem


def reading_shape(x: Any) -> tuple[int, ...]:
    return tuple(int(n) for n in x.shape[1:])


# ---------------------------------------------------------------------------------------------
# The [torch] table, and the solution's numbers under PyTorch's names


def read_torch(top: Reader) -> TorchNames | None:
    """The `[torch]` table of a problem made by from_torch, checked."""
    if "torch" not in top.table:
        return None
    table = top.table_at("torch", {"names", "shapes"})
    names, shapes = table.table.get("names", {}), table.table.get("shapes", {})
    if not isinstance(names, dict) or not all(isinstance(v, str) and IDENTIFIER.match(v) for v in names.values()):
        table.fail("names", 'expected a table of PyTorch names and symgrad families, such as "0.weight" = "W1"')
    if not isinstance(shapes, dict) or set(shapes) != set(names) or not all(
            isinstance(s, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in s)
            for s in shapes.values()):
        table.fail("shapes", 'expected the shape of each name in torch.names, such as "0.weight" = [2, 3]')
    return TorchNames(tuple((name, family, tuple(shapes[name])) for name, family in names.items()))


def number(value: Any, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SymgradError(f"by_torch_name: {what} is not a number ({value}): give every target "
                           "and parameter a value") from None


def by_torch_name(table: TorchNames | None, values: dict[str, Any], gradients: dict[str, Any],
                  updated: dict[str, Any], output: str) -> dict[str, Any]:
    if table is None:
        raise SymgradError("by_torch_name: the problem has no [torch] table (make it with symgrad.from_torch)")
    if not output:
        raise SymgradError("by_torch_name: the problem has no loss (give from_torch a loss)")
    out: dict[str, Any] = {"loss": number(values[output], output), "gradients": {}, "updated": {}}
    for torch_name, family, shape in table.parameters:
        entries = [f"{family}[{','.join(str(i + 1) for i in at)}]" for at in positions(shape)]
        keys = [f"d{output}/d{e}" for e in entries]
        missing = [k for k in keys if k not in gradients]
        if missing:
            raise SymgradError(f"by_torch_name: {torch_name}: the solution has no gradient {missing[0]}")
        out["gradients"][torch_name] = reshape([number(gradients[k].value, k) for k in keys], list(shape))
        if updated:
            out["updated"][torch_name] = reshape([number(updated[e], e) for e in entries], list(shape))
    return out


def positions(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    out: list[tuple[int, ...]] = [()]
    for n in shape:
        out = [p + (k,) for p in out for k in range(n)]
    return out
