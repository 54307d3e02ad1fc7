"""Where a project's chapters and their reports live: the folders the pipeline and the book pages share.

A chapter is a folder ``replications/<name>/`` holding ``<name>.md`` (a jupytext MyST notebook) and
``config.py``; its report is ``book/chapters/<name>.ipynb`` with the pipeline's metadata under
:data:`METADATA_KEY`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

METADATA_KEY = "sensorimotor"


class PipelineError(RuntimeError):
    """A chapter name, parameter or run that the pipeline cannot accept."""


@dataclasses.dataclass(frozen=True)
class Chapter:
    """One replication chapter and where its files live."""

    name: str
    folder: Path
    book_dir: Path

    @property
    def source(self) -> Path:
        return self.folder / f"{self.name}.md"

    @property
    def config_path(self) -> Path:
        return self.folder / "config.py"

    @property
    def report(self) -> Path:
        return self.book_dir / "chapters" / f"{self.name}.ipynb"

    @property
    def session_name(self) -> str:
        return "replicate-" + self.name.replace("_", "-")


def find_root(start: Path | None = None) -> Path:
    """The project root: the nearest folder above ``start`` holding ``replications/`` and ``book/``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "replications").is_dir() and (folder / "book").is_dir():
            return folder
    raise PipelineError(f"no project root (a folder with replications/ and book/) at or above {here}")


def discover_chapters(root: Path) -> dict[str, Chapter]:
    """Every ``replications/<name>/<name>.md`` under ``root``, by name."""
    chapters = {}
    for folder in sorted((root / "replications").glob("*")):
        if folder.is_dir() and (folder / f"{folder.name}.md").is_file():
            chapters[folder.name] = Chapter(folder.name, folder, root / "book")
    return chapters


def get_chapter(root: Path, name: str) -> Chapter:
    """The chapter called ``name`` (``som-ae`` and ``som_ae`` both work); else a clear error."""
    chapters = discover_chapters(root)
    key = name.replace("-", "_")
    if key not in chapters:
        valid = ", ".join(c.name.replace("_", "-") for c in chapters.values()) or "(none yet)"
        raise PipelineError(f"unknown chapter {name!r}; valid chapters: {valid}")
    return chapters[key]


def read_report_metadata(report: Path) -> dict[str, Any]:
    import nbformat

    notebook = nbformat.read(str(report), as_version=4)
    meta = notebook.metadata.get(METADATA_KEY)
    if not isinstance(meta, dict):
        raise PipelineError(f"{report} has no '{METADATA_KEY}' metadata; regenerate it with the pipeline")
    return meta
