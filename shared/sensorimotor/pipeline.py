"""The chapter pipeline: chapter source -> jupytext -> papermill (profile) -> report -> book summary.

Command line (what the nox sessions call)::

    python -m sensorimotor.pipeline list
    python -m sensorimotor.pipeline replicate dmbn [--profile paper] [--seed 3] [-p train_steps=500 ...] [--cold]
        [--executor local|ray] [--ray-address HOST:6379] [--workers N] [--allow-cpu]
    python -m sensorimotor.pipeline prepare-smoke        # notebooks for nbval at the smoke profile
    python -m sensorimotor.pipeline summary [--check]    # the book's generated pages from the reports
    python -m sensorimotor.pipeline readme [--check]     # each chapter README's compute and results part

A chapter is a folder ``replications/<name>/`` holding ``<name>.md`` (a jupytext MyST notebook) and
``config.py`` (its profiles). Its report is ``book/chapters/<name>.ipynb``: written atomically, only
after the notebook ran to the end, with provenance in ``metadata["sensorimotor"]``: the hashes of the
chapter source, its config and every library module the kernel imported, which cache entries were
computed or loaded, the run time, and the claims. A run at anything but the default profile, seed 0 and
no overrides writes under ``build/reports/`` unless ``--output`` names a path.

A chapter's ``config.py`` may declare ``training_jobs(config) -> list[Job]`` (:mod:`sensorimotor.jobs`),
or a list of such lists (stages, run one after another: data, then the models trained on it):
``replicate`` first runs the jobs whose results are not cached, on worker processes here or on Ray
(``--executor ray``), then executes the notebook, which only loads them. A stale report is reported
with the level its regeneration needs: ``retrain`` (a cache key it used changes) or ``re-evaluate``
(a warm rerun from the same cached weights).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import json
import math
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

from sensorimotor.atomic import atomic_path
from sensorimotor.book_pages import rerun_command
from sensorimotor.cache import CACHE_ENV
from sensorimotor.chapters import (
    METADATA_KEY,
    Chapter,
    PipelineError,
    discover_chapters,
    find_root,
    get_chapter,
    read_report_metadata,
)  # fmt: skip
from sensorimotor.profiles import PROFILE_NAMES, RESERVED_KNOBS, ConfigError, load_chapter_module
from sensorimotor.provenance import PROVENANCE_METADATA_KEY
from sensorimotor.readme_sections import write_readme
from sensorimotor.report_cells import fill_glance, fill_provenance, today
from sensorimotor.rule_freshness import claim_problems
from sensorimotor.verdict_display import CLAIMS_METADATA_KEY

REPORTED_PACKAGES = (
    "sensorimotor", "torch", "torchvision", "numpy", "pybullet", "scikit-learn",
    "matplotlib", "seaborn", "papermill", "jupytext",
)  # fmt: skip


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def parse_parameters(pairs: Iterable[str]) -> dict[str, Any]:
    """``["train_steps=500", "lr=1e-3", "name=abc"]`` -> typed dict (JSON literals, else strings).

    Non-finite numbers (``NaN``, ``Infinity``) are refused: no knob accepts them.
    """
    parsed: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise PipelineError(f"bad parameter {pair!r}; expected key=value with a Python identifier as key")
        try:
            value = json.loads(raw, parse_constant=_refuse_constant)
        except json.JSONDecodeError:
            value = raw
        except ValueError:
            raise PipelineError(f"parameter {key}={raw!r} is not a finite number; knobs accept finite values only") from None
        if isinstance(value, float) and not math.isfinite(value):  # 1e999 parses to inf
            raise PipelineError(f"parameter {key}={raw!r} is not a finite number; knobs accept finite values only")
        parsed[key] = value
    return parsed


def validate_run(chapter: Chapter, profile: str, seed: int, overrides: dict[str, Any]) -> None:
    """Build the chapter's config as the notebook will, so bad input fails before any work."""
    if profile not in PROFILE_NAMES:
        raise PipelineError(f"unknown profile {profile!r}; accepted profiles: {', '.join(PROFILE_NAMES)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise PipelineError(f"seed={seed!r}; accepted: an int >= 0")
    reserved = [k for k in overrides if k in RESERVED_KNOBS]
    if reserved:
        raise PipelineError(
            f"{reserved[0]!r} cannot be set with -p; use --{reserved[0]} (e.g. --{reserved[0]} "
            f"{overrides[reserved[0]]!r})"
        )
    module = load_chapter_module(chapter.config_path)
    try:
        module.PROFILES.get(profile, seed=seed, **overrides)
    except ConfigError as error:
        raise PipelineError(f"chapter {chapter.name}: {error}") from error


def is_book_run(profile: str, seed: int, overrides: dict[str, Any]) -> bool:
    """Whether a run is what the committed book shows (default profile, seed 0, no overrides)."""
    return profile == "default" and seed == 0 and not overrides


def default_output(root: Path, chapter: Chapter, profile: str, seed: int, overrides: dict[str, Any]) -> Path:
    """The committed report for a book run; else a file under ``build/reports/`` named by its settings."""
    if is_book_run(profile, seed, overrides):
        return chapter.report
    tag = f"{chapter.name}-{profile}-seed{seed}"
    if overrides:
        tag += "-" + hashlib.sha256(json.dumps(overrides, sort_keys=True).encode()).hexdigest()[:8]
    return root / "build" / "reports" / f"{tag}.ipynb"


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def source_hashes(chapter: Chapter) -> dict[str, str]:
    """The hashes a report records and the freshness test compares."""
    return {"source_sha256": sha256_file(chapter.source), "config_sha256": sha256_file(chapter.config_path)}


def git_state(root: Path, depends_on: Sequence[Path]) -> dict[str, Any]:
    """The commit, and whether any file the report depends on differs from it."""

    def run(*args: str) -> str | None:
        try:
            out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True)
        except (OSError, subprocess.CalledProcessError):
            return None
        return out.stdout.strip()

    commit = run("rev-parse", "HEAD")
    paths = []
    for path in depends_on:
        with contextlib.suppress(ValueError):  # a file outside the project is not in its history
            paths.append(str(Path(os.path.abspath(path)).relative_to(os.path.abspath(root))))
    status = run("status", "--porcelain", "--untracked-files=all", "--", *paths) if paths else ""
    changed = [line[3:] for line in (status or "").splitlines()]
    return {"git_commit": commit, "git_dirty": bool(changed) if status is not None else None, "git_changed": changed}


def module_path(root: Path, name: str) -> Path | None:
    """Where library module ``name`` lives in the project at ``root``."""
    from sensorimotor.provenance import module_file

    return module_file(name, root / "shared" / "sensorimotor")


def package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for name in REPORTED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def collect_claims(notebook: Any) -> list[dict[str, Any]]:
    """Claims that ``sensorimotor.verdict_display.show_claims`` attached to output metadata, in order."""
    claims: list[dict[str, Any]] = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            block = output.get("metadata", {}).get(CLAIMS_METADATA_KEY, {})
            claims.extend(block.get("claims", []))
    ids = [c["id"] for c in claims]
    if len(ids) != len(set(ids)):
        raise PipelineError(f"duplicate claim ids in the report: {sorted({i for i in ids if ids.count(i) > 1})}")
    return claims


def _write_notebook(notebook: Any, path: Path) -> None:
    import nbformat

    json.dumps(notebook.metadata, allow_nan=False)  # strict JSON: a NaN here is a bug upstream
    with atomic_path(path) as tmp:
        nbformat.write(notebook, str(tmp))


PROVENANCE_CELL = "from sensorimotor.kernel_record import kernel_provenance\nkernel_provenance();"


def _hide_parameter_cells(notebook: Any) -> None:
    """The parameter cells (the notebook's and papermill's) are plumbing: the report's metadata records
    profile, seed and overrides, so the rendered page drops them."""
    for cell in notebook.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if ("parameters" in tags or "injected-parameters" in tags) and "remove-cell" not in tags:
            cell.metadata["tags"] = [*tags, "remove-cell"]


def strip_local_paths(notebook: Any) -> None:
    """Drop papermill's temporary input/output paths from the notebook metadata (local, meaningless)."""
    block = notebook.metadata.get("papermill", {})
    for key in ("input_path", "output_path"):
        block.pop(key, None)


def _pop_provenance(notebook: Any) -> dict[str, Any]:
    """Remove the appended provenance cell and return what it recorded."""
    cell = notebook.cells[-1] if notebook.cells else None
    if cell is None or cell.get("source") != PROVENANCE_CELL:
        raise PipelineError("the executed notebook lost its provenance cell")
    notebook.cells.pop()
    for output in cell.get("outputs", []):
        record = output.get("metadata", {}).get(PROVENANCE_METADATA_KEY)
        if record is not None:
            return record
    raise PipelineError("the provenance cell recorded nothing")


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


def _prepare_input(chapter: Chapter, folder: Path, provenance: bool = False) -> Path:
    import jupytext
    import nbformat

    notebook = jupytext.read(chapter.source)
    if not any("parameters" in cell.get("metadata", {}).get("tags", []) for cell in notebook.cells):
        raise PipelineError(f"{chapter.source} has no cell tagged 'parameters'")
    if provenance:
        notebook.cells.append(nbformat.v4.new_code_cell(PROVENANCE_CELL))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / f"{chapter.name}.input.ipynb"
    nbformat.write(notebook, str(path))
    return path


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def check_paper_on_cpu(chapter: Chapter, profile: str, allow_cpu: bool) -> None:
    """Refuse ``--profile paper`` on a machine without a CUDA GPU unless ``allow_cpu``: it runs for hours."""
    if profile != "paper" or allow_cpu or _cuda_available():
        return
    hours = getattr(load_chapter_module(chapter.config_path), "PAPER_CPU_HOURS", None)
    estimate = f"about {hours:g} hours" if isinstance(hours, (int, float)) and not isinstance(hours, bool) else "many hours"
    raise PipelineError(
        f"chapter {chapter.name}: --profile paper on a machine without a CUDA GPU would take {estimate} on CPU; "
        "nothing was run. Run it on a GPU machine (or a Ray cluster with GPUs: --executor ray --ray-address "
        "HOST:6379), or pass --allow-cpu to run it here anyway"
    )


def chapter_config(chapter: Chapter, profile: str, seed: int, overrides: dict[str, Any]) -> Any:
    """The chapter's config object for a run (as the notebook builds it)."""
    return load_chapter_module(chapter.config_path).PROFILES.get(profile, seed=seed, **overrides)


def chapter_job_stages(chapter: Chapter, config: Any) -> list[list[Any]]:
    """The chapter's ``training_jobs(config)`` as stages run one after another: it returns a list of
    jobs (one stage) or a list of lists of jobs (e.g. the data first, then the models trained on it)."""
    from sensorimotor.jobs import Job

    declare = getattr(load_chapter_module(chapter.config_path), "training_jobs", None)
    if declare is None:
        return []
    declared = list(declare(config))
    stages = [list(s) for s in declared] if declared and all(isinstance(s, (list, tuple)) for s in declared) else [declared]
    bad = [j for stage in stages for j in stage if not isinstance(j, Job)]
    if bad:
        raise PipelineError(
            f"chapter {chapter.name}: training_jobs returned {bad[0]!r}; accepted: a list of sensorimotor.jobs.Job, "
            "or a list of such lists (stages)"
        )
    return [stage for stage in stages if stage]


def chapter_jobs(chapter: Chapter, config: Any) -> list[Any]:
    """The chapter's ``training_jobs(config)``, every stage in order (empty when its config declares none)."""
    return [job for stage in chapter_job_stages(chapter, config) for job in stage]


def replicate(
    root: Path,
    name: str,
    profile: str = "default",
    seed: int = 0,
    overrides: dict[str, Any] | None = None,
    output: Path | None = None,
    progress: bool = True,
    cold: bool = False,
    executor: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    allow_cpu: bool = False,
) -> Path:
    """Run one chapter at ``profile`` and write its report atomically; returns the report path.

    A run that is not the book's (profile default, seed 0, no overrides) goes under ``build/reports/``
    unless ``output`` is given. ``cold`` runs on a fresh, empty cache. The chapter's training jobs (if
    its config declares ``training_jobs``) run first on ``executor`` (``local`` or ``ray``, see
    :func:`sensorimotor.jobs.run_jobs`). ``--profile paper`` without a CUDA GPU stops before any work
    unless ``allow_cpu``. On failure the previous report stays untouched and the partly executed
    notebook is kept under ``build/failed/<name>.ipynb``.
    """
    import nbformat
    import papermill

    from sensorimotor.devices import hardware_summary
    from sensorimotor.jobs import EXECUTORS, JobError, import_ray, run_jobs

    overrides = dict(overrides or {})
    chapter = get_chapter(root, name)
    validate_run(chapter, profile, seed, overrides)
    if executor not in EXECUTORS:
        raise PipelineError(f"unknown executor {executor!r}; accepted: {', '.join(EXECUTORS)}")
    if ray_address and executor != "ray":
        raise PipelineError(f"--ray-address {ray_address} needs --executor ray (got {executor!r})")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise PipelineError(f"workers={workers!r}; accepted: an int >= 1")
    check_paper_on_cpu(chapter, profile, allow_cpu)
    config = chapter_config(chapter, profile, seed, overrides)
    stages = chapter_job_stages(chapter, config)
    jobs = [job for stage in stages for job in stage]
    if jobs and executor == "ray":
        try:
            import_ray()
        except JobError as error:
            raise PipelineError(f"chapter {chapter.name}: {error}") from None
    target = Path(output) if output is not None else default_output(root, chapter, profile, seed, overrides)
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix=f"replicate-{chapter.name}-"))
        if cold:
            cold_cache = stack.enter_context(tempfile.TemporaryDirectory(prefix="sensorimotor-cold-cache-"))
            stack.enter_context(_environ(CACHE_ENV, cold_cache))
        stack.enter_context(_environ("SENSORIMOTOR_PROGRESS", "0"))  # no progress bars in reports
        # figures inline whatever the caller's MPLBACKEND (Agg, as CI sets it, would drop every figure)
        stack.enter_context(_environ("MPLBACKEND", "module://matplotlib_inline.backend_inline"))
        executed = Path(tmp) / f"{chapter.name}.ipynb"
        started = time.perf_counter()
        started_at = time.time()
        job_results: dict[str, Any] = {}
        if jobs:
            try:
                for stage in stages:
                    job_results.update(run_jobs(stage, executor=executor, workers=workers, ray_address=ray_address))
            except JobError as error:
                raise PipelineError(
                    f"chapter {chapter.name}: training jobs failed on executor {executor!r}; previous report left "
                    f"untouched\n{error}"
                ) from error
        jobs_wall = time.perf_counter() - started
        # the source is read here, after the jobs (they use the config's values, never the notebook): the
        # hashes describe the notebook that runs, also when the source was edited while the jobs trained
        hashes = source_hashes(chapter)
        notebook_input = _prepare_input(chapter, Path(tmp), provenance=True)
        try:
            with own_kernel() as kernel_name:
                papermill.execute_notebook(
                    str(notebook_input),
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
        record = _pop_provenance(notebook)
        computed, loaded = _split_cache_events(record["cache_events"], started_at)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    _hide_parameter_cells(notebook)
    strip_local_paths(notebook)
    claims = collect_claims(notebook)
    fill_glance(notebook, claims)
    modules = dict(sorted({**_job_module_hashes(jobs), **record["modules"]}.items()))
    was_cold = cold or not loaded
    producers = cache_producers(root, modules, jobs)
    key_modules = _key_modules(root, producers)
    config_values = _plain(config.to_dict())
    job_keys = _job_keys(jobs)
    depends_on = [chapter.source, chapter.config_path]
    depends_on += [p for p in (module_path(root, m) for m in modules) if p is not None]
    notebook.metadata[METADATA_KEY] = {
        "chapter": chapter.name,
        "profile": profile,
        "seed": seed,
        "overrides": overrides,
        **hashes,
        "library_modules": modules,
        **git_state(root, depends_on),
        "packages": package_versions(),
        "hardware": hardware_summary(),
        "wall_seconds": round(wall, 1),
        "cold": was_cold,
        "regeneration": "cold" if was_cold else "warm",
        "cold_wall_seconds": round(wall, 1) if was_cold else _previous_cold_time(
            target, hashes, modules, {"cache_key_modules": key_modules, "config": config_values, "jobs": job_keys}
        ),
        "cache": {"computed": computed, "loaded": loaded},
        "run_date": today(),
        "cache_producers": producers,
        "cache_key_modules": key_modules,
        "config": config_values,
        "jobs": job_keys,
        "executor": executor if jobs else None,
        "training": training_record(jobs, job_results, jobs_wall, executor, workers, ray_address),
        "claims": claims,
    }
    fill_provenance(notebook, notebook.metadata[METADATA_KEY], rerun_command(chapter.name, {"profile": profile, "seed": seed, "overrides": overrides}))
    _write_notebook(notebook, target)
    if target.resolve() == chapter.report.resolve():
        write_summary(root)
        write_readme(chapter.folder / "README.md", notebook.metadata[METADATA_KEY], chapter.name, chapter.session_name)
    return target


def training_record(
    jobs: Sequence[Any],
    results: dict[str, Any],
    wall: float,
    executor: str,
    workers: int | None,
    ray_address: str | None,
) -> dict[str, Any] | None:
    """What the chapter's training jobs cost: how many, how many this run computed, the stage wall time, and
    each job's own seconds summed from the records its entry keeps (so a run that resumes from the
    checkpoints of an interrupted one still states its training compute); ``None`` without declared jobs."""
    from sensorimotor.jobs import job_seconds

    if not jobs:
        return None
    seconds = [job_seconds(job) for job in jobs]
    known = [s for s in seconds if s is not None]
    return {
        "jobs": len(jobs),
        "computed_here": sum(getattr(results.get(job.name), "status", "") in ("computed", "recomputed") for job in jobs),
        "job_seconds": round(sum(known), 3),
        "longest_job_seconds": round(max(known), 3) if known else None,
        "unrecorded": len(seconds) - len(known),
        "wall_seconds": round(wall, 1),
        "workers": None if ray_address else (workers or os.cpu_count() or 1),
        "executor": executor,
    }


def _split_cache_events(events: list[dict[str, str]], started_at: float) -> tuple[list[str], list[str]]:
    """Cache entries this run computed, and those it loaded that existed before it started.

    An entry written during the run (by the kernel or by a worker process it started) and read back
    counts as computed; only entries older than the run count as loaded from the cache.
    """
    from sensorimotor.cache import cache_root

    root = cache_root()
    touched = sorted({e["entry"] for e in events})
    loaded = []
    for entry in touched:
        path = root / entry
        with contextlib.suppress(OSError):
            if path.stat().st_mtime < started_at:
                loaded.append(entry)
    return [e for e in touched if e not in loaded], loaded


@contextlib.contextmanager
def _environ(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


def _previous_cold_time(
    report: Path, hashes: dict[str, str], modules: dict[str, str], keys: dict[str, Any] | None = None
) -> float | None:
    """A warm rerun keeps the cold time of the report it replaces when every cache key that report used
    is unchanged: same knob values, training jobs and key modules (``keys``: this run's
    ``cache_key_modules``, ``config`` and ``jobs``). A report that does not record them keeps it only
    if config and library are unchanged."""
    if not report.exists():
        return None
    try:
        meta = read_report_metadata(report)
    except (PipelineError, OSError, ValueError):
        return None
    if keys is not None and "cache_key_modules" in meta:
        previous = meta.get("library_modules") or {}
        watched = set(meta["cache_key_modules"]) | set(keys["cache_key_modules"])
        same = (
            meta.get("config") == keys["config"]
            and meta.get("jobs") == keys["jobs"]
            and all(previous.get(m) == modules.get(m) for m in watched)
        )
    else:
        same = meta.get("config_sha256") == hashes["config_sha256"] and meta.get("library_modules") == modules
    return meta.get("cold_wall_seconds") if same else None


# --- what a cache key covers: the levels of staleness ---------------------------------------------

RETRAIN = "retrain"
REEVALUATE = "re-evaluate"
LEVEL_TEXT = {
    RETRAIN: "level: retrain (a cache key the report used changes: its entries are recomputed)",
    REEVALUATE: "level: re-evaluate (a warm rerun from the same cached weights)",
}
CACHE_WRITERS = frozenset({"cache_path", "cached_arrays", "save_arrays", "save_torch", "atomic_path"})


def _library_root(root: Path) -> Path:
    return root / "shared" / "sensorimotor"


def writes_cache(root: Path, name: str) -> bool:
    """Whether library module ``name`` can write cache entries (it imports a writer of
    :mod:`sensorimotor.cache`): each entry's key holds the code hash of its writing module's closure."""
    import ast

    path = module_path(root, name)
    if path is None:
        return False
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module == "sensorimotor.cache":
            if any(alias.name in CACHE_WRITERS for alias in node.names):
                return True
        elif isinstance(node, ast.ImportFrom) and node.module == "sensorimotor":
            if any(alias.name == "cache" for alias in node.names):
                return True
        elif isinstance(node, ast.Import) and any(a.name == "sensorimotor.cache" for a in node.names):
            return True
    return False


def cache_producers(root: Path, modules: Iterable[str], jobs: Sequence[Any] = ()) -> list[str]:
    """Library modules whose code goes into the keys of the cache entries a run used: those among
    ``modules`` that write the cache, and the code of each training job."""
    found = {m for m in modules if writes_cache(root, m)}
    for job in jobs:
        found.update(job.code or (job.module,))
    return sorted(m for m in found if module_path(root, m) is not None)


def _job_module_hashes(jobs: Sequence[Any]) -> dict[str, str]:
    """sha256 of the library modules the training jobs ran (in workers, not in the kernel)."""
    from sensorimotor.provenance import closure, module_sha256

    names = closure({m for job in jobs for m in (job.code or (job.module,))})
    return {name: sha for name in names if (sha := module_sha256(name)) is not None}


def _key_modules(root: Path, producers: Iterable[str]) -> list[str]:
    """Every library module whose change changes a cache key: the producers' import closure."""
    from sensorimotor.provenance import closure

    return closure([m for m in producers if module_path(root, m) is not None], _library_root(root))


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=repr))


def _job_keys(jobs: Sequence[Any]) -> dict[str, str]:
    """Each training job's cache key without the code hash (function and arguments), by name."""
    from sensorimotor.hashing import config_hash

    return {job.name: f"{job.namespace}/{config_hash(job.key)}{job.suffix}" for job in jobs}


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


def summary_markdown(root: Path) -> str:
    """The text of ``book/summary.md`` (see :mod:`sensorimotor.book_pages`)."""
    from sensorimotor.book_pages import summary_markdown as page

    return page(root)


def write_summary(root: Path) -> Path:
    """Write the book's generated pages (summary, landing results, execution status) and the picture."""
    from sensorimotor.book_pages import write_pages

    write_pages(root)
    return root / "book" / "summary.md"


# --- freshness: what the tests check of every committed report ------------------------------------


def report_problems(root: Path, chapter: Chapter) -> list[str]:
    """Why the committed report of ``chapter`` does not match the tree (empty when it does); each
    problem ends with the level its regeneration needs (see :func:`stale_problems`)."""
    return [f"{problem} [{LEVEL_TEXT[level]}]" for problem, level in stale_problems(root, chapter)]


def regeneration_needed(root: Path, chapter: Chapter) -> str | None:
    """``"retrain"``, ``"re-evaluate"`` or None (the report is fresh): the most its problems need."""
    levels = {level for _, level in stale_problems(root, chapter)}
    return RETRAIN if RETRAIN in levels else (REEVALUATE if levels else None)


def _config_level(chapter: Chapter, meta: dict[str, Any]) -> str:
    """A changed config.py needs a retrain when the run's knob values or training jobs changed."""
    if "config" not in meta:
        return RETRAIN
    try:
        config = chapter_config(chapter, meta.get("profile"), meta.get("seed"), meta.get("overrides") or {})
        same = _plain(config.to_dict()) == meta["config"] and _job_keys(chapter_jobs(chapter, config)) == meta.get("jobs", {})
    except Exception:  # noqa: BLE001 - a config that no longer builds the old run needs everything redone
        return RETRAIN
    return REEVALUATE if same else RETRAIN


def stale_problems(root: Path, chapter: Chapter) -> list[tuple[str, str]]:
    """``(problem, level)`` for each way the committed report of ``chapter`` does not match the tree.

    ``level`` is ``"retrain"`` when the change alters a cache key of an entry the report used (a
    library module in the import closure of a module that writes the cache, or a training job, knob
    value, profile or seed), and ``"re-evaluate"`` when only judging, plotting or text changed, so a
    warm rerun from the same cached weights regenerates it. A report that does not record what its
    cache keys covered (made before these levels) needs a retrain for any change of code or config.
    """
    import nbformat

    if not chapter.report.exists():
        return [(f"{chapter.report} missing: run `nox -s {chapter.session_name}`", RETRAIN)]
    problems: list[tuple[str, str]] = []
    notebook = nbformat.read(str(chapter.report), as_version=4)
    meta = notebook.metadata.get(METADATA_KEY)
    if not isinstance(meta, dict):
        return [(f"{chapter.report} has no '{METADATA_KEY}' metadata", RETRAIN)]
    rerun = f"rerun `nox -s {chapter.session_name}`"
    recorded = "cache_key_modules" in meta
    current = source_hashes(chapter)
    if meta.get("source_sha256") != current["source_sha256"]:
        problems.append((f"{chapter.source.name} changed after the report: {rerun}", REEVALUATE if recorded else RETRAIN))
    if meta.get("config_sha256") != current["config_sha256"]:
        problems.append((f"{chapter.config_path.name} changed after the report: {rerun}", _config_level(chapter, meta)))
    modules = meta.get("library_modules")
    if not modules:
        problems.append((f"the report records no library module hashes: {rerun}", RETRAIN))
    key_modules = set(meta.get("cache_key_modules") or [])
    if recorded:
        with contextlib.suppress(ValueError, OSError, SyntaxError):  # a producer gone: its name is in the record
            key_modules |= set(_key_modules(root, meta.get("cache_producers") or []))
    for name, sha in (modules or {}).items():
        level = RETRAIN if not recorded or name in key_modules else REEVALUATE
        path = module_path(root, name)
        if path is None:
            problems.append((f"library module {name} no longer exists: {rerun}", level))
        elif sha != hashlib.sha256(path.read_bytes()).hexdigest():
            problems.append((f"library module {name} changed after the report: {rerun}", level))
    if (meta.get("profile"), meta.get("seed"), meta.get("overrides")) != ("default", 0, {}):
        problems.append((
            f"the book shows profile default, seed 0, no overrides; the report has profile {meta.get('profile')!r}, "
            f"seed {meta.get('seed')!r}, overrides {meta.get('overrides')!r}",
            RETRAIN,
        ))
    stored = meta.get("claims") or []
    if not stored:
        problems.append(("the report holds no claims", REEVALUATE))
    if stored != collect_claims(notebook):
        problems.append(("the claims in the report's metadata differ from those its cells displayed", REEVALUATE))
    problems += [(p, REEVALUATE) for p in claim_problems(chapter.folder, load_chapter_module(chapter.config_path), stored)]
    return problems


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
    run.add_argument(
        "--output", type=Path, default=None,
        help="write the report here (default: book/chapters/<name>.ipynb for the book's run, else build/reports/)",
    )
    run.add_argument("--cold", action="store_true", help="run on a fresh, empty cache (times a cold run)")
    run.add_argument(
        "--executor", choices=["local", "ray"], default="local",
        help="where the chapter's training jobs run: worker processes here (local) or Ray",
    )
    run.add_argument("--ray-address", default=None, metavar="ADDR", help="a running Ray cluster (HOST:6379); needs --executor ray")
    run.add_argument("--workers", type=int, default=None, metavar="N", help="local worker processes / local Ray CPUs (default: every CPU)")
    run.add_argument("--allow-cpu", action="store_true", help="run --profile paper even without a CUDA GPU")
    smoke = sub.add_parser("prepare-smoke", help="write <name>.smoke.ipynb notebooks for nbval")
    smoke.add_argument("extra", nargs="*", type=Path, help="extra notebook sources (.md) to prepare")
    summary = sub.add_parser("summary", help="write the book's generated pages from the reports")
    summary.add_argument("--check", action="store_true", help="fail if a generated page is out of date")
    readme = sub.add_parser("readme", help="write each chapter README's generated part from its report")
    readme.add_argument("--check", action="store_true", help="fail if a README's generated part is out of date")
    args = parser.parse_args(argv)
    try:
        root = (args.root or find_root()).resolve()
        if args.command == "list":
            for chapter in discover_chapters(root).values():
                state = "report committed" if chapter.report.exists() else "no report yet"
                print(f"{chapter.name:16s} nox -s {chapter.session_name:28s} {state}")
        elif args.command == "replicate":
            report = replicate(
                root, args.chapter, args.profile, args.seed, parse_parameters(args.param), args.output, cold=args.cold,
                executor=args.executor, workers=args.workers, ray_address=args.ray_address, allow_cpu=args.allow_cpu,
            )
            print(f"wrote {report}")
        elif args.command == "prepare-smoke":
            for path in prepare_smoke(root, args.extra):
                print(f"prepared {path}")
        elif args.command == "summary":
            if args.check:
                from sensorimotor.book_pages import stale_pages

                stale = stale_pages(root)
                if stale:
                    print(f"out of date: {', '.join(stale)}: run `python -m sensorimotor.pipeline summary`")
                    return 1
                print("the book's generated pages are up to date")
            else:
                print(f"wrote {write_summary(root)}")
        elif args.command == "readme":
            stale = [c.name for c in discover_chapters(root).values() if c.report.exists() and not write_readme(
                c.folder / "README.md", read_report_metadata(c.report), c.name, c.session_name, check=args.check)]
            if args.check and stale:
                print(f"README generated parts out of date for {', '.join(stale)}: run `python -m sensorimotor.pipeline readme`")
                return 1
            print("READMEs up to date" if args.check else "wrote the READMEs' generated parts")
    except (PipelineError, ConfigError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    raise SystemExit(_main())
