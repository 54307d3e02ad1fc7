"""The jobs layer: the same small trainings on the local executor and on a local Ray, side by side.

``--jobs`` tiny-MLP trainings (:func:`sensorimotor.job_examples.train_tiny_mlp`, one torch thread
each) run first on the local executor (a spawn process pool of ``--cpus`` workers), then on Ray
started here with the same ``--cpus``, then locally once more (the two local runs bracket Ray's in
time, for machines shared with other work), each on a fresh, empty cache. Printed: wall seconds, jobs per
minute and the ratio to the local wall time (Ray's overhead), for Ray with and without its start-up;
and whether both executors saved bitwise-equal weights.

    python benchmarks/bench_jobs.py [--jobs 6] [--cpus 2] [--steps 600]
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
import time


def make_jobs(n: int, steps: int):
    from sensorimotor.jobs import Job

    return [
        Job(f"bench-{k}", "sensorimotor.job_examples:train_tiny_mlp",
            {"steps": steps, "width": 64, "n": 1024, "seed": k}, namespace="bench-jobs")
        for k in range(n)
    ]  # fmt: skip


def weights(jobs) -> dict:
    from sensorimotor.jobs import load_result

    return {job.name: load_result(job) for job in jobs}


def same(a: dict, b: dict) -> bool:
    import torch

    return all(
        torch.equal(a[n]["state_dict"][k], b[n]["state_dict"][k]) and torch.equal(a[n]["loss"], b[n]["loss"])
        for n in a
        for k in a[n]["state_dict"]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=6)
    parser.add_argument("--cpus", type=int, default=2)
    parser.add_argument("--steps", type=int, default=600, help="Adam steps per job (~a few seconds at 1 thread)")
    args, _ = parser.parse_known_args()  # `nox -s bench -- ...` hands every script the same options

    from sensorimotor.jobs import import_ray, run_jobs

    jobs = make_jobs(args.jobs, args.steps)
    rows = []
    with tempfile.TemporaryDirectory() as local_cache, tempfile.TemporaryDirectory() as ray_cache:
        os.environ["SENSORIMOTOR_CACHE"] = local_cache
        start = time.perf_counter()
        local = run_jobs(jobs, executor="local", workers=args.cpus)
        local_wall = time.perf_counter() - start
        local_weights = weights(jobs)

        ray = import_ray()
        os.environ["SENSORIMOTOR_CACHE"] = ray_cache
        start = time.perf_counter()
        ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
        started = time.perf_counter()
        on_ray = run_jobs(jobs, executor="ray")
        ray_done = time.perf_counter()
        ray.shutdown()
        equal = same(local_weights, weights(jobs))
        with tempfile.TemporaryDirectory() as again_cache:  # local once more: brackets Ray in time on a shared machine
            os.environ["SENSORIMOTOR_CACHE"] = again_cache
            again_start = time.perf_counter()
            again = run_jobs(jobs, executor="local", workers=args.cpus)
            again_wall = time.perf_counter() - again_start
    local_job = sum(r.seconds for r in local.values()) / args.jobs
    ray_job = sum(r.seconds for r in on_ray.values()) / args.jobs
    rows.append(("local (spawn pool)", local_wall, local_job))
    rows.append(("ray, jobs only", ray_done - started, ray_job))
    rows.append(("ray, incl. ray.init", ray_done - start, ray_job))
    rows.append(("local again (after)", again_wall, sum(r.seconds for r in again.values()) / args.jobs))
    print(f"{args.jobs} jobs x {args.steps} steps on {args.cpus} CPUs, 1 torch thread per job")
    print("job s: mean time inside a job (after imports and seeding); overhead s: wall - jobs' time / CPUs")
    print(f"{'executor':22s} {'wall s':>7s} {'jobs/min':>9s} {'vs local':>9s} {'job s':>6s} {'overhead s':>11s}")
    for name, wall, job in rows:
        overhead = wall - job * args.jobs / args.cpus
        print(f"{name:22s} {wall:7.1f} {60 * args.jobs / wall:9.1f} {wall / local_wall:9.2f} {job:6.2f} {overhead:11.1f}")
    print(f"weights bitwise equal across executors: {equal}")


if __name__ == "__main__":
    main()
