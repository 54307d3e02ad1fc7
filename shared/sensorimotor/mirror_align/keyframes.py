"""Key-frame execution of the task suite (PerAct / RVT / ARP style): camera geometry, recording, rollouts.

A key-frame policy does not predict every small motor step. It predicts the *next key-frame*: where the
hand goes (a pixel of the robot's camera image, lifted to 3D), at which height (one of the few heights
the suite's experts use, :data:`HEIGHTS`) and with the gripper open or closed, or that the task is done
(:data:`STOP`). Between key-frames the simulator moves the commanded grasp point in a straight line at
the suite's step limit (:meth:`sensorimotor.mirror_align.tasks.TaskEnv.step`), and dwells a few steps where
the gripper closes or opens on the spot, exactly as the scripted experts do.

Geometry (:func:`project`, :func:`lift`): a key-frame's position is marked in the image at the pixel where
its (x, y) appears at the reference height :data:`REFERENCE_Z` (the centre of a cube); a predicted pixel
is lifted back by intersecting its camera ray with that plane, and the height comes from the height class.

:func:`run_keyframes` runs one episode with a ``decide`` function (the scripted expert's plan,
:func:`expert_decider`, or a learned policy) and records what both models of the chapter need: the
robot's camera image at every key-frame with the key-frame's targets, and the observer's video.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from sensorimotor.mirror_align.tasks import (
    BUTTON,
    CLOSED,
    COMMAND_HIGH,
    COMMAND_LOW,
    CUBE_HALF,
    GRASP_Z,
    HOVER_Z,
    OPEN,
    PUSH_Z,
    ROBOT_CAMERA,
    TaskEnv,
)
from sensorimotor.sim.tabletop import Camera

# Every height a scripted expert's waypoint uses (metres), sorted: push, grasp, press, place, place on a
# cube, hover. A key-frame's height class indexes this tuple; STOP ends the episode; START is the
# "previous key-frame" of the first one (the hand waiting at its start pose).
HEIGHTS: tuple[float, ...] = tuple(sorted({PUSH_Z, GRASP_Z, BUTTON[1] + 0.012, GRASP_Z + 0.01,
                                           GRASP_Z + 2 * CUBE_HALF + 0.01, HOVER_Z}))  # fmt: skip
STOP = len(HEIGHTS)
START = len(HEIGHTS) + 1
REFERENCE_Z = CUBE_HALF
MAX_KEYFRAMES = 10  # the longest plan (pick and place) has 8 waypoints, then STOP
CLOSE_DWELL, OPEN_DWELL = 3, 2  # steps spent closing / opening the gripper on the spot (the experts')


def height_class(z: float, tolerance: float = 0.003) -> int:
    """Index of ``z`` in :data:`HEIGHTS`; raises ValueError if no height is within ``tolerance``."""
    index = int(np.argmin([abs(z - h) for h in HEIGHTS]))
    if abs(z - HEIGHTS[index]) > tolerance:
        raise ValueError(f"height {z:.4f} m is not one of the key-frame heights {HEIGHTS}")
    return index


def _basis(camera: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    eye, target, up = (np.asarray(v, float) for v in (camera.eye, camera.target, camera.up))
    forward = target - eye
    forward /= np.linalg.norm(forward)
    side = np.cross(forward, up)
    side /= np.linalg.norm(side)
    return eye, forward, side, np.cross(side, forward)


def project(points: np.ndarray, size: int, camera: Camera = ROBOT_CAMERA) -> np.ndarray:
    """World points (N, 3) -> continuous image coordinates (N, 2) = (column, row) of a ``size`` image.

    Pixel ``(c, r)`` covers [c, c+1) x [r, r+1); row 0 is the top (pybullet's pinhole camera, aspect 1).
    """
    eye, forward, side, up = _basis(camera)
    d = np.asarray(points, float).reshape(-1, 3) - eye
    depth = d @ forward
    if (depth <= 0).any():
        raise ValueError("a point lies behind the camera")
    scale = np.tan(np.radians(camera.fov) / 2) * depth
    x, y = (d @ side) / scale, (d @ up) / scale
    return np.stack([(x + 1) / 2 * size, (1 - y) / 2 * size], -1)


def lift(pixels: np.ndarray, size: int, z: float = REFERENCE_Z, camera: Camera = ROBOT_CAMERA) -> np.ndarray:
    """Image coordinates (N, 2) (column, row) -> the world points (N, 3) where their rays cross height ``z``."""
    eye, forward, side, up = _basis(camera)
    col, row = np.asarray(pixels, float).reshape(-1, 2).T
    t = np.tan(np.radians(camera.fov) / 2)
    rays = forward[None] + ((col / size * 2 - 1) * t)[:, None] * side[None] + ((1 - row / size * 2) * t)[:, None] * up[None]
    if (rays[:, 2] >= 0).any():
        raise ValueError("a pixel's ray does not reach the plane (it points above the horizon)")
    return eye[None] + ((z - eye[2]) / rays[:, 2])[:, None] * rays


@dataclasses.dataclass(frozen=True)
class Keyframe:
    """A key-frame target: grasp-point position (x, y, z), gripper command, height class (STOP: done)."""

    position: tuple[float, float, float]
    grip: float
    height: int

    @property
    def stop(self) -> bool:
        return self.height == STOP


STOP_KEYFRAME = Keyframe((0.0, 0.0, 0.0), OPEN, STOP)
# decide(observation, key-frame index, previous key-frame) -> the next key-frame
Decider = Callable[[dict[str, np.ndarray], int, Keyframe], Keyframe]


def expert_decider(env: TaskEnv) -> Decider:
    """The scripted expert as a key-frame policy: its plan's waypoints in order, then STOP."""

    def decide(obs, k: int, previous: Keyframe) -> Keyframe:
        if k >= len(env.plan):
            return STOP_KEYFRAME
        wp = env.plan[k]
        return Keyframe(tuple(float(v) for v in wp.position), wp.grip, height_class(wp.position[2]))

    return decide


def run_keyframes(
    env: TaskEnv,
    task: str,
    variant: int,
    seed: int,
    n_steps: int,
    decide: Decider | None = None,
    video_frames: int = 6,
) -> dict[str, np.ndarray]:
    """One episode executed key-frame by key-frame, recorded for both models.

    ``decide`` (None: the scripted expert) picks each next key-frame from the robot's image; the hand
    moves there in steps of at most ``env.max_step`` (one decision step each), dwelling
    :data:`CLOSE_DWELL` / :data:`OPEN_DWELL` steps where the gripper changes on the spot; after STOP, or
    when the key-frame budget is spent, it holds still until ``n_steps`` steps have passed.

    Returns ``key_obs`` (K, H, W, 3) uint8, the robot's image when each key-frame was chosen (K =
    :data:`MAX_KEYFRAMES`, zero-padded), ``key_pixel`` (K, 2) float32 (column, row of the key-frame at
    :data:`REFERENCE_Z`), ``key_height`` (K,) int64, ``key_grip`` (K,) float32, ``key_valid`` (K,) bool,
    ``video`` (video_frames, h, w, 3) from the observer camera at evenly spaced steps, ``success`` and
    ``n_keyframes``.
    """
    if n_steps < 1 or video_frames < 2:
        raise ValueError(f"need n_steps >= 1 and video_frames >= 2, got {n_steps}, {video_frames}")
    obs = env.reset(task, variant, seed)
    if decide is None:
        decide = expert_decider(env)
    size = obs["image"].shape[0]
    record_at = np.round(np.linspace(0, n_steps, video_frames)).astype(int)
    video = np.zeros((video_frames, env.video_size, env.video_size, 3), np.uint8)
    key_obs = np.zeros((MAX_KEYFRAMES, *obs["image"].shape), np.uint8)
    key_pixel = np.zeros((MAX_KEYFRAMES, 2), np.float32)
    key_height = np.full(MAX_KEYFRAMES, STOP, np.int64)
    key_grip = np.zeros(MAX_KEYFRAMES, np.float32)
    valid = np.zeros(MAX_KEYFRAMES, bool)
    t = 0

    def advance(action) -> None:
        nonlocal t
        env.step(np.asarray(action, dtype=float), observe=False)
        t += 1
        for i in np.flatnonzero(record_at == t):
            video[i] = env.observer_frame()

    for i in np.flatnonzero(record_at == 0):
        video[i] = env.observer_frame()
    previous = Keyframe(tuple(float(v) for v in env.command), OPEN, START)
    k = 0
    while t < n_steps and k < MAX_KEYFRAMES:
        obs = env.observe() if k else obs
        target = decide(obs, k, previous)
        key_obs[k], key_height[k], key_grip[k], valid[k] = obs["image"], target.height, target.grip, True
        if target.stop:
            k += 1
            break
        key_pixel[k] = project(np.array([[*target.position[:2], REFERENCE_Z]]), size)[0]
        goal = np.clip(np.asarray(target.position, float), COMMAND_LOW, COMMAND_HIGH)
        travel = float(np.linalg.norm(goal - env.command))
        while t < n_steps:
            gap = goal - env.command
            norm = float(np.linalg.norm(gap))
            if norm <= 1e-4:
                break
            advance([*(gap if norm <= env.max_step else gap * (env.max_step / norm)), target.grip])
        if travel < 0.01 and target.grip != previous.grip:
            for _ in range(CLOSE_DWELL if target.grip == CLOSED else OPEN_DWELL):
                if t < n_steps:
                    advance([0.0, 0.0, 0.0, target.grip])
        previous = target
        k += 1
    while t < n_steps:
        advance([0.0, 0.0, 0.0, env.grip])
    return {"key_obs": key_obs, "key_pixel": key_pixel, "key_height": key_height, "key_grip": key_grip,
            "key_valid": valid, "video": video, "success": np.bool_(env.success()), "n_keyframes": np.int64(k)}  # fmt: skip
