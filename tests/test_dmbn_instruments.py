"""Issue 34's instruments: the training-free lookup, the image signal, the disturbed-video control and the
skill over the best constant answer (parallel training that does not depend on a job's position or worker:
test_dmbn_jobs.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_dmbn_models import synthetic_data

from sensorimotor.dmbn.evaluation import (
    corrupt_videos,
    disturbance_scores,
    image_signal,
    lookup_trajectories,
    pixel_lookup,
    skill_over_constant,
    true_trajectories,
)


def test_lookup_finds_the_frame_it_was_given_and_replays_its_interaction():
    data, _ = synthetic_data(n=5, t=6)
    inter, step = np.array([3, 0, 4]), np.array([2, 5, 0])
    query = data.float_images(torch.as_tensor(inter), torch.as_tensor(step))
    found_inter, found_step = pixel_lookup(query, data.images)
    np.testing.assert_array_equal(found_inter, inter)
    np.testing.assert_array_equal(found_step, step)
    answer = lookup_trajectories(query, data)
    np.testing.assert_allclose(answer["joint"], true_trajectories(data, inter)["joint"])
    assert answer["image"].shape == (3, 6, 3, 16, 16)


def test_lookup_takes_the_nearest_frame_not_the_first():
    data, _ = synthetic_data(n=4, t=5)
    target = data.float_images(torch.tensor([2]), torch.tensor([3]))
    noisy = (target + 0.02 * torch.randn(target.shape, generator=torch.Generator().manual_seed(0))).clamp(0, 1)
    inter, step = pixel_lookup(noisy, data.images)
    assert (inter[0], step[0]) == (2, 3)


def test_lookup_refuses_mismatched_frames():
    data, _ = synthetic_data(n=3, t=4, size=16)
    with pytest.raises(ValueError, match="same frame shape"):
        pixel_lookup(torch.zeros(1, 3, 8, 8), data.images)


def test_image_signal_is_zero_for_identical_interactions_and_grows_with_their_differences():
    same = np.repeat(np.random.default_rng(0).random((1, 4, 8, 8, 3), dtype=np.float32), 5, axis=0)
    flat = image_signal(same)
    assert flat["mean_trajectory_mse"] == pytest.approx(0.0, abs=1e-12) and flat["share_sd"] == 0.0
    x = np.zeros((2, 3, 4, 4, 3), dtype=np.float32)
    x[1, :, :2] = 1.0  # half the pixels differ by 1 between the two interactions: sd 0.5, squared error 0.25
    s = image_signal(x)
    assert s["mean_trajectory_mse"] == pytest.approx(0.125) and s["share_sd"] == pytest.approx(0.5)
    assert image_signal((x * 255).astype(np.uint8))["mean_trajectory_mse"] == pytest.approx(0.125)


def test_disturbed_criterion_triggers_on_corrupted_videos_and_not_on_clean_ones():
    """The positive control of 5.7's "disturbed" criterion: smooth frames shuffled in space are far from
    every training frame, the frames themselves are not."""
    yy, xx = np.meshgrid(np.linspace(0, 1, 16), np.linspace(0, 1, 16), indexing="ij")
    frames = np.stack([np.stack([np.clip(xx + 0.1 * k, 0, 1), yy, 0.5 * (xx + yy)]) for k in range(6)])
    videos = frames[None].astype(np.float32)  # (1, 6, 3, 16, 16)
    pool = frames.reshape(-1, 3, 16, 16).astype(np.float32)
    clean = disturbance_scores(videos, pool)
    corrupted = corrupt_videos(videos, seed=0)
    assert corrupted.shape == videos.shape and np.allclose(np.sort(corrupted.ravel()), np.sort(videos.ravel()))
    assert clean[0] == pytest.approx(0.0, abs=1e-7)
    assert disturbance_scores(corrupted, pool)[0] > 0.01
    np.testing.assert_array_equal(corrupt_videos(videos, seed=0), corrupted)  # seeded


def test_skill_over_the_constant_answer():
    assert skill_over_constant(13, 13, 20) == 0.0
    assert skill_over_constant(20, 13, 20) == 1.0
    assert skill_over_constant(9, 13, 20) == pytest.approx(-4 / 7)
    assert skill_over_constant(5, 5, 5) == 0.0 and skill_over_constant(4, 5, 5) == -1.0  # no room: never above 0
    with pytest.raises(ValueError):
        skill_over_constant(21, 13, 20)
