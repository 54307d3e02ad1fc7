"""GMN longer-training pilot (issue 14): does training longer make the M = 2 models read their grasps?

Trains one M = 2 model of the chapter's profile (its scenes, widths and training knobs, seed 0) for
``--factor`` times the profile's ``train_steps`` and, every ``--every`` steps, prints what the chapter's
context checks measure, on the first 64 test scenes (nats; per target pair, 5 targets, 4 importance
samples): the image gain from 2 image contexts over none, the haptic gap of a scene's own 2 grasps over
another scene's (check (1'); the Bayes observer's gap is ~174), and the cross-modal gaps with 7 pairs of
the other modality (grasps -> image, images -> haptics). Run two schemes side by side, one per core.
Nothing is cached or written; numbers only. The sigma schedule stretches with the steps (annealed over
half of them, as in the chapter), so the profile's own models are not points on this curve.

    OMP_NUM_THREADS=1 python benchmarks/pilot_gmn_longer_training.py apoe --factor 3 --every 1700

Measured (one thread each, 2026-11-30): see replications/gmn/README.md, "Sixth pass".
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from pilot_gmn_grasp_reader import scenes

from sensorimotor.gmn import evaluation as gmn_eval
from sensorimotor.gmn.model import GMN, GMNArch
from sensorimotor.gmn.scenes import modality_split
from sensorimotor.gmn.training import TrainSpec, train_gmn
from sensorimotor.pipeline import load_chapter_module

MEASURES = {  # name: (target, context pairs, source modality or None for the target's own)
    "image gain (2 images)": ("image", 2, None),
    "haptic gap (2 grasps)": ("haptic", 2, "haptic"),
    "grasps -> image gap (7)": ("image", 7, "haptic"),
    "images -> haptics gap (7)": ("haptic", 7, "image"),
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("scheme", choices=("baseline", "poe", "apoe"))
    p.add_argument("--profile", default="default", help="the chapter profile whose scenes, widths and knobs are used")
    p.add_argument("--factor", type=float, default=3.0, help="training steps as a multiple of the profile's train_steps")
    p.add_argument("--every", type=int, default=1700)
    p.add_argument("--scenes", type=int, default=64, help="test scenes measured")
    args = p.parse_args()
    if not (np.isfinite(args.factor) and args.factor > 0) or args.every < 1 or args.scenes < 2:
        raise SystemExit(f"need --factor > 0, --every >= 1, --scenes >= 2; got {args.factor}, {args.every}, {args.scenes}")
    torch.set_num_threads(1)
    chapter = load_chapter_module(Path(__file__).resolve().parents[1] / "replications" / "gmn" / "config.py")
    cfg = chapter.gmn_config(args.profile)
    if args.scenes > cfg.n_test_scenes:
        raise SystemExit(f"--scenes must be at most the profile's n_test_scenes = {cfg.n_test_scenes}, got {args.scenes}")
    train = scenes(cfg, cfg.n_train_scenes, "train", cfg.n_parts)
    test = scenes(cfg, cfg.n_test_scenes, "test", cfg.n_parts)
    mods = modality_split(2, cfg.image_size)
    steps = round(args.factor * cfg.train_steps)
    spec = TrainSpec(steps=steps, batch_size=cfg.batch_size, lr=cfg.lr, max_context=cfg.max_context,
                     max_targets=cfg.max_targets, sigma_start=cfg.sigma_start, sigma_end=cfg.sigma_end,
                     sigma_anneal=cfg.sigma_anneal, grad_clip=cfg.grad_clip, seed=cfg.seed, opposite=cfg.opposite)  # fmt: skip
    ids = np.arange(args.scenes)
    common = dict(n_targets=cfg.density_targets, n_samples=cfg.eval_samples, sigma=cfg.sigma_end, seed=cfg.seed)
    start = time.perf_counter()

    def measure(model: GMN, step: int) -> dict[str, float]:
        out = {}
        for name, (target, n, source) in MEASURES.items():
            if source is None:
                g = gmn_eval.same_modality_gain(model, test, mods, ids, target, n, **common)
            else:
                g = gmn_eval.other_scene_gap(model, test, mods, ids, target, n, source=source, **common)
            out[name] = g["mean"]
            out[name + " se"] = g["se"]
        examples = step * cfg.batch_size * (2 if cfg.opposite else 1)
        print(f"step {step:6d} ({examples:6d} scene examples): "
              + "; ".join(f"{k} {out[k]:+.2f} ± {out[k + ' se']:.2f}" for k in MEASURES)
              + f"  ({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
        return out

    torch.manual_seed(cfg.seed)
    model = GMN(mods, GMNArch(**cfg.arch_dict()), args.scheme)
    print(f"{args.profile} {args.scheme}: {steps} steps ({args.factor:g} x {cfg.train_steps})", flush=True)
    train_gmn(model, train, mods, spec, progress=False, evaluate=measure, eval_every=args.every)


if __name__ == "__main__":
    main()
