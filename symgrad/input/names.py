"""A partial derivative's name, "dL/dW2[1,1]": the one place it is printed and parsed.

It is a JSON key, the name of an adjoint symbol (∂L/∂z1[1], the δ of z1[1]) and what `[ask]`
requests, so every part of symgrad builds and reads it here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PARTIAL = re.compile(r"d(?P<top>[^/]+)/d(?P<wrt>[^/]+)\Z")


@dataclass(frozen=True)
class Partial:
    top: str  # what is differentiated: L, f, yhat[1]
    wrt: str  # by what: W2[1,1], x1, z1[2]

    def __str__(self) -> str:
        return f"d{self.top}/d{self.wrt}"

    @classmethod
    def parse(cls, text: str) -> Partial | None:
        """The partial that `text` names ("dL/dW2[1,1]", spaces ignored), or None."""
        match = _PARTIAL.match(text.replace(" ", ""))
        return cls(match["top"], match["wrt"]) if match else None
