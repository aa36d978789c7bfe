"""The pipeline's layers: every import points one way, and no module imports itself back.

Every import counts, also one inside a function or under TYPE_CHECKING: a cycle hidden in a
function is still a cycle.  The order is the README's layout.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "symgrad"
LAYERS = ["errors", "calculus", "input", "engine", "proof", "analyses", "output", "api", "grade", "cli",
          "__main__", "__init__"]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" and len(parts) > 2 else parts)


def layer(module: str) -> int:
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return LAYERS.index(top)


def imports() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        name = module_name(path)
        targets = found.setdefault(name, set())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{name}: relative import; use absolute symgrad.* imports"
                base = node.module or ""
                if base.startswith("symgrad"):
                    for alias in node.names:  # `from symgrad.input import limits` is a module
                        sub = f"{base}.{alias.name}"
                        targets.add(sub if (PACKAGE.parent / (sub.replace(".", "/") + ".py")).exists() else base)
            elif isinstance(node, ast.Import):
                targets |= {a.name for a in node.names if a.name.startswith("symgrad")}
        targets.discard("symgrad")
        targets.discard(name)
    return found


def test_every_import_points_down_the_pipeline() -> None:
    wrong = [
        f"{module} imports {target}"
        for module, targets in imports().items() for target in targets
        if target.count(".") >= 1 and layer(target) > layer(module)
    ]
    assert wrong == []


def test_no_import_cycle() -> None:
    graph = imports()
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", " -> ".join(path + [module])
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            visit(target, path + [module])
        state[module] = "done"

    for module in sorted(graph):
        visit(module, [])


def test_the_layers_are_all_there() -> None:
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert packages == {"calculus", "input", "engine", "proof", "analyses", "output"}
