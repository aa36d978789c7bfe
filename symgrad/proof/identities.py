"""Standard identities of neural-network calculus, true and (commonly claimed) false.

`symgrad verify --bundled` checks them all; the tests require each verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

SOFTMAX = tuple(f"s{i} = exp(z{i})/(exp(z1) + exp(z2) + exp(z3))" for i in (1, 2, 3))


@dataclass(frozen=True)
class Identity:
    name: str
    claim: str
    expected: str  # PROVED or REFUTED
    where: tuple[str, ...] = ()
    assume: tuple[str, ...] = ()


IDENTITIES = (
    Identity("sigmoid'", "diff(sigmoid(z), z) = sigmoid(z)*(1 - sigmoid(z))", "PROVED"),
    Identity("sigmoid' at 0", "Subs(diff(sigmoid(z), z), z, 0) = 1/4", "PROVED"),
    Identity("sigmoid''", "diff(sigmoid(z), z, 2) = sigmoid(z)*(1 - sigmoid(z))*(1 - 2*sigmoid(z))",
             "PROVED"),
    Identity("tanh'", "diff(tanh(z), z) = 1 - tanh(z)**2", "PROVED"),
    Identity("tanh' = sech^2", "diff(tanh(z), z) = sech(z)**2", "PROVED"),
    Identity("tanh from sigmoid", "tanh(z) = 2*sigmoid(2*z) - 1", "PROVED"),
    Identity("softplus'", "diff(softplus(z), z) = sigmoid(z)", "PROVED"),
    Identity("ReLU'", "diff(relu(z), z) = Heaviside(z)", "PROVED"),
    Identity("|x|'", "diff(abs(x), x) = sign(x)", "PROVED"),
    Identity("SiLU'", "diff(silu(z), z) = sigmoid(z)*(1 + z*(1 - sigmoid(z)))", "PROVED"),
    Identity("ELU'", "diff(elu(z, a), z) = Piecewise((1, z > 0), (a*exp(z), True))", "PROVED"),
    Identity("softsign'", "diff(softsign(z), z) = 1/(1 + abs(z))**2", "PROVED"),
    Identity("log'", "diff(log(z), z) = 1/z", "PROVED", assume=("z > 0",)),
    Identity("sigmoid with BCE", "diff(bce(y, sigmoid(z)), z) = sigmoid(z) - y", "PROVED"),
    Identity("half MSE", "diff((yhat - y)**2/2, yhat) = yhat - y", "PROVED"),
    Identity("MSE of a linear unit", "diff((w*x + b - y)**2, w) = 2*(w*x + b - y)*x", "PROVED"),
    Identity(
        "softmax with cross-entropy",
        "diff(-(y1*log(s1) + y2*log(s2) + (1 - y1 - y2)*log(s3)), z1) = s1 - y1",
        "PROVED", where=SOFTMAX,
    ),
    Identity("chain rule", "diff(f(g(z)), z) = Subs(diff(f(u), u), u, g(z))*diff(g(z), z)",
             "PROVED"),
    Identity("BCE through w x + b", "diff(-(y*log(a) + (1 - y)*log(1 - a)), w) = (a - y)*x",
             "PROVED", where=("z = w*x + b", "a = 1/(1 + exp(-z))")),
    Identity("log-sigmoid'", "diff(log(sigmoid(z)), z) = 1 - sigmoid(z)", "PROVED"),
    Identity("log-sum-exp'", "diff(log(exp(z1) + exp(z2)), z1) = sigmoid(z1 - z2)", "PROVED"),
    Identity("softplus(z) - z", "softplus(z) - z = softplus(-z)", "PROVED"),
    Identity("sin(pi)", "sin(pi) = 0", "PROVED"),
    Identity("cos(pi)", "cos(pi) = -1", "PROVED"),
    Identity("erf'", "diff(erf(z), z) = 2*exp(-z**2)/sqrt(pi)", "PROVED"),
    Identity("GELU", "gelu(z) = z*(1 + erf(z/sqrt(2)))/2", "PROVED"),
    Identity("GELU'", "diff(gelu(z), z) = (1 + erf(z/sqrt(2)))/2 + z*exp(-z**2/2)/sqrt(2*pi)",
             "PROVED"),
    Identity("swish is SiLU", "swish(z) = z*sigmoid(z)", "PROVED"),
    Identity("swish'", "diff(swish(z), z) = swish(z) + sigmoid(z)*(1 - swish(z))", "PROVED"),
    Identity("mish'",
             "diff(mish(z), z) = tanh(softplus(z)) + z*sigmoid(z)*(1 - tanh(softplus(z))**2)",
             "PROVED"),
    # false claims people make, some of them in the source documents
    Identity("sigmoid' as (1 - s)(1 + s)",
             "diff(sigmoid(z), z) = (1 - sigmoid(z))*(1 + sigmoid(z))", "REFUTED"),
    Identity("tanh' as 1 - tanh", "diff(tanh(z), z) = 1 - tanh(z)", "REFUTED"),
    Identity("softplus' as sigmoid(-z)", "diff(softplus(z), z) = sigmoid(-z)", "REFUTED"),
    Identity("product rule dropped", "diff(f(z)*g(z), z) = diff(f(z), z)*diff(g(z), z)",
             "REFUTED"),
    Identity("sigmoid' off by 1e-13",
             "diff(sigmoid(z), z) = sigmoid(z)*(1 - sigmoid(z)) + 1e-13", "REFUTED"),
    Identity("GELU' as the Gaussian CDF alone", "diff(gelu(z), z) = (1 + erf(z/sqrt(2)))/2",
             "REFUTED"),
    Identity("SiLU' as the sigmoid", "diff(silu(z), z) = sigmoid(z)", "REFUTED"),
    Identity("mish' as tanh(softplus)", "diff(mish(z), z) = tanh(softplus(z))", "REFUTED"),
    Identity("BCE gradient without x", "diff(-(y*log(a) + (1 - y)*log(1 - a)), w) = a - y",
             "REFUTED", where=("z = w*x + b", "a = 1/(1 + exp(-z))")),
    Identity("L2 gradient as 2 lambda (w1 + w2)",
             "diff(lam*(w1**2 + w2**2), w1) = 2*lam*(w1 + w2)", "REFUTED"),
)
