"""SOM training throughput: our torch SOM against MiniSom on the same data and map.

The unimodal case both libraries run: infant-camera images (64 x 64 grey, 4096 values each) on a
20 x 20 map, Manhattan (L1) activity as in the paper's eq. 2, Gaussian neighbourhood, per-sample
updates. MiniSom (NumPy, float64) updates after every sample; ours (float32) runs the same algorithm
at batch size 1 and, as the chapter does, with mini-batches of 16 (eq. 5), each with the activity
from ``torch.cdist`` and from the compiled kernel the chapter uses. Prints samples per second and the
ratios; no assertions on time.

    python benchmarks/bench_som.py [--samples 1000] [--side 20] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def infant_images(n: int) -> np.ndarray:
    """``n`` infant-camera images as float32 (n, 4096) in [0, 1].

    Taken from the chapter's 20 000-sample dataset when it is cached, else generated (and cached).
    """
    from sensorimotor.som_ae.infant_data import InfantDatasetConfig, dataset, is_cached

    chapter = InfantDatasetConfig()
    config = chapter if is_cached(chapter) and n <= chapter.n_samples else InfantDatasetConfig(n_samples=n, chunk_size=100)
    images = dataset(config, progress=False)["images"][:n]
    return images.reshape(n, -1).astype(np.float32) / 255.0


def best_of(repeats: int, fn) -> float:
    """Smallest wall time of ``repeats`` calls (the least disturbed by other load)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1000, help="training samples per timed run")
    parser.add_argument("--side", type=int, default=20, help="map side (side x side neurons)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch and BLAS threads (default 1, as the chapter; 0: libraries' own)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.threads:
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(limits=args.threads)  # NumPy's BLAS too, so MiniSom gets the same cores

    from minisom import MiniSom

    from sensorimotor.som_ae.som import MultimodalSOM, SOMSchedule, train_som

    data = infant_images(args.samples)
    n, dim = data.shape
    side = args.side
    print(f"data: {n} infant images x {dim} values; map {side}x{side}; torch threads {torch.get_num_threads()}")

    def run_minisom() -> None:
        som = MiniSom(side, side, dim, sigma=side / 2, learning_rate=0.5, activation_distance="manhattan", random_seed=0)
        som.random_weights_init(data)
        som.train(data, n, random_order=True)

    def run_ours(batch_size: int, compile: bool = False) -> None:
        som = MultimodalSOM(side, side, {"image": dim}, compile=compile)
        schedule = SOMSchedule(epochs=1, batch_size=batch_size, lr_start=0.5, lr_end=0.01, sigma_start=side / 2)
        train_som(som, {"image": torch.from_numpy(data)}, schedule, seed=0, progress=False)

    run_ours(16, compile=True)  # compile the fused kernel once, outside the timings
    results = {
        "MiniSom (batch 1, float64)": best_of(args.repeats, run_minisom),
        "ours cdist (batch 1)": best_of(args.repeats, lambda: run_ours(1)),
        "ours cdist (batch 16)": best_of(args.repeats, lambda: run_ours(16)),
        "ours compiled (batch 1)": best_of(args.repeats, lambda: run_ours(1, compile=True)),
        "ours compiled (batch 16)": best_of(args.repeats, lambda: run_ours(16, compile=True)),
    }
    reference = results["MiniSom (batch 1, float64)"]
    for name, seconds in results.items():
        print(f"{name:27s} {n / seconds:9.0f} samples/s   {seconds:7.2f} s   speed-up vs MiniSom {reference / seconds:6.1f}x")


if __name__ == "__main__":
    main()
