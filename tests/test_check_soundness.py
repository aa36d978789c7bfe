"""`symgrad check` never gives a false verdict on a simulated student's line.

tests/submissions.py draws networks (every activation and loss) and computation graphs, and
simulates students who work them out with their own rounded numbers: all right ("a"), one slip
carried forward ("b"), one slip not carried forward ("c"), each line with the verdict it must
get (a verdict the README allows as well is not a failure: `submissions.disputable`).  Each
problem is solved once and many submissions are checked against it.  A failure prints the
problem, the submission, the item that disagrees, and the submission cut down to the lines that
line was computed from.

The generator is checked first, against a computation that shares nothing with its student:
a forward pass in mpmath at 40 digits, and every gradient by mpmath's numerical derivative of
that forward pass.  symgrad computes none of the expected numbers (only the LaTeX names come
from symgrad's notation).

    python -m pytest -q tests/test_check_soundness.py
    python bench/bench_check_soundness.py --n 2000      # more cases, counted by kind of failure
"""

from __future__ import annotations

import functools
import random
from decimal import Decimal
from typing import Any

import mpmath
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import submissions as S

POOL = 10  # problems of each family, each solved once
MAX_LINES = 45  # the test keeps to problems of at most this many quantities (the bench has all)


@functools.lru_cache(maxsize=None)
def pooled(family: str, index: int) -> tuple[S.Problem, S.Checked]:
    rng = random.Random(f"soundness {family} {index}")
    while True:
        problem = S.draw_problem(rng, family, title=f"{family} {index}")
        if problem.size <= MAX_LINES:
            return problem, S.Checked(problem)


def judge(family: str, index: int, seed: int, kind: str) -> None:
    problem, checked = pooled(family, index)
    try:
        sub = S.make(problem, kind, random.Random(seed))
    except S.Degenerate:
        return
    found = S.disagreements(sub, checked.check(sub.text))
    if found:
        first = found[0]
        small, again = S.minimize(checked, sub, first)
        pytest.fail(f"{len(found)} line(s) judged falsely; the first:\n"
                    f"{S.explain(sub, first, found)}\n\n"
                    f"=== reduced to the lines that line was computed from:\n"
                    f"{S.explain(small, None, again)}", pytrace=False)


SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=45,
                    phases=[Phase.explicit, Phase.generate],  # a failure prints as found
                    suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("family", ["network", "graph"])
@pytest.mark.parametrize("kind", ["a", "b", "c"])
@SETTINGS
@given(index=st.integers(0, POOL - 1), seed=st.integers(0, 2**32 - 1))
def test_check_is_sound(family: str, kind: str, index: int, seed: int) -> None:
    judge(family, index, seed, kind)


# ---------------------------------------------------------------------------------------------
# The generator itself


mpmath.mp.dps = 40
MP = mpmath.mpf


def mp_sigmoid(v: Any) -> Any:
    return 1 / (1 + mpmath.exp(-v))


MP_ACT = {
    "identity": lambda v: v, "sigmoid": mp_sigmoid, "tanh": mpmath.tanh,
    "relu": lambda v: v if v > 0 else MP(0), "leaky_relu": lambda v: v if v > 0 else MP("0.01") * v,
    "softplus": lambda v: mpmath.log(1 + mpmath.exp(v)), "exp": mpmath.exp,
}


def mp_loss(loss: str, p: list[Any], t: list[Any]) -> Any:
    if loss == "half_squared_error":
        return sum((a - b) ** 2 / 2 for a, b in zip(p, t))
    if loss == "squared_error":
        return sum((a - b) ** 2 for a, b in zip(p, t))
    if loss == "absolute_error":
        return sum(abs(a - b) for a, b in zip(p, t))
    if loss == "cross_entropy":
        return -sum(b * mpmath.log(a) for a, b in zip(p, t))
    ll = sum(b * mpmath.log(a) + (1 - b) * mpmath.log(1 - a) for a, b in zip(p, t))
    return -ll if loss == "bce" else ll


def net_forward(net: S.Net, moved: dict[str, Any]) -> dict[str, Any]:
    """Every node of the network at 40 digits; `moved` puts a value in place of a node's (a
    parameter, z, a, ŷ) and works the rest out from it."""
    v: dict[str, Any] = {}

    def put(key: str, value: Any) -> Any:
        v[key] = moved.get(key, value)
        return v[key]

    below = [put(f"x[{j + 1}]", MP(x)) for j, x in enumerate(net.x)]
    depth = len(net.layers)
    for l, (weights, biases, activation) in enumerate(net.layers, 1):
        zs = []
        for i, row in enumerate(weights, 1):
            ws = [put(f"W{l}[{i},{j}]", MP(w)) for j, w in enumerate(row, 1)]
            b = put(f"b{l}[{i}]", MP(biases[i - 1]))
            zs.append(put(f"z{l}[{i}]", sum(w * a for w, a in zip(ws, below)) + b))
        name = "yhat" if l == depth else f"a{l}"
        if activation == "softmax":
            e = [mpmath.exp(z) for z in zs]
            below = [put(f"{name}[{i + 1}]", e[i] / sum(e)) for i in range(len(zs))]
        else:
            below = [put(f"{name}[{i + 1}]", MP_ACT[activation](z)) for i, z in enumerate(zs)]
    v["L"] = mp_loss(net.loss, below, [MP(t) for t in net.y])
    return v


def mp_eval(e: S.E, env: dict[str, Any]) -> Any:
    if isinstance(e, S.Num):
        return MP(e.text)
    if isinstance(e, S.Var):
        return env[e.name]
    if isinstance(e, S.Fn):
        a = mp_eval(e.a, env)
        return {"exp": mpmath.exp, "log": mpmath.log, "sin": mpmath.sin, "cos": mpmath.cos,
                "tanh": mpmath.tanh, "sigmoid": mp_sigmoid, "abs": abs}[e.f](a)
    if isinstance(e, S.Neg):
        return -mp_eval(e.a, env)
    if isinstance(e, S.Pow):
        return mp_eval(e.a, env) ** e.n
    a, b = mp_eval(e.a, env), mp_eval(e.b, env)  # type: ignore[attr-defined]
    return {S.Add: lambda: a + b, S.Sub: lambda: a - b, S.Mul: lambda: a * b,
            S.Div: lambda: a / b}[type(e)]()


def graph_forward(g: S.Graph, moved: dict[str, Any]) -> dict[str, Any]:
    env = {x: moved.get(x, MP(v)) for x, v in g.values.items()}
    for name, e in g.define.items():
        env[name] = moved.get(name, mp_eval(e, env))
    return env


def reference(problem: S.Problem) -> dict[str, Any]:
    """Every quantity the student writes, at 40 digits, with each derivative taken numerically
    (mpmath.diff) through the forward pass: nothing of the student's chain rule is used."""
    if problem.family == "network":
        net = problem.info["net"]
        forward: Any = functools.partial(net_forward, net)
        top = "L"
    else:
        graph = problem.info["graph"]
        forward = functools.partial(graph_forward, graph)
        top = "f"
    base = forward({})
    out: dict[str, Any] = {}
    for key in problem.exact:
        if key.startswith("updated "):
            name = key[len("updated "):]
            eta = problem.data["eta"]
            out[key] = base[name] - MP(eta) * mpmath.diff(
                lambda e: forward({name: base[name] + e})[top], 0)
        elif "/d" in key:
            of, wrt = key[1:].split("/d", 1)
            out[key] = mpmath.diff(lambda e: forward({wrt: base[wrt] + e})[of], 0)
        else:
            out[key] = base[key]
    return out


@pytest.mark.parametrize("family", ["network", "graph"])
def test_the_students_chain_rule_agrees_with_numerical_derivatives(family: str) -> None:
    """Worked out without rounding, in every style a student may write, each quantity of the
    student's agrees with the 40-digit reference to 1e-9."""
    rng = random.Random(f"generator {family}")
    for _ in range(25 if family == "network" else 40):
        problem = S.draw_problem(rng, family)
        ref = reference(problem)
        for path in (["a", "z"] if family == "network" else ["parent", "child"]):
            for shortcut in (False, True):
                style = S.draw_style(rng, family)
                style.update(path=path, shortcut=shortcut)
                mine = S.exact_values(problem.build(style), problem.data)
                for key, value in mine.items():
                    want = float(ref[key])
                    assert abs(value - want) <= 1e-9 * max(1.0, abs(want)), (
                        f"{key}: {value} against {want} ({style})\n{problem.toml}")


def test_the_students_rounding_and_slips() -> None:
    """Kind a: every value is its working rounded to the submission's figures, and within the
    rounding the student did of the 40-digit value (a generous bound: 10^(2−s) relative to the
    largest quantity its working uses).  Kinds b and c: the slip is at least 1% and 3 units of
    its last digit; b's later lines that change are the correct-ecf ones; c's later lines are
    unchanged, or (where they use the slipped quantity, unrounded) close to unchanged."""
    rng = random.Random("rounding")
    for k in range(30):
        problem = S.draw_problem(rng, ["network", "graph"][k % 2])
        ref = reference(problem)
        a = S.make(problem, "a", rng)
        for line in a.lines:
            assert line.expected == "correct"
            text = line.value
            if text not in ("0", "1", "-1", "0.01"):
                digits = len(Decimal(text).as_tuple().digits)
                assert digits == a.digits, (text, a.digits)
            exact = float(ref[line.key])
            assert abs(float(text) - exact) <= 10.0 ** (2 - a.digits) * max(1.0, abs(exact)) * 5, (
                line.tex, exact, a.digits)
        for kind in "bc":
            sub = S.make(problem, kind, rng)
            assert sub.slip is not None
            right = {line.key: line.value for line in S.run(
                problem, problem.build(sub.style), sub.digits, random.Random(0), 0.0)}
            slipped = sub.lines[sub.slip]
            was, now = Decimal(right[slipped.key]), Decimal(slipped.value)
            unit = S.unit_of(right[slipped.key])
            assert abs(now - was) >= max(abs(was) / 100, 3 * unit), (was, now)
            assert slipped.expected == "wrong"
            for n, line in enumerate(sub.lines):
                if n == sub.slip:
                    continue
                changed = line.value != right[line.key]
                if n < sub.slip or kind == "c" and sub.slip not in sub.closure(n):
                    assert not changed and line.expected == "correct", line.tex
                elif kind == "c":  # from the right value, unrounded
                    assert line.expected == "correct", line.tex
                    assert slipped.key not in line.deps or not line.working, line.tex
                else:
                    assert line.expected == ("correct-ecf" if changed else "correct"), line.tex


def test_significant_figures() -> None:
    assert S.sig(0.3775, 2) == "0.38"
    assert S.sig(0.99996, 4) == "1.000"
    assert S.sig(-0.08216704, 3) == "-0.0822"
    assert S.sig(0.000123456, 2) == "0.00012"
    assert S.sig(2.5, 6) == "2.50000"
    rng = random.Random(5)
    for _ in range(2000):
        v = rng.uniform(-9, 9) * 10.0 ** rng.randint(-4, 0)
        s = rng.randint(2, 6)
        text = S.sig(v, s)
        assert len(Decimal(text).as_tuple().digits) == s
        assert abs(float(text) - v) <= float(S.unit_of(text)) / 2 * (1 + 1e-9)
