"""GMN training loop, checkpoint cache and the paper's evaluation protocols on a tiny scene set."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from gmn_tiny import TINY, tiny_scenes  # noqa: F401 (tiny_scenes is the fixture `data`)

from sensorimotor.gmn import evaluation as gmn_eval
from sensorimotor.gmn.model import GMN
from sensorimotor.gmn.scenes import SceneDatasetConfig, modality_split, scene_dataset
from sensorimotor.gmn.training import TrainJob, TrainSpec, run_jobs, train_gmn, trained_gmn

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return GMN(modality_split(2, 16), TINY, "apoe").eval()


def test_sigma_is_annealed_linearly():
    spec = TrainSpec(steps=100, sigma_start=0.3, sigma_end=0.1, sigma_anneal=0.5)
    assert spec.sigma(0) == pytest.approx(0.3)
    assert spec.sigma(25) == pytest.approx(0.2)
    assert spec.sigma(50) == spec.sigma(99) == pytest.approx(0.1)


def test_training_and_the_checkpoint_cache(data):
    mods = modality_split(2, 16)
    spec = TrainSpec(steps=3, batch_size=2, max_context=4, max_targets=2)
    calls = []

    def train(m):
        calls.append(1)
        return train_gmn(m, data, mods, spec, progress=False, evaluate=lambda mm, step: {"x": float(step)}, eval_every=2)

    first, hist = trained_gmn({"k": 1}, mods, TINY, "baseline", train)
    assert len(hist["loss"]) == 3 and np.isfinite(hist["loss"]).all()
    assert hist["eval/step"] == [0.0, 2.0, 3.0] and hist["eval/x"] == [0.0, 2.0, 3.0]
    second, hist2 = trained_gmn({"k": 1}, mods, TINY, "baseline", train)
    assert len(calls) == 1 and hist2 == hist  # loaded from the cache, not retrained
    for a, b in zip(first.state_dict().values(), second.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b)


def test_training_rejects_bad_masks(data):
    mods = modality_split(2, 16)
    with pytest.raises(ValueError, match="scene_modalities"):
        train_gmn(GMN(mods, TINY), data, mods, TrainSpec(steps=1), scene_modalities=np.ones((2, 2), bool), progress=False)


def test_cross_modal_density(model, data):
    mods = modality_split(2, 16)
    out = gmn_eval.cross_modal_density(model, data, mods, [0, 1, 2], "haptic", "image", counts=(0, 2), extra_counts=(0, 1),
                                       n_targets=2, n_samples=2, sigma=0.1, seed=0, grey=(False, True))  # fmt: skip
    assert out.shape == (2, 2, 2) and np.isfinite(out).all()
    assert (out[1] > out[0]).all()  # one grey channel scores higher than three RGB channels of the same pixels
    again = gmn_eval.cross_modal_density(model, data, mods, [0, 1, 2], "haptic", "image", counts=(0, 2), extra_counts=(0, 1),
                                         n_targets=2, n_samples=2, sigma=0.1, seed=0, grey=(False, True))  # fmt: skip
    np.testing.assert_array_equal(out, again)
    scenes = gmn_eval.cross_modal_density(model, data, mods, [0, 1, 2], "haptic", "image", counts=(0, 2), extra_counts=(0, 1),
                                          n_targets=2, n_samples=2, sigma=0.1, seed=0, grey=(False, True),
                                          per_scene=True)  # fmt: skip
    assert scenes.shape == (2, 2, 2, 3)
    np.testing.assert_allclose(scenes.mean(axis=-1), out, rtol=1e-6)


def test_context_gain_is_a_paired_difference_with_its_standard_error(model, data):
    gain = gmn_eval.context_gain(np.array([3.0, 5.0, 7.0]), np.array([1.0, 2.0, 3.0]))
    assert gain["mean"] == pytest.approx(3.0) and gain["n"] == 3
    assert gain["se"] == pytest.approx(1.0 / np.sqrt(3)) and gain["lower"] == pytest.approx(3.0 - 3.0 / np.sqrt(3))
    with pytest.raises(ValueError, match="at least 2 scenes"):
        gmn_eval.context_gain(np.array([1.0]), np.array([0.0]))
    mods = modality_split(2, 16)
    same = gmn_eval.same_modality_gain(model, data, mods, [0, 1, 2], "haptic", 2, 2, 2, 0.1, 0)
    assert same["n"] == 3 and np.isfinite([same["mean"], same["se"], same["lower"]]).all()


class _ContextReader(torch.nn.Module):
    """A stand-in model whose log-likelihood for scene b is the mean of the context senses it is given for b."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.zeros(1))

    def log_likelihood(self, context, target, n_scenes, **_):
        sense, _, scene = context["haptic"]
        total = torch.zeros(n_scenes).index_add_(0, scene, sense.mean(dim=1))
        return total / torch.bincount(scene, minlength=n_scenes)


def test_other_scene_context_is_the_next_scenes_on_the_same_targets(model, data):
    mods = modality_split(2, 16)
    common = dict(counts=(0,), extra_counts=(2,), n_targets=2, n_samples=1, sigma=0.1, seed=0, per_scene=True, chunk=3)
    reader = _ContextReader()
    own = gmn_eval.cross_modal_density(reader, data, mods, range(6), "haptic", "haptic", **common)[0, 0, 0]
    other = gmn_eval.cross_modal_density(reader, data, mods, range(6), "haptic", "haptic", other_scene=True, **common)[0, 0, 0]
    np.testing.assert_allclose(other, np.roll(own.reshape(2, 3), -1, axis=1).ravel(), rtol=1e-6)  # within each chunk
    gap = gmn_eval.other_scene_gap(model, data, mods, [0, 1, 2], "haptic", 2, 2, 2, 0.1, 0)
    assert gap["n"] == 3 and np.isfinite([gap["mean"], gap["se"], gap["lower"]]).all()
    ids = np.arange(33) % 6  # 33 scenes: chunks of 32 would leave one scene alone; the gap chunks them otherwise
    assert gmn_eval.other_scene_gap(reader, data, mods, ids, "haptic", 2, 2, 1, 0.1, 0)["n"] == 33
    with pytest.raises(ValueError, match="at least 2 scenes per chunk"):
        gmn_eval.cross_modal_density(reader, data, mods, range(4), "haptic", "haptic", other_scene=True, **common)


def test_cross_modal_other_scene_gap_swaps_only_the_source_context(data):
    """With a source modality the context holds only its pairs (image targets, haptic context here), and the gap
    is the reader's own-context value minus the next scene's, scene by scene."""
    mods = modality_split(2, 16)
    reader = _ContextReader()
    ids = np.arange(32) % 6
    gap = gmn_eval.other_scene_gap(reader, data, mods, ids, "image", 3, 2, 1, 0.1, 0, source="haptic")
    common = dict(counts=(3,), extra_counts=(0,), n_targets=2, n_samples=1, sigma=0.1, seed=0, per_scene=True, chunk=32)
    own = gmn_eval.cross_modal_density(reader, data, mods, ids, "haptic", "image", **common)[0, 0, 0]
    expected = gmn_eval.context_gain(own, np.roll(own, -1))
    assert gap["n"] == 32 and gap["mean"] == pytest.approx(expected["mean"]) and gap["se"] == pytest.approx(expected["se"])
    assert gap["se"] > 0  # the stand-in reads its scene's grasps (its mean gap is 0: a cyclic sum of differences)


def test_generation_and_silhouettes(model, data):
    mods = modality_split(2, 16)
    out = gmn_eval.generation(model, data, mods, 1, {"image": 1, "haptic": 5}, n_queries=3, n_samples=2, seed=0)
    assert out["context_images"].shape == (1, 16, 16, 3) and out["truth"].shape == (3, 16, 16, 3)
    assert out["samples"].shape == (2, 3, 16, 16, 3) and 0 <= out["samples"].min() and out["samples"].max() <= 1
    sil = gmn_eval.silhouette_agreement(model, data, mods, [0, 1], {"image": 1}, 2, 2, 0.1, 0)
    assert 0 <= sil["iou"] <= 1 and sil["grey_spread"] >= 0 and sil["chroma_spread"] >= 0


def test_classification(model, data):
    mods = modality_split(2, 16)
    groups = np.arange(6).reshape(2, 3)
    correct = gmn_eval.classification(model, data, mods, groups, (1, 3), {"I": ["image"], "H+I": ["image", "haptic"]},
                                      n_targets=1, n_samples=2, sigma=0.1, seed=0, proposal="prior")  # fmt: skip
    assert set(correct) == {"I", "H+I"}
    for c in correct.values():
        a = c.mean(axis=1)
        assert a.shape == (2,) and ((a >= 0) & (a <= 1)).all()
        assert np.allclose(a * 6, np.round(a * 6))  # a count out of 6 held-out sets
    with pytest.raises(ValueError, match=r"unknown modalities \['touch'\]"):
        gmn_eval.classification(model, data, mods, groups, (1,), {"T": ["touch"]}, 1, 1, 0.1, 0)


def test_masks_and_masked_nll(data):
    gen = np.random.default_rng(0)
    masks = gmn_eval.sample_modality_masks(gen, 50, 8, (1, 2))
    assert set(masks.sum(axis=1)) == {1, 2}
    with pytest.raises(ValueError, match="mask sizes"):
        gmn_eval.sample_modality_masks(gen, 2, 8, (0,))
    mods = modality_split(8, 16)
    model = GMN(mods, TINY, "apoe").eval()
    nll = gmn_eval.masked_nll(model, data, mods, [0, 1, 2], masks[:3], max_context=3, max_targets=2, sigma=0.1, seed=0)
    assert np.isfinite(nll)


def test_compare_poe_apoe(data):
    mods = modality_split(5, 16)
    out = gmn_eval.compare_poe_apoe(mods, TINY, data, batch_size=2, repeats=2, seed=0, max_context=3, max_targets=1)
    assert out["params"]["poe"] > out["params"]["apoe"]
    assert all(s > 0 for s in out["seconds"].values()) and all(len(t) == 2 for t in out["times"].values())
    assert out["ratio"] == out["seconds"]["poe"] / out["seconds"]["apoe"]
    lo, hi = out["ratio_interval"]
    assert 0 < lo <= hi
    one = gmn_eval.compare_poe_apoe(mods, TINY, data, batch_size=2, repeats=1, seed=0, max_context=3, max_targets=1)
    assert one["ratio_interval"] is None  # one pair: no interval


def test_ratio_of_medians_interval_reads_known_answers():
    rng = np.random.default_rng(0)
    den = 1.0 + 0.05 * rng.random(40)
    lo, hi = gmn_eval.ratio_of_medians_interval(1.5 * den, den, seed=0)
    assert lo == pytest.approx(1.5) and hi == pytest.approx(1.5)  # a constant ratio: no spread
    noisy = 1.5 * den * (1.0 + 0.4 * rng.standard_normal(40).clip(-2, 2) / 4)
    lo, hi = gmn_eval.ratio_of_medians_interval(noisy, den, seed=0)
    assert lo < np.median(noisy) / np.median(den) < hi and hi - lo < 0.3
    few_lo, few_hi = gmn_eval.ratio_of_medians_interval(noisy[:4], den[:4], seed=0)
    assert few_hi - few_lo > hi - lo  # fewer repeats, wider interval
    assert gmn_eval.ratio_of_medians_interval(noisy, den, seed=3) == gmn_eval.ratio_of_medians_interval(noisy, den, seed=3)


@pytest.mark.parametrize(
    ("num", "den", "match"),
    [([1.0], [1.0], "paired repeats"), ([1.0, 2.0], [1.0], "paired repeats"), ([1.0, 0.0], [1.0, 1.0], "finite and > 0"),
     ([1.0, float("nan")], [1.0, 1.0], "finite and > 0")],
)
def test_ratio_of_medians_interval_refuses_bad_repeats(num, den, match):
    with pytest.raises(ValueError, match=match):
        gmn_eval.ratio_of_medians_interval(num, den, seed=0)


def test_training_jobs_give_the_same_models_in_worker_processes(tmp_path, monkeypatch):
    config = SceneDatasetConfig(n_scenes=4, n_views=4, image_size=16, supersample=1)
    scene_dataset(config, workers=1, progress=False)
    spec = TrainSpec(steps=2, batch_size=2, max_context=2, max_targets=1)
    jobs = [TrainJob({}, 2, 16, TINY, s, spec, config, seed=0, label=s) for s in ("baseline", "apoe")]
    in_workers = run_jobs(jobs, processes=2, threads=1, progress=False)
    assert all(job.path().exists() for job in jobs)
    monkeypatch.setenv("SENSORIMOTOR_CACHE", str(tmp_path / "fresh"))
    in_process = run_jobs(jobs, processes=1, threads=1, progress=False)
    for (a, ha), (b, hb) in zip(in_workers, in_process, strict=True):
        assert ha["loss"] == hb["loss"]
        for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
            torch.testing.assert_close(x, y, rtol=0, atol=0)
