"""Demonstrations of the instructed task suite, recorded for both models, and closed-loop rollouts.

Every episode is recorded twice over (:func:`sensorimotor.mirror_align.tasks.run_episode`): as the robot's own
camera images + proprioception + the expert's actions (for the policy E), and as a short third-person
video from the observer's camera (for the action-understanding model U).

:func:`demonstrations` records ``n_per_instruction`` episodes of every instruction of the suite with the
scripted expert, layouts drawn from seeds ``first_seed, first_seed + 1, ...``; the arrays are cached on
disk keyed by the :class:`DemoConfig`. :func:`rollouts` runs a learned controller in closed loop (not
cached: it depends on the model).

Arrays returned (N episodes, T steps, F video frames):
``obs`` uint8 (N, T, H, W, 3); ``proprio`` float32 (N, T, 12); ``actions`` float32 (N, T, 4);
``videos`` uint8 (N, F, h, w, 3); ``instruction`` / ``task`` / ``variant`` / ``layout_seed`` int64 (N,);
``success`` bool (N,); ``instruction_texts`` and ``task_names`` (str arrays indexed by the ids).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from sensorimotor.cache import cached_arrays
from sensorimotor.mirror_align.tasks import (
    TASKS,
    TaskEnv,
    all_instructions,
    check_task,
    instructions,
    run_episode,
)
from sensorimotor.progress import track

DEMO_VERSION = "1"


@dataclasses.dataclass(frozen=True)
class DemoConfig:
    """What to record; every field is part of the cache key."""

    tasks: tuple[str, ...] = TASKS
    n_per_instruction: int = 6  # episodes of every instruction ...
    n_per_task: int = 0  # ... or, when > 0, this many episodes per task cycling through its instructions
    first_seed: int = 0
    n_steps: int = 36
    video_frames: int = 6
    image_size: int = 48
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
    """(task, variant, instruction id, layout seed) of every episode, in recording order."""
    ids: dict[tuple[str, int], int] = {}
    for gid, ins in enumerate(all_instructions(config.tasks)):
        ids[(ins.task, sum(1 for key in ids if key[0] == ins.task))] = gid
    if config.n_per_task > 0:
        out = []
        for task in config.tasks:
            n_variants = len(instructions(task))
            out += [(task, k % n_variants, ids[(task, k % n_variants)], config.first_seed + k)
                    for k in range(config.n_per_task)]  # fmt: skip
        return out
    return [(task, v, gid, config.first_seed + k) for (task, v), gid in ids.items()
            for k in range(config.n_per_instruction)]  # fmt: skip


def _labels(config: DemoConfig, episodes: Sequence[tuple[str, int, int, int]]) -> dict[str, np.ndarray]:
    return {
        "instruction": np.array([e[2] for e in episodes], np.int64),
        "task": np.array([config.tasks.index(e[0]) for e in episodes], np.int64),
        "variant": np.array([e[1] for e in episodes], np.int64),
        "layout_seed": np.array([e[3] for e in episodes], np.int64),
        "instruction_texts": np.array([i.text for i in all_instructions(config.tasks)]),
        "task_names": np.array(config.tasks),
    }


def _record(config: DemoConfig, episodes, controller_for, progress: bool, desc: str) -> dict[str, np.ndarray]:
    runs = []
    with TaskEnv(config.image_size, config.video_size) as env:
        for task, variant, _, seed in track(episodes, desc, progress=progress, mininterval=2.0):
            controller = None if controller_for is None else controller_for(env, task, variant)
            runs.append(run_episode(env, task, variant, seed, config.n_steps, controller, config.video_frames))
    out = {
        "obs": np.stack([r["obs"] for r in runs]),
        "proprio": np.stack([r["proprio"] for r in runs]),
        "actions": np.stack([r["actions"] for r in runs]),
        "videos": np.stack([r["video"] for r in runs]),
        "success": np.array([bool(r["success"]) for r in runs]),
    }
    return {**out, **_labels(config, episodes)}


def demonstrations(config: DemoConfig, progress: bool = True) -> dict[str, np.ndarray]:
    """Expert demonstrations of every instruction of ``config.tasks`` (cached by the config)."""
    return cached_arrays(
        "mirror_demos", config.key(), lambda: _record(config, episode_list(config), None, progress, "demos")
    )


ControllerFactory = Callable[[TaskEnv, str, int], Callable[[dict[str, np.ndarray]], np.ndarray]]


def rollouts(
    config: DemoConfig, controller_for: ControllerFactory, progress: bool = True, desc: str = "closed loop"
) -> dict[str, np.ndarray]:
    """Run a learned controller on every episode of ``config`` (same arrays as :func:`demonstrations`).

    ``controller_for(env, task, variant)`` is called before each episode (before the scene is reset) and
    returns a fresh ``controller(obs) -> action``; the instruction text is
    ``sensorimotor.mirror_align.tasks.instructions(task)[variant].text``. ``actions`` are the controller's.
    """
    return _record(config, episode_list(config), controller_for, progress, desc)
