"""symgrad.from_torch against PyTorch's autograd: the loss, every gradient and every parameter
after the optimizer's steps agree to a relative 1e-9 in float64, for each layer, loss and
optimizer and for random stacks of them.  (bench/bench_torch.py runs a larger sweep.)"""

from __future__ import annotations

import random
import re
import tomllib

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import symgrad  # noqa: E402
from symgrad.errors import ProblemError, SymgradError  # noqa: E402

RTOL, ATOL = 1e-9, 1e-12


@pytest.fixture(autouse=True)
def float64():
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(before)


def forward(model, x, masks):
    """The model as from_torch reads it: an RNN passes on its last step's hidden state, a
    Dropout in training mode applies its given mask."""
    parts = list(model) if isinstance(model, nn.Sequential) else [model]
    h = x
    for k, m in enumerate(parts):
        if isinstance(m, nn.RNN):
            h = m(h)[0][:, -1, :]
        elif isinstance(m, nn.Dropout) and m.training and k in masks:
            h = h * masks[k] / (1 - m.p)
        else:
            h = m(h)
    return h


def oracle(model, x, y, loss, optimizer, steps, masks):
    """The loss, the first step's gradients and the parameters after the steps, by torch."""
    first = None
    for _ in range(steps if optimizer else 1):
        model.zero_grad()
        value = loss(forward(model, x, masks), y)
        value.backward()
        if first is None:
            first = (value.item(), {n: p.grad.clone() for n, p in model.named_parameters()})
        if optimizer:
            optimizer.step()
    return first[0], first[1], {n: p.detach().clone() for n, p in model.named_parameters()}


def deviation(got, want) -> float:
    """The largest relative difference, entry by entry (an entry near 0 against ATOL/RTOL)."""
    got, want = torch.as_tensor(got, dtype=torch.float64), torch.as_tensor(want, dtype=torch.float64)
    assert got.shape == want.shape
    if not got.numel():
        return 0.0
    return float(((got - want).abs() / want.abs().clamp(min=ATOL / RTOL)).max())


def compare(model, x, y, loss, optimizer=None, steps=1, masks=None):
    """Solve the model's problem (read back from its TOML) and hold it against torch: the
    problem and the largest relative difference of the loss, the gradients and the updates."""
    masks = masks or {}
    problem = symgrad.from_torch(model, x, y, loss, optimizer, steps, masks=masks)
    text = symgrad.to_toml(problem)
    assert tomllib.loads(text) == problem
    ours = symgrad.solve(tomllib.loads(text)).by_torch_name()
    want_loss, grads, after = oracle(model, x, y, loss, optimizer, steps, masks)
    assert set(ours["gradients"]) == set(grads)
    worst = deviation(ours["loss"], want_loss)
    for name, g in grads.items():
        worst = max(worst, deviation(ours["gradients"][name], g))
    if optimizer:
        assert set(ours["updated"]) == set(after)
        for name, p in after.items():
            worst = max(worst, deviation(ours["updated"][name], p))
    return problem, worst


def agree(*args, **kwargs):
    problem, worst = compare(*args, **kwargs)
    assert worst <= RTOL
    return problem


ACTS = [nn.Sigmoid, nn.Tanh, nn.ReLU, lambda: nn.LeakyReLU(0.2), nn.Softplus]


def act(rng):
    return rng.choice(ACTS)()


def optimizer_of(rng, model):
    kind = rng.choice(["sgd", "rmsprop", "adam"])
    wd = rng.choice([0.0, 0.01])
    if kind == "sgd":
        nesterov = rng.random() < 0.5
        return torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9 if nesterov else rng.choice([0.0, 0.5]),
                               dampening=0.0 if nesterov else rng.choice([0.0, 0.1]), nesterov=nesterov,
                               weight_decay=wd)
    if kind == "rmsprop":
        return torch.optim.RMSprop(model.parameters(), lr=0.01, alpha=0.9, momentum=rng.choice([0.0, 0.5]),
                                   weight_decay=wd)
    return torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.8, 0.99), weight_decay=wd)


def loss_of(rng, outputs, batch):
    """A random loss with the model's last layer suited to it, and targets."""
    kind = rng.choice(["mse", "l1", "bce", "bcelogits", "ce", "ce_prob"])
    reduction = rng.choice(["mean", "sum"])
    if kind in ("mse", "l1"):
        return [], (nn.MSELoss if kind == "mse" else nn.L1Loss)(reduction=reduction), torch.randn(batch, outputs)
    if kind == "bce":
        return [nn.Sigmoid()], nn.BCELoss(reduction=reduction), torch.rand(batch, outputs)
    if kind == "bcelogits":
        return [], nn.BCEWithLogitsLoss(reduction=reduction), torch.rand(batch, outputs)
    if kind == "ce":
        return [], nn.CrossEntropyLoss(reduction=reduction), torch.randint(0, outputs, (batch,))
    return [], nn.CrossEntropyLoss(reduction=reduction), torch.softmax(torch.randn(batch, outputs), 1)


def random_stack(seed):
    """One of four families, with random sizes, activations, loss and optimizer."""
    rng = random.Random(seed)
    torch.manual_seed(seed)
    batch = rng.choice([1, 2, 3])
    family = ["dense", "conv1d", "conv2d", "rnn"][seed % 4]
    masks = {}
    if family == "dense":
        features, hidden = rng.randint(2, 4), rng.randint(2, 4)
        # no bias before a batch norm: its gradient is 0 but for rounding, which Adam and
        # RMSprop scale up to lr·g/(|g| + eps) in torch and symgrad alike
        norm = batch > 1 and rng.random() < 0.6
        layers = [nn.Linear(features, hidden, bias=not norm), act(rng)]
        if norm:
            layers.append(nn.BatchNorm1d(hidden))
        if rng.random() < 0.6:
            layers.append(nn.Dropout(0.25))
            masks[len(layers) - 1] = (torch.rand(batch, hidden) > 0.3).double()
        x = torch.randn(batch, features)
    elif family == "conv1d":
        length = rng.randint(5, 7)
        conv = nn.Conv1d(rng.randint(1, 2), 2, rng.choice([2, 3]), stride=rng.choice([1, 2]), padding=rng.choice([0, 1]))
        out = (length + 2 * conv.padding[0] - conv.kernel_size[0]) // conv.stride[0] + 1
        pool = rng.choice([nn.MaxPool1d(2), nn.AvgPool1d(2)])
        layers = [conv, act(rng), pool, nn.Flatten()]
        hidden = 2 * (out // 2)
        x = torch.randn(batch, conv.in_channels, length)
    elif family == "conv2d":
        conv = nn.Conv2d(1, 2, rng.choice([2, (2, 3)]), padding=rng.choice([0, 1]))
        pool = rng.choice([nn.MaxPool2d(2, stride=1), nn.AvgPool2d(2)])
        layers = [conv, act(rng), pool, nn.Flatten()]
        x = torch.randn(batch, 1, 4, 4)
        with torch.no_grad():
            hidden = nn.Sequential(*layers)(x).shape[1]
    else:
        features, hidden = rng.randint(1, 3), rng.randint(2, 3)
        layers = [nn.RNN(features, hidden, nonlinearity=rng.choice(["tanh", "relu"]), batch_first=True)]
        x = torch.randn(batch, rng.randint(2, 3), features)
    outputs = rng.randint(1, 3)
    head, loss, y = loss_of(rng, outputs, batch)
    model = nn.Sequential(*layers, nn.Linear(hidden, outputs), *head)
    optimizer = optimizer_of(rng, model) if rng.random() < 0.7 else None
    return model, x, y, loss, optimizer, rng.randint(1, 3) if optimizer else 1, masks


@pytest.mark.parametrize("seed", range(6))
def test_random_stacks_agree_with_autograd(seed):
    model, x, y, loss, optimizer, steps, masks = random_stack(seed)
    agree(model, x, y, loss, optimizer, steps, masks)


def test_every_layer_in_one_network():
    """Conv2d (stride, padding) with LeakyReLU, average pooling, flatten, batch norm, softplus
    as a layer of its own, dropout and softmax, with SGD (Nesterov, weight decay)."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 2, (2, 3), stride=(1, 2), padding=1), nn.LeakyReLU(0.1),
                          nn.AvgPool2d(2, stride=1), nn.Flatten(), nn.Linear(6, 3), nn.Tanh(),
                          nn.BatchNorm1d(3), nn.Softplus(), nn.Dropout(0.5), nn.Linear(3, 2), nn.Softmax(dim=1))
    x = torch.randn(3, 2, 3, 4)
    with torch.no_grad():
        assert nn.Sequential(*list(model)[:4])(x).shape == (3, 6)
    masks = {8: torch.tensor([[1.0, 0, 1], [1, 1, 0], [0, 1, 1]])}
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)
    problem = agree(model, x, torch.rand(3, 2), nn.MSELoss(), opt, 2, masks)
    kinds = [layer.get("type", "dense") for layer in problem["network"]["layer"]]
    assert kinds == ["conv2d", "avgpool", "flatten", "dense", "batchnorm", "activation", "dropout", "dense"]
    assert problem["network"]["layer"][0]["activation"] == "leaky_relu"
    assert problem["network"]["layer"][3]["activation"] == "tanh"
    assert problem["network"]["layer"][-1]["activation"] == "softmax"
    assert problem["torch"]["names"]["6.weight"] == "gamma5"


def test_one_example_and_a_bare_rnn_module():
    """A batch of one is written as one example; a bare nn.RNN's parameters have no prefix."""
    torch.manual_seed(2)
    rnn = nn.RNN(2, 2, batch_first=True, nonlinearity="relu")
    problem = symgrad.from_torch(rnn, torch.randn(1, 3, 2))
    assert problem["network"]["inputs"] == [3, 2] and len(problem["data"]["x"]) == 3
    assert problem["torch"]["names"] == {"weight_ih_l0": "W1", "weight_hh_l0": "U1",
                                         "bias_ih_l0": "b1", "bias_hh_l0": "c1"}
    model = nn.Sequential(nn.RNN(2, 2, batch_first=True), nn.Linear(2, 2))
    agree(model, torch.randn(1, 3, 2), torch.tensor([1]), nn.CrossEntropyLoss(),
          torch.optim.RMSprop(model.parameters(), lr=0.01, momentum=0.5), 3)


def test_conv1d_maxpool_l1_adam():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv1d(2, 3, 3, stride=2, padding=1, bias=False), nn.Sigmoid(),
                          nn.MaxPool1d(2), nn.Flatten(), nn.Linear(6, 2, bias=False))
    agree(model, torch.randn(2, 2, 8), torch.randn(2, 2), nn.L1Loss(reduction="sum"),
          torch.optim.Adam(model.parameters(), lr=0.05, weight_decay=0.1), 2)


def test_unsupported_modules_are_one_clear_error():
    cases = [
        (nn.Sequential(nn.Linear(2, 2), nn.GELU()), (2, 2), "model.1 (GELU)"),
        (nn.Sequential(nn.Conv1d(1, 1, 2, dilation=2)), (2, 1, 5), "dilation"),
        (nn.Sequential(nn.Conv1d(1, 1, 2), nn.MaxPool1d(2, ceil_mode=True)), (2, 1, 5), "ceil_mode"),
        (nn.Sequential(nn.Linear(2, 2), nn.Softplus(beta=2)), (2, 2), "beta"),
        (nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)), (2, 2), "mask"),
        (nn.Sequential(nn.Linear(3, 2)), (2, 2), "expected 3 features"),
        (nn.Sequential(nn.Linear(2, 2), nn.RNN(2, 2, batch_first=True)), (2, 2), "must come first"),
        (nn.RNN(2, 2), (2, 3, 2), "batch_first=True"),
        (nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2).eval()), (2, 2), "training mode"),
    ]
    for model, shape, words in cases:
        with pytest.raises(ProblemError, match=re.escape(words)):
            symgrad.from_torch(model, torch.randn(*shape))
    with pytest.raises(ProblemError, match="masks: 2: not a Dropout"):
        symgrad.from_torch(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5)), torch.randn(2, 2),
                           masks={1: torch.ones(2, 2), 2: torch.ones(2, 2)})
    model = nn.Linear(2, 1)
    with pytest.raises(ProblemError, match="HuberLoss"):
        symgrad.from_torch(model, torch.randn(2, 2), torch.randn(2, 1), nn.HuberLoss())
    with pytest.raises(ProblemError, match="AdamW"):
        symgrad.from_torch(model, torch.randn(2, 2), torch.randn(2, 1), nn.MSELoss(),
                           torch.optim.AdamW(model.parameters()))
    with pytest.raises(ProblemError, match="amsgrad"):
        symgrad.from_torch(model, torch.randn(2, 2), torch.randn(2, 1), nn.MSELoss(),
                           torch.optim.Adam(model.parameters(), amsgrad=True))
    with pytest.raises(SymgradError, match=r"no \[torch\] table"):
        symgrad.solve({"network": {"inputs": 1, "loss": "squared_error", "layer": [{"units": 1, "weights": [[1.0]]}]},
                       "data": {"x": [1.0], "y": [0.0]}}).by_torch_name()


def test_to_toml_writes_what_tomllib_reads_back():
    problem = {"title": 'A "quoted" title\twith \x7f', "network": {"inputs": [1, 2], "layer": [
        {"type": "flatten"}, {"units": 1, "weights": [[0.1, 1e-300]], "biases": [-2.5e-05]}]},
        "data": {"x": [[1.0, 2]]}, "torch": {"names": {"0.weight": "W2"}, "shapes": {"0.weight": [1, 2]}}}
    assert tomllib.loads(symgrad.to_toml(problem)) == problem
    nested = {"a": {}, "b": {"c": {"d": 1}}, "e": {"f": True, "g": {"h": "i"}}, "j": [{"k": [[]]}]}
    assert tomllib.loads(symgrad.to_toml(nested)) == nested
    assert "[b]" not in symgrad.to_toml(nested)  # only [b.c]
    with pytest.raises(SymgradError, match="finite"):
        symgrad.to_toml({"x": float("nan")})


def test_the_readme_example_runs_and_agrees():
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## PyTorch models"):]
    code = section[section.index("```python\n") + 10:section.index("```", section.index("```python\n") + 10)]
    space: dict = {}
    exec(compile(code, "README.md: PyTorch models", "exec"), space)  # noqa: S102 - our own README
    model, x, y = space["model"], space["x"], space["y"]
    assert tomllib.loads(space["text"]) == space["problem"]
    want_loss, grads, after = oracle(model, x, y, nn.CrossEntropyLoss(), space["optimizer"], 2, {})
    ours = space["ours"]
    assert deviation(ours["loss"], want_loss) <= RTOL
    assert torch.tensor(ours["gradients"]["0.weight"]).shape == (2, 1, 3)
    assert all(deviation(ours["gradients"][n], g) <= RTOL for n, g in grads.items())
    assert all(deviation(ours["updated"][n], p) <= RTOL for n, p in after.items())
    assert "[torch.names]" in space["text"] and '"4.weight" = "W4"' in space["text"]


def test_a_torch_table_is_checked():
    plain = {"network": {"inputs": 1, "loss": "squared_error", "layer": [{"units": 1, "weights": [[1.0]]}]},
             "data": {"x": [1.0], "y": [0.5]}}
    for table, words in (({"names": {"weight": "W1"}, "shapes": {}}, "torch.shapes"),
                         ({"names": {"weight": "W 1"}, "shapes": {"weight": [1, 1]}}, "torch.names"),
                         ({"names": {}, "shapes": {}, "other": 1}, "other")):
        with pytest.raises(ProblemError, match=re.escape(words)):
            symgrad.solve({**plain, "torch": table})
    solved = symgrad.solve({**plain, "torch": {"names": {"weight": "W1"}, "shapes": {"weight": [1, 1]}}})
    assert solved.by_torch_name() == {"loss": 0.25, "gradients": {"weight": [[1.0]]}, "updated": {}}
    with pytest.raises(SymgradError, match="no gradient dL/dW1"):
        symgrad.solve({**plain, "torch": {"names": {"weight": "W1"}, "shapes": {"weight": [2, 1]}}}).by_torch_name()
