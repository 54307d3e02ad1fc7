"""Datasets of tabletop interactions (paper Section 4): generated in parallel, cached, reproducible.

::

    from sensorimotor.sim.tabletop_dataset import TabletopDatasetConfig, dataset, joint_names

    data = dataset(TabletopDatasetConfig(n_push=50, n_grasp=50, image_size=64, n_steps=50, seed=0))
    data["images"]       # uint8   (N, T, H, W, 3)  our robot's own camera ("ego")
    data["joints"]       # float32 (N, T, D)        arm angles (rad) + gripper opening (m), last column
    data["t"]            # float32 (T,)             normalised time in [0, 1]
    data["action"]       # int64   (N,)             0 push, 1 grasp, 2 pull
    data["angle"]        # float32 (N,)             radians, in the acting robot's frame
    data["ee_pose"]      # float32 (N, T, 7)        grasp point xyz + quaternion xyzw (world)
    data["object_pose"]  # float32 (N, T, 7)        object centre xyz + quaternion xyzw (world)
    data["success"]      # bool    (N,)             the interaction did what it should (see below)
    data["attempts"]     # int64   (N,)             angles tried (a failed one is redrawn)
    data["joint_names"]  # str     (D,)             == joint_names(config.robot)

Interactions come in a seeded random order (pushes and grasps mixed), so any contiguous split is
stratified on average; :func:`split_indices` gives the paper's 80/20 split. Angles are drawn uniformly
from ``angle_range`` with one random stream per (action, index), so the same seed gives the same bytes
whatever the number of workers. An interaction succeeds when a push/pull moves the object
``push_distance`` +- 3 cm within 10 degrees of the intended direction without tipping it, and when a
grasp ends with the object held at least 80 % of ``lift_height`` up; a failed interaction is redrawn
with a new angle (up to ``max_attempts`` times, then kept with ``success=False``).

``side`` other than ``"self"`` records another robot of our kind acting on that side while ours rests
(the paper's Section 5.5 observations; ``joints`` are then the *demonstrator's*), with the ``view``
and ``novelty`` variants of Fig. 9 and Appendices A-B. :func:`other_agent_frames` records one such
demonstration without caching.

The cache lives under ``sensorimotor.cache.cache_root() / "tabletop"``, keyed by the config, the
generator version and pybullet's API version.
"""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from typing import Any

import numpy as np

from sensorimotor.cache import cache_path, load_arrays, save_arrays
from sensorimotor.jobs import map_jobs
from sensorimotor.progress import progress_bar
from sensorimotor.seeding import rng
from sensorimotor.sim.bullet import pybullet as p
from sensorimotor.sim.tabletop import (
    ACTION_IDS,
    ACTIONS,
    CAMERAS,
    NOVELTIES,
    SIDES,
    VIEWS,
    ActionParams,
    TabletopEnv,
    check_image_size,
    check_novelty,
    check_side,
    outcome_from_poses,
    side_pose,
)
from sensorimotor.sim.tabletop_actions import check_action, check_angle
from sensorimotor.sim.tabletop_robots import MESH_DETAILS, joint_names, robot_spec

__all__ = [
    "GENERATOR_VERSION",
    "TabletopDatasetConfig",
    "dataset",
    "generate_interaction",
    "interaction_plan",
    "joint_names",
    "other_agent_frames",
    "split_indices",
]

GENERATOR_VERSION = "tabletop-2"
PUSH_DISTANCE_TOLERANCE = 0.03  # metres
PUSH_DIRECTION_TOLERANCE = math.radians(10)
LIFT_FRACTION = 0.8


def _nonnegative_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r}")


@dataclasses.dataclass(frozen=True)
class TabletopDatasetConfig:
    """What to generate. Defaults: the paper's 50 push + 50 grasp at 64x64 (the paper used 128x128)."""

    n_push: int = 50
    n_grasp: int = 50
    image_size: int = 64
    n_steps: int = 50  # recorded time steps per interaction (same for all)
    seed: int = 0
    robot: str = "panda"
    n_pull: int = 0  # pulls are in the other agents' repertoire (paper 5.5); ours can pull too
    side: str = "self"  # who acts: our robot, or another of its kind on "opposite"/"left"/"right"
    view: str = "full"  # what is visible of the acting robot: "full", "hand_only", "hand_and_base"
    novelty: tuple[str, ...] = ()  # any of NOVELTIES (Appendices A-B)
    camera: str = "ego"
    render: bool = True  # False: no images (physics only, much faster)
    angle_range: tuple[float, float] = (-math.pi, math.pi)
    push_distance: float = ActionParams.push_distance
    lift_height: float = ActionParams.lift_height
    mesh_detail: str = "low"
    max_attempts: int = 10

    def __post_init__(self) -> None:
        for name in ("n_push", "n_grasp", "n_pull", "seed"):
            _nonnegative_int(name, getattr(self, name))
        if self.n_push + self.n_grasp + self.n_pull == 0:
            raise ValueError("the dataset is empty: n_push + n_grasp + n_pull must be > 0")
        check_image_size(self.image_size)
        if (
            isinstance(self.n_steps, bool)
            or not isinstance(self.n_steps, (int, np.integer))
            or self.n_steps < 2
        ):
            raise ValueError(f"n_steps must be an int >= 2, got {self.n_steps!r}")
        robot_spec(self.robot)
        check_side(self.side)
        if self.view not in VIEWS:
            raise ValueError(f"unknown view {self.view!r}; accepted views: {', '.join(VIEWS)}")
        object.__setattr__(self, "novelty", check_novelty(self.novelty))
        if self.camera not in CAMERAS:
            raise ValueError(f"unknown camera {self.camera!r}; cameras: {', '.join(CAMERAS)}")
        if self.mesh_detail not in MESH_DETAILS:
            raise ValueError(f"unknown mesh_detail {self.mesh_detail!r}; accepted: {', '.join(MESH_DETAILS)}")
        lo, hi = (check_angle(a) for a in self.angle_range)
        if not lo < hi:
            raise ValueError(f"angle_range must be (low, high) with low < high, got {self.angle_range!r}")
        object.__setattr__(self, "angle_range", (float(lo), float(hi)))
        ActionParams(push_distance=self.push_distance, lift_height=self.lift_height).validate()
        if (
            isinstance(self.max_attempts, bool)
            or not isinstance(self.max_attempts, int)
            or self.max_attempts < 1
        ):
            raise ValueError(f"max_attempts must be a positive int, got {self.max_attempts!r}")

    @property
    def n(self) -> int:
        return self.n_push + self.n_grasp + self.n_pull

    @property
    def params(self) -> ActionParams:
        return ActionParams(push_distance=self.push_distance, lift_height=self.lift_height)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def cache_key(self) -> dict[str, Any]:
        return {**self.to_dict(), "generator": GENERATOR_VERSION, "pybullet_api": p.getAPIVersion()}


def interaction_plan(config: TabletopDatasetConfig) -> list[tuple[str, int]]:
    """(action, index within that action) for every interaction, in the dataset's seeded order."""
    plan = [("push", i) for i in range(config.n_push)]
    plan += [("grasp", i) for i in range(config.n_grasp)]
    plan += [("pull", i) for i in range(config.n_pull)]
    order = rng(config.seed, "tabletop-order").permutation(len(plan))
    return [plan[i] for i in order]


def _draw_angle(config: TabletopDatasetConfig, action: str, index: int, attempt: int) -> float:
    lo, hi = config.angle_range
    return float(
        np.float32(rng(config.seed, "tabletop-angle", ACTION_IDS[action], index, attempt).uniform(lo, hi))
    )


def _succeeded(action: str, angle: float, side: str, object_pose: np.ndarray, params: ActionParams) -> bool:
    outcome = outcome_from_poses(object_pose)
    if action == "grasp":
        return outcome.final_height >= LIFT_FRACTION * params.lift_height and not outcome.tipped
    _, yaw = side_pose(side)
    intended = angle + yaw + (math.pi if action == "pull" else 0.0)
    error = abs((outcome.direction - intended + math.pi) % (2 * math.pi) - math.pi)
    return (
        abs(outcome.distance - params.push_distance) <= PUSH_DISTANCE_TOLERANCE
        and error <= PUSH_DIRECTION_TOLERANCE
        and not outcome.tipped
        and not outcome.lifted
    )


_ENV: TabletopEnv | None = None
_ENV_KEY: tuple | None = None


def _worker_env(config: TabletopDatasetConfig) -> TabletopEnv:
    """One env (one pybullet client) per process, rebuilt only when its settings change."""
    global _ENV, _ENV_KEY
    key = (config.robot, config.image_size, config.mesh_detail, config.params)
    if _ENV is None or _ENV_KEY != key:
        if _ENV is not None:
            _ENV.close()
        _ENV = TabletopEnv(
            config.robot, config.image_size, mesh_detail=config.mesh_detail, params=config.params
        )
        _ENV_KEY = key
    return _ENV


def generate_interaction(config: TabletopDatasetConfig, action: str, index: int) -> dict[str, np.ndarray]:
    """Record the ``index``-th interaction of ``action`` of the dataset ``config`` (redrawing failures)."""
    check_action(action)
    env = _worker_env(config)
    other = None if config.side == "self" else config.side
    for attempt in range(config.max_attempts):
        angle = _draw_angle(config, action, index, attempt)
        env.reset(other=other, view=config.view, novelty=config.novelty)
        rec = env.perform(
            action,
            angle,
            agent=config.side,
            n_frames=config.n_steps,
            render=config.render,
            camera=config.camera,
        )
        ok = _succeeded(action, angle, config.side, rec["object_pose"], config.params)
        if ok:
            break
    rec["success"] = np.bool_(ok)
    rec["attempts"] = np.int64(attempt + 1)
    return rec


def interaction_chunk(config: dict[str, Any], plan: list[list[Any]]) -> dict[str, np.ndarray]:
    """The interactions ``plan`` (``[action, index]`` pairs) of the dataset ``config`` (a dict), stacked
    (``t`` once): one job of :mod:`sensorimotor.jobs`, with its own pybullet client."""
    cfg = TabletopDatasetConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in config.items()})
    records = [generate_interaction(cfg, action, int(index)) for action, index in plan]
    out = {key: np.stack([r[key] for r in records]) for key in records[0] if key != "t"}
    out["t"] = records[0]["t"]
    return out


def _default_workers(n_jobs: int) -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, n_jobs))


def _generate(config: TabletopDatasetConfig, workers: int | None, progress: bool) -> dict[str, np.ndarray]:
    """Every interaction, in chunks: here (``workers=1``) or as jobs of :mod:`sensorimotor.jobs`
    (the same bytes for any worker count: each interaction draws from its own stream)."""
    plan = [[action, index] for action, index in interaction_plan(config)]
    workers = _default_workers(len(plan)) if workers is None else int(workers)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    size = max(1, len(plan) // (4 * workers))
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in config.to_dict().items()}
    chunks = [{"config": plain, "plan": plan[i : i + size]} for i in range(0, len(plan), size)]
    with progress_bar(total=len(plan), desc=f"tabletop {config.side} {config.image_size}px", progress=progress) as bar:
        parts = map_jobs("sensorimotor.sim.tabletop_dataset:interaction_chunk", chunks, "tabletop-chunks", workers)
        bar.update(len(plan))
    out = {key: np.concatenate([part[key] for part in parts]) for key in parts[0] if key != "t"}
    out["t"] = parts[0]["t"]
    out["joint_names"] = np.array(joint_names(config.robot))
    failed = int((~out["success"]).sum())
    if failed:
        warnings.warn(
            f"{failed} of {len(plan)} tabletop interactions failed after {config.max_attempts} attempts",
            stacklevel=3,
        )
    return out


def dataset(
    config: TabletopDatasetConfig | None = None,
    workers: int | None = None,
    progress: bool = True,
    cache: bool = True,
) -> dict[str, np.ndarray]:
    """The interactions of ``config`` as arrays (see the module docstring), from the cache if there.

    ``workers``: processes (default: the cores this process may use); each has its own pybullet client.
    """
    config = config or TabletopDatasetConfig()
    if not isinstance(config, TabletopDatasetConfig):
        raise TypeError(f"config must be a TabletopDatasetConfig, got {type(config).__name__}")
    if not cache:
        return _generate(config, workers, progress)
    path = cache_path("tabletop", config.cache_key(), ".npz")
    if path.exists():
        return load_arrays(path)
    data = _generate(config, workers, progress)
    save_arrays(path, data)
    return data


def other_agent_frames(
    side: str,
    action: str,
    angle: float,
    *,
    view: str = "full",
    novelty: tuple[str, ...] | list[str] = (),
    image_size: int = 64,
    n_steps: int = 50,
    robot: str = "panda",
    camera: str = "ego",
    env: TabletopEnv | None = None,
) -> dict[str, Any]:
    """What our camera sees while the robot on ``side`` performs ``action`` at ``angle`` (its frame).

    Our robot rests in its start pose. ``side="self"`` records our own robot (useful with a
    ``novelty``, e.g. our own hand painted red). Returns the arrays of
    :meth:`~sensorimotor.sim.tabletop.TabletopEnv.perform` (``images``, ``joints`` of the
    demonstrator, ``ee_pose``, ``object_pose``, ``t``, ``action``, ``angle``) plus ``outcome``, an
    :class:`~sensorimotor.sim.tabletop_judge.Outcome` of what the demonstration did to the object.
    """
    check_side(side)
    check_action(action)
    angle = check_angle(angle)
    own = env is None
    if own:
        env = TabletopEnv(robot, image_size)
    try:
        env.reset(other=None if side == "self" else side, view=view, novelty=tuple(novelty))
        rec: dict[str, Any] = env.perform(
            action, angle, agent=side, n_frames=n_steps, camera=camera, size=image_size
        )
        rec["outcome"] = outcome_from_poses(rec["object_pose"])
        return rec
    finally:
        if own:
            env.close()


def split_indices(n: int, test_fraction: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, test) index arrays: the paper's 80/20 split by default."""
    _nonnegative_int("n", n)
    if not 0.0 <= test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in [0, 1), got {test_fraction!r}")
    order = rng(seed, "tabletop-split").permutation(n)
    n_test = int(round(n * test_fraction))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


# Re-exported for convenience: the names that configs and chapters validate against.
ACCEPTED = {"actions": ACTIONS, "sides": SIDES, "views": VIEWS, "novelty": NOVELTIES}
