"""symgrad: neural networks and chain-rule calculus, derived symbolically and worked out."""

from .errors import NumericError, ProblemError, SymgradError
from .solution import Gradient, Solution, solve
from .spec import ProblemSpec, load_problem, read_problem
from .vector import vector_gradient
from .verify import Verdict, verify

__all__ = [
    "Gradient",
    "NumericError",
    "ProblemError",
    "ProblemSpec",
    "Solution",
    "Verdict",
    "SymgradError",
    "load_problem",
    "read_problem",
    "solve",
    "vector_gradient",
    "verify",
]
