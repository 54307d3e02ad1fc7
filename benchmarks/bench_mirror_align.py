"""Throughput of the mirror-alignment chapter's pieces: key-frame episodes, U/E training steps, closed loop.

Prints figures only (no asserts). Run: ``python benchmarks/bench_mirror_align.py``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from sensorimotor.mirror_align.alignment import AlignmentHeads
from sensorimotor.mirror_align.experiments import build_models
from sensorimotor.mirror_align.keyframes import run_keyframes
from sensorimotor.mirror_align.tasks import TASKS, TaskEnv, all_instructions, instructions
from sensorimotor.mirror_align.training import MirrorData, TrainSpec, policy_decider, train_mirror
from sensorimotor.profiles import load_chapter_module

KEYS = ("key_obs", "key_pixel", "key_height", "key_grip", "key_valid")


def main() -> None:
    config = Path(__file__).resolve().parents[1] / "replications/mirror_align/config.py"
    cfg = load_chapter_module(config).PROFILES["default"]
    print(f"torch threads: {torch.get_num_threads()}")
    texts = tuple(i.text for i in all_instructions())
    u, e = build_models(cfg, texts, 0)
    with TaskEnv(cfg.image_size, cfg.video_size) as env:
        start = time.perf_counter()
        runs = [run_keyframes(env, task, 0, 0, cfg.n_steps, video_frames=cfg.video_frames) for task in TASKS]
        print(f"expert key-frame episode ({cfg.n_steps} steps): {(time.perf_counter() - start) / len(TASKS):.2f} s")
        start = time.perf_counter()
        run_keyframes(env, "lift", 0, 1, cfg.n_steps, policy_decider(e, instructions("lift")[0].text), cfg.video_frames)
        print(f"closed-loop episode with the policy: {time.perf_counter() - start:.2f} s")
    n = len(runs)
    arrays = {k: np.stack([r[k] for r in runs]) for k in KEYS}
    arrays.update(videos=np.stack([r["video"] for r in runs]), instruction=np.arange(n) % len(texts),
                  task=np.arange(n), instruction_texts=np.array(texts))  # fmt: skip
    data = MirrorData.from_arrays(arrays)
    heads = AlignmentHeads(u.feature_dim, e.feature_dim, cfg.shared_dim)
    for align in (0.0, 0.5):
        spec = TrainSpec(steps=10, batch_size=min(cfg.batch_size, n), lambda_align=align, level="episode",
                         steps_per_episode=cfg.steps_per_episode, shift=cfg.shift, e_shift=cfg.e_shift)  # fmt: skip
        train_mirror(u, e, heads, data, spec, 0)
        start = time.perf_counter()
        train_mirror(u, e, heads, data, spec, 1)
        step = (time.perf_counter() - start) / spec.steps
        print(f"joint training step (batch {spec.batch_size}, lambda_align={align}): {step * 1000:.0f} ms")


if __name__ == "__main__":
    main()
