"""The chapter pipeline: chapter source -> jupytext -> papermill (profile) -> report -> book summary.

Command line (what the nox sessions call)::

    python -m sensorimotor.pipeline list
    python -m sensorimotor.pipeline replicate dmbn [--profile paper] [--seed 3] [-p train_steps=500 ...]
    python -m sensorimotor.pipeline prepare-smoke        # notebooks for nbval at the smoke profile
    python -m sensorimotor.pipeline summary [--check]    # book/summary.md from the reports' metadata

A chapter is a folder ``replications/<name>/`` holding ``<name>.md`` (a jupytext MyST notebook) and
``config.py`` (its profiles). Its report is ``book/chapters/<name>.ipynb``: written atomically, only
after the notebook ran to the end, with provenance in ``metadata["sensorimotor"]``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from sensorimotor.cache import atomic_path
from sensorimotor.claims import CLAIMS_METADATA_KEY, VERDICTS, claims_markdown
from sensorimotor.profiles import PROFILE_NAMES, ConfigError, load_chapter_module

METADATA_KEY = CLAIMS_METADATA_KEY
REPORTED_PACKAGES = (
    "sensorimotor", "torch", "torchvision", "numpy", "pybullet", "scikit-learn",
    "matplotlib", "seaborn", "papermill", "jupytext",
)  # fmt: skip


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


def parse_parameters(pairs: Iterable[str]) -> dict[str, Any]:
    """``["train_steps=500", "lr=1e-3", "name=abc"]`` -> typed dict (JSON literals, else strings)."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise PipelineError(f"bad parameter {pair!r}; expected key=value with a Python identifier as key")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        parsed[key] = value
    return parsed


def validate_run(chapter: Chapter, profile: str, seed: int, overrides: dict[str, Any]) -> None:
    """Build the chapter's config as the notebook will, so bad input fails before any work."""
    if profile not in PROFILE_NAMES:
        raise PipelineError(f"unknown profile {profile!r}; accepted profiles: {', '.join(PROFILE_NAMES)}")
    module = load_chapter_module(chapter.config_path)
    try:
        module.PROFILES.get(profile, seed=seed, **overrides)
    except ConfigError as error:
        raise PipelineError(f"chapter {chapter.name}: {error}") from error


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_hashes(chapter: Chapter) -> dict[str, str]:
    """The hashes a report records and the freshness test compares."""
    return {"source_sha256": sha256_file(chapter.source), "config_sha256": sha256_file(chapter.config_path)}


def git_state(root: Path) -> dict[str, Any]:
    def run(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
        except (OSError, subprocess.CalledProcessError):
            return None
        return out.stdout.strip()

    commit = run("rev-parse", "HEAD")
    status = run("status", "--porcelain", "--", "shared", "replications")
    return {"git_commit": commit, "git_dirty": bool(status) if status is not None else None}


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in REPORTED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def collect_claims(notebook: Any) -> list[dict[str, Any]]:
    """Claims that ``sensorimotor.claims.show_claims`` attached to output metadata, in order."""
    claims: list[dict[str, Any]] = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            block = output.get("metadata", {}).get(METADATA_KEY, {})
            claims.extend(block.get("claims", []))
    ids = [c["id"] for c in claims]
    if len(ids) != len(set(ids)):
        raise PipelineError(f"duplicate claim ids in the report: {sorted({i for i in ids if ids.count(i) > 1})}")
    return claims


def _write_notebook(notebook: Any, path: Path) -> None:
    import nbformat

    with atomic_path(path) as tmp:
        nbformat.write(notebook, str(tmp))


KERNEL_NAME = "sensorimotor-python"


@contextlib.contextmanager
def own_kernel() -> Iterator[str]:
    """A kernelspec that runs this very Python, first on ``JUPYTER_PATH`` while the block runs.

    Papermill would otherwise take whatever ``python3`` kernelspec the user has, which may belong to
    another environment.
    """
    with tempfile.TemporaryDirectory(prefix="sensorimotor-kernel-") as tmp:
        spec_dir = Path(tmp) / "kernels" / KERNEL_NAME
        spec_dir.mkdir(parents=True)
        spec = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (sensorimotor pipeline)",
            "language": "python",
        }
        (spec_dir / "kernel.json").write_text(json.dumps(spec))
        previous = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join([tmp, *([previous] if previous else [])])
        try:
            yield KERNEL_NAME
        finally:
            if previous is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = previous


def _prepare_input(chapter: Chapter, folder: Path) -> Path:
    import jupytext
    import nbformat

    notebook = jupytext.read(chapter.source)
    if not any("parameters" in cell.get("metadata", {}).get("tags", []) for cell in notebook.cells):
        raise PipelineError(f"{chapter.source} has no cell tagged 'parameters'")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / f"{chapter.name}.input.ipynb"
    nbformat.write(notebook, str(path))
    return path


def replicate(
    root: Path,
    name: str,
    profile: str = "default",
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    output: Path | None = None,
    progress: bool = True,
) -> Path:
    """Run one chapter at ``profile`` and write its report atomically; returns the report path.

    On failure the previous report stays untouched and the partly executed notebook is kept under
    ``build/failed/<name>.ipynb`` for inspection.
    """
    import nbformat
    import papermill

    from sensorimotor.devices import hardware_summary

    overrides = dict(overrides or {})
    chapter = get_chapter(root, name)
    validate_run(chapter, profile, seed, overrides)
    target = output or chapter.report
    hashes = source_hashes(chapter)
    with tempfile.TemporaryDirectory(prefix=f"replicate-{chapter.name}-") as tmp:
        executed = Path(tmp) / f"{chapter.name}.ipynb"
        started = time.perf_counter()
        try:
            with own_kernel() as kernel_name:
                papermill.execute_notebook(
                    str(_prepare_input(chapter, Path(tmp))),
                    str(executed),
                    parameters={"profile": profile, "seed": seed, "overrides": overrides},
                    cwd=str(chapter.folder),
                    kernel_name=kernel_name,
                    progress_bar=progress,
                )
        except papermill.PapermillExecutionError as error:
            failed = root / "build" / "failed" / f"{chapter.name}.ipynb"
            failed.parent.mkdir(parents=True, exist_ok=True)
            if executed.exists():
                shutil.copyfile(executed, failed)
            raise PipelineError(
                f"chapter {chapter.name} failed at profile {profile!r} (cell {error.exec_count}: "
                f"{error.ename}: {error.evalue}); previous report left untouched; "
                f"executed notebook kept at {failed}"
            ) from error
        wall = time.perf_counter() - started
        notebook = nbformat.read(str(executed), as_version=4)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    claims = collect_claims(notebook)
    notebook.metadata[METADATA_KEY] = {
        "chapter": chapter.name,
        "profile": profile,
        "seed": seed,
        "overrides": overrides,
        **hashes,
        **git_state(root),
        "packages": package_versions(),
        "hardware": hardware_summary(),
        "wall_seconds": round(wall, 1),
        "claims": claims,
    }
    _write_notebook(notebook, target)
    if target == chapter.report:
        write_summary(root)
    return target


def prepare_smoke(root: Path, extra_sources: Sequence[Path] = ()) -> list[Path]:
    """Write ``<name>.smoke.ipynb`` beside each chapter source (and each extra ``.md`` notebook),
    with the smoke profile injected, for nbval. Returns the written paths."""
    import papermill

    sources = [c.source for c in discover_chapters(root).values()] + [Path(p) for p in extra_sources]
    written = []
    for source in sources:
        chapter = Chapter(source.stem, source.parent, root / "book")
        target = source.with_name(f"{source.stem}.smoke.ipynb")
        with tempfile.TemporaryDirectory() as tmp:
            papermill.execute_notebook(
                str(_prepare_input(chapter, Path(tmp))),
                str(target),
                parameters={"profile": "smoke", "seed": 0, "overrides": {}},
                prepare_only=True,
                kernel_name="python3",
                progress_bar=False,
            )
        written.append(target)
    return written


def read_report_metadata(report: Path) -> dict[str, Any]:
    import nbformat

    notebook = nbformat.read(str(report), as_version=4)
    meta = notebook.metadata.get(METADATA_KEY)
    if not isinstance(meta, dict):
        raise PipelineError(f"{report} has no '{METADATA_KEY}' metadata; regenerate it with the pipeline")
    return meta


def summary_markdown(root: Path) -> str:
    """The text of ``book/summary.md``: every chapter's claims from its report's metadata."""
    chapters = discover_chapters(root)
    lines = [
        "# Summary of all claims",
        "",
        "Every claim of every chapter, read from the metadata of the committed reports (generated by",
        "`python -m sensorimotor.pipeline summary`; do not edit by hand). Each verdict was computed by the",
        "chapter's code from its run, against a criterion fixed in the chapter's `config.py` before the run.",
        "",
    ]
    all_rows: list[dict[str, Any]] = []
    missing = []
    for chapter in chapters.values():
        if not chapter.report.exists():
            missing.append(chapter.name)
            continue
        meta = read_report_metadata(chapter.report)
        for row in meta.get("claims", []):
            all_rows.append({**row, "chapter": f"[{chapter.name}](chapters/{chapter.name}.ipynb)"})
    if all_rows:
        counts = {v: sum(r["verdict"] == v for r in all_rows) for v in VERDICTS}
        lines.append("**At a glance:** " + ", ".join(f"{n} {v}" for v, n in counts.items()) + ".")
        lines += ["", claims_markdown(all_rows, with_paper_column=True), ""]
    else:
        lines += ["No chapter report holds claims yet.", ""]
    if missing:
        lines += ["Chapters without a committed report yet: " + ", ".join(missing) + ".", ""]
    return "\n".join(lines)


def write_summary(root: Path) -> Path:
    target = root / "book" / "summary.md"
    with atomic_path(target) as tmp:
        tmp.write_text(summary_markdown(root))
    return target


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sensorimotor.pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=None, help="project root (default: found from cwd)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list chapters and their nox session names")
    run = sub.add_parser("replicate", help="run one chapter and write its report")
    run.add_argument("chapter")
    run.add_argument("--profile", default="default", help=f"one of {', '.join(PROFILE_NAMES)}")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE", help="config override")
    run.add_argument("--output", type=Path, default=None, help="write the report here instead of book/chapters")
    smoke = sub.add_parser("prepare-smoke", help="write <name>.smoke.ipynb notebooks for nbval")
    smoke.add_argument("extra", nargs="*", type=Path, help="extra notebook sources (.md) to prepare")
    summary = sub.add_parser("summary", help="write book/summary.md from the reports")
    summary.add_argument("--check", action="store_true", help="fail if book/summary.md is out of date")
    args = parser.parse_args(argv)
    try:
        root = (args.root or find_root()).resolve()
        if args.command == "list":
            for chapter in discover_chapters(root).values():
                state = "report committed" if chapter.report.exists() else "no report yet"
                print(f"{chapter.name:16s} nox -s {chapter.session_name:28s} {state}")
        elif args.command == "replicate":
            report = replicate(root, args.chapter, args.profile, args.seed, parse_parameters(args.param), args.output)
            print(f"wrote {report}")
        elif args.command == "prepare-smoke":
            for path in prepare_smoke(root, args.extra):
                print(f"prepared {path}")
        elif args.command == "summary":
            if args.check:
                current = (root / "book" / "summary.md").read_text() if (root / "book" / "summary.md").exists() else ""
                if current != summary_markdown(root):
                    print("book/summary.md is out of date: run `python -m sensorimotor.pipeline summary`")
                    return 1
                print("book/summary.md is up to date")
            else:
                print(f"wrote {write_summary(root)}")
    except (PipelineError, ConfigError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    raise SystemExit(_main())
