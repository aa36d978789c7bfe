"""symgrad: neural networks and chain-rule calculus, derived symbolically and worked out."""

from symgrad.errors import NumericError, ProblemError, SymgradError
from symgrad.engine.solution import Gradient, Solution, solve
from symgrad.input.spec import ProblemSpec, load_problem, read_problem
from symgrad.analyses.vector import vector_gradient
from symgrad.proof.verify import Verdict, verify

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
