"""Verifying claimed derivatives: the bundled identities, verdicts, exit codes and bad claims."""

from __future__ import annotations

import json
import math
import subprocess

import cli

import pytest

from symgrad.proof.identities import IDENTITIES
from symgrad.proof.verify import ClaimError, verify



def run(*args: str) -> subprocess.CompletedProcess[str]:
    return cli.run_here("verify", *args)  # the whole process is timed in test_verify_soundness


@pytest.mark.parametrize("identity", IDENTITIES, ids=lambda i: i.name)
def test_bundled_identity(identity) -> None:
    verdict = verify(identity.claim, where=identity.where, assume=identity.assume)
    assert verdict.status == identity.expected, verdict.reason


def test_refutation_shows_a_real_counterexample() -> None:
    verdict = verify("diff(sigmoid(z), z) = (1 - sigmoid(z))*(1 + sigmoid(z))")
    z = verdict.counterexample["z"]
    s = 1 / (1 + math.exp(-z))
    assert verdict.values is not None
    left, right = verdict.values
    assert left == pytest.approx(s * (1 - s), rel=1e-12)  # by hand, not by symgrad
    assert right == pytest.approx((1 - s) * (1 + s), rel=1e-12)


def test_large_arguments_do_not_fake_a_refutation() -> None:
    # both sides are equal; at |z| = 30 in floating point they would differ in the last digits
    assert verify("diff(log(1 + exp(z)), z) = exp(z)/(1 + exp(z))").status == "PROVED"


def test_kinks_are_reported() -> None:
    verdict = verify("diff(relu(z), z) = Heaviside(z)")
    assert verdict.status == "PROVED" and "z = 0" in verdict.caveats[0]


def test_a_wrong_step_is_refuted_even_with_kinks() -> None:
    assert verify("diff(relu(z), z) = 1").status == "REFUTED"


def test_assumptions_restrict_the_domain() -> None:
    assert verify("diff(sqrt(z), z) = 1/(2*sqrt(z))", assume=["z > 0"]).status == "PROVED"
    assert verify("sqrt(z**2) = z", assume=["z > 0"]).status == "PROVED"
    assert verify("sqrt(z**2) = z").status == "REFUTED"  # z < 0


def test_definitions_are_used_in_order() -> None:
    verdict = verify("diff(s, z) = s*(1 - s)", where=["e = exp(-z)", "s = 1/(1 + e)"])
    assert verdict.status == "PROVED"


def test_a_value_at_a_point() -> None:
    assert verify("Subs(diff(tanh(z), z), z, 0) = 1").status == "PROVED"
    assert verify("Subs(diff(tanh(z), z), z, 0) = 1/2").status == "REFUTED"


def test_time_limit_gives_undecided() -> None:
    verdict = verify("diff(sigmoid(z), z) = sigmoid(z)*(1 - sigmoid(z))", seconds=1e-6)
    assert verdict.status == "UNDECIDED" and "ran past" in verdict.reason


@pytest.mark.parametrize("seconds", [0, -1, math.nan, math.inf])
def test_time_limit_must_be_positive_and_finite(seconds: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        verify("sin(pi) = 0", seconds=seconds)


@pytest.mark.parametrize(
    "claim, message",
    [
        ("diff(tanh(z) z) = 1", "position 13"),
        ("diff(tanh(z), z)", "one '='"),
        ("__import__('os').system('ls') = 1", "not allowed"),
        ("sigmod(z) = 1", "unknown function 'sigmod'"),
        ("diff(z, 2) = 1", "a variable"),
        ("diff(z, pi) = 1", "a variable"),  # pi is the constant
        ("gelu() = 1", "takes 1 argument"),
        ("diff(diff(sin(z), z, 15), z, 6) = 1", "order 21 in all: at most 20"),
        ("z = " + "+z" * 1000, "2004 characters, at most 2000"),
    ],
)
def test_bad_claims(claim: str, message: str) -> None:
    with pytest.raises(ClaimError, match=message.replace("(", r"\(")):
        verify(claim)


@pytest.mark.parametrize(
    "args, status, verdict",
    [
        (["diff(softplus(z), z) = sigmoid(z)"], 0, "PROVED"),
        (["diff(softplus(z), z) = sigmoid(-z)"], 1, "REFUTED"),
        (["diff(sigmoid(z), z) = sigmoid(z)*(1 - sigmoid(z))", "--time-limit", "0.001"], 3,
         "UNDECIDED"),
    ],
)
def test_exit_status_and_json(args: list[str], status: int, verdict: str) -> None:
    out = run(*args, "--json")
    assert out.returncode == status, out.stderr
    assert json.loads(out.stdout)["verdict"] == verdict


def test_cli_bad_claim_is_one_line() -> None:
    cli.assert_bad_input(run("diff(tanh(z) z) = 1"), "position 13")


def test_cli_where_and_bundled() -> None:
    out = run("diff(s1, z1) = s1*(1 - s1)", "--where", "s1 = exp(z1)/(exp(z1) + exp(z2))")
    assert out.returncode == 0 and out.stdout.startswith("PROVED")
    out = run("--bundled")
    assert out.returncode == 0 and "UNEXPECTED" not in out.stdout


def test_domain_in_the_claim_and_max() -> None:
    assert verify("diff(log(z), z) = 1/z for z > 0").status == "PROVED"
    assert verify("diff(log(x*y), x) = 1/x for x > 0, y > 0").status == "PROVED"
    assert verify("diff(Max(z, 0), z) = Heaviside(z)").status == "PROVED"
    assert verify("diff(Min(z, 0), z) = Heaviside(z)").status == "REFUTED"
