"""Pilot for sizing the GMN chapter's `default` profile: do the M = 2 models use their context?

Trains the baseline and APoE on the chapter's scenes and, every ``--every`` steps, measures the
same-modality context gain (log-likelihood of test targets with 2 same-modality context pairs minus
with none, nats per target pair, mean ± SE over test scenes) for image and haptic targets, the
cross-modal gains from 7 pairs of the other modality (haptics -> image, also with APoE's eq. 2 product,
and image -> haptics), and the haptic check's gap between a scene's own 2 grasps and another scene's (the
Bayes observer's gap on the chapter's test scenes: about 174 nats), and the same gap with 7 pairs of the other
modality as the only context (grasps -> image, images -> haptics: which way a scene's information flows).
``--single-context p`` trains with a fraction p of scenes whose context shows one modality only. Prints one
line per checkpoint.

    OMP_NUM_THREADS=1 python benchmarks/bench_gmn_pilot.py --steps 3000 --every 500 --batch 8
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from sensorimotor.gmn import evaluation as ev
from sensorimotor.gmn.model import GMN, GMNArch, with_product
from sensorimotor.gmn.scenes import SceneDatasetConfig, modality_split, scene_dataset, training_batch
from sensorimotor.gmn.training import TrainSpec, train_gmn


@torch.no_grad()
def gains(model: GMN, data, mods, ids, samples: int, sigma: float) -> dict[str, str]:
    out = {}
    for name in ("image", "haptic"):
        g = ev.same_modality_gain(model, data, mods, ids, name, 2, 5, samples, sigma, 0)
        out[f"{name}<-{name}"] = f"{g['mean']:+.1f}±{g['se']:.1f}"
    g = ev.other_scene_gap(model, data, mods, ids, "haptic", 2, 5, samples, sigma, 0)  # the chapter's haptic check
    out["haptic own-other gap"] = f"{g['mean']:+.2f}±{g['se']:.2f}"
    for source, target in (("haptic", "image"), ("image", "haptic")):  # what one sense tells about the other
        g = ev.other_scene_gap(model, data, mods, ids, target, 7, 5, samples, sigma, 0, source=source)
        out[f"{target}<-7{source} own-other gap"] = f"{g['mean']:+.2f}±{g['se']:.2f}"
    ll = ev.cross_modal_density(model, data, mods, ids, "haptic", "image", (0, 7), (0,), 5, samples, sigma, 0, per_scene=True)
    g = ev.context_gain(ll[0, 0, 1], ll[0, 0, 0])
    out["image<-7haptic"] = f"{g['mean']:+.1f}±{g['se']:.1f}"
    ll = ev.cross_modal_density(model, data, mods, ids, "image", "haptic", (0, 7), (0,), 5, samples, sigma, 0, per_scene=True)
    g = ev.context_gain(ll[0, 0, 1], ll[0, 0, 0])
    out["haptic<-7image"] = f"{g['mean']:+.1f}±{g['se']:.1f}"
    nll = ev.masked_nll(model, data, mods, ids, np.ones((len(ids), 2), bool), 14, 15, sigma, 0)
    out["test -elbo/dim"] = f"{nll:.3f}"
    ctx, tgt = training_batch(data, mods, ids[:16], np.random.default_rng(0), 2, 5)
    out["test kl (2 ctx)"] = f"{float(model.elbo(ctx, tgt, 16, sigma=sigma)['kl'].mean()):.0f}"
    if model.scheme == "apoe":
        eq2 = with_product(model, "context")
        ll = ev.cross_modal_density(eq2, data, mods, ids, "haptic", "image", (0, 7), (0,), 5, samples, sigma, 0, per_scene=True)
        g = ev.context_gain(ll[0, 0, 1], ll[0, 0, 0])
        out["eq2 image<-7haptic"] = f"{g['mean']:+.1f}±{g['se']:.1f}"
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scenes", type=int, default=3000)
    p.add_argument("--size", type=int, default=16)
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--every", type=int, default=500)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--width", type=int, default=32)
    p.add_argument("--haptic-hidden", type=int, default=128)
    p.add_argument("--draw", type=int, default=4)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--targets", type=int, default=15)
    p.add_argument("--opposite", type=int, default=1)
    p.add_argument("--sigma", type=float, nargs=2, default=(0.2, 0.1))
    p.add_argument("--single-context", type=float, default=0.0, help="fraction of scenes with a one-modality context")
    p.add_argument("--schemes", default="baseline,apoe")
    p.add_argument("--test", type=int, default=32)
    p.add_argument("--samples", type=int, default=4)
    a = p.parse_args()
    torch.set_num_threads(1)
    kw = dict(n_views=15, image_size=a.size, supersample=2, seed=0)
    t0 = time.perf_counter()
    train = scene_dataset(SceneDatasetConfig(a.scenes, split="train", **kw), workers=1, progress=False)
    test = scene_dataset(SceneDatasetConfig(max(a.test, 8), split="test", **kw), workers=1, progress=False)
    print(f"scenes {time.perf_counter() - t0:.0f} s", flush=True)
    mods = modality_split(2, a.size)
    arch = GMNArch(r_channels=a.width, lstm_channels=a.width, draw_steps=a.draw, tower_channels=a.width,
                   haptic_hidden=a.haptic_hidden, core_kernel=3, renderer_kernel=3)
    ids = np.arange(a.test)
    for scheme in a.schemes.split(","):
        torch.manual_seed(0)
        model = GMN(mods, arch, scheme)
        spec = TrainSpec(steps=a.steps, batch_size=a.batch, lr=a.lr, max_targets=a.targets, sigma_start=a.sigma[0],
                         sigma_end=a.sigma[1], sigma_anneal=0.5, opposite=bool(a.opposite),
                         single_context=a.single_context)
        start = time.perf_counter()
        cost = [0.0]

        def evaluate(m: GMN, step: int, scheme=scheme, start=start, cost=cost) -> dict[str, float]:
            e0 = time.perf_counter()
            g = gains(m, test, mods, ids, a.samples, a.sigma[1])
            cost[0] += time.perf_counter() - e0
            train_s = time.perf_counter() - start - cost[0]
            print(f"{scheme} step {step} train {train_s:.0f} s ({train_s / max(step, 1):.3f} s/step) " +
                  " ".join(f"{k} {v}" for k, v in g.items()), flush=True)
            return {}

        train_gmn(model, train, mods, spec, progress=False, evaluate=evaluate, eval_every=a.every)


if __name__ == "__main__":
    main()
