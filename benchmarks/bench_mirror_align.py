"""Throughput of the mirror-alignment chapter's pieces: task-suite episodes, U/E training steps, closed loop.

Prints figures only (no asserts). Run: ``python benchmarks/bench_mirror_align.py``.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from sensorimotor.mirror_align.alignment import AlignmentHeads
from sensorimotor.mirror_align.experiments import build_models
from sensorimotor.mirror_align.tasks import TASKS, TaskEnv, all_instructions, instructions, run_episode
from sensorimotor.mirror_align.training import MirrorData, TrainSpec, policy_controller, train_mirror
from sensorimotor.profiles import load_chapter_module


def main() -> None:
    from pathlib import Path

    cfg = load_chapter_module(Path(__file__).resolve().parents[1] / "replications/mirror_align/config.py").PROFILES["default"]
    print(f"torch threads: {torch.get_num_threads()}")
    with TaskEnv(cfg.image_size, cfg.video_size) as env:
        start = time.perf_counter()
        runs = [run_episode(env, task, 0, 0, cfg.n_steps, video_frames=cfg.video_frames) for task in TASKS]
        per_episode = (time.perf_counter() - start) / len(TASKS)
        print(f"expert episode ({cfg.n_steps} steps, {cfg.image_size}px + {cfg.video_frames} observer frames): "
              f"{per_episode:.2f} s; {cfg.n_steps / per_episode:.0f} decision steps/s")  # fmt: skip
        texts = tuple(i.text for i in all_instructions())
        u, e = build_models(cfg, texts, 0)
        start = time.perf_counter()
        run_episode(env, "lift", 0, 1, cfg.n_steps, policy_controller(e, instructions("lift")[0].text, cfg.execute))
        print(f"closed-loop episode with the policy: {time.perf_counter() - start:.2f} s")
    n = len(runs)
    arrays = {
        "videos": np.stack([r["video"] for r in runs]), "obs": np.stack([r["obs"] for r in runs]),
        "proprio": np.stack([r["proprio"] for r in runs]), "actions": np.stack([r["actions"] for r in runs]),
        "instruction": np.arange(n) % len(texts), "task": np.arange(n), "instruction_texts": np.array(texts),
    }  # fmt: skip
    data = MirrorData.from_arrays(arrays)
    heads = AlignmentHeads(u.feature_dim, e.feature_dim, cfg.shared_dim)
    for align in (0.0, 0.5):
        spec = TrainSpec(steps=10, batch_size=min(cfg.batch_size, n), lambda_align=align, level="episode",
                         steps_per_episode=cfg.steps_per_episode, shift=cfg.shift)  # fmt: skip
        train_mirror(u, e, heads, data, spec, 0, progress=False, desc="warm-up")
        start = time.perf_counter()
        train_mirror(u, e, heads, data, spec, 1, progress=False)
        step = (time.perf_counter() - start) / spec.steps
        print(f"joint training step (batch {spec.batch_size}, lambda_align={align}): {step * 1000:.0f} ms")


if __name__ == "__main__":
    main()
