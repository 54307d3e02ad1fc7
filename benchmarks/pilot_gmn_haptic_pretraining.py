"""GMN haptic-pretraining pilot (issue 30): does a haptic encoder pretrained without labels open the grasp path?

Stage 1 pretrains the chapter's M = 2 APoE's own haptic representation network (its widths and initial
weights), summed over 1..7 context grasps of a training scene as in the GMN, as a deterministic neural
process: an MLP decoder reads the summed representation and a target grasp's query and predicts that
grasp's sense (mean squared error on the scene's other grasps; no shape labels). It prints, on held-out
scenes, the error with a scene's own 2 or 7 grasps as context against another scene's: an encoder that
reads grasps predicts its own scene's grasps better.

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
from torch import nn

from sensorimotor.gmn.model import GMN, GMNArch, HapticRepresentation, ModalitySpec
from sensorimotor.gmn.scenes import modality_split
from sensorimotor.gmn.shape_probe import _grasps
from sensorimotor.gmn.training import train_gmn
from sensorimotor.pipeline import load_chapter_module
from sensorimotor.seeding import rng as make_rng


class GraspProcess(nn.Module):
    """A deterministic neural process over grasps: summed encoder representation + target query -> target sense."""

    def __init__(self, encoder: HapticRepresentation, query_dim: int, sense_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.encoder = encoder
        width = encoder.r * encoder.grid[0] * encoder.grid[1]
        self.decoder = nn.Sequential(nn.Linear(width + query_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, sense_dim))  # fmt: skip

    def represent(self, sense: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """(n, g, d) senses and (n, g, q) queries of g context grasps per scene -> (n, width) summed representation."""
        n, g = sense.shape[:2]
        return self.encoder(sense.reshape(n * g, -1), query.reshape(n * g, -1)).reshape(n, g, -1).sum(1)

    def forward(self, rep: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """(n, width) representations and (n, t, q) target queries -> (n, t, d) predicted senses."""
        n, t = query.shape[:2]
        x = torch.cat([rep.unsqueeze(1).expand(n, t, -1), query], dim=2)
        return self.decoder(x)


def pretrain(process: GraspProcess, train, test, hand, steps: int, every: int, seed: int, batch: int = 32,
             n_targets: int = 8, max_context: int = 7) -> None:  # fmt: skip
    """Train ``process`` to predict each training scene's other grasps from 1..``max_context`` of them."""
    n_views = train["haptics"].shape[1]
    n_test = len(test["haptics"])
    views = np.tile(np.arange(n_views), (n_test, 1))
    t_sense, t_query = _grasps(test, hand, np.arange(n_test), views)
    other = np.roll(np.arange(n_test), 1)
    optimiser = torch.optim.Adam(process.parameters(), 1e-3)
    gen = make_rng(seed, "pilot-grasp-process")
    start = time.perf_counter()

    def report(step: int) -> None:
        with torch.no_grad():
            parts = []
            for g in (2, 7):
                rep = process.represent(t_sense[:, :g], t_query[:, :g])
                target = t_sense[:, -5:]
                own = ((process(rep, t_query[:, -5:]) - target) ** 2).mean((1, 2))
                wrong = ((process(rep[other], t_query[:, -5:]) - target) ** 2).mean((1, 2))
                diff = (wrong - own).numpy()
                parts.append(f"{g} grasps: own {own.mean():.5f}, other scene's {wrong.mean():.5f}, "
                             f"gap {diff.mean():+.5f} ± {diff.std(ddof=1) / np.sqrt(len(diff)):.5f}")  # fmt: skip
        print(f"pretrain step {step:6d} ({step * batch:7d} scene examples): " + "; ".join(parts)
              + f"  ({time.perf_counter() - start:.0f} s)", flush=True)  # fmt: skip

    report(0)
    for step in range(1, steps + 1):
        ids = gen.integers(0, len(train["haptics"]), batch)
        count = int(gen.integers(1, max_context + 1))
        order = np.stack([gen.permutation(n_views)[: count + n_targets] for _ in ids])
        sense, query = _grasps(train, hand, ids, order)
        rep = process.represent(sense[:, :count], query[:, :count])
        loss = ((process(rep, query[:, count:]) - sense[:, count:]) ** 2).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        if step % every == 0 or step == steps:
            report(step)


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
    torch.manual_seed(seed)
    model = GMN(mods, GMNArch(**cfg.arch_dict()), "apoe")
    encoder = model.representations[hand.name]
    print(f"{args.profile} APoE, seed {seed}: {args.pretrain_steps} pretraining steps, then {args.gmn_steps} GMN steps"
          + (" (encoder frozen)" if args.freeze else ""), flush=True)  # fmt: skip
    if args.pretrain_steps:
        torch.manual_seed(int(make_rng(seed, "pilot-grasp-process-init").integers(0, 2**62)))
        process = GraspProcess(encoder, ModalitySpec.of(hand).query_dim, hand.shape[0])
        pretrain(process, train, test, hand, args.pretrain_steps, args.pretrain_every, seed)
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
