"""Which library code produced a result: module hashes, their import closure, and what a kernel used.

Cache keys include :func:`code_hash` of the module that writes an entry and every library module it
imports (transitively), so changed code never reuses data or weights made by the old code. A chapter
run ends with :func:`sensorimotor.kernel_record.kernel_provenance`, which reports the hash of every
library module the kernel imported (:func:`imported_module_hashes`) and the cache's events.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import sys
from collections.abc import Iterable
from pathlib import Path

PACKAGE = "sensorimotor"
PROVENANCE_METADATA_KEY = "sensorimotor-provenance"


def package_root() -> Path:
    """The folder of the ``sensorimotor`` package."""
    return Path(__file__).resolve().parent


def module_file(name: str, root: Path | None = None) -> Path | None:
    """The source file of library module ``name`` (``sensorimotor.a.b``), or None if there is none."""
    if name != PACKAGE and not name.startswith(PACKAGE + "."):
        return None
    base = (root or package_root()).joinpath(*name.split(".")[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_sha256(name: str, root: Path | None = None) -> str | None:
    """sha256 of a library module's source; None when the module does not exist (any more)."""
    path = module_file(name, root)
    return hashlib.sha256(path.read_bytes()).hexdigest() if path is not None else None


def all_modules(root: Path | None = None) -> list[str]:
    """Every module of the package, by dotted name."""
    base = root or package_root()
    names = []
    for path in sorted(base.rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names.append(".".join([PACKAGE, *parts]))
    return names


@functools.cache
def _imports_of(path: Path, mtime_ns: int) -> tuple[tuple[str, tuple[str, ...]], ...]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(tree):  # imports inside functions count too
        if isinstance(node, ast.Import):
            found += [(alias.name, ()) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, tuple(alias.name for alias in node.names)))
    return tuple(found)


def imports(name: str, root: Path | None = None) -> set[str]:
    """Library modules that module ``name`` imports (at top level or inside functions)."""
    path = module_file(name, root)
    if path is None:
        return set()
    out: set[str] = set()
    for module, names in _imports_of(path, path.stat().st_mtime_ns):
        if module != PACKAGE and not module.startswith(PACKAGE + "."):
            continue
        submodules = [f"{module}.{n}" for n in names if module_file(f"{module}.{n}", root) is not None]
        out.update(submodules or [module])
        if names and len(submodules) < len(names):
            out.add(module)  # attributes of the package module itself
    # a package's __init__ runs first whenever one of its modules is imported
    parts = name.split(".")
    out.update(".".join(parts[:i]) for i in range(1, len(parts)))
    out.discard(name)
    return {m for m in out if module_file(m, root) is not None}


def closure(names: Iterable[str], root: Path | None = None) -> list[str]:
    """``names`` and every library module they import, transitively, sorted."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if module_file(name, root) is None:
            raise ValueError(f"{name!r} is not a module of the {PACKAGE} package")
        seen.add(name)
        todo.extend(imports(name, root) - seen)
    return sorted(seen)


def code_hash(names: Iterable[str], root: Path | None = None, length: int = 16) -> str:
    """One hash of the source of ``names`` and every library module they import."""
    digest = hashlib.sha256()
    for name in closure(names, root):
        digest.update(f"{name}\0{module_sha256(name, root)}\n".encode())
    return digest.hexdigest()[:length]


def imported_module_hashes() -> dict[str, str]:
    """sha256 of every library module imported in this process, by name."""
    hashes = {}
    for name in sorted(sys.modules):
        sha = module_sha256(name)
        if sha is not None:
            hashes[name] = sha
    return hashes
