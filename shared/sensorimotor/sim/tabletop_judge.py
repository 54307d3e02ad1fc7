"""Judging a behaviour by what it does to the object (for the mirror experiments, paper 5.5-5.7).

:func:`sensorimotor.sim.tabletop.judge_trajectory` (beside the scene it needs) replays a joint
trajectory (e.g. a DMBN prediction, T x D: arm angles in radians and the gripper opening in metres) on
our robot, with the object at its start pose, and returns an :class:`Outcome`: how far and in which direction the object moved, whether it was lifted, and
whether it moved towards or away from our robot. :func:`outcome_from_poses` computes the same from
recorded object poses (e.g. of another agent's demonstration), and :func:`classify_imitation` says
whether our outcome reproduces a demonstration's *effect* on the object (the object goes where the
demonstrator sent it, in the world) or its *egocentric* (anatomical) form (the object goes where the
demonstrator sent it relative to the demonstrator's body, mapped onto ours), as in the paper's Fig. 8
(effect-based) versus Fig. 9 (egocentric: the other agent pulls towards itself, we pull towards us).

This module does not import the scene (:mod:`sensorimotor.sim.tabletop` imports and re-exports it);
the sides' geometry comes from :mod:`sensorimotor.sim.tabletop_layout`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sensorimotor.sim.tabletop_layout import check_side, side_pose

LIFT_THRESHOLD = 0.05  # metres the object's centre must rise to count as lifted
MOVE_THRESHOLD = 0.03  # metres the object must slide to count as moved
DIRECTION_TOLERANCE = math.radians(45)
LABELS = ("lifted", "away", "toward", "sideways", "none")


def _angle_diff(a: float, b: float) -> float:
    return abs((a - b + math.pi) % (2 * math.pi) - math.pi)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What happened to the object. Directions are world-frame radians (our robot faces +x)."""

    displacement_xy: np.ndarray  # (2,) metres, final minus start, world frame
    distance: float  # |displacement_xy|
    direction: float  # atan2 of displacement_xy (meaningless when distance ~ 0)
    lifted: bool  # max_height >= LIFT_THRESHOLD at some point
    max_height: float  # highest rise of the object's centre above its start, metres
    final_height: float  # rise at the end, metres (about the lift height while still held)
    toward_robot: float  # displacement along the object->our-robot axis; negative = moved away
    tipped: bool  # the object ended more than 30 degrees off upright
    label: str  # "lifted" | "away" | "toward" | "sideways" | "none" (relative to our robot)
    start_pose: np.ndarray  # (7,)
    final_pose: np.ndarray  # (7,)

    @property
    def moved(self) -> bool:
        return self.lifted or self.distance >= MOVE_THRESHOLD

    def direction_for(self, side: str) -> float:
        """The displacement's direction in the frame of the agent on ``side`` (0 = away from it)."""
        _, yaw = side_pose(side)
        return (self.direction - yaw + math.pi) % (2 * math.pi) - math.pi

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        for key, value in out.items():
            if isinstance(value, np.ndarray):
                out[key] = value.tolist()
        return out


def outcome_from_poses(object_poses: np.ndarray, robot_xy=(0.0, 0.0)) -> Outcome:
    """The :class:`Outcome` of a recorded object trajectory ((T, 7) or (T, 3) world poses)."""
    poses = np.asarray(object_poses, dtype=float)
    if poses.ndim != 2 or poses.shape[0] < 2 or poses.shape[1] not in (3, 7) or not np.isfinite(poses).all():
        raise ValueError(f"object_poses must be a finite (T>=2, 7) array, got shape {poses.shape}")
    start, final = poses[0], poses[-1]
    disp = final[:2] - start[:2]
    distance = float(np.hypot(*disp))
    direction = float(math.atan2(disp[1], disp[0]))
    rise = poses[:, 2] - start[2]
    max_height, final_height = float(rise.max()), float(rise[-1])
    axis = start[:2] - np.asarray(robot_xy, dtype=float)  # robot -> object
    axis = axis / max(np.linalg.norm(axis), 1e-9)
    toward = float(-disp @ axis)
    tipped = False
    if poses.shape[1] == 7:
        q = final[3:]
        # z axis of the object's frame: its last column of the rotation matrix
        x, y, z, w = q / max(np.linalg.norm(q), 1e-12)
        up_z = 1 - 2 * (x * x + y * y)
        tipped = bool(up_z < math.cos(math.radians(30)))
    lifted = max_height >= LIFT_THRESHOLD
    if lifted:
        label = "lifted"
    elif distance < MOVE_THRESHOLD:
        label = "none"
    else:
        rel = _angle_diff(direction, math.atan2(axis[1], axis[0]))  # 0 = along robot->object = away
        label = "away" if rel <= math.pi / 4 else "toward" if rel >= 3 * math.pi / 4 else "sideways"
    return Outcome(
        displacement_xy=disp,
        distance=distance,
        direction=direction,
        lifted=lifted,
        max_height=max_height,
        final_height=final_height,
        toward_robot=toward,
        tipped=tipped,
        label=label,
        start_pose=start.copy(),
        final_pose=final.copy(),
    )


def classify_imitation(
    ours: Outcome, demo: Outcome, demo_side: str, tolerance: float = DIRECTION_TOLERANCE
) -> str:
    """Does our outcome reproduce the demonstration's effect, its egocentric form, both or neither?

    ``"effect"``: the object moved the way the demonstrator moved it, in the world (within
    ``tolerance``). ``"egocentric"``: it moved the way the demonstrator moved it relative to the
    demonstrator's body, rotated onto ours (a pull towards the demonstrator becomes a pull towards
    us). A lift imitates a lift both ways (``"both"``). Anything else is ``"neither"``.
    """
    check_side(demo_side)
    if demo.lifted or ours.lifted:
        return "both" if (demo.lifted and ours.lifted) else "neither"
    if not (demo.moved and ours.moved):
        return "neither"
    _, demo_yaw = side_pose(demo_side)
    _, own_yaw = side_pose("self")
    effect = _angle_diff(ours.direction, demo.direction) <= tolerance
    ego_direction = demo.direction - demo_yaw + own_yaw
    egocentric = _angle_diff(ours.direction, ego_direction) <= tolerance
    if effect and egocentric:
        return "both"
    return "effect" if effect else "egocentric" if egocentric else "neither"
