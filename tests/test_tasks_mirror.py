"""The instructed task suite (sensorimotor.mirror_align.tasks) and its demonstration recorder."""

from __future__ import annotations

import numpy as np
import pytest

from sensorimotor.mirror_align.demos import DemoConfig, episode_list
from sensorimotor.mirror_align.tasks import (
    ACTION_DIM,
    PROPRIO_DIM,
    TASKS,
    TaskEnv,
    all_instructions,
    check_task,
    instructions,
    run_episode,
)


@pytest.fixture(scope="module")
def env():
    with TaskEnv(image_size=32, video_size=32) as e:
        yield e


def test_suite_has_three_distinct_levels():
    assert len(TASKS) >= 8
    texts = [i.text for i in all_instructions()]
    assert len(set(texts)) == len(texts)  # instructions are distinct texts
    assert all(len(instructions(t)) >= 3 for t in TASKS)  # several variants per task


def test_unknown_task_and_bad_input_raise(env):
    with pytest.raises(ValueError, match="unknown task 'fly'.*accepted: push_side"):
        check_task("fly")
    with pytest.raises(ValueError, match="unknown task"):
        env.reset("fly", 0, 0)
    with pytest.raises(ValueError, match="variants 0..3"):
        env.reset("push_side", 4, 0)
    env.reset("lift", 0, 0)
    with pytest.raises(ValueError, match="4 finite numbers"):
        env.step([0.0, 0.0, float("nan"), 1.0])
    with pytest.raises(ValueError, match="DemoConfig.tasks|unknown task"):
        DemoConfig(tasks=("fly",))


def test_same_seed_same_layout_new_seed_new_layout(env):
    env.reset("stack", 1, 7)
    a = {k: v.copy() for k, v in env.start.items()}
    env.reset("stack", 1, 7)
    assert all(np.allclose(a[k], env.start[k]) for k in a)
    env.reset("stack", 1, 8)
    assert not np.allclose(a["target"], env.start["target"])


@pytest.mark.parametrize("task", ["push_side", "lift", "stack", "press_button"])
def test_expert_solves_task(env, task):
    ep = run_episode(env, task, 1, seed=3, n_steps=36, video_frames=3)
    assert ep["success"], f"expert failed {task}: {env.text}"
    assert ep["obs"].shape == (36, 32, 32, 3) and ep["video"].shape == (3, 32, 32, 3)
    assert ep["proprio"].shape == (36, PROPRIO_DIM) and ep["actions"].shape == (36, ACTION_DIM)
    assert np.abs(ep["actions"][:, :3]).max() <= env.max_step + 1e-6
    assert set(np.unique(ep["actions"][:, 3])) <= {0.0, 1.0}


def test_doing_nothing_fails(env):
    ep = run_episode(env, "place_in_tray", 0, seed=2, n_steps=5, controller=lambda obs: np.zeros(4), video_frames=2)
    assert not ep["success"]


def test_episode_lists_cover_instructions_and_tasks():
    per_instruction = episode_list(DemoConfig(n_per_instruction=2, first_seed=10))
    assert len(per_instruction) == 2 * len(all_instructions())
    assert {e[3] for e in per_instruction} == {10, 11}
    per_task = episode_list(DemoConfig(n_per_task=5))
    assert len(per_task) == 5 * len(TASKS)
    assert {e[1] for e in per_task if e[0] == "lift"} == {0, 1, 2}
    texts = [i.text for i in all_instructions()]
    assert all(instructions(task)[v].text == texts[gid] for task, v, gid, _ in per_task)
