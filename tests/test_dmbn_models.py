"""DMBN and MVAE models, batch sampling, training loops and the weight cache (small synthetic data)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sensorimotor.dmbn.model import (
    DMBN,
    PAPER_IMAGE_CHANNELS,
    DMBNSpec,
    Observations,
    blend,
    gaussian_nll,
    image_stack_for,
    predict_trajectory,
)
from sensorimotor.dmbn.mvae import MASK_SCHEMES, MASK_VALUE, MVAE, rollout
from sensorimotor.dmbn.training import (
    JointScaler,
    SequenceData,
    cached_training,
    resize_images,
    sample_dmbn_batch,
    sample_mvae_batch,
    train_dmbn,
    train_mvae,
)

D = 8  # contract: 7 Panda joints + gripper opening


def small_spec(**kw) -> DMBNSpec:
    base = dict(image_size=16, joint_dim=D, latent_dim=16, image_channels=(4, 8), image_head=(4,),
                joint_encoder=(16, 16), joint_decoder=(32, 16))
    base.update(kw)
    return DMBNSpec(**base)


def synthetic_data(n=6, t=10, size=16, seed=0) -> tuple[SequenceData, JointScaler]:
    """Contract-shaped arrays: images uint8 (N, T, H, W, 3), joints float32 (N, T, D), t (T,)."""
    g = np.random.default_rng(seed)
    images = g.integers(0, 256, size=(n, t, size, size, 3), dtype=np.uint8)
    joints = np.cumsum(g.normal(size=(n, t, D)).astype(np.float32) * 0.1, axis=1)
    joints[..., -1] = np.abs(joints[..., -1]) * 0.01  # gripper opening in metres
    scaler = JointScaler.fit(joints)
    return SequenceData.from_arrays(images, joints, np.linspace(0, 1, t, dtype=np.float32), scaler), scaler


def test_image_stack_matches_paper_and_shrinks_from_the_front():
    assert image_stack_for(128) == PAPER_IMAGE_CHANNELS
    assert image_stack_for(64) == PAPER_IMAGE_CHANNELS[1:]
    assert image_stack_for(32, width=0.5) == tuple(c // 2 for c in PAPER_IMAGE_CHANNELS[2:])
    spec = DMBNSpec(image_size=128)
    assert spec.bottleneck_size == 2 and spec.flat_dim == 1024  # Table C.2: (256, 2, 2) -> 1024
    with pytest.raises(ValueError, match="power of two"):
        image_stack_for(48)


def test_spec_rejects_bad_values_with_clear_messages():
    with pytest.raises(ValueError, match="not divisible"):
        DMBNSpec(image_size=24, image_channels=(4, 8, 8, 8))
    with pytest.raises(ValueError, match="unknown modality"):
        DMBNSpec(modalities=("image", "sound"))
    with pytest.raises(ValueError, match="image_sigma"):
        DMBNSpec(image_sigma="tight")


def test_dmbn_shapes_and_sigma_ranges():
    model = DMBN(small_spec())
    b, m = 3, 7
    obs = Observations(torch.rand(m), torch.tensor([0, 0, 1, 2, 2, 2, 1]),
                       {"image": torch.rand(m, 3, 16, 16), "joint": torch.rand(m, D)}, b)
    with torch.no_grad():
        out = model(obs, {"image": torch.rand(b), "joint": torch.rand(b)}, torch.rand(5), torch.tensor([0, 1, 2, 2, 0]))
    assert out["image"][0].shape == (5, 3, 16, 16) and out["joint"][0].shape == (5, D)
    mean, sigma = out["image"]
    assert float(mean.min()) >= 0 and float(mean.max()) <= 1
    # authors' bounded image sigma: softplus(sigmoid(x)) lies in (log 2, log(1 + e))
    assert float(sigma.min()) > math.log(2) - 1e-6 and float(sigma.max()) < math.log(1 + math.e) + 1e-6
    assert float(out["joint"][1].min()) >= model.spec.min_sigma


def test_missing_modality_weight_zero_equals_single_modality_representation():
    model = DMBN(small_spec())
    obs = Observations(torch.rand(4), torch.tensor([0, 1, 1, 1]),
                       {"image": torch.rand(4, 3, 16, 16), "joint": torch.rand(4, D)}, 2)
    reps = model.encode(obs)
    blended = model.represent(obs, {"image": 1.0, "joint": 0.0})
    torch.testing.assert_close(blended, reps["image"])
    # Eq. 2: the per-modality representation is the mean of the per-observation latents
    points = model.encode_points("joint", obs.times, obs.values["joint"])
    torch.testing.assert_close(reps["joint"][1], points[1:].mean(0))
    # Eq. 3 with p = (0.25, 0.75)
    mixed = blend(reps, {"image": torch.tensor([0.25, 0.25]), "joint": torch.tensor([0.75, 0.75])})
    torch.testing.assert_close(mixed, 0.25 * reps["image"] + 0.75 * reps["joint"])
    with pytest.raises(ValueError, match="sum to zero"):
        blend(reps, {"image": 0.0, "joint": 0.0})


def test_image_only_model_has_no_joint_encoder():
    model = DMBN(small_spec(modalities=("image",), decoded=("image",)))
    assert set(model.encoders) == {"image"} and set(model.decoders) == {"image"}
    obs = Observations(torch.rand(2), torch.tensor([0, 0]), {"joint": torch.rand(2, D)}, 1)
    with pytest.raises(ValueError, match="encodes"):
        model.encode(obs)


def test_gaussian_nll_matches_closed_form():
    mean, sigma, target = torch.zeros(2, 3), torch.full((2, 3), 2.0), torch.ones(2, 3)
    total, parts = gaussian_nll({"joint": (mean, sigma)}, {"joint": target})
    expected = 3 * (0.5 * 0.25 + math.log(2.0) + 0.5 * math.log(2 * math.pi))
    assert total.item() == pytest.approx(expected) and parts["joint"] == pytest.approx(expected)
    weighted, _ = gaussian_nll({"joint": (mean, sigma)}, {"joint": target}, {"joint": 0.01})
    assert weighted.item() == pytest.approx(0.01 * expected)
    with pytest.raises(ValueError, match="shape"):
        gaussian_nll({"joint": (mean, sigma)}, {"joint": torch.ones(2, 4)})


def test_sampled_batches_respect_obs_max_and_never_target_an_observed_step():
    data, _ = synthetic_data()
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        batch = sample_dmbn_batch(data, 8, obs_max=5, targets_per_sample=2, modalities=("image", "joint"),
                                  generator=g, joint_targets_per_sample=4)
        counts = torch.bincount(batch.obs.index, minlength=8)
        assert int(counts.min()) >= 1 and int(counts.max()) <= 5
        assert batch.targets["image"].shape == (16, 3, 16, 16) and batch.t_target["image"].shape == (16,)
        assert batch.targets["joint"].shape == (32, D) and batch.t_target["joint"].shape == (32,)
        for b in range(8):
            seen = set(batch.obs.times[batch.obs.index == b].tolist())
            for m in ("image", "joint"):
                targets = batch.t_target[m][batch.target_index[m] == b].tolist()
                assert not seen & set(targets) and len(set(targets)) == len(targets)
            # the image targets are the first joint targets (shared query times)
            assert set(batch.t_target["image"][batch.target_index["image"] == b].tolist()) <= set(
                batch.t_target["joint"][batch.target_index["joint"] == b].tolist())
        p = batch.weights["image"]
        torch.testing.assert_close(p + batch.weights["joint"], torch.ones(8))
    with pytest.raises(ValueError, match="time steps"):
        sample_dmbn_batch(data, 2, obs_max=9, targets_per_sample=2, modalities=("image",), generator=g)
    with pytest.raises(ValueError, match="must be >= 1"):
        sample_dmbn_batch(data, 2, obs_max=2, targets_per_sample=0, modalities=("image",), generator=g)


def test_dmbn_training_lowers_the_loss_and_is_reproducible():
    data, _ = synthetic_data(n=2, t=8)
    losses = []
    for _ in range(2):
        torch.manual_seed(0)
        model = DMBN(small_spec())
        result = train_dmbn(model, data, steps=40, batch_size=4, lr=3e-3, seed=0, targets_per_sample=2,
                            snapshot_steps=(0, 40), snapshot_fn=lambda m: {"x": np.ones(2)})
        losses.append(result.losses)
        assert set(result.snapshots) == {0, 40}
    np.testing.assert_array_equal(losses[0], losses[1])
    assert losses[0][-10:].mean() < losses[0][:5].mean()


def test_predict_trajectory_shapes():
    model = DMBN(small_spec())
    obs = Observations(torch.rand(2), torch.tensor([0, 1]), {"image": torch.rand(2, 3, 16, 16)}, 2)
    out = predict_trajectory(model, obs, {"image": 1.0, "joint": 0.0}, torch.linspace(0, 1, 9), chunk=5)
    assert out["image"][0].shape == (2, 9, 3, 16, 16) and out["joint"][0].shape == (2, 9, D)


def test_mvae_masks_and_rollout():
    data, _ = synthetic_data()
    g = torch.Generator().manual_seed(0)
    images, joints, image_pair, joint_pair, scheme = sample_mvae_batch(data, 32, g)
    assert images.shape == (32, 6, 16, 16) and joints.shape == (32, 2 * D)
    for i in range(32):
        m_img_t, m_jnt_t, m_img_t1, m_jnt_t1 = MASK_SCHEMES[int(scheme[i])]
        assert bool((images[i, :3] == MASK_VALUE).all()) == m_img_t
        assert bool((joints[i, D:] == MASK_VALUE).all()) == m_jnt_t1
        if not m_img_t:
            torch.testing.assert_close(images[i, :3], image_pair[i, :3])
    model = MVAE(small_spec())
    img, jnt = rollout(model, data.float_images(torch.tensor(0), torch.tensor(3)), data.joints[0, 3],
                       {"image": True, "joint": False}, t_cond=3, n_steps=data.steps)
    assert img.shape == (data.steps, 3, 16, 16) and jnt.shape == (data.steps, D)
    with pytest.raises(ValueError, match="t_cond"):
        rollout(model, img[0], jnt[0], {"image": True}, t_cond=99, n_steps=data.steps)
    with pytest.raises(ValueError, match="at least one"):
        rollout(model, img[0], jnt[0], {"image": False, "joint": False}, t_cond=0, n_steps=data.steps)
    result = train_mvae(model, data, steps=3, batch_size=4, lr=1e-3, seed=0)
    assert result.losses.shape == (3,) and np.isfinite(result.losses).all()


def test_joint_scaler_round_trip_and_range():
    _, scaler = synthetic_data()
    x = np.random.default_rng(1).normal(size=(5, D)).astype(np.float32)
    np.testing.assert_allclose(scaler.inverse(scaler.transform(x)), x, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="NaN"):
        JointScaler.fit(np.array([[np.nan, 1.0]]))


def test_resize_images_area_average():
    images = np.zeros((2, 4, 4, 3), dtype=np.uint8)
    images[:, :2, :2] = 200
    small = resize_images(images, 2)
    assert small.shape == (2, 2, 2, 3) and small[0, 0, 0, 0] == 200 and small[0, 1, 1, 0] == 0
    with pytest.raises(ValueError, match="uint8"):
        resize_images(images.astype(np.float32), 2)


def test_sequence_data_rejects_mismatched_arrays():
    images = np.zeros((2, 5, 8, 8, 3), dtype=np.uint8)
    scaler = JointScaler((0.0,) * D, (1.0,) * D)
    with pytest.raises(ValueError, match="joints"):
        SequenceData.from_arrays(images, np.zeros((2, 4, D), np.float32), np.linspace(0, 1, 5), scaler)
    with pytest.raises(ValueError, match="uint8"):
        SequenceData.from_arrays(images.astype(np.float32), np.zeros((2, 5, D)), np.linspace(0, 1, 5), scaler)


def test_cached_training_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("SENSORIMOTOR_CACHE", str(tmp_path))
    data, _ = synthetic_data(n=2, t=6)
    calls = []

    def train(model):
        calls.append(1)
        return train_dmbn(model, data, steps=2, batch_size=2, lr=1e-3, seed=0,
                          snapshot_steps=(2,), snapshot_fn=lambda m: {"codes": np.arange(3.0)})

    torch.manual_seed(0)
    first = DMBN(small_spec())
    r1 = cached_training("dmbn-test", {"k": 1}, first, train)
    second = DMBN(small_spec())
    r2 = cached_training("dmbn-test", {"k": 1}, second, train)
    assert len(calls) == 1 and r2.from_cache and not r1.from_cache
    np.testing.assert_array_equal(r2.snapshots[2]["codes"], np.arange(3.0))
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)


def test_network_view_crops_the_window_then_resizes():
    from sensorimotor.dmbn.training import network_view

    frames = np.zeros((2, 8, 8, 3), dtype=np.uint8)
    frames[:, 4:, 2:6] = 200  # a bright block in the lower centre
    full = network_view(frames, 4)
    window = network_view(frames, 2, (0.5, 0.25, 0.5))  # exactly the block
    assert full.shape == (2, 4, 4, 3) and window.shape == (2, 2, 2, 3)
    assert (window == 200).all() and full.min() == 0
    with pytest.raises(ValueError, match=r"\(0.6, 0.0, 0.5\) must lie inside the frame"):
        network_view(frames, 2, (0.6, 0.0, 0.5))
