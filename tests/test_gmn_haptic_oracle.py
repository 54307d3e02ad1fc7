"""The Bayes haptic observer: the shape set matches the generator, and its gains respect the information bound."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sensorimotor.gmn.haptic_oracle import bayes_haptic_observer, shape_distribution, shape_entropy, shape_key
from sensorimotor.gmn.scene_sim import random_object
from sensorimotor.gmn.scenes import SceneDatasetConfig, make_scene


def test_a_shapes_key_ignores_translation_and_cube_order():
    chain = np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [1, 1, 1]], dtype=np.float64)
    assert shape_key(chain) == shape_key(chain[::-1] + [3.5, -2.0, 0.25])
    assert shape_key(chain) != shape_key(chain * [1, 1, -1])  # reflected: other cells, another shape
    assert shape_key(chain) == ((0, 0, 0), (1, 0, 0), (1, 1, 0), (1, 1, 1))


def test_two_cubes_make_three_equally_likely_shapes():
    shapes, prob = shape_distribution((2,))
    assert len(shapes) == 3 and prob == pytest.approx([1 / 3] * 3)
    assert shape_entropy((2,)) == pytest.approx(math.log(3))


def test_the_shape_set_matches_what_the_generator_draws():
    shapes, prob = shape_distribution((5,))
    assert prob.sum() == pytest.approx(1.0) and len(shapes) == 315
    index = {shape_key(s): k for k, s in enumerate(shapes)}
    gen = np.random.default_rng(0)
    counts = np.zeros(len(shapes))
    n = 4000
    for _ in range(n):
        counts[index[shape_key(random_object(gen, 5).centres)]] += 1  # KeyError: a shape the set lacks
    top = prob.argmax()  # the most likely shape's frequency agrees within 4 binomial standard errors
    assert abs(counts[top] / n - prob[top]) < 4 * math.sqrt(prob[top] * (1 - prob[top]) / n)
    chi2 = ((counts - n * prob) ** 2 / (n * prob)).sum()  # Pearson's statistic: 314 degrees of freedom
    assert chi2 < 314 + 5 * math.sqrt(2 * 314)


def test_bad_part_counts_are_refused():
    with pytest.raises(ValueError, match="n_parts"):
        shape_distribution(())
    with pytest.raises(ValueError, match="n_parts"):
        shape_distribution((0,))


@pytest.fixture(scope="module")
def scenes():
    config = SceneDatasetConfig(n_scenes=6, n_views=8, image_size=8, supersample=1, split="test")
    made = [make_scene(config, i) for i in range(6)]
    return np.stack([s["hands"] for s in made]), np.stack([s["haptics"] for s in made])


def test_the_observer_gains_from_context_within_the_information_bound(scenes):
    hands, haptics = scenes
    dims = {"haptic": range(haptics.shape[-1])}
    none = bayes_haptic_observer(hands, haptics, dims, 0, 3, 0.1, seed=0)["haptic"]
    assert none["gain"]["mean"] == pytest.approx(0.0, abs=1e-9)
    assert none["other_scene"]["mean"] == pytest.approx(0.0, abs=1e-9)  # no context: nothing to swap
    two = bayes_haptic_observer(hands, haptics, dims, 2, 3, 0.1, seed=0)["haptic"]
    _, prob = shape_distribution((5,))
    gain = two["gain"]["mean"]
    assert 0.0 < gain <= -math.log(prob.min()) / 3  # each scene's gain is at most -log p(its shape) / 3
    assert two["bound"] == pytest.approx(shape_entropy((5,)) / 3)
    assert two["other_scene"]["mean"] > gain  # another scene's grasps point at the wrong shape: worse than none
    one_target = bayes_haptic_observer(hands, haptics, dims, 2, 1, 0.1, seed=0)["haptic"]
    assert one_target["gain"]["mean"] > gain  # fewer targets: the same information over fewer pairs


def test_grasps_of_another_world_are_refused(scenes):
    hands, haptics = scenes
    with pytest.raises(ValueError, match="feel like none"):
        bayes_haptic_observer(hands, np.clip(haptics + 0.3, 0, 1), {"haptic": range(haptics.shape[-1])}, 2, 3, 0.1, seed=0)
    with pytest.raises(ValueError, match="hands must be"):
        bayes_haptic_observer(hands[..., :6], haptics, {"haptic": range(haptics.shape[-1])}, 2, 3, 0.1, seed=0)
    with pytest.raises(ValueError, match="n_context"):
        bayes_haptic_observer(hands, haptics, {"haptic": range(haptics.shape[-1])}, 6, 3, 0.1, seed=0)
    with pytest.raises(ValueError, match="2 scenes"):
        bayes_haptic_observer(hands[:1], haptics[:1], {"haptic": range(haptics.shape[-1])}, 2, 3, 0.1, seed=0)
