"""The infant simulator and its dataset (SOM-AE chapter)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sensorimotor.seeding import rng
from sensorimotor.som_ae import infant_data, infant_sim

IN_FRONT = np.radians([70.0, 10.0, 0.0, 60.0, 0.0])  # arm raised forward, elbow bent: in view
HANGING = np.zeros(5)  # arm hanging beside the body: below the view


@pytest.fixture(scope="module")
def sim():
    with infant_sim.InfantSim(camera=infant_sim.EyeCamera(height=48, width=80)) as s:
        yield s


def test_five_joints_with_plausible_limits():
    low, high = infant_sim.joint_limits()
    assert len(infant_sim.JOINT_NAMES) == 5 == low.shape[0] == high.shape[0]
    assert (high > low).all() and (high - low <= math.radians(200)).all()
    assert low[3] >= 0.0  # elbow: no hyperextension


def test_sampling_is_uniform_within_limits_and_reproducible():
    low, high = infant_sim.joint_limits()
    a = infant_sim.sample_joints(rng(3, "x"), 2000)
    b = infant_sim.sample_joints(rng(3, "x"), 2000)
    np.testing.assert_array_equal(a, b)
    assert ((a >= low) & (a <= high)).all()
    np.testing.assert_allclose(a.mean(0), (low + high) / 2, atol=0.05 * (high - low).max())


def test_render_shapes_and_visibility_from_segmentation(sim):
    rgb, mask = sim.render(IN_FRONT)
    assert rgb.shape == (48, 80, 3) and rgb.dtype == np.uint8
    assert mask.shape == (48, 80) and mask.dtype == bool
    assert mask.mean() > 0.01
    _, hidden = sim.render(HANGING)
    assert not hidden.any()
    # the mask marks arm pixels only: they change when the arm moves, the rest stays
    rgb2, mask2 = sim.render(np.radians([70.0, 10.0, 0.0, 100.0, 0.0]))
    changed = (rgb != rgb2).any(-1)
    assert changed[~(mask | mask2)].mean() < 0.01


def test_camera_looks_forward_and_down_from_the_right_eye(sim):
    assert sim.view_direction[0] > 0 and sim.view_direction[2] < 0
    assert sim.eye_position[1] < 0  # right side of the head
    assert sim.camera.horizontal_fov_deg > 100  # wide angle


def test_self_collision_detects_arm_in_torso(sim):
    sim.set_arm(np.radians([0.0, -30.0, 0.0, 0.0, 0.0]))  # hanging arm swung into the torso
    assert sim.in_self_collision()
    sim.set_arm(IN_FRONT)
    assert not sim.in_self_collision()


@pytest.mark.parametrize("bad", [np.zeros(4), np.array([0, 0, np.nan, 0, 0.0])])
def test_bad_joints_raise(sim, bad):
    with pytest.raises(ValueError, match="5 finite angles"):
        sim.set_arm(bad)


def test_preprocessing_grey_area_resampling():
    m = infant_data.area_matrix(120, 64)
    np.testing.assert_allclose(m.sum(1), 1.0)
    rgb = np.zeros((120, 200, 3), np.uint8)
    rgb[..., 1] = 200
    out = infant_data.to_network_image(rgb, 64)
    assert out.shape == (64, 64) and out.dtype == np.uint8
    assert np.all(out == round(0.587 * 200))
    with pytest.raises(ValueError, match="RGB"):
        infant_data.to_network_image(np.zeros((10, 10)), 8)


def test_joint_normalisation_roundtrip():
    q = infant_sim.sample_joints(rng(0, "n"), 50)
    unit = infant_data.normalise_joints(q)
    assert unit.min() >= 0 and unit.max() <= 1
    np.testing.assert_allclose(infant_data.denormalise_joints(unit), q, atol=1e-5)


def test_split_indices():
    s = infant_data.split_indices(20000)
    assert [len(s[k]) for k in ("train", "val", "test")] == [12000, 4000, 4000]
    assert np.array_equal(np.concatenate([s["train"], s["val"], s["test"]]), np.arange(20000))
    with pytest.raises(ValueError, match="sum"):
        infant_data.split_indices(10, (0.5, 0.5, 0.5))


def test_dataset_reproducible_across_workers_and_cached(tmp_path, monkeypatch):
    monkeypatch.setenv("SENSORIMOTOR_CACHE", str(tmp_path))
    config = infant_data.InfantDatasetConfig(n_samples=24, render_height=48, render_width=80, chunk_size=16, seed=5)
    assert not infant_data.is_cached(config)
    one = infant_data.dataset(config, workers=1, progress=False)
    assert infant_data.is_cached(config)
    for path in tmp_path.rglob("*.npz"):
        path.unlink()
    two = infant_data.dataset(config, workers=2, progress=False)
    for key in ("images", "joints", "arm_fraction", "n_candidates"):
        np.testing.assert_array_equal(one[key], two[key])
    assert one["images"].shape == (24, 64, 64) and one["joints"].shape == (24, 5)
    assert (one["arm_fraction"] >= config.min_arm_fraction).all()
    assert int(one["n_candidates"]) >= 24 + int(one["n_collision"]) + int(one["n_invisible"]) - config.chunk_size
    again = infant_data.dataset(config, workers=1, progress=False)  # from the cache
    np.testing.assert_array_equal(again["images"], one["images"])
    # rendering the stored (float32) joints through the same pipeline gives the stored images
    rendered = infant_data.render_images(one["joints"][:3], config)
    assert np.abs(rendered.astype(int) - one["images"][:3].astype(int)).mean() < 1.0


def test_dataset_config_rejects_bad_values():
    with pytest.raises(ValueError, match="n_samples"):
        infant_data.InfantDatasetConfig(n_samples=0)
    with pytest.raises(ValueError, match="min_arm_fraction"):
        infant_data.InfantDatasetConfig(min_arm_fraction=1.5)


def test_background_and_silhouettes():
    config = infant_data.InfantDatasetConfig(render_height=48, render_width=80)
    background = infant_data.render_background(config)
    image = infant_data.render_images(IN_FRONT[None], config)
    hanging = infant_data.render_images(HANGING[None], config)
    assert infant_data.arm_silhouettes(image, background).mean() > 0.01
    assert not infant_data.arm_silhouettes(hanging, background).any()  # arm out of view: nothing differs
