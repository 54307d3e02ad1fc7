"""Key-frame execution of the mirror-alignment task suite: camera geometry, expert recording, rollouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sensorimotor.mirror_align.demos import DemoConfig, episode_list
from sensorimotor.mirror_align.experiments import build_models, paired_difference, within_task_difference
from sensorimotor.mirror_align.keyframes import (
    HEIGHTS,
    MAX_KEYFRAMES,
    REFERENCE_Z,
    START,
    STOP,
    STOP_KEYFRAME,
    height_class,
    lift,
    project,
    run_keyframes,
)
from sensorimotor.mirror_align.tasks import COLOURS, ROBOT_CAMERA, TaskEnv, all_instructions, instructions
from sensorimotor.mirror_align.training import MirrorData, policy_decider, start_pixel

SIZE = 64


@pytest.fixture(scope="module")
def env():
    with TaskEnv(image_size=SIZE, video_size=32) as e:
        yield e


def test_project_and_lift_are_inverse_and_match_the_rendered_image(env):
    points = np.array([[0.4, -0.15, REFERENCE_Z], [0.6, 0.18, REFERENCE_Z], [0.5, 0.0, REFERENCE_Z]])
    assert np.allclose(lift(project(points, SIZE), SIZE), points, atol=1e-9)
    env.reset("lift", 0, 4)  # "pick up the red cube": where the red pixels are, the cube's projection must be
    image = env.observe()["image"].astype(int)
    red = (image[..., 0] > 150) & (image[..., 1] < 80) & (image[..., 2] < 80)
    rows, cols = np.nonzero(red)
    cube = project(np.array([[*env.start["target"][:2], REFERENCE_Z]]), SIZE)[0]
    assert red.sum() >= 12  # the cube spans enough pixels to be found
    # the visible blob (top and front faces) sits within a couple of pixels of the centre's projection
    assert abs(cols.mean() + 0.5 - cube[0]) < 1.5 and abs(rows.mean() + 0.5 - cube[1]) < 2.5
    with pytest.raises(ValueError, match="behind the camera"):
        project(np.array([[2.0, 0.0, 2.0]]), SIZE)
    assert COLOURS["red"][0] > 0.5 and ROBOT_CAMERA.eye[0] > 0.62  # in front of the workspace


def test_height_classes():
    assert [height_class(h) for h in HEIGHTS] == list(range(len(HEIGHTS)))
    with pytest.raises(ValueError, match="not one of the key-frame heights"):
        height_class(0.3)


@pytest.mark.parametrize(("task", "variant"), [("push_side", 3), ("stack", 1), ("sort_colour", 2), ("press_button", 0)])
def test_expert_key_frames_solve_the_task_and_are_recorded(env, task, variant):
    ep = run_keyframes(env, task, variant, seed=11, n_steps=36, video_frames=3)
    assert ep["success"], f"expert failed {task} {variant}"
    n = int(ep["n_keyframes"])
    assert n == len(env.plan) + 1 and ep["key_valid"][:n].all() and not ep["key_valid"][n:].any()
    assert ep["key_height"][n - 1] == STOP and (ep["key_height"][: n - 1] < STOP).all()
    assert ep["key_obs"].shape == (MAX_KEYFRAMES, SIZE, SIZE, 3) and ep["video"].shape == (3, 32, 32, 3)
    wp = np.array([w.position for w in env.plan])
    assert np.allclose(lift(ep["key_pixel"][: n - 1], SIZE)[:, :2], wp[:, :2], atol=1e-4)  # labels = waypoints


def test_stopping_at_once_fails_and_a_decider_sees_each_key_frame(env):
    seen = []

    def decide(obs, k, previous):
        seen.append((k, previous.height))
        return STOP_KEYFRAME

    ep = run_keyframes(env, "place_in_tray", 0, seed=2, n_steps=10, decide=decide, video_frames=2)
    assert not ep["success"] and seen == [(0, START)] and int(ep["n_keyframes"]) == 1


def test_policy_decider_runs_an_episode(env):
    class Cfg:
        video_frames, u_channels, width, embed_dim, image_size, e_channels = 3, (8, 8), 16, 8, SIZE, (4, 8, 8)
        u_norm_groups = 8

    texts = tuple(i.text for i in all_instructions())
    _, e = build_models(Cfg, texts, 0)
    ep = run_keyframes(env, "lift", 1, 3, 12, policy_decider(e, instructions("lift")[1].text), video_frames=2)
    assert 1 <= int(ep["n_keyframes"]) <= MAX_KEYFRAMES and ep["key_valid"][0]
    assert np.isfinite(start_pixel(SIZE)).all()


def test_evaluation_covers_every_variant_and_pairs_layouts():
    episodes = episode_list(DemoConfig(n_per_instruction=2, first_seed=700))
    assert len(episodes) == 2 * len(all_instructions())
    for task in ("stack", "sort_shape", "lift"):
        assert {e[1] for e in episodes if e[0] == task} == set(range(len(instructions(task))))
    assert episode_list(DemoConfig(n_per_instruction=2, first_seed=700)) == episodes  # same layouts: paired


def test_paired_difference_and_within_task_comparison():
    a, b = np.array([1, 1, 0, 1, 0, 1]), np.array([1, 0, 0, 1, 0, 0])
    mean, se = paired_difference(a, b)
    d = 100.0 * (a - b)
    assert mean == pytest.approx(d.mean()) and se == pytest.approx(d.std(ddof=1) / np.sqrt(6))
    assert paired_difference(a, a) == (0.0, 0.0)
    with pytest.raises(ValueError, match="paired outcome arrays"):
        paired_difference(a, b[:3])
    sim = np.array([0.9, 0.1, 0.5, 0.5, 0.8])
    success = np.array([True, False, True, True, False])
    task = np.array([0, 0, 1, 1, 2])
    gap, n = within_task_difference(sim, success, task)
    assert n == 1 and gap == pytest.approx(0.8)  # only task 0 has both outcomes
    assert within_task_difference(sim, np.zeros(5, bool), task) == (None, 0)


def test_mirror_data_from_recorded_episodes(env):
    runs = [run_keyframes(env, "lift", v, 5, 36, video_frames=2) for v in range(3)]
    arrays = {k: np.stack([r[k] for r in runs]) for k in ("key_obs", "key_pixel", "key_height", "key_grip", "key_valid")}
    arrays.update(videos=np.stack([r["video"] for r in runs]), instruction=np.arange(3), task=np.zeros(3, np.int64),
                  instruction_texts=np.array([i.text for i in instructions("lift")]))  # fmt: skip
    data = MirrorData.from_arrays(arrays)
    text = torch.zeros(3, 4, dtype=torch.long)
    inputs, (pixel, height, grip) = data.keyframe_batch(np.array([0, 1]), np.array([0, 2]), text)
    assert inputs[3][0] == START and inputs[3][1] == data.key_height[1, 1] and height[1] == data.key_height[1, 2]
    assert torch.allclose(inputs[5][1], data.key_pixel[1, 1]) and torch.allclose(pixel[0], data.key_pixel[0, 0])
