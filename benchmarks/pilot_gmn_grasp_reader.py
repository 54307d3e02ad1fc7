"""GMN grasp-reader pilot (issue 14): could the GMN's haptic encoder read a scene's shape from its grasps?

The chapter's models never encode grasps. This trains the same haptic representation network (the
chapter's widths), summed over a scene's grasps, with a linear head and cross-entropy on the object's
shape (:mod:`sensorimotor.gmn.shape_probe`): the strongest signal a grasp reader can get, where the GMN
only has the reconstruction of other views. It prints the held-out accuracy of naming the shape from 2
and 7 grasps against the number of scene examples seen, beside chance (the most probable shape) and the
number of scene examples one GMN model of the chapter's profile sees in training (steps x batch, twice
with the context/target swap). ``--bayes-groups G`` instead scores the Bayes observer that knows the shape
set on the chapter's Fig. 4 task with grasp contexts (its first G groups of classification scenes, 4- and
6-part objects, the chapter's context counts and targets; grasps only): can the grasps tell the scenes apart
at all? Nothing is cached or written; numbers only.

    OMP_NUM_THREADS=1 python benchmarks/pilot_gmn_grasp_reader.py --steps 30000 --every 2000
    OMP_NUM_THREADS=1 python benchmarks/pilot_gmn_grasp_reader.py --bayes-groups 2 [--prune 40]

Measured (one thread, 2026-11-30): see replications/gmn/README.md, "Could the encoder read grasps?".
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from sensorimotor.gmn.haptic_oracle import shape_distribution
from sensorimotor.gmn.model import GMNArch
from sensorimotor.gmn.scenes import SceneDatasetConfig, modality_split, scene_dataset
from sensorimotor.gmn.shape_probe import bayes_group_classification, train_shape_reader
from sensorimotor.pipeline import load_chapter_module


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--profile", default="default", help="the chapter profile whose scenes and widths are used")
    p.add_argument("--steps", type=int, default=30000)
    p.add_argument("--every", type=int, default=2000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bayes-groups", type=int, default=0, help="score the Bayes observer on this many Fig. 4 groups instead")
    p.add_argument("--prune", type=float, default=None, help="the Bayes observer's prune_nats (default: every shape)")
    args = p.parse_args()
    torch.set_num_threads(1)
    chapter = load_chapter_module(Path(__file__).resolve().parents[1] / "replications" / "gmn" / "config.py")
    cfg = chapter.gmn_config(args.profile)
    if args.bayes_groups:
        bayes(cfg, args.bayes_groups, args.prune)
        return
    train = scenes(cfg, cfg.n_train_scenes, "train", cfg.n_parts)
    test = scenes(cfg, cfg.n_test_scenes, "test", cfg.n_parts)
    hand = modality_split(2, cfg.image_size)[1]
    arch = GMNArch(**cfg.arch_dict())
    grid = (cfg.image_size // 4, cfg.image_size // 4)  # the latent grid of the chapter's M = 2 models
    _, prob = shape_distribution(cfg.n_parts)
    gmn_examples = cfg.train_steps * cfg.batch_size * (2 if cfg.opposite else 1)
    print(f"{args.profile}: {cfg.n_train_scenes} training / {cfg.n_test_scenes} test scenes, {len(prob)} shapes, "
          f"chance (most probable shape) {prob.max():.3f}; one GMN model sees {gmn_examples} scene examples", flush=True)
    start = time.perf_counter()
    for row in train_shape_reader(train, test, hand, arch, grid, args.steps, args.batch, args.lr,
                                  eval_every=args.every, seed=args.seed):  # fmt: skip
        acc = "  ".join(f"{g} grasps {a:.2f}" for g, a in row["accuracy"].items())
        print(f"step {row['step']:6d}  scene examples {row['scenes_seen']:7d}  {acc}  ({time.perf_counter() - start:.0f} s)",
              flush=True)


def scenes(cfg, n: int, split: str, n_parts: tuple[int, ...]) -> dict[str, np.ndarray]:
    """The chapter's scene set ``split`` of ``n`` scenes (the same cache entry the chapter uses)."""
    config = SceneDatasetConfig(n, n_views=cfg.n_views, image_size=cfg.image_size, supersample=cfg.supersample,
                                n_parts=n_parts, split=split, seed=cfg.seed)  # fmt: skip
    return scene_dataset(config, workers=cfg.workers, progress=False)


def bayes(cfg, n_groups: int, prune_nats: float | None) -> None:
    """The Bayes observer on the first ``n_groups`` groups of the chapter's classification scenes."""
    if not 1 <= n_groups <= cfg.classify_groups:
        raise SystemExit(f"--bayes-groups must be in 1..{cfg.classify_groups} (the profile's classify_groups), got {n_groups}")
    n_classify = cfg.classify_groups * cfg.classify_group_size
    data = scenes(cfg, n_classify, "classify", cfg.classify_parts)
    groups = np.arange(n_classify).reshape(cfg.classify_groups, cfg.classify_group_size)[:n_groups]
    _, prob = shape_distribution(cfg.classify_parts)
    start = time.perf_counter()
    correct = bayes_group_classification(data["hands"], data["haptics"], groups, cfg.classify_counts, cfg.classify_targets,
                                         cfg.sigma_end, cfg.seed, cfg.classify_parts, prune_nats=prune_nats)  # fmt: skip
    trials = correct.shape[1]
    print(f"Bayes observer, grasps only, {len(prob)} shapes of {cfg.classify_parts} parts, {n_groups} groups of "
          f"{cfg.classify_group_size} ({trials} trials; chance {1 / cfg.classify_group_size:.2f}; "
          f"pruned at {prune_nats} nats; {time.perf_counter() - start:.0f} s):")
    for count, row in zip(cfg.classify_counts, correct, strict=True):
        se = np.sqrt(row.mean() * (1 - row.mean()) / trials)
        print(f"  {count} grasp contexts, {cfg.classify_targets} target grasps: accuracy {row.mean():.2f} ± {se:.2f}")


if __name__ == "__main__":
    main()
