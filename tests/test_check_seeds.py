"""The five source documents, checked as a TA would: each document's real mistakes (as written,
read line by line by hand) are exactly the lines found wrong or inconsistent, and every other
line that is checked is correct or correct-ecf.  Skipped where ../shared/seeds is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

import symgrad.api as api

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT.parent / "shared" / "seeds"

# line → what is wrong there, as the document is written
MISTAKES: dict[str, dict[int, str]] = {
    "000": {
        38: "the expansion of line 35 is wrong (w_{11}b_1 for w_{31}b_1, w_{12}w_{32}x_1 for "
            "w_{21}w_{32}x_1, ...), and y is not w_{11}x_1 + w_{12}x_2 + b_1 in the figure's names",
        50: "σ(1.5) = 0.9176 (it is 0.8176)",
        58: "σ(0.5(0.9176) + 1(0.9959) − 1) is not σ(0.4047): 0.9176 where 0.8176 was used",
        94: "w̄_j2 = −0.07854, the value of w̄_j1 (the column is shifted)",
        106: "w̄_j1 = −0.09606, the value of z̄_2",
        112: "−0.04803(0.8176(1 − 0.8176)) is negative, written 0.00716",
        116: "−0.09606(0.9959(1 − 0.9959)) is negative, written 0.000392",
        122: "w_j1 − 0.1(−0.0784) with w_j1 = 0.5 is 0.50784, written 2.00784",
        141: "σ' = (1 − σ)(1 + σ)",
        192: "question 7 reuses −0.4002 of question 3-4 for z̄_2",
        196: "question 7 reuses −0.04803 for z̄_1",
        212: "question 7: w̄_j1 = −0.09606",
        216: "question 7: w̄_j2 = −0.07854",
    },
    "001": {58: "J = (38 − 32)², 38 is ŷ of 1(b)", 62: "ŷ = 38 in 1(c)", 66: "ŷ = 38 in 1(c)"},
    "002": {51: "∂ŷ/∂x does not depend on b2 (it does)",
            106: "∂a_1/∂z_1 = σ(z_1): σ where σ' is meant"},
    "003": {32: "W_1 copied without the minus signs of W1[2,1], W1[2,2] and W1[3,2]",
            36: "0.3·0.7 + 0.1·0.5 written −0.26", 45: "2(.5) + .1 = 0.2 as written",
            67: "a product where an = was meant"},
    "004": {17: "1/(1 + e^{−z_1^{(2)}}) for a_2^{(1)}", 49: "∂J/∂W^{(2)}_{11} for the chain of W^{(1)}"},
}


def checked(number: str) -> api.CheckReport:
    found = sorted(SEEDS.glob(f"{number}_*.txt"))
    if not found:
        pytest.skip("the source documents are not here")
    return api.check(ROOT / f"examples/seed{number}.toml", found[0])


@pytest.mark.parametrize("number", sorted(MISTAKES))
def test_exactly_the_real_mistakes(number: str) -> None:
    report = checked(number)
    flagged = {i.line for i in report.items if i.verdict in ("wrong", "inconsistent")}
    assert flagged == set(MISTAKES[number]), [
        (i.line, i.verdict, i.text[:60], i.diagnosis[:80]) for i in report.items
        if i.verdict in ("wrong", "inconsistent") and i.line not in MISTAKES[number]]
    assert all(i.verdict in ("correct", "correct-ecf", "unchecked") for i in report.items
               if i.line not in MISTAKES[number])


def test_document_000_backprop_in_its_own_notation_is_not_called_wrong() -> None:
    """Its z_2 is the output's pre-activation in y = σ(z_2) and hidden unit 2 in h_2 = σ(z_2):
    lines 76 to 84 and the −0.09606 of line 100 may not be judged against either guess."""
    report = checked("000")
    for item in report.items:
        if 76 <= (item.line or 0) <= 84 or item.line == 100 and "0.09606" in item.text:
            assert item.verdict not in ("wrong", "inconsistent"), item
