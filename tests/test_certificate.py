"""The certificate is honest: a wrong entry in the derivative table is refused.

The derivative table is each activation's `fdiff` (σ' = σ(1 − σ), ...).  These tests patch one
entry to a wrong formula and check that solving is refused, for a network small enough to be
composed ("symbolic" / "numeric" certificates) and for one certified "local".  They also test the
one random-point checker, `agree`, and the cheap symbolic test, `cancels_to_zero`, on
expressions written here.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator

import pytest
import sympy
from sympy import Abs, Piecewise, Symbol, cos, exp, log, sin, sqrt

import symgrad
from cli import ROOT, run_here
from oracle import central_difference, forward
from symgrad.calculus import activations as act
from symgrad.calculus.agree import agree, cancels_to_zero
from symgrad.engine import certify
from symgrad.engine.certify import CertificationError

x, y = Symbol("x", real=True), Symbol("y", real=True)
TWO_TWO_TWO = str(ROOT / "examples" / "two_two_two.toml")


# ---------------------------------------------------------------------------------------------
# agree


def test_agree_on_an_identity() -> None:
    found = agree(sin(x) ** 2 + cos(x) ** 2, sympy.Integer(1))
    assert found.agrees and found.points == 6 and found.worst < 1e-15


def test_agree_finds_the_disagreement_where_it_is() -> None:
    # 1 only where x > 1.5: the point reported must lie there, with the two values
    found = agree(Piecewise((1, x > 1.5), (0, True)), sympy.Integer(0), points=50)
    assert not found.agrees
    assert found.disagreement is not None and found.disagreement["x"] > 1.5
    assert found.values == (1.0, 0.0)


def test_agree_tolerance_is_relative_and_absolute_near_zero() -> None:
    assert agree(x * 10**6, x * 10**6 + 1e-5).agrees  # 1e-11 relative
    assert not agree(x, x * (1 + 1e-6)).agrees
    assert agree(x * 1e-12, sympy.Integer(0)).agrees  # below 1e-8 absolute near 0
    assert not agree(x * 1e-6 + 1, sympy.Integer(1)).agrees


def test_agree_skips_points_where_a_side_is_undefined() -> None:
    assert agree(log(x), log(x)).points == 6  # x < 0 is skipped, x > 0 counted
    assert agree(sqrt(x) * sqrt(y), sqrt(x * y)).points == 6  # only where x, y > 0
    nowhere = agree(log(x), log(-x))  # never both defined: nothing checked, nothing refuted
    assert nowhere.points == 0 and nowhere.agrees
    big = agree(exp(exp(exp(2 * x))), exp(exp(exp(2 * x))))  # overflows for x > ~1: skipped
    assert big.agrees and big.points == 6


def test_agree_is_seeded() -> None:
    wrong = Abs(x - y)
    one, again, other = (agree(wrong, x - y, seed=s) for s in (0, 0, 1))
    assert one == again
    assert one.disagreement != other.disagreement


def test_agree_evaluates_the_activations() -> None:
    z = Symbol("z", real=True)
    assert agree(act.sigmoid(z), 1 / (1 + exp(-z))).agrees
    assert agree(act.softplus(z), log(1 + exp(z))).agrees
    assert agree(act.softmax(2, z, x, y), exp(x) / (exp(z) + exp(x) + exp(y))).agrees
    assert agree(act.relu(z), sympy.Max(z, 0)).agrees
    assert agree(sympy.Heaviside(z, 0), Piecewise((1, z > 0), (0, True))).agrees


# ---------------------------------------------------------------------------------------------
# cancels_to_zero


def test_cancels_to_zero_proves_identities_written_out() -> None:
    s = 1 / (1 + exp(-x))
    assert cancels_to_zero(s * (1 - s) - sympy.diff(s, x))
    assert cancels_to_zero(exp(x + 2 * y) - exp(x) * exp(y) ** 2)
    tanh = (exp(x) - exp(-x)) / (exp(x) + exp(-x))
    assert cancels_to_zero(1 - tanh**2 - sympy.diff(tanh, x))
    assert cancels_to_zero(sympy.Float("0.1") * x + sympy.Float("0.1") * y - sympy.Float("0.1") * (x + y))


def test_cancels_to_zero_never_proves_a_false_identity() -> None:
    s = 1 / (1 + exp(-x))
    assert not cancels_to_zero((1 - s) * (1 + s) - sympy.diff(s, x))
    assert not cancels_to_zero(exp(x) - 1 - x)
    assert not cancels_to_zero(Piecewise((x, x > 0), (0, True)) - x)  # not proved: no error


# ---------------------------------------------------------------------------------------------
# The certificate, honest and unpatched


def test_two_two_two_is_certified_symbolically_with_the_hand_value() -> None:
    g = symgrad.solve(TWO_TWO_TWO).gradients["dL/dW2[1,1]"]
    assert g.certificate == "symbolic"
    assert g.value == pytest.approx(0.08216704, rel=1e-6)  # the well-known worked example


def test_relu_step_is_certified_against_its_piecewise_definition() -> None:
    """ReLU's table gives the step H(z) (0 at 0), its definition's derivative a Piecewise."""
    solution = symgrad.solve(symgrad.read_problem(network("relu", 2, 2)))
    assert solution.gradients["dL/dW1[1,1]"].certificate == "symbolic"


def test_what_does_not_cancel_cheaply_is_certified_at_random_points() -> None:
    assert certify.check("an identity", sin(x) ** 2 + cos(x) ** 2, sympy.Integer(1)) == (
        "numeric (6 random points)")
    assert certify.check("σ'", act.sigmoid(x) * (1 - act.sigmoid(x)),
                         sympy.diff(1 / (1 + exp(-x)), x)) == "symbolic"
    with pytest.raises(CertificationError, match="σ'"):
        certify.check("σ'", (1 - act.sigmoid(x)) * (1 + act.sigmoid(x)), sympy.diff(1 / (1 + exp(-x)), x))


def test_a_wrong_displayed_form_is_refused() -> None:
    from symgrad.engine.build import build

    graph = build(symgrad.read_problem(network("sigmoid", 1, 1)))
    yhat, target, x1 = (Symbol(n, real=True) for n in ("yhat[1]", "y[1]", "x[1]"))
    wrong = (yhat - target) * (1 - yhat) * (1 + yhat) * x1  # σ' = (1 − σ)(1 + σ)
    with pytest.raises(CertificationError, match="dL/dW1"):
        certify.Certifier(graph).certify("L", "W1[1,1]", wrong, False)


def test_a_large_network_is_certified_locally() -> None:
    solution = symgrad.solve(symgrad.read_problem(network("sigmoid", 8, 3, inputs=6)))
    assert len(solution.graph.nodes) > certify.NODE_LIMIT
    assert solution.gradients["dL/dW1[1,1]"].certificate == "local"


# ---------------------------------------------------------------------------------------------
# The certificate refuses a wrong derivative table


def network(activation: str, units: int, depth: int, inputs: int = 2, loss: str = "half_squared_error",
            out: str | None = None) -> dict:
    """`depth` layers of `units` units (the last has `out`'s activation and one unit, or as many
    as softmax needs), numbers fixed, asking for ∂L/∂W1[1,1] only (cheap at any size)."""
    layers, fan_in = [], inputs
    for l in range(depth):
        last = l == depth - 1
        n = (2 if (out or activation) == "softmax" else 1) if last else units
        layers.append({
            "units": n, "activation": (out or activation) if last else activation,
            "weights": [[0.1 * ((i + 2 * j + l) % 5) - 0.2 for j in range(fan_in)] for i in range(n)],
            "biases": [0.05 * (i + 1) for i in range(n)],
        })
        fan_in = n
    y = [1.0, 0.0][: layers[-1]["units"]] if loss == "cross_entropy" else [0.3] * layers[-1]["units"]
    return {
        "network": {"inputs": inputs, "loss": loss, "layer": layers},
        "data": {"x": [0.5 - 0.2 * j for j in range(inputs)], "y": y},
        "ask": {"gradients": ["W1[1,1]"]},
    }


def wrong_sigmoid(self: act.sigmoid, argindex: int = 1) -> sympy.Expr:
    return (1 - self) * (1 + self)  # the classic slip: (1 − σ)(1 + σ) for σ(1 − σ)


def wrong_tanh(self: sympy.tanh, argindex: int = 1) -> sympy.Expr:
    return 1 + self**2


def wrong_softplus(self: act.softplus, argindex: int = 1) -> sympy.Expr:
    return act.sigmoid(-self.args[0])


def wrong_leaky(self: act.leaky_relu, argindex: int = 1) -> sympy.Expr:
    z, alpha = self.args
    return Piecewise((1, z > 0), (2 * alpha, True)) if argindex == 1 else Piecewise((0, z > 0), (z, True))


def wrong_softmax(self: act.softmax, argindex: int = 1) -> sympy.Expr:
    i = int(self.args[0])
    return self * (1 - self) if argindex - 1 == i else self * act.softmax(argindex - 1, *self.args[1:])


MUTATIONS: dict[str, tuple[type, Callable[..., sympy.Expr]]] = {
    "sigmoid": (act.sigmoid, wrong_sigmoid),
    "tanh": (sympy.tanh, wrong_tanh),
    "softplus": (act.softplus, wrong_softplus),
    "leaky_relu": (act.leaky_relu, wrong_leaky),
    "softmax": (act.softmax, wrong_softmax),
}


@pytest.fixture
def patch_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """patch_table("sigmoid") makes that table entry wrong until the test ends."""
    def patch(name: str) -> None:
        cls, wrong = MUTATIONS[name]
        monkeypatch.setattr(cls, "fdiff", wrong)
        sympy.core.cache.clear_cache()  # no derivative computed before the patch may be reused

    yield patch
    sympy.core.cache.clear_cache()


def test_patched_sigmoid_two_two_two_is_refused(patch_table: Callable[[str], None]) -> None:
    patch_table("sigmoid")
    with pytest.raises(CertificationError, match="sigmoid"):
        symgrad.solve(TWO_TWO_TWO)


def test_patched_sigmoid_is_one_line_from_the_command_line(patch_table: Callable[[str], None]) -> None:
    patch_table("sigmoid")
    done = run_here("solve", TWO_TWO_TWO, "--json")
    assert done.returncode == 2, done
    assert done.stdout == ""
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert "certificate failed" in done.stderr


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_patched_table_small_network_is_refused(name: str, patch_table: Callable[[str], None]) -> None:
    patch_table(name)
    loss = "cross_entropy" if name == "softmax" else "half_squared_error"
    with pytest.raises(CertificationError):
        symgrad.solve(symgrad.read_problem(network(name, 2, 2, loss=loss)))


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus"])
def test_patched_table_large_network_is_refused(name: str, patch_table: Callable[[str], None]) -> None:
    """Too large to compose ("local"): the table entries themselves are certified."""
    patch_table(name)
    with pytest.raises(CertificationError):
        symgrad.solve(symgrad.read_problem(network(name, 8, 3, inputs=6)))


def test_patched_sigmoid_output_head_is_refused(patch_table: Callable[[str], None]) -> None:
    """The head ŷ − y of sigmoid with BCE is a cancellation of table factors: it rests on them."""
    patch_table("sigmoid")
    with pytest.raises(CertificationError):
        symgrad.solve(symgrad.read_problem(network("tanh", 8, 3, inputs=6, loss="bce", out="sigmoid")))


def test_patched_sigmoid_vector_form_is_refused(patch_table: Callable[[str], None]) -> None:
    patch_table("sigmoid")
    with pytest.raises(CertificationError):
        symgrad.vector_gradient("sigmoid(dot(w, x))")


def test_without_the_certificate_the_patch_gives_a_wrong_number(
    patch_table: Callable[[str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the refusal prevents: with the certificate switched off, the patched engine prints
    0.1915 for the 2-2-2 example's ∂L/∂W2[1,1], and finite differences of an independent forward
    pass (the oracle of test_gradients_fd.py) give 0.08217."""
    patch_table("sigmoid")
    monkeypatch.setattr(certify, "certify_table", lambda graph: None)
    monkeypatch.setattr(certify, "check", lambda *args, **kwargs: "switched off")
    problem = {
        "network": {"inputs": 2, "loss": "half_squared_error", "layer": [
            {"units": 2, "activation": "sigmoid", "weights": [[0.15, 0.20], [0.25, 0.30]],
             "biases": [0.35, 0.35]},
            {"units": 2, "activation": "sigmoid", "weights": [[0.40, 0.45], [0.50, 0.55]],
             "biases": [0.60, 0.60]}]},
        "data": {"x": [0.05, 0.10], "y": [0.01, 0.99]},
        "ask": {"gradients": ["W2[1,1]"]},
    }
    shown = symgrad.solve(symgrad.read_problem(problem)).gradients["dL/dW2[1,1]"].value

    def loss_at(w: float) -> float:
        p = copy.deepcopy(problem["network"]["layer"])
        p[1]["weights"][0][0] = w
        layers = [(l["weights"], l["biases"], l["activation"]) for l in p]
        return forward([0.05, 0.10], layers, [0.01, 0.99], "half_squared_error")

    truth = central_difference(loss_at, 0.40)
    assert truth == pytest.approx(0.08217, abs=1e-5)
    assert shown == pytest.approx(0.1915, abs=1e-4)
    assert not math.isclose(shown, truth, rel_tol=1e-3)
