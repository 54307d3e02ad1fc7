"""Instructed manipulation tasks on the tabletop simulator (the mirror-alignment chapter's RLBench stand-in).

Eight task classes, each with several instruction variants (which object, which colour, which place), so
that *episode* (one seeded layout), *instruction* and *task class* are three distinct levels:

========================  ===============================================  =========================
task                      instruction template                              success
========================  ===============================================  =========================
``push_side``             push the {red|blue} cube to the {left|right}      cube moved >= 6 cm that way
``slide_to_target``       slide the {red|blue} cube onto the {green|yellow} target   cube centre on the target
``lift``                  pick up the {red|green|blue} cube                 cube >= 7 cm above the table
``place_in_tray``         put the {red|green|blue} cube in the tray         cube resting inside the tray
``stack``                 stack the {a} cube on the {b} cube                a resting on b
``sort_shape``            put the {cube|cylinder} in the {left|right} bin   that shape inside that bin
``press_button``          press the {red|green|blue} button                 hand touched that button
``sort_colour``           put the {c} cube on the {c} square                cube resting on its square
========================  ===============================================  =========================

:class:`TaskEnv` composes a :class:`~sensorimotor.sim.tabletop.TabletopEnv` (our Panda, top-down hand) and
adds what a closed-loop policy needs: an end-effector action space, observations, an observer camera, a
scripted expert and success detectors.

- **action** (4,): ``dx, dy, dz`` (metres, norm clipped to ``max_step``) move the commanded grasp point;
  ``grip`` (1 = close, 0 = open). One action lasts ``control_dt`` seconds of physics (IK every few steps).
- **observation**: ``image`` (H, W, 3) uint8 from the robot's own head camera; ``proprio`` (12,) = arm
  joint angles (7) + gripper opening + grasp-point position (3) + the gripper command.
- **observer frame**: the same scene from a third-person camera in front of the robot (the "other"
  viewpoint of action understanding).
- **expert**: waypoints planned from the layout at reset; each step moves the command towards the next
  waypoint (:meth:`TaskEnv.expert_action`).
- **seeds**: ``reset(task, variant, seed)`` draws a new layout from the seed (same seed, same layout).

Unknown task names or variants raise ``ValueError`` naming what is accepted.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np

from sensorimotor.seeding import rng as make_rng
from sensorimotor.sim.tabletop import Camera, ObjectSpec, TabletopEnv

COLOURS: dict[str, tuple[float, float, float, float]] = {
    "red": (0.9, 0.1, 0.1, 1.0),
    "green": (0.1, 0.75, 0.2, 1.0),
    "blue": (0.1, 0.25, 0.95, 1.0),
    "yellow": (0.95, 0.85, 0.1, 1.0),
}
TRAY_RGBA = (0.95, 0.95, 0.95, 1.0)
BIN_RGBA = (0.3, 0.3, 0.3, 1.0)
CUBE_HALF = 0.025
CYLINDER = (0.025, 0.05)
PAD_HALF = 0.045
TRAY_HALF = 0.065
BUTTON = (0.03, 0.012)  # radius, height
OPEN, CLOSED = 0.0, 1.0
ACTION_DIM = 4
PROPRIO_DIM = 12
# x forward from the robot base, y to its left (metres). Objects are drawn inside this box.
WORKSPACE_X = (0.36, 0.62)
WORKSPACE_Y = (-0.2, 0.2)
COMMAND_LOW = np.array([0.2, -0.35, 0.015])
COMMAND_HIGH = np.array([0.75, 0.35, 0.35])
HOVER_Z = 0.14
GRASP_Z = 0.022
PUSH_Z = 0.02

START_HAND = (0.45, 0.0, 0.2)  # the hand waits here, open, when an episode starts
# The robot's own camera: in front of the workspace, high, looking back down at it (about 55 degrees), so
# the arm stays behind the objects and the table fills the frame (at 64 px a 5 cm cube spans about 6 px).
ROBOT_CAMERA = Camera(eye=(0.85, 0.0, 0.95), target=(0.47, 0.0, 0.0), fov=34.0)
# The observer: a third person standing in front of the robot, to its right.
OBSERVER_CAMERA = Camera(eye=(0.95, -0.35, 0.5), target=(0.45, 0.0, 0.06), fov=42.0)


@dataclasses.dataclass(frozen=True)
class Instruction:
    """One instruction variant of a task: its text and the parameters the scene and expert read."""

    task: str
    text: str
    params: tuple[tuple[str, str], ...]

    def get(self, key: str) -> str:
        return dict(self.params)[key]


def _variants(task: str, template: str, combos: list[dict[str, str]]) -> tuple[Instruction, ...]:
    return tuple(Instruction(task, template.format(**c), tuple(sorted(c.items()))) for c in combos)


INSTRUCTIONS: dict[str, tuple[Instruction, ...]] = {
    "push_side": _variants("push_side", "push the {colour} cube to the {side}",
                           [{"colour": c, "side": s} for c in ("red", "blue") for s in ("left", "right")]),
    "slide_to_target": _variants("slide_to_target", "slide the {colour} cube onto the {target} target",
                                 [{"colour": c, "target": t} for c in ("red", "blue") for t in ("green", "yellow")]),
    "lift": _variants("lift", "pick up the {colour} cube", [{"colour": c} for c in ("red", "green", "blue")]),
    "place_in_tray": _variants("place_in_tray", "put the {colour} cube in the tray",
                               [{"colour": c} for c in ("red", "green", "blue")]),
    "stack": _variants("stack", "stack the {top} cube on the {bottom} cube",
                       [{"top": a, "bottom": b} for a, b in (("red", "blue"), ("blue", "red"), ("green", "red"),
                                                              ("red", "green"))]),
    "sort_shape": _variants("sort_shape", "put the {shape} in the {side} bin",
                            [{"shape": s, "side": d} for s in ("cube", "cylinder") for d in ("left", "right")]),
    "press_button": _variants("press_button", "press the {colour} button",
                              [{"colour": c} for c in ("red", "green", "blue")]),
    "sort_colour": _variants("sort_colour", "put the {colour} cube on the {colour} square",
                             [{"colour": c} for c in ("red", "green", "blue")]),
}  # fmt: skip
TASKS: tuple[str, ...] = tuple(INSTRUCTIONS)


def check_task(task: str) -> str:
    if task not in INSTRUCTIONS:
        raise ValueError(f"unknown task {task!r}; accepted: {', '.join(TASKS)}")
    return task


def instructions(task: str) -> tuple[Instruction, ...]:
    return INSTRUCTIONS[check_task(task)]


def all_instructions(tasks: tuple[str, ...] = TASKS) -> tuple[Instruction, ...]:
    """Every instruction of ``tasks`` in a fixed order (the order defines instruction ids)."""
    return tuple(i for t in tasks for i in instructions(t))


@dataclasses.dataclass(frozen=True)
class Waypoint:
    """A target for the commanded grasp point, the gripper command there, and steps to wait on arrival."""

    position: tuple[float, float, float]
    grip: float
    dwell: int = 0


def _cube(colour: str) -> ObjectSpec:
    return ObjectSpec("box", (CUBE_HALF,) * 3, COLOURS[colour], mass=0.05, friction=1.0)


def _pad(rgba, half: float) -> ObjectSpec:
    return ObjectSpec("box", (half, half, 0.0015), rgba, mass=0.0)


class TaskEnv:
    """A tabletop scene running one instructed task at a time (see the module docstring)."""

    def __init__(
        self,
        image_size: int = 48,
        video_size: int = 48,
        *,
        control_dt: float = 0.1,
        max_step: float = 0.04,
        ik_every: int = 4,
        robot: str = "panda",
    ) -> None:
        self.sim = TabletopEnv(robot, image_size)
        self.sim.add_camera("robot", ROBOT_CAMERA)
        self.sim.add_camera("observer", OBSERVER_CAMERA)
        self.image_size, self.video_size = image_size, video_size
        self.substeps = max(1, int(round(control_dt / self.sim.time_step)))
        self.max_step, self.ik_every = float(max_step), max(1, int(ik_every))
        self.task: str | None = None
        self.instruction: Instruction | None = None

    def __enter__(self) -> TaskEnv:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.sim.close()

    # ------------------------------------------------------------------------------ episodes
    def reset(self, task: str, variant: int, seed: int) -> dict[str, np.ndarray]:
        """A new episode of ``task`` / instruction ``variant`` with the layout drawn from ``seed``."""
        options = instructions(task)
        if isinstance(variant, bool) or not isinstance(variant, (int, np.integer)) or not 0 <= variant < len(options):
            raise ValueError(f"task {task!r} has variants 0..{len(options) - 1}, got {variant!r}")
        self.task, self.instruction = task, options[int(variant)]
        self.sim.reset(with_object=False)
        generator = make_rng(int(seed), "tasks", TASKS.index(task), int(variant))
        self._placed: list[tuple[float, float, float]] = []
        self.regions: dict[str, tuple[float, float, float]] = {}  # name -> (x, y, half-size)
        self._touched = False
        getattr(self, f"_setup_{task}")(generator)
        arm = self.sim.robot
        self.sim.move_hand("self", START_HAND, 0.0, arm.spec.max_opening, 0.4)
        self.sim.step(30)  # let the objects and the arm settle
        self.start = {name: self.sim.object_pose(name) for name in self.sim.objects}
        self.command = self.sim.robot.ee_pose()[:3].copy()
        self.grip = OPEN
        self.plan = self._plan()
        self._waypoint, self._dwell = 0, 0
        return self.observe()

    @property
    def text(self) -> str:
        assert self.instruction is not None, "call reset() first"
        return self.instruction.text

    def observe(self) -> dict[str, np.ndarray]:
        arm = self.sim.robot
        proprio = np.concatenate([arm.proprio(), arm.ee_pose()[:3], [self.grip]]).astype(np.float32)
        return {"image": self.sim.render("robot", self.image_size), "proprio": proprio}

    def observer_frame(self) -> np.ndarray:
        return self.sim.render("observer", self.video_size)

    def step(self, action, observe: bool = True) -> dict[str, np.ndarray] | None:
        """Apply one action (dx, dy, dz, grip) for ``control_dt`` seconds; returns the new observation
        (None with ``observe=False``: no image is rendered)."""
        action = np.asarray(action, dtype=float)
        if action.shape != (ACTION_DIM,) or not np.isfinite(action).all():
            raise ValueError(f"an action must be {ACTION_DIM} finite numbers (dx, dy, dz, grip), got {action!r}")
        delta = action[:3]
        norm = float(np.linalg.norm(delta))
        if norm > self.max_step:
            delta = delta * (self.max_step / norm)
        start = self.command
        target = np.clip(start + delta, COMMAND_LOW, COMMAND_HIGH)
        self.grip = CLOSED if action[3] >= 0.5 else OPEN
        arm = self.sim.robot
        opening = 0.0 if self.grip == CLOSED else arm.spec.max_opening
        for s in range(1, self.substeps + 1):
            if s % self.ik_every == 0 or s == 1:
                a = min(1.0, (s + self.ik_every - 1) / self.substeps)
                arm.command(arm.ik_top_down(start + a * (target - start), 0.0), opening)
            self.sim.step(1)
        self.command = target
        self._after_step()
        return self.observe() if observe else None

    # ------------------------------------------------------------------------------ expert
    def expert_action(self) -> np.ndarray:
        """The scripted expert's next action: towards the current waypoint, then dwell, then the next."""
        while self._waypoint < len(self.plan):
            wp = self.plan[self._waypoint]
            gap = np.asarray(wp.position) - self.command
            if np.linalg.norm(gap) > 1e-4 or self._dwell < wp.dwell:
                if np.linalg.norm(gap) <= 1e-4:
                    self._dwell += 1
                norm = float(np.linalg.norm(gap))
                step = gap if norm <= self.max_step else gap * (self.max_step / norm)
                return np.array([*step, wp.grip], dtype=np.float32)
            self._waypoint, self._dwell = self._waypoint + 1, 0
        last = self.plan[-1].grip if self.plan else OPEN
        return np.array([0.0, 0.0, 0.0, last], dtype=np.float32)

    @property
    def expert_done(self) -> bool:
        return self._waypoint >= len(self.plan)

    # ------------------------------------------------------------------------------ success
    def success(self) -> bool:
        """Whether the instruction is fulfilled now (touch tasks: at any step so far)."""
        return bool(getattr(self, f"_success_{self.task}")())

    def _after_step(self) -> None:
        if self.task == "press_button":
            x, y, _ = self.regions["button_" + self.instruction.get("colour")]
            ee = self.sim.robot.ee_pose()[:3]
            if math.hypot(ee[0] - x, ee[1] - y) < BUTTON[0] and ee[2] < BUTTON[1] + 0.03:
                self._touched = True

    # ------------------------------------------------------------------------------ layouts
    def _free_xy(self, generator: np.random.Generator, clearance: float, x=WORKSPACE_X, y=WORKSPACE_Y):
        for _ in range(500):
            p = (float(generator.uniform(*x)), float(generator.uniform(*y)))
            if all(math.hypot(p[0] - q[0], p[1] - q[1]) >= clearance + r for q in self._placed for r in [q[2]]):
                self._placed.append((*p, clearance))
                return p
        raise RuntimeError("could not place an object without overlap; the workspace is too crowded")

    def _add_cube(self, name: str, colour: str, generator, **where) -> None:
        self.sim.add_object(name, _cube(colour), self._free_xy(generator, 0.055, **where))

    def _add_pad(self, name: str, rgba, half: float, generator, **where) -> None:
        xy = self._free_xy(generator, half + 0.04, **where)
        body = self.sim.add_object(name, _pad(rgba, half), (*xy, 0.0016))
        self.sim.client.setCollisionFilterGroupMask(body, -1, 0, 0)  # visual only: objects slide over it
        self.regions[name] = (*xy, half)

    def _others(self, colour: str, pool=("red", "green", "blue")) -> list[str]:
        return [c for c in pool if c != colour]

    def _setup_push_side(self, g) -> None:
        colour = self.instruction.get("colour")
        self._add_cube("target", colour, g, y=(-0.1, 0.1))
        self._add_cube("distractor", self._others(colour, ("red", "blue"))[0], g)

    def _setup_slide_to_target(self, g) -> None:
        colour, target = self.instruction.get("colour"), self.instruction.get("target")
        other = "yellow" if target == "green" else "green"
        self._add_pad("goal", COLOURS[target], PAD_HALF, g)
        self._add_pad("other_pad", COLOURS[other], PAD_HALF, g)
        self._add_cube("target", colour, g)
        self._add_cube("distractor", "blue" if colour == "red" else "red", g)

    def _setup_lift(self, g) -> None:
        colour = self.instruction.get("colour")
        self._add_cube("target", colour, g)
        self._add_cube("distractor", self._others(colour)[int(g.integers(2))], g)

    def _setup_place_in_tray(self, g) -> None:
        colour = self.instruction.get("colour")
        self._add_pad("tray", TRAY_RGBA, TRAY_HALF, g)
        self._add_cube("target", colour, g)
        self._add_cube("distractor", self._others(colour)[int(g.integers(2))], g)

    def _setup_stack(self, g) -> None:
        top, bottom = self.instruction.get("top"), self.instruction.get("bottom")
        self._add_cube("target", top, g)
        self._add_cube("base", bottom, g)
        self._add_cube("distractor", next(c for c in ("red", "green", "blue") if c not in (top, bottom)), g)

    def _setup_sort_shape(self, g) -> None:
        self._add_pad("bin_left", BIN_RGBA, PAD_HALF, g, y=(0.12, 0.2))
        self._add_pad("bin_right", BIN_RGBA, PAD_HALF, g, y=(-0.2, -0.12))
        cube = _cube("yellow")
        cyl = ObjectSpec("cylinder", CYLINDER, COLOURS["yellow"], mass=0.05)
        specs = {"cube": cube, "cylinder": cyl}
        shape = self.instruction.get("shape")
        for name, spec in (("target", specs[shape]), ("distractor", specs["cylinder" if shape == "cube" else "cube"])):
            self.sim.add_object(name, spec, self._free_xy(g, 0.055, y=(-0.07, 0.07)))

    def _setup_press_button(self, g) -> None:
        for colour in ("red", "green", "blue"):
            xy = self._free_xy(g, BUTTON[0] + 0.04)
            self.sim.add_object(
                f"button_{colour}", ObjectSpec("cylinder", BUTTON, COLOURS[colour], mass=0.0), (*xy, BUTTON[1] / 2)
            )
            self.regions[f"button_{colour}"] = (*xy, BUTTON[0])

    def _setup_sort_colour(self, g) -> None:
        colour = self.instruction.get("colour")
        other = self._others(colour)[int(g.integers(2))]
        self._add_pad("goal", COLOURS[colour], PAD_HALF, g)
        self._add_pad("other_pad", COLOURS[other], PAD_HALF, g)
        self._add_cube("target", colour, g)
        self._add_cube("distractor", other, g)

    # ------------------------------------------------------------------------------ plans
    def _xy(self, name: str) -> np.ndarray:
        return self.start[name][:2].copy()

    def _pick_place(self, source: np.ndarray, goal: np.ndarray, place_z: float) -> list[Waypoint]:
        return [
            Waypoint((*source, HOVER_Z), OPEN),
            Waypoint((*source, GRASP_Z), OPEN),
            Waypoint((*source, GRASP_Z), CLOSED, dwell=3),
            Waypoint((*source, HOVER_Z), CLOSED),
            Waypoint((*goal, HOVER_Z), CLOSED),
            Waypoint((*goal, place_z), CLOSED),
            Waypoint((*goal, place_z), OPEN, dwell=2),
            Waypoint((*goal, HOVER_Z), OPEN),
        ]

    def _push(self, obj: np.ndarray, goal: np.ndarray, overshoot: float = 0.0) -> list[Waypoint]:
        direction = goal - obj
        direction /= max(float(np.linalg.norm(direction)), 1e-6)
        behind = obj - direction * (CUBE_HALF + 0.035)
        end = goal - direction * (CUBE_HALF + 0.012 - overshoot)
        return [
            Waypoint((*behind, HOVER_Z), CLOSED),
            Waypoint((*behind, PUSH_Z), CLOSED),
            Waypoint((*end, PUSH_Z), CLOSED),
            Waypoint((*end, HOVER_Z), CLOSED),
        ]

    def _plan(self) -> list[Waypoint]:
        task, ins = self.task, self.instruction
        if task == "push_side":
            obj = self._xy("target")
            sign = 1.0 if ins.get("side") == "left" else -1.0
            return self._push(obj, obj + np.array([0.0, sign * 0.1]))
        if task == "slide_to_target":
            return self._push(self._xy("target"), np.array(self.regions["goal"][:2]))
        if task == "lift":
            obj = self._xy("target")
            return [Waypoint((*obj, HOVER_Z), OPEN), Waypoint((*obj, GRASP_Z), OPEN),
                    Waypoint((*obj, GRASP_Z), CLOSED, dwell=3), Waypoint((*obj, HOVER_Z), CLOSED, dwell=2)]  # fmt: skip
        if task in ("place_in_tray", "sort_colour"):
            region = "tray" if task == "place_in_tray" else "goal"
            return self._pick_place(self._xy("target"), np.array(self.regions[region][:2]), GRASP_Z + 0.01)
        if task == "stack":
            return self._pick_place(self._xy("target"), self._xy("base"), GRASP_Z + 2 * CUBE_HALF + 0.01)
        if task == "sort_shape":
            region = "bin_" + ins.get("side")
            return self._pick_place(self._xy("target"), np.array(self.regions[region][:2]), GRASP_Z + 0.01)
        if task == "press_button":
            x, y, _ = self.regions["button_" + ins.get("colour")]
            press = BUTTON[1] + 0.012
            return [Waypoint((x, y, HOVER_Z), CLOSED), Waypoint((x, y, press), CLOSED, dwell=1),
                    Waypoint((x, y, HOVER_Z), CLOSED)]  # fmt: skip
        raise AssertionError(task)

    # ------------------------------------------------------------------------------ detectors
    def _pose(self, name: str) -> np.ndarray:
        return self.sim.object_pose(name)

    def _resting_in(self, name: str, region: str, margin: float = 0.0) -> bool:
        x, y, half = self.regions[region]
        pose = self._pose(name)
        inside = abs(pose[0] - x) <= half + margin and abs(pose[1] - y) <= half + margin
        return bool(inside and pose[2] < 0.045)

    def _success_push_side(self) -> bool:
        sign = 1.0 if self.instruction.get("side") == "left" else -1.0
        return bool(sign * (self._pose("target")[1] - self.start["target"][1]) >= 0.06)

    def _success_slide_to_target(self) -> bool:
        return self._resting_in("target", "goal")

    def _success_lift(self) -> bool:
        return bool(self._pose("target")[2] >= 0.07)

    def _success_place_in_tray(self) -> bool:
        return self._resting_in("target", "tray") and self.grip == OPEN

    def _success_stack(self) -> bool:
        top, base = self._pose("target"), self._pose("base")
        on = math.hypot(top[0] - base[0], top[1] - base[1]) < 0.03 and top[2] - base[2] > 1.5 * CUBE_HALF
        return bool(on and self.grip == OPEN)

    def _success_sort_shape(self) -> bool:
        return self._resting_in("target", "bin_" + self.instruction.get("side")) and self.grip == OPEN

    def _success_press_button(self) -> bool:
        return self._touched

    def _success_sort_colour(self) -> bool:
        return self._resting_in("target", "goal") and self.grip == OPEN


Controller = Callable[[dict[str, np.ndarray]], np.ndarray]


def run_episode(
    env: TaskEnv,
    task: str,
    variant: int,
    seed: int,
    n_steps: int,
    controller: Controller | None = None,
    video_frames: int = 6,
) -> dict[str, np.ndarray]:
    """One episode of ``n_steps`` decision steps, recorded for both models.

    ``controller(obs) -> action`` (None: the scripted expert). Returns ``obs`` (T, H, W, 3) and
    ``proprio`` (T, 12) before each action, ``actions`` (T, 4) (for a learned controller: the actions it
    took; for the expert: the expert's), ``video`` (video_frames, h, w, 3) from the observer camera at
    evenly spaced steps (the first before any action, the last after the final one) and ``success``.
    """
    if n_steps < 1 or video_frames < 2:
        raise ValueError(f"need n_steps >= 1 and video_frames >= 2, got {n_steps}, {video_frames}")
    obs = env.reset(task, variant, seed)
    record_at = np.round(np.linspace(0, n_steps, video_frames)).astype(int)
    images = np.zeros((n_steps, *obs["image"].shape), np.uint8)
    proprio = np.zeros((n_steps, PROPRIO_DIM), np.float32)
    actions = np.zeros((n_steps, ACTION_DIM), np.float32)
    video = np.zeros((video_frames, env.video_size, env.video_size, 3), np.uint8)
    for t in range(n_steps + 1):
        for i in np.flatnonzero(record_at == t):
            video[i] = env.observer_frame()
        if t == n_steps:
            break
        images[t], proprio[t] = obs["image"], obs["proprio"]
        action = env.expert_action() if controller is None else np.asarray(controller(obs), dtype=np.float32)
        actions[t] = action
        obs = env.step(action)
    return {"obs": images, "proprio": proprio, "actions": actions, "video": video,
            "success": np.bool_(env.success())}  # fmt: skip
