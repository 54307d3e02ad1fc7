"""A Bayes observer of the scenes' haptics: how much can a few grasps tell about other grasps at all?

A grasp depends only on the object's shape (the chain of cubes, world-fixed; colours are not felt), and
the scene generator draws shapes from a finite set. An observer that knows this set and its
probabilities predicts target grasps T from context grasps C with the mixture, over shapes weighted by
their posterior given C, of Gaussians (std ``sigma``, the models' likelihood) centred on the grasp each
shape gives. Its gain over no context is the best any model can expect: on average it equals the mutual
information I(T; C), at most the entropy of the shape, H(shape) nats for all targets together (so
H(shape) / n_targets per target pair, the unit of the chapter's context gains).

:func:`shape_distribution` enumerates the shape set with the generator's probabilities (each shape named
by :func:`shape_key`);
:func:`bayes_haptic_observer` scores the observer on test scenes as the chapter scores a model: its gain
from context over none, and its gap between a scene's own context and another scene's
(:func:`evaluation.other_scene_gap`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy.special import logsumexp

from sensorimotor.gmn.evaluation import context_gain
from sensorimotor.gmn.hand_sim import HandSpec, grasp_shapes
from sensorimotor.gmn.scene_sim import DIRECTIONS
from sensorimotor.seeding import rng as make_rng


def shape_key(centres: np.ndarray) -> tuple:
    """A shape's canonical name: its cube cells (integers) after moving the lowest corner to 0, sorted.

    The same for any translation of the object and any order of its cubes (chains walked from either
    end, or from another start, that fill the same cells are the same shape).
    """
    cells = np.round(np.asarray(centres) - np.min(centres, axis=0)).astype(np.int64)
    return tuple(sorted(map(tuple, cells.tolist())))


def shape_distribution(n_parts: Sequence[int] = (5,)) -> tuple[list[np.ndarray], np.ndarray]:
    """Every shape the scene generator can draw, as centred cube centres (n, 3), and its probability.

    Mirrors :func:`scene_sim.random_object`: a part count drawn uniformly from ``n_parts``, then a
    self-avoiding chain whose every step is uniform over the free face directions. Chains with the same
    set of cells (after translation) are the same shape; their probabilities add up.
    """
    if not n_parts or min(n_parts) < 1 or max(n_parts) > 8:
        raise ValueError(f"n_parts must be a non-empty tuple of part counts in 1..8, got {tuple(n_parts)!r}")
    probs: dict[tuple, float] = {}

    def walk(cells: list[np.ndarray], prob: float, length: int) -> None:
        if len(cells) == length:
            key = shape_key(np.array(cells))
            probs[key] = probs.get(key, 0.0) + prob
            return
        occupied = {tuple(c) for c in cells}
        free = [d for d in DIRECTIONS if tuple(cells[-1] + d) not in occupied]
        for d in free:  # below 9 parts a chain never gets stuck (the generator's restart never happens)
            walk([*cells, cells[-1] + d], prob / len(free), length)

    for length in n_parts:
        walk([np.zeros(3, dtype=np.int64)], 1.0 / len(n_parts), int(length))
    shapes = [np.array(key, dtype=np.float64) - np.array(key, dtype=np.float64).mean(axis=0) for key in probs]
    return shapes, np.array(list(probs.values()))


def shape_entropy(n_parts: Sequence[int] = (5,)) -> float:
    """H(shape) in nats: the most that any number of grasps can tell about a scene."""
    _, p = shape_distribution(n_parts)
    return float(-(p * np.log(p)).sum())


def bayes_haptic_observer(
    hands: np.ndarray, haptics: np.ndarray, modalities: Mapping[str, Sequence[int]], n_context: int, n_targets: int,
    sigma: float,
    seed: int, n_parts: Sequence[int] = (5,), hand: HandSpec | None = None, n_se: float = 3.0,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """What the Bayes observer makes of ``n_context`` grasps of a scene for ``n_targets`` other grasps of it.

    ``hands`` (N, V, 7) and ``haptics`` (N, V, D) are test scenes' hand queries and senses (as in a scene
    dataset), ``modalities`` maps each haptic modality scored to its sense entries (the grasps are made
    once and scored for every modality). Per scene the views are
    shuffled, the first ``n_context`` are the context and the last ``n_targets`` the targets; the
    log-likelihood of the targets together, with and without the context, is divided by ``n_targets``
    (nats per target pair). Returns, per modality, ``gain`` (own context over none) and ``other_scene`` (own context over
    the next scene's, as :func:`evaluation.other_scene_gap`), each as :func:`evaluation.context_gain`
    reports it, and ``bound`` = H(shape) / n_targets, the most ``gain`` can be in expectation. Raises if
    a scene's grasps are not those of any shape of the set (a different simulator or ``n_parts``).
    """
    hands, haptics = np.asarray(hands), np.asarray(haptics, dtype=np.float64)
    if hands.ndim != 3 or hands.shape[2] != 7 or haptics.shape[:2] != hands.shape[:2]:
        raise ValueError(f"hands must be (N, V, 7) and haptics (N, V, D) with the same N, V; got {hands.shape}, {haptics.shape}")
    n_scenes, n_views = hands.shape[:2]
    if n_scenes < 2 or n_context < 0 or n_targets < 1 or n_context + n_targets > n_views:
        raise ValueError(
            f"need 2 scenes, 0 <= n_context, 1 <= n_targets, n_context + n_targets <= {n_views}; "
            f"got {n_scenes}, {n_context}, {n_targets}"
        )
    hand = hand or HandSpec()
    columns = {name: np.asarray(indices, dtype=np.int64) for name, indices in modalities.items()}
    shapes, prob = shape_distribution(n_parts)
    picks = [make_rng(seed, "bayes-haptic", s).permutation(n_views) for s in range(n_scenes)]
    views = np.array([np.concatenate([p[:n_context], p[n_views - n_targets:]]) for p in picks])  # (N, c + t)
    queries = hands[np.arange(n_scenes)[:, None], views].reshape(-1, 7)
    truth = haptics[np.arange(n_scenes)[:, None], views]  # (N, c + t, D)
    # log N(sense | grasp of each shape, sigma^2 I) for every modality, shape, scene and picked view
    log_n = {name: np.empty((len(shapes), n_scenes, views.shape[1])) for name in columns}
    norms = {name: len(cols) * math.log(math.sqrt(2 * math.pi) * sigma) for name, cols in columns.items()}
    truths = {name: truth[..., cols] for name, cols in columns.items()}
    matches = np.empty((len(shapes), n_scenes), dtype=bool)
    every_felt = grasp_shapes(shapes, np.repeat(queries[None], len(shapes), axis=0), hand)  # (K, N (c + t), D)
    for k, felt in enumerate(every_felt):
        felt = felt.reshape(truth.shape).astype(np.float64)
        matches[k] = np.abs(felt - truth).max(axis=(1, 2)) < 1e-5
        for name, cols in columns.items():
            log_n[name][k] = -((felt[..., cols] - truths[name]) ** 2).sum(-1) / (2 * sigma**2) - norms[name]
    if not matches.any(axis=0).all():
        raise ValueError(f"{int((~matches.any(axis=0)).sum())} scene(s) feel like none of the {len(shapes)} shapes of "
                         f"{tuple(n_parts)} parts: not scenes of this simulator")  # fmt: skip
    log_prior = np.log(prob)[:, None]
    bound = float(-(prob * np.log(prob)).sum() / n_targets)
    out = {}
    for name, per_view in log_n.items():
        targets = per_view[:, :, n_context:].sum(-1)  # (K, N) log p(T | shape)
        posterior = log_prior + per_view[:, :, :n_context].sum(-1)
        posterior -= logsumexp(posterior, axis=0, keepdims=True)
        with_context = logsumexp(posterior + targets, axis=0) / n_targets
        without = logsumexp(log_prior + targets, axis=0) / n_targets
        other = logsumexp(np.roll(posterior, -1, axis=1) + targets, axis=0) / n_targets  # scene i, context of i + 1
        out[name] = {"gain": context_gain(with_context, without, n_se),
                     "other_scene": context_gain(with_context, other, n_se), "bound": bound}  # fmt: skip
    return out
