"""Training scenes whose context shows one modality only (`TrainSpec.single_context`, fourth GMN pass)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gmn_tiny import TINY, tiny_scenes  # noqa: F401 (tiny_scenes is the fixture `data`)

from sensorimotor.gmn.model import GMN
from sensorimotor.gmn.scenes import modality_split
from sensorimotor.gmn.training import TrainSpec, single_modality_contexts, train_gmn

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest

MODS = modality_split(2, 16)


def test_single_modality_contexts_show_one_modality_at_the_asked_rate():
    masks = single_modality_contexts(np.random.default_rng(0), 4000, 2, 0.5)
    single = masks.sum(axis=1) == 1
    assert masks.shape == (4000, 2) and masks.any(axis=1).all()
    assert set(masks.sum(axis=1).tolist()) == {1, 2}
    assert abs(single.mean() - 0.5) < 0.03  # binomial sd 0.008
    assert abs(masks[single, 0].mean() - 0.5) < 0.04  # each modality shown alone about equally often
    assert single_modality_contexts(np.random.default_rng(0), 50, 2, 0.0).all()
    assert (single_modality_contexts(np.random.default_rng(0), 50, 3, 1.0).sum(axis=1) == 1).all()


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_train_spec_refuses_a_single_context_fraction_outside_0_1(bad):
    with pytest.raises(ValueError, match="single_context"):
        TrainSpec(steps=1, single_context=bad)


def test_single_context_cannot_be_combined_with_fixed_scene_modalities(data):
    model = GMN(MODS, TINY, "apoe")
    with pytest.raises(ValueError, match="cannot be combined"):
        train_gmn(model, data, MODS, TrainSpec(steps=1, batch_size=2, single_context=0.5),
                  scene_modalities=np.ones((6, 2), dtype=bool), progress=False)  # fmt: skip


def test_single_context_batches_hide_a_modality_from_the_context_only(data, monkeypatch):
    """With single_context = 1 every scene's context shows one modality while both stay among the targets."""
    import sensorimotor.gmn.training as training

    seen = []
    real = training.training_batch

    def spy(*args, **kwargs):
        context, target = real(*args, **kwargs)
        seen.append((context, target))
        return context, target

    monkeypatch.setattr(training, "training_batch", spy)
    model = GMN(MODS, TINY, "apoe")
    spec = TrainSpec(steps=3, batch_size=4, max_context=3, max_targets=2, single_context=1.0)
    hist = train_gmn(model, data, MODS, spec, progress=False)
    assert len(hist["loss"]) == 3 and np.isfinite(hist["loss"]).all()
    for context, target in seen:
        shown = {name: set(pairs[2].tolist()) for name, pairs in context.items()}
        assert not (shown.get("image", set()) & shown.get("haptic", set()))  # no scene shows both
        assert set(target["image"][2].tolist()) == set(target["haptic"][2].tolist()) == set(range(4))


def test_single_context_zero_trains_exactly_as_before(data):
    """The knob's default leaves the batches (and so the trained weights) of existing runs unchanged."""
    def trained(**extra):
        torch.manual_seed(0)
        model = GMN(MODS, TINY, "apoe")
        train_gmn(model, data, MODS, TrainSpec(steps=2, batch_size=2, max_context=3, max_targets=2, **extra), progress=False)
        return model.state_dict()

    a, b = trained(), trained(single_context=0.0)
    c = trained(single_context=1.0)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)
