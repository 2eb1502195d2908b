"""The import graph the design promises: notebooks -> utils; autograde -> nbgrader; no arrow back.

Read from the source (every import statement, at module level or inside a function), so a
violation is found without running anything:

- ``utils`` (what students install) never imports the grader;
- ``autograde.kernel`` (the code that runs in or for a student's process) imports nothing else
  of the grader, so no grading data can reach a student's kernel through it;
- only ``autograde.engine`` talks to nbgrader;
- the grader's modules import each other without a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, as absolute dotted names."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else None
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = (package or module_name(path)).split(".")
                base = ".".join(anchor[: len(anchor) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def modules(package: str) -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in sorted((REPO / package).rglob("*.py"))}


def internal(names: set[str], prefix: str) -> set[str]:
    return {n for n in names if n == prefix or n.startswith(prefix + ".")}


def test_utils_never_imports_the_grader():
    offending = {m: internal(i, "autograde") for m, i in modules("utils").items()}
    assert {m: i for m, i in offending.items() if i} == {}


def test_the_kernel_side_imports_nothing_else_of_the_grader():
    kernel = {m: i for m, i in modules("autograde").items() if internal({m}, "autograde.kernel")}
    assert kernel, "no autograde.kernel package"
    offending = {
        m: internal(i, "autograde") - internal(i, "autograde.kernel") for m, i in kernel.items()
    }
    assert {m: i for m, i in offending.items() if i} == {}


def test_only_the_engine_talks_to_nbgrader():
    users = {m for m, i in modules("autograde").items() if internal(i, "nbgrader")}
    assert users == {"autograde.engine"}


def test_the_grader_has_no_import_cycle():
    graph = modules("autograde")
    known = set(graph)
    edges = {
        m: {n for n in (name if name in known else name.rsplit(".", 1)[0] for name in i)}
        & (known - {m})
        for m, i in graph.items()
    }
    # A package's __init__ is imported by its submodules implicitly; only explicit arrows count.
    visiting: list[str] = []
    done: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        if node in done:
            return
        if node in visiting:
            cycles.append(visiting[visiting.index(node) :] + [node])
            return
        visiting.append(node)
        for target in sorted(edges[node]):
            visit(target)
        visiting.pop()
        done.add(node)

    for node in sorted(edges):
        visit(node)
    assert cycles == []
