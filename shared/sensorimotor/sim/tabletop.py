"""The shared tabletop simulator: an arm-gripper robot, a table, an object, a camera, other agents.

This is the scene of Seker et al. (2022), Section 4, rebuilt in pybullet (the paper used CoppeliaSim
with a UR5 and a three-finger hand; ``book/simulator.md`` lists every difference). The DMBN and
mirror-alignment chapters use it through :mod:`sensorimotor.sim.tabletop_dataset`; later task chapters use
the general API below directly.

Scene (world frame: metres, z up, table top at z = 0)
    - our robot (``"self"``) at the origin, facing +x; the object's centre at (0.45, 0);
    - other agents of the same kind stand 0.45 m from the object on the ``"opposite"`` side
      (x = 0.9, facing -x), on our ``"left"`` (y = +0.45, facing -y) or ``"right"`` (y = -0.45);
    - the default object is a small yellow cylinder (5 cm across, 6 cm tall, 100 g);
    - cameras: ``"ego"`` (our robot's point of view: a head camera above and behind its right
      shoulder, looking down at the workspace), ``"overview"`` (from our right, for figures) and
      ``"top"``; add more with :meth:`TabletopEnv.add_camera`.

Modules: this one (scene, cameras, recording, ``judge_trajectory``), ``tabletop_layout`` (sides and
agents' base poses), ``tabletop_robots`` (the Panda, IK, views/colours), ``tabletop_actions`` (the
push/grasp/pull waypoints and their timing), ``tabletop_judge`` (outcomes, imitation labels),
``tabletop_figures`` (the book's figures), ``tabletop_dataset`` (the cached recorded interactions).

Quick start::

    from sensorimotor.sim.tabletop import TabletopEnv

    with TabletopEnv(image_size=64) as env:             # pybullet DIRECT, one client per env
        env.reset()                                      # our robot at rest, object in the middle
        rec = env.perform("push", angle=0.5)             # dict of arrays over T recorded steps
        rec["images"].shape                              # (50, 64, 64, 3) uint8, from the "ego" camera
        env.reset(other="opposite", view="hand_only", novelty=("red_gripper",))
        demo = env.perform("pull", angle=0.0, agent="opposite")   # our robot stays at rest

General API (for task chapters)
    - ``TabletopEnv(robot="panda", image_size=64, gui=False, mesh_detail="low", time_step=1/240)``
    - ``reset(other=None, view="full", novelty=(), object_spec=ObjectSpec(), with_object=True)``
      rebuilds the scene from scratch (bit-for-bit reproducible afterwards);
    - ``add_agent(side)``, ``agents[side]`` (:class:`~sensorimotor.sim.tabletop_robots.RobotArm`:
      ``proprio()``, ``ee_pose()``, ``ik_top_down(pos, yaw)``, ``command(q, opening)``, ``set_view``);
    - ``add_object(name, ObjectSpec(...), position, orientation)``, ``remove_object(name)``,
      ``object_pose(name)``;
    - ``step(n)``, ``render(camera="ego", size=None)``, ``add_camera(name, Camera(...))``;
    - motion helpers: ``move_hand(agent, position, yaw, opening, duration)`` (straight Cartesian line
      with a top-down hand, world frame), ``set_gripper(agent, opening, duration)``,
      ``run_segments(agent, segments)`` (robot frame), ``perform(action, angle, agent, n_frames)``;
    - ``judge_trajectory(joints)`` replays a joint trajectory on our robot and reports what happened to
      the object (:class:`~sensorimotor.sim.tabletop_judge.Outcome`).

Bad input (a non-finite angle, an unknown action, robot, side, view, camera or novelty, an image size
outside [16, 512]) raises ``ValueError`` naming the value and what is accepted.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence

import numpy as np

from sensorimotor.sim.bullet import connect
from sensorimotor.sim.bullet import pybullet as p
from sensorimotor.sim.tabletop_actions import (
    ACTION_IDS,
    ACTIONS,
    ActionParams,
    Segment,
    action_segments,
    check_action,
    check_angle,
)
from sensorimotor.sim.tabletop_judge import Outcome, classify_imitation, outcome_from_poses
from sensorimotor.sim.tabletop_layout import OBJECT_CENTRE, SIDES, check_side, side_pose
from sensorimotor.sim.tabletop_robots import (
    MESH_DETAILS,
    VIEWS,
    RobotArm,
    joint_names,
    robot_spec,
    wrap_half_turn,
)

__all__ = [
    "ACTIONS",
    "ACTION_IDS",
    "CAMERAS",
    "NOVELTIES",
    "OBJECT_CENTRE",
    "SIDES",
    "VIEWS",
    "check_novelty",
    "ActionParams",
    "Camera",
    "ObjectSpec",
    "Outcome",
    "Segment",
    "TabletopEnv",
    "check_image_size",
    "check_side",
    "classify_imitation",
    "joint_names",
    "judge_trajectory",
    "outcome_from_poses",
    "side_pose",
]

NOVELTIES = ("red_gripper", "other_gripper", "blue_object", "big_object")
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 512

YELLOW = (1.0, 0.82, 0.05, 1.0)
BLUE = (0.1, 0.3, 0.95, 1.0)
RED = (0.9, 0.08, 0.08, 1.0)
TABLE_COLOUR = (0.62, 0.5, 0.38, 1.0)
FLOOR_COLOUR = (0.55, 0.57, 0.6, 1.0)
BIG_OBJECT_SCALE = 1.3


def check_image_size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise ValueError(f"image size must be an int in [{MIN_IMAGE_SIZE}, {MAX_IMAGE_SIZE}], got {size!r}")
    if not MIN_IMAGE_SIZE <= int(size) <= MAX_IMAGE_SIZE:
        raise ValueError(f"image size {size} is outside [{MIN_IMAGE_SIZE}, {MAX_IMAGE_SIZE}]")
    return int(size)


def check_novelty(novelty: Sequence[str]) -> tuple[str, ...]:
    if isinstance(novelty, str):
        novelty = (novelty,)
    unknown = [n for n in novelty if n not in NOVELTIES]
    if unknown:
        raise ValueError(f"unknown novelty {unknown[0]!r}; accepted: {', '.join(NOVELTIES)}")
    return tuple(novelty)


@dataclasses.dataclass(frozen=True)
class ObjectSpec:
    """An object to put on the table.

    ``size``: cylinder (radius, height); box (half-x, half-y, half-z); sphere (radius,). Metres.
    """

    shape: str = "cylinder"
    size: tuple[float, ...] = (0.025, 0.06)
    rgba: tuple[float, float, float, float] = YELLOW
    mass: float = 0.1
    friction: float = 0.6

    def __post_init__(self) -> None:
        expected = {"cylinder": 2, "box": 3, "sphere": 1}
        if self.shape not in expected:
            raise ValueError(f"unknown object shape {self.shape!r}; accepted: {', '.join(expected)}")
        if len(self.size) != expected[self.shape] or not all(math.isfinite(s) and s > 0 for s in self.size):
            raise ValueError(
                f"{self.shape} size must be {expected[self.shape]} positive numbers, got {self.size!r}"
            )
        if len(self.rgba) != 4:
            raise ValueError(f"rgba must have 4 values, got {self.rgba!r}")

    @property
    def radius(self) -> float:
        """Horizontal half-width (the radius of the footprint's enclosing circle for a box)."""
        if self.shape == "box":
            return float(math.hypot(self.size[0], self.size[1]))
        return float(self.size[0])

    @property
    def height(self) -> float:
        if self.shape == "cylinder":
            return float(self.size[1])
        if self.shape == "box":
            return float(2 * self.size[2])
        return float(2 * self.size[0])

    def scaled(self, factor: float) -> ObjectSpec:
        return dataclasses.replace(
            self, size=tuple(s * factor for s in self.size), mass=self.mass * factor**3
        )


@dataclasses.dataclass(frozen=True)
class Camera:
    """A fixed pinhole camera: eye and target in world coordinates, vertical field of view in degrees."""

    eye: tuple[float, float, float]
    target: tuple[float, float, float]
    up: tuple[float, float, float] = (0.0, 0.0, 1.0)
    fov: float = 50.0
    near: float = 0.05
    far: float = 4.0


CAMERAS: dict[str, Camera] = {
    # Our robot's point of view: a head camera above and behind its right shoulder, looking down at
    # the workspace at about 40 degrees. (Straight from behind, the Panda's own shoulder and forearm
    # would hide the hand and the object; see book/simulator.md.)
    "ego": Camera(eye=(-0.45, -0.65, 1.05), target=(0.5, 0.05, 0.05), fov=40.0),
    "overview": Camera(eye=(0.45, -1.5, 1.0), target=(0.45, 0.1, 0.2), fov=45.0),
    "top": Camera(eye=(0.45, 0.0, 1.6), target=(0.45, 0.0, 0.0), up=(1.0, 0.0, 0.0), fov=55.0),
}


def _smoothstep(a: float) -> float:
    return a * a * (3.0 - 2.0 * a)


class _ClawGripper:
    """A visual-only three-finger hand that follows a robot's (hidden) hand: the "other gripper"."""

    def __init__(self, client, arm: RobotArm, rgba=(0.2, 0.2, 0.22, 1.0)) -> None:
        self.client, self.arm = client, arm
        palm = client.createVisualShape(p.GEOM_CYLINDER, radius=0.045, length=0.03, rgbaColor=rgba)
        finger = client.createVisualShape(p.GEOM_BOX, halfExtents=[0.008, 0.008, 0.04], rgbaColor=rgba)
        self.palm = client.createMultiBody(baseMass=0, baseVisualShapeIndex=palm)
        self.fingers = [client.createMultiBody(baseMass=0, baseVisualShapeIndex=finger) for _ in range(3)]
        self.sync()

    def sync(self) -> None:
        c = self.client
        state = c.getLinkState(self.arm.body, self.arm.spec.hand_links[0], computeForwardKinematics=True)
        pos, quat = np.array(state[4]), state[5]
        rot = np.array(c.getMatrixFromQuaternion(quat)).reshape(3, 3)
        c.resetBasePositionAndOrientation(self.palm, (pos + rot @ [0, 0, 0.03]).tolist(), quat)
        spread = 0.015 + 0.5 * self.arm.gripper_opening()
        for i, body in enumerate(self.fingers):
            phi = math.pi / 2 + 2 * math.pi * i / 3
            local = np.array([spread * math.cos(phi), spread * math.sin(phi), 0.08])
            c.resetBasePositionAndOrientation(body, (pos + rot @ local).tolist(), quat)


class TabletopEnv:
    """The tabletop scene in its own pybullet client (several can live in one process).

    ``image_size`` is the default camera resolution (square). ``gui=True`` opens pybullet's window
    (one per process) so a user can watch; images still come from TinyRenderer so they match DIRECT.
    Physics runs at ``time_step`` (240 Hz) with ``solver_iterations`` constraint-solver iterations per
    step (pybullet's default is 50; 20 gives the same pushes and grasps, 14 % faster); scripted motions
    solve IK and update the joint targets every ``control_period`` steps (60 Hz).
    """

    def __init__(
        self,
        robot: str = "panda",
        image_size: int = 64,
        *,
        gui: bool = False,
        mesh_detail: str = "low",
        time_step: float = 1.0 / 240.0,
        params: ActionParams | None = None,
        shadows: bool = False,
        control_period: int = 4,
        solver_iterations: int = 20,
    ) -> None:
        self.spec = robot_spec(robot)
        self.image_size = check_image_size(image_size)
        if mesh_detail not in MESH_DETAILS:
            raise ValueError(f"unknown mesh_detail {mesh_detail!r}; accepted: {', '.join(MESH_DETAILS)}")
        if not (math.isfinite(time_step) and 0 < time_step <= 0.02):
            raise ValueError(f"time_step must be in (0, 0.02] seconds, got {time_step!r}")
        params = ActionParams() if params is None else params
        params.validate()
        self.mesh_detail = mesh_detail
        self.time_step = float(time_step)
        self.params = params
        self.shadows = bool(shadows)
        self.gui = bool(gui)
        if isinstance(control_period, bool) or not isinstance(control_period, int) or control_period < 1:
            raise ValueError(
                f"control_period must be a positive int (physics steps per IK update), got {control_period!r}"
            )
        self.control_period = control_period
        if (
            isinstance(solver_iterations, bool)
            or not isinstance(solver_iterations, int)
            or solver_iterations < 1
        ):
            raise ValueError(f"solver_iterations must be a positive int, got {solver_iterations!r}")
        self.solver_iterations = solver_iterations
        self.client = connect(p.GUI if gui else p.DIRECT)
        self.cameras: dict[str, Camera] = dict(CAMERAS)
        self.agents: dict[str, RobotArm] = {}
        self.objects: dict[str, int] = {}
        self.object_specs: dict[str, ObjectSpec] = {}
        self._claws: list[_ClawGripper] = []
        self.steps = 0
        self.reset()

    # ------------------------------------------------------------------------------ lifecycle
    def __enter__(self) -> TabletopEnv:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Disconnect the pybullet client (the env cannot be used afterwards)."""
        client, self.client = getattr(self, "client", None), None
        if client is not None:
            try:
                client.disconnect()
            except p.error:
                pass

    @property
    def robot(self) -> RobotArm:
        """Our own robot (``agents["self"]``)."""
        return self.agents["self"]

    def reset(
        self,
        *,
        other: str | None = None,
        view: str = "full",
        novelty: Sequence[str] = (),
        object_spec: ObjectSpec | None = None,
        with_object: bool = True,
    ) -> None:
        """Rebuild the scene from scratch: table, our robot at rest, the object in the middle.

        ``other``: add a second robot of the same kind on that side. ``view`` and ``novelty`` apply to
        the demonstrator, i.e. the other robot if there is one, else our own: ``view`` hides parts of
        it (``"hand_only"``, ``"hand_and_base"``), ``novelty`` is any of ``"red_gripper"``,
        ``"other_gripper"`` (a three-finger hand drawn over the Panda's), ``"blue_object"`` and
        ``"big_object"`` (1.3 times larger).
        """
        if other is not None:
            check_side(other, allow_self=False)
        if view not in VIEWS:
            raise ValueError(f"unknown view {view!r}; accepted views: {', '.join(VIEWS)}")
        novelty = check_novelty(novelty)
        c = self.client
        if c is None:
            raise RuntimeError("this TabletopEnv is closed")
        c.resetSimulation()
        c.setPhysicsEngineParameter(
            fixedTimeStep=self.time_step,
            numSolverIterations=self.solver_iterations,
            deterministicOverlappingPairs=1,
        )
        c.setGravity(0, 0, -9.81)
        if self.gui:
            c.configureDebugVisualizer(p.COV_ENABLE_GUI, 0)
        self.agents, self.objects, self.object_specs, self._claws = {}, {}, {}, []
        self.steps = 0
        self._build_table()
        self.add_agent("self")
        if other is not None:
            self.add_agent(other)
        demo = self.agents[other or "self"]
        demo.set_view(view)
        if "red_gripper" in novelty:
            demo.set_hand_colour(RED)
        if "other_gripper" in novelty:
            demo.hide_hand()
            self._claws.append(_ClawGripper(c, demo))
        spec = object_spec or ObjectSpec()
        if "blue_object" in novelty:
            spec = dataclasses.replace(spec, rgba=BLUE)
        if "big_object" in novelty:
            spec = spec.scaled(BIG_OBJECT_SCALE)
        if with_object:
            self.add_object("object", spec)

    def _build_table(self) -> None:
        c = self.client
        half = [0.75, 0.75, 0.02]
        centre = [0.45, 0.0, -half[2]]
        table = c.createMultiBody(
            baseMass=0,
            baseCollisionShapeIndex=c.createCollisionShape(p.GEOM_BOX, halfExtents=half),
            baseVisualShapeIndex=c.createVisualShape(p.GEOM_BOX, halfExtents=half, rgbaColor=TABLE_COLOUR),
            basePosition=centre,
        )
        c.changeDynamics(table, -1, lateralFriction=0.3)
        floor_half = [4.0, 4.0, 0.01]
        c.createMultiBody(
            baseMass=0,
            baseVisualShapeIndex=c.createVisualShape(
                p.GEOM_BOX, halfExtents=floor_half, rgbaColor=FLOOR_COLOUR
            ),
            basePosition=[0.45, 0.0, -0.75],
        )
        self.table = table

    # ------------------------------------------------------------------------------ contents
    def add_agent(self, side: str) -> RobotArm:
        """Put a robot of our kind on ``side`` (at rest in its start pose) and return it."""
        check_side(side)
        if side in self.agents:
            raise ValueError(f"there is already an agent on side {side!r}")
        position, yaw = side_pose(side)
        arm = RobotArm(self.client, self.spec, position, yaw, self.mesh_detail, name=side)
        for other in self.agents.values():  # robots never collide with each other
            for a in range(-1, self.client.getNumJoints(arm.body)):
                for b in range(-1, self.client.getNumJoints(other.body)):
                    self.client.setCollisionFilterPair(arm.body, other.body, a, b, 0)
        self.agents[side] = arm
        return arm

    def add_object(
        self,
        name: str,
        spec: ObjectSpec = ObjectSpec(),
        position: Sequence[float] | None = None,
        orientation: Sequence[float] = (0.0, 0.0, 0.0, 1.0),
    ) -> int:
        """Add a rigid object resting on the table (default: in the middle); returns its body id.

        ``position`` is the centre (x, y) or (x, y, z); without z the object rests on the table.
        """
        if name in self.objects:
            raise ValueError(f"there is already an object named {name!r}")
        c = self.client
        if spec.shape == "cylinder":
            col = c.createCollisionShape(p.GEOM_CYLINDER, radius=spec.size[0], height=spec.size[1])
            vis = c.createVisualShape(
                p.GEOM_CYLINDER, radius=spec.size[0], length=spec.size[1], rgbaColor=spec.rgba
            )
        elif spec.shape == "box":
            col = c.createCollisionShape(p.GEOM_BOX, halfExtents=list(spec.size))
            vis = c.createVisualShape(p.GEOM_BOX, halfExtents=list(spec.size), rgbaColor=spec.rgba)
        else:
            col = c.createCollisionShape(p.GEOM_SPHERE, radius=spec.size[0])
            vis = c.createVisualShape(p.GEOM_SPHERE, radius=spec.size[0], rgbaColor=spec.rgba)
        xyz = list(position) if position is not None else list(OBJECT_CENTRE)
        if len(xyz) == 2:
            xyz.append(spec.height / 2)
        if len(xyz) != 3 or not all(math.isfinite(float(v)) for v in xyz):
            raise ValueError(f"object position must be 2 or 3 finite numbers, got {position!r}")
        body = c.createMultiBody(
            baseMass=spec.mass,
            baseCollisionShapeIndex=col,
            baseVisualShapeIndex=vis,
            basePosition=[float(v) for v in xyz],
            baseOrientation=[float(v) for v in orientation],
        )
        c.changeDynamics(
            body, -1, lateralFriction=spec.friction, spinningFriction=0.001, rollingFriction=0.0001
        )
        self.objects[name] = body
        self.object_specs[name] = spec
        return body

    def remove_object(self, name: str) -> None:
        if name not in self.objects:
            raise ValueError(f"no object named {name!r}; objects: {sorted(self.objects)}")
        self.client.removeBody(self.objects.pop(name))
        del self.object_specs[name]

    def object_pose(self, name: str = "object") -> np.ndarray:
        """World pose of an object: x, y, z, qx, qy, qz, qw."""
        if name not in self.objects:
            raise ValueError(f"no object named {name!r}; objects: {sorted(self.objects)}")
        pos, quat = self.client.getBasePositionAndOrientation(self.objects[name])
        return np.array([*pos, *quat])

    def agent(self, side: str) -> RobotArm:
        check_side(side)
        if side not in self.agents:
            raise ValueError(f"no agent on side {side!r}; agents: {sorted(self.agents)}")
        return self.agents[side]

    # ------------------------------------------------------------------------- stepping, camera
    def step(self, n: int = 1) -> None:
        """Advance the physics by ``n`` fixed time steps (motors keep their last targets)."""
        for _ in range(int(n)):
            self.client.stepSimulation()
            self.steps += 1
        if self.gui:
            for claw in self._claws:
                claw.sync()

    def add_camera(self, name: str, camera: Camera) -> None:
        self.cameras[name] = camera

    def render(self, camera: str = "ego", size: int | None = None) -> np.ndarray:
        """An RGB image (uint8, H x W x 3) from the named camera, TinyRenderer, no shadows by default."""
        if camera not in self.cameras:
            raise ValueError(f"unknown camera {camera!r}; cameras: {', '.join(self.cameras)}")
        size = self.image_size if size is None else check_image_size(size)
        cam = self.cameras[camera]
        for claw in self._claws:
            claw.sync()
        c = self.client
        view = c.computeViewMatrix(cam.eye, cam.target, cam.up)
        proj = c.computeProjectionMatrixFOV(cam.fov, 1.0, cam.near, cam.far)
        _, _, rgba, _, _ = c.getCameraImage(
            size,
            size,
            view,
            proj,
            renderer=p.ER_TINY_RENDERER,
            shadow=int(self.shadows),
            flags=p.ER_NO_SEGMENTATION_MASK,
        )
        return np.asarray(rgba, dtype=np.uint8).reshape(size, size, 4)[..., :3].copy()

    # ------------------------------------------------------------------------------ motion
    def run_segments(
        self,
        agent: str,
        segments: Sequence[Segment],
        *,
        frame: str = "local",
        on_step: Callable[[int], None] | None = None,
    ) -> int:
        """Execute Cartesian segments with ``agent``'s hand; returns the number of physics steps.

        Each segment starts where the previous one's target was (the first from the measured hand
        pose) and interpolates position, yaw (the nearest equivalent half-turn) and opening with a
        smooth step; IK runs every physics step. ``frame="local"``: positions/yaws in the agent's frame.
        ``on_step(k)`` is called after the k-th step (k = 1, 2, ...).
        """
        arm = self.agent(agent)
        if frame not in ("local", "world"):
            raise ValueError(f"frame must be 'local' or 'world', got {frame!r}")
        pose = arm.ee_pose()
        position, yaw, opening = pose[:3], arm.ee_yaw(), arm.gripper_opening()
        dt = self.time_step
        elapsed, k = 0.0, 0
        for seg in segments:
            target = np.asarray(seg.position, dtype=float)
            target_yaw = float(seg.yaw)
            if frame == "local":
                target, target_yaw = arm.local_to_world(target), target_yaw + arm.base_yaw
            target_yaw = yaw + wrap_half_turn(target_yaw - yaw)
            elapsed += float(seg.duration)
            n = max(int(round(elapsed / dt)) - k, 0)
            s = 0
            while s < n:
                s_next = min(s + self.control_period, n)
                a = _smoothstep(s_next / n)
                q = arm.ik_top_down(position + a * (target - position), yaw + a * (target_yaw - yaw))
                arm.command(q, opening + a * (seg.opening - opening))
                for _ in range(s_next - s):
                    self.client.stepSimulation()
                    self.steps += 1
                    k += 1
                    if on_step is not None:
                        on_step(k)
                s = s_next
            position, yaw, opening = target, target_yaw, float(seg.opening)
        if self.gui:
            for claw in self._claws:
                claw.sync()
        return k

    def move_hand(
        self,
        agent: str,
        position: Sequence[float],
        yaw: float,
        opening: float,
        duration: float,
        on_step: Callable[[int], None] | None = None,
    ) -> int:
        """Move ``agent``'s grasp point along a straight line to a world ``position`` (top-down hand)."""
        yaw = check_angle(yaw)
        seg = Segment(tuple(float(v) for v in position), yaw, float(opening), float(duration))
        return self.run_segments(agent, [seg], frame="world", on_step=on_step)

    def set_gripper(self, agent: str, opening: float, duration: float = 0.3) -> int:
        """Open/close ``agent``'s hand to ``opening`` metres where it is (force-limited when closing)."""
        arm = self.agent(agent)
        pose = arm.ee_pose()
        seg = Segment(tuple(pose[:3]), arm.ee_yaw(), float(opening), float(duration))
        return self.run_segments(agent, [seg], frame="world")

    def action_plan(
        self, action: str, angle: float, agent: str = "self", obj: str = "object"
    ) -> list[Segment]:
        """The waypoints (agent's frame) of ``action`` at ``angle`` on object ``obj`` as it is now."""
        check_action(action)
        angle = check_angle(angle)
        arm = self.agent(agent)
        spec = self.object_specs[obj] if obj in self.object_specs else ObjectSpec()
        centre = arm.world_to_local(self.object_pose(obj)[:3])
        start = arm.world_to_local(arm.ee_pose()[:3])
        return action_segments(
            action,
            angle,
            centre[:2],
            spec.radius,
            spec.height,
            start,
            arm.ee_yaw() - arm.base_yaw,
            self.spec.max_opening,
            self.params,
        )

    def perform(
        self,
        action: str,
        angle: float,
        agent: str = "self",
        *,
        n_frames: int = 50,
        render: bool = True,
        camera: str = "ego",
        size: int | None = None,
        obj: str = "object",
    ) -> dict[str, np.ndarray]:
        """Execute ``action`` at ``angle`` with ``agent`` on object ``obj``; record ``n_frames`` steps.

        Returns ``t`` (T,) in [0, 1], ``joints`` (T, D) of the acting agent (arm angles + opening),
        ``ee_pose`` (T, 7), ``object_pose`` (T, 7) of ``obj``, ``images`` (T, H, W, 3) uint8 from
        ``camera`` when ``render`` (else absent), ``action`` (int) and ``angle`` (float). The recorded
        steps are evenly spaced over the whole action, the first before it starts, the last at its end.
        """
        if isinstance(n_frames, bool) or not isinstance(n_frames, (int, np.integer)) or n_frames < 2:
            raise ValueError(f"n_frames must be an int >= 2, got {n_frames!r}")
        segments = self.action_plan(action, angle, agent, obj)
        arm = self.agent(agent)
        total = int(round(sum(s.duration for s in segments) / self.time_step))
        record_at = np.round(np.linspace(0, total, n_frames)).astype(int)
        wanted: dict[int, list[int]] = {}
        for i, k in enumerate(record_at):
            wanted.setdefault(int(k), []).append(i)
        joints = np.zeros((n_frames, self.spec.n_joints), np.float32)
        ee = np.zeros((n_frames, 7), np.float32)
        obj_pose = np.zeros((n_frames, 7), np.float32)
        images = np.zeros((n_frames, *(2 * (size or self.image_size,)), 3), np.uint8) if render else None

        def capture(k: int) -> None:
            for i in wanted.get(k, ()):
                joints[i] = arm.proprio()
                ee[i] = arm.ee_pose()
                obj_pose[i] = self.object_pose(obj)
                if images is not None:
                    images[i] = self.render(camera, size)

        capture(0)
        self.run_segments(agent, segments, on_step=lambda k: capture(k) if k in wanted else None)
        out = {
            "t": np.linspace(0.0, 1.0, n_frames, dtype=np.float32),
            "joints": joints,
            "ee_pose": ee,
            "object_pose": obj_pose,
            "action": np.int64(ACTION_IDS[action]),
            "angle": np.float32(angle),
        }
        if images is not None:
            out["images"] = images
        return out


def judge_trajectory(
    joints: np.ndarray,
    robot: str = "panda",
    *,
    duration: float | None = None,
    object_spec=None,
    settle: float = 0.5,
    env=None,
) -> Outcome:
    """Replay a joint trajectory on our robot and report what it did to the object.

    ``joints``: (T, D) arm angles (radians) + gripper opening (metres), as in the datasets; the robot
    starts at ``joints[0]`` (teleported), the object at its start pose in the middle of the table, and
    position targets are interpolated linearly between the T samples over ``duration`` seconds (the
    repertoire's duration by default, so a recorded interaction replays at its own speed), then held
    for ``settle`` seconds. Values outside the joint limits are clipped. Pass ``env`` to reuse a
    :class:`~sensorimotor.sim.tabletop.TabletopEnv` (it is reset); otherwise a DIRECT one is made.
    """
    spec = robot_spec(robot)
    q = np.asarray(joints, dtype=float)
    if q.ndim != 2 or q.shape[0] < 2 or q.shape[1] != spec.n_joints:
        raise ValueError(
            f"joints must have shape (T>=2, {spec.n_joints}) for robot {robot!r} "
            f"({', '.join(spec.joint_names)}), got {q.shape}"
        )
    if not np.isfinite(q).all():
        raise ValueError("joints contain non-finite values")
    own = env is None
    if own:
        env = TabletopEnv(robot, image_size=16)
    try:
        env.reset(object_spec=object_spec)
        duration = env.params.duration if duration is None else float(duration)
        if not (math.isfinite(duration) and duration > 0):
            raise ValueError(f"duration must be a positive number of seconds, got {duration!r}")
        arm = env.robot
        arm.reset(q[0, :-1], q[0, -1])
        steps = max(int(round(duration / env.time_step)), 1)
        sample_t = np.linspace(0.0, duration, len(q))
        poses = [env.object_pose()]
        for k in range(1, steps + 1):
            t = k * env.time_step
            target = np.array([np.interp(t, sample_t, q[:, j]) for j in range(q.shape[1])])
            arm.command(target[:-1], target[-1])
            env.step()
            if k % 4 == 0:
                poses.append(env.object_pose())
        for k in range(int(round(settle / env.time_step))):
            env.step()
            if k % 4 == 0:
                poses.append(env.object_pose())
        poses.append(env.object_pose())
        robot_xy = arm.base_position[:2]
        return outcome_from_poses(np.array(poses), robot_xy)
    finally:
        if own:
            env.close()
