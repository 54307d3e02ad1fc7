"""GMN second pass: the eq. 2 product, the context/target swap, context-only masking, classification
by importance-weighted posterior estimates, and the Fig. 5 gap trend."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from gmn_tiny import TINY, tiny_scenes  # noqa: F401 (tiny_scenes is the fixture `data`)

from sensorimotor.gmn import evaluation as gmn_eval
from sensorimotor.gmn.model import GMN, _product, with_product
from sensorimotor.gmn.scenes import (
    modality_split,
    training_batch,
    with_opposite,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest


MODS = modality_split(2, 16)


def test_eq2_product_without_experts_is_the_standard_normal():
    mean, logvar = torch.randn(3, 2, 4), torch.randn(3, 2, 4)
    m, lv = _product(mean, logvar, torch.zeros(3, 2))
    torch.testing.assert_close(m, torch.zeros(3, 4))
    torch.testing.assert_close(lv, torch.zeros(3, 4))


def test_eq2_product_of_one_expert_and_the_prior_expert_matches_the_closed_form():
    mean, logvar = torch.tensor([[[2.0], [5.0]]]), torch.tensor([[[math.log(0.5)], [0.0]]])  # experts N(2, .5), N(5, 1)
    m, lv = _product(mean, logvar, torch.tensor([[1.0, 0.0]]))  # only the first, times N(0, 1): precision 2 + 1
    torch.testing.assert_close(m, torch.tensor([[2.0 * 2 / 3]]))
    torch.testing.assert_close(lv, torch.tensor([[-math.log(3.0)]]))
    m_all, _ = _product(mean, logvar, None)  # the authors' product: both experts, no prior expert
    torch.testing.assert_close(m_all, torch.tensor([[(2 * 2.0 + 5.0) / 3]]))


def test_with_product_shares_weights_and_leaves_the_model_alone(data):
    torch.manual_seed(0)
    model = GMN(MODS, TINY, "apoe").eval()
    view = with_product(model, "context")
    assert model.product == "all" and view.product == "context"
    assert all(a is b for a, b in zip(model.parameters(), view.parameters(), strict=True))
    with pytest.raises(ValueError, match="unknown product 'some'; accepted: all, context"):
        with_product(model, "some")
    gen = np.random.default_rng(0)
    from sensorimotor.gmn.scenes import make_batch

    ctx, tgt = make_batch(data, MODS, [0, 1, 2], {"haptic": 3}, {"image": 2}, gen)
    ll = lambda m: m.log_likelihood(ctx, tgt, 3, n_samples=2, generator=torch.Generator().manual_seed(0))  # noqa: E731
    assert not torch.allclose(ll(model), ll(view))  # the absent image expert is dropped
    base = GMN(MODS, TINY, "baseline").eval()
    torch.testing.assert_close(ll(base), ll(with_product(base, "context")))  # no experts to drop


def test_eq2_prior_without_context_is_standard_normal():
    torch.manual_seed(0)
    view = with_product(GMN(MODS, TINY, "apoe").eval(), "context")
    z = view.sample_prior({}, 1, n_samples=400, generator=torch.Generator().manual_seed(1))
    first = z[:, : TINY.z_channels]  # the first DRAW step's latent
    assert abs(float(first.mean())) < 0.05 and abs(float(first.std()) - 1.0) < 0.05


def test_opposite_batch_swaps_context_and_target(data):
    gen = np.random.default_rng(0)
    ctx, tgt = training_batch(data, MODS, np.array([0, 1]), gen, max_context=3, max_targets=2)
    c2, t2 = with_opposite(ctx, tgt, 2)
    for name in tgt:
        n = len(tgt[name][0])
        torch.testing.assert_close(c2[name][0][-n:], tgt[name][0])
        torch.testing.assert_close(c2[name][2][-n:], tgt[name][2] + 2)
    for name in ctx:
        n = len(ctx[name][0])
        torch.testing.assert_close(t2[name][0][-n:], ctx[name][0])
    model = GMN(MODS, TINY, "apoe")
    out = model.elbo(c2, t2, 4)
    assert out["elbo"].shape == (4,) and torch.isfinite(out["loss"])


def test_context_only_masking_keeps_masked_modalities_among_the_targets(data):
    allowed = np.array([[True, False], [False, True]])
    gen = np.random.default_rng(0)
    ctx, tgt = training_batch(data, MODS, np.array([0, 1]), gen, 3, 2, allowed, mask_targets=False)
    assert set(tgt["image"][2].tolist()) == {0, 1} and set(tgt["haptic"][2].tolist()) == {0, 1}
    assert "image" not in ctx or set(ctx["image"][2].tolist()) <= {0}
    assert "haptic" not in ctx or set(ctx["haptic"][2].tolist()) <= {1}
    ctx, tgt = training_batch(data, MODS, np.array([0, 1]), np.random.default_rng(0), 3, 2, allowed, mask_targets=True)
    assert set(tgt["image"][2].tolist()) == {0} and set(tgt["haptic"][2].tolist()) == {1}


def test_pair_batch_crosses_every_target_scene_with_every_context_scene():
    k = 3
    ctx = {"m": (torch.arange(k, dtype=torch.float32)[:, None], torch.zeros(k, 7), torch.arange(k))}
    tgt = {"m": (10 + torch.arange(k, dtype=torch.float32)[:, None], torch.zeros(k, 7), torch.arange(k))}
    pc, pt = gmn_eval.pair_batch(ctx, tgt, k)
    for sense, scene, offset in ((pc["m"][0], pc["m"][2], 0), (pt["m"][0], pt["m"][2], 10)):
        for value, pair in zip(sense[:, 0].tolist(), scene.tolist(), strict=True):
            i, j = divmod(pair, k)
            assert value - offset == (j if offset == 0 else i)  # context of candidate j, targets of scene i
    assert sorted(pc["m"][2].tolist()) == list(range(k * k))


def test_classification_by_posterior_importance_sampling(data):
    torch.manual_seed(0)
    model = GMN(MODS, TINY, "apoe").eval()
    groups = np.arange(6).reshape(2, 3)
    out = gmn_eval.classification(model, data, MODS, groups, (1, 2), {"I": ["image"], "H+I": ["image", "haptic"]},
                                  n_targets=2, n_samples=2, sigma=0.1, seed=0)  # fmt: skip
    assert set(out) == {"I", "H+I"}
    for correct in out.values():
        assert correct.shape == (2, 6) and set(np.unique(correct)) <= {0.0, 1.0}
    again = gmn_eval.classification(model, data, MODS, groups, (1, 2), {"I": ["image"]}, 2, 2, 0.1, 0)
    np.testing.assert_array_equal(again["I"], out["I"])
    with pytest.raises(ValueError, match=r"unknown modalities \['touch'\]"):
        gmn_eval.classification(model, data, MODS, groups, (1,), {"T": ["touch"]}, 1, 1, 0.1, 0)


def test_gap_trend_is_the_slope_over_training_without_step_zero():
    steps = [0, 25, 50, 75, 100]
    missing = [9.0, 1.0, 1.0, 1.0, 1.0]
    full = [0.0, 1.1, 1.2, 1.3, 1.4]  # gap 0.1 .. 0.4 over fractions 0.25 .. 1: slope 0.4
    assert gmn_eval.gap_trend(steps, full, missing) == pytest.approx(0.4)
    with pytest.raises(ValueError, match="at least 2 evaluations"):
        gmn_eval.gap_trend([0, 10], [1, 2], [1, 1])


def test_scene_mean_reference_gains_only_where_scenes_differ():
    gen = np.random.default_rng(0)
    noise = lambda n: 0.05 * gen.standard_normal((n, 15, 4))  # noqa: E731
    same = 0.5 + noise(400)  # every scene alike: context carries nothing
    distinct = gen.uniform(0, 1, (400, 1, 4)) + noise(400)  # scenes differ by a constant offset per scene
    flat = gmn_eval.scene_mean_reference(same[:300], same[300:], 2, 5, 0.1, 0)
    informative = gmn_eval.scene_mean_reference(distinct[:300], distinct[300:], 2, 5, 0.1, 0)
    assert abs(flat["mean"]) < 0.5
    assert informative["lower"] > 10.0  # 4 dims, offset variance 1/12, sigma 0.1: about 15 nats per target
    with pytest.raises(ValueError, match="n_context"):
        gmn_eval.scene_mean_reference(same, same, 12, 5, 0.1, 0)
