"""Tabletop simulator: scene API, cameras, views, novelties and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sensorimotor.sim.tabletop import (
    Camera,
    ObjectSpec,
    TabletopEnv,
    joint_names,
    judge_trajectory,
)
from sensorimotor.sim.tabletop_dataset import TabletopDatasetConfig, other_agent_frames


@pytest.fixture(scope="module")
def env():
    with TabletopEnv(image_size=32) as e:
        yield e


def test_scene_basics(env):
    env.reset()
    assert set(env.agents) == {"self"} and set(env.objects) == {"object"}
    assert env.robot.proprio().shape == (8,)
    assert joint_names("panda") == [f"panda_joint{i}" for i in range(1, 8)] + ["gripper_opening"]
    assert env.robot.gripper_opening() == pytest.approx(0.08, abs=1e-6)  # starts wide open
    pose = env.object_pose()
    assert pose.shape == (7,) and pose[:2] == pytest.approx([0.45, 0.0]) and pose[2] == pytest.approx(0.03)
    for camera in ("ego", "overview", "top"):
        image = env.render(camera)
        assert image.shape == (32, 32, 3) and image.dtype == np.uint8 and image.std() > 5
    assert env.render(size=16).shape == (16, 16, 3)


def test_two_envs_live_side_by_side():
    with TabletopEnv(image_size=16) as a, TabletopEnv(image_size=16) as b:
        assert a.client._client != b.client._client
        a.reset(other="opposite")
        assert set(a.agents) == {"self", "opposite"} and set(b.agents) == {"self"}


def test_objects_and_cameras(env):
    env.reset()
    env.add_object("cube", ObjectSpec("box", (0.02, 0.02, 0.02), rgba=(1, 0, 0, 1)), position=(0.5, 0.2))
    env.step(60)
    assert env.object_pose("cube")[:3] == pytest.approx([0.5, 0.2, 0.02], abs=2e-3)
    env.add_camera("side", Camera(eye=(0.45, -1.0, 0.4), target=(0.45, 0.0, 0.05)))
    assert env.render("side").shape == (32, 32, 3)
    env.remove_object("cube")
    assert "cube" not in env.objects
    with pytest.raises(ValueError, match="cube"):
        env.object_pose("cube")


def test_motion_helpers_grasp_a_cube(env):
    env.reset(with_object=False)
    env.add_object("cube", ObjectSpec("box", (0.02, 0.02, 0.025)), position=(0.5, -0.1))
    env.move_hand("self", (0.5, -0.1, 0.15), yaw=0.0, opening=0.08, duration=0.8)
    env.move_hand("self", (0.5, -0.1, 0.025), yaw=0.0, opening=0.08, duration=0.5)
    env.set_gripper("self", 0.0, duration=0.3)
    env.move_hand("self", (0.5, -0.1, 0.2), yaw=0.0, opening=0.0, duration=0.6)
    assert env.robot.ee_pose()[:3] == pytest.approx([0.5, -0.1, 0.2], abs=0.01)
    assert env.object_pose("cube")[2] > 0.15


def _pixels(image: np.ndarray, rgb_test) -> int:
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return int(rgb_test(r, g, b).sum())


def test_views_hide_parts_of_the_other_agent(env):
    counts = {}
    for view in ("full", "hand_and_base", "hand_only"):
        env.reset(other="opposite", view=view)
        env.robot.set_view("hand_only")  # keep our own arm out of the comparison
        image = env.render("top", size=64)
        counts[view] = _pixels(image, lambda r, g, b: (r > 200) & (g > 200) & (b > 200))  # white links
    assert counts["full"] > counts["hand_and_base"] > counts["hand_only"]


def test_novelties_change_what_is_seen(env):
    def is_red(r, g, b):
        return (r > 150) & (g < 60) & (b < 60)

    def is_blue(r, g, b):
        return (b > 150) & (r < 80) & (g < 120)

    env.reset()
    plain = env.render("top", size=64)
    env.reset(novelty=("red_gripper", "blue_object"))
    novel = env.render("top", size=64)
    assert _pixels(plain, is_red) == 0 and _pixels(novel, is_red) > 0
    assert _pixels(plain, is_blue) == 0 and _pixels(novel, is_blue) > 0
    env.reset(novelty=("big_object",))
    assert env.object_specs["object"].radius == pytest.approx(0.025 * 1.3)
    env.reset(novelty=("other_gripper",))
    other = env.render("top", size=64)
    assert not np.array_equal(other, plain)


def test_other_agent_frames_shapes():
    demo = other_agent_frames("left", "pull", 0.0, view="hand_only", image_size=24, n_steps=6)
    assert demo["images"].shape == (6, 24, 24, 3)
    assert demo["joints"].shape == (6, 8) and demo["t"][0] == 0 and demo["t"][-1] == 1
    assert demo["outcome"].distance > 0.15


@pytest.mark.parametrize("angle", [math.nan, math.inf, -math.inf, "north", None])
def test_bad_angle_is_named(env, angle):
    env.reset()
    with pytest.raises(ValueError, match="angle"):
        env.perform("push", angle, render=False)


def test_bad_names_are_named(env):
    with pytest.raises(ValueError, match="'throw'.*push, grasp, pull"):
        env.perform("throw", 0.0)
    with pytest.raises(ValueError, match="'ur5'.*panda"):
        TabletopEnv(robot="ur5")
    with pytest.raises(ValueError, match="'behind'"):
        env.reset(other="behind")
    with pytest.raises(ValueError, match="'self'"):
        env.reset(other="self")  # the other agent cannot be ourselves
    with pytest.raises(ValueError, match="'arm_only'"):
        env.reset(view="arm_only")
    with pytest.raises(ValueError, match="'green_object'"):
        env.reset(novelty=("green_object",))
    with pytest.raises(ValueError, match="'fisheye'"):
        env.render("fisheye")
    with pytest.raises(ValueError, match="'behind'"):
        other_agent_frames("behind", "push", 0.0)
    with pytest.raises(ValueError, match="'cone'"):
        ObjectSpec("cone")


@pytest.mark.parametrize("size", [15, 513, 0, 64.0, True])
def test_bad_resolution_is_named(size):
    with pytest.raises(ValueError, match="image size"):
        TabletopEnv(image_size=size)
    with pytest.raises(ValueError, match="image size"):
        TabletopDatasetConfig(image_size=size)


def test_resolution_bounds_accepted():
    with TabletopEnv(image_size=16) as e:
        assert e.render(size=512).shape == (512, 512, 3)


def test_bad_dataset_config_is_named():
    with pytest.raises(ValueError, match="'hexapod'"):
        TabletopDatasetConfig(robot="hexapod")
    with pytest.raises(ValueError, match="'under'"):
        TabletopDatasetConfig(side="under")
    with pytest.raises(ValueError, match="n_push"):
        TabletopDatasetConfig(n_push=-1)
    with pytest.raises(ValueError, match="empty"):
        TabletopDatasetConfig(n_push=0, n_grasp=0)
    with pytest.raises(ValueError, match="angle"):
        TabletopDatasetConfig(angle_range=(0.0, math.nan))


def test_bad_judge_input_is_named():
    with pytest.raises(ValueError, match=r"\(T>=2, 8\)"):
        judge_trajectory(np.zeros((10, 7)))
    with pytest.raises(ValueError, match="non-finite"):
        judge_trajectory(np.full((10, 8), np.nan))
    with pytest.raises(ValueError, match="'ur5'"):
        judge_trajectory(np.zeros((10, 8)), robot="ur5")
