"""symgrad: neural networks and chain-rule calculus, derived symbolically and worked out."""

__version__ = "0.2.0"

from symgrad.errors import NumericError, ProblemError, SymgradError
from symgrad.api import Gradient, Sheet, Solution, check, compile, solve, variants
from symgrad.input.spec import ProblemSpec, load_problem, read_problem
from symgrad.analyses.vector import vector_gradient
from symgrad.proof.verify import Verdict, verify
from symgrad.grade import grade

__all__ = [
    "Gradient",
    "Sheet",
    "check",
    "check",
    "compile",
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
    "variants",
    "vector_gradient",
    "verify",
]
