"""A plain-text summary of a Solution, for the terminal."""

from __future__ import annotations

from typing import Any

from symgrad.output.jsonout import number


def shown(value: Any) -> str:
    value = number(value)
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def summary(solved: Any) -> str:
    """A Solution, or every solved part of a Sheet."""
    if not hasattr(solved, "questions"):
        return part_summary(solved)
    out = [solved.title]
    for q in solved.questions:
        for part in q.parts:
            out.append(f"\n== Question {q.number} {part.label}".rstrip())
            out.append(part_summary(part.solution) if part.solution else part.text)
    return "\n".join(out)


def part_summary(solution: Any) -> str:
    lines = [solution.title, ""]
    if solution.values:
        lines.append("Forward pass")
        lines += [f"  {name} = {shown(v)}" for name, v in solution.values.items()]
    for key, g in solution.gradients.items():
        d = g.derivation
        lines += ["", f"{key} = {d.result}"]
        if d.paths:
            chain = " + ".join(
                " · ".join(f"∂{f.of}/∂{f.wrt}" for f in path) or "1" for path in d.paths
            )
            lines.append(f"  = {chain}")
        lines.append(f"  = {shown(g.value)}   [{g.certificate}]")
    if solution.updated:
        lines += ["", "Gradient-descent step"]
        lines += [f"  {name} ← {shown(v)}" for name, v in solution.updated.items()]
    return "\n".join(lines)
