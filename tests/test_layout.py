"""The house rules of `pipeline/`'s layout: no import circles, plain data at the bottom.

Every import counts: at module level, inside a function (a lazy import still ties the two
modules together, it only hides the tie until run time) and under `TYPE_CHECKING` (the type
checker follows it, and a circle there is a circle in the design). An import of a package
counts as an import of its `__init__`, but importing `pkg.mod` is not counted as importing
`pkg` too: a package's `__init__` only gathers its modules' names for outside callers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

import pipeline

ROOT = Path(pipeline.__file__).parent
# Plain data and primitives: what they may import of `pipeline` when the code runs.
BOTTOM = {
    "pipeline.readings": set(),
    "pipeline.pages": {"pipeline.readings"},
    "pipeline.ink": set(),
    "pipeline.units": set(),
}


def _modules() -> dict[str, Path]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        parts = path.with_suffix("").relative_to(ROOT.parent).parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _imported(name: str, path: Path, modules: Mapping[str, Path]) -> Iterator[tuple[str, bool]]:
    """The pipeline modules `name` imports, each with whether the import runs (not type-only)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    for node in ast.walk(tree):
        runs = id(node) not in type_only
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in modules:
                    yield alias.name, runs
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                above = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*above, base] if base else above)
            for alias in node.names:
                if f"{base}.{alias.name}" in modules:  # `from pkg import mod`
                    yield f"{base}.{alias.name}", runs
                elif base in modules:
                    yield base, runs


def _graph(runtime_only: bool = False) -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {
            other
            for other, runs in _imported(name, path, modules)
            if other != name and (runs or not runtime_only)
        }
        for name, path in modules.items()
    }


def _cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_finder_sees_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_sees_lazy_and_type_only_imports() -> None:
    graph = _graph()
    assert "pipeline.pdf_scan" in graph["pipeline.ingest"]  # imported inside a function
    assert "pipeline.prepare" in graph["pipeline.pages"]  # imported for the type checker only
    assert "pipeline.prepare" not in _graph(runtime_only=True)["pipeline.pages"]


def test_no_import_circles() -> None:
    graph = _graph()
    circles = _cycles(graph)
    described = [
        ", ".join(f"{m} -> {sorted(set(circle) & graph[m])}" for m in circle) for circle in circles
    ]
    assert not circles, "import circles among pipeline modules:\n" + "\n".join(described)


def test_bottom_modules_import_nothing_above_them() -> None:
    graph = _graph(runtime_only=True)
    for name, allowed in BOTTOM.items():
        assert graph[name] <= allowed, f"{name} imports {sorted(graph[name] - allowed)}"
