"""DMBN budget pilot (issue 13): how prediction quality grows with optimiser steps, batch, view and data.

Trains one DMBN per configuration (cosine schedule over ``--steps``) and prints, at 1/4, 1/2 and all of
the steps, the figures the chapter's instrument checks rest on:

- ``img``: test image MSE of the training set's mean trajectory divided by the DMBN's, both from one image
  one step before contact (joint availability 0); above 1 means the decoder beats the trivial answer;
- ``jnt``: the same ratio for the decoded joints;
- ``same``: share of 250 training states whose image code's nearest joint code belongs to the same
  interaction, beside ``chance`` (that share under a random pairing);
- ``rank``: the mean rank of a state's own joint code among the 250 by distance from its image code (1 =
  nearest; 125 = chance), the "true partner's retrieval rank" of issue 34;
- ``agree`` (our data only): share of test interactions whose decoded joints, replayed on the robot, give
  the recorded outcome (the chapter's 5.1 measure), beside ``lk_agr`` and ``lk_jnt``, the training-free
  lookup's (the training frame nearest in pixels to the conditioning image, its interaction replayed).

Data: ``ours`` (our simulator, rendered at 128 px and area-averaged to ``--size``), ``ours-crop`` (the
central-lower 96 px window of that render: objects span more pixels), ``ours-hand`` (the 51 px window
on the hand and the object, issue 34's candidate view: three times the between-interaction image signal),
or ``authors`` (their released
interactions, ``--authors PATH`` to ``data/data2020``; trained on ids 0-39, tested on their validation and
test conditions). Every configuration is a job of the jobs layer (``sensorimotor.dmbn.budget_pilot.pilot_run``),
run on worker processes here (``--jobs N`` at once) or on Ray (``--executor ray [--ray-address HOST:6379]``);
its figures are cached like any job's result, so a rerun prints them without training.

    python benchmarks/pilot_dmbn_budget.py --data ours --steps 4000 --batch 8
    python benchmarks/pilot_dmbn_budget.py --grid --jobs 2      # the grid of the issue-13 pilot
    python benchmarks/pilot_dmbn_budget.py --pilot34 --jobs 2   # issue 34: view x {5k, 15k} steps x 2 seeds
    python benchmarks/pilot_dmbn_budget.py --pilot34 --executor ray --ray-address HOST:6379   # on a cluster

Measured (one thread per configuration, 2026-11-30): see replications/dmbn/README.md, "Budget pilot".
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sensorimotor.jobs import EXECUTORS, Job, load_result, run_jobs

GRID = [  # (data, size, batch, steps, joint weight, seed): the issue-13 pilot
    ("ours", 32, 8, 2000, 1.0, 0), ("ours", 32, 8, 4000, 1.0, 0), ("ours", 32, 8, 8000, 1.0, 0),
    ("ours", 32, 8, 8000, 1.0, 1), ("ours", 32, 32, 2000, 1.0, 0), ("ours-crop", 32, 8, 8000, 1.0, 0),
    ("ours", 32, 8, 8000, 164.0, 0), ("ours", 32, 8, 8000, 10.0, 0), ("ours", 16, 8, 8000, 1.0, 0),
    ("ours-crop", 32, 8, 8000, 164.0, 0), ("authors", 32, 8, 4000, 1.0, 0), ("authors", 32, 8, 8000, 164.0, 0),
]
PILOT34 = [(view, 32, 8, steps, 1.0, seed)  # issue 34: today's view and the hand-and-object one, 5k and 15k steps
           for view in ("ours-crop", "ours-hand") for steps in (5000, 15000) for seed in (0, 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("ours", "ours-crop", "ours-hand", "authors"), default="ours")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--joint-weight", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--authors", help="the authors' data/data2020 folder")
    parser.add_argument("--grid", action="store_true", help="run the pilot's grid (authors' rows need --authors)")
    parser.add_argument("--pilot34", action="store_true", help="issue 34's pilot: view x {5k, 15k} steps x 2 seeds")
    parser.add_argument("--jobs", type=int, default=1, help="configurations trained at once (one thread each)")
    parser.add_argument("--executor", choices=EXECUTORS, default="local", help="worker processes here, or Ray")
    parser.add_argument("--ray-address", help="a running Ray cluster (HOST:6379); with --executor ray")
    args = parser.parse_args()
    keys = ("data", "size", "batch", "steps", "joint_weight", "seed")
    if args.grid or args.pilot34:
        grid = PILOT34 if args.pilot34 else GRID
        configs = [dict(zip(keys, row, strict=True)) for row in grid if row[0] != "authors" or args.authors]
    else:
        configs = [{k: getattr(args, k) for k in keys}]
    for c in configs:
        c["authors"] = str(Path(args.authors).expanduser()) if args.authors else None
    print(f"{'data':10s} {'px':>3s} {'batch':>5s} {'steps':>6s} {'jw':>5s} {'seed':>4s} {'at':>6s} "
          f"{'img':>6s} {'jnt':>6s} {'same':>6s} {'chance':>6s} {'rank':>6s} {'agree':>6s} {'lk_agr':>6s} {'lk_jnt':>6s} "
          f"{'steps/s':>7s}")
    jobs = [Job(f"pilot-{k}", "sensorimotor.dmbn.budget_pilot:pilot_run", c, namespace="dmbn-pilot", suffix=".npz")
            for k, c in enumerate(configs)]  # fmt: skip
    run_jobs(jobs, executor=args.executor, workers=args.jobs, ray_address=args.ray_address)
    for job in jobs:
        figures = load_result(job)
        for i in range(len(figures["at"])):
            r = {**job.kwargs, **{k: v[i].item() for k, v in figures.items()}}
            print(f"{r['data']:10s} {r['size']:3d} {r['batch']:5d} {r['steps']:6d} {r['joint_weight']:5g} "
                  f"{r['seed']:4d} {r['at']:6d} {r['img']:6.3f} {r['jnt']:6.2f} {r['same']:6.3f} "
                  f"{r['chance']:6.3f} {r['rank']:6.1f} {r['agree']:6.2f} {r['lk_agr']:6.2f} {r['lk_jnt']:6.1f} "
                  f"{r['steps_per_s']:7.1f}", flush=True)


if __name__ == "__main__":
    main()
