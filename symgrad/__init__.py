"""symgrad: neural networks and chain-rule calculus, derived symbolically and worked out."""

__version__ = "0.2.0"

from symgrad.errors import NumericError, ProblemError, SymgradError
from symgrad.api import Gradient, Sheet, Solution, check, compile, solve, variants
from symgrad.input.spec import ProblemSpec, load_problem, read_problem
from symgrad.input.tomlout import to_toml
from symgrad.input.torchmodel import from_torch
from symgrad.analyses.vector import vector_gradient
from symgrad.proof.verify import Verdict, verify
from symgrad.grade import grade

__all__ = [
    "Gradient",
    "Sheet",
    "check",
    "check",
    "compile",
    "from_torch",
    "grade",
    "NumericError",
    "ProblemError",
    "ProblemSpec",
    "Solution",
    "Verdict",
    "SymgradError",
    "load_problem",
    "read_problem",
    "solve",
    "to_toml",
    "variants",
    "vector_gradient",
    "verify",
]
