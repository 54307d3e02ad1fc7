"""Training speed of the DMBN and the MVAE baseline against the machine's own matmul and conv rates.

One DMBN sample is one interaction (n ~ U{1..5} observations of both modalities, one target); one MVAE
sample is one state pair (t, t+1). For the paper's image stack (Tables C.2-C.5) at its full width, cut
to 64x64 and 128x128, it prints training samples/s, the training FLOP rate this amounts to (forward +
backward FLOPs of the very steps timed, counted by ``torch.utils.flop_counter``), and that rate as a
fraction of the fp32 and bf16 matmul and conv rates measured on the same machine in the same run: the
ratios are the figures to carry to another machine. It also times the same training under CPU bf16
autocast and says whether bf16 keeps the numbers: the same network (same initial weights, same
batches) is trained a few steps in fp32 and under bf16 autocast and the losses and decoded outputs are
compared. The training code is not changed (autocast wraps the call). ``--all`` adds the ``default``
profile's narrower networks. No assertions: numbers only.

    python benchmarks/bench_dmbn.py [--steps 5] [--threads 1] [--bf16-steps 20] [--all]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from sensorimotor.dmbn.model import DMBN
from sensorimotor.dmbn.mvae import MVAE
from sensorimotor.dmbn.training import (
    JointScaler,
    SequenceData,
    gaussian_nll,
    make_spec,
    sample_dmbn_batch,
    train_dmbn,
    train_mvae,
)
from sensorimotor.profiles import load_chapter_module
from sensorimotor.seeding import torch_generator

D = 8
PAPER_ROWS = [(64, 1.0, 16), (128, 1.0, 8)]  # image size, width, DMBN batch (MVAE: twice that)


def synthetic(n: int, t: int, size: int) -> SequenceData:
    """``n`` interactions of ``t`` steps: a bright blob that moves with time (learnable), plus noise."""
    g = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    ts = np.linspace(0, 1, t, dtype=np.float32)
    centre = g.uniform(0.2, 0.8, size=(n, 1, 2)) + 0.3 * (ts[None, :, None] - 0.5) * g.normal(size=(n, 1, 2))
    blob = np.exp(-((xx - centre[..., 0, None, None]) ** 2 + (yy - centre[..., 1, None, None]) ** 2) / 0.02)
    colour = g.uniform(0.3, 1.0, size=(n, 1, 1, 1, 3))
    images = np.clip(255 * (blob[..., None] * colour + 0.05 * g.random((n, t, size, size, 3))), 0, 255).astype(np.uint8)
    joints = np.concatenate([centre, np.sin(ts[None, :, None] * np.arange(1, D - 1) + g.normal(size=(n, 1, D - 2)))],
                            axis=-1).astype(np.float32)
    return SequenceData.from_arrays(images, joints, ts, JointScaler.fit(joints))


def autocast(bf16: bool):
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


def train(kind: str, model, data: SequenceData, steps: int, batch: int, seed: int, targets: int = 1):
    if kind == "dmbn":
        return train_dmbn(model, data, steps=steps, batch_size=batch, lr=1e-4, seed=seed, targets_per_sample=targets)
    return train_mvae(model, data, steps=steps, batch_size=batch, lr=1e-4, seed=seed)


def rate(kind: str, spec, data: SequenceData, batch: int, steps: int, targets: int = 1, bf16: bool = False,
         count: bool = False) -> tuple[float, float]:
    """(samples/s, FLOP/s) over ``steps`` Adam steps after one warm-up step; FLOPs (forward + backward of
    the same steps, same batches) are counted on a copy of the network only when ``count``."""
    torch.manual_seed(0)
    model = DMBN(spec) if kind == "dmbn" else MVAE(spec)
    with autocast(bf16):
        train(kind, model, data, 1, batch, 0, targets)
    twin = copy.deepcopy(model)
    with autocast(bf16):
        start = time.perf_counter()
        train(kind, model, data, steps, batch, 1, targets)
        seconds = time.perf_counter() - start
    flops = 0.0
    if count:
        counter = FlopCounterMode(display=False)
        with counter, autocast(bf16):
            train(kind, twin, data, steps, batch, 1, targets)
        flops = float(counter.get_total_flops())
    return steps * batch / seconds, flops / seconds


def timed(fn, min_seconds: float = 0.4) -> float:
    """Seconds per call of ``fn`` (after a warm-up), repeated for at least ``min_seconds``."""
    fn()
    calls, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds or calls < 3:
        fn()
        calls += 1
    return elapsed / calls


def peak_rates() -> dict[str, float]:
    """FLOP/s of a 1024^3 matmul and of a 3x3 conv (batch 16, 64 -> 64 channels, 32x32) in fp32 and bf16."""
    out = {}
    g = torch.Generator().manual_seed(0)
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        a = torch.randn(1024, 1024, generator=g).to(dtype)
        b = torch.randn(1024, 1024, generator=g).to(dtype)
        out[f"matmul {name}"] = 2 * 1024**3 / timed(lambda a=a, b=b: a @ b)
        x = torch.randn(16, 64, 32, 32, generator=g).to(dtype)
        w = torch.randn(64, 64, 3, 3, generator=g).to(dtype)
        out[f"conv {name}"] = 2 * 16 * 64 * 32 * 32 * 64 * 9 / timed(lambda x=x, w=w: F.conv2d(x, w, padding=1))
    return out


def _held(model: DMBN, batches) -> tuple[float, dict[str, torch.Tensor]]:
    """fp32 loss (summed NLL, mean over held batches) and decoded means of ``model`` on ``batches``."""
    model.eval()
    losses, means = [], {}
    with torch.no_grad():
        for i, batch in enumerate(batches):
            rep = model.represent(batch.obs, batch.weights)
            pred = {m: model.decode(rep[batch.target_index[m]], batch.t_target[m], (m,))[m] for m in batch.targets}
            losses.append(float(gaussian_nll(pred, batch.targets, {"image": 1.0, "joint": 1.0})[0]))
            means.update({(m, i): pred[m][0] for m in pred})
    return float(np.mean(losses)), means


def bf16_keeps_numbers(size: int, steps: int) -> None:
    """Same weights, same batches: ``steps`` DMBN steps in fp32 and under bf16 autocast; both trained
    networks are then judged in fp32 on held batches."""
    spec = make_spec(image_size=size, joint_dim=D)
    data = synthetic(8, 20, size)
    torch.manual_seed(0)
    base = DMBN(spec)
    gen = torch_generator(7, "bench-bf16")
    held = [sample_dmbn_batch(data, 8, 5, 1, spec.modalities, gen, spec.decoded) for _ in range(4)]
    l_init, mu_init = _held(copy.deepcopy(base), held)
    with torch.no_grad(), autocast(True):  # the same weights and batch read in bf16: precision alone
        model = copy.deepcopy(base).eval()
        b = held[0]
        rep = model.represent(b.obs, b.weights)
        pred = {m: model.decode(rep[b.target_index[m]], b.t_target[m], (m,))[m] for m in b.targets}
        l_init16 = float(gaussian_nll(pred, b.targets, {"image": 1.0, "joint": 1.0})[0])
    l_init0 = _held(copy.deepcopy(base), held[:1])[0]
    runs = {}
    for name, bf16 in (("fp32", False), ("bf16", True)):
        model = copy.deepcopy(base)
        with autocast(bf16):
            losses = train_dmbn(model, data, steps=steps, batch_size=8, lr=1e-4, seed=1).losses
        runs[name] = (losses, *_held(model, held))
    (t32, h32, mu32), (t16, h16, mu16) = runs["fp32"], runs["bf16"]
    fall = l_init - h32
    moved = {m: np.mean([float((mu16[k] - mu32[k]).abs().mean() / (mu32[k] - mu_init[k]).abs().mean())
                         for k in mu32 if k[0] == m]) for m in ("image", "joint")}
    print(f"bf16 autocast vs fp32: DMBN {size}px paper width, {steps} steps x batch 8 from the same weights and "
          "batches, judged in fp32 on 4 held batches:")
    print(f"  same weights, one batch: fp32 loss {l_init0:.5g}, bf16 {l_init16:.5g} "
          f"(rel. diff {abs(l_init16 - l_init0) / abs(l_init0):.3%})")
    print(f"  training loss as each run saw it, last step: fp32 {t32[-1]:.5g}, bf16 {t16[-1]:.5g} "
          "(bf16's includes the error of its bf16 forward)")
    print(f"  held fp32 loss: initial {l_init:.5g}, fp32-trained {h32:.5g} (fall {fall:.4g}), bf16-trained {h16:.5g} "
          f"(fall {l_init - h16:.4g}, {(l_init - h16) / fall:.0%} of fp32's)")
    print("  decoded means, mean |bf16-trained - fp32-trained| / mean |fp32-trained - initial|: "
          + ", ".join(f"{m} {v:.0%}" for m, v in moved.items()))
    keeps = abs(h16 - h32) <= 0.1 * abs(fall)
    print(f"  -> bf16 autocast {'keeps' if keeps else 'does NOT keep'} the numbers "
          "(criterion: the bf16-trained network's held fp32 loss within 10 % of the fp32 loss fall)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--bf16-steps", type=int, default=20)
    parser.add_argument("--all", action="store_true", help="also the default profile's narrower networks")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.steps} timed steps per row")
    peaks = peak_rates()
    print("machine rates (GFLOP/s): " + ", ".join(f"{k} {v / 1e9:.1f}" for k, v in peaks.items()))
    print(f"{'model':>6} {'image':>6} {'width':>5} {'batch':>5} {'params':>7} {'samples/s':>9} {'GFLOP/s':>8} "
          f"{'%mm32':>6} {'%mm16':>6} {'%cv32':>6} {'%cv16':>6} {'bf16 samples/s':>15}")
    rows = PAPER_ROWS[:]
    chapter = load_chapter_module(Path(__file__).resolve().parents[1] / "replications" / "dmbn" / "config.py")
    default = chapter.dmbn_config("default")
    if args.all:
        rows += [(64, default.image_width, 16), (128, default.image_width, 8)]
    for size, width, batch in rows:
        spec = make_spec(image_size=size, joint_dim=D, image_width=width,
                         image_head=(16, 8) if width == 1.0 else default.image_head)
        data = synthetic(8, 20, size)
        for kind in ("dmbn", "mvae"):
            b = batch if kind == "dmbn" else 2 * batch
            n_params = sum(p.numel() for p in (DMBN(spec) if kind == "dmbn" else MVAE(spec)).parameters()) / 1e6
            r, f = rate(kind, spec, data, b, args.steps, count=True)
            r16, _ = rate(kind, spec, data, b, args.steps, bf16=True)
            pct = [100 * f / peaks[k] for k in ("matmul fp32", "matmul bf16", "conv fp32", "conv bf16")]
            print(f"{kind:>6} {size:>4}px {width:>5.3g} {b:>5} {n_params:>6.2f}M {r:>9.1f} {f / 1e9:>8.1f} "
                  + " ".join(f"{p:>5.0f}%" for p in pct) + f" {r16:>9.1f} (x{r16 / r:.2f})", flush=True)
    spec = make_spec(image_size=default.image_size, joint_dim=D, image_width=default.image_width,
                     image_head=default.image_head, latent_dim=default.latent_dim)
    data = synthetic(8, default.n_steps, default.image_size)
    r_d, _ = rate("dmbn", spec, data, default.batch_size, args.steps, default.targets_per_sample)
    r_m, _ = rate("mvae", spec, data, default.mvae_batch_size, args.steps)
    print(f"default profile ({default.image_size}px, width {default.image_width}): DMBN {r_d:.1f} interactions/s "
          f"(batch {default.batch_size}, {default.targets_per_sample} targets), MVAE {r_m:.1f} pairs/s "
          f"(batch {default.mvae_batch_size})")
    print(f"  -> one default DMBN ({default.train_steps} steps) about {default.train_steps * default.batch_size / r_d:.0f} s, "
          f"one MVAE ({default.mvae_steps} steps) about {default.mvae_steps * default.mvae_batch_size / r_m:.0f} s")
    bf16_keeps_numbers(64, args.bf16_steps)


if __name__ == "__main__":
    main()
