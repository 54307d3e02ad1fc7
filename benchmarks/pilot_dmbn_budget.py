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
test conditions). Nothing here is cached or written; numbers only.

    python benchmarks/pilot_dmbn_budget.py --data ours --steps 4000 --batch 8
    python benchmarks/pilot_dmbn_budget.py --grid --jobs 2      # the grid of the issue-13 pilot
    python benchmarks/pilot_dmbn_budget.py --pilot34 --jobs 2   # issue 34: view x {5k, 15k} steps x 2 seeds

Measured (one thread per configuration, 2026-11-30): see replications/dmbn/README.md, "Budget pilot".
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
from pathlib import Path

import numpy as np
import torch

CROP = (0.25, 0.125, 0.75)  # the view window (top, left, side as fractions of the frame): the chapter's `view_window`
HAND = (0.2, 0.3, 0.4)  # issue 34's candidate: the hand and the object fill the frame (config.VIEW_CANDIDATES)
WINDOWS = {"ours": (0.0, 0.0, 1.0), "ours-crop": CROP, "ours-hand": HAND}


def load(data: str, size: int, authors: str | None) -> dict[str, np.ndarray]:
    """images, joints, t, train and test indices, and each interaction's conditioning step."""
    from sensorimotor.dmbn.evaluation import condition_steps

    if data == "authors":
        from sensorimotor.dmbn.authors_data import load_authors_dataset

        if authors is None:
            raise SystemExit("--data authors needs --authors PATH (the authors' data/data2020 folder)")
        d = load_authors_dataset(authors, n_steps=30, image_size=size)
        return dict(images=d["images"], joints=d["joints"], t=d["t"], train=np.flatnonzero(d["split"] == 0),
                    test=np.flatnonzero(d["cond_step"] >= 0), cond=d["cond_step"], object_pose=None)
    from sensorimotor.dmbn.training import network_view
    from sensorimotor.sim.tabletop_dataset import TabletopDatasetConfig, dataset, split_indices

    raw = dataset(TabletopDatasetConfig(n_push=50, n_grasp=50, image_size=128, n_steps=30, seed=0), progress=False)
    train, test = split_indices(len(raw["action"]), 0.2, 0)
    return dict(images=network_view(raw["images"], size, WINDOWS[data]), joints=raw["joints"], t=raw["t"],
                train=train, test=test, cond=condition_steps(raw["object_pose"], 1), object_pose=raw["object_pose"])


def run(cfg: dict) -> list[dict]:
    """Train one configuration; one row of figures per evaluation point."""
    torch.set_num_threads(1)
    from sensorimotor.dmbn.evaluation import (
        dmbn_trajectories,
        lookup_trajectories,
        paired_encodings,
        trajectory_errors,
        true_trajectories,
    )
    from sensorimotor.dmbn.model import DMBN
    from sensorimotor.dmbn.training import JointScaler, SequenceData, _init_model, make_spec, train_dmbn

    d = load(cfg["data"], cfg["size"], cfg.get("authors"))
    scaler = JointScaler.fit(d["joints"][d["train"]])
    data = SequenceData.from_arrays(d["images"], d["joints"], d["t"], scaler)
    train, test = data.subset(d["train"]), data.subset(d["test"])
    rows, cond = np.arange(len(d["test"])), d["cond"][d["test"]]
    truth, train_truth = true_trajectories(test, rows), true_trajectories(train, np.arange(train.n))
    base = {m: trajectory_errors(np.repeat(train_truth[m].mean(0, keepdims=True), len(rows), 0), truth[m]).mean()
            for m in ("image", "joint")}
    flat = np.random.default_rng(1).choice(train.n * data.steps, size=min(250, train.n * data.steps), replace=False)
    s_inter, s_step = flat // data.steps, flat % data.steps
    chance = float(np.mean([(s_inter == s_inter[i]).mean() for i in range(len(s_inter))]))
    lookup = lookup_trajectories(test.float_images(torch.as_tensor(rows), torch.as_tensor(cond)), train)
    lookup_jnt = float(base["joint"] / max(trajectory_errors(lookup["joint"], truth["joint"]).mean(), 1e-12))
    executed = d["object_pose"] is not None

    def agreement(joints) -> float:
        """Share of test interactions whose replayed joints (robot units) give the recorded outcome."""
        from sensorimotor.sim.tabletop import (
            TabletopEnv,
            classify_imitation,
            judge_trajectory,
            outcome_from_poses,
        )

        with TabletopEnv(image_size=16) as env:
            return float(np.mean([classify_imitation(judge_trajectory(j, env=env), outcome_from_poses(d["object_pose"][i]),
                                                     "self") == "both" for j, i in zip(joints, d["test"], strict=True)]))

    lookup_agree = agreement(scaler.inverse(lookup["joint"])) if executed else float("nan")

    def evaluate(model) -> dict:
        model.eval()
        with torch.no_grad():
            pred = dmbn_trajectories(model, test, rows, cond, {"image": 1.0, "joint": 0.0}, "cpu")
            codes = paired_encodings(model, train, s_inter, s_step, "cpu")
        dist = ((codes["image"][:, None] - codes["joint"][None]) ** 2).sum(-1)
        nearest = dist.argmin(1)
        rank = float(np.mean((dist < np.diag(dist)[:, None]).sum(1) + 1))
        return {"img": float(base["image"] / trajectory_errors(pred["image"], truth["image"]).mean()),
                "jnt": float(base["joint"] / trajectory_errors(pred["joint"], truth["joint"]).mean()),
                "same": float(np.mean(s_inter[nearest] == s_inter)), "chance": chance, "rank": rank,
                "agree": agreement(scaler.inverse(pred["joint"])) if executed else float("nan"),
                "lk_agr": lookup_agree, "lk_jnt": lookup_jnt}

    spec = make_spec(image_size=cfg["size"], joint_dim=d["joints"].shape[-1], image_width=0.25, image_head=(8, 8))
    model = _init_model(DMBN, spec, cfg["seed"])
    points = sorted({cfg["steps"] // 4, cfg["steps"] // 2, cfg["steps"]})
    result = train_dmbn(
        model, train, steps=cfg["steps"], batch_size=cfg["batch"], lr=1e-3, seed=cfg["seed"], obs_max=5,
        targets_per_sample=2, joint_targets_per_sample=10, joint_loss_weight=cfg["joint_weight"], grad_clip=10.0,
        lr_schedule="cosine", snapshot_steps=points, snapshot_fn=lambda m: {"r": np.array(json.dumps(evaluate(m)))},
    )  # fmt: skip
    rate = cfg["steps"] / result.seconds
    return [{**cfg, "at": s, **json.loads(str(result.snapshots[s]["r"])), "steps_per_s": rate} for s in points]


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
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
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
    with concurrent.futures.ProcessPoolExecutor(max(1, args.jobs)) as pool:
        for rows in pool.map(run, configs):
            for r in rows:
                print(f"{r['data']:10s} {r['size']:3d} {r['batch']:5d} {r['steps']:6d} {r['joint_weight']:5g} "
                      f"{r['seed']:4d} {r['at']:6d} {r['img']:6.3f} {r['jnt']:6.2f} {r['same']:6.3f} "
                      f"{r['chance']:6.3f} {r['rank']:6.1f} {r['agree']:6.2f} {r['lk_agr']:6.2f} {r['lk_jnt']:6.1f} "
                      f"{r['steps_per_s']:7.1f}", flush=True)


if __name__ == "__main__":
    main()
