"""The jobs layer: the same trainings on the local executor and on a local Ray, side by side.

By default ``--jobs`` tiny-MLP trainings (:func:`sensorimotor.job_examples.train_tiny_mlp`, one torch
thread each); with ``--chapter NAME`` that chapter's declared training jobs at ``--profile`` (default
smoke), stage after stage. They run first on the local executor (a spawn process pool of ``--cpus``
workers), then on Ray started here with the same ``--cpus``, then locally once more (the two local runs
bracket Ray's in time, for machines shared with other work), each on a fresh, empty cache. Printed: wall
seconds, jobs per minute and the ratio to the local wall time (Ray's overhead), for Ray with and without
its start-up; and whether both executors saved bitwise-equal results.

    python benchmarks/bench_jobs.py [--jobs 6] [--cpus 2] [--steps 600]
    python benchmarks/bench_jobs.py --chapter gmn [--profile smoke] [--cpus 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_jobs(n: int, steps: int):
    from sensorimotor.jobs import Job

    return [
        Job(f"bench-{k}", "sensorimotor.job_examples:train_tiny_mlp",
            {"steps": steps, "width": 64, "n": 1024, "seed": k}, namespace="bench-jobs")
        for k in range(n)
    ]  # fmt: skip


def chapter_stages(name: str, profile: str) -> list:
    """The chapter's declared training jobs, as stages (see ``sensorimotor.pipeline.chapter_job_stages``)."""
    from sensorimotor.pipeline import chapter_config, chapter_job_stages, get_chapter

    chapter = get_chapter(ROOT, name)
    return chapter_job_stages(chapter, chapter_config(chapter, profile, 0, {}))


def results(jobs) -> dict:
    """Each job's saved entry, loaded (entries this run wrote itself: a receipt may hold numpy arrays, which
    a weights-only load refuses)."""
    import numpy as np
    import torch

    def load(path):
        if path.suffix == ".npz":
            with np.load(path) as data:
                return {k: data[k] for k in data.files}
        return torch.load(path, weights_only=False)

    return {job.name: load(job.path()) for job in jobs}


def same(a, b, key: str = "") -> bool:
    """Whether two loaded results are equal, tensor for tensor and array for array; timings (a key with
    "seconds" in it) are the only values allowed to differ."""
    import numpy as np
    import torch

    if "seconds" in key:
        return True
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k], str(k)) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y, key) for x, y in zip(a, b, strict=True))
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, np.ndarray):
        return np.array_equal(a, b)
    return a == b


def run_stages(stages, **options) -> tuple[float, dict]:
    from sensorimotor.jobs import run_jobs

    start, done = time.perf_counter(), {}
    for stage in stages:
        done.update(run_jobs(stage, **options))
    return time.perf_counter() - start, done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--steps", type=int, default=600, help="Adam steps per job (~a few seconds at 1 thread)")
    parser.add_argument("--chapter", default=None, help="a chapter whose declared training jobs to run instead")
    parser.add_argument("--profile", default="smoke", help="the chapter's profile (with --chapter)")
    args, _ = parser.parse_known_args()  # `nox -s bench -- ...` hands every script the same options

    from sensorimotor.jobs import import_ray

    stages = chapter_stages(args.chapter, args.profile) if args.chapter else [make_jobs(args.jobs, args.steps)]
    jobs = [job for stage in stages for job in stage]
    rows = []
    with tempfile.TemporaryDirectory() as local_cache, tempfile.TemporaryDirectory() as ray_cache:
        os.environ["SENSORIMOTOR_CACHE"] = local_cache
        local_wall, local = run_stages(stages, executor="local", workers=args.cpus)
        local_results = results(jobs)

        ray = import_ray()
        os.environ["SENSORIMOTOR_CACHE"] = ray_cache
        start = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        ray_wall, on_ray = run_stages(stages, executor="ray")
        ray_done = time.perf_counter()
        ray.shutdown()
        equal = same(local_results, results(jobs))
        with tempfile.TemporaryDirectory() as again_cache:  # local once more: brackets Ray in time on a shared machine
            os.environ["SENSORIMOTOR_CACHE"] = again_cache
            again_wall, again = run_stages(stages, executor="local", workers=args.cpus)
    n = len(jobs)
    rows.append(("local (spawn pool)", local_wall, sum(r.seconds for r in local.values()) / n))
    rows.append(("ray, jobs only", ray_wall, sum(r.seconds for r in on_ray.values()) / n))
    rows.append(("ray, incl. ray.init", ray_done - start, sum(r.seconds for r in on_ray.values()) / n))
    rows.append(("local again (after)", again_wall, sum(r.seconds for r in again.values()) / n))
    what = f"chapter {args.chapter} ({args.profile}): {n} jobs in {len(stages)} stages" if args.chapter else (
        f"{n} jobs x {args.steps} steps")
    print(f"{what} on {args.cpus} CPUs, 1 torch thread per job")
    print("job s: mean time inside a job (after imports and seeding); overhead s: wall - jobs' time / CPUs")
    print(f"{'executor':22s} {'wall s':>7s} {'jobs/min':>9s} {'vs local':>9s} {'job s':>6s} {'overhead s':>11s}")
    for name, wall, job in rows:
        overhead = wall - job * n / args.cpus
        print(f"{name:22s} {wall:7.1f} {60 * n / wall:9.1f} {wall / local_wall:9.2f} {job:6.2f} {overhead:11.1f}")
    print(f"results bitwise equal across executors (timings aside): {equal}")


if __name__ == "__main__":
    main()
