"""Speed and size of the GMN chapter's pieces: scene generation, model sizes, renderers, training iterations.

Run: ``python benchmarks/bench_gmn.py [--threads 1] [--repeats 3]``. Prints figures; asserts nothing.
Training iterations use the chapter's ``default`` architecture on random scenes made by the simulator.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from sensorimotor.gmn.convdraw import CanvasRenderer
from sensorimotor.gmn.hand_sim import grasp, grasp_shapes, sample_hand_poses
from sensorimotor.gmn.haptic_oracle import shape_distribution
from sensorimotor.gmn.model import GMN, GMNArch, count_parameters
from sensorimotor.gmn.scene_sim import SceneObject, random_object, render_views, sample_viewpoints
from sensorimotor.gmn.scenes import SceneDatasetConfig, make_scene, modality_split, training_batch

DEFAULT = GMNArch(core_kernel=3, renderer_kernel=3)  # the chapter's `default` profile
PAPER = GMNArch(r_channels=256, lstm_channels=64, z_channels=3, draw_steps=12, decoder_channels=32, tower_channels=256,
                haptic_hidden=512, core_kernel=5, renderer_kernel=5)  # fmt: skip


def cpu_seconds(fn, repeats: int) -> float:
    start = time.process_time()
    for _ in range(repeats):
        fn()
    return (time.process_time() - start) / repeats


def bench_simulator(repeats: int) -> None:
    gen = np.random.default_rng(0)
    obj = random_object(gen, 5)
    views, hands = sample_viewpoints(gen, 15), sample_hand_poses(gen, 15)
    print("simulator (CPU seconds per scene of 15 views + 15 grasps)")
    for size in (32, 64):
        t = cpu_seconds(lambda s=size: render_views(obj, views, s), repeats)
        print(f"  render 15 views {size}x{size} (2x2 supersampled): {t * 1e3:7.1f} ms")
    t = cpu_seconds(lambda: grasp(obj, hands), repeats)
    print(f"  15 grasps:                                  {t * 1e3:7.1f} ms")
    cfg = SceneDatasetConfig(n_scenes=1)
    t = cpu_seconds(lambda: make_scene(cfg, 0), repeats)
    print(f"  one whole scene at 32x32:                   {t * 1e3:7.1f} ms  ({1 / t:.1f} scenes/s per core)")
    shapes, _ = shape_distribution((5,))  # what the Bayes observers simulate: every shape at the same queries
    queries = np.repeat(sample_hand_poses(gen, 10)[None], len(shapes), axis=0)
    print(f"Bayes observers' grasps: {len(shapes)} shapes x 10 queries (CPU seconds)")
    loop = cpu_seconds(lambda: [grasp(SceneObject(c, np.zeros_like(c)), q) for c, q in zip(shapes, queries, strict=True)], 1)
    batched = cpu_seconds(lambda: grasp_shapes(shapes, queries), 1)
    print(f"  one grasp call per shape (reference):       {loop:7.2f} s")
    print(f"  grasp_shapes, all shapes in one call:       {batched:7.2f} s  ({loop / batched:.1f}x)")


def bench_sizes() -> None:
    print("parameters (millions): baseline / PoE / APoE")
    for m, size in [(2, 32), (5, 32), (8, 32), (14, 32)]:
        mods = modality_split(m, size)
        counts = [count_parameters(GMN(mods, DEFAULT, s)) / 1e6 for s in ("baseline", "poe", "apoe")]
        print(f"  default arch, M = {m:2d}, {size}x{size}: " + " / ".join(f"{c:6.2f}" for c in counts))
    for m, size in [(2, 64), (5, 64), (8, 64), (14, 48)]:
        with torch.device("meta"):
            counts = [count_parameters(GMN(modality_split(m, size), PAPER, s)) / 1e6 for s in ("baseline", "poe", "apoe")]
        print(f"  paper arch,   M = {m:2d}, {size}x{size}: " + " / ".join(f"{c:6.1f}" for c in counts))
    print("  (paper: PoE 53 / APoE 29 at M = 5; PoE 131 / APoE 51 at M = 14)")


def plain_render(r: CanvasRenderer, latents: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
    """The reference renderer: one convolution over [latents, query, hidden] per step, transposed convolutions."""
    x = torch.cat([latents, query[:, :, None, None].expand(-1, -1, *r.grid)], dim=1)
    h = c = x.new_zeros(len(x), r.lstm.hidden, *r.grid)
    canvas = 0.0
    for _ in range(r.steps):
        i, f, o, g = r.lstm.gates(torch.cat([x, h], dim=1)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        canvas = canvas + r.decoder(h)
    return canvas


def bench_renderer(repeats: int) -> None:
    """The image renderer of the `default` M = 2 models, its reference form beside the library's."""
    r = CanvasRenderer("image", (3, 16, 16), DEFAULT.draw_steps * DEFAULT.z_channels, 7, DEFAULT.lstm_channels, (4, 4),
                       DEFAULT.draw_steps, DEFAULT.decoder_channels, DEFAULT.haptic_hidden, DEFAULT.renderer_kernel)  # fmt: skip
    print("image renderer, default arch, 16x16 (median of repeats; the library's form computes the same function)")
    for rows, grad in [(120, True), (2000, False)]:  # a training batch's targets; an evaluation's (Fig. 4 group)
        latents, query = torch.randn(rows, r.lstm.gates.in_channels - 7 - r.lstm.hidden, 4, 4), torch.randn(rows, 7)
        times: dict[str, list[float]] = {"reference": [], "library": []}
        for i in range(repeats + 1):
            for name, fn in (("reference", plain_render), ("library", lambda r, a, b: r(a, b))):
                start = time.perf_counter()
                with torch.set_grad_enabled(grad):
                    out = fn(r, latents, query)
                    if grad:
                        out.square().mean().backward()
                if i:
                    times[name].append(time.perf_counter() - start)
        ref, lib = (statistics.median(times[k]) for k in ("reference", "library"))
        what = "forward + backward" if grad else "forward, no gradients"
        print(f"  {rows:5d} targets, {what:22s}: reference {ref * 1e3:6.1f} ms, library {lib * 1e3:6.1f} ms ({ref / lib:.2f}x)")


def bench_training(repeats: int) -> None:
    n = 24
    scenes = [make_scene(SceneDatasetConfig(n_scenes=n), i) for i in range(n)]
    data = {k: np.stack([s[k] for s in scenes]) for k in scenes[0]}
    print("training iteration (forward + backward + Adam), default arch, median of repeats")
    for m, batch, schemes in [(2, 8, ("baseline", "poe", "apoe")), (5, 4, ("poe", "apoe")), (14, 4, ("poe", "apoe"))]:
        mods = modality_split(m, 32)
        gen = np.random.default_rng(0)
        context, target = training_batch(data, mods, np.arange(batch), gen, 14, 4)
        models = {s: GMN(mods, DEFAULT, s) for s in schemes}
        opts = {s: torch.optim.Adam(models[s].parameters(), 1e-4) for s in schemes}
        times: dict[str, list[float]] = {s: [] for s in schemes}
        for i in range(repeats + 1):
            for s in schemes:  # interleaved, so every scheme sees the same machine load
                start = time.perf_counter()
                loss = models[s].elbo(context, target, batch)["loss"]
                opts[s].zero_grad()
                loss.backward()
                opts[s].step()
                if i:
                    times[s].append(time.perf_counter() - start)
        line = ", ".join(f"{s} {statistics.median(t) * 1e3:6.0f} ms" for s, t in times.items())
        print(f"  M = {m:2d}, batch {batch}: {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 avoids spin-wait stalls on busy machines)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {args.threads} thread(s)")
    bench_simulator(args.repeats)
    bench_sizes()
    bench_renderer(args.repeats)
    bench_training(args.repeats)


if __name__ == "__main__":
    main()
