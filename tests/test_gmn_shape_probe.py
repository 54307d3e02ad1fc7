"""The supervised grasp reader (sensorimotor.gmn.shape_probe): shape labels, learning, and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from sensorimotor.gmn.haptic_oracle import shape_distribution
from sensorimotor.gmn.model import GMNArch
from sensorimotor.gmn.scenes import SceneDatasetConfig, make_scene, modality_split
from sensorimotor.gmn.shape_probe import bayes_group_classification, shape_index, train_shape_reader

SMALL = GMNArch(r_channels=8, haptic_hidden=32)


def _scenes(n: int, n_parts=(5,), n_views: int = 8) -> dict[str, np.ndarray]:
    config = SceneDatasetConfig(n_scenes=n, n_views=n_views, image_size=16, supersample=1, n_parts=n_parts)
    scenes = [make_scene(config, i) for i in range(n)]
    return {key: np.stack([s[key] for s in scenes]) for key in scenes[0]}


@pytest.fixture(scope="module", name="data")
def eight_scenes():
    return _scenes(8)


@pytest.fixture(scope="module", name="three")
def eight_three_part_scenes():
    """Scenes of 3-cube objects (a small shape set the exact Bayes observer goes through quickly)."""
    return _scenes(8, n_parts=(3,), n_views=8)


def test_each_scene_is_labelled_with_its_own_shape(data):
    shapes, _ = shape_distribution((5,))
    labels = shape_index(data["centres"])
    assert labels.shape == (8,) and len(set(labels.tolist())) > 1
    for centres, k in zip(data["centres"], labels, strict=True):
        ours = centres[np.lexsort(centres.T)]
        theirs = shapes[k][np.lexsort(shapes[k].T)]
        assert np.allclose(ours - theirs, (ours - theirs)[0], atol=1e-6)  # the same cells, only translated


def test_a_scene_of_another_part_count_is_refused():
    four = _scenes(2, n_parts=(4,))
    with pytest.raises(ValueError, match="none of the 315 shapes"):
        shape_index(four["centres"])
    with pytest.raises(ValueError, match=r"\(N, P, 3\)"):
        shape_index(four["centres"][0])


def test_the_reader_learns_the_shapes_of_its_training_scenes_and_repeats_itself(data):
    hand = modality_split(2, 16)[1]
    run = lambda: list(train_shape_reader(data, data, hand, SMALL, (2, 2), steps=600, batch=8, lr=1e-2,  # noqa: E731
                                     max_grasps=4, eval_grasps=(4,), eval_every=200, seed=3))  # fmt: skip
    curve = run()
    assert [r["step"] for r in curve] == [0, 200, 400, 600] and curve[-1]["scenes_seen"] == 4800
    assert curve[-1]["accuracy"][4] >= 0.75  # 8 scenes memorised from 4 grasps (chance: about 1/8)
    assert curve == run()


def test_bad_settings_are_refused_before_training(data):
    image, hand = modality_split(2, 16)
    with pytest.raises(ValueError, match="reads a haptic modality"):
        train_shape_reader(data, data, image, SMALL, (2, 2), steps=1)
    with pytest.raises(ValueError, match="eval_grasps"):
        train_shape_reader(data, data, hand, SMALL, (2, 2), steps=1, eval_grasps=(9,))
    with pytest.raises(ValueError, match="max_grasps"):
        train_shape_reader(data, data, hand, SMALL, (2, 2), steps=1, max_grasps=0)


def test_the_bayes_observer_classifies_by_grasps_and_is_at_chance_without_them(three):
    groups = np.arange(8).reshape(2, 4)
    labels = shape_index(three["centres"], (3,)).reshape(2, 4)
    correct = bayes_group_classification(three["hands"], three["haptics"], groups, (0, 4), 3, 0.1, seed=0, n_parts=(3,))
    assert correct.shape == (2, 8)
    assert correct[0] == pytest.approx(np.full(8, 0.25))  # no context: every candidate ties, chance 1/k
    unique = np.array([[(row == row[i]).sum() == 1 for i in range(4)] for row in labels]).reshape(-1)
    assert unique.any() and (correct[1][unique] == 1.0).all()  # a shape alone in its group is found from 4 grasps


def test_the_bayes_observer_refuses_scenes_of_another_shape_set():
    three = _scenes(4, n_parts=(3,), n_views=6)
    with pytest.raises(ValueError, match="none of the"):
        bayes_group_classification(three["hands"], three["haptics"], np.arange(4).reshape(1, 4), (1,), 2, 0.1, 0, n_parts=(2,))
    with pytest.raises(ValueError, match="groups must be"):
        bayes_group_classification(three["hands"], three["haptics"], np.arange(4), (1,), 2, 0.1, 0, n_parts=(3,))
    with pytest.raises(ValueError, match="max\\(counts\\)"):
        bayes_group_classification(three["hands"], three["haptics"], np.arange(4).reshape(1, 4), (5,), 2, 0.1, 0, n_parts=(3,))


def test_pruning_the_posterior_gives_the_same_answers(three):
    groups = np.arange(8).reshape(2, 4)
    args = (three["hands"], three["haptics"], groups, (1, 2, 4), 3, 0.1, 5)
    exact = bayes_group_classification(*args, n_parts=(3,))
    assert (bayes_group_classification(*args, n_parts=(3,), prune_nats=40.0) == exact).all()
    with pytest.raises(ValueError, match="prune_nats"):
        bayes_group_classification(*args, n_parts=(3,), prune_nats=float("nan"))
