"""GMN haptic-pretraining pilot (issue 30): does a haptic encoder pretrained without labels open the grasp path?

Stage 1 pretrains the chapter's M = 2 APoE's own haptic representation network (its widths and initial
weights) as the chapter does since its twelfth pass (:mod:`sensorimotor.gmn.haptic_pretraining`, a
deterministic neural process over a scene's grasps; no shape labels). It prints, on held-out scenes, the
error with a scene's own 2 or 7 grasps as context against another scene's: an encoder that reads grasps
predicts its own scene's grasps better. (The eleventh pass's numbers came from this script's first
version, which drew its batches with replacement and from its own random streams.)

Stage 2 trains the GMN (the chapter's M = 2 model, the authors' sampling, the profile's knobs, training
seed 0 or --seed) from those encoder weights for --gmn-steps steps (sigma annealed over half of them)
and prints, every --every steps, the measures of ``pilot_gmn_longer_training.py`` on the first 64 test
scenes: image gain from 2 images, the haptic gaps (own 2 or 7 grasps over another scene's) and the
cross-modal gaps. ``--pretrain-steps 0`` is the control (no pretraining). ``--freeze`` keeps the pretrained
encoder fixed during stage 2. A departure from the paper either way; nothing is cached or written.

    OMP_NUM_THREADS=1 python benchmarks/pilot_gmn_haptic_pretraining.py --pretrain-steps 20000 --gmn-steps 3400 --every 850

Measured (one thread, 2026-12-07): see replications/gmn/README.md, "Eleventh pass".
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from pilot_gmn_grasp_reader import scenes
from pilot_gmn_longer_training import MEASURES, context_measures

from sensorimotor.gmn.haptic_pretraining import (
    HapticPretraining,
    grasp_prediction_errors,
    grasp_process,
    pretrain,
)
from sensorimotor.gmn.model import GMN, GMNArch
from sensorimotor.gmn.scenes import modality_split
from sensorimotor.gmn.training import train_gmn
from sensorimotor.pipeline import load_chapter_module


def report_pretraining(process, test, hand, batch: int):
    """A ``report(step)`` for :func:`pretrain` that prints the held-out own / other-scene errors from 2 and 7 grasps."""
    start = time.perf_counter()

    def report(step: int) -> None:
        parts = []
        for g in (2, 7):
            own, wrong = grasp_prediction_errors(process, test, hand, g)
            diff = wrong - own
            parts.append(f"{g} grasps: own {own.mean():.5f}, other scene's {wrong.mean():.5f}, "
                         f"gap {diff.mean():+.5f} ± {diff.std(ddof=1) / np.sqrt(len(diff)):.5f}")  # fmt: skip
        print(f"pretrain step {step:6d} ({step * batch:7d} scene examples): " + "; ".join(parts)
              + f"  ({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip

    return report


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--profile", default="default", help="the chapter profile whose scenes, widths and knobs are used")
    p.add_argument("--pretrain-steps", type=int, default=20000, help="neural-process steps (0: no pretraining, the control)")
    p.add_argument("--pretrain-every", type=int, default=5000)
    p.add_argument("--gmn-steps", type=int, default=3400)
    p.add_argument("--every", type=int, default=850)
    p.add_argument("--scenes", type=int, default=64, help="test scenes measured")
    p.add_argument("--seed", type=int, default=None, help="training seed (default: the profile's)")
    p.add_argument("--freeze", action="store_true", help="keep the pretrained encoder fixed while the GMN trains")
    args = p.parse_args()
    if args.pretrain_steps < 0 or args.gmn_steps < 1 or args.every < 1 or args.pretrain_every < 1 or args.scenes < 2:
        raise SystemExit("need --pretrain-steps >= 0, --gmn-steps >= 1, --every >= 1, --pretrain-every >= 1, --scenes >= 2; "
                         f"got {args.pretrain_steps}, {args.gmn_steps}, {args.every}, {args.pretrain_every}, {args.scenes}")  # fmt: skip
    if args.freeze and not args.pretrain_steps:
        raise SystemExit("--freeze needs --pretrain-steps > 0 (it keeps a pretrained encoder fixed)")
    torch.set_num_threads(1)
    chapter = load_chapter_module(Path(__file__).resolve().parents[1] / "replications" / "gmn" / "config.py")
    cfg = chapter.gmn_config(args.profile)
    if not args.scenes <= cfg.n_test_scenes:
        raise SystemExit(f"--scenes must be at most the profile's n_test_scenes = {cfg.n_test_scenes}, got {args.scenes}")
    seed = cfg.seed if args.seed is None else args.seed
    train = scenes(cfg, cfg.n_train_scenes, "train", cfg.n_parts)
    test = scenes(cfg, cfg.n_test_scenes, "test", cfg.n_parts)
    mods = modality_split(2, cfg.image_size)
    hand = next(m for m in mods if m.kind == "haptic")
    arch = GMNArch(**cfg.arch_dict())
    torch.manual_seed(seed)
    model = GMN(mods, arch, "apoe")
    encoder = model.representations[hand.name]
    print(f"{args.profile} APoE, seed {seed}: {args.pretrain_steps} pretraining steps, then {args.gmn_steps} GMN steps"
          + (" (encoder frozen)" if args.freeze else ""), flush=True)  # fmt: skip
    if args.pretrain_steps:  # the chapter's pretraining (sensorimotor.gmn.haptic_pretraining), printed as it goes
        spec = HapticPretraining(args.pretrain_steps, cfg.haptic_pretrain_batch)
        process = grasp_process(mods, arch, seed, spec.hidden)
        pretrain(process, train, hand, spec, seed, report_pretraining(process, test, hand, spec.batch_size), args.pretrain_every)
        encoder.load_state_dict(process.encoder.state_dict())
    if args.freeze:
        encoder.requires_grad_(False)
    ids = np.arange(args.scenes)
    common = dict(n_targets=cfg.density_targets, n_samples=cfg.eval_samples, sigma=cfg.sigma_end, seed=cfg.seed)
    start = time.perf_counter()

    def measure(net: GMN, step: int) -> dict[str, float]:
        out = context_measures(net, test, mods, ids, MEASURES, common)
        print(f"GMN step {step:6d}: " + "; ".join(f"{k} {out[k]:+.2f} ± {out[k + ' se']:.2f}" for k in MEASURES)
              + f"  ({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
        return out

    train_gmn(model, train, mods, cfg.train_spec(seed, steps=args.gmn_steps), progress=False, evaluate=measure,
              eval_every=args.every)  # fmt: skip


if __name__ == "__main__":
    main()
