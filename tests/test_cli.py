"""The command line: the JSON contract, and one clear line with exit status 2 for bad input."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

# In this process: the JSON and the messages are what these tests are about; the real process
# (`python -m symgrad` and its exit status) is run in test_hostile_files and test_pdf.
from cli import assert_bad_input, run_here as run


def test_json_contract() -> None:
    out = run("solve", "examples/two_two_two.toml", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) == {"title", "values", "gradients", "updated", "deltas"}
    assert data["title"] == "A 2-2-2 network"
    assert data["values"]["z1[1]"] == pytest.approx(0.3775)
    assert {"yhat[1]", "yhat[2]", "L", "a1[2]", "z2[2]"} <= set(data["values"])
    assert list(data["gradients"]) == ["dL/dW2[1,1]", "dL/db1[2]", "dL/dx[1]"]
    w = data["gradients"]["dL/dW2[1,1]"]
    assert w["value"] == pytest.approx(0.082167041, abs=1e-8)
    assert {"value", "expr", "latex", "certified", "paths"} <= set(w)
    assert w["expr"] == "a1[1]*yhat[1]*(1 - yhat[1])*(-y[1] + yhat[1])"
    assert r"\hat{y}_{1}" in w["latex"] and "a^{[1]}_{1}" in w["latex"]
    (path,) = w["paths"]
    assert [(f["of"], f["wrt"]) for f in path] == [
        ("L", "yhat[1]"), ("yhat[1]", "z2[1]"), ("z2[1]", "W2[1,1]")
    ]
    # by hand: b1[2] ← 0.35 − 0.5 · δ_h2, δ_h2 = Σ_k δ_k W2[k,2] · h2(1 − h2)
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    h = [sig(0.15 * 0.05 + 0.20 * 0.10 + 0.35), sig(0.25 * 0.05 + 0.30 * 0.10 + 0.35)]
    o = [sig(0.40 * h[0] + 0.45 * h[1] + 0.6), sig(0.50 * h[0] + 0.55 * h[1] + 0.6)]
    d = [(o[0] - 0.01) * o[0] * (1 - o[0]), (o[1] - 0.99) * o[1] * (1 - o[1])]
    d_h2 = (d[0] * 0.45 + d[1] * 0.55) * h[1] * (1 - h[1])
    assert data["updated"] == {"W2[1,1]": pytest.approx(0.35891648, abs=1e-8),
                               "b1[2]": pytest.approx(0.35 - 0.5 * d_h2, rel=1e-12)}
    # the δ of each node the asked gradients pass through, by hand
    deltas = data["deltas"]
    assert deltas["dL/dz2[1]"] == pytest.approx(d[0], rel=1e-12)
    assert deltas["dL/dz2[2]"] == pytest.approx(d[1], rel=1e-12)
    assert deltas["dL/dz1[2]"] == pytest.approx(d_h2, rel=1e-12)
    assert deltas["dL/dyhat[1]"] == pytest.approx(o[0] - 0.01, rel=1e-12)
    assert not {"dL/dW2[1,1]", "dL/dx[1]"} & set(deltas)  # a leaf's adjoint is its gradient


def test_graph_json_holds_every_variable() -> None:
    data = json.loads(run("solve", "examples/chain_rule_graph.toml", "--json").stdout)
    assert set(data["values"]) == {"f", "g1", "g2"}
    assert "df/dx1" in data["gradients"]
    assert data["gradients"]["df/dx1"]["expanded"]


def test_symbolic_values_are_strings() -> None:
    data = json.loads(run("solve", "examples/seed004.toml", "--json").stdout)
    (question,) = data["questions"]
    (part,) = question["parts"]
    value = part["gradients"]["dL/dW2[1,1]"]["value"]
    assert isinstance(value, str) and "y[1]" in value
    assert isinstance(part["values"]["yhat[1]"], float)


def test_sheet_json_carries_the_analyses() -> None:
    """seed000: the collapse (1-2 a), the matrix form (3-4 b) and the proofs (5), each against
    numbers worked out here; seed002: the dependency (2.3)."""
    data = json.loads(run("solve", "examples/seed000.toml", "--json").stdout)
    parts = {(q["number"], p["label"]): p for q in data["questions"] for p in q["parts"]}
    collapse = parts["1-2", "a"]["collapse"]
    assert collapse["weights"] == [["W1[1,1]*W2[1,1] + W1[2,1]*W2[1,2]",
                                    "W1[1,2]*W2[1,1] + W1[2,2]*W2[1,2]"]]
    assert collapse["biases"] == ["W2[1,1]*b1[1] + W2[1,2]*b1[2] + b2[1]"]
    assert collapse["weight_values"] is None and collapse["certified"] is True
    # 3-4: x = (0, 1), W1 = [[3, -1.5], [2, 3]], b1 = (3, 2.5), W2 = [[0.5, 1]], b2 = -1, y = 1
    sig = lambda z: 1 / (1 + math.exp(-z))  # noqa: E731
    h = [sig(-1.5 + 3), sig(3 + 2.5)]
    o = sig(0.5 * h[0] + h[1] - 1)
    d2 = (o - 1) * o * (1 - o)
    pulled = [0.5 * d2, 1 * d2]
    d1 = [pulled[j] * h[j] * (1 - h[j]) for j in range(2)]
    one, two = parts["3-4", "b"]["matrix"]["layers"]
    assert two["delta"] == pytest.approx([d2], rel=1e-12) and two["propagated"] is None
    assert two["derivative"] == pytest.approx([o * (1 - o)], rel=1e-12)
    assert two["weight_gradient"] == [pytest.approx([d2 * h[0], d2 * h[1]], rel=1e-12)]
    assert one["delta"] == pytest.approx(d1, rel=1e-12)
    assert one["propagated"] == pytest.approx(pulled, rel=1e-12)
    assert one["weight_gradient"] == [[0, pytest.approx(d1[0], rel=1e-12)],
                                      [0, pytest.approx(d1[1], rel=1e-12)]]  # x1 = 0
    assert one["bias_gradient"] == pytest.approx(d1, rel=1e-12)
    assert parts["3-4", "b"]["deltas"]["dL/dz1[1]"] == pytest.approx(d1[0], rel=1e-12)
    proof = parts["5", "a"]["proof"]
    assert proof["definitions"] == [["sigmoid(z)", "1/(1 + exp(-z))"]]
    assert proof["left"][0] == "Derivative(sigmoid(z), z)" and proof["right"][-1] == proof["left"][-1]
    assert parts["5", "b"]["proof"]["left"] == []  # refuted: no steps, a counterexample
    assert "counterexample" in parts["5", "b"]["verify"]
    data = json.loads(run("solve", "examples/seed002.toml", "--json").stdout)
    (dependency,) = [p["dependency"] for q in data["questions"] for p in q["parts"] if "dependency" in p]
    assert dependency["of"] == "dyhat[1]/dx[1]" and dependency["on"] == "b2[1]"
    assert dependency["depends"] is True and dependency["through"] == ["z2[1]"]
    assert "sigmoid(z2[1])" in dependency["derivative"] and dependency["witness"]


def test_text_summary() -> None:
    out = run("solve", "examples/chain_rule_graph.toml", "--text")
    assert out.returncode == 0 and "df/dx1" in out.stdout


NETWORK = """
[network]
inputs = 2
loss = "half_squared_error"
[[network.layer]]
units = 2
activation = "sigmoid"
weights = [[0.1, 0.2], [0.3, 0.4]]
[data]
x = [1, 2]
y = [0, 1]
"""


@pytest.mark.parametrize(
    "text, field, expected",
    [
        ("title = [", "", "not valid TOML"),
        ("[network]\ninputs = 2", "network.layer", "[[network.layer]]"),
        (NETWORK.replace('"sigmoid"', '"sigmod"'), "network.layer[1].activation", "unknown activation 'sigmod'"),
        (NETWORK.replace('"half_squared_error"', '"hinge"'), "network.loss", "unknown loss 'hinge'"),
        (NETWORK.replace('"half_squared_error"', '"(yhat1 - y3)**2"'), "network.loss", "unknown name 'y3'"),
        (NETWORK.replace("[[0.1, 0.2], [0.3, 0.4]]", "[[0.1, 0.2, 0.5], [0.3, 0.4, 0.6]]"),
         "network.layer[1].weights", "expected 2 rows of 2 entries"),
        (NETWORK.replace("x = [1, 2]", "x = [1]"), "data.x", "expected a list of 2 inputs"),
        (NETWORK.replace("x = [1, 2]", "x = [1, true]"), "data.x[2]", "expected a number"),
        (NETWORK + '[ask]\ngradients = ["W3[1,1]"]', "ask.gradients[1]", "W3[1,1]"),
        (NETWORK + "[ask]\nupdate = true", "ask.update", "learning_rate"),
        (NETWORK.replace('loss = "half_squared_error"', "") + '[ask]\ngradients = ["W1[1,1]"]',
         "ask.gradients[1]", "no loss"),
        (NETWORK.replace("inputs = 2", "inputs = 2\nlayers = 3"), "network.layers", "unknown field"),
        ('[graph]\noutput = "f"\n[graph.define]\nf = "__import__(\'os\').system(\'echo hi\')"',
         "graph.define.f", "not allowed"),
        ('[graph]\noutput = "f"\n[graph.define]\nf = "x.real"', "graph.define.f", "position"),
        ('[graph]\noutput = "f"\n[graph.define]\nf = "g + 1"\ng = "f * 2"', "graph.define", "cycle"),
        ('[graph]\noutput = "f"\n[graph.define]\nf = "x**2"\n[data]\nz = 1', "data.z", "no expression uses z"),
        ('[graph]\noutput = "h"\n[graph.define]\nf = "x**2"', "graph.output", "not defined"),
        ('[graph]\noutput = "f"\n[graph.define]\nf = "log(x)"\n[data]\nx = 0', "", "log"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, text: str, field: str, expected: str) -> None:
    problem = tmp_path / "bad.toml"
    problem.write_text(text)
    out = run("solve", str(problem), "--json", cwd=tmp_path)
    assert_bad_input(out, str(problem), field, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]  # nothing written


def test_missing_file() -> None:
    out = run("solve", "no/such/file.toml", "--json")
    assert out.returncode == 2 and "no/such/file.toml" in out.stderr and "cannot read" in out.stderr


def test_sigmoid_of_a_huge_number_is_stable(tmp_path: Path) -> None:
    problem = tmp_path / "big.toml"
    problem.write_text(NETWORK.replace("[[0.1, 0.2], [0.3, 0.4]]", "[[800, 0], [-800, 0]]")
                       .replace('"half_squared_error"', '"bce"').replace("y = [0, 1]", "y = [1, 0]"))
    data = json.loads(run("solve", str(problem), "--json").stdout)
    assert data["values"]["yhat[1]"] == 1.0 and data["values"]["yhat[2]"] == 0.0
    assert data["values"]["L"] == 0.0
    assert data["gradients"]["dL/dW1[1,1]"]["value"] == 0.0


def test_log_zero_is_reported_not_a_crash(tmp_path: Path) -> None:
    problem = tmp_path / "zero.toml"
    problem.write_text(NETWORK.replace("[[0.1, 0.2], [0.3, 0.4]]", "[[800, 0], [-800, 0]]")
                       .replace('"half_squared_error"', '"bce"'))
    out = run("solve", str(problem), "--json")
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and "log" in out.stderr
