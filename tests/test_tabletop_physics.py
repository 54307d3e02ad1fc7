"""Tabletop simulator: the repertoire works physically, and the judge reads outcomes correctly.

No rendering here (``render=False``): these run the physics only.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from sensorimotor.sim.tabletop import (
    TabletopEnv,
    classify_imitation,
    judge_trajectory,
    outcome_from_poses,
    side_pose,
)

PUSH_DISTANCE = 0.20
DISTANCE_TOL = 0.03  # metres
DIRECTION_TOL = math.radians(10)
SAMPLE_ANGLES = np.linspace(-math.pi, math.pi, 7, endpoint=False) + 0.2  # all around, off the axes


def _angle_error(a: float, b: float) -> float:
    return abs((a - b + math.pi) % (2 * math.pi) - math.pi)


@pytest.fixture(scope="module")
def env():
    with TabletopEnv(image_size=16) as e:
        yield e


@pytest.fixture(scope="module")
def recorded(env):
    """One push and one grasp, recorded, for the judge tests."""
    out = {}
    for action, angle in (("push", 2.5), ("grasp", -1.0)):
        env.reset()
        out[action] = env.perform(action, angle, render=False, n_frames=40)
    return out


@pytest.mark.parametrize("angle", SAMPLE_ANGLES)
def test_push_moves_object_the_intended_distance_and_direction(env, angle):
    env.reset()
    rec = env.perform("push", angle, render=False, n_frames=10)
    out = outcome_from_poses(rec["object_pose"])
    assert out.distance == pytest.approx(PUSH_DISTANCE, abs=DISTANCE_TOL)
    assert _angle_error(out.direction, angle) < DIRECTION_TOL
    assert not out.tipped and not out.lifted


@pytest.mark.parametrize("angle", SAMPLE_ANGLES[::2])
def test_grasp_lifts_object(env, angle):
    env.reset()
    rec = env.perform("grasp", angle, render=False, n_frames=10)
    out = outcome_from_poses(rec["object_pose"])
    assert out.lifted and out.final_height > 0.8 * 0.20
    assert out.distance < 0.02  # lifted straight up, not dragged
    assert rec["joints"][-1, -1] == pytest.approx(0.05, abs=0.005)  # fingers stopped on a 5 cm object


@pytest.mark.parametrize("side", ["opposite", "left"])
def test_other_agent_pulls_towards_itself_while_we_rest(env, side):
    env.reset(other=side)
    ours_before = env.robot.proprio()
    rec = env.perform("pull", 0.0, agent=side, render=False, n_frames=10)
    out = outcome_from_poses(rec["object_pose"])
    base, yaw = side_pose(side)
    assert out.distance == pytest.approx(PUSH_DISTANCE, abs=DISTANCE_TOL)
    assert _angle_error(out.direction, yaw + math.pi) < DIRECTION_TOL  # towards the demonstrator
    assert np.abs(env.robot.proprio() - ours_before).max() < 1e-3  # our robot did not move
    assert np.abs(rec["joints"][-1] - rec["joints"][0]).max() > 0.1  # theirs did


def test_other_agent_grasp_and_push(env):
    env.reset(other="opposite")
    grasp = outcome_from_poses(
        env.perform("grasp", 0.4, agent="opposite", render=False, n_frames=5)["object_pose"]
    )
    assert grasp.lifted
    env.reset(other="left")
    push = outcome_from_poses(env.perform("push", 0.0, agent="left", render=False, n_frames=5)["object_pose"])
    assert _angle_error(push.direction, -math.pi / 2) < DIRECTION_TOL  # away from the left agent: -y


def test_perform_is_deterministic(env):
    runs = []
    for _ in range(2):
        env.reset()
        runs.append(env.perform("push", 1.0, render=True, n_frames=8))
    for key in runs[0]:
        assert np.array_equal(runs[0][key], runs[1][key]), key


def test_recording_layout(recorded):
    rec = recorded["push"]
    assert rec["t"].shape == (40,) and rec["t"][0] == 0.0 and rec["t"][-1] == 1.0
    assert rec["joints"].shape == (40, 8) and rec["joints"].dtype == np.float32
    assert rec["ee_pose"].shape == (40, 7) and rec["object_pose"].shape == (40, 7)
    assert int(rec["action"]) == 0 and float(rec["angle"]) == pytest.approx(2.5)
    assert np.abs(np.linalg.norm(rec["ee_pose"][:, 3:], axis=1) - 1).max() < 1e-4
    assert 0.0 <= rec["joints"][:, -1].min() and rec["joints"][:, -1].max() <= 0.0801


def test_judge_replays_recorded_trajectories(recorded):
    push, grasp = recorded["push"], recorded["grasp"]
    judged = judge_trajectory(push["joints"])
    truth = outcome_from_poses(push["object_pose"])
    assert judged.distance == pytest.approx(truth.distance, abs=0.02)
    assert _angle_error(judged.direction, truth.direction) < math.radians(5)
    assert judged.label == truth.label == "toward"  # a push at 2.5 rad comes back towards us
    assert judged.toward_robot > 0.1
    lifted = judge_trajectory(grasp["joints"])
    assert lifted.lifted and lifted.label == "lifted" and lifted.max_height > 0.15


def test_judge_static_trajectory_moves_nothing():
    from sensorimotor.sim.tabletop_robots import PANDA

    still = np.tile(np.array([*PANDA.home, 0.08]), (10, 1))
    out = judge_trajectory(still)
    assert out.label == "none" and out.distance < 0.005 and not out.lifted


def _fake(direction: float, distance: float = 0.2, lifted: bool = False):
    poses = np.zeros((2, 3))
    poses[0] = (0.45, 0.0, 0.03)
    poses[1] = (
        0.45 + distance * math.cos(direction),
        distance * math.sin(direction),
        0.23 if lifted else 0.03,
    )
    return outcome_from_poses(poses)


def test_outcome_labels_relative_to_our_robot():
    assert _fake(0.0).label == "away" and _fake(0.0).toward_robot == pytest.approx(-0.2)
    assert _fake(math.pi).label == "toward" and _fake(math.pi).toward_robot == pytest.approx(0.2)
    assert _fake(math.pi / 2).label == "sideways"
    assert _fake(0.0, distance=0.01).label == "none"
    assert _fake(0.0, distance=0.0, lifted=True).label == "lifted"


def test_classify_imitation_effect_versus_egocentric():
    # The opposite agent pulls towards itself: the object moves away from us (+x).
    demo = _fake(0.0)
    assert classify_imitation(_fake(0.0), demo, "opposite") == "effect"  # we push it away too
    assert classify_imitation(_fake(math.pi), demo, "opposite") == "egocentric"  # we pull towards us
    assert classify_imitation(_fake(math.pi / 2), demo, "opposite") == "neither"
    # The left agent pushes away from itself: the object moves to our right (-y).
    demo = _fake(-math.pi / 2)
    assert classify_imitation(_fake(-math.pi / 2), demo, "left") == "effect"
    assert classify_imitation(_fake(0.0), demo, "left") == "egocentric"  # away from us
    lift = _fake(0.0, distance=0.0, lifted=True)
    assert classify_imitation(lift, lift, "left") == "both"
    assert classify_imitation(_fake(0.0), lift, "left") == "neither"
