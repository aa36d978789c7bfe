"""A solved problem compiled once into a numpy function: forward pass, gradients and update for a
whole batch of inputs at a time.

The program is the graph itself, written as straight-line code: each node over its parents, then
each adjoint ∂T/∂v over its children's adjoints (the backward sweep), then the textbook results.
Every intermediate value is computed once and shared, as reverse mode does; nothing is composed
into one large expression.  sympy's `lambdify` prints it (each activation carries a numpy form
that is stable for large arguments) and compiles it, once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter
from sympy import Expr, Symbol
from sympy.core.function import AppliedUndef

from symgrad.engine.solution import Solution
from symgrad.errors import SymgradError
from symgrad.input.names import Partial


@dataclass(frozen=True)
class Compiled:
    """`compiled({"x[1]": array, ...})` → {"values": ..., "gradients": ..., "updated": ...}."""

    leaves: tuple[str, ...]  # every name it accepts, in the argument order
    defaults: Mapping[str, float]  # the problem's own values, used for names not given
    values: tuple[str, ...]  # the keys of each part of the result, as in the JSON
    gradients: tuple[str, ...]
    updated: tuple[str, ...]
    function: Callable[..., list[Any]]

    def __call__(self, given: Mapping[str, Any] | None = None, **named: Any) -> dict[str, dict[str, np.ndarray]]:
        given = {**(given or {}), **named}
        unknown = sorted(set(given) - set(self.leaves))
        if unknown:
            raise SymgradError(f"compile: {unknown[0]!r} is not an input, parameter or target "
                               f"(expected one of {', '.join(self.leaves)})")
        arguments = []
        for name in self.leaves:
            if name in given:
                arguments.append(real_array(name, given[name]))
            elif name in self.defaults:
                arguments.append(np.float64(self.defaults[name]))
            else:
                raise SymgradError(f"compile: {name!r} has no value in the problem; pass it")
        try:
            shape = np.broadcast_shapes(*(np.shape(a) for a in arguments))
        except ValueError:
            shapes = ", ".join(f"{n} {np.shape(a)}" for n, a in zip(self.leaves, arguments)
                               if n in given)
            raise SymgradError(f"compile: expected arrays that broadcast together, got {shapes}"
                               ) from None
        with np.errstate(all="ignore"):  # a value that is not finite is reported as NaN/inf
            results = self.function(*arguments)
        out = iter(np.broadcast_to(np.asarray(r, dtype=float), shape) for r in results)
        return {
            "values": {k: next(out) for k in self.values},
            "gradients": {k: next(out) for k in self.gradients},
            "updated": {k: next(out) for k in self.updated},
        }


def real_array(name: str, value: Any) -> np.ndarray:
    """A given value as an array of real numbers (a number, a list or an array of them)."""
    try:
        array = np.asarray(value)
    except (ValueError, TypeError):  # a ragged list
        array = np.asarray(None)
    if array.dtype.kind not in "biuf":  # None, a string, a complex number, an object ...
        raise SymgradError(f"compile: {name}: expected real numbers or an array of them, "
                           f"got {type(value).__name__}")
    return array.astype(float)


def compile_solution(solution: Solution) -> Compiled:
    graph = solution.graph
    leaves, function = straight_line(solution, standard_outputs(solution), "compile")
    return Compiled(
        leaves=leaves,
        defaults={graph.by_symbol[s].name: float(v) for s, v in graph.values.items()},
        values=tuple(solution.values), gradients=tuple(solution.gradients),
        updated=tuple(stepped(solution)), function=function,
    )


def stepped(solution: Solution) -> list[str]:
    """The parameters one gradient step updates; none for an [optimizer], whose several steps
    (each at new values) are not one formula to compile."""
    return [] if solution.spec.optimizer is not None else list(solution.updated)


def definitions_of(solution: Solution) -> list[tuple[Symbol, Expr]]:
    """Every node over its parents, then every adjoint over its children's adjoints."""
    definitions: list[tuple[Symbol, Expr]] = [
        (node.symbol, node.expr) for node in solution.graph.nodes if node.expr is not None
    ]
    for sweep in solution.sweeps.values():  # T first: each adjoint after its children's
        for v in sweep.order:
            adjoint = sweep.adjoint_symbols[v]
            if isinstance(adjoint, Symbol) and v in sweep.adjoints:
                definitions.append((adjoint, sweep.adjoints[v]))
    return definitions


def standard_outputs(solution: Solution) -> list[Expr]:
    """The values, the gradients and the updated parameters, in the JSON's order."""
    graph = solution.graph
    outputs: list[Expr] = [graph.node(name).symbol for name in solution.values]
    outputs += [g.derivation.result for g in solution.gradients.values()]
    for name in stepped(solution):
        g = solution.gradients[str(Partial(graph.output, name))]
        eta = sympy.Float(graph.learning_rate)
        outputs.append(graph.node(name).symbol - eta * g.derivation.result)
    return outputs


class StepPrinter(NumPyPrinter):
    """numpy's printer, with the step function as numpy.heaviside: sympy's own writes H(a − max(b,
    c, d)) (max pooling's derivative) as a Piecewise of every ordering, which takes seconds."""

    def _print_Heaviside(self, expr: sympy.Heaviside) -> str:
        x, *at_zero = expr.args
        return "%s(%s, %s)" % (self._module_format("numpy.heaviside"), self._print(x),
                               self._print(at_zero[0] if at_zero else sympy.Rational(1, 2)))


def straight_line(solution: Solution, outputs: list[Expr], what: str) -> tuple[tuple[str, ...], Callable[..., list[Any]]]:
    """The leaves' names, and a numpy function of them that returns `outputs`."""
    graph = solution.graph
    leaves = [node for node in graph.nodes if node.expr is None]
    program = needed(definitions_of(solution), outputs)
    # Names such as W1[1,1] or dL/dz1[1] are no Python identifiers: number every symbol.
    rename = {node.symbol: Symbol(f"leaf{k}") for k, node in enumerate(leaves)}
    rename |= {s: Symbol(f"v{k}") for k, (s, _) in enumerate(program)}
    steps = [(rename[s], e.xreplace(rename)) for s, e in program]
    results = [sympy.sympify(e).xreplace(rename) for e in outputs]
    unknown = {s for _, e in steps for s in e.free_symbols} | {s for e in results for s in e.free_symbols}
    unknown -= set(rename.values())
    if unknown:
        raise SymgradError(f"{what}: no value for {sorted(map(str, unknown))[0]}")
    unspecified = {f.func for _, e in program for f in e.atoms(AppliedUndef)}
    if unspecified:
        raise SymgradError(f"{solution.spec.source}: {what}: the function "
                           f"{sorted(map(str, unspecified))[0]} is unspecified, so the problem "
                           "has no numbers")
    try:
        function = sympy.lambdify(
            [rename[n.symbol] for n in leaves], results, modules="numpy",
            cse=lambda exprs: (steps, list(exprs)), docstring_limit=0,
            printer=StepPrinter({"fully_qualified_modules": False, "inline": True,  # as lambdify's own
                                 "allow_unknown_functions": True, "user_functions": {}}),
        )
    except Exception as error:  # noqa: BLE001 - sympy's printer has no numpy form of it
        text = " ".join(str(error).split())[:200]
        raise SymgradError(f"{solution.spec.source}: {what}: cannot evaluate the problem in "
                           f"floating point ({text})") from None
    return tuple(n.name for n in leaves), function


def needed(definitions: list[tuple[Symbol, Expr]], outputs: list[Expr]) -> list[tuple[Symbol, Expr]]:
    """The definitions the outputs use, in their order (a backward sweep has adjoints no
    requested gradient needs, such as ∂L/∂y, which may be log 0)."""
    wanted: set[Symbol] = set()
    for e in outputs:
        wanted |= sympy.sympify(e).free_symbols
    keep = []
    for s, e in reversed(definitions):
        if s in wanted:
            keep.append((s, e))
            wanted |= e.free_symbols
    return keep[::-1]
