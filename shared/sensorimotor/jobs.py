"""The jobs layer: named, seeded, cached units of work (trainings) run on this machine or on Ray.

A :class:`Job` names an importable function (``"module:function"``), its keyword arguments (plain
JSON values) and the cache entry its result goes to. :func:`run_jobs` runs the jobs whose entries
are missing, in worker processes on this machine (``executor="local"``) or as Ray tasks
(``executor="ray"``, on a local Ray or a running cluster), and saves each result atomically in the
content-addressed cache (:mod:`sensorimotor.cache`): the entry's key holds the function, its
arguments and the code hash of the library module(s) that make it, so changed code or arguments
never reuse an old result. A chapter's notebook then only loads (:func:`load_result`).

Every job runs with one torch thread per CPU it asks for and is seeded from its own name-free key
(function and arguments) before the function is called, so it gives the same result wherever it runs.
Workers send the serialized result back and this process writes it; a remote worker needs no access
to the cache folder, and a job killed midway leaves no entry at all.
"""

from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import dataclasses
import importlib
import io
import json
import logging
import multiprocessing
import os
import tempfile
import traceback
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from sensorimotor.cache import (
    CACHE_ENV,
    CacheError,
    atomic_path,
    cache_path,
    cache_root,
    load_arrays,
    load_torch,
)
from sensorimotor.hashing import config_hash

EXECUTORS = ("local", "ray")
SUFFIXES = (".pt", ".npz")
Status = Literal["cached", "computed", "recomputed", "failed"]
log = logging.getLogger(__name__)


class JobError(RuntimeError):
    """A job that cannot be run, or that failed (the message holds each failed job and its traceback).

    ``results`` holds every job's :class:`JobResult` when jobs ran (the successful ones were saved)."""

    def __init__(self, message: str, results: Mapping[str, JobResult] | None = None) -> None:
        super().__init__(message)
        self.results = dict(results or {})


@dataclasses.dataclass(frozen=True)
class Job:
    """One unit of work and where its result goes.

    ``function`` is ``"package.module:function"``; it is called as ``function(**kwargs)`` and returns a
    state dict or plain container of tensors (``suffix=".pt"``) or a mapping of arrays (``".npz"``).
    The result is cached under ``namespace`` by the function and ``kwargs``, and by the code hash of
    ``code`` (default: the function's module; name it when the function is not a library module).
    ``cpus`` and ``gpus`` are what the job asks of its worker.
    """

    name: str
    function: str
    kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    namespace: str = "jobs"
    suffix: str = ".pt"
    code: tuple[str, ...] = ()
    cpus: int = 1
    gpus: int = 0

    def __post_init__(self) -> None:
        if not self.name or not isinstance(self.name, str):
            raise JobError(f"job name {self.name!r}: accepted: a non-empty string")
        module, sep, func = self.function.partition(":")
        if not sep or not module or not func.isidentifier():
            raise JobError(f"job {self.name}: function {self.function!r}; accepted: 'package.module:function'")
        if self.suffix not in SUFFIXES:
            raise JobError(f"job {self.name}: suffix {self.suffix!r}; accepted: {', '.join(SUFFIXES)}")
        try:
            text = json.dumps(dict(self.kwargs), sort_keys=True, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise JobError(
                f"job {self.name}: kwargs {dict(self.kwargs)!r} are not plain JSON values ({error}); accepted: "
                "str, int, float (finite), bool, None, lists and dicts of them"
            ) from None
        if json.loads(text) != dict(self.kwargs):  # tuples would come back as lists and change the key
            raise JobError(f"job {self.name}: kwargs {dict(self.kwargs)!r} must survive JSON unchanged (lists, not tuples)")
        for field in ("cpus", "gpus"):
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if field == "cpus" else 0):
                raise JobError(f"job {self.name}: {field}={value!r}; accepted: an int >= {1 if field == 'cpus' else 0}")
        object.__setattr__(self, "code", tuple([self.code] if isinstance(self.code, str) else self.code))

    @property
    def module(self) -> str:
        return self.function.partition(":")[0]

    @property
    def key(self) -> dict[str, Any]:
        """What the cache key holds besides the code hash: the function and its arguments."""
        return {"function": self.function, "kwargs": dict(self.kwargs)}

    @property
    def seed(self) -> int:
        """The seed the job runs under: derived from its key, so identical jobs draw identically."""
        return int(config_hash(self.key), 16) % 2**31

    def path(self) -> Path:
        """The cache entry of this job's result (its folder is created)."""
        code = list(self.code or (self.module,))
        try:
            return cache_path(self.namespace, self.key, self.suffix, code=code)
        except ValueError as error:  # a module outside the library has no code hash
            raise JobError(
                f"job {self.name}: {error}; accepted as code: modules of the sensorimotor library (name the ones "
                "that make the result with code=(...) when the function lives elsewhere)"
            ) from None


@dataclasses.dataclass(frozen=True)
class JobResult:
    """What :func:`run_jobs` did with one job: ``cached``, ``computed``, ``recomputed`` (its entry was
    corrupt) or ``failed`` (``error`` holds the worker's traceback)."""

    name: str
    status: Status
    path: Path
    seconds: float = 0.0
    error: str | None = None


def record_path(entry: Path) -> Path:
    """The small JSON record beside a job's entry: the job's name, its own seconds and the executor that ran it."""
    return entry.with_name(entry.name + ".json")


def job_seconds(job: Job) -> float | None:
    """The seconds ``job`` took when its cached entry was computed (``None``: no record, e.g. written in a kernel)."""
    try:
        return float(json.loads(record_path(job.path()).read_text())["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def load_result(job: Job) -> Any:
    """The cached result of ``job`` (a state dict / tensors, or a dict of arrays); raises
    :class:`JobError` when it has not been computed, :class:`~sensorimotor.cache.CacheError` when corrupt."""
    path = job.path()
    if not path.exists():
        raise JobError(f"job {job.name}: no cached result at {path}; run the chapter's training jobs first")
    return load_torch(path) if job.suffix == ".pt" else load_arrays(path)


def load_results(jobs: Sequence[Job], run_missing: bool = True) -> dict[str, Any]:
    """Every job's result by name. Under the pipeline they were all computed before the notebook ran,
    so this only loads; run on its own (e.g. under nbval), the missing ones are first run here with
    the local executor on one worker (``run_missing=False`` raises :class:`JobError` instead)."""
    missing = [job for job in jobs if not job.path().exists()]
    if missing and run_missing:
        run_jobs(missing, executor="local", workers=1)
    return {job.name: load_result(job) for job in jobs}


def _intact(path: Path) -> bool:
    """Whether an entry is a complete zip archive (``torch.save`` and ``.npz`` both write zips)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False


def check_cache_writable() -> Path:
    """The cache folder, after checking a file can be written in it; else a :class:`JobError` naming it."""
    if os.environ.get(CACHE_ENV):
        folder = Path(os.environ[CACHE_ENV]).expanduser()
    else:  # where cache_root() puts it
        folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "sensorimotor"
    try:
        folder = cache_root()
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check.", suffix=f".{os.getpid()}.tmp"):
            pass
    except OSError as error:
        raise JobError(
            f"cache folder {folder} is not writable ({error.strerror or error}); set {CACHE_ENV} "
            "to a writable folder"
        ) from None
    return folder


# --- what a worker runs ------------------------------------------------------------------------------


def _limit_threads(n: int) -> None:
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(n)


def _local_worker_init() -> None:
    _limit_threads(1)


def execute(function: str, kwargs: Mapping[str, Any], seed: int, suffix: str, threads: int = 1) -> dict[str, Any]:
    """Run one job in this process and return ``{"ok": True, "data": bytes}`` (the serialized result)
    or ``{"ok": False, "traceback": str}``. Called inside a worker (local process or Ray task)."""
    import time

    started = time.perf_counter()
    try:
        _limit_threads(threads)
        import torch

        torch.set_num_threads(threads)
        from sensorimotor.seeding import seed_everything

        seed_everything(seed)
        started = time.perf_counter()  # the job's own time, without the imports
        module, _, name = function.partition(":")
        result = getattr(importlib.import_module(module), name)(**kwargs)
        buffer = io.BytesIO()
        if suffix == ".pt":
            torch.save(result, buffer)
        else:
            import numpy as np

            np.savez(buffer, **{k: np.asarray(v) for k, v in dict(result).items()})
        return {"ok": True, "data": buffer.getvalue(), "seconds": time.perf_counter() - started}
    except BaseException:  # noqa: B036 - the traceback goes back to the caller, who raises
        return {"ok": False, "traceback": traceback.format_exc(), "seconds": time.perf_counter() - started}


def _execute_job(job: Job) -> dict[str, Any]:
    return execute(job.function, dict(job.kwargs), job.seed, job.suffix, threads=job.cpus)


# --- executors ---------------------------------------------------------------------------------------


def _check_workers(workers: int | None) -> int:
    if workers is None:
        return max(1, os.cpu_count() or 1)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise JobError(f"workers={workers!r}; accepted: an int >= 1 (or None for every CPU)")
    return workers


def _run_local(todo: Sequence[Job], workers: int, on_done: Any) -> None:
    """Run ``todo`` in a spawn pool of ``workers`` processes, never more jobs at once than their ``cpus`` fit
    in ``workers`` (a job asking for more than ``workers`` runs alone)."""
    context = multiprocessing.get_context("spawn")
    waiting = list(todo)
    with concurrent.futures.ProcessPoolExecutor(
        max_workers=min(workers, len(todo)), mp_context=context, initializer=_local_worker_init
    ) as pool:
        running: dict[concurrent.futures.Future, Job] = {}
        while waiting or running:
            busy = sum(min(job.cpus, workers) for job in running.values())
            while waiting and (not running or busy + min(waiting[0].cpus, workers) <= workers):
                job = waiting.pop(0)
                try:
                    running[pool.submit(_execute_job, job)] = job
                except concurrent.futures.process.BrokenProcessPool:  # a worker died: the pool takes no more
                    on_done(job, {"ok": False, "traceback": traceback.format_exc(), "seconds": 0.0})
                    continue
                busy += min(job.cpus, workers)
            if not running:
                continue
            done, _ = concurrent.futures.wait(running, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                job = running.pop(future)
                try:
                    outcome = future.result()
                except Exception:  # the worker died (killed, out of memory): no entry was written
                    outcome = {"ok": False, "traceback": traceback.format_exc(), "seconds": 0.0}
                on_done(job, outcome)


def import_ray() -> Any:
    """``ray``, or a :class:`JobError` saying how to install it."""
    try:
        import ray
    except ImportError as error:
        raise JobError(
            f'executor="ray" needs Ray ({error}); install it with: pip install -e ".[cluster]"'
        ) from None
    return ray


def _run_ray(todo: Sequence[Job], workers: int | None, address: str | None, on_done: Any) -> None:
    ray = import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        if address:
            ray.init(address=address, log_to_driver=False, logging_level=logging.WARNING)
        else:
            ray.init(
                num_cpus=_check_workers(workers), include_dashboard=False, log_to_driver=False,
                logging_level=logging.WARNING,
            )  # fmt: skip
    try:
        remote = ray.remote(execute)
        refs = {
            remote.options(num_cpus=job.cpus, num_gpus=job.gpus, max_retries=0).remote(
                job.function, dict(job.kwargs), job.seed, job.suffix, job.cpus
            ): job
            for job in todo
        }
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            job = refs[done[0]]
            try:
                outcome = ray.get(done[0])
            except Exception:  # the task or its worker died
                outcome = {"ok": False, "traceback": traceback.format_exc(), "seconds": 0.0}
            on_done(job, outcome)
    finally:
        if started_here:
            ray.shutdown()


def run_jobs(
    jobs: Sequence[Job],
    executor: str = "local",
    workers: int | None = None,
    ray_address: str | None = None,
) -> dict[str, JobResult]:
    """Run the jobs whose cached results are missing (or corrupt) and save their results.

    ``executor``: ``"local"`` (a spawn process pool of ``workers`` processes, default every CPU) or
    ``"ray"`` (``ray.init(num_cpus=workers)`` on this machine, or the running cluster at
    ``ray_address``; a Ray already initialized in this process is used as it is). Returns each job's
    :class:`JobResult` by name. If any job failed, the others' results are saved first and then a
    :class:`JobError` names every failed job, its arguments and its worker's traceback.
    """
    if executor not in EXECUTORS:
        raise JobError(f"executor={executor!r}; accepted: {', '.join(EXECUTORS)}")
    if ray_address is not None and executor != "ray":
        raise JobError(f"ray_address={ray_address!r} needs executor='ray' (got {executor!r})")
    workers = None if workers is None else _check_workers(workers)
    names = [job.name for job in jobs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise JobError(f"job names must be unique; repeated: {duplicates}")
    if not jobs:
        return {}
    if executor == "ray":
        import_ray()  # fail before any work when Ray is missing
    check_cache_writable()
    results: dict[str, JobResult] = {}
    todo: list[Job] = []
    corrupt: set[str] = set()
    for job in jobs:
        path = job.path()
        if path.exists() and _intact(path):
            results[job.name] = JobResult(job.name, "cached", path)
            continue
        if path.exists():
            log.warning("job %s: cache entry %s is corrupt; recomputing it", job.name, path)
            corrupt.add(job.name)
        todo.append(job)

    def on_done(job: Job, outcome: dict[str, Any]) -> None:
        path = job.path()
        if outcome["ok"]:
            with atomic_path(path) as tmp:
                tmp.write_bytes(outcome["data"])
            with atomic_path(record_path(path)) as tmp:
                tmp.write_text(json.dumps({"job": job.name, "seconds": round(outcome["seconds"], 3), "executor": executor}))
            status: Status = "recomputed" if job.name in corrupt else "computed"
            results[job.name] = JobResult(job.name, status, path, round(outcome["seconds"], 3))
        else:
            results[job.name] = JobResult(job.name, "failed", path, round(outcome["seconds"], 3), outcome["traceback"])

    if todo:
        if executor == "local":
            _run_local(todo, workers or _check_workers(None), on_done)
        else:
            _run_ray(todo, workers, ray_address, on_done)
    failed = [results[j.name] for j in jobs if results[j.name].status == "failed"]
    if failed:
        by_name = {job.name: job for job in jobs}
        parts = [
            f"job {r.name} ({by_name[r.name].function}, kwargs {dict(by_name[r.name].kwargs)!r}) failed; worker "
            f"traceback:\n{r.error}"
            for r in failed
        ]
        done = sum(r.status != "failed" for r in results.values())
        raise JobError(f"{len(failed)} of {len(jobs)} jobs failed ({done} saved):\n" + "\n".join(parts), results)
    return {job.name: results[job.name] for job in jobs}


def map_jobs(
    function: str,
    kwargs_list: Sequence[Mapping[str, Any]],
    namespace: str,
    workers: int | None = None,
    executor: str = "local",
    suffix: str = ".npz",
) -> list[Any]:
    """``function(**kwargs)`` for each of ``kwargs_list``, in order: the parallel parts of one piece of work
    (chunks of a dataset). With ``workers=1`` and the local executor they run here, one after the other;
    else as jobs (:func:`run_jobs`), whose cache entries are deleted once loaded (the caller caches the
    whole). ``function`` must draw only from generators seeded by its arguments, so both ways agree."""
    workers = _check_workers(workers)
    if executor == "local" and (workers == 1 or len(kwargs_list) < 2):
        module, _, name = function.partition(":")
        call = getattr(importlib.import_module(module), name)
        return [call(**dict(kwargs)) for kwargs in kwargs_list]
    jobs = [Job(f"{namespace}-{i}", function, dict(kw), namespace=namespace, suffix=suffix) for i, kw in enumerate(kwargs_list)]
    run_jobs(jobs, executor=executor, workers=workers)
    results = []
    for job in jobs:
        results.append(load_result(job))
        job.path().unlink(missing_ok=True)
        record_path(job.path()).unlink(missing_ok=True)
    return results


__all__ = [
    "EXECUTORS", "CacheError", "Job", "JobError", "JobResult", "job_seconds", "load_result", "load_results", "map_jobs", "run_jobs",
]  # fmt: skip
