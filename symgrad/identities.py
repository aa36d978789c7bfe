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
    # false claims people make, some of them in the source documents
    Identity("sigmoid' as (1 - s)(1 + s)",
             "diff(sigmoid(z), z) = (1 - sigmoid(z))*(1 + sigmoid(z))", "REFUTED"),
    Identity("tanh' as 1 - tanh", "diff(tanh(z), z) = 1 - tanh(z)", "REFUTED"),
    Identity("softplus' as sigmoid(-z)", "diff(softplus(z), z) = sigmoid(-z)", "REFUTED"),
    Identity("product rule dropped", "diff(f(z)*g(z), z) = diff(f(z), z)*diff(g(z), z)",
             "REFUTED"),
    Identity("L2 gradient as 2 lambda (w1 + w2)",
             "diff(lam*(w1**2 + w2**2), w1) = 2*lam*(w1 + w2)", "REFUTED"),
)
