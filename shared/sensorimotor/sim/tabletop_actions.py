"""The scripted action repertoire (paper Section 4) as Cartesian waypoints in the acting robot's frame.

Every action is a list of :class:`Segment` s: move the grasp point (the point between the fingertips)
to ``position`` with a top-down hand turned to ``yaw`` and the fingers ``opening`` metres apart, over
``duration`` seconds (smooth-step interpolation from where the previous segment ended). All actions last
the same time (:attr:`ActionParams.duration`), so time normalised to [0, 1] means the same phase in
every interaction:

==========  ============================================================================
0.00-0.05   rest in the start pose (hand wide open)
0.05-0.35   move above the approach point on the side given by ``angle``
0.35-0.50   descend to working height
0.50-1.00   push: sweep through the object ``push_distance`` along ``angle``, then hold
            grasp: approach the object closing the hand a little, close it, lift ``lift_height``
            pull: (descended behind the object) drag it ``push_distance`` back towards the robot
==========  ============================================================================

Angles are in the acting robot's own frame: 0 points straight away from the robot, +pi/2 to its left.
For ``push`` and ``grasp`` the angle is the direction in which the hand moves when it meets the object
(a push at angle a moves the object along a; a push at pi moves it towards the robot). For ``pull`` the
hand comes down on the side of the object at ``angle`` (0: the far side) and drags the object along
``angle + pi``, i.e. towards the robot for angle 0.

Pushing keeps the fingers 2 cm apart: the cylinder then rests against both fingertips, a two-point
contact that keeps it on the push line (fully open fingers, 8 cm apart, would let a 5 cm object pass
between them). Grasping opens the hand fully (8 cm) and approaches sideways at half the object's height.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from sensorimotor.sim.tabletop_robots import wrap_half_turn

ACTIONS = ("push", "grasp", "pull")
ACTION_IDS = {name: i for i, name in enumerate(ACTIONS)}


@dataclasses.dataclass(frozen=True)
class Segment:
    """Move the grasp point to ``position`` (robot frame, metres) with hand ``yaw`` and ``opening``."""

    position: tuple[float, float, float]
    yaw: float
    opening: float
    duration: float


@dataclasses.dataclass(frozen=True)
class ActionParams:
    """Geometry and timing of the repertoire (lengths in metres, times in seconds)."""

    push_distance: float = 0.20  # paper: 0.30 m with a UR5; see book/simulator.md
    lift_height: float = 0.20  # paper: 0.30 m
    hover_height: float = 0.15  # grasp point above the table while moving over the scene
    push_height: float = 0.02  # grasp point above the table while pushing or pulling
    push_opening: float = 0.02  # finger gap while pushing: narrower than the object
    approach_clearance: float = 0.05  # gap between fingers and object where the hand comes down
    grasp_approach: float = 0.07  # horizontal run-up of the grasp, from the object's centre
    finger_half_thickness: float = 0.01  # fingertip extent along the push direction
    duration: float = 3.0

    def validate(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"ActionParams.{field.name} must be a positive finite number, got {value!r}")


def check_angle(angle) -> float:
    """``angle`` as a float; a non-finite or non-numeric angle raises ``ValueError`` naming it."""
    try:
        value = float(angle)
    except (TypeError, ValueError):
        raise ValueError(f"angle must be a finite number of radians, got {angle!r}") from None
    if not math.isfinite(value):
        raise ValueError(f"angle must be a finite number of radians, got {angle!r}")
    return value


def check_action(action: str) -> str:
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}; accepted actions: {', '.join(ACTIONS)}")
    return action


# Fractions of the duration spent in each phase.
_REST, _TO_HOVER, _DESCEND = 0.05, 0.30, 0.15
_PUSH, _PUSH_HOLD = 0.40, 0.10
_GRASP_APPROACH, _GRASP_CLOSE, _GRASP_LIFT = 0.20, 0.10, 0.20


def action_segments(
    action: str,
    angle: float,
    object_xy,
    object_radius: float,
    object_height: float,
    start_position,
    start_yaw: float,
    max_opening: float,
    params: ActionParams | None = None,
) -> list[Segment]:
    """Waypoints of ``action`` at ``angle`` for an upright object at ``object_xy`` (robot frame).

    ``start_position``/``start_yaw`` are where the hand is now (the first segment holds it there).
    """
    check_action(action)
    angle = check_angle(angle)
    params = ActionParams() if params is None else params
    c = np.asarray(object_xy, dtype=float)[:2]
    u = np.array([math.cos(angle), math.sin(angle)])
    yaw = wrap_half_turn(angle)
    d = params.duration
    start = tuple(float(v) for v in start_position)

    def at(xy, z: float) -> tuple[float, float, float]:
        return (float(xy[0]), float(xy[1]), float(z))

    rest = Segment(start, start_yaw, max_opening, _REST * d)
    if action == "push":
        reach = object_radius + params.finger_half_thickness
        begin = c - (reach + params.approach_clearance) * u
        # With the fingertips ``push_opening`` apart, the object's centre sits this far ahead of the
        # grasp point once in contact.
        half_gap = params.push_opening / 2
        lead = params.finger_half_thickness + math.sqrt(max(object_radius**2 - half_gap**2, 0.0))
        end = c + (params.push_distance - lead) * u
        z = params.push_height
        return [
            rest,
            Segment(at(begin, params.hover_height), yaw, params.push_opening, _TO_HOVER * d),
            Segment(at(begin, z), yaw, params.push_opening, _DESCEND * d),
            Segment(at(end, z), yaw, params.push_opening, _PUSH * d),
            Segment(at(end, z), yaw, params.push_opening, _PUSH_HOLD * d),
        ]
    if action == "grasp":
        z = object_height / 2
        begin = c - params.grasp_approach * u
        # close a little while approaching, but never onto the object
        approach_opening = min(max_opening, max(0.85 * max_opening, 2 * object_radius + 0.008))
        return [
            rest,
            Segment(at(begin, params.hover_height), yaw, max_opening, _TO_HOVER * d),
            Segment(at(begin, z), yaw, max_opening, _DESCEND * d),
            Segment(at(c, z), yaw, approach_opening, _GRASP_APPROACH * d),
            Segment(at(c, z), yaw, 0.0, _GRASP_CLOSE * d),
            Segment(at(c, z + params.lift_height), yaw, 0.0, _GRASP_LIFT * d),
        ]
    # pull: come down behind the object (on the side at ``angle``) and drag it along -u.
    behind = c + (object_radius + 2 * params.finger_half_thickness) * u
    half_gap = params.push_opening / 2
    lead = params.finger_half_thickness + math.sqrt(max(object_radius**2 - half_gap**2, 0.0))
    end = c - (params.push_distance - lead) * u
    z = params.push_height
    return [
        rest,
        Segment(at(behind, params.hover_height), yaw, params.push_opening, _TO_HOVER * d),
        Segment(at(behind, z), yaw, params.push_opening, _DESCEND * d),
        Segment(at(end, z), yaw, params.push_opening, _PUSH * d),
        Segment(at(end, z), yaw, params.push_opening, _PUSH_HOLD * d),
    ]
