"""Exam variants (`symgrad variants`, `symgrad.variants`): each variant's numbers against finite
differences of the independent forward pass (tests/oracle.py), every condition honoured, the same
seed giving the same files, and hostile [variants] tables refused in one line with nothing written.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
import shutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

import symgrad
from symgrad.analyses.variants import VariantsError
from symgrad.output.exam import combined, json_template, variant_files, variant_json
from symgrad.output.jsonout import solution_json

from cli import assert_bad_input, run_here
from oracle import central_difference, forward

TANH_NET = """
title = "A 2-2-1 network"
[network]
inputs = 2
loss = "bce"
learning_rate = 0.5
[[network.layer]]
units = 2
activation = "tanh"
biases = [0.1, -0.1]
[[network.layer]]
units = 1
activation = "sigmoid"
biases = [0.2]
[data]
x = [0.5, 1.0]
[ask]
gradients = ["W2[1,1]", "W1[1,2]", "b1[1]", "b2[1]", "x[2]"]
update = true
[variants]
W1 = { uniform = [-1, 1], step = 0.1 }
W2 = { uniform = [-2, 2], step = 0.5 }
x = { choose = [[1, 0.5], [0.5, 1], [1, 1]] }
y = { choose = [0, 1] }
"b1[2]" = { choose = [-0.2, 0.3] }
require = ["abs(z2[1]) > 0.2", "yhat[1] < 0.9", "abs(dL/dW1[1,2]) >= 0.001"]
"""

RELU_NET = """
[network]
inputs = 2
loss = "half_squared_error"
learning_rate = 0.1
[[network.layer]]
units = 3
activation = "relu"
biases = [0, 0, 0]
[[network.layer]]
units = 1
activation = "identity"
weights = [[1, -1, 0.5]]
biases = [0]
[data]
y = [1]
[ask]
gradients = ["W1[1,1]", "W2[1,2]"]
[variants]
W1 = { uniform = [-1, 1], step = 0.25 }
x = { uniform = [-2, 2], step = 0.5 }
"""

GRAPH = """
[graph]
output = "f"
learning_rate = 0.1
[graph.define]
f = "sin(g) + h**2"
g = "x1*exp(x2)"
h = "x1 + x2**2"
[data]
x1 = 1.0
x2 = 0.5
[ask]
update = true
[variants]
x1 = { uniform = [-1, 1], step = 0.05 }
x2 = { choose = [0.5, -0.5, 1.5] }
require = ["f > 0", "df/dx1 > 0.5"]
"""


def write(folder: Path, text: str, name: str = "net.toml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


@functools.lru_cache(maxsize=None)
def drawn(text: str, n: int, seed: int) -> Any:
    """symgrad.variants of a problem text, once per session."""
    return symgrad.variants(tomllib.loads(text), n=n, seed=seed)


def layers_of(spec: Any) -> list[tuple[list[list[float]], list[float], str]]:
    return [([list(map(float, row)) for row in layer.weights], [float(b) for b in layer.biases],
             layer.activation) for layer in spec.network.layers]


def oracle_loss(spec: Any, change: tuple[str, float] | None = None) -> float:
    """The loss by the independent forward pass, with one leaf (W2[1,1], b1[2], x[1]) changed."""
    layers = layers_of(spec)
    x = [float(v) for v in spec.data["x"]]
    y = [float(v) for v in spec.data["y"]]
    if change is not None:
        name, value = change
        family, index = name.split("[")
        index = [int(i) - 1 for i in index.rstrip("]").split(",")]
        if family == "x":
            x[index[0]] = value
        elif family.startswith("W"):
            layers[int(family[1:]) - 1][0][index[0]][index[1]] = value
        else:
            layers[int(family[1:]) - 1][1][index[0]] = value
    return forward(x, layers, y, spec.network.loss)


def leaf_value(spec: Any, name: str) -> float:
    family, index = name.split("[")
    index = [int(i) - 1 for i in index.rstrip("]").split(",")]
    if family == "x":
        return float(spec.data["x"][index[0]])
    layer = spec.network.layers[int(family[1:]) - 1]
    return float(layer.weights[index[0]][index[1]] if family[0] == "W" else layer.biases[index[0]])


@pytest.mark.parametrize("text", [TANH_NET, RELU_NET], ids=["tanh-sigmoid-bce", "relu"])
def test_every_variant_matches_finite_differences(text: str) -> None:
    made = drawn(text, 12, 7)
    assert len(made.variants) == 12
    for v in made.variants:
        solution = v.sheet.single
        spec = solution.spec
        assert solution.values["L"] == pytest.approx(oracle_loss(spec), rel=1e-12, abs=1e-12)
        for name, value in v.given.items():  # the drawn values are in the variant's problem
            assert (leaf_value(spec, name) if name[0] in "Wbx" else float(spec.data["y"][0])) == value
        zs = [z for k, z in solution.values.items() if k.startswith("z1[")]
        if spec.network.layers[0].activation == "relu" and min(abs(z) for z in zs) < 1e-4:
            continue  # at a kink the finite difference is no derivative
        for key, g in solution.gradients.items():
            name = key.split("/d", 1)[1]
            at = leaf_value(spec, name)
            fd = central_difference(lambda t: oracle_loss(spec, (name, t)), at)
            assert g.value == pytest.approx(fd, rel=1e-5, abs=1e-7), (v.id, key)
            assert v.answers[key] == g.value
        eta = spec.network.learning_rate
        for name, new in solution.updated.items():
            assert new == pytest.approx(leaf_value(spec, name) - eta * solution.gradients[f"dL/d{name}"].value)
            assert v.answers[f"updated {name}"] == new


def test_every_condition_is_honoured() -> None:
    made = drawn(TANH_NET, 12, 7)
    seen = set()
    for v in made.variants:
        values, gradients = v.sheet.single.values, v.sheet.single.gradients
        assert abs(values["z2[1]"]) > 0.2 and values["yhat[1]"] < 0.9
        assert abs(gradients["dL/dW1[1,2]"].value) >= 0.001
        assert all(abs(values[f"z1[{i}]"]) <= 2 for i in (1, 2))  # no saturated tanh unit
        assert abs(values["z2[1]"]) <= 4  # nor sigmoid
        assert all(abs(g.value) >= 0.5e-4 for g in gradients.values())  # none rounds to 0
        key = tuple(sorted(v.given.items()))
        assert key not in seen
        seen.add(key)
        # on the grid, within the ranges, from the lists
        assert all(-1 <= v.given[f"W1[{i},{j}]"] <= 1 and round(v.given[f"W1[{i},{j}]"] * 10) ==
                   v.given[f"W1[{i},{j}]"] * 10 for i in (1, 2) for j in (1, 2))
        assert v.given["W2[1,2]"] in (-2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2)
        assert (v.given["x[1]"], v.given["x[2]"]) in ((1, 0.5), (0.5, 1), (1, 1))
        assert v.given["y[1]"] in (0, 1) and v.given["b1[2]"] in (-0.2, 0.3)
    rejected = made.rejected
    assert rejected["require[1] abs(z2[1]) > 0.2"] > 0 and rejected["require[2] yhat[1] < 0.9"] > 0
    assert made.draws == 1024  # one batch sufficed
    for key, (low, mid, high) in made.spread.items():
        values = [v.answers[key] for v in made.variants]
        assert (low, high) == (min(values), max(values)) and low <= mid <= high


def test_relu_layers_are_never_all_dead_and_the_defaults_switch_off() -> None:
    made = drawn(RELU_NET, 12, 3)
    for v in made.variants:
        assert any(v.sheet.single.values[f"z1[{i}]"] > 0 for i in (1, 2, 3))
    assert made.rejected["a ReLU layer with every unit dead (z <= 0)"] > 0
    off = drawn(RELU_NET + 'avoid = []\n', 40, 3)
    assert "a ReLU layer with every unit dead (z <= 0)" not in off.rejected
    assert any(all(v.sheet.single.values[f"z1[{i}]"] <= 0 for i in (1, 2, 3)) for v in off.variants)


def test_a_graph_draws_its_leaves() -> None:
    made = drawn(GRAPH, 6, 1)
    for v in made.variants:
        s = v.sheet.single
        x1, x2 = v.given["x1"], v.given["x2"]
        assert s.values["f"] == pytest.approx(math.sin(x1 * math.exp(x2)) + (x1 + x2**2) ** 2)
        assert s.values["f"] > 0 and s.gradients["df/dx1"].value > 0.5
        fd = central_difference(lambda t: math.sin(t * math.exp(x2)) + (t + x2**2) ** 2, x1)
        assert s.gradients["df/dx1"].value == pytest.approx(fd, rel=1e-6)


def test_same_seed_same_files_and_fewer_variants_are_a_prefix() -> None:
    made = drawn(TANH_NET, 12, 7)
    first = variant_files(made, "net", ["md"])
    again = variant_files(drawn(TANH_NET + "\n", 12, 7), "net", ["md"])  # drawn again, not cached
    assert first == again
    other = drawn(TANH_NET, 12, 8)
    assert [v.given for v in other.variants] != [v.given for v in made.variants]
    fewer = drawn(TANH_NET, 5, 7)
    assert [v.given for v in fewer.variants] == [v.given for v in made.variants[:5]]
    manifest = json.loads(first["variants.json"])
    assert [m["id"] for m in manifest] == [f"v{k:02d}" for k in range(1, 13)]
    assert manifest[0]["given"] == made.variants[0].given
    rows = list(csv.reader(io.StringIO(first["variants.csv"])))
    assert rows[0][:3] == ["id", "W1[1,1]", "W1[1,2]"] and "dL/dW2[1,1]" in rows[0]
    assert [float(x) for x in rows[1][1:]] == [*made.variants[0].given.values(),
                                               *made.variants[0].answers.values()]
    assert "draws rejected" in first["report.txt"]


def test_the_json_of_a_variant_is_its_solutions() -> None:
    """The manifest's solution objects reuse the base's expressions with each variant's numbers:
    they must be exactly what solve --json gives for that variant's solution."""
    made = drawn(TANH_NET, 12, 7)
    template = json_template(made.base)
    for v in made.variants[:4]:
        assert variant_json(v, template) == solution_json(v.sheet.single, v.sheet.notation)


def test_the_command_writes_every_file(tmp_path: Path) -> None:
    problem = write(tmp_path, TANH_NET)
    out = run_here("variants", str(problem), "-n", "3", "--seed", "5", "-o", str(tmp_path / "v"),
                   cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    names = sorted(p.name for p in (tmp_path / "v").iterdir())
    assert names == ["net-v1-questions.tex", "net-v1.tex", "net-v2-questions.tex", "net-v2.tex",
                     "net-v3-questions.tex", "net-v3.tex", "report.txt", "variants.csv",
                     "variants.json"]
    key = (tmp_path / "v" / "net-v2.tex").read_text()
    assert "variant 2" in key and "\\printanswers" in key
    assert "\\printanswers" not in (tmp_path / "v" / "net-v2-questions.tex").read_text()
    manifest = json.loads((tmp_path / "v" / "variants.json").read_text())
    assert set(manifest[0]) == {"id", "given", "solution"}
    assert "draws rejected" in out.stdout


def test_a_folder_in_the_way_stops_the_run_before_any_file(tmp_path: Path) -> None:
    """A folder named like one of the outputs (report.txt, written last) is one line, and none
    of the files before it is written: not half the variants."""
    problem = write(tmp_path, TANH_NET)
    out = tmp_path / "exam"
    (out / "report.txt").mkdir(parents=True)
    result = run_here("variants", str(problem), "-n", "2", "-o", str(out), cwd=tmp_path)
    assert_bad_input(result, "report.txt", "a folder has that name")
    assert [p.name for p in out.iterdir()] == ["report.txt"]


def test_the_csv_holds_no_spreadsheet_formula(tmp_path: Path) -> None:
    """A question's number heads the CSV's answer columns: "=HYPERLINK(...)" is text there, not
    a formula a spreadsheet would run."""
    sheet = "title = \"S\"\n[[question]]\nnumber = \"=HYPERLINK(1)\"\n" + TANH_NET.replace(
        'title = "A 2-2-1 network"\n', "").replace("[network]", "[question.network]").replace(
        "[[network.layer]]", "[[question.network.layer]]").replace("[data]", "[question.data]").replace(
        "[ask]", "[question.ask]")
    problem = write(tmp_path, sheet, "sheet.toml")
    out = run_here("variants", str(problem), "-n", "2", "-o", str(tmp_path / "v"), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    header = next(csv.reader(io.StringIO((tmp_path / "v" / "variants.csv").read_text())))
    assert any(c.startswith("'=HYPERLINK(1)") for c in header)
    assert not any(c[:1] in "=+-@" for c in header)


def test_conditions_that_cannot_be_met_are_one_line(tmp_path: Path) -> None:
    problem = write(tmp_path, TANH_NET.replace('require = [', 'draws = 2000\nrequire = ["L < 0", '))
    out = run_here("variants", str(problem), "-n", "2", "-o", str(tmp_path / "v"), cwd=tmp_path)
    assert_bad_input(out, "net.toml", "variants", "only 0 of 2", "2000 draws", "require[1] L < 0: 2000")
    assert not (tmp_path / "v").exists()
    with pytest.raises(VariantsError):
        symgrad.variants(problem, n=2)


BAD = "W1 = { uniform = [-1, 1], step = 0.1 }\n"
HOSTILE: dict[str, tuple[str, tuple[str, ...]]] = {
    "not a table": ("variants = 3\n", ("variants", "expected a table")),
    "zero step": ("W1 = { uniform = [-1, 1], step = 0 }\n", ("variants.W1.step", "positive")),
    "negative step": ("W1 = { uniform = [-1, 1], step = -0.1 }\n", ("variants.W1.step",)),
    "low above high": ("W1 = { uniform = [1, -1], step = 0.1 }\n", ("variants.W1.uniform", "low <= high")),
    "infinite bound": ("W1 = { uniform = [-1, inf], step = 0.1 }\n", ("finite",)),
    "a grid too fine": ("W1 = { uniform = [-1e9, 1e9], step = 1e-6 }\n", ("variants.W1.step", "points")),
    "three bounds": ("W1 = { uniform = [-1, 0, 1], step = 0.1 }\n", ("variants.W1.uniform", "[low, high]")),
    "an unknown key": ("W1 = { uniform = [-1, 1], step = 0.1, seed = 3 }\n", ("variants.W1", "'seed'")),
    "no distribution": ("W1 = 0.5\n", ("variants.W1", "uniform")),
    "an empty choice": ("y = { choose = [] }\n", ("variants.y.choose", "non-empty")),
    "ragged choices": ("x = { choose = [[1, 2], [1]] }\n", ("variants.x.choose", "one shape")),
    "strings to choose": ("x = { choose = ['a', 'b'] }\n", ("variants.x.choose",)),
    "the wrong shape": ("x = { choose = [[1, 2, 3]] }\n", ("variants.x.choose", "shape (2)", "got 3")),
    "a matrix of the wrong shape": ("W1 = { choose = [[[1, 2]]] }\n", ("variants.W1.choose", "2 x 2")),
    "too many choices": ("y = { choose = [%s] }\n" % ", ".join(["0"] * 10_001), ("variants.y.choose", "10000")),
    "no such quantity": ("W3 = { uniform = [-1, 1], step = 0.1 }\n", ("variants.W3", "no quantity named 'W3'")),
    "a name that is no name": ('"W1; rm -rf" = { choose = [1] }\n', ("variants", "quantity")),
    "drawn twice": (BAD + '"W1[1,1]" = { choose = [1] }\n', ('variants.W1[1,1]', "drawn twice")),
    "code in a condition": (BAD + "require = [\"__import__('os').system('x') > 0\"]\n",
                            ("variants.require[1]", "not allowed")),
    "no comparison": (BAD + 'require = ["abs(z2[1])"]\n', ("variants.require[1]", "comparison")),
    "a constant comparison": (BAD + 'require = ["1 < 2"]\n', ("variants.require[1]", "comparison")),
    "a syntax error": (BAD + 'require = ["z2[1] <"]\n', ("variants.require[1]", "position")),
    "an unknown quantity": (BAD + 'require = ["z9[1] < 1"]\n', ("variants.require[1]", "z9[1]")),
    "a gradient not asked": (BAD + 'require = ["dL/dW1[2,2] < 1"]\n', ("variants.require[1]", "dL/dW1[2,2]")),
    "a bad avoid": (BAD + 'avoid = ["everything"]\n', ("variants.avoid", "saturated")),
    "too many draws": (BAD + "draws = 10000001\n", ("variants.draws", "1000000")),
    "no value": ("W2 = { uniform = [-1, 1], step = 0.1 }\n", ("variants", "W1[1,1] has no value")),
}

SMALL = """
[network]
inputs = 2
loss = "half_squared_error"
[[network.layer]]
units = 2
activation = "sigmoid"
[[network.layer]]
units = 1
activation = "sigmoid"
weights = [[0.5, -0.5]]
[data]
x = [1, 2]
y = [1]
[ask]
gradients = ["W1[1,1]"]
[variants]
"""


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_variants_table_is_one_line(name: str, tmp_path: Path) -> None:
    table, expected = HOSTILE[name]
    text = table + SMALL.replace("[variants]\n", "") if name == "not a table" else SMALL + table
    problem = write(tmp_path, text, "hostile.toml")
    out = run_here("variants", str(problem), "-n", "2", "-o", str(tmp_path / "v"), cwd=tmp_path)
    assert_bad_input(out, "hostile.toml", *expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.toml"]  # nothing written


@pytest.mark.parametrize("args, expected", [
    (["-n", "0"], "-n 0"), (["-n", "10001"], "10000"), (["--seed", "-1"], "--seed -1"),
    (["-n", "two"], "invalid int"), (["--format", "pdf"], "invalid choice"),
    (["-o", "-"], "-o -"),
])
def test_bad_options_are_one_line(args: list[str], expected: str, tmp_path: Path) -> None:
    problem = write(tmp_path, SMALL + BAD, "p.toml")
    out = run_here("variants", str(problem), *args, cwd=tmp_path)
    assert_bad_input(out, expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.toml"]


def test_a_file_without_variants(tmp_path: Path) -> None:
    plain = SMALL.replace("[variants]\n", "").replace('activation = "sigmoid"\n', 'activation = "sigmoid"\nweights = [[1, 2], [3, 4]]\n', 1)
    problem = write(tmp_path, plain, "p.toml")
    out = run_here("variants", str(problem), "-o", str(tmp_path / "v"), cwd=tmp_path)
    assert_bad_input(out, "p.toml", "variants", "expected a [variants] table")
    with_table = write(tmp_path, plain + "[variants]\n" + BAD, "q.toml")
    assert symgrad.solve(with_table).values == symgrad.solve(problem).values  # solve ignores it


needs_tex = pytest.mark.skipif(
    not (shutil.which("latexmk") or shutil.which("pdflatex")) and not os.environ.get("CI"),
    reason="no TeX engine here",
)


@needs_tex
def test_all_keys_compile_as_one_document(tmp_path: Path) -> None:
    """--pdf compiles every key in one TeX run (and every question sheet in another): the
    combined document of two variants' keys compiles, a page or more each."""
    from symgrad.output.pdf import compile_pdf

    files = variant_files(drawn(TANH_NET, 12, 7), "net")
    keys = [files[f"net-v{k:02d}.tex"] for k in (1, 2)]
    document = combined(keys)
    assert document.count("\\begin{document}") == 1 and document.count("\\end{document}") == 1
    pdf, log = compile_pdf(document, "net-keys.tex")
    assert pdf.startswith(b"%PDF")
    pages = [line for line in log.splitlines() if "Output written on" in line]
    assert pages and int(pages[-1].split("(")[1].split()[0]) >= 2


def test_an_unspecified_function_has_no_numbers(tmp_path: Path) -> None:
    text = SMALL.replace('activation = "sigmoid"', 'activation = "g"', 1) + "x = { choose = [1, 2] }\n"
    problem = write(tmp_path, text.replace("[[network.layer]]\nunits = 2\nactivation = \"g\"\n",
                                           "[[network.layer]]\nunits = 2\nactivation = \"g\"\nweights = [[1, 2], [3, 4]]\n"), "g.toml")
    out = run_here("variants", str(problem), "-n", "2", "-o", str(tmp_path / "v"), cwd=tmp_path)
    assert_bad_input(out, "g.toml", "variants", "the function g is unspecified")
    assert not (tmp_path / "v").exists()
