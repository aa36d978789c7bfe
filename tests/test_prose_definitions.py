"""One symbol, one meaning: a key checks its own words (analyses/meanings.py, input/sheetspec.py).

Every verdict below is worked out by hand: which statements are true is decided here from the
definitions (σ(z) = 1/(1 + e^{−z}), softplus' = σ, the collapse W' = W2 W1) and plain-Python
numbers, never from symgrad's own answer.
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path
from typing import Any

import pytest

import symgrad
from cli import assert_bad_input, run_here as run
from symgrad.errors import ProblemError, SymgradError

ROOT = Path(__file__).resolve().parent.parent


def sig(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def sheet(text: str = "", *, activation: str = "sigmoid", symbols: dict[str, str] | None = None,
          note: str = "", erratum: bool | None = None, show: list[str] | None = None,
          layers: list[dict[str, Any]] | None = None, remark: str = "") -> dict[str, Any]:
    """A one-question sheet over a 1-1-1 network: x = 0.5, W1 = 0.4, b1 = 0.1, W2 = 0.3,
    b2 = -0.2, y = 1, half squared error, η = 0.5."""
    question: dict[str, Any] = {
        "number": "1", "text": text,
        "network": {"inputs": 1, "loss": "half_squared_error", "learning_rate": 0.5,
                    "layer": layers or [
                        {"units": 1, "activation": activation, "weights": [[0.4]], "biases": [0.1]},
                        {"units": 1, "activation": activation, "weights": [[0.3]], "biases": [-0.2]}]},
        "data": {"x": [0.5], "y": [1]},
        "part": [{"text": "The forward pass.", "show": show or ["forward", "loss"], "remark": remark}],
    }
    if note:
        question["note"] = note
    if erratum is not None:
        question["erratum"] = erratum
    data: dict[str, Any] = {"title": "t", "question": [question]}
    if symbols is not None:
        data["sheet"] = {"symbols": symbols}
    return data


def refused(data: dict[str, Any], *expected: str) -> str:
    with pytest.raises(ProblemError) as caught:
        symgrad.solve(data)
    message = str(caught.value)
    assert "\n" not in message
    for text in expected:
        assert text in message, message
    return message


# The forward pass of the sheet above, by hand.
Z1 = 0.4 * 0.5 + 0.1
H1 = sig(Z1)
Z2 = 0.3 * H1 - 0.2
YHAT = sig(Z2)
LOSS = (YHAT - 1) ** 2 / 2


# ---------------------------------------------------------------------------------------------
# A function defined in prose


@pytest.mark.parametrize("definition", [
    r"\sigma(z) = 1 / (1 + e^{-z})",
    r"\sigma(z) = \frac{1}{1 + e^{-z}}",
    r"\sigma(x) = \frac{e^{x}}{1 + e^{x}}",
    r"\sigma(z) = \frac{1}{1 + \exp(-z)}",
    "σ(z) = 1/(1 + e^{−z})",
])
def test_a_true_definition_of_sigma_is_left_as_it_is(definition: str) -> None:
    assert symgrad.solve(sheet(f"A network with ${definition}$."))


def test_sigma_defined_as_tanh_over_a_sigmoid_layer_is_refused(tmp_path: Path) -> None:
    """The issue's example: one line, exit status 2, naming σ and both meanings."""
    path = tmp_path / "tanh.toml"
    path.write_text('title = "t"\n[[question]]\ntext = "Activations $\\\\sigma(z) = \\\\tanh(z)$."\n'
                    '[question.network]\ninputs = 1\n[[question.network.layer]]\nunits = 1\n'
                    'activation = "sigmoid"\n[question.data]\nx = [0.5]\n', encoding="utf-8")
    out = run("solve", str(path), "-o", str(tmp_path))
    assert_bad_input(out, "tanh.toml", "question[1].text", "\\sigma (σ)", "\\tanh(z)",
                     "logistic function")
    assert not list(tmp_path.glob("*.tex"))


def test_sigma_as_softplus_is_refused_where_softplus_prime_prints_sigma() -> None:
    """seed002's mistake: softplus' is σ(z) in the key, so σ cannot be softplus in the prose."""
    refused(sheet(r"The softplus activation $\sigma(z) = \log(1 + e^{z})$.", activation="softplus",
                  show=["forward", "gradients"]), "\\sigma", "log(1 + e^{z})", "sigmoid")


@pytest.mark.parametrize("definition, ok", [
    (r"\operatorname{softplus}(z) = \log(1 + e^{z})", True),
    (r"\operatorname{softplus}(z) = \log(1 + e^{2 z})", False),
    (r"\mathrm{softplus}(z) = \log(1 + e^{z})", True),
    (r"\operatorname{ReLU}(z) = \max(0, z)", True),
    (r"\operatorname{ReLU}(z) = \max(0, -z)", False),
    (r"H(z) = \frac{1}{1 + e^{-z}}", False),
])
def test_the_keys_other_functions(definition: str, ok: bool) -> None:
    data = sheet(f"Note ${definition}$.")
    if ok:
        symgrad.solve(data)
    else:
        refused(data, "stands for two things")


def test_a_renamed_function_frees_its_letter_and_the_key_follows_it() -> None:
    """[sheet.symbols] sigmoid = "\\operatorname{logistic}": σ is the prose's own, and the key
    writes logistic everywhere (derivations, figure labels)."""
    data = sheet(r"Softplus units $\sigma(z) = \log(1 + e^{z})$; $\operatorname{logistic}(z) = 1/(1 + e^{-z})$.",
                 activation="softplus", symbols={"sigmoid": "\\operatorname{logistic}"},
                 show=["forward", "gradients"])
    tex = symgrad.solve(data).to_latex()
    body = tex.split("\\begin{questions}")[1]
    derivation = body.split("\\begin{solutionorbox}", 1)[1]
    assert "\\operatorname{logistic}\\left(" in derivation
    assert "\\sigma\\left(" not in derivation  # softplus' is written logistic, never σ
    refused(sheet(r"$\operatorname{logistic}(z) = \tanh(z)$", symbols={"sigmoid": "\\operatorname{logistic}"}),
            "logistic", "stands for two things")


def test_a_function_written_out_frees_its_letter() -> None:
    """[sheet] written_out = ["sigmoid"]: the key writes 1/(1 + e^{-z}), never σ, so the prose
    may give σ to softplus."""
    data = sheet(r"Softplus units $\sigma(z) = \log(1 + e^{z})$.", activation="softplus",
                 show=["forward", "gradients"])
    data["sheet"] = {"written_out": ["sigmoid"]}
    data["question"][0]["part"][0]["plot"] = ["softplus", "sigmoid"]
    tex = symgrad.solve(data).to_latex()
    derivation = tex.split("\\begin{solutionorbox}", 1)[1]
    assert "\\frac{1}{1 + e^{- z^{[2]}_{1}}}" in derivation  # ∂ŷ/∂z₂ = softplus'(z₂), written out
    assert "\\sigma" not in derivation.replace("\\sigma(z) = \\log", "")
    assert "title={$\\frac{1}{1 + e^{-z}}$}" in tex  # the plots' labels too
    refused(sheet(r"$\sigma(z) = \tanh(z)$"), "stands for two things")  # not written out: σ is taken
    for bad, why in ((["relu"], "expected a list drawn from sigmoid, softplus"),
                     ("sigmoid", "expected a list")):
        with pytest.raises(ProblemError, match=why):
            symgrad.solve({**sheet(), "sheet": {"written_out": bad}})
    with pytest.raises(ProblemError, match="renamed in \\[sheet.symbols\\] and written out"):
        symgrad.solve({**sheet(), "sheet": {"written_out": ["sigmoid"], "symbols": {"sigmoid": "s"}}})


def test_a_head_only_the_prose_defines_has_one_meaning() -> None:
    symgrad.solve(sheet(r"Let $f(z) = z^2$ and again $f(u) = u u$."))
    refused(sheet(r"Let $f(z) = z^2$ and later $f(z) = 2 z$."), "f", "stands for two things", "z^2")


def test_a_plot_label_follows_the_rename() -> None:
    data = sheet("Plots.", symbols={"sigmoid": "\\operatorname{logistic}"})
    data["question"][0]["part"][0]["plot"] = ["sigmoid", "softplus"]
    tex = symgrad.solve(data).to_latex()
    assert "\\operatorname{logistic} (z)" in tex and "\\sigma(z)" not in tex


# ---------------------------------------------------------------------------------------------
# A quantity defined in prose


H_NAMES = {"a1": "h", "z1": "z", "yhat": "y", "y": "t", "L": "J"}


@pytest.mark.parametrize("statement, ok", [
    (r"h_1 = \sigma(z_1)", True),
    (r"h_{1} = \frac{1}{1 + e^{-z_1}}", True),
    (r"h_1 = \tanh(z_1)", False),
    (r"z_1 = W^{[1]}_{1} x + b_1", None),  # names the key does not print: left alone
    (r"y = \sigma(0.3 h_1 - 0.2)", True),  # at the problem's numbers
    (r"y = \sigma(0.3 h_1 + 0.2)", False),
    (r"J = \frac{1}{2} (t - y)^2", True),
    (r"J = (t - y)^2", False),
    (f"y = {YHAT:.4f}", True),  # within the digits written
    (f"y = {YHAT + 0.001:.4f}", False),
    ("t = 1", True),
    ("t = 0", False),
    (r"\q{eta} = 0.5", True),
    (r"\q{eta} = 0.1", False),
    (f"J = \\val{{L}} = {LOSS:.4g}", True),
])
def test_a_quantity_defined_in_prose(statement: str, ok: bool | None) -> None:
    data = sheet(f"Here ${statement}$.", symbols=H_NAMES)
    if ok is False:
        refused(data, "question[1].text", "is false", "question 1")
    else:
        symgrad.solve(data)


def test_a_question_speaks_of_its_network_and_a_part_of_its_own() -> None:
    """A part with a network of its own (tanh here) is not what the question's text describes."""
    def with_tanh_part(question_text: str, part_text: str) -> dict[str, Any]:
        data = sheet(question_text, symbols=H_NAMES)
        network = {**data["question"][0]["network"]}
        network["layer"] = [{**layer, "activation": "tanh"} for layer in network["layer"]]
        data["question"][0]["part"].append({"text": part_text, "network": network, "show": ["forward"]})
        return data

    symgrad.solve(with_tanh_part(r"$h_1 = \sigma(z_1)$", r"$h_1 = \tanh(z_1)$"))
    refused(with_tanh_part(r"$h_1 = \sigma(z_1)$", r"$h_1 = \sigma(z_1)$"), "question[1].part[2].text",
            "question 1 (b)")


def test_a_statement_of_numbers_alone() -> None:
    symgrad.solve(sheet(f"Note $\\sigma(1.5) = {sig(1.5):.4f}$ and $e^{{0}} = 1$."))
    refused(sheet(f"Note $\\sigma(1.5) = {sig(1.5) + 0.1:.4f}$."), "\\sigma(1.5)", "is false")
    # σ(1.5) = 0.8176 by hand: written to 1 or 2 decimals it is 0.8 and 0.82, not 0.9 or 0.81
    symgrad.solve(sheet(r"$\sigma(1.5) = 0.8$ and $\sigma(1.5) = 0.82$"))
    refused(sheet(r"$\sigma(1.5) = 0.9$"), "is false")
    refused(sheet(r"$\sigma(1.5) = 0.81$"), "is false")


def test_several_statements_in_one_formula() -> None:
    symgrad.solve(sheet(r"$h_1 = \sigma(z_1), \quad J = \frac{1}{2} (t - y)^2$", symbols=H_NAMES))
    refused(sheet(r"$h_1 = \sigma(z_1), \quad J = (t - y)^2$", symbols=H_NAMES), "J = (t - y)^2")
    # an inequality, a derivative, a vector: not a statement about the key
    symgrad.solve(sheet(r"$h_1 < 2$, $\sigma'(z) = 7$, $\partial J / \partial h_1 = 3$, $x = (1, 2)$",
                        symbols=H_NAMES))


# The collapsed layer of a 2-2-1 linear network, in the names of seed000's figure: by hand,
# W' = W2 W1, so w_2' = w_{12} w_{31} + w_{22} w_{32} and b' = w_{31} b_1 + w_{32} b_2 + b_3.
COLLAPSE_NAMES = {"W1": "w", "b1": "b", "W2[1,1]": "w_{31}", "W2[1,2]": "w_{32}", "b2[1]": "b_{3}",
                  "yhat": "y"}
LINEAR = [{"units": 2, "activation": "identity", "biases": True},
          {"units": 1, "activation": "identity", "biases": True}]


def collapse_sheet(text: str = "", note: str = "", erratum: bool | None = None) -> dict[str, Any]:
    data = sheet(text, note=note, erratum=erratum, symbols=COLLAPSE_NAMES, layers=LINEAR,
                 show=["collapse"])
    data["question"][0]["network"] = {"inputs": 2, "layer": LINEAR}
    data["question"][0]["data"] = {}
    return data


@pytest.mark.parametrize("statement, ok", [
    (r"w_2' = w_{12} w_{31} + w_{22} w_{32}", True),
    (r"w_2' = w_{31} w_{12} + w_{32} w_{22}", True),
    (r"w_2' = w_{12} w_{31} + w_{21} w_{32}", False),  # the document's mistake
    (r"b' = w_{31} b_1 + w_{32} b_2 + b_3", True),
    (r"b' = w_{11} b_1 + w_{12} b_2 + b_3", False),
    (r"y = w_1' x_1 + w_2' x_2 + b'", True),
])
def test_a_collapsed_layer(statement: str, ok: bool) -> None:
    data = collapse_sheet(f"Collapse it: ${statement}$.")
    if ok:
        symgrad.solve(data)
    else:
        refused(data, "is false")


def test_a_false_formula_stands_only_in_a_note_marked_erratum() -> None:
    wrong = r"The document's $w_2' = w_{12} w_{31} + w_{21} w_{32}$ is wrong."
    refused(collapse_sheet(note=wrong), "question[1].note", "erratum = true")
    symgrad.solve(collapse_sheet(note=wrong, erratum=True))
    refused(collapse_sheet(text=r"Its $w_2' = w_{12} w_{31} + w_{21} w_{32}$.", note="Quoted.",
                           erratum=True), "question[1].text")  # the flag is the note's alone


def test_erratum_is_checked_when_read() -> None:
    with pytest.raises(ProblemError, match="question\\[1\\].erratum: expected true or false"):
        symgrad.solve(sheet(note="n", erratum="yes"))  # type: ignore[arg-type]
    with pytest.raises(ProblemError, match="give the note"):
        symgrad.solve(sheet(erratum=True))


def test_a_claim_to_verify_may_be_false_in_its_text() -> None:
    data = sheet()
    data["question"][0]["part"].append({"text": r"Is $\sigma(0) = 1$?",
                                        "verify": "sigmoid(0) = 1"})
    symgrad.solve(data)


# ---------------------------------------------------------------------------------------------
# One symbol, one meaning in the notation


def test_two_quantities_given_one_symbol_are_refused_when_read(tmp_path: Path) -> None:
    """The issue's example: a1[1] and z1[1] both h."""
    path = tmp_path / "same.toml"
    path.write_text('[sheet.symbols]\n"a1[1]" = "h"\n"z1[1]" = "h"\n'
                    '[network]\ninputs = 1\n[[network.layer]]\nunits = 1\nactivation = "sigmoid"\n'
                    '[data]\nx = [0.5]\n', encoding="utf-8")
    out = run("solve", str(path), "-o", str(tmp_path))
    assert_bad_input(out, "same.toml", "sheet.symbols", "a1[1]", "z1[1]", "one symbol, one meaning")
    with pytest.raises(ProblemError):  # when read, before anything is solved
        symgrad.input.sheetspec.load_sheet(path)


@pytest.mark.parametrize("symbols, named", [
    ({"W1": "w", "W2": "w"}, ("W1[1,1]", "W2[1,1]")),  # families: w_{11} twice
    ({"b1": "b", "b2[1]": "b_{1}"}, ("b1[1]", "b2[1]")),  # b_1 as h_1 and h_{1} are one
    ({"a1[1]": "h_1", "z1[1]": "h_{1}"}, ("a1[1]", "z1[1]")),
    ({"yhat": "\\sigma"}, ("yhat", "sigmoid")),  # a quantity with the logistic function's letter
    ({"a1": "\\sigma"}, ("a1", "sigmoid")),
    ({"sigmoid": "h", "a1": "h"}, ("a1", "sigmoid")),
    ({"softplus": "\\sigma"}, ("sigmoid", "softplus")),  # two functions, one head
    ({"L": "H"}, ("L", "step")),
])
def test_symbols_with_two_meanings(symbols: dict[str, str], named: tuple[str, str]) -> None:
    message = refused(sheet(symbols=symbols), "one symbol, one meaning")
    assert all(n in message for n in named), message


def test_a_function_may_take_a_letter_another_gives_up() -> None:
    data = sheet(r"Here $\sigma(z) = \log(1 + e^{z})$ and $\operatorname{logistic}(z) = 1/(1 + e^{-z})$.",
                 activation="softplus", show=["forward", "gradients"],
                 symbols={"sigmoid": "\\operatorname{logistic}", "softplus": "\\sigma"})
    tex = symgrad.solve(data).to_latex()
    assert "\\sigma\\left(z^{[1]}_{1}\\right)" in tex or "\\sigma\\left(z^{[1]}\\right)" in tex
    assert "\\operatorname{softplus}" not in tex.split("\\begin{questions}")[1]


def test_an_unspecified_activation_with_a_functions_letter() -> None:
    refused(sheet(activation="sigma"), "unspecified activation sigma", "sigmoid")
    symgrad.solve(sheet(activation="sigma", symbols={"sigmoid": "\\operatorname{logistic}"}))
    refused(sheet(activation="g", symbols={"a1": "g"}), "unspecified activation g")


def test_a_graph_whose_names_print_alike() -> None:
    data = {"graph": {"output": "f", "define": {"f": "x1 + x_1"}}, "data": {"x1": 1, "x_1": 2}}
    with pytest.raises(SymgradError, match="x1 and x_1 would both print as x_{1}"):
        symgrad.solve(data)


# ---------------------------------------------------------------------------------------------
# The examples


def test_seed002_question_2_2_uses_sigma_for_one_function() -> None:
    """Every prose definition of σ in the key is the logistic function (read off the .tex with
    a regular expression), and the derivation of 2.2 writes ∂ŷ/∂z₂ = σ(z₂) for softplus'."""
    tex = symgrad.solve(ROOT / "examples" / "seed002.toml").to_latex()
    q22 = tex.split("\\titledquestion{2.2}")[1].split("\\titledquestion{2.3}")[0]
    definitions = re.findall(r"\\sigma\(z\) = ([^$]*)\$", tex)
    assert definitions and set(definitions) == {"1 / (1 + e^{-z})"}
    assert "\\operatorname{softplus}(z) = \\log(1 + e^{z})" in q22
    assert "\\sigma\\left(\\mathbf{z}_{2}\\right)" in q22  # softplus' = σ, the logistic function


def test_the_examples_mark_the_notes_that_quote_mistakes() -> None:
    """seed000's σ(1.5) = 0.9176 (σ(1.5) is 0.8176 by hand) is quoted in a note marked erratum."""
    assert abs(sig(1.5) - 0.8176) < 5e-5
    text = (ROOT / "examples" / "seed000.toml").read_text(encoding="utf-8")
    note = text.split("0.9176")[1].split("[question.network]")[0]
    assert "erratum = true" in note


def test_no_prose_reaches_eval() -> None:
    """The statements are read by mathtext and built node by node: the module never calls eval,
    exec, compile, sympify, parse_expr or S(...) on text."""
    source = (ROOT / "symgrad" / "analyses" / "meanings.py").read_text(encoding="utf-8")
    called = {node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
              for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call)}
    assert not called & {"eval", "exec", "compile", "sympify", "parse_expr", "S", "__import__"}


@pytest.mark.parametrize("math_text", [
    "h_1 = " + "(" * 55 + "z_1" + ")" * 55,
    "h_1 = __import__('os')",
    "h_1 = \\sigma(z_1) = " + " + ".join(["z_1"] * 150),
])
def test_hostile_prose_is_left_alone_or_refused_in_one_line(math_text: str) -> None:
    data = sheet(f"${math_text}$", symbols=H_NAMES)
    try:
        symgrad.solve(data)
    except ProblemError as error:
        assert "\n" not in str(error)
