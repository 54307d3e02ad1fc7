"""A simulated sitting infant that looks at its own right arm (the SOM-AE chapter's body).

The body is built from primitives with the proportions of a six-month-old infant (sitting height
about 0.42 m, head radius 6.8 cm, upper arm 10 cm, forearm 8.5 cm, hand 6 cm). The right arm has five
revolute joints: three at the shoulder (flexion, abduction, humeral rotation), the elbow and the wrist.
A camera at the right eye looks along the head's view direction with a wide field of view.

Frames: x forward, y to the infant's left, z up; the origin is on the floor under the pelvis. With all
joints at zero the right arm hangs down beside the torso with the palm facing the body.

Only poses are set (``resetJointState``); no dynamics are stepped, so rendering a pose is a pure
function of the joint angles. One :class:`InfantSim` owns one pybullet client in DIRECT mode.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from sensorimotor.sim.bullet import connect, pybullet

SKIN = (0.96, 0.78, 0.66, 1.0)
ONESIE = (0.45, 0.60, 0.80, 1.0)
FLOOR = (0.30, 0.35, 0.45, 1.0)
WALL = (0.72, 0.72, 0.76, 1.0)


@dataclasses.dataclass(frozen=True)
class ArmJoint:
    """One revolute joint of the right arm: name, axis in its link frame, limits in radians."""

    name: str
    axis: tuple[float, float, float]
    low: float
    high: float


# Limits follow infant range-of-motion norms (degrees in comments), kept inside adult norms.
ARM_JOINTS: tuple[ArmJoint, ...] = (
    ArmJoint("shoulder_flexion", (0.0, -1.0, 0.0), math.radians(-35), math.radians(165)),  # ext 35 / flex 165
    ArmJoint("shoulder_abduction", (-1.0, 0.0, 0.0), math.radians(-30), math.radians(150)),  # add 30 / abd 150
    ArmJoint("shoulder_rotation", (0.0, 0.0, 1.0), math.radians(-70), math.radians(70)),  # int / ext 70
    ArmJoint("elbow_flexion", (0.0, -1.0, 0.0), math.radians(0), math.radians(145)),  # 0 .. 145
    ArmJoint("wrist_flexion", (1.0, 0.0, 0.0), math.radians(-70), math.radians(70)),  # ext 70 / flex 70
)
JOINT_NAMES: tuple[str, ...] = tuple(j.name for j in ARM_JOINTS)
N_JOINTS = len(ARM_JOINTS)


def joint_limits() -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper limits (radians) of the five arm joints, each of shape (5,)."""
    low = np.array([j.low for j in ARM_JOINTS], dtype=np.float64)
    high = np.array([j.high for j in ARM_JOINTS], dtype=np.float64)
    return low, high


def sample_joints(generator: np.random.Generator, n: int) -> np.ndarray:
    """``n`` poses drawn uniformly in joint space (radians), float64 array (n, 5)."""
    low, high = joint_limits()
    return low + (high - low) * generator.random((n, N_JOINTS))


@dataclasses.dataclass(frozen=True)
class InfantBody:
    """Body dimensions in metres (a six-month-old infant, rounded)."""

    torso_radius: float = 0.065
    torso_length: float = 0.14  # cylinder part of the torso capsule
    head_radius: float = 0.068
    neck_length: float = 0.025
    shoulder_offset: tuple[float, float, float] = (0.0, -0.09, 0.25)  # right shoulder joint
    upper_arm_length: float = 0.10
    upper_arm_radius: float = 0.021
    forearm_length: float = 0.085
    forearm_radius: float = 0.018
    hand_length: float = 0.06
    hand_width: float = 0.045
    hand_thickness: float = 0.018
    leg_radius: float = 0.032

    @property
    def torso_top(self) -> float:
        return 2 * self.torso_radius + self.torso_length

    @property
    def head_centre(self) -> tuple[float, float, float]:
        return (0.0, 0.0, self.torso_top + self.neck_length + self.head_radius * 0.85)


@dataclasses.dataclass(frozen=True)
class EyeCamera:
    """The right-eye camera: image size in pixels, vertical field of view, head orientation.

    The paper's camera takes 300 x 500 (height x width) wide-angle images; ``height`` and ``width``
    keep that 3:5 aspect by default at half the resolution (the network input is 64 x 64 anyway).
    """

    height: int = 150
    width: int = 250
    vertical_fov_deg: float = 90.0  # horizontal ~118 deg at 5:3
    head_pitch_deg: float = 40.0  # positive looks down
    head_yaw_deg: float = -12.0  # negative turns toward the right arm
    eye_offset: tuple[float, float, float] = (0.064, -0.028, 0.012)  # from the head centre, head frame
    near: float = 0.005
    far: float = 4.0

    def __post_init__(self) -> None:
        if self.height < 8 or self.width < 8:
            raise ValueError(f"camera image must be at least 8x8 pixels, got {self.height}x{self.width}")
        if not 10.0 <= self.vertical_fov_deg <= 170.0:
            raise ValueError(f"vertical_fov_deg must be in [10, 170], got {self.vertical_fov_deg}")

    @property
    def horizontal_fov_deg(self) -> float:
        half = math.radians(self.vertical_fov_deg) / 2
        return math.degrees(2 * math.atan(math.tan(half) * self.width / self.height))


def _rotation(yaw: float, pitch: float) -> np.ndarray:
    """Head rotation: yaw about z, then pitch about the head's y axis (positive pitch looks down)."""
    cy, sy, cp, sp = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
    rz = np.array([[cy, -sy, 0], [sy, cy, 0], [0, 0, 1]])
    ry = np.array([[cp, 0, sp], [0, 1, 0], [-sp, 0, cp]])
    return rz @ ry


class InfantSim:
    """One infant in one pybullet client; set arm poses and render the right eye's view."""

    def __init__(self, body: InfantBody | None = None, camera: EyeCamera | None = None) -> None:
        self.body = body or InfantBody()
        self.camera = camera or EyeCamera()
        self._client = connect(pybullet.DIRECT)
        self._client.setPhysicsEngineParameter(deterministicOverlappingPairs=1)
        self._static: list[int] = []
        self._build_scene()
        self._build_arm()
        self._view, self._projection, self.eye_position, self.view_direction = self._eye_matrices()

    # ----------------------------------------------------------------- construction
    def _capsule_between(self, a: Sequence[float], b: Sequence[float], radius: float, colour) -> int:
        a, b = np.asarray(a, float), np.asarray(b, float)
        axis = b - a
        length = float(np.linalg.norm(axis))
        z = np.array([0.0, 0.0, 1.0])
        direction = axis / length
        cross = np.cross(z, direction)
        if np.linalg.norm(cross) < 1e-9:
            quat = (0.0, 0.0, 0.0, 1.0)
        else:
            angle = math.acos(float(np.clip(np.dot(z, direction), -1, 1)))
            quat = self._client.getQuaternionFromAxisAngle(cross / np.linalg.norm(cross), angle)
        return self._static_body(pybullet.GEOM_CAPSULE, colour, (a + b) / 2, quat, radius=radius, length=length)

    def _static_body(self, geom: int, colour, position, orientation=(0, 0, 0, 1), **shape) -> int:
        c = self._client
        visual_kwargs = dict(shape)
        collision_kwargs = dict(shape)
        if geom == pybullet.GEOM_CAPSULE:
            collision_kwargs["height"] = collision_kwargs.pop("length")
        visual = c.createVisualShape(geom, rgbaColor=colour, **visual_kwargs)
        collision = c.createCollisionShape(geom, **collision_kwargs)
        uid = c.createMultiBody(0.0, collision, visual, basePosition=list(position), baseOrientation=list(orientation))
        self._static.append(uid)
        return uid

    def _build_scene(self) -> None:
        b = self.body
        box = pybullet.GEOM_BOX
        self.floor = self._static_body(box, FLOOR, (0.0, 0.0, -0.01), halfExtents=[8.0, 8.0, 0.01])
        self._static_body(box, WALL, (1.6, 0.0, 1.5), halfExtents=[0.01, 8.0, 1.5])
        r = b.torso_radius
        self.torso = self._capsule_between((0, 0, r), (0, 0, r + b.torso_length), r, ONESIE)
        top = b.torso_top
        self._capsule_between((0, 0, top - 0.02), (0, 0, top + b.neck_length), 0.03, SKIN)
        self.head = self._static_body(pybullet.GEOM_SPHERE, SKIN, b.head_centre, radius=b.head_radius)
        lr = b.leg_radius
        for side in (1.0, -1.0):  # seated, legs stretched forward and slightly apart
            hip, knee, ankle = (0.02, side * 0.045, lr), (0.17, side * 0.06, lr), (0.30, side * 0.085, 0.8 * lr)
            self._capsule_between(hip, knee, lr, ONESIE)
            self._capsule_between(knee, ankle, 0.8 * lr, ONESIE)
            self._static_body(box, SKIN, (ankle[0] + 0.02, ankle[1], 0.045), halfExtents=[0.02, 0.022, 0.035])
        # the left arm rests on the left thigh
        sx, sy, sz = b.shoulder_offset
        shoulder, elbow, wrist = (sx, -sy, sz), (0.03, -sy + 0.01, sz - 0.10), (0.11, -sy - 0.005, 0.075)
        self._capsule_between(shoulder, elbow, b.upper_arm_radius, SKIN)
        self._capsule_between(elbow, wrist, b.forearm_radius, SKIN)
        self._static_body(pybullet.GEOM_SPHERE, SKIN, (0.15, -sy - 0.01, 0.07), radius=0.022)

    def _build_arm(self) -> None:
        """The right arm: a base at the shoulder and five revolute links (two of them invisible)."""
        c, b = self._client, self.body
        ua, fa = b.upper_arm_length, b.forearm_length
        upper_vis = c.createVisualShape(
            pybullet.GEOM_CAPSULE, radius=b.upper_arm_radius, length=ua, rgbaColor=SKIN, visualFramePosition=[0, 0, -ua / 2]
        )
        upper_col = c.createCollisionShape(
            pybullet.GEOM_CAPSULE, radius=b.upper_arm_radius, height=ua, collisionFramePosition=[0, 0, -ua / 2]
        )
        fore_vis = c.createVisualShape(
            pybullet.GEOM_CAPSULE, radius=b.forearm_radius, length=fa, rgbaColor=SKIN, visualFramePosition=[0, 0, -fa / 2]
        )
        fore_col = c.createCollisionShape(
            pybullet.GEOM_CAPSULE, radius=b.forearm_radius, height=fa, collisionFramePosition=[0, 0, -fa / 2]
        )
        half = [b.hand_width / 2, b.hand_thickness / 2, b.hand_length / 2]
        hand_centre = [0, 0, -b.hand_length / 2 - 0.004]
        hand_vis = c.createVisualShape(pybullet.GEOM_BOX, halfExtents=half, rgbaColor=SKIN, visualFramePosition=hand_centre)
        hand_col = c.createCollisionShape(pybullet.GEOM_BOX, halfExtents=half, collisionFramePosition=hand_centre)
        n = N_JOINTS
        self.arm = c.createMultiBody(
            baseMass=0.0,
            baseCollisionShapeIndex=-1,
            baseVisualShapeIndex=-1,
            basePosition=list(b.shoulder_offset),
            linkMasses=[0.01] * n,
            linkCollisionShapeIndices=[-1, -1, upper_col, fore_col, hand_col],
            linkVisualShapeIndices=[-1, -1, upper_vis, fore_vis, hand_vis],
            linkPositions=[[0, 0, 0], [0, 0, 0], [0, 0, 0], [0, 0, -ua], [0, 0, -fa]],
            linkOrientations=[[0, 0, 0, 1]] * n,
            linkInertialFramePositions=[[0, 0, 0]] * n,
            linkInertialFrameOrientations=[[0, 0, 0, 1]] * n,
            linkParentIndices=[0, 1, 2, 3, 4],
            linkJointTypes=[pybullet.JOINT_REVOLUTE] * n,
            linkJointAxis=[list(j.axis) for j in ARM_JOINTS],
        )
        self.arm_links = (2, 3, 4)  # links with a shape: upper arm, forearm, hand

    def _eye_matrices(self):
        cam, b = self.camera, self.body
        rot = _rotation(math.radians(cam.head_yaw_deg), math.radians(cam.head_pitch_deg))
        eye = np.asarray(b.head_centre) + rot @ np.asarray(cam.eye_offset)
        forward, up = rot @ np.array([1.0, 0, 0]), rot @ np.array([0, 0, 1.0])
        view = self._client.computeViewMatrix(eye.tolist(), (eye + forward).tolist(), up.tolist())
        aspect = cam.width / cam.height
        projection = self._client.computeProjectionMatrixFOV(cam.vertical_fov_deg, aspect, cam.near, cam.far)
        return view, projection, eye, forward

    # ----------------------------------------------------------------- poses
    def set_arm(self, joints: Sequence[float]) -> None:
        """Put the right arm in a pose (5 angles in radians, within :func:`joint_limits`)."""
        q = np.asarray(joints, dtype=np.float64)
        if q.shape != (N_JOINTS,) or not np.all(np.isfinite(q)):
            raise ValueError(f"joints must be {N_JOINTS} finite angles ({', '.join(JOINT_NAMES)}), got {q!r}")
        for index, angle in enumerate(q):
            self._client.resetJointState(self.arm, index, float(angle))

    def in_self_collision(self, margin: float = 0.005) -> bool:
        """Whether the arm's links penetrate the body, the floor or each other by more than ``margin``."""
        c = self._client

        def penetrates(points) -> bool:
            return any(point[8] < -margin for point in points)

        for link in self.arm_links:
            for other in self._static:
                if penetrates(c.getClosestPoints(self.arm, other, distance=0.0, linkIndexA=link)):
                    return True
        # hand against upper arm (the only non-adjacent pair of arm links)
        return penetrates(c.getClosestPoints(self.arm, self.arm, distance=0.0, linkIndexA=4, linkIndexB=2))

    def render(
        self, joints: Sequence[float] | None = None, shape: tuple[int, int] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The right eye's view: RGB uint8 (H, W, 3) and a boolean mask (H, W) of arm pixels.

        ``shape`` (height, width) renders at another resolution with the same field of view (keep the
        camera's aspect ratio). The mask comes from pybullet's segmentation buffer (object and link of
        every pixel), not from geometry.
        """
        if joints is not None:
            self.set_arm(joints)
        height, width = shape if shape is not None else (self.camera.height, self.camera.width)
        _, _, rgba, _, seg = self._client.getCameraImage(
            width,
            height,
            self._view,
            self._projection,
            renderer=pybullet.ER_TINY_RENDERER,
            flags=pybullet.ER_SEGMENTATION_MASK_OBJECT_AND_LINKINDEX,
            shadow=0,
            lightDirection=[1.0, 0.6, 2.0],
        )
        rgb = np.asarray(rgba, dtype=np.uint8).reshape(height, width, 4)[..., :3].copy()
        seg = np.asarray(seg, dtype=np.int64).reshape(height, width)
        valid = seg >= 0
        uid = np.where(valid, seg & ((1 << 24) - 1), -1)
        link = np.where(valid, (seg >> 24) - 1, -2)
        mask = (uid == self.arm) & np.isin(link, self.arm_links)
        return rgb, mask

    def render_without_arm(self, shape: tuple[int, int] | None = None) -> np.ndarray:
        """The right eye's view with the arm removed (moved far below the floor): RGB uint8 (H, W, 3)."""
        c = self._client
        position, orientation = c.getBasePositionAndOrientation(self.arm)
        c.resetBasePositionAndOrientation(self.arm, [0.0, 0.0, -50.0], orientation)
        try:
            rgb, mask = self.render(shape=shape)
        finally:
            c.resetBasePositionAndOrientation(self.arm, position, orientation)
        assert not mask.any()
        return rgb

    def render_external(self, joints: Sequence[float] | None = None, size: int = 256) -> np.ndarray:
        """A third-person RGB view (for figures), with the eye camera's position and direction in view."""
        if joints is not None:
            self.set_arm(joints)
        view = self._client.computeViewMatrix([0.75, -0.75, 0.65], [0.05, -0.02, 0.2], [0, 0, 1])
        projection = self._client.computeProjectionMatrixFOV(40, 1.0, 0.01, 5.0)
        _, _, rgba, _, _ = self._client.getCameraImage(
            size, size, view, projection, renderer=pybullet.ER_TINY_RENDERER, shadow=1, lightDirection=[1.0, 0.6, 2.0]
        )
        return np.asarray(rgba, dtype=np.uint8).reshape(size, size, 4)[..., :3].copy()

    def hand_position(self) -> np.ndarray:
        """World position of the hand link's frame (the wrist), metres."""
        return np.asarray(self._client.getLinkState(self.arm, 4)[4])

    # ----------------------------------------------------------------- lifetime
    def close(self) -> None:
        if getattr(self, "_client", None) is not None:
            try:
                self._client.disconnect()
            except pybullet.error:
                pass
            self._client = None

    def __enter__(self) -> InfantSim:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:  # pragma: no cover - best effort
        try:
            self.close()
        except Exception:
            pass
