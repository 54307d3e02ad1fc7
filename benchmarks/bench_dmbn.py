"""Training speed of the DMBN and the MVAE baseline: samples per second at 64x64 and 128x128.

One DMBN sample is one interaction (n ~ U{1..5} observations of both modalities, one target); one MVAE
sample is one state pair (t, t+1). Printed for the paper's image stack (Tables C.2-C.5) cut to each
size, at the paper's width and at the `default` profile's width, plus the `default` profile's own
network. No assertions: numbers only.

    python benchmarks/bench_dmbn.py [--steps 5] [--threads 2]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch

from sensorimotor.dmbn.model import DMBN
from sensorimotor.dmbn.mvae import MVAE
from sensorimotor.dmbn.training import JointScaler, SequenceData, make_spec, train_dmbn, train_mvae
from sensorimotor.profiles import load_chapter_module

D = 8


def synthetic(n: int, t: int, size: int) -> SequenceData:
    g = np.random.default_rng(0)
    images = g.integers(0, 256, size=(n, t, size, size, 3), dtype=np.uint8)
    joints = g.normal(size=(n, t, D)).astype(np.float32)
    return SequenceData.from_arrays(images, joints, np.linspace(0, 1, t, dtype=np.float32), JointScaler.fit(joints))


def rate(kind: str, spec, data: SequenceData, batch: int, steps: int, targets: int = 1) -> float:
    """Samples per second over ``steps`` Adam steps after one warm-up step."""
    if kind == "dmbn":
        model = DMBN(spec)
        train_dmbn(model, data, steps=1, batch_size=batch, lr=1e-4, seed=0, targets_per_sample=targets)
        start = time.perf_counter()
        train_dmbn(model, data, steps=steps, batch_size=batch, lr=1e-4, seed=1, targets_per_sample=targets)
    else:
        model = MVAE(spec)
        train_mvae(model, data, steps=1, batch_size=batch, lr=1e-4, seed=0)
        start = time.perf_counter()
        train_mvae(model, data, steps=steps, batch_size=batch, lr=1e-4, seed=1)
    return steps * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    chapter = load_chapter_module(Path(__file__).resolve().parents[1] / "replications" / "dmbn" / "config.py")
    default = chapter.dmbn_config("default")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.steps} timed steps per row")
    print(f"{'model':>6} {'image':>7} {'width':>6} {'batch':>5} {'params (M)':>10} {'samples/s':>10}")
    rows = [(128, 1.0, 8), (64, 1.0, 16), (128, default.image_width, 8), (64, default.image_width, 16)]
    for size, width, batch in rows:
        spec = make_spec(image_size=size, joint_dim=D, image_width=width, image_head=(16, 8) if width == 1.0 else default.image_head)
        data = synthetic(8, 20, size)
        for kind in ("dmbn", "mvae"):
            model_batch = batch if kind == "dmbn" else 2 * batch
            n_params = sum(p.numel() for p in (DMBN(spec) if kind == "dmbn" else MVAE(spec)).parameters()) / 1e6
            r = rate(kind, spec, data, model_batch, args.steps)
            print(f"{kind:>6} {size:>4}px {width:>6.3g} {model_batch:>5} {n_params:>10.2f} {r:>10.1f}", flush=True)
    spec = make_spec(image_size=default.image_size, joint_dim=D, image_width=default.image_width,
                     image_head=default.image_head, latent_dim=default.latent_dim)
    data = synthetic(8, default.n_steps, default.image_size)
    r_d = rate("dmbn", spec, data, default.batch_size, args.steps, default.targets_per_sample)
    r_m = rate("mvae", spec, data, default.mvae_batch_size, args.steps)
    print(f"default profile ({default.image_size}px, width {default.image_width}): DMBN {r_d:.1f} interactions/s "
          f"(batch {default.batch_size}, {default.targets_per_sample} targets), MVAE {r_m:.1f} pairs/s "
          f"(batch {default.mvae_batch_size})")
    print(f"  -> one default DMBN ({default.train_steps} steps) about {default.train_steps * default.batch_size / r_d:.0f} s, "
          f"one MVAE ({default.mvae_steps} steps) about {default.mvae_steps * default.mvae_batch_size / r_m:.0f} s")


if __name__ == "__main__":
    main()
