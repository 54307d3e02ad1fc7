"""Evaluation helpers of the DMBN chapter on small synthetic arrays of the data contract's shapes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_dmbn_models import D, small_spec, synthetic_data

from sensorimotor.dmbn.evaluation import (
    PANELS,
    best_constant_hits,
    condition_steps,
    contact_steps,
    cross_modal_retrieval,
    disturbance_scores,
    dmbn_from_images,
    dmbn_trajectories,
    errors_by_horizon,
    missing_modality_errors,
    mvae_trajectories,
    nearest_index,
    nearest_trajectories,
    paired_encodings,
    retrieval_chance,
    same_response,
    shuffled_retrieval,
    training_subset,
    trajectory_errors,
)
from sensorimotor.dmbn.model import DMBN
from sensorimotor.dmbn.mvae import MVAE


def test_contact_and_condition_steps():
    xy = np.zeros((3, 10, 7), dtype=np.float32)
    xy[0, 6:, 0] = np.linspace(0.01, 0.1, 4)  # first moves at step 6
    xy[1, 3:, 1] = -0.2  # moves at step 3
    xy[2, 8:, 2] = 0.05  # lifted at step 8
    np.testing.assert_array_equal(contact_steps(xy), [6, 3, 8])
    np.testing.assert_array_equal(condition_steps(xy, offset=2), [4, 1, 6])
    with pytest.raises(ValueError, match="N, T"):
        contact_steps(xy[0])
    with pytest.raises(ValueError, match="offset"):
        condition_steps(xy, offset=0)


def test_training_subsets_are_balanced_and_reproducible():
    actions = np.array([0] * 10 + [1] * 6)
    sub = training_subset(actions, 6, seed=0)
    assert len(sub) == 6 and (actions[sub] == 1).sum() == 3 and len(set(sub)) == 6
    np.testing.assert_array_equal(sub, training_subset(actions, 6, seed=0))
    assert len(training_subset(actions, 16, seed=1)) == 16
    with pytest.raises(ValueError, match="subset size"):
        training_subset(actions, 17, seed=0)


def test_retrieval_accuracy():
    g = np.random.default_rng(0)
    a = g.normal(size=(50, 8))
    assert cross_modal_retrieval(a, a + 1e-3) == 1.0
    assert cross_modal_retrieval(a, g.normal(size=(50, 8))) < 0.2
    # with a step tolerance a neighbour of the same interaction counts
    inter, step = np.zeros(50, int), np.arange(50)
    shifted = np.roll(a, 1, axis=0)
    assert cross_modal_retrieval(a, shifted) == 0.0
    assert cross_modal_retrieval(a, shifted, inter, step, step_tolerance=1) > 0.95
    with pytest.raises(ValueError, match="same shape"):
        cross_modal_retrieval(a, a[:10])


def test_errors_by_horizon_and_trajectory_errors():
    true = np.zeros((2, 5, 1))
    pred = np.arange(5, dtype=float)[None, :, None].repeat(2, 0)  # error grows with t
    cond = np.array([0, 4])
    h = errors_by_horizon(pred, true, cond, max_horizon=5)
    # horizon 0: t=0 (err 0) and t=4 (err 16) -> mean 8; horizon 4: t=4 (16) and t=0 (0) -> 8
    assert h[0] == pytest.approx(8.0) and h[4] == pytest.approx(8.0) and np.isnan(h[5])
    np.testing.assert_allclose(trajectory_errors(pred, true), [6.0, 6.0])
    with pytest.raises(ValueError, match="shape"):
        trajectory_errors(pred, true[:, :3])


def test_nearest_trajectories_and_disturbance():
    g = np.random.default_rng(0)
    ref = g.random((4, 3, 3, 4, 4)).astype(np.float32)
    idx, err = nearest_trajectories(ref[[2, 0]] + 0.01, ref)
    np.testing.assert_array_equal(idx, [2, 0])
    assert (err < 1e-3).all()
    clean = disturbance_scores(ref[:1], ref.reshape(-1, 3, 4, 4))
    noisy = disturbance_scores(g.random((1, 3, 3, 4, 4)), ref.reshape(-1, 3, 4, 4))
    assert clean[0] == pytest.approx(0.0, abs=1e-6) and noisy[0] > 0.01
    assert nearest_index(ref[1, 0], ref[:, 0])[0] == 1


def test_prediction_helpers_shapes():
    data, _ = synthetic_data(n=4, t=8)
    dmbn, mvae = DMBN(small_spec()), MVAE(small_spec())
    inter, cond = np.array([0, 3]), np.array([2, 5])
    pred = dmbn_trajectories(dmbn, data, inter, cond, {"image": 1.0, "joint": 0.0})
    assert pred["image"].shape == (2, 8, 3, 16, 16) and pred["joint"].shape == (2, 8, D)
    with pytest.raises(ValueError, match="no modality"):
        dmbn_trajectories(dmbn, data, inter, cond, {"image": 0.0, "joint": 0.0})
    rolled = mvae_trajectories(mvae, data, inter, cond, {"joint": True})
    assert rolled["image"].shape == (2, 8, 3, 16, 16)
    frames = np.zeros((3, 16, 16, 3), dtype=np.uint8)
    out = dmbn_from_images(dmbn, frames, 0.4, np.linspace(0, 1, 8))
    assert out["joint"].shape == (3, 8, D)
    with pytest.raises(ValueError, match="uint8"):
        dmbn_from_images(dmbn, frames.astype(float), 0.4, np.linspace(0, 1, 8))
    errors = missing_modality_errors(dmbn, mvae, data, inter, cond)
    assert set(errors) == set(PANELS) and all(set(v) == {"DMBN", "MVAE"} for v in errors.values())
    codes = paired_encodings(dmbn, data, inter, cond)
    assert codes["image"].shape == codes["joint"].shape == (2, 16)
    assert torch.get_num_threads() >= 1


def test_retrieval_chance_and_shuffled_baseline():
    # 5 interactions x 4 steps, every state sampled: each state has 2-3 hits within one step
    inter, step = np.repeat(np.arange(5), 4), np.tile(np.arange(4), 5)
    chance = retrieval_chance(inter, step, 1)
    assert chance == pytest.approx(((2 + 3 + 3 + 2) * 5) / 20 / 20)
    g = np.random.default_rng(0)
    a = g.normal(size=(20, 6))
    shuffled = shuffled_retrieval(a, a, inter, step, 1, n_shuffles=2000, seed=0)
    assert cross_modal_retrieval(a, a, inter, step, 1) == 1.0 and shuffled.max() < 1.0
    assert shuffled.mean() == pytest.approx(chance, abs=0.01)  # shuffling the pairing gives chance
    np.testing.assert_array_equal(shuffled, shuffled_retrieval(a, a, inter, step, 1, n_shuffles=2000, seed=0))


class _Out:
    def __init__(self, lifted=False, distance=0.0, direction=0.0):
        self.lifted, self.distance, self.direction = lifted, distance, direction

    @property
    def moved(self):
        return self.lifted or self.distance >= 0.02


def test_constant_answer_and_same_response():
    tol = np.radians(45)
    lift, still = _Out(lifted=True), _Out()
    pushes = [_Out(distance=0.2, direction=d) for d in (0.0, 0.5, 1.2, 3.0)]
    assert best_constant_hits([lift] * 3 + pushes, tol) == 3  # always lifting: 3; best push window holds 3 too
    assert best_constant_hits([lift] + pushes, tol) == 3  # one push direction catches 0.0, 0.5 and 1.2 rad
    assert same_response(lift, lift, tol) and same_response(still, still, tol)
    assert not same_response(lift, pushes[0], tol) and not same_response(still, pushes[0], tol)
    assert same_response(pushes[0], pushes[1], tol) and not same_response(pushes[0], pushes[3], tol)


def test_joint_readout_recovers_a_linear_code_and_refuses_bad_input():
    from sensorimotor.dmbn.evaluation import JointReadout, image_latents
    from sensorimotor.dmbn.training import JointScaler, SequenceData

    class Fake:  # a "network" whose latent names the interaction an image comes from (one-hot)
        def represent(self, obs, weights):
            ids = (obs.values["image"].mean(dim=(1, 2, 3)) * 255 / 10).round().long()
            return torch.nn.functional.one_hot(ids, 12).float()

    g = np.random.default_rng(0)
    joints = g.normal(size=(12, 3, 2)).astype(np.float32)
    images = np.broadcast_to((np.arange(12) * 10).astype(np.uint8)[:, None, None, None, None], (12, 3, 2, 2, 3)).copy()
    data = SequenceData.from_arrays(images, joints, np.linspace(0, 1, 3, dtype=np.float32), JointScaler.fit(joints))
    readout = JointReadout(ridge=1e-6).fit(Fake(), data)
    codes = image_latents(Fake(), data.float_images(torch.arange(12), torch.full((12,), 1)), data.t[torch.full((12,), 1)])
    pred = readout.predict(codes)
    assert pred.shape == (12, 3, 2)
    assert np.abs(pred - data.joints.numpy()).max() < 1e-3  # the code names the trajectory: read back exactly
    with pytest.raises(ValueError, match="do not match"):
        readout.predict(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="ridge"):
        JointReadout(ridge=0)
