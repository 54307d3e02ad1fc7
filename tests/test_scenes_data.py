"""Scene datasets: caching, reproducibility, modality splits and context/target batches."""

from __future__ import annotations

import numpy as np
import pytest

from sensorimotor.gmn.scenes import (
    SceneDatasetConfig,
    extract,
    make_batch,
    make_scene,
    modality_split,
    scene_dataset,
    training_batch,
)

TINY = SceneDatasetConfig(n_scenes=3, n_views=5, image_size=16, supersample=1, n_parts=(4, 5))


@pytest.fixture(scope="module")
def tiny_data():
    return scene_dataset(TINY, workers=1, progress=False)


def test_dataset_arrays(tiny_data):
    d = tiny_data
    assert d["images"].shape == (3, 5, 16, 16, 3) and d["images"].dtype == np.uint8
    assert d["cameras"].shape == (3, 5, 7) and d["hands"].shape == (3, 5, 7)
    assert d["haptics"].shape == (3, 5, 59) and d["haptics"].dtype == np.float32
    assert set(d["n_parts"]) <= {4, 5}
    for i, n in enumerate(d["n_parts"]):
        assert np.isfinite(d["centres"][i, :n]).all() and np.isnan(d["centres"][i, n:]).all()


def test_dataset_is_cached_and_scenes_do_not_depend_on_the_set_size(tiny_data, _isolated_cache):
    again = scene_dataset(TINY, workers=1, progress=False)
    for key in tiny_data:
        np.testing.assert_array_equal(again[key], tiny_data[key])
    assert len(list((_isolated_cache / "scenes").glob("*.npz"))) == 1
    bigger = scene_dataset(SceneDatasetConfig(**{**TINY.__dict__, "n_scenes": 4}), workers=1, progress=False)
    np.testing.assert_array_equal(bigger["images"][:3], tiny_data["images"])
    np.testing.assert_array_equal(bigger["haptics"][:3], tiny_data["haptics"])


def test_worker_count_does_not_change_the_scenes(tiny_data):
    config = SceneDatasetConfig(**{**TINY.__dict__, "n_scenes": 2, "split": "test"})
    parallel = scene_dataset(config, workers=2, progress=False)
    for i in range(2):
        single = make_scene(config, i)
        np.testing.assert_array_equal(parallel["images"][i], single["images"])
        np.testing.assert_array_equal(parallel["haptics"][i], single["haptics"])


def test_splits_are_independent_streams(tiny_data):
    test = scene_dataset(SceneDatasetConfig(**{**TINY.__dict__, "split": "test"}), workers=1, progress=False)
    assert not np.array_equal(test["images"], tiny_data["images"])


def test_bad_dataset_configs():
    with pytest.raises(ValueError, match="unknown split 'val'"):
        SceneDatasetConfig(n_scenes=2, split="val")
    with pytest.raises(ValueError, match="multiple of 8"):
        SceneDatasetConfig(n_scenes=2, image_size=20)
    with pytest.raises(ValueError, match="n_parts"):
        SceneDatasetConfig(n_scenes=2, n_parts=())


@pytest.mark.parametrize("m", [2, 5, 8, 14])
def test_modality_splits(tiny_data, m):
    mods = modality_split(m, 16)
    assert len(mods) == m and len({x.name for x in mods}) == m
    total_pixels = sum(np.prod(x.shape) for x in mods if x.kind == "image")
    total_haptic = sum(x.shape[0] for x in mods if x.kind == "haptic")
    assert total_pixels == 3 * 16 * 16 and total_haptic == 59  # the split partitions the senses
    for x in mods:
        sense, query = extract(tiny_data, x, np.array([0, 1]), np.array([2, 3]))
        assert sense.shape == (2, *x.shape) and query.shape == (2, 7)
        assert sense.min() >= 0 and sense.max() <= 1


def test_image_split_takes_the_right_pixels(tiny_data):
    mods = {x.name: x for x in modality_split(8, 16)}
    sense, _ = extract(tiny_data, mods["image_right_g"], np.array([1]), np.array([4]))
    np.testing.assert_allclose(sense[0, 0], tiny_data["images"][1, 4, :, 8:, 1] / 255.0)


def test_unknown_modality_count():
    with pytest.raises(ValueError, match=r"unknown modality count 3; accepted: \(2, 5, 8, 14\)"):
        modality_split(3, 16)


def test_make_batch_counts_and_disjoint_views(tiny_data):
    mods = modality_split(2, 16)
    context, target = make_batch(tiny_data, mods, [2, 0], {"image": 2, "haptic": 3}, {"image": 3}, np.random.default_rng(0))
    assert context["image"][0].shape == (4, 3, 16, 16) and context["haptic"][0].shape == (6, 59)
    assert target["image"][0].shape == (6, 3, 16, 16) and "haptic" not in target
    assert context["image"][2].tolist() == [0, 0, 1, 1]
    # context and target views of a scene are different views: no identical image appears in both
    for b in range(2):
        ctx = context["image"][0][context["image"][2] == b]
        tgt = target["image"][0][target["image"][2] == b]
        assert not any(bool((c == t).all()) for c in ctx for t in tgt)
    with pytest.raises(ValueError, match=r"unknown modality name\(s\) \['sound'\]"):
        make_batch(tiny_data, mods, [0], {"sound": 1}, {"image": 1}, np.random.default_rng(0))
    with pytest.raises(ValueError, match="asked for 6 context"):
        make_batch(tiny_data, mods, [0], {"image": 6}, {"image": 1}, np.random.default_rng(0))


def test_training_batch_respects_allowed_modalities(tiny_data):
    mods = modality_split(8, 16)
    allowed = np.zeros((3, 8), dtype=bool)
    allowed[0, 0] = allowed[1, [1, 6]] = allowed[2, 7] = True
    context, target = training_batch(tiny_data, mods, [0, 1, 2], np.random.default_rng(0), 4, 2, allowed)
    for j, m in enumerate(mods):
        for obs in (context, target):
            if m.name in obs:
                assert set(obs[m.name][2].tolist()) <= set(np.flatnonzero(allowed[:, j]).tolist())
    for b in range(3):  # every scene keeps at least one target
        assert any((t[2] == b).any() for t in target.values())
    with pytest.raises(ValueError, match="a modality per scene"):
        training_batch(tiny_data, mods, [0, 1, 2], np.random.default_rng(0), 4, 2, np.zeros((3, 8), dtype=bool))
    with pytest.raises(ValueError, match="max_context"):
        training_batch(tiny_data, mods, [0], np.random.default_rng(0), 5, 2)
