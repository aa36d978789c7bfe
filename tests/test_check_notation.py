"""The student's own notation, read from their document: definitions, conventional names, a
name used for two things, and [check.symbols] over everything.  The right values are worked out
here in plain Python (the 2-2-2 network of examples/two_two_two.toml)."""

from __future__ import annotations

import math
from pathlib import Path

from symgrad import api

ROOT = Path(__file__).resolve().parent.parent


def sig(v: float) -> float:
    return 1 / (1 + math.exp(-v))


X, T = (0.05, 0.10), (0.01, 0.99)
Z1 = [0.15 * X[0] + 0.20 * X[1] + 0.35, 0.25 * X[0] + 0.30 * X[1] + 0.35]
H = [sig(z) for z in Z1]
Z2 = [0.40 * H[0] + 0.45 * H[1] + 0.60, 0.50 * H[0] + 0.55 * H[1] + 0.60]
O = [sig(z) for z in Z2]
LOSS = sum(0.5 * (o - t) ** 2 for o, t in zip(O, T))
DELTA2 = [(o - t) * o * (1 - o) for o, t in zip(O, T)]


def check(tmp_path: Path, lines: list[str], symbols: str = "", one_output: bool = False):
    problem = tmp_path / "p.toml"
    text = (ROOT / "examples/two_two_two.toml").read_text()
    if one_output:  # the 2-2-1 network: the first output unit alone
        text = text.replace("[[0.40, 0.45], [0.50, 0.55]]", "[[0.40, 0.45]]").replace(
            "biases = [0.60, 0.60]", "biases = [0.60]").replace("units = 2\nactivation = \"sigmoid\"\n"
            "weights = [[0.40", "units = 1\nactivation = \"sigmoid\"\nweights = [[0.40").replace(
            "y = [0.01, 0.99]", "y = [0.01]")
    problem.write_text(text + symbols)
    work = tmp_path / "work.md"
    work.write_text("\n\n".join(f"$${line}$$" for line in lines) + "\n")
    return api.check(problem, work)


def test_a_definition_names_the_weights(tmp_path: Path) -> None:
    """z_3 and w_5, w_6, b_3 are nowhere in the sheet: the student's definition says what they
    are (in a 2-2-1 network, where only the output unit has that shape), and the lines that use
    them are judged."""
    report = check(tmp_path, one_output=True, lines=[
        "z_3 = w_5 h_1 + w_6 h_2 + b_3",
        f"z_3 = {Z2[0]:.4f}",
        f"\\frac{{\\partial L}}{{\\partial w_5}} = {DELTA2[0] * H[0]:.4f}",
        f"\\frac{{\\partial L}}{{\\partial w_6}} = {DELTA2[0] * H[0]:.4f}",  # w_6's is δ h_2
    ])
    by_line = {i.line: i for i in report.items}
    assert by_line[3].verdict == "correct" and by_line[3].key == "z2[1]"
    assert by_line[5].verdict == "correct" and by_line[5].key == "dL/dW2[1,1]"
    assert by_line[7].verdict == "wrong" and by_line[7].key == "dL/dW2[1,2]"
    learnt = {s.key: (s.target, s.source) for s in report.symbols}
    assert learnt["w|5|"] == ("W2[1,1]", "definition (line 1)")
    assert learnt["z|3|"] == ("z2[1]", "definition (line 1)")


def test_a_name_used_for_two_things_is_not_judged(tmp_path: Path) -> None:
    """s = σ(z_1) and s = σ(z_2): which one a later s means is a guess, so it is not made."""
    report = check(tmp_path, [
        "s = \\sigma(z^{[1]}_1)",
        "s = \\sigma(z^{[1]}_2)",
        f"s = {H[0]:.4f}",
        f"s = {H[0] + 0.1:.4f}",
    ])
    later = [i for i in report.items if i.line in (5, 7)]
    assert [i.verdict for i in later] == ["unchecked", "unchecked"]
    assert "used for two things" in later[0].diagnosis
    assert any(s.ambiguous for s in report.symbols if s.key == "s||")


def test_a_definition_against_the_sheet_is_not_a_guess(tmp_path: Path) -> None:
    """The sheet's z^{[1]}_2 is hidden unit 2; a document that writes ŷ_1 = σ(z^{[1]}_2) uses the
    name for something else: its lines are unchecked, not judged as hidden unit 2."""
    report = check(tmp_path, [
        "\\hat{y}_1 = \\sigma(z^{[1]}_2)",
        f"z^{{[1]}}_2 = {Z2[0]:.4f}",
    ])
    (item,) = [i for i in report.items if i.line == 3]
    assert item.verdict == "unchecked" and "sheet" in item.diagnosis


def test_conventional_names(tmp_path: Path) -> None:
    """E for the loss, o for the output, t for the target, δ^{[2]} for ∂L/∂z of layer 2."""
    report = check(tmp_path, [
        f"o_1 = {O[0]:.4f}",
        f"t_2 = {T[1]}",
        f"E = {LOSS:.4f}",
        f"\\delta^{{[2]}}_1 = {DELTA2[0]:.4f}",
        f"\\delta^{{[2]}}_2 = {-DELTA2[1]:.4f}",  # the sign flipped
    ])
    assert [(i.key, i.verdict) for i in report.items] == [
        ("yhat[1]", "correct"), ("y[2]", "correct"), ("L", "correct"),
        ("dL/dz2[1]", "correct"), ("dL/dz2[2]", "wrong")]
    sources = {s.key: s.source for s in report.symbols}
    assert sources["E||"] == "convention" and sources["delta|1|[2]"] == "convention"


def test_check_symbols_win(tmp_path: Path) -> None:
    """[check.symbols] says what s is, whatever the document's definitions say."""
    report = check(tmp_path, [
        "s = \\sigma(z^{[1]}_1)",
        "s = \\sigma(z^{[1]}_2)",
        f"s = {H[1]:.4f}",
    ], symbols='\n[check.symbols]\n"s" = "a1[2]"\n')
    (item,) = [i for i in report.items if i.line == 5]
    assert item.verdict == "correct" and item.key == "a1[2]"


def test_nothing_checked_exits_3(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from symgrad.cli import main

    (tmp_path / "w.md").write_text("$$q = 3$$\n\n$$r_7 = 0.5$$\n")
    status = main(["check", str(ROOT / "examples/two_two_two.toml"), str(tmp_path / "w.md")])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 3 and len(err) == 1 and "nothing could be checked" in err[0]
    report = api.check(ROOT / "examples/two_two_two.toml", tmp_path / "w.md")
    assert report.coverage == {"lines": 2, "checked": 0}


def test_sigma_in_a_network_without_a_sigmoid_is_not_guessed(tmp_path: Path) -> None:
    """In a softplus network, ŷ_1 = σ(z^{[2]}_1) means the activation to most students; read as
    the logistic function it would be called wrong.  It is left unchecked with the reason."""
    problem = tmp_path / "p.toml"
    problem.write_text((ROOT / "examples/two_two_two.toml").read_text().replace(
        'activation = "sigmoid"', 'activation = "softplus"'))
    work = tmp_path / "w.md"
    work.write_text("$$\\hat{y}_1 = \\sigma(z^{[2]}_1)$$\n")
    (item,) = api.check(problem, work).items
    assert item.verdict == "unchecked" and "softplus" in item.diagnosis


def test_a_name_read_from_its_value(tmp_path: Path) -> None:
    """q is no name of the sheet; q = 0.5933 (four figures) is the value of one quantity only,
    a^{[1]}_1, which the document names nothing else: q is a^{[1]}_1 from then on.  The line it
    was read from is not evidence for itself."""
    report = check(tmp_path, [
        f"q = {H[0]:.4f}",
        f"\\frac{{\\partial L}}{{\\partial W^{{[2]}}_{{11}}}} = {DELTA2[0]:.4f} \\cdot q = {DELTA2[0] * H[0]:.4f}",
        f"q = {H[0] + 0.01:.4f}",
    ])
    assert [(i.line, i.verdict) for i in report.items] == [
        (1, "unchecked"), (3, "correct"), (5, "wrong")]
    assert {s.key: s.source for s in report.symbols}["q||"] == "value (line 1)"


def test_a_value_does_not_name_a_quantity_named_already(tmp_path: Path) -> None:
    report = check(tmp_path, [f"a^{{[1]}}_1 = {H[0]:.4f}", f"q = {H[0]:.4f}"])
    assert [i.verdict for i in report.items] == ["correct", "unchecked"]
    assert "could not map q" in report.items[1].diagnosis
