"""Arm-gripper robots for the tabletop scene: specifications, assets and a thin control wrapper.

One robot is supported, the Franka Emika **Panda** from ``pybullet_data`` (``franka_panda/panda.urdf``):

- it ships with pybullet, so nothing has to be downloaded;
- its parallel gripper has two prismatic fingers that pybullet drives directly (the xArm gripper needs
  mimic-joint constraints, KUKA+WSG50 is an SDF whose gripper is fragile in pybullet);
- a 7-joint arm + 1 gripper opening is the closest match to the paper's UR5 (6 joints + 1 hand joint);
- its reach (about 0.85 m) is the UR5's, so the paper's workspace scales one to one.

The Panda's visual meshes hold about 100 k triangles, which makes pybullet's TinyRenderer spend about
40 ms on a frame whatever its size. ``mesh_detail="low"`` (the default) renders the collision meshes
instead (convex hulls, about 3 k triangles): 2.4 ms for a 64x64 frame, 5.5 ms for 128x128, and at
these resolutions the arm looks the same. ``"high"`` keeps the original meshes (for figures).

:class:`RobotArm` wraps one loaded robot: proprioception (:meth:`RobotArm.proprio`), end-effector pose,
top-down inverse kinematics (:meth:`RobotArm.ik_top_down`), joint targets, gripper opening, and
per-part visibility/colour (``"full"``, ``"hand_only"``, ``"hand_and_base"``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import os
from pathlib import Path

import numpy as np
import pybullet_data

from sensorimotor.cache import atomic_path, cache_root
from sensorimotor.sim.bullet import pybullet as p

MESH_DETAILS = ("low", "high")
VIEWS = ("full", "hand_only", "hand_and_base")
ASSET_VERSION = "1"


@dataclasses.dataclass(frozen=True)
class RobotSpec:
    """What the simulator needs to know about one arm-gripper robot."""

    name: str
    urdf: str  # path relative to pybullet_data
    arm_joints: tuple[int, ...]
    arm_joint_names: tuple[str, ...]
    finger_joints: tuple[int, int]  # two prismatic fingers; opening = sum of their positions
    ee_link: int  # the grasp point between the fingertips
    hand_links: tuple[int, ...]  # visible in "hand_only"
    finger_links: tuple[int, ...]
    base_links: tuple[int, ...]  # visible in "hand_and_base" (-1 is the base link)
    arm_links: tuple[int, ...]  # hidden in "hand_only" and "hand_and_base"
    home: tuple[float, ...]  # arm joint angles of the rest/start pose (hand above the table, top-down)
    max_opening: float  # metres between the finger pads when fully open
    arm_forces: tuple[float, ...]
    finger_force: float
    hand_yaw_offset: float  # yaw of the hand frame's x axis relative to joint 7's zero

    @property
    def n_joints(self) -> int:
        """Length of the proprioceptive vector: arm joints + 1 gripper opening."""
        return len(self.arm_joints) + 1

    @property
    def joint_names(self) -> list[str]:
        return [*self.arm_joint_names, "gripper_opening"]


PANDA = RobotSpec(
    name="panda",
    urdf="franka_panda/panda.urdf",
    arm_joints=(0, 1, 2, 3, 4, 5, 6),
    arm_joint_names=tuple(f"panda_joint{i}" for i in range(1, 8)),
    finger_joints=(9, 10),
    ee_link=11,
    hand_links=(8, 9, 10, 11),
    finger_links=(9, 10),
    base_links=(-1,),
    arm_links=(0, 1, 2, 3, 4, 5, 6, 7),
    # hand wide open, top-down, 0.32 m above the table at (0.25, 0.28): to the robot's left, so that
    # at rest the arm does not hide the object from the camera over its right shoulder
    home=(0.2851, -0.607, 0.5108, -2.5987, 0.3172, 2.0333, 1.3561),
    max_opening=0.08,
    arm_forces=(87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0),
    finger_force=40.0,
    hand_yaw_offset=0.0,
)

ROBOTS: dict[str, RobotSpec] = {"panda": PANDA}

WHITE = (0.93, 0.93, 0.93, 1.0)
HAND_GREY = (0.75, 0.75, 0.78, 1.0)
FINGER_DARK = (0.25, 0.25, 0.28, 1.0)


def robot_spec(name: str) -> RobotSpec:
    """The spec of a supported robot; an unknown name raises ``ValueError`` naming it."""
    if not isinstance(name, str) or name not in ROBOTS:
        raise ValueError(f"unknown robot {name!r}; supported robots: {', '.join(sorted(ROBOTS))}")
    return ROBOTS[name]


def joint_names(robot: str = "panda") -> list[str]:
    """Names of the proprioceptive vector's columns: the arm joints, then ``gripper_opening``."""
    return robot_spec(robot).joint_names


def robot_urdf(spec: RobotSpec, mesh_detail: str = "low") -> str:
    """Path of the URDF to load for ``spec`` at the given mesh detail (``"low"`` is generated once)."""
    if mesh_detail not in MESH_DETAILS:
        raise ValueError(f"unknown mesh_detail {mesh_detail!r}; accepted: {', '.join(MESH_DETAILS)}")
    data = Path(pybullet_data.getDataPath())
    original = data / spec.urdf
    if mesh_detail == "high":
        return str(original)
    text = original.read_text()
    mesh_dir = original.parent / "meshes"
    text = text.replace("package://meshes/visual/", "package://meshes/collision/")
    text = text.replace("package://meshes/", f"{mesh_dir}{os.sep}")
    digest = hashlib.sha256((ASSET_VERSION + text).encode()).hexdigest()[:12]
    target = cache_root() / "tabletop-assets" / f"{spec.name}_low_{digest}.urdf"
    if not target.exists():
        with atomic_path(target) as tmp:
            tmp.write_text(text)
    return str(target)


def top_down_quaternion(yaw: float) -> tuple[float, float, float, float]:
    """Orientation of a hand pointing straight down whose x axis (across the fingers) has ``yaw``."""
    return tuple(p.getQuaternionFromEuler((math.pi, 0.0, yaw)))  # type: ignore[return-value]


def wrap_half_turn(angle: float) -> float:
    """``angle`` modulo pi, in [-pi/2, pi/2): a two-finger hand looks the same turned by half a turn."""
    return (angle + math.pi / 2) % math.pi - math.pi / 2


class RobotArm:
    """One arm-gripper robot loaded into a pybullet client.

    ``base_yaw`` turns the robot about the vertical axis; ``local_to_world`` / ``world_to_local`` convert
    points between the robot's own frame (x forward, y to its left, z up, origin at its base) and the
    world frame. Joint targets are tracked by pybullet's position controller; call the client's
    ``stepSimulation`` (through :class:`sensorimotor.sim.tabletop.TabletopEnv`) to move.
    """

    def __init__(
        self,
        client,
        spec: RobotSpec,
        base_position: tuple[float, float, float] = (0.0, 0.0, 0.0),
        base_yaw: float = 0.0,
        mesh_detail: str = "low",
        name: str = "self",
    ) -> None:
        self.client = client
        self.spec = spec
        self.name = name
        self.base_position = np.asarray(base_position, dtype=float)
        self.base_yaw = float(base_yaw)
        self.body = client.loadURDF(
            robot_urdf(spec, mesh_detail),
            basePosition=list(base_position),
            baseOrientation=client.getQuaternionFromEuler((0.0, 0.0, base_yaw)),
            useFixedBase=True,
            flags=p.URDF_ENABLE_CACHED_GRAPHICS_SHAPES,
        )
        n = client.getNumJoints(self.body)
        self._lower = np.array([client.getJointInfo(self.body, j)[8] for j in range(n)])
        self._upper = np.array([client.getJointInfo(self.body, j)[9] for j in range(n)])
        self._movable = [j for j in range(n) if client.getJointInfo(self.body, j)[2] != p.JOINT_FIXED]
        self._colours: dict[int, tuple[float, float, float, float]] = {}
        self._view = "full"
        visual_links = sorted({shape[1] for shape in client.getVisualShapeData(self.body)})
        for link in visual_links:
            self._colours[link] = WHITE
            if link in spec.hand_links:
                self._colours[link] = HAND_GREY
            if link in spec.finger_links:
                self._colours[link] = FINGER_DARK
        self._apply_colours()
        self.reset(spec.home, spec.max_opening)

    # ----------------------------------------------------------------------------------- frames
    def local_to_world(self, xyz) -> np.ndarray:
        """A point in this robot's frame -> world frame."""
        x, y, z = np.asarray(xyz, dtype=float)
        c, s = math.cos(self.base_yaw), math.sin(self.base_yaw)
        return self.base_position + np.array([c * x - s * y, s * x + c * y, z])

    def world_to_local(self, xyz) -> np.ndarray:
        """A point in the world frame -> this robot's frame."""
        d = np.asarray(xyz, dtype=float) - self.base_position
        c, s = math.cos(self.base_yaw), math.sin(self.base_yaw)
        return np.array([c * d[0] + s * d[1], -s * d[0] + c * d[1], d[2]])

    # ------------------------------------------------------------------------------ state
    def joint_angles(self) -> np.ndarray:
        """Arm joint angles in radians."""
        states = self.client.getJointStates(self.body, list(self.spec.arm_joints))
        return np.array([s[0] for s in states])

    def gripper_opening(self) -> float:
        """Distance between the finger pads in metres (0 closed, ``spec.max_opening`` fully open)."""
        states = self.client.getJointStates(self.body, list(self.spec.finger_joints))
        return float(states[0][0] + states[1][0])

    def proprio(self) -> np.ndarray:
        """Arm joint angles (radians) followed by the gripper opening (metres)."""
        return np.append(self.joint_angles(), self.gripper_opening())

    def ee_pose(self) -> np.ndarray:
        """World pose of the grasp point: x, y, z, qx, qy, qz, qw."""
        state = self.client.getLinkState(self.body, self.spec.ee_link, computeForwardKinematics=True)
        return np.array([*state[4], *state[5]])

    def ee_yaw(self) -> float:
        """Yaw (world frame) of the hand's x axis, i.e. the direction across the fingers' faces."""
        q = self.ee_pose()[3:]
        m = np.array(self.client.getMatrixFromQuaternion(q)).reshape(3, 3)
        return math.atan2(m[1, 0], m[0, 0])

    # ---------------------------------------------------------------------------- commands
    def clip_joints(self, q) -> np.ndarray:
        idx = list(self.spec.arm_joints)
        return np.clip(np.asarray(q, dtype=float), self._lower[idx], self._upper[idx])

    def reset(self, q_arm, opening: float) -> None:
        """Teleport to joint angles (no dynamics) and hold them there."""
        q_arm = self.clip_joints(q_arm)
        half = float(np.clip(opening, 0.0, self.spec.max_opening)) / 2
        for j, q in zip(self.spec.arm_joints, q_arm, strict=True):
            self.client.resetJointState(self.body, j, float(q))
        for j in self.spec.finger_joints:
            self.client.resetJointState(self.body, j, half)
        self.command(q_arm, opening)

    def command(self, q_arm, opening: float) -> None:
        """Set position-control targets for the arm joints and the gripper opening."""
        q_arm = self.clip_joints(q_arm)
        self.client.setJointMotorControlArray(
            self.body,
            list(self.spec.arm_joints),
            p.POSITION_CONTROL,
            targetPositions=[float(v) for v in q_arm],
            forces=list(self.spec.arm_forces),
            positionGains=[0.3] * len(q_arm),
            velocityGains=[1.0] * len(q_arm),
        )
        half = float(np.clip(opening, 0.0, self.spec.max_opening)) / 2
        self.client.setJointMotorControlArray(
            self.body,
            list(self.spec.finger_joints),
            p.POSITION_CONTROL,
            targetPositions=[half, half],
            forces=[self.spec.finger_force] * 2,
            positionGains=[0.2, 0.2],
        )

    def ik_top_down(self, position_world, yaw_world: float) -> np.ndarray:
        """Arm joint angles that put the grasp point at ``position_world`` with a top-down hand at ``yaw``.

        Null-space IK pulled towards the home pose (elbow up), started from the current joint state.
        """
        idx = list(self.spec.arm_joints)
        movable_lower = [float(self._lower[j]) for j in self._movable]
        movable_upper = [float(self._upper[j]) for j in self._movable]
        ranges = [u - lo for lo, u in zip(movable_lower, movable_upper, strict=True)]
        rest = [*self.spec.home] + [self.spec.max_opening / 2] * (len(self._movable) - len(idx))
        solution = self.client.calculateInverseKinematics(
            self.body,
            self.spec.ee_link,
            [float(v) for v in position_world],
            top_down_quaternion(yaw_world + self.spec.hand_yaw_offset),
            lowerLimits=movable_lower,
            upperLimits=movable_upper,
            jointRanges=ranges,
            restPoses=rest,
            maxNumIterations=20,
            residualThreshold=1e-4,
        )
        return self.clip_joints(np.array(solution[: len(idx)]))

    # --------------------------------------------------------------------------- appearance
    def set_view(self, view: str) -> None:
        """Show the whole robot (``"full"``), only its hand, or its hand and base (arm hidden)."""
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r}; accepted views: {', '.join(VIEWS)}")
        self._view = view
        self._apply_colours()

    def set_hand_colour(self, rgba) -> None:
        """Colour the hand and fingers (e.g. red for the paper's Appendix A)."""
        for link in self.spec.hand_links:
            if link in self._colours:
                self._colours[link] = tuple(float(v) for v in rgba)  # type: ignore[assignment]
        self._apply_colours()

    def hide_hand(self) -> None:
        """Make the hand and fingers invisible (they still collide): used to swap in another gripper."""
        for link in self.spec.hand_links:
            if link in self._colours:
                c = self._colours[link]
                self._colours[link] = (c[0], c[1], c[2], 0.0)
        self._apply_colours()

    def _visible(self, link: int) -> bool:
        if self._view == "full":
            return True
        if link in self.spec.hand_links:
            return True
        return self._view == "hand_and_base" and link in self.spec.base_links

    def _apply_colours(self) -> None:
        for link, rgba in self._colours.items():
            alpha = rgba[3] if self._visible(link) else 0.0
            self.client.changeVisualShape(self.body, link, rgbaColor=[rgba[0], rgba[1], rgba[2], alpha])
