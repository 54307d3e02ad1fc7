"""Where things stand on the tabletop: the sides agents can stand on and each side's base pose.

Shared by the scene (:mod:`sensorimotor.sim.tabletop`, which re-exports everything here) and the judge
(:mod:`sensorimotor.sim.tabletop_judge`); it imports neither, so both can import it.
"""

from __future__ import annotations

import math

SIDES = ("self", "opposite", "left", "right")
OBJECT_CENTRE = (0.45, 0.0)
AGENT_DISTANCE = 0.45  # every agent's base is this far from the object's centre


def check_side(side: str, allow_self: bool = True) -> str:
    accepted = SIDES if allow_self else SIDES[1:]
    if side not in accepted:
        raise ValueError(f"unknown side {side!r}; accepted sides: {', '.join(accepted)}")
    return side


def side_pose(side: str) -> tuple[tuple[float, float, float], float]:
    """Base position and yaw of the agent on ``side`` (each faces the object from 0.45 m)."""
    check_side(side)
    ox, oy = OBJECT_CENTRE
    yaw = {"self": 0.0, "opposite": math.pi, "left": -math.pi / 2, "right": math.pi / 2}[side]
    return (ox - AGENT_DISTANCE * math.cos(yaw), oy - AGENT_DISTANCE * math.sin(yaw), 0.0), yaw
