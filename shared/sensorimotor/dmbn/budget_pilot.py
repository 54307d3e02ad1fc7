"""DMBN budget pilot (issues 13 and 34): one DMBN per configuration, its figures at 1/4, 1/2 and all steps.

Each configuration is a job of :mod:`sensorimotor.jobs` (``benchmarks/pilot_dmbn_budget.py`` declares and runs
them, locally or on Ray); :func:`pilot_run` trains it and returns the figures the chapter's checks rest on.
"""

from __future__ import annotations

import json

import numpy as np
import torch

CROP = (0.25, 0.125, 0.75)  # the view window (top, left, side as fractions of the frame): the chapter's `view_window`
HAND = (0.2, 0.3, 0.4)  # issue 34's candidate: the hand and the object fill the frame (config.VIEW_CANDIDATES)
WINDOWS = {"ours": (0.0, 0.0, 1.0), "ours-crop": CROP, "ours-hand": HAND}


def pilot_data(data: str, size: int, authors: str | None) -> dict[str, np.ndarray]:
    """images, joints, t, train and test indices, and each interaction's conditioning step."""
    from sensorimotor.dmbn.evaluation import condition_steps

    if data == "authors":
        from sensorimotor.dmbn.authors_data import load_authors_dataset

        if authors is None:
            raise ValueError("data='authors' needs authors= the path of the authors' data/data2020 folder")
        d = load_authors_dataset(authors, n_steps=30, image_size=size)
        return dict(images=d["images"], joints=d["joints"], t=d["t"], train=np.flatnonzero(d["split"] == 0),
                    test=np.flatnonzero(d["cond_step"] >= 0), cond=d["cond_step"], object_pose=None)
    from sensorimotor.dmbn.training import network_view
    from sensorimotor.sim.tabletop_dataset import TabletopDatasetConfig, dataset, split_indices

    raw = dataset(TabletopDatasetConfig(n_push=50, n_grasp=50, image_size=128, n_steps=30, seed=0), progress=False)
    train, test = split_indices(len(raw["action"]), 0.2, 0)
    return dict(images=network_view(raw["images"], size, WINDOWS[data]), joints=raw["joints"], t=raw["t"],
                train=train, test=test, cond=condition_steps(raw["object_pose"], 1), object_pose=raw["object_pose"])


def pilot_run(
    data: str, size: int, batch: int, steps: int, joint_weight: float, seed: int, authors: str | None = None
) -> dict[str, np.ndarray]:
    """Train one configuration (a job of the jobs layer); its figures at each evaluation point, as arrays
    (``at``: the step; ``img``, ``jnt``, ``same``, ``chance``, ``rank``, ``agree``, ``lk_agr``, ``lk_jnt``;
    ``steps_per_s``)."""
    cfg = {"data": data, "size": size, "batch": batch, "steps": steps, "joint_weight": joint_weight, "seed": seed,
           "authors": authors}  # fmt: skip
    from sensorimotor.dmbn.evaluation import (
        dmbn_trajectories,
        lookup_trajectories,
        paired_encodings,
        trajectory_errors,
        true_trajectories,
    )
    from sensorimotor.dmbn.model import DMBN
    from sensorimotor.dmbn.training import JointScaler, SequenceData, _init_model, make_spec, train_dmbn

    d = pilot_data(data, size, authors)
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
    figures = [json.loads(str(result.snapshots[s]["r"])) for s in points]
    return {"at": np.array(points), **{k: np.array([f[k] for f in figures]) for k in figures[0]},
            "steps_per_s": np.full(len(points), cfg["steps"] / result.seconds)}
