"""GMN longer-training pilot (issue 14): does training longer make the M = 2 models read their grasps?

Trains one M = 2 model of the chapter's profile (its scenes, widths and training knobs; training seed 0 or --seed) for
``--factor`` times the profile's ``train_steps`` (3400 at ``default`` until the eleventh pass, when every number in
the README was measured; 6800 since: halve the factors below to repeat them) and, every ``--every`` steps, prints what the chapter's
context checks measure, on the first 64 test scenes (nats; per target pair, 5 targets, 4 importance
samples): the image gain from 2 image contexts over none, the haptic gap of a scene's own 2 grasps over
another scene's (check (1'); the Bayes observer's gap is ~174), and the cross-modal gaps with 7 pairs of
the other modality (grasps -> image, images -> haptics). Run two schemes side by side, one per core.
Nothing is cached or written; numbers only. The sigma schedule stretches with the steps (annealed over
half of them, as in the chapter), so the profile's own models are not points on this curve.

Can the objective teach the haptic path when images cannot stand in for the grasps? ``--haptic-only``
trains a GMN with the haptic modality alone (on the M = 2 models' latent grid; only the haptic measures
are printed); ``--haptic-scenes p`` trains the M = 2 model with a fraction p of its training scenes
showing their grasps only, in context and targets alike (a departure from the paper, whose Fig. 3 models
see both modalities in every scene), so that those scenes' latents must come from grasps.

Can a per-modality ELBO open the grasp path (issue 30)? ``--modality-elbo w`` adds to each training step's
joint ELBO, for each modality m, w times the ELBO of the batch's scenes that have targets of m with the
context and the targets restricted to m (the authors' ``--add-mod`` of ``main_multimodal.py``, off in their
scripts; w = 1 there): the latent that explains a scene's grasps must then come from its grasps alone. The
APoE product keeps every modality's expert (``product="all"``, as in the authors' code); the others see
their learned empty representation. The evaluations do not change (they score the joint model).

    OMP_NUM_THREADS=1 python benchmarks/pilot_gmn_longer_training.py apoe --factor 3 --every 1700
    OMP_NUM_THREADS=1 python benchmarks/pilot_gmn_longer_training.py apoe --haptic-only --factor 10 --every 4250
    OMP_NUM_THREADS=1 python benchmarks/pilot_gmn_longer_training.py apoe --haptic-scenes 0.5 --factor 4 --every 3400
    OMP_NUM_THREADS=1 python benchmarks/pilot_gmn_longer_training.py apoe --modality-elbo 1 --factor 1 --every 850

Measured (one thread each, 2026-11-30): see replications/gmn/README.md, "Sixth pass" and "Seventh pass".
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from pilot_gmn_grasp_reader import scenes

from sensorimotor.gmn import evaluation as gmn_eval
from sensorimotor.gmn.model import GMN, GMNArch, Observations
from sensorimotor.gmn.scenes import modality_split
from sensorimotor.gmn.training import train_gmn
from sensorimotor.pipeline import load_chapter_module
from sensorimotor.seeding import rng as make_rng

MEASURES = {  # name: (target, context pairs, source modality or None for the target's own)
    "image gain (2 images)": ("image", 2, None),
    "haptic gap (2 grasps)": ("haptic", 2, "haptic"),
    "haptic gap (7 grasps)": ("haptic", 7, "haptic"),
    "grasps -> image gap (7)": ("image", 7, "haptic"),
    "images -> haptics gap (7)": ("haptic", 7, "image"),
}


class ModalityELBOGMN(GMN):
    """A GMN whose training ELBO adds ``modality_weight`` x one ELBO per modality from that modality alone."""

    modality_weight: float = 0.0

    def elbo(
        self, context: Observations | None, target: Observations, n_scenes: int, sigma: float = 0.1,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:  # fmt: skip
        out = super().elbo(context, target, n_scenes, sigma=sigma, generator=generator)
        if not (self.training and self.modality_weight):
            return out
        context = dict(context or {})
        extra = out["loss"].new_zeros(())
        for name in self.names:
            if name not in target or not len(target[name][0]):
                continue
            keep = torch.unique(target[name][2])  # the scenes with targets of this modality (the authors' choice)
            ctx = {name: restrict(context[name], keep, n_scenes)} if name in context else {}
            tgt = {name: restrict(target[name], keep, n_scenes)}
            mod = super().elbo(ctx, tgt, len(keep), sigma=sigma, generator=generator)
            extra = extra + mod["loss"]
            out[f"modality_loss/{name}"] = mod["loss"].detach()
        out["loss"] = out["loss"] + self.modality_weight * extra
        return out


def context_measures(model: GMN, test, mods, ids: np.ndarray, measures: dict, common: dict) -> dict[str, float]:
    """Each of ``measures`` (name: (target, context pairs, source or None), as :data:`MEASURES`) on the test
    scenes ``ids``: its mean under the name, its standard error under ``name + " se"``."""
    out = {}
    for name, (target, n, source) in measures.items():
        if source is None:
            g = gmn_eval.same_modality_gain(model, test, mods, ids, target, n, **common)
        else:
            g = gmn_eval.other_scene_gap(model, test, mods, ids, target, n, source=source, **common)
        out[name], out[name + " se"] = g["mean"], g["se"]
    return out


def restrict(pairs: tuple, keep: torch.Tensor, n_scenes: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The (sense, query, scene) pairs of the scenes ``keep`` (sorted), their scenes renumbered 0..len(keep)-1."""
    sense, query, scene = pairs
    index = torch.full((n_scenes,), -1, dtype=torch.long, device=scene.device)
    index[keep] = torch.arange(len(keep), device=scene.device)
    new = index[scene.long()]
    sel = new >= 0
    return sense[sel], query[sel], new[sel]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("scheme", choices=("baseline", "poe", "apoe"))
    p.add_argument("--profile", default="default", help="the chapter profile whose scenes, widths and knobs are used")
    p.add_argument("--factor", type=float, default=3.0, help="training steps as a multiple of the profile's train_steps")
    p.add_argument("--every", type=int, default=1700)
    p.add_argument("--scenes", type=int, default=64, help="test scenes measured")
    p.add_argument("--seed", type=int, default=None, help="training seed (default: the profile's; the scenes stay the profile's)")
    p.add_argument("--haptic-only", action="store_true", help="train a GMN with the haptic modality alone")
    p.add_argument("--haptic-scenes", type=float, default=0.0,
                   help="fraction of training scenes that show their grasps only (context and targets)")
    p.add_argument("--modality-elbo", type=float, default=0.0,
                   help="weight of the per-modality ELBO terms (each modality's context and targets alone; 0: off)")
    args = p.parse_args()
    if not (np.isfinite(args.factor) and args.factor > 0) or args.every < 1 or args.scenes < 2:
        raise SystemExit(f"need --factor > 0, --every >= 1, --scenes >= 2; got {args.factor}, {args.every}, {args.scenes}")
    if not (np.isfinite(args.haptic_scenes) and 0.0 <= args.haptic_scenes < 1.0):
        raise SystemExit(f"--haptic-scenes must be a fraction in [0, 1), got {args.haptic_scenes}")
    if args.haptic_only and args.haptic_scenes:
        raise SystemExit("--haptic-only and --haptic-scenes exclude each other (a haptic-only model has no images to hide)")
    if not (np.isfinite(args.modality_elbo) and args.modality_elbo >= 0):
        raise SystemExit(f"--modality-elbo must be a weight >= 0, got {args.modality_elbo}")
    if args.haptic_only and args.modality_elbo:
        raise SystemExit("--modality-elbo needs two modalities (with --haptic-only it would repeat the joint ELBO)")
    if args.seed is not None and args.seed < 0:
        raise SystemExit(f"--seed must be >= 0, got {args.seed}")
    torch.set_num_threads(1)
    chapter = load_chapter_module(Path(__file__).resolve().parents[1] / "replications" / "gmn" / "config.py")
    cfg = chapter.gmn_config(args.profile)
    if args.scenes > cfg.n_test_scenes:
        raise SystemExit(f"--scenes must be at most the profile's n_test_scenes = {cfg.n_test_scenes}, got {args.scenes}")
    train = scenes(cfg, cfg.n_train_scenes, "train", cfg.n_parts)
    test = scenes(cfg, cfg.n_test_scenes, "test", cfg.n_parts)
    mods = modality_split(2, cfg.image_size)
    measures = dict(MEASURES)
    if args.haptic_only:
        mods = [m for m in mods if m.kind == "haptic"]
        measures = {k: v for k, v in MEASURES.items() if v[0] == v[2] == "haptic"}  # grasps -> grasps only
    haptic_scenes = None
    if args.haptic_scenes:
        haptic_scenes = np.ones((len(train["images"]), len(mods)), dtype=bool)
        hidden = make_rng(cfg.seed, "pilot-haptic-scenes").random(len(haptic_scenes)) < args.haptic_scenes
        haptic_scenes[hidden] = [m.kind == "haptic" for m in mods]
    seed = cfg.seed if args.seed is None else args.seed
    steps = round(args.factor * cfg.train_steps)
    spec = cfg.train_spec(seed, steps=steps)
    ids = np.arange(args.scenes)
    common = dict(n_targets=cfg.density_targets, n_samples=cfg.eval_samples, sigma=cfg.sigma_end, seed=cfg.seed)
    start = time.perf_counter()

    def measure(model: GMN, step: int) -> dict[str, float]:
        out = context_measures(model, test, mods, ids, measures, common)
        examples = step * cfg.batch_size * (2 if cfg.opposite else 1)
        print(f"step {step:6d} ({examples:6d} scene examples): "
              + "; ".join(f"{k} {out[k]:+.2f} ± {out[k + ' se']:.2f}" for k in measures)
              + f"  ({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip
        return out

    torch.manual_seed(seed)
    grid = (cfg.image_size // 4, cfg.image_size // 4)  # the M = 2 models' latent grid, also without images
    model = ModalityELBOGMN(mods, GMNArch(**{**cfg.arch_dict(), "default_grid": grid}), args.scheme)
    model.modality_weight = args.modality_elbo
    variant = "haptic only" if args.haptic_only else f"{args.haptic_scenes:g} of scenes grasps only" if args.haptic_scenes else "M = 2"
    if args.modality_elbo:
        variant += f", per-modality ELBO x {args.modality_elbo:g}"
    print(f"{args.profile} {args.scheme} ({variant}), seed {seed}: {steps} steps ({args.factor:g} x {cfg.train_steps})", flush=True)
    train_gmn(model, train, mods, spec, scene_modalities=haptic_scenes, progress=False, evaluate=measure,
              eval_every=args.every)  # fmt: skip


if __name__ == "__main__":
    main()
