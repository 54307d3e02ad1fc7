"""Tabletop simulator speed: rendering, one interaction, and the default DMBN dataset.

    python benchmarks/bench_sim.py [--skip-dataset] [--frames 100]

Prints frames per second of the ``"ego"`` camera at 64x64 and 128x128, with our robot alone and with a
second robot on the opposite side; seconds per interaction (physics only, and with 50 rendered frames);
and the wall time of the default dataset (100 interactions, 64x64, T = 50, all cores) generated
without the cache. Both wall-clock and CPU time are printed, with the load average: on a shared
machine the wall clock mostly measures the other jobs, the CPU time measures us.
"""

from __future__ import annotations

import argparse
import os
import time

from sensorimotor.devices import hardware_summary
from sensorimotor.sim.tabletop import TabletopEnv
from sensorimotor.sim.tabletop_dataset import TabletopDatasetConfig, dataset


def _timed(fn, repeat: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) per call."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - wall) / repeat, (time.process_time() - cpu) / repeat


def bench_render(frames: int) -> None:
    print("\nrendering (TinyRenderer, no shadows, low-poly Panda), camera 'ego'")
    print(f"{'scene':<22}{'size':>6}{'fps wall':>10}{'fps CPU':>10}")
    for other, label in ((None, "our robot"), ("opposite", "two robots")):
        for size in (64, 128):
            with TabletopEnv(image_size=size) as env:
                env.reset(other=other)
                env.render()
                wall, cpu = _timed(env.render, frames)
            print(f"{label:<22}{size:>6}{1 / wall:>10.0f}{1 / cpu:>10.0f}")


def bench_interaction(repeat: int = 6) -> None:
    print("\none interaction (3 s simulated at 240 Hz, IK at 60 Hz), seconds")
    print(f"{'recording':<28}{'wall':>8}{'CPU':>8}")
    for render, size in ((False, 64), (True, 64), (True, 128)):
        with TabletopEnv(image_size=size) as env:
            state = {"i": 0}

            def once(env=env, render=render, state=state) -> None:
                env.reset()
                env.perform(("push", "grasp")[state["i"] % 2], 0.7 * state["i"], render=render, n_frames=50)
                state["i"] += 1

            wall, cpu = _timed(once, repeat)
        label = f"{size}x{size}, 50 frames" if render else "physics only"
        print(f"{label:<28}{wall:>8.3f}{cpu:>8.3f}")


def bench_dataset() -> None:
    config = TabletopDatasetConfig()
    print(
        f"\ndefault dataset: {config.n_push} push + {config.n_grasp} grasp, {config.image_size}x{config.image_size}, "
        f"T = {config.n_steps}, uncached"
    )
    start, cpu = time.perf_counter(), time.process_time()
    children = os.times()
    data = dataset(config, progress=False, cache=False)
    wall = time.perf_counter() - start
    after = os.times()
    child_cpu = (after.children_user - children.children_user) + (
        after.children_system - children.children_system
    )
    total_cpu = child_cpu + time.process_time() - cpu
    print(
        f"wall {wall:.1f} s, CPU {total_cpu:.1f} s (all processes), success {data['success'].mean():.0%}, "
        f"{data['images'].nbytes / 2**20:.0f} MiB of images"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-dataset", action="store_true")
    parser.add_argument("--frames", type=int, default=100)
    args = parser.parse_args()
    hw = hardware_summary()
    print(f"{hw['cpu']} ({hw['cpu_count']} cores); load average at start {os.getloadavg()[0]:.1f}")
    bench_render(args.frames)
    bench_interaction()
    if not args.skip_dataset:
        bench_dataset()
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
