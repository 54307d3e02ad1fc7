"""The library's import graph: no cycles, and no chapter subpackage imports another chapter's.

The graph is built statically: every module of ``sensorimotor`` is parsed with ``ast`` and every
``import``/``from ... import`` in it counts, including those inside functions (lazy imports still make a
cycle, they only hide it until run time).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

import sensorimotor

PACKAGE = "sensorimotor"
PACKAGE_DIR = Path(sensorimotor.__file__).resolve().parent
ROOT = Path(__file__).resolve().parents[1]


def module_files() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (packages as their ``__init__``)."""
    modules = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = [PACKAGE, *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str:
    base = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join([*base, name] if name else base)


def imports_of(module: str, path: Path, known: Iterable[str]) -> set[str]:
    """The package's modules that ``module`` imports (anywhere in the file)."""
    known = set(known)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = _resolve_relative(module, is_package, node.level, node.module)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in known else base)
    targets = set()
    for name in found:
        # ``import a.b.c`` of a non-module attribute path: keep the longest known prefix
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name:
            targets.add(name)
    return targets


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """One cycle (as a closed path ``[a, b, ..., a]``) per strongly connected component that has one."""
    graph = {k: sorted(v) for k, v in graph.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def strongconnect(node: str) -> None:  # Tarjan; the graph is small, recursion is fine
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                strongconnect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            components.append(component)

    for node in sorted(graph):
        if node not in index:
            strongconnect(node)

    cycles = []
    for component in components:
        members = set(component)
        start = min(component)
        if len(component) == 1 and start not in graph.get(start, ()):
            continue
        # shortest path from start back to itself inside the component (breadth first)
        previous: dict[str, str] = {}
        frontier = [start]
        while frontier and start not in previous:
            nxt = []
            for node in frontier:
                for succ in graph.get(node, ()):
                    if succ in members and succ not in previous:
                        previous[succ] = node
                        nxt.append(succ)
            frontier = nxt
        path = [start]
        node = previous[start]
        while node != start:
            path.append(node)
            node = previous[node]
        cycles.append([start, *reversed(path[1:]), start])
    return cycles


def chapter_packages() -> list[str]:
    """Subpackages named after a chapter folder under ``replications/``."""
    chapters = {p.name for p in (ROOT / "replications").iterdir() if (p / "config.py").exists()}
    return sorted(p.name for p in PACKAGE_DIR.iterdir() if (p / "__init__.py").exists() and p.name in chapters)


def _owner(module: str, chapters: Iterable[str]) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in set(chapters) else None


def test_cycle_finder_names_cycles():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"}, "e": {"a"}}
    assert sorted(find_cycles(graph)) == [["a", "b", "c", "a"], ["d", "d"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_graph_sees_imports_inside_functions():
    graph = import_graph()
    # gmn.training imports the evaluation at the top; the DMBN authors' loader imports training lazily
    assert "sensorimotor.gmn.evaluation" in graph["sensorimotor.gmn.training"]
    assert "sensorimotor.dmbn.training" in graph["sensorimotor.dmbn.authors_data"]


def test_no_import_cycles():
    cycles = find_cycles(import_graph())
    assert not cycles, "import cycles in the library:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_chapter_subpackages_exist():
    assert set(chapter_packages()) >= {"dmbn", "gmn", "mirror_align", "som_ae"}


@pytest.mark.parametrize("chapter", chapter_packages())
def test_chapter_does_not_import_another_chapter(chapter):
    chapters = chapter_packages()
    bad = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if _owner(module, chapters) == chapter
        for target in targets
        if _owner(target, chapters) not in (None, chapter)
    )
    assert not bad, f"chapter {chapter} imports another chapter's code:\n" + "\n".join(bad)


def test_shared_code_does_not_import_a_chapter():
    chapters = chapter_packages()
    bad = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if _owner(module, chapters) is None
        for target in targets
        if _owner(target, chapters) is not None
    )
    assert not bad, "shared modules import chapter code:\n" + "\n".join(bad)
