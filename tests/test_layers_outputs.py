"""Every output and tool on the new layers: convolution with max or average pooling, recurrence,
batch normalisation with dropout and a softmax layer, mini-batches and optimizers.  Each problem
renders in every format; `check` judges right and wrong answers named with the new names
(z1[2][1], h1[3][2], K1[1,1,2,2], gamma2[1]); `variants` draws kernels, recurrent weights, γ and
inputs.  The oracle is a plain-Python forward pass of each network written here, and central
finite differences of it for the gradients."""

from __future__ import annotations

import functools
import json
import math
import shutil
import tomllib

import pytest

import symgrad
from symgrad.input import prose, variantspec
from tests.cli import run_here

# --- the problems, and each one's forward pass written out here --------------------------------

CONV = """title = "conv"
[network]
inputs = [1, 4, 4]
loss = "half_squared_error"
learning_rate = 0.1
[[network.layer]]
type = "conv2d"
out_channels = 1
kernel = 2
activation = "relu"
weights = [[[[0.1, -0.2], [0.3, 0.4]]]]
biases = [0.1]
[[network.layer]]
type = "maxpool"
kernel = 2
stride = 1
[[network.layer]]
type = "flatten"
[[network.layer]]
units = 1
activation = "sigmoid"
weights = [[0.5, -0.5, 0.25, 1.0]]
biases = [0.0]
[data]
x = [[[[1, 2, 0, -1], [0.5, 1, 2, 1], [-1, 0, 1, 2], [1, 1, 0, 0]]],
     [[[0, 1, 0, 1], [1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5], [2, 1, 0, -1]]]]
y = [[1], [0]]
[ask]
update = true
[optimizer]
name = "adam"
lr = 0.01
steps = 2
"""


def conv_forward(p: dict, example: int) -> dict:
    """3 × 3 of z (kernel 2, stride 1), ReLU, 2 × 2 max pooling with stride 1, a sigmoid unit."""
    K, x = p["K"], p["x"][example]
    z = [[sum(K[a][b] * x[i + a][j + b] for a in range(2) for b in range(2)) + p["b1"]
          for j in range(3)] for i in range(3)]
    a = [[max(v, 0.0) for v in row] for row in z]
    m = [max(a[i + u][j + v] for u in range(2) for v in range(2)) for i in range(2) for j in range(2)]
    yhat = 1 / (1 + math.exp(-(sum(w * v for w, v in zip(p["W"], m)) + p["b4"])))
    return {"z": z, "a": a, "m": m, "yhat": yhat, "L": 0.5 * (yhat - p["y"][example]) ** 2}


CONV_P = {"K": [[0.1, -0.2], [0.3, 0.4]], "b1": 0.1, "W": [0.5, -0.5, 0.25, 1.0], "b4": 0.0,
          "x": [[[1, 2, 0, -1], [0.5, 1, 2, 1], [-1, 0, 1, 2], [1, 1, 0, 0]],
                [[0, 1, 0, 1], [1, 0, 1, 0], [0.5, 0.5, 0.5, 0.5], [2, 1, 0, -1]]],
          "y": [1, 0]}


def conv_loss(p: dict) -> float:
    return sum(conv_forward(p, n)["L"] for n in range(2)) / 2  # the mean over the batch


CONV1D = """title = "conv1d"
[network]
inputs = [1, 5]
loss = "half_squared_error"
learning_rate = 0.1
[[network.layer]]
type = "conv1d"
out_channels = 1
kernel = 2
padding = 1
stride = 2
activation = "tanh"
weights = [[[0.5, -1.0]]]
biases = [0.1]
[[network.layer]]
type = "avgpool"
kernel = 3
[[network.layer]]
type = "flatten"
[[network.layer]]
units = 1
weights = [[2.0]]
biases = [-0.5]
[data]
x = [[1.0, 0.0, -1.0, 2.0, 1.0]]
y = [1.0]
[ask]
update = true
[optimizer]
name = "sgd"
lr = 0.1
momentum = 0.9
steps = 2
"""


def conv1d_loss(p: dict) -> float:
    padded = [0.0, *p["x"], 0.0]
    z = [p["K"][0] * padded[2 * i] + p["K"][1] * padded[2 * i + 1] + p["b1"] for i in range(3)]
    m = sum(math.tanh(v) for v in z) / 3
    yhat = p["W"] * m + p["b4"]
    return 0.5 * (yhat - 1.0) ** 2


CONV1D_P = {"K": [0.5, -1.0], "b1": 0.1, "W": 2.0, "b4": -0.5, "x": [1.0, 0.0, -1.0, 2.0, 1.0]}

RNN = """title = "rnn"
[network]
inputs = [3, 2]
loss = "squared_error"
learning_rate = 0.1
[[network.layer]]
type = "rnn"
units = 2
activation = "tanh"
weights = [[0.5, 0.1], [-0.3, 0.2]]
recurrent = [[0.1, 0.4], [-0.2, 0.3]]
biases = [0.0, 0.1]
h0 = [0.1, -0.1]
[[network.layer]]
units = 1
weights = [[1.0, -1.0]]
[data]
x = [[1.0, 0.5], [-0.5, 0.0], [2.0, 1.0]]
y = [0.5]
[ask]
update = true
[optimizer]
name = "rmsprop"
lr = 0.01
steps = 2
"""

RNN_P = {"W": [[0.5, 0.1], [-0.3, 0.2]], "U": [[0.1, 0.4], [-0.2, 0.3]], "b": [0.0, 0.1],
         "h0": [0.1, -0.1], "V": [1.0, -1.0], "x": [[1.0, 0.5], [-0.5, 0.0], [2.0, 1.0]], "y": 0.5}


def rnn_forward(p: dict) -> tuple[list[list[float]], float]:
    """h[t] for t = 0..3, and the loss (ŷ − y)²."""
    hs = [p["h0"]]
    for x in p["x"]:
        h = hs[-1]
        hs.append([math.tanh(sum(p["W"][i][j] * x[j] for j in range(2))
                             + sum(p["U"][i][k] * h[k] for k in range(2)) + p["b"][i])
                   for i in range(2)])
    yhat = sum(v * h for v, h in zip(p["V"], hs[-1]))
    return hs, (yhat - p["y"]) ** 2


BN = """title = "batchnorm"
[network]
inputs = 2
loss = "cross_entropy"
learning_rate = 0.1
[[network.layer]]
units = 2
activation = "relu"
weights = [[1.0, -1.0], [0.5, 0.5]]
biases = [0.5, 0.0]
[[network.layer]]
type = "batchnorm"
gamma = [1.5, 0.8]
beta = [0.2, -0.1]
epsilon = 0.001
[[network.layer]]
type = "dropout"
p = 0.5
mask = [[1, 0], [1, 1], [0, 1]]
[[network.layer]]
units = 2
weights = [[-0.8, 0.3], [0.2, 0.4]]
biases = [0.1, 0.0]
[[network.layer]]
type = "activation"
activation = "softmax"
[data]
x = [[1.0, 0.5], [0.0, 1.0], [2.0, 0.5]]
y = [[1, 0], [0, 1], [1, 0]]
[ask]
update = true
[optimizer]
name = "adam"
lr = 0.1
steps = 2
"""

BN_P = {"W1": [[1.0, -1.0], [0.5, 0.5]], "b1": [0.5, 0.0], "gamma": [1.5, 0.8], "beta": [0.2, -0.1],
        "mask": [[1, 0], [1, 1], [0, 1]], "W4": [[-0.8, 0.3], [0.2, 0.4]], "b4": [0.1, 0.0],
        "x": [[1.0, 0.5], [0.0, 1.0], [2.0, 0.5]], "y": [[1, 0], [0, 1], [1, 0]]}


def bn_forward(p: dict) -> dict:
    a1 = [[max(0.0, sum(p["W1"][i][j] * x[j] for j in range(2)) + p["b1"][i]) for i in range(2)]
          for x in p["x"]]
    mu = [sum(a[i] for a in a1) / 3 for i in range(2)]
    var = [sum((a[i] - mu[i]) ** 2 for a in a1) / 3 for i in range(2)]
    xhat = [[(a[i] - mu[i]) / math.sqrt(var[i] + 0.001) for i in range(2)] for a in a1]
    a2 = [[p["gamma"][i] * h[i] + p["beta"][i] for i in range(2)] for h in xhat]
    a3 = [[2 * m[i] * v[i] for i in range(2)] for m, v in zip(p["mask"], a2)]  # kept × 1/(1 − p)
    losses = []
    for v, y in zip(a3, p["y"]):
        z = [sum(p["W4"][i][j] * v[j] for j in range(2)) + p["b4"][i] for i in range(2)]
        e = [math.exp(t) for t in z]
        losses.append(-sum(yi * math.log(ei / sum(e)) for yi, ei in zip(y, e)))
    return {"mu": mu, "var": var, "xhat": xhat, "L": sum(losses) / 3}


@functools.lru_cache(maxsize=None)
def solve(text: str):
    return symgrad.solve(tomllib.loads(text))


def derivative(loss, p: dict, path: tuple, h: float = 1e-6) -> float:
    """∂loss/∂p[path] by central differences."""
    def at(delta: float) -> float:
        q = json.loads(json.dumps(p))
        holder = q
        for k in path[:-1]:
            holder = holder[k]
        holder[path[-1]] += delta
        return loss(q)
    return (at(h) - at(-h)) / (2 * h)


PROBLEMS = {"conv": CONV, "conv1d": CONV1D, "rnn": RNN, "batchnorm": BN}


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("layers")
    for name, text in PROBLEMS.items():
        (folder / f"{name}.toml").write_text(text)
    return folder


def test_oracles_agree_with_the_engine():
    """The forward passes written here are the problems symgrad solves (so the checks below,
    whose right answers come from them, test `check` and not a misreading of the file)."""
    conv = solve(CONV)
    assert conv.values["z1[2][1,1,1]"] == pytest.approx(conv_forward(CONV_P, 1)["z"][0][0], abs=1e-12)
    assert conv.values["L"] == pytest.approx(conv_loss(CONV_P), rel=1e-12)
    assert conv.gradients["dL/dK1[1,1,2,2]"].value == pytest.approx(
        derivative(conv_loss, CONV_P, ("K", 1, 1)), rel=1e-6)
    rnn = solve(RNN)
    hs, loss = rnn_forward(RNN_P)
    assert rnn.values["h1[3][2]"] == pytest.approx(hs[3][1], abs=1e-12)
    assert rnn.values["L"] == pytest.approx(loss, rel=1e-12)
    assert rnn.gradients["dL/dU1[1,2]"].value == pytest.approx(
        derivative(lambda q: rnn_forward(q)[1], RNN_P, ("U", 0, 1)), rel=1e-6)
    bn = solve(BN)
    assert bn.values["L"] == pytest.approx(bn_forward(BN_P)["L"], rel=1e-12)
    assert bn.gradients["dL/dgamma2[1]"].value == pytest.approx(
        derivative(lambda q: bn_forward(q)["L"], BN_P, ("gamma", 0)), rel=1e-6)
    c1 = solve(CONV1D)
    assert c1.values["L"] == pytest.approx(conv1d_loss(CONV1D_P), rel=1e-12)
    assert c1.gradients["dL/dK1[1,1,2]"].value == pytest.approx(
        derivative(conv1d_loss, CONV1D_P, ("K", 1)), rel=1e-6)


# --- every format --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(PROBLEMS))
def test_every_format_renders(files, name):
    out = files / f"out-{name}"
    done = run_here("solve", str(files / f"{name}.toml"), "-o", str(out), "--key", "--questions",
                    "--format", "tex", "md", "html", "moodle", "qti")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    for suffix in (".tex", "-questions.tex", ".md", "-questions.md", ".html", "-questions.html",
                   "-moodle.xml", "-qti.zip"):
        assert (out / f"{name}{suffix}").stat().st_size > 0, suffix
    key = (out / f"{name}.tex").read_text()
    questions = (out / f"{name}-questions.tex").read_text()
    # the question states the parameters and the data, block by block (no figure is drawn)
    given = questions[questions.index("Given"):questions.index("Find")]
    assert "begin{pmatrix}" in given or r"\left(" in given
    assert given.count("=") < 40, given  # not one line an entry
    assert "tikzpicture" not in key.split(r"\begin{document}")[1].split("Given")[0]
    # every asked gradient has its marked line in the key, and no line is longer than a page
    for gradient in solve(PROBLEMS[name]).gradients:
        assert f"% symgrad: {gradient}\n" in key
    assert r"\Bigl(" not in key or key.count(r"\Bigl(") == key.count(r"\Bigr)")
    if name == "conv":
        text = run_here("solve", str(files / f"{name}.toml"), "--text")
        assert text.returncode == 0 and "z1[2][1,1,1] = " in text.stdout
        data = json.loads(run_here("solve", str(files / f"{name}.toml"), "--json").stdout)
        assert data["optimizer"]["steps"] and data["gradients"]["dL/dK1[1,1,2,2]"]


def test_the_given_data_read_as_matrices(files):
    """A 3 × 3 input per example is one matrix each, the kernel another, in the order written."""
    out = files / "given"
    run_here("solve", str(files / "conv.toml"), "-o", str(out), "--questions")
    tex = (out / "conv-questions.tex").read_text()
    assert r"K^{[1]}_{11} = \begin{pmatrix} 0.1 & -0.2 \\ 0.3 & 0.4 \end{pmatrix}" in tex
    # a 4 × 4 input in script size, so that a batch's inputs sit two to a line
    assert (r"x^{(2)}_{1} = \left(\begin{smallmatrix} 0 & 1 & 0 & 1 \\ 1 & 0 & 1 & 0 \\ 0.5 & 0.5 & 0.5 & 0.5"
            r" \\ 2 & 1 & 0 & -1 \end{smallmatrix}\right)") in tex
    assert "smallmatrix} 1 & 2 & 0 & -1" in tex.split("x^{(2)}_{1} =")[0].split("\n")[-1]  # beside x^{(1)}
    assert r"y^{(1)} = 1" in tex
    # every entry of the kernel asked: one family named, not four fractions
    assert r"$\partial L / \partial K^{[1]}$" in tex and r"\partial K^{[1]}_{11" not in tex.split("Find")[1]


def test_a_long_delta_line_is_broken_inside_its_bracket():
    """The δ of a unit that several overlapping pooling windows read, times the ReLU's step, is
    set over lines between \\Bigl( and \\Bigr), each line short enough for the page."""
    from symgrad.output.printer import DISPLAY_WIDTH, visible
    sheet = solve(CONV).to_latex()
    assert sheet.count(r"\Bigl(") == sheet.count(r"\Bigr)") > 0
    for segment in sheet.split("\\\\"):  # each line of a display
        if "Bigl(" in segment or "Bigr)" in segment:
            body = segment.split("&", 1)[1].lstrip("= ").replace(r"\quad", "")
            assert visible(body.split("%")[0].strip()) <= DISPLAY_WIDTH, body


@pytest.mark.skipif(not shutil.which("pdflatex"), reason="no TeX engine here")
def test_a_layer_key_builds_a_pdf(files):
    out = files / "pdf"
    done = run_here("solve", str(files / "conv1d.toml"), "-o", str(out), "--pdf")
    assert done.returncode == 0, done.stderr
    assert (out / "conv1d.pdf").stat().st_size > 0


def test_examples_renders_a_folder_of_layer_problems(files):
    out = files / "examples"
    folder = files / "examples-in"
    folder.mkdir()
    (folder / "conv1d.toml").write_text(CONV1D)
    done = run_here("examples", "--from", str(folder), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert (out / "conv1d.tex").exists() and (out / "conv1d-questions.tex").exists()


# --- check ---------------------------------------------------------------------------------------


def verdicts(files, name: str, answers: dict, suffix: str = "json") -> dict[str, str]:
    path = files / f"{name}-answers.{suffix}"
    path.write_text(json.dumps(answers))
    done = run_here("check", str(files / f"{name}.toml"), str(path), "--json")
    report = json.loads(done.stdout)
    return {item["key"]: item["verdict"] for item in report["items"]}


def test_check_judges_the_new_names_in_an_answer_file(files):
    first, second = conv_forward(CONV_P, 0), conv_forward(CONV_P, 1)
    g = derivative(conv_loss, CONV_P, ("K", 1, 1))
    right = {"values": {"z1[2][1,1,1]": round(second["z"][0][0], 6), "a2[1][1,2,2]": round(first["m"][3], 4),
                        "yhat[1][1]": round(first["yhat"], 4), "L": round(conv_loss(CONV_P), 5)},
             "gradients": {"dL/dK1[1,1,2,2]": round(g, 7)},
             "updated": {"K1[1,1,2,2]": None}}
    right.pop("updated")
    got = verdicts(files, "conv", right)
    assert got == {"z1[2][1,1,1]": "correct", "a2[1][1,2,2]": "correct", "yhat[1][1]": "correct",
                   "L": "correct", "dL/dK1[1,1,2,2]": "correct"}
    wrong = {"values": {"z1[2][1,1,1]": round(second["z"][0][0] + 0.1, 6)},
             "gradients": {"dL/dK1[1,1,2,2]": round(2 * g, 7)}}
    assert set(verdicts(files, "conv", wrong).values()) == {"wrong"}


def test_check_judges_time_steps_and_batch_normalisation(files):
    hs, loss = rnn_forward(RNN_P)
    dU = derivative(lambda q: rnn_forward(q)[1], RNN_P, ("U", 0, 1))
    got = verdicts(files, "rnn", {"values": {"h1[2][1]": round(hs[2][0], 5), "h1[3][2]": round(hs[3][1] + 0.05, 5)},
                                  "gradients": {"dL/dU1[1,2]": round(dU, 6), "dL/dW1[1,1]": 0.5}})
    assert got == {"h1[2][1]": "correct", "h1[3][2]": "wrong", "dL/dU1[1,2]": "correct",
                   "dL/dW1[1,1]": "wrong"}
    forward = bn_forward(BN_P)
    dgamma = derivative(lambda q: bn_forward(q)["L"], BN_P, ("gamma", 0))
    got = verdicts(files, "batchnorm", {"values": {"mu2[1]": round(forward["mu"][0], 6),
                                                   "xhat2[3][2]": round(forward["xhat"][2][1], 5)},
                                        "gradients": {"dL/dgamma2[1]": round(dgamma, 6),
                                                      "dL/dbeta2[2]": 1.0}})
    assert got == {"mu2[1]": "correct", "xhat2[3][2]": "correct", "dL/dgamma2[1]": "correct",
                   "dL/dbeta2[2]": "wrong"}


RNN_PARAMETERS = [("W", i, j) for i in range(2) for j in range(2)] + [
    ("U", i, k) for i in range(2) for k in range(2)] + [("b", i) for i in range(2)] + [("V", i) for i in range(2)]


def rmsprop(p: dict, steps: int = 2, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8) -> dict:
    """PyTorch's RMSprop on every parameter of the rnn problem, gradients by differences."""
    p, v = json.loads(json.dumps(p)), {path: 0.0 for path in RNN_PARAMETERS}
    for _ in range(steps):
        grads = {path: derivative(lambda q: rnn_forward(q)[1], p, path) for path in RNN_PARAMETERS}
        for path, g in grads.items():
            v[path] = alpha * v[path] + (1 - alpha) * g * g
            holder = p[path[0]] if len(path) == 2 else p[path[0]][path[1]]
            holder[path[-1]] -= lr * g / (math.sqrt(v[path]) + eps)
    return p


def test_check_judges_an_optimizer_update_against_its_steps(files):
    """After two RMSprop steps the parameter is not θ − η g: a right value is correct, and the
    plain gradient step (what replaying the gradient would give) is wrong."""
    after = rmsprop(RNN_P)["U"][0][1]
    plain = RNN_P["U"][0][1] - 0.1 * derivative(lambda q: rnn_forward(q)[1], RNN_P, ("U", 0, 1))
    assert verdicts(files, "rnn", {"updated": {"U1[1,2]": round(after, 6)}}) == {"updated U1[1,2]": "correct"}
    assert verdicts(files, "rnn", {"updated": {"U1[1,2]": round(plain, 6)}}) == {"updated U1[1,2]": "wrong"}


def test_check_reads_a_written_solution_with_the_new_names(files):
    hs, _ = rnn_forward(RNN_P)
    dU = derivative(lambda q: rnn_forward(q)[1], RNN_P, ("U", 0, 1))
    (files / "rnn-written.md").write_text(
        f"$$h^{{[1](1)}}_1 = \\tanh(0.52) = {hs[1][0]:.4f}$$\n\n"
        f"$$h^{{[1](3)}}_{{2}} = {hs[3][1] + 0.1:.4f}$$\n\n"
        f"$$\\frac{{\\partial L}}{{\\partial U^{{[1]}}_{{12}}}} = {dU:.5f}$$\n")
    done = run_here("check", str(files / "rnn.toml"), str(files / "rnn-written.md"), "--json")
    got = {i["key"]: i["verdict"] for i in json.loads(done.stdout)["items"]}
    assert got == {"h1[1][1]": "correct", "h1[3][2]": "wrong", "dL/dU1[1,2]": "correct"}


def test_names_with_several_index_groups_are_accepted():
    for name in ("z1[2][1]", "h1[3][2]", "K1[1,1,2,2]", "gamma2[1]", "x[2][1,3,3]"):
        assert variantspec.QUANTITY.match(name) and prose.NAME.match(name) and prose.VALUE_NAME.match(name)
        assert prose.VALUE_NAME.match(f"dL/d{name}")
    assert not variantspec.QUANTITY.match("z1[2][")


# --- variants ------------------------------------------------------------------------------------


def test_variants_draw_recurrent_weights_and_redo_the_optimizer(files):
    problem = RNN + """[variants]
U1 = { uniform = [-0.5, 0.5], step = 0.1 }
"h1[0][1]" = { choose = [0.0, 0.2] }
avoid = ["duplicate"]
require = ["h1[3][1] > -0.9"]
"""
    made = symgrad.api.variants(tomllib.loads(problem), n=2, seed=3)
    for variant in made.variants:
        p = json.loads(json.dumps(RNN_P))
        p["U"] = [[variant.given[f"U1[{i},{k}]"] for k in (1, 2)] for i in (1, 2)]
        p["h0"][0] = variant.given["h1[0][1]"]
        hs, loss = rnn_forward(p)
        solution = variant.sheet.questions[0].parts[0].solution
        assert solution.values["h1[3][2]"] == pytest.approx(hs[3][1], rel=1e-9)
        assert solution.values["L"] == pytest.approx(loss, rel=1e-9)
        assert solution.updated["U1[2,1]"] == pytest.approx(rmsprop(p)["U"][1][0], rel=1e-6)
        # the problem the variant states carries the drawn numbers
        layer = solution.spec.network.layers[0]
        assert layer.recurrent[0][1] == variant.given["U1[1,2]"] and layer.h0[0] == variant.given["h1[0][1]"]


def test_variants_draw_a_kernel_and_batch_normalisation(files):
    problem = CONV1D + """[variants]
K1 = { choose = [0.5, -0.5, 1.0] }
avoid = ["duplicate"]
"""
    made = symgrad.api.variants(tomllib.loads(problem), n=2, seed=1)
    for variant in made.variants:
        p = {**CONV1D_P, "K": [variant.given["K1[1,1,1]"], variant.given["K1[1,1,2]"]]}
        solution = variant.sheet.questions[0].parts[0].solution
        assert solution.values["L"] == pytest.approx(conv1d_loss(p), rel=1e-9)
        assert solution.gradients["dL/dK1[1,1,1]"].value == pytest.approx(
            derivative(conv1d_loss, p, ("K", 0)), rel=1e-6)
    problem = BN + """[variants]
gamma2 = { uniform = [0.5, 1.5], step = 0.1 }
avoid = ["duplicate"]
"""
    variant = symgrad.api.variants(tomllib.loads(problem), n=1, seed=2).variants[0]
    p = {**BN_P, "gamma": [variant.given["gamma2[1]"], variant.given["gamma2[2]"]]}
    solution = variant.sheet.questions[0].parts[0].solution
    assert solution.values["L"] == pytest.approx(bn_forward(p)["L"], rel=1e-9)


def test_variants_refuse_the_learning_rate_of_an_optimizer(files):
    rated = RNN + '[variants]\neta = { choose = [0.1, 0.2] }\n'
    path = files / "rnn-eta.toml"
    path.write_text(rated)
    done = run_here("variants", str(path), "-n", "1", "-o", str(files / "refused"))
    assert done.returncode == 2 and "optimizer" in done.stderr and "Traceback" not in done.stderr


def test_variants_refuse_one_examples_initial_state(files):
    problem = RNN.replace('[data]\nx = [[1.0, 0.5], [-0.5, 0.0], [2.0, 1.0]]\ny = [0.5]',
                          '[data]\nx = [[[1.0, 0.5], [-0.5, 0.0], [2.0, 1.0]], [[0, 1], [1, 0], [0, 0]]]\n'
                          'y = [[0.5], [0.1]]')
    assert "[[0, 1], [1, 0], [0, 0]]" in problem
    problem += '[variants]\n"h1[1][0][1]" = { choose = [0.0, 0.2] }\n'
    with pytest.raises(symgrad.errors.ProblemError, match="h0"):
        symgrad.api.variants(tomllib.loads(problem), n=1)
