"""Our SOM against MiniSom, like for like: same initial weights, sample order, schedules and updates.

Two data sets, one modality each, a 20 x 20 map, Manhattan (L1) activity as in the paper's eq. 2,
Gaussian neighbourhood, exponential learning-rate and width schedules (the chapter's):

* **pixels**: infant-camera images (64 x 64 grey plus the 5 joint angles: 4101 values, the plain SOM's
  input), from the chapter's dataset when cached, else generated (and cached);
* **codes**: synthetic 13-D data shaped like SOM-AE's input (5 joint angles in [0, 1] and an 8-D code,
  a smooth random function of them scaled to [0, 1]); the real codes need the chapter's 8-minute
  autoencoder.

MiniSom (NumPy, float64) is given our initial neurons, our sample order and our schedules (its decay
functions replaced by ours), so at batch 1 both run the same online SOM and must end with the same map.
For each data set the table lists quantisation error (mean absolute error to the winner), topographic
error (share of samples whose two best neurons are not grid neighbours), wall seconds and samples/s:
MiniSom and ours at batch 1 (same updates), then ours at larger batches given as many epochs as they
need to reach MiniSom's quantisation error (``time to quality``). One torch/BLAS thread by default.

The steady rates leave out the one-off cost of ``torch.compile``, which a short job pays: the last table
times, in fresh processes, the first compiled call (with an empty and with a warm compile cache) beside
a steady call, and a one-epoch 4101-D job end to end (process start to trained map) beside MiniSom's.

    python benchmarks/bench_som.py [--pixel-samples 1000] [--code-samples 12000] [--side 20]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

LR_START, LR_END, SIGMA_END = 0.5, 0.01, 0.5


def pixel_data(n: int) -> np.ndarray:
    """``n`` infant images (4096 grey values) and their joint angles (5), float32 (n, 4101) in [0, 1]."""
    from sensorimotor.som_ae.infant_data import InfantDatasetConfig, dataset, is_cached, normalise_joints

    chapter = InfantDatasetConfig()
    config = chapter if is_cached(chapter) and n <= chapter.n_samples else InfantDatasetConfig(n_samples=n, chunk_size=100)
    data = dataset(config, progress=False)
    images = data["images"][:n].reshape(n, -1).astype(np.float32) / 255.0
    joints = np.asarray(normalise_joints(data["joints"][:n]), np.float32)
    return np.concatenate([images, joints], 1)


def code_data(n: int, seed: int = 0) -> np.ndarray:
    """Synthetic SOM-AE input: 5 uniform joint angles and an 8-D smooth code of them, (n, 13) in [0, 1]."""
    rng = np.random.default_rng(seed)
    joints = rng.random((n, 5))
    hidden = np.tanh(joints @ rng.normal(0, 2, (5, 32)) + rng.normal(0, 1, 32))
    codes = hidden @ rng.normal(0, 1, (32, 8))
    codes = (codes - codes.min(0)) / (codes.max(0) - codes.min(0))
    return np.concatenate([codes, joints], 1).astype(np.float32)


def map_quality(weights: np.ndarray, data: np.ndarray, cols: int, chunk: int = 256) -> tuple[float, float]:
    """(quantisation error, topographic error) of a map ``weights`` (N, n) with L1 winners."""
    weights = torch.as_tensor(weights, dtype=torch.float64)
    qe, te = 0.0, 0
    for start in range(0, len(data), chunk):
        x = torch.as_tensor(data[start : start + chunk], dtype=torch.float64)
        distances = torch.cdist(x, weights, p=1.0)
        best = distances.topk(2, dim=1, largest=False)
        qe += float(best.values[:, 0].sum()) / data.shape[1]
        first, second = best.indices[:, 0], best.indices[:, 1]
        apart = torch.maximum((first // cols - second // cols).abs(), (first % cols - second % cols).abs())
        te += int((apart > 1).sum())
    return qe / len(data), te / len(data)


def orders(n: int, epochs: int, seed: int) -> np.ndarray:
    """The sample order :func:`train_som` uses with ``seed`` (one permutation per epoch), concatenated."""
    from sensorimotor.seeding import torch_generator

    shuffle = torch_generator(seed, "som-shuffle")
    return np.concatenate([torch.randperm(n, generator=shuffle).numpy() for _ in range(epochs)])


def run_minisom(data: np.ndarray, initial: np.ndarray, side: int, epochs: int, seed: int) -> tuple[np.ndarray, float]:
    """MiniSom's online SOM with our initial map, order and schedules; (final weights (N, n), seconds)."""
    from minisom import MiniSom

    sigma_start = side / 2

    def lr_decay(lr: float, t: int, total: int) -> float:
        return lr * (LR_END / LR_START) ** (t / max(total - 1, 1))

    def sigma_decay(sigma: float, t: int, total: int) -> float:
        return sigma * (SIGMA_END / sigma_start) ** (t / max(total - 1, 1))

    som = MiniSom(side, side, data.shape[1], sigma=sigma_start, learning_rate=LR_START, decay_function=lr_decay,
                  activation_distance="manhattan", random_seed=seed)
    som._sigma_decay_function = sigma_decay  # MiniSom accepts only named sigma decays
    som._weights = initial.reshape(side, side, -1).astype(np.float64).copy()
    ordered = data.astype(np.float64)[orders(len(data), epochs, seed)]
    start = time.perf_counter()
    som.train(ordered, len(ordered), random_order=False)
    return som._weights.reshape(side * side, -1), time.perf_counter() - start


def run_ours(data: np.ndarray, side: int, epochs: int, batch: int, seed: int, compile: bool = False):
    """Our map trained by ``train_som``; (initial weights, final weights, seconds, backend)."""
    from sensorimotor.seeding import torch_generator
    from sensorimotor.som_ae.som import MultimodalSOM, SOMSchedule, train_som

    som = MultimodalSOM(side, side, {"x": data.shape[1]}, compile=compile)
    tensors = {"x": torch.from_numpy(data)}
    som.initialise(tensors, torch_generator(seed, "som-init"))
    initial = som.weights["x"].numpy().copy()
    schedule = SOMSchedule(epochs=epochs, batch_size=batch, lr_start=LR_START, lr_end=LR_END,
                           sigma_start=side / 2, sigma_end=SIGMA_END)
    history = train_som(som, tensors, schedule, seed=seed, initialise=False, progress=False)
    return initial, som.weights["x"].numpy().copy(), history["seconds"], history["backend"]


def compare(label: str, data: np.ndarray, side: int, epochs: int, batches: list[int], compile: bool, seed: int) -> None:
    n = len(data)
    print(f"\n{label}: {n} samples x {data.shape[1]} values, {side}x{side} map, {epochs} epoch(s) at batch 1")
    rows = []
    initial, ours1, t_ours1, backend = run_ours(data, side, epochs, 1, seed, compile)
    reference, t_mini = run_minisom(data, initial, side, epochs, seed)
    qe_mini, te_mini = map_quality(reference, data, side)
    rows.append(("MiniSom, batch 1 (float64)", epochs, epochs * n, qe_mini, te_mini, t_mini))
    qe, te = map_quality(ours1, data, side)
    rows.append((f"ours, batch 1 ({backend})", epochs, epochs * n, qe, te, t_ours1))
    x = torch.from_numpy(data).double()
    differ = int((torch.cdist(x, torch.from_numpy(ours1).double(), p=1.0).argmin(1)
                  != torch.cdist(x, torch.from_numpy(reference), p=1.0).argmin(1)).sum())
    gap = float(np.abs(ours1 - reference).max())
    for batch in batches:  # the fewest epochs (doubling) that reach MiniSom's quantisation error
        e = epochs
        while True:
            _, weights, seconds, backend = run_ours(data, side, e, batch, seed, compile)
            qe, te = map_quality(weights, data, side)
            if qe <= qe_mini * 1.001 or e >= 16 * epochs:
                break
            e *= 2
        reached = "" if qe <= qe_mini * 1.001 else " (QE not reached)"
        rows.append((f"ours, batch {batch} ({backend}){reached}", e, e * math.ceil(n / batch), qe, te, seconds))
    print(f"  {'setting':40s} {'epochs':>6s} {'updates':>8s} {'quant. err':>10s} {'topo. err':>9s} "
          f"{'seconds':>8s} {'samples/s':>10s} {'vs MiniSom':>10s}")
    for name, e, updates, qe, te, seconds in rows:
        print(f"  {name:40s} {e:6d} {updates:8d} {qe:10.5f} {te:9.3f} {seconds:8.2f} {e * n / seconds:10.0f} "
              f"{t_mini / seconds:9.2f}x")
    print(f"  batch 1: largest weight difference ours - MiniSom {gap:.2g}; winners differ for {differ} of {n} samples")


_CHILD = """
import json, sys, time
start = time.perf_counter()
import torch
from sensorimotor.som_ae.som import MultimodalSOM, SOMSchedule, train_som
torch.set_num_threads(1)
n, dim, side, batch = json.loads(sys.argv[1])
data = {"x": torch.rand((n, dim), generator=torch.Generator().manual_seed(0))}
som = MultimodalSOM(side, side, {"x": dim}, compile=True)
som.initialise(data, torch.Generator().manual_seed(0))
t = time.perf_counter(); som._activity({"x": data["x"][:batch]}); first = time.perf_counter() - t
t = time.perf_counter(); som._activity({"x": data["x"][batch : 2 * batch]}); steady = time.perf_counter() - t
schedule = SOMSchedule(epochs=1, batch_size=batch, lr_start=0.5, lr_end=0.01, sigma_start=side / 2, sigma_end=0.5)
history = train_som(som, data, schedule, initialise=False, progress=False, backend="torch")
print(json.dumps({"first": first, "steady": steady, "loop": history["seconds"], "total": time.perf_counter() - start}))
"""


def compile_costs(n: int, dim: int, side: int, batch: int, seed: int) -> None:
    """One-off torch.compile cost in fresh processes (empty, then warm compile cache) and a one-epoch job end
    to end, beside MiniSom's one epoch on data of the same shape."""
    rows = {}
    with tempfile.TemporaryDirectory(prefix="inductor-cache-") as cache:
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
        for label in ("empty compile cache", "warm compile cache"):
            t = time.perf_counter()
            out = subprocess.run([sys.executable, "-c", _CHILD, json.dumps([n, dim, side, batch])], env=env,
                                 capture_output=True, text=True, check=True)  # fmt: skip
            rows[label] = {**json.loads(out.stdout.strip().splitlines()[-1]), "process": time.perf_counter() - t}
    data = np.random.default_rng(seed).random((n, dim)).astype(np.float32)
    initial = data[np.random.default_rng(seed).choice(n, side * side)]
    _, t_mini = run_minisom(data, initial, side, 1, seed)
    print(f"\ntorch.compile cost: {n} samples x {dim} values, {side}x{side} map, batch {batch}, one epoch, fresh processes")
    print(f"  {'':22s} {'1st call s':>10s} {'steady ms':>10s} {'loop s':>8s} {'job s':>8s} {'MiniSom s':>9s} "
          f"{'loop ratio':>10s} {'job ratio':>9s}")
    for label, r in rows.items():
        print(f"  {label:22s} {r['first']:10.2f} {r['steady'] * 1e3:10.2f} {r['loop']:8.2f} {r['process']:8.2f} "
              f"{t_mini:9.2f} {t_mini / r['loop']:9.2f}x {t_mini / r['process']:8.2f}x")
    print("  loop: the timed training loop (steady rate); job: process start to trained map, imports and compile "
          "included; ratios are MiniSom's seconds over ours (> 1: ours faster)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pixel-samples", type=int, default=1000, help="pixel samples (one epoch each)")
    parser.add_argument("--code-samples", type=int, default=12000, help="13-D samples (the chapter's training split)")
    parser.add_argument("--side", type=int, default=20, help="map side (side x side neurons)")
    parser.add_argument("--epochs", type=int, default=1, help="epochs of the batch-1 runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch and BLAS threads (default 1, as the chapter; 0: libraries' own)"
    )
    args = parser.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(limits=args.threads)  # NumPy's BLAS too, so MiniSom gets the same cores
    print(f"torch threads {torch.get_num_threads()}")
    compare("codes (synthetic, 13-D)", code_data(args.code_samples, args.seed), args.side, args.epochs, [10, 16],
            compile=False, seed=args.seed)
    compare("pixels (infant images + joints, 4101-D)", pixel_data(args.pixel_samples), args.side, args.epochs, [16],
            compile=True, seed=args.seed)
    compile_costs(args.pixel_samples, 4101, args.side, 16, args.seed)


if __name__ == "__main__":
    main()
