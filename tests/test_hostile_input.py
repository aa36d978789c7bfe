"""Hostile problem files: each gets one line and exit status 2, never a traceback, and writes nothing.

Also the bounds stated in the README's table: a problem at a bound works, one past it is one line.
The legitimate odd cases (a constant gradient, a deep chain at the bound) must build.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli import assert_bad_input, run_here as run
from symgrad.input import limits


def graph_file(define: dict[str, str], data: str = "", extra: str = "") -> str:
    top = next(iter(define))
    lines = ["[graph]", f'output = "{top}"', extra, "[graph.define]"]
    lines += [f'{name} = "{text}"' for name, text in define.items()]
    return "\n".join(lines) + "\n[data]\n" + data + "\n"


def chain(length: int) -> str:
    """v_n = sin(v_{n-1}) ... down to the leaf v0: a chain of `length` defined variables."""
    define = {f"v{k}": f"sin(v{k - 1})" for k in range(length, 0, -1)}
    return graph_file(define, "v0 = 0.5")


def network(layers: int, units: int = 1, inputs: int = 1) -> str:
    lines = ["[network]", f"inputs = {inputs}", 'loss = "half_squared_error"']
    for _ in range(layers):
        lines += ["[[network.layer]]", f"units = {units}", 'activation = "sigmoid"']
    return "\n".join(lines) + "\n"


CASES: dict[str, tuple[bytes | str, tuple[str, ...]]] = {
    "binary": (b"\x00\x01\xff\xfe binary", ("expected UTF-8", "0xff")),
    "latin1": (b'title = "caf\xe9"\n', ("expected UTF-8", "0xe9")),
    "nested arrays": ("x = " + "[" * 1000 + "]" * 1000 + "\n", ("nested",)),
    "nested tables": ("a = " + "{b = " * 40 + "1" + "}" * 40 + "\n", ("nested",)),
    "5,000-digit integer": (graph_file({"f": "x*y"}, "x = " + "9" * 5000 + "\ny = 1"), ("digits",)),
    "19-digit integer": (graph_file({"f": "x*y"}, "x = 1000000000000000000\ny = 1"),
                         ("data.x", "18 digits")),
    "overflow of exact arithmetic": (
        graph_file({"f": "x**40/3 + y"}, "x = 10000000000\ny = 1"),
        ("f:", "too large for a floating-point number"),
    ),
    "a power too big to compute exactly": (
        graph_file({"f": "x**y"}, "x = 10000000000\ny = 1000000"), ("f:", "overflow"),
    ),
    "complex value": (graph_file({"f": "sqrt(-1)*x"}, "x = 2"), ("f:", "complex")),
    "log of a negative number": (graph_file({"f": "log(x - 3)"}, "x = 2"), ("f:", "undefined")),
    "a fractional power of a negative number": (graph_file({"f": "x**0.5"}, "x = -2"), ("f:",)),
    "nan learning rate": (
        graph_file({"f": "x**2"}, "x = 2\n[ask]\nupdate = true", "learning_rate = nan"),
        ("graph.learning_rate", "finite"),
    ),
    "infinite input": (graph_file({"f": "x**2"}, "x = inf"), ("data.x", "finite")),
    "1,200-variable chain": (chain(1200), ("graph.define", "1200 variables", "500")),
    "a chain past the depth bound": (chain(limits.DEPTH + 1), ("chain", str(limits.DEPTH))),
    "1,000 layers": (network(1000), ("network.layer", "1000 layers", str(limits.LAYERS))),
    "10**9 units": (network(1, units=10**9), ("network.layer[1].units", "512")),
    "too many inputs": (network(1, inputs=100_000), ("network.inputs",)),
    "too many parameters": (network(3, units=300, inputs=300), ("weights and biases",)),
    "a title of a million characters": ('title = "' + "x" * 30_000 + '"\n', ("title", "20000")),
    "101 questions": ("[[question]]\ntext = 'q'\n" * 101, ("question", "101 questions")),
    "an update overflowing": (
        graph_file({"f": "x**3"}, "x = 1e100\n[ask]\nupdate = true", "learning_rate = 1e200"),
        ("updated x", "inf"),
    ),
}


@pytest.mark.parametrize("name", CASES)
def test_hostile_file_is_one_line(name: str, tmp_path: Path) -> None:
    content, expected = CASES[name]
    problem = tmp_path / "hostile.toml"
    if isinstance(content, bytes):
        problem.write_bytes(content)
    else:
        problem.write_text(content)
    out_dir = tmp_path / "out"
    for args in (["--json"], ["-o", str(out_dir)]):
        out = run("solve", str(problem), *args, cwd=tmp_path)
        assert_bad_input(out, "hostile.toml", *expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hostile.toml"]  # nothing written


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_endless_files_are_refused(device: str, tmp_path: Path) -> None:
    if not Path(device).exists():
        pytest.skip(f"no {device} here")
    out = run("solve", device, "-o", str(tmp_path), cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and device in out.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_folder_as_the_problem(tmp_path: Path) -> None:
    assert_bad_input(run("solve", str(tmp_path), "--json"), str(tmp_path), "cannot read")


def test_json_is_strict_and_the_chain_at_the_bound_works(tmp_path: Path) -> None:
    """A chain of exactly DEPTH variables: no RecursionError, and ∂v_n/∂v0 = Π cos(v_{k-1})."""
    import math

    problem = tmp_path / "deep.toml"
    problem.write_text(chain(limits.DEPTH))
    out = run("solve", str(problem), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
    v, derivative = 0.5, 1.0
    for _ in range(limits.DEPTH):  # the oracle: the chain rule by hand, in floating point
        derivative *= math.cos(v)
        v = math.sin(v)
    assert data["values"][f"v{limits.DEPTH}"] == pytest.approx(v, rel=1e-12)
    assert data["gradients"][f"dv{limits.DEPTH}/dv0"]["value"] == pytest.approx(derivative, rel=1e-9)
    tex = run("solve", str(problem), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert tex.returncode == 0, tex.stderr


def test_sixty_four_layers_work(tmp_path: Path) -> None:
    problem = tmp_path / "layers.toml"
    weights = "weights = [[0.5]]\nbiases = [0.1]\n"
    text = network(limits.LAYERS).replace('activation = "sigmoid"\n', f'activation = "sigmoid"\n{weights}')
    problem.write_text(text + "[data]\nx = [1.0]\ny = [0.25]\n[ask]\ngradients = [\"W1[1,1]\"]\n")
    out = run("solve", str(problem), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    import math

    a, activations = 1.0, [1.0]
    for _ in range(limits.LAYERS):  # forward by hand, then δ back through every layer
        a = 1 / (1 + math.exp(-(0.5 * a + 0.1)))
        activations.append(a)
    delta = activations[-1] - 0.25
    for layer in range(limits.LAYERS, 0, -1):
        delta *= activations[layer] * (1 - activations[layer])
        if layer > 1:
            delta *= 0.5
    expected = delta * activations[0]
    assert json.loads(out.stdout)["gradients"]["dL/dW1[1,1]"]["value"] == pytest.approx(expected, rel=1e-9)


def test_constant_gradient_builds(tmp_path: Path) -> None:
    problem = tmp_path / "constant.toml"
    problem.write_text(graph_file({"f": "3*x"}, "x = 2"))
    out = run("solve", str(problem), "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["gradients"]["df/dx"]["value"] == 3
    tex = run("solve", str(problem), "-o", str(tmp_path / "out"), cwd=tmp_path)
    assert tex.returncode == 0, tex.stderr
    assert (tmp_path / "out" / "constant.tex").exists()


def test_a_python_dict_is_checked_as_a_file_is() -> None:
    from symgrad import ProblemError, read_problem

    with pytest.raises(ProblemError, match=r"data\.x: expected a finite number"):
        read_problem({"graph": {"output": "f", "define": {"f": "x"}}, "data": {"x": float("nan")}})
