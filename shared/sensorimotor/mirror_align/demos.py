"""Demonstrations of the instructed task suite, recorded for both models, and closed-loop rollouts.

Every episode runs key-frame by key-frame (:func:`sensorimotor.mirror_align.keyframes.run_keyframes`) and
is recorded twice over: as the robot's own camera image at each key-frame with the key-frame's targets
(for the policy E), and as a short third-person video from the observer's camera (for the
action-understanding model U).

:func:`demonstrations` records ``n_per_instruction`` episodes of every instruction of the suite with the
scripted expert, layouts drawn from seeds ``first_seed, first_seed + 1, ...``; the arrays are cached on
disk keyed by the :class:`DemoConfig`. :func:`rollouts` runs a learned key-frame policy in closed loop on
the same episodes (not cached: it depends on the model); two policies run on one config meet the very
same layouts (paired episodes).

Arrays returned (N episodes, K key-frames, F video frames):
``key_obs`` uint8 (N, K, H, W, 3); ``key_pixel`` float32 (N, K, 2); ``key_height`` int64 (N, K);
``key_grip`` float32 (N, K); ``key_valid`` bool (N, K); ``videos`` uint8 (N, F, h, w, 3);
``instruction`` / ``task`` / ``variant`` / ``layout_seed`` int64 (N,); ``success`` bool (N,);
``instruction_texts`` and ``task_names`` (str arrays indexed by the ids).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from sensorimotor.cache import cached_arrays
from sensorimotor.mirror_align.keyframes import Decider, run_keyframes
from sensorimotor.mirror_align.tasks import TASKS, TaskEnv, all_instructions, check_task

DEMO_VERSION = "2"


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """What to record; every field is part of the cache key."""

    tasks: tuple[str, ...] = TASKS
    n_per_instruction: int = 6  # episodes of every instruction (every variant of every task) ...
    n_per_task: int = 0  # ... or, when > 0, this many episodes per task cycling through its variants
    first_seed: int = 0
    n_steps: int = 36
    video_frames: int = 6
    image_size: int = 64
    video_size: int = 48

    def __post_init__(self) -> None:
        if not self.tasks:
            raise ValueError("DemoConfig.tasks is empty")
        for task in self.tasks:
            check_task(task)
        if self.n_per_instruction < 1 or self.n_per_task < 0 or self.n_steps < 1 or self.video_frames < 2:
            raise ValueError(
                f"need n_per_instruction >= 1, n_per_task >= 0, n_steps >= 1, video_frames >= 2 (got {self})"
            )

    def key(self) -> dict:
        return {**dataclasses.asdict(self), "version": DEMO_VERSION}


def episode_list(config: DemoConfig) -> list[tuple[str, int, int, int]]:
    """(task, variant, instruction id, layout seed) of every episode, in recording order.

    Every variant of every task gets ``n_per_instruction`` episodes, layout seeds ``first_seed + k``; with
    ``n_per_task > 0``, each task gets that many episodes instead, variant ``k % n_variants`` (the chapter
    evaluates per instruction, so that every variant is measured alike).
    """
    ids, variant_of = [], {}
    for gid, ins in enumerate(all_instructions(config.tasks)):
        variant = variant_of.get(ins.task, 0)
        variant_of[ins.task] = variant + 1
        ids.append((ins.task, variant, gid))
    if config.n_per_task > 0:
        out = []
        for task in config.tasks:
            mine = [i for i in ids if i[0] == task]
            out += [(*mine[k % len(mine)], config.first_seed + k) for k in range(config.n_per_task)]
        return out
    return [(*i, config.first_seed + k) for i in ids for k in range(config.n_per_instruction)]


def _labels(config: DemoConfig, episodes: Sequence[tuple[str, int, int, int]]) -> dict[str, np.ndarray]:
    return {
        "instruction": np.array([e[2] for e in episodes], np.int64),
        "task": np.array([config.tasks.index(e[0]) for e in episodes], np.int64),
        "variant": np.array([e[1] for e in episodes], np.int64),
        "layout_seed": np.array([e[3] for e in episodes], np.int64),
        "instruction_texts": np.array([i.text for i in all_instructions(config.tasks)]),
        "task_names": np.array(config.tasks),
    }


DeciderFactory = Callable[[TaskEnv, str, int], Decider]


def _record(config: DemoConfig, episodes, decider_for: DeciderFactory | None) -> dict[str, np.ndarray]:
    runs = []
    with TaskEnv(config.image_size, config.video_size) as env:
        for task, variant, _, seed in episodes:
            decide = None if decider_for is None else decider_for(env, task, variant)
            runs.append(run_keyframes(env, task, variant, seed, config.n_steps, decide, config.video_frames))
    out = {key: np.stack([r[key] for r in runs]) for key in
           ("key_obs", "key_pixel", "key_height", "key_grip", "key_valid", "n_keyframes")}  # fmt: skip
    out["videos"] = np.stack([r["video"] for r in runs])
    out["success"] = np.array([bool(r["success"]) for r in runs])
    return {**out, **_labels(config, episodes)}


def demonstrations(config: DemoConfig) -> dict[str, np.ndarray]:
    """Expert demonstrations of every instruction of ``config.tasks`` (cached by the config)."""
    return cached_arrays("mirror_demos", config.key(), lambda: _record(config, episode_list(config), None))


def prepare_demonstrations(config: dict[str, Any]) -> dict[str, np.ndarray]:
    """Record and cache the demonstrations of ``config`` (a :class:`DemoConfig` as a dict) in this
    process: a data job of the chapter, whose own entry is this receipt (the episode count)."""
    demo = DemoConfig(**{**config, "tasks": tuple(config["tasks"])})
    return {"n_episodes": np.asarray(len(demonstrations(demo)["success"]))}


def rollouts(config: DemoConfig, decider_for: DeciderFactory) -> dict[str, np.ndarray]:
    """Run a learned key-frame policy on every episode of ``config`` (same arrays as :func:`demonstrations`).

    ``decider_for(env, task, variant)`` is called before each episode (before the scene is reset) and
    returns a fresh ``decide(obs, k, previous) -> Keyframe``; the instruction text is
    ``sensorimotor.mirror_align.tasks.instructions(task)[variant].text``. The key-frame arrays hold the
    policy's own key-frames.
    """
    return _record(config, episode_list(config), decider_for)
