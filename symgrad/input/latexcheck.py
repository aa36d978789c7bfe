"""The one gate for LaTeX that a user writes: a small grammar of harmless mathematics.

A problem file may name its symbols in LaTeX (`[sheet.symbols] W1 = "C"`, `"W2[1,1]" = "w_{j1}"`,
`eta = "\\alpha"`, `[vector] name = "\\hat{J}"`).  That text is pasted into the answer key as is,
so it is the one place where a file could smuggle in `\\input{/etc/passwd}`, `\\write18`, a
`\\catcode` change or `^^5c` (TeX's own spelling of a backslash).  Rather than list what is
dangerous, `checked_math` accepts only what is known to be harmless: letters, digits, spaces,
`_ ^ { } ' ,`, a little math punctuation, and macros from an allowlist (Greek letters, accents,
math fonts, a few symbols), with balanced braces.  Anything else is one line naming the file and
field.  Prose never comes here: it is escaped (render.escape_tex) instead.
"""

from __future__ import annotations

import re

from symgrad.errors import ProblemError

MAX_LENGTH = 100  # characters: a symbol's name, not a paragraph
MAX_DEPTH = 8  # nested braces
# Harmless outside a macro argument: none of them is special to TeX in math mode, and none
# starts an optional argument where these strings are pasted (always inside $...$ or a display).
PLAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 '_^{},()[]+-*/.|")
GREEK = (
    "alpha beta gamma delta epsilon varepsilon zeta eta theta vartheta iota kappa varkappa lambda"
    " mu nu xi pi varpi rho varrho sigma varsigma tau upsilon phi varphi chi psi omega"
    " Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega"
).split()
SYMBOLS = GREEK + (
    "prime ell partial nabla top intercal infty star ast circ bullet dagger ddagger imath jmath"
    " hbar hslash aleph beth gimel daleth eth mho wp cdot times ldots cdots dots"
).split()
# Macros of one argument: accents and math fonts (all from the kernel, amsmath or amssymb,
# which every sheet loads).  Each must be followed by its argument.
ONE_ARGUMENT = (
    "hat bar tilde vec dot ddot check breve acute grave widehat widetilde overline underline"
    " mathbf boldsymbol mathrm mathit mathsf mathtt mathcal mathbb mathfrak operatorname"
).split()
TOKEN = re.compile(r"\\[A-Za-z]+|\\.|.", re.DOTALL)


def checked_math(source: str, field: str, text: str) -> str:
    """`text` unchanged when it is harmless LaTeX math; else ProblemError(source, field, ...)."""
    def shown(token: str) -> str:  # one line, whatever the token (a newline, U+2028)
        return f"'{token}'" if token.isprintable() else repr(token)

    def fail(why: str) -> ProblemError:
        return ProblemError(source, field, f"{why}: expected LaTeX math of letters, digits, "
                            "_ ^ { } ' , and macros such as \\hat \\bar \\mathbf \\alpha")

    if not text.strip():
        raise fail("empty")
    if len(text) > MAX_LENGTH:
        raise fail(f"{len(text)} characters is too long (at most {MAX_LENGTH})")
    tokens = TOKEN.findall(text)
    depth = 0
    for i, token in enumerate(tokens):
        if token.startswith("\\"):
            name = token[1:]
            if name not in SYMBOLS and name not in ONE_ARGUMENT:
                raise fail(f"{shown(token)} is not an allowed macro")  # \input, \def, \\, \$ ...
        elif token not in PLAIN:
            raise fail(f"{shown(token)} is not allowed")  # $ % # & ~ \n, non-ASCII, control
        depth += {"{": 1, "}": -1}.get(token, 0)
        if depth < 0:
            raise fail("unbalanced braces: '}' before its '{'")
        if depth > MAX_DEPTH:
            raise fail(f"braces nested more than {MAX_DEPTH} deep")
        if token in ("^", "_") or token[1:] in ONE_ARGUMENT:
            # An argument must follow: else TeX takes the template's next token ("x^" + "}"), and
            # "^^" is TeX's escape for any character (^^5c is a backslash).
            following = next((t for t in tokens[i + 1:] if t != " "), "")
            if following in ("", "}", "^", "_", "'", ",") or following[1:] in ONE_ARGUMENT:
                raise fail(f"{shown(token)} needs an argument")
    if depth:
        raise fail("unbalanced braces: a '{' is never closed")
    return text
