"""Tabletop datasets: the data contract, caching, and byte-for-byte reproducibility."""

from __future__ import annotations

import numpy as np
import pytest

from sensorimotor.sim.tabletop_dataset import (
    TabletopDatasetConfig,
    dataset,
    interaction_plan,
    joint_names,
    split_indices,
)

SMALL = TabletopDatasetConfig(n_push=2, n_grasp=2, image_size=16, n_steps=8, seed=5)


@pytest.fixture()
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SENSORIMOTOR_CACHE", str(tmp_path))
    return tmp_path


@pytest.fixture(scope="module")
def small():
    return dataset(SMALL, workers=1, progress=False, cache=False)


def test_contract_keys_shapes_dtypes(small):
    n, t = 4, 8
    assert small["images"].shape == (n, t, 16, 16, 3) and small["images"].dtype == np.uint8
    assert small["joints"].shape == (n, t, 8) and small["joints"].dtype == np.float32
    assert small["t"].shape == (t,) and small["t"].dtype == np.float32
    assert small["t"][0] == 0.0 and small["t"][-1] == 1.0 and np.all(np.diff(small["t"]) > 0)
    assert small["action"].dtype == np.int64 and sorted(small["action"].tolist()) == [0, 0, 1, 1]
    assert small["angle"].shape == (n,) and small["angle"].dtype == np.float32
    assert np.all(np.abs(small["angle"]) <= np.pi)
    assert small["ee_pose"].shape == (n, t, 7) and small["ee_pose"].dtype == np.float32
    assert small["object_pose"].shape == (n, t, 7) and small["object_pose"].dtype == np.float32
    assert small["success"].all()
    assert small["joint_names"].tolist() == joint_names("panda")
    for key in ("joints", "ee_pose", "object_pose"):
        assert np.isfinite(small[key]).all()


def test_effects_match_actions(small):
    rise = small["object_pose"][:, -1, 2] - small["object_pose"][:, 0, 2]
    moved = np.linalg.norm(small["object_pose"][:, -1, :2] - small["object_pose"][:, 0, :2], axis=1)
    grasp = small["action"] == 1
    assert np.all(rise[grasp] > 0.15) and np.all(np.abs(rise[~grasp]) < 0.01)
    assert np.all(np.abs(moved[~grasp] - 0.2) < 0.03)


def test_same_seed_same_bytes_whatever_the_workers(small):
    again = dataset(SMALL, workers=2, progress=False, cache=False)
    assert set(again) == set(small)
    for key in small:
        assert small[key].tobytes() == again[key].tobytes(), key


def test_other_seed_other_angles(small):
    other = dataset(
        TabletopDatasetConfig(n_push=2, n_grasp=2, image_size=16, n_steps=8, seed=6, render=False),
        workers=1,
        progress=False,
        cache=False,
    )
    assert "images" not in other
    assert not np.array_equal(np.sort(other["angle"]), np.sort(small["angle"]))


def test_cache_roundtrip(cache_dir, small):
    first = dataset(SMALL, workers=1, progress=False)
    files = list((cache_dir / "tabletop").glob("*.npz"))
    assert len(files) == 1
    second = dataset(SMALL, workers=1, progress=False)  # from the cache
    for key in first:
        assert np.array_equal(first[key], second[key]) and np.array_equal(first[key], small[key]), key


def test_plan_order_is_seeded_and_mixed():
    config = TabletopDatasetConfig(n_push=50, n_grasp=50, seed=0)
    plan = interaction_plan(config)
    assert plan == interaction_plan(config)
    assert sorted(plan) == sorted([("push", i) for i in range(50)] + [("grasp", i) for i in range(50)])
    first_half = [a for a, _ in plan[:50]]
    assert 15 < first_half.count("push") < 35


def test_other_agent_dataset_records_the_demonstrator():
    config = TabletopDatasetConfig(
        n_push=0,
        n_grasp=0,
        n_pull=1,
        side="opposite",
        view="hand_only",
        image_size=16,
        n_steps=6,
        seed=1,
        angle_range=(-0.1, 0.1),
    )
    data = dataset(config, workers=1, progress=False, cache=False)
    assert data["action"].tolist() == [2] and data["success"].all()
    assert data["object_pose"][0, -1, 0] - data["object_pose"][0, 0, 0] > 0.15  # towards the opposite agent


def test_split_indices():
    train, test = split_indices(100, 0.2, seed=0)
    assert len(train) == 80 and len(test) == 20
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(100))
    assert np.array_equal(split_indices(100, 0.2, seed=0)[1], test)
