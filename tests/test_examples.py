"""The bundled examples, checked against values worked out by hand (not by symgrad).

Each expected number is computed here from the textbook formula with `math`, and the figures
the source documents print are checked where they are right.
"""

from __future__ import annotations

import math

import pytest
import sympy
from sympy import Symbol

import symgrad
from symgrad.calculus.activations import sigmoid

from conftest import part as sheet_part, solved
from oracle import central_difference


def sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def softplus(z: float) -> float:
    return math.log(1 + math.exp(z))


def solve(name: str) -> symgrad.Solution:
    return solved(name.removesuffix(".toml"))  # each example solved once per session


def part(name: str, question: str, label: str = "") -> symgrad.Solution:
    """The solution of one part of an example sheet."""
    return sheet_part(name.removesuffix(".toml"), question, label).solution


def s(name: str) -> Symbol:
    return Symbol(name, real=True)


def grad(solution: symgrad.Solution, key: str) -> float:
    return solution.gradients[key].value


def test_mazur_two_two_two() -> None:
    """The well-known worked example (Mazur): every figure there is reproduced."""
    sol = solve("two_two_two.toml")
    assert sol.values["z1[1]"] == pytest.approx(0.3775)
    assert sol.values["yhat[1]"] == pytest.approx(0.75136507, abs=1e-8)
    assert sol.values["yhat[2]"] == pytest.approx(0.772928465, abs=1e-8)
    assert sol.values["L"] == pytest.approx(0.298371109, abs=1e-8)
    assert grad(sol, "dL/dW2[1,1]") == pytest.approx(0.082167041, abs=1e-8)
    assert sol.updated["W2[1,1]"] == pytest.approx(0.35891648, abs=1e-8)
    # b1[2] and x[1] by hand: δ_out_k = (ŷ_k − y_k) ŷ_k (1 − ŷ_k); δ_h2 = Σ_k δ_k W2[k,2] · a(1 − a)
    h = [sig(0.15 * 0.05 + 0.20 * 0.10 + 0.35), sig(0.25 * 0.05 + 0.30 * 0.10 + 0.35)]
    o = [sig(0.40 * h[0] + 0.45 * h[1] + 0.6), sig(0.50 * h[0] + 0.55 * h[1] + 0.6)]
    d_out = [(o[0] - 0.01) * o[0] * (1 - o[0]), (o[1] - 0.99) * o[1] * (1 - o[1])]
    d_h = [(d_out[0] * 0.40 + d_out[1] * 0.50) * h[0] * (1 - h[0]),
           (d_out[0] * 0.45 + d_out[1] * 0.55) * h[1] * (1 - h[1])]
    assert grad(sol, "dL/db1[2]") == pytest.approx(d_h[1], rel=1e-12)
    assert grad(sol, "dL/dx[1]") == pytest.approx(d_h[0] * 0.15 + d_h[1] * 0.25, rel=1e-12)
    assert sol.updated["b1[2]"] == pytest.approx(0.35 - 0.5 * d_h[1], rel=1e-12)
    assert "x[1]" not in sol.updated  # inputs are not parameters


def test_seed000_sigmoid_backprop() -> None:
    sol = part("seed000.toml", "3-4", "b")
    h1, h2 = sig(3 * 0 - 1.5 * 1 + 3), sig(2 * 0 + 3 * 1 + 2.5)
    z = 0.5 * h1 + 1 * h2 - 1
    out = sig(z)
    delta = (out - 1) * out * (1 - out)
    dh = [delta * 0.5 * h1 * (1 - h1), delta * 1 * h2 * (1 - h2)]
    assert sol.values["a1[1]"] == pytest.approx(h1) and sol.values["a1[2]"] == pytest.approx(h2)
    assert sol.values["L"] == pytest.approx(0.5 * (1 - out) ** 2, rel=1e-12)
    expected = {
        "W2[1,1]": delta * h1, "W2[1,2]": delta * h2, "b2[1]": delta,
        "W1[1,1]": dh[0] * 0, "W1[1,2]": dh[0] * 1, "b1[1]": dh[0],
        "W1[2,1]": dh[1] * 0, "W1[2,2]": dh[1] * 1, "b1[2]": dh[1],
    }
    for name, value in expected.items():
        assert grad(sol, f"dL/d{name}") == pytest.approx(value, rel=1e-12, abs=1e-15), name
    start = {"W2[1,1]": 0.5, "W2[1,2]": 1, "b2[1]": -1, "W1[1,1]": 3, "W1[1,2]": -1.5,
             "b1[1]": 3, "W1[2,1]": 2, "W1[2,2]": 3, "b1[2]": 2.5}
    for name, theta in start.items():
        assert sol.updated[name] == pytest.approx(theta - 0.1 * expected[name], rel=1e-12)
    # the document's figures that are right, to its four digits
    assert z == pytest.approx(0.4047, abs=5e-5) and out == pytest.approx(0.5998, abs=5e-5)
    # the document's L = 0.08008 squares the rounded 1 − 0.5998; at full precision it is 0.08007
    assert sol.values["L"] == pytest.approx(0.08007, abs=5e-6)
    assert grad(sol, "dL/db2[1]") == pytest.approx(-0.09606, abs=5e-6)
    assert grad(sol, "dL/dW2[1,1]") == pytest.approx(-0.07853, abs=5e-6)  # it rounds to −0.07854
    assert grad(sol, "dL/dW2[1,2]") == pytest.approx(-0.09567, abs=5e-6)
    # where the document is wrong: ∂L/∂C11 is 0 (x1 = 0), and ∂L/∂C12 = −0.007163, not 0.00716
    assert grad(sol, "dL/dW1[1,1]") == 0
    assert grad(sol, "dL/dW1[1,2]") == pytest.approx(-0.007163, abs=5e-7)


def test_seed000_relu_hidden() -> None:
    sol = part("seed000.toml", "7", "b")
    out = sig(0.5 * 1.5 + 1 * 5.5 - 1)
    assert sol.values["a1[1]"] == 1.5 and sol.values["a1[2]"] == 5.5
    assert sol.values["yhat[1]"] == pytest.approx(0.9948, abs=5e-5)
    delta = (out - 1) * out * (1 - out)
    assert grad(sol, "dL/db1[1]") == pytest.approx(delta * 0.5 * 1.0, rel=1e-12)  # ReLU'(1.5) = 1
    assert grad(sol, "dL/dW1[2,2]") == pytest.approx(delta * 1 * 1.0 * 1, rel=1e-12)


def test_seed001_identity_network() -> None:
    sol = part("seed001.toml", "1", "c")
    assert [sol.values[f"a1[{i}]"] for i in (1, 2, 3)] == [9, -2, 5]
    assert sol.values["yhat[1]"] == 36 and sol.values["L"] == 16
    # ∂J/∂ŷ = 2(ŷ − y) = 8; each factor below is a weight or an input
    assert grad(sol, "dL/db2[1]") == 8
    assert grad(sol, "dL/dW2[1,2]") == 8 * -2
    assert grad(sol, "dL/db1[2]") == 8 * 1
    assert grad(sol, "dL/dW1[3,1]") == 8 * 2 * 1
    assert part("seed001.toml", "1", "d").updated == {"b1[2]": 0 - 2 * 8, "W1[3,1]": 3 - 2 * 16}


def test_seed001_relu_network() -> None:
    sol = part("seed001.toml", "1", "b")
    assert [sol.values[f"a1[{i}]"] for i in (1, 2, 3)] == [9, 0, 5]
    assert sol.values["yhat[1]"] == 38  # so J would be (38 − 32)² = 36: part (c) uses ŷ = 36


def test_seed001_graph_two_paths() -> None:
    sol = part("seed001.toml", "2")
    x1, x2 = 1.0, 0.5
    g1, g2 = x1 * math.exp(x2), x1 + x2**2
    assert sol.values == pytest.approx({"g1": g1, "g2": g2, "f": math.sin(g1) + g2**2})
    df_dx1 = math.cos(g1) * math.exp(x2) + 2 * g2
    df_dx2 = math.cos(g1) * x1 * math.exp(x2) + 2 * g2 * 2 * x2
    assert grad(sol, "df/dx1") == pytest.approx(df_dx1, rel=1e-12)
    assert grad(sol, "df/dx2") == pytest.approx(df_dx2, rel=1e-12)
    assert grad(sol, "df/dg1") == pytest.approx(math.cos(g1), rel=1e-12)
    assert grad(sol, "df/dg2") == pytest.approx(2 * g2, rel=1e-12)
    X1, X2, G1, G2 = s("x1"), s("x2"), s("g1"), s("g2")
    d = sol.gradients["df/dx1"]
    assert d.derivation.result == sympy.cos(G1) * sympy.exp(X2) + 2 * G2
    assert sympy.simplify(
        d.expanded - (sympy.cos(X1 * sympy.exp(X2)) * sympy.exp(X2) + 2 * (X1 + X2**2))
    ) == 0
    assert len(d.derivation.paths) == 2


def test_seed001_sigmoid_derivative_from_definition() -> None:
    sol = part("seed001.toml", "3.1", "a")
    z = s("z")
    g = sol.gradients["df/dz"]
    assert g.value == pytest.approx(0.25)  # σ(0)(1 − σ(0)) = 1/4
    definition = 1 / (1 + sympy.exp(-z))  # written here: symgrad's σ is not the oracle
    difference = g.derivation.result.rewrite(sympy.exp) - sympy.diff(definition, z)
    assert sympy.simplify(difference) == 0


def test_seed002_unspecified_activation_keeps_g_prime() -> None:
    sol = part("seed002.toml", "2.1")
    g = sympy.Function("g", real=True)
    z2, a1 = s("z2[1]"), s("a1[1]")
    assert sol.gradients["dyhat[1]/dW2[1,1]"].derivation.result == sympy.Derivative(g(z2), z2) * a1
    assert sol.gradients["dyhat[1]/db2[1]"].derivation.result == sympy.Derivative(g(z2), z2)


def test_seed002_softplus_dependency_on_b2() -> None:
    sol = part("seed002.toml", "2.2", "b")
    z2 = s("z2[1]")
    assert sol.gradients["dyhat[1]/db2[1]"].derivation.result == sigmoid(z2)
    sol = part("seed002.toml", "2.3")
    assert sol.gradients["dyhat[1]/dx[1]"].derivation.result.has(sigmoid(z2))
    # ∂ŷ/∂x1 in the leaves, at numbers: against finite differences of a forward pass by hand,
    # at three values of b2; it changes with b2 (z2 = W2·a1 + b2 holds b2), as the document denies
    dx = sol.gradients["dyhat[1]/dx[1]"].value
    W1, b1, W2, x = [[0.3, -0.8], [1.1, 0.4]], [0.2, -0.5], [0.7, -1.2], [0.6, -0.9]

    def yhat(x1: float, b2: float) -> float:
        a = [softplus(W1[i][0] * x1 + W1[i][1] * x[1] + b1[i]) for i in range(2)]
        return softplus(W2[0] * a[0] + W2[1] * a[1] + b2)

    leaves = {s(f"W1[{i + 1},{j + 1}]"): W1[i][j] for i in range(2) for j in range(2)}
    leaves |= {s("b1[1]"): b1[0], s("b1[2]"): b1[1], s("W2[1,1]"): W2[0], s("W2[1,2]"): W2[1],
               s("x[1]"): x[0], s("x[2]"): x[1]}
    got = {}
    for b2 in (-1.0, 0.0, 1.5):
        got[b2] = float(dx.subs({**leaves, s("b2[1]"): b2}).rewrite(sympy.exp))
        assert got[b2] == pytest.approx(central_difference(lambda v: yhat(v, b2), x[0]), rel=1e-7)
    assert abs(got[1.5] - got[-1.0]) > 0.05  # far more than the tolerance: b2 matters


def test_seed002_sigmoid_weight_gradient() -> None:
    sol = part("seed002.toml", "2.4", "b")
    yhat, a1 = s("yhat[1]"), s("a1[1]")
    expected = yhat * (1 - yhat) * s("W2[1,1]") * a1 * (1 - a1) * s("x[1]")
    assert sympy.expand(sol.gradients["dyhat[1]/dW1[1,1]"].derivation.result - expected) == 0


def test_seed003_relu_layer() -> None:
    sol = part("seed003.toml", "2")
    z = [0.2 * 0.7 + 0.5 * 0.5 + 0.1, -0.3 * 0.7 - 0.1 * 0.5 + 0.2, 0.4 * 0.7 - 0.4 * 0.5 + 0.3]
    assert [sol.values[f"z1[{i}]"] for i in (1, 2, 3)] == pytest.approx(z)
    assert [sol.values[f"yhat[{i}]"] for i in (1, 2, 3)] == pytest.approx([0.49, 0, 0.38])
    assert sol.gradients == {}


def test_seed003_bce() -> None:
    sol = part("seed003.toml", "3")
    a1 = sig(0.2 * 0.5 + 0.1)
    out = sig(0.4 * a1 + 0.2)
    expected = {"W2[1,1]": (out - 1) * a1, "b2[1]": out - 1,
                "W1[1,1]": (out - 1) * 0.4 * a1 * (1 - a1) * 0.5,
                "b1[1]": (out - 1) * 0.4 * a1 * (1 - a1)}
    for name, value in expected.items():
        assert grad(sol, f"dL/d{name}") == pytest.approx(value, rel=1e-12), name
    # the document's rounded figures
    assert grad(sol, "dL/dW2[1,1]") == pytest.approx(-0.2180, abs=5e-5)
    assert grad(sol, "dL/db2[1]") == pytest.approx(-0.3965, abs=5e-5)
    assert grad(sol, "dL/dW1[1,1]") == pytest.approx(-0.0196, abs=5e-5)
    assert grad(sol, "dL/db1[1]") == pytest.approx(-0.0393, abs=5e-5)
    assert sol.updated["W2[1,1]"] == pytest.approx(0.4218, abs=5e-5)
    assert sol.updated["b1[1]"] == pytest.approx(0.1039, abs=5e-5)
    # sigmoid with BCE: the output factor is ŷ − y
    assert sol.gradients["dL/db2[1]"].derivation.result == s("yhat[1]") - s("y[1]")


def test_seed004_exp_output_unknown_target() -> None:
    sol = part("seed004.toml", "1-2")
    a = [sig(2 + 4 * 0.5 + 4 * -0.5), sig(-1 + 1 * 0.5 - 2 * -0.5)]
    p = math.exp(-3 * a[0] - 1 * a[1] + 2)
    assert sol.values["yhat[1]"] == pytest.approx(p) and p == pytest.approx(0.282, abs=5e-4)
    y = s("y[1]")
    for name, slope in {"W2[1,1]": p * a[0], "W1[1,1]": p * -3 * a[0] * (1 - a[0]) * 0.5}.items():
        value = sympy.expand(grad(sol, f"dL/d{name}"))
        assert value.coeff(y, 1) == pytest.approx(-slope, rel=1e-12)
        assert value.coeff(y, 0) == pytest.approx(p * slope, rel=1e-12)
    # the document's (rounded) −0.248442 y + 0.070060644
    value = sympy.expand(grad(sol, "dL/dW2[1,1]"))
    assert value.coeff(y, 1) == pytest.approx(-0.2484, abs=5e-4)


def test_seed000_collapsed_linear_network() -> None:
    sol = part("seed000.toml", "1-2", "b")  # (a) is the matrix collapse
    w11, w12, w21, w22, w31, w32 = (s(n) for n in ("w11", "w12", "w21", "w22", "w31", "w32"))
    b1, b2, b3 = s("b1"), s("b2"), s("b3")
    # by hand: y = w31 (w11 x1 + w12 x2 + b1) + w32 (w21 x1 + w22 x2 + b2) + b3
    assert sympy.expand(grad(sol, "dy/dx1") - (w11 * w31 + w21 * w32)) == 0
    assert sympy.expand(grad(sol, "dy/dx2") - (w12 * w31 + w22 * w32)) == 0
    assert sympy.expand(sol.values["y"] - (w31 * b1 + w32 * b2 + b3)) == 0


@pytest.mark.parametrize("key, z", [("da1[1]/dz1[1]", 1.5), ("da1[2]/dz1[2]", 5.5),
                                    ("dyhat[1]/dz2[1]", 0.5 * sig(1.5) + sig(5.5) - 1)])
def test_seed000_sigmoid_slopes(key: str, z: float) -> None:
    """Question 5 (d): σ' at the three pre-activations of question 3-4, on that network."""
    value = grad(part("seed000.toml", "5", "d"), key)
    assert value == pytest.approx(sig(z) * (1 - sig(z)), rel=1e-12)
    # the document's 0.15, 0.0041, 0.24
    expected = {"da1[1]/dz1[1]": 0.1491, "da1[2]/dz1[2]": 0.004054, "dyhat[1]/dz2[1]": 0.2400}
    assert value == pytest.approx(expected[key], rel=1e-3)


def vector_case(question: str) -> sympy.Expr:
    sol = part("seed001.toml", question, "b")  # part (a) is the vector form
    return next(iter(sol.gradients.values())).expanded  # the first partial, by w1


def same(a: sympy.Expr, b: sympy.Expr) -> bool:
    return sympy.simplify((a - b).rewrite(sympy.exp)) == 0


def test_seed001_vector_gradients_componentwise() -> None:
    w1, w2, x1, x2 = s("w1"), s("w2"), s("x1"), s("x2")
    u = w1 * x1 + w2 * x2
    f = 1 / (1 + sympy.exp(-u))
    assert same(vector_case("3.2"), x1 * f * (1 - f))  # 3.2: x σ(wᵀx)(1 − σ(wᵀx))
    r = [w1 * s("x11") + w2 * s("x12") - s("y1"), w1 * s("x21") + w2 * s("x22") - s("y2")]
    half_sign = (sympy.sign(r[0]) * s("x11") + sympy.sign(r[1]) * s("x21")) / 2
    assert sympy.expand(vector_case("3.3") - half_sign) == 0  # 3.3: ½ Σ sign(r_i) x_i1
    ridge = r[0] * s("x11") + r[1] * s("x21") + 2 * s("lambda") * w1  # 3.4: 2λ w_1, not 2λ Σ w_j
    assert sympy.expand(vector_case("3.4") - ridge) == 0
    p = [1 / (1 + sympy.exp(-(r[k] + s(f"y{k + 1}")))) for k in (0, 1)]
    loglik = (s("y1") - p[0]) * s("x11") + (s("y2") - p[1]) * s("x21")  # 3.5: Σ (y − σ) x
    assert same(vector_case("3.5"), loglik)
    assert same(vector_case("3.6"), x1 * (1 - sympy.tanh(u) ** 2))  # 3.6: x (1 − tanh²)


@pytest.mark.parametrize(
    "name, question, label, verdict",
    [("seed000.toml", "5", "a", "PROVED"), ("seed000.toml", "5", "b", "REFUTED"),
     ("seed001.toml", "3.1", "b", "PROVED"), ("seed002.toml", "2.2", "a", "PROVED"),
     ("seed002.toml", "2.4", "a", "PROVED")],
)
def test_example_proofs(name: str, question: str, label: str, verdict: str) -> None:
    assert sheet_part(name.removesuffix(".toml"), question, label).verdict.status == verdict


def test_seed000_collapse_and_seed002_dependency() -> None:
    from symgrad.analyses.collapse import equivalent_layer

    sol = part("seed000.toml", "1-2", "a")
    layer = sheet_part("seed000", "1-2", "a").collapse  # the record the solved sheet keeps
    assert layer is not None and layer == equivalent_layer(sol)
    weights, bias = layer.weights, layer.biases
    W1 = lambda i, j: s(f"W1[{i},{j}]")  # noqa: E731
    W2 = lambda j: s(f"W2[1,{j}]")  # noqa: E731
    # by hand: y = W2 (W1 x + b1) + b2
    assert sympy.expand(weights[0, 1] - (W2(1) * W1(1, 2) + W2(2) * W1(2, 2))) == 0
    assert sympy.expand(bias[0] - (W2(1) * s("b1[1]") + W2(2) * s("b1[2]") + s("b2[1]"))) == 0
    d = sheet_part("seed002", "2.3").dependency
    assert d.depends and d.through == ("z2[1]",)  # σ(z2) holds b2: the document's "no" is wrong


def test_no_dependency_is_answered_no() -> None:
    from symgrad.analyses.dependency import dependency

    problem = {"network": {"inputs": 1, "layer": [
        {"units": 1, "activation": "sigmoid", "biases": True},
        {"units": 1, "activation": "identity", "biases": True}]},
        "ask": {"gradients": ["dyhat[1]/dx[1]"]}}
    sol = symgrad.solve(symgrad.read_problem(problem))
    assert not dependency(sol, "dyhat[1]/dx[1]", "b2[1]").depends  # a linear output: b2 drops out
    assert dependency(sol, "dyhat[1]/dx[1]", "b1[1]").depends


def test_vector_problem_file_and_api() -> None:
    sheet = solved("vector_ridge")
    (part,) = sheet.questions[0].parts
    terms = {(t.vector, t.summed): t.coefficient for t in part.vector.terms}
    u, y, lam = s("u"), s("y"), s("lambda")
    assert terms == {("x", True): u - y, ("w", False): 2 * lam}  # Σ (wᵀx − y) x + 2λw
    assert "componentwise" in part.vector.certificate
    g = symgrad.vector_gradient("tanh(dot(w, x))")
    assert [(t.vector, t.summed) for t in g.terms] == [("x", False)]
    assert sympy.simplify(g.terms[0].coefficient - (1 - sympy.tanh(u) ** 2)) == 0
    data = sheet.to_json()
    assert data["questions"][0]["parts"][0]["vector"]["gradient"][1]["vector"] == "w"


def test_deep_layers_by_hand():
    """examples/deep_layers.toml, worked with the textbook formulas."""
    conv = part("deep_layers", "1")
    # example 1: z = (0.5·1 − 0 − 0.25 + 0.1, 0 + 1 + 0.5 + 0.1, −0.5 − 2 + 0.25 + 0.1), ReLU, max 1.6
    xs, ys, K, b = [[1, 0, -1, 2, 1], [0.5, 1.5, -0.5, 0, 1]], [1, 0], [0.5, -1, 0.25], 0.1
    grads, losses = [0.0, 0.0, 0.0], []
    for x, y in zip(xs, ys):
        z = [sum(k * x[i + p] for p, k in enumerate(K)) + b for i in range(3)]
        a = [max(v, 0) for v in z]
        top = a.index(max(a))  # the max routes the gradient to its largest entry
        yhat = 2 * max(a) - 0.5
        losses.append(0.5 * (yhat - y) ** 2)
        for p in range(3):  # ∂L/∂K_p = ½ (ŷ − y) · 2 · x[top + p], the mean of two examples
            grads[p] += 0.5 * (yhat - y) * 2 * x[top + p] * (z[top] > 0)
    assert conv.values["L"] == pytest.approx(sum(losses) / 2) == pytest.approx((1.445 + 2.42) / 2)
    assert [conv.gradients[f"dL/dK1[1,1,{p}]"].value for p in (1, 2, 3)] == pytest.approx(grads)

    rnn = part("deep_layers", "2")
    W, U, bias = [0.5, -0.3], [[0.1, 0.4], [-0.2, 0.3]], [0.0, 0.1]
    h = [0.0, 0.0]
    for x in (1.0, -0.5, 2.0):
        h = [math.tanh(W[i] * x + U[i][0] * h[0] + U[i][1] * h[1] + bias[i]) for i in range(2)]
    assert rnn.values["L"] == pytest.approx((h[0] - h[1] - 0.5) ** 2, rel=1e-12)

    norm = part("deep_layers", "3")
    a = [max(x1 - x2 + 0.5, 0) for x1, x2 in [(1.0, 0.5), (0.0, 1.0), (2.0, 0.5)]]  # (1, 0, 2)
    mu = sum(a) / 3
    var = sum((v - mu) ** 2 for v in a) / 3
    out = [sig(-0.8 * (1.5 * (v - mu) / math.sqrt(var + 0.001) + 0.2) + 0.1) for v in a]
    bce = [-(t * math.log(p) + (1 - t) * math.log(1 - p)) for p, t in zip(out, [1, 0, 1])]
    assert norm.values["L"] == pytest.approx(sum(bce) / 3, rel=1e-12)
    # ∂L/∂β = Σ_n ∂L/∂y_n = Σ_n (p_n − t_n)/3 · (−0.8)
    assert norm.gradients["dL/dbeta2[1]"].value == pytest.approx(
        sum((p - t) / 3 * -0.8 for p, t in zip(out, [1, 0, 1])), rel=1e-12)

    adam = part("deep_layers", "4")
    # Adam's first step moves each parameter by η against its gradient's sign (m̂ = g, v̂ = g²)
    first = adam.steps[0].states
    assert first["W1[1,1]"]["value"] == pytest.approx(0.3 + 0.1, rel=1e-6)
    assert first["W1[1,2]"]["value"] == pytest.approx(-0.2 + 0.1, rel=1e-6)
    assert first["b1[1]"]["value"] == pytest.approx(0.1 + 0.1, rel=1e-6)
