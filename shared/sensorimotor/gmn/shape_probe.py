"""Can the GMN's haptic encoder learn to read grasps at all? A supervised reference.

The GMN chapter finds that its models never encode a scene's grasps (own grasps and another scene's
give the same image predictions). This module asks whether the *architecture* could: the haptic
representation network of :mod:`sensorimotor.gmn.model` (same widths), summed over a scene's grasps
as in the GMN, with a linear head trained with cross-entropy to name the object's shape, the strongest
signal a grasp reader can get. Its learning curve (accuracy against the number of scene examples seen)
is set beside the GMN's training budget, where the only signal is the reconstruction of other views.

:func:`shape_index` labels each scene by its object's shape in :func:`haptic_oracle.shape_distribution`;
:func:`train_shape_reader` trains the reader and reports its held-out accuracy along training.
:func:`bayes_group_classification` is the Bayes observer of the chapter's Fig. 4 with haptic contexts:
could grasps tell which of ``k`` scenes some held-out grasps come from, for an observer that knows the
shape set?
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import torch
from scipy.special import logsumexp
from torch import nn

from sensorimotor.gmn.hand_sim import HandSpec, grasp_shapes
from sensorimotor.gmn.haptic_oracle import shape_distribution, shape_key
from sensorimotor.gmn.model import GMNArch, HapticRepresentation, ModalitySpec
from sensorimotor.gmn.scenes import Modality, extract
from sensorimotor.seeding import rng as make_rng


def shape_index(centres: np.ndarray, n_parts: Sequence[int] = (5,)) -> np.ndarray:
    """Each scene's shape as an index into ``shape_distribution(n_parts)`` (N,).

    ``centres`` (N, P, 3) are a scene dataset's cube centres (NaN-padded). Raises if a scene's object is
    not a shape of that set (another ``n_parts``, or not a chain of unit cubes).
    """
    centres = np.asarray(centres, dtype=np.float64)
    if centres.ndim != 3 or centres.shape[2] != 3:
        raise ValueError(f"centres must have shape (N, P, 3), got {centres.shape}")
    shapes, _ = shape_distribution(n_parts)
    index = {shape_key(s): i for i, s in enumerate(shapes)}
    out = np.empty(len(centres), dtype=np.int64)
    for i, scene in enumerate(centres):
        cubes = scene[~np.isnan(scene).any(axis=1)]
        offsets = cubes - cubes.min(axis=0) if len(cubes) else cubes
        key = shape_key(cubes) if len(cubes) else ()
        if key not in index or not np.allclose(offsets, np.round(offsets)):
            raise ValueError(f"scene {i}: its object ({len(cubes)} cubes) is none of the {len(shapes)} shapes of "
                             f"{tuple(n_parts)} parts")  # fmt: skip
        out[i] = index[key]
    return out


class ShapeReader(nn.Module):
    """The GMN's haptic representation network, summed over a scene's grasps, and a linear shape head."""

    def __init__(self, modality: Modality, arch: GMNArch, grid: tuple[int, int], n_shapes: int) -> None:
        super().__init__()
        self.encoder = HapticRepresentation(ModalitySpec.of(modality), arch, grid)
        self.head = nn.Linear(arch.r_channels * grid[0] * grid[1], n_shapes)

    def forward(self, sense: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """``sense`` (n, g, d), ``query`` (n, g, 7): g grasps of each of n scenes -> shape logits (n, n_shapes)."""
        n, g = sense.shape[:2]
        rep = self.encoder(sense.reshape(n * g, -1), query.reshape(n * g, -1)).reshape(n, g, -1).sum(1)
        return self.head(rep)


def grasps(data: Mapping[str, np.ndarray], modality: Modality, scenes: np.ndarray, views: np.ndarray):
    """The grasps ``views`` (n, g) of ``scenes`` (n,) as (n, g, sense) and (n, g, query) tensors."""
    sense, query = extract(data, modality, np.repeat(scenes, views.shape[1]), views.reshape(-1))
    shape = (len(scenes), views.shape[1])
    return torch.as_tensor(sense).reshape(*shape, -1), torch.as_tensor(query).reshape(*shape, -1)


def train_shape_reader(
    train: Mapping[str, np.ndarray], test: Mapping[str, np.ndarray], modality: Modality, arch: GMNArch,
    grid: tuple[int, int], steps: int, batch: int = 32, lr: float = 1e-3, max_grasps: int = 7,
    eval_grasps: Sequence[int] = (2, 7), eval_every: int = 1000, seed: int = 0, n_parts: Sequence[int] = (5,),
) -> Iterator[dict]:  # fmt: skip
    """Train a :class:`ShapeReader` on ``train`` scenes and score it on ``test`` scenes along the way.

    Each step draws ``batch`` training scenes and one grasp count, uniform in 1..``max_grasps``, and
    that many of each scene's grasps. Every ``eval_every`` steps (and at 0 and the end) the accuracy of
    naming each test scene's shape from its first ``g`` grasps, for each ``g`` in ``eval_grasps``, is
    recorded. Yields {"step", "scenes_seen", "accuracy": {g: acc}} at each of these points (the settings
    and labels are checked when called, before any training). Same seed, same curve.
    """
    n_views = train["haptics"].shape[1]
    if steps < 0 or batch < 1 or eval_every < 1 or not 1 <= max_grasps <= n_views:
        raise ValueError(f"need steps >= 0, batch >= 1, eval_every >= 1, 1 <= max_grasps <= {n_views}; "
                         f"got {steps}, {batch}, {eval_every}, {max_grasps}")  # fmt: skip
    if not eval_grasps or min(eval_grasps) < 1 or max(eval_grasps) > test["haptics"].shape[1]:
        raise ValueError(f"eval_grasps must be counts in 1..{test['haptics'].shape[1]}, got {tuple(eval_grasps)}")
    if modality.kind != "haptic":
        raise ValueError(f"modality {modality.name!r} is {modality.kind!r}; the shape reader reads a haptic modality")
    y_train = torch.as_tensor(shape_index(train["centres"], n_parts))
    y_test = shape_index(test["centres"], n_parts)
    shapes, _ = shape_distribution(n_parts)
    with torch.random.fork_rng(devices=[]):  # the caller's torch random state is left as it was
        torch.manual_seed(int(make_rng(seed, "shape-reader-init").integers(0, 2**62)))
        model = ShapeReader(modality, arch, grid, len(shapes))
    optimiser = torch.optim.Adam(model.parameters(), lr)
    gen = make_rng(seed, "shape-reader")
    n_train, n_test = len(y_train), len(y_test)
    test_sense, test_query = grasps(test, modality, np.arange(n_test), np.tile(np.arange(max(eval_grasps)), (n_test, 1)))

    def evaluate(step: int) -> dict:
        with torch.no_grad():
            acc = {g: float((model(test_sense[:, :g], test_query[:, :g]).argmax(1).numpy() == y_test).mean())
                   for g in eval_grasps}  # fmt: skip
        return {"step": step, "scenes_seen": step * batch, "accuracy": acc}

    def curve() -> Iterator[dict]:
        yield evaluate(0)
        for step in range(1, steps + 1):
            scenes = gen.integers(0, n_train, batch)
            count = int(gen.integers(1, max_grasps + 1))
            views = np.stack([gen.permutation(n_views)[:count] for _ in scenes])
            sense, query = grasps(train, modality, scenes, views)
            loss = nn.functional.cross_entropy(model(sense, query), y_train[scenes])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if step % eval_every == 0 or step == steps:
                yield evaluate(step)

    return curve()  # a generator: the checks above run when called, the training when iterated


def _grasp_log_likelihood(felt: np.ndarray, truth: np.ndarray, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """log N(truth | felt, sigma^2 I) up to its constant per grasp of ``felt`` / ``truth`` (..., v, D): (..., v);
    and whether each row's v grasps all match exactly (...)."""
    return -((felt - truth) ** 2).sum(-1) / (2 * sigma**2), np.abs(felt - truth).max(axis=(-1, -2)) < 1e-5


def bayes_group_classification(
    hands: np.ndarray, haptics: np.ndarray, groups: np.ndarray, counts: Sequence[int], n_targets: int, sigma: float,
    seed: int, n_parts: Sequence[int] = (4, 6), hand: HandSpec | None = None, prune_nats: float | None = None,
) -> np.ndarray:  # fmt: skip
    """Fig. 4's task with grasp contexts, done by the Bayes observer that knows the shape set.

    ``hands`` (N, V, 7) and ``haptics`` (N, V, D) are a scene set's hand queries and senses, ``groups``
    (G, k) scene ids. In each group every scene's views are shuffled once; its context is its first
    ``count`` grasps (nested over ``counts``) and its targets its last ``n_targets``. Scene i's targets
    are scored under each candidate j's context, log p(T_i | C_j) = log sum_s p(s | C_j) p(T_i | s) over
    the shapes s (Gaussian grasps of std ``sigma`` around each shape's grasp, as the models' likelihood),
    and assigned to the best j (a tie among m candidates counts 1/m when the right one is among them).
    Only grasps are scored (the models also score image targets). Returns correct (len(counts), G * k) as
    float. Raises if a scene's grasps are those of no shape of the set.

    Cost: one simulated grasp per shape, scene and picked view. With ``prune_nats`` the context grasps
    are read one at a time and a shape is dropped from a candidate's posterior once it falls more than
    ``prune_nats`` below that posterior's best shape (a mass below e^-prune_nats of it), so later context
    grasps and the target grasps are simulated only for the shapes left: much cheaper for the larger
    context counts, and the same answers unless a dropped shape's mass mattered.
    """
    hands, haptics, groups = np.asarray(hands), np.asarray(haptics, dtype=np.float64), np.asarray(groups)
    n_views = hands.shape[1] if hands.ndim == 3 else 0
    if hands.ndim != 3 or hands.shape[2] != 7 or haptics.shape[:2] != hands.shape[:2]:
        raise ValueError(f"hands must be (N, V, 7) and haptics (N, V, D) with the same N, V; got {hands.shape}, {haptics.shape}")
    if groups.ndim != 2 or groups.shape[1] < 2 or groups.min() < 0 or groups.max() >= len(hands):
        raise ValueError(f"groups must be (G, k >= 2) scene ids in [0, {len(hands)}), got shape {groups.shape}")
    if not counts or min(counts) < 0 or n_targets < 1 or max(counts) + n_targets > n_views:
        raise ValueError(f"need counts >= 0, n_targets >= 1 and max(counts) + n_targets <= {n_views}; "
                         f"got {tuple(counts)}, {n_targets}")  # fmt: skip
    if prune_nats is not None and not (np.isfinite(prune_nats) and prune_nats > 0):
        raise ValueError(f"prune_nats must be None (every shape) or a finite number > 0, got {prune_nats!r}")
    hand = hand or HandSpec()
    shapes, prob = shape_distribution(n_parts)
    n_context = max(counts)
    out = np.zeros((len(counts), groups.size))
    for g, group in enumerate(groups):
        k = len(group)
        picks = [make_rng(seed, "bayes-classify", g, i).permutation(n_views) for i in range(k)]
        views = np.array([np.concatenate([p[:n_context], p[n_views - n_targets:]]) for p in picks])  # (k, c + t)
        queries, truth = hands[group[:, None], views], haptics[group[:, None], views]  # (k, c + t, 7 / D)

        log_post = np.repeat(np.log(prob)[:, None], k, axis=1)  # (S, k): candidate j's unnormalised posterior
        exact = np.ones((len(shapes), k), dtype=bool)  # the shape's grasps match the scene's exactly so far
        snapshots = {0: log_post.copy()} if 0 in counts else {}
        for v in range(n_context):  # context grasps one at a time, nested over the counts
            pair_shape, pair_scene = np.nonzero(np.isfinite(log_post))  # every (shape, candidate) still alive
            felt = grasp_shapes([shapes[s] for s in pair_shape], queries[pair_scene, v : v + 1], hand)
            ll, match = _grasp_log_likelihood(felt, truth[pair_scene, v : v + 1], sigma)
            log_post[pair_shape, pair_scene] += ll[:, 0]
            exact[pair_shape, pair_scene] &= match
            if prune_nats is not None:
                log_post[log_post < log_post.max(axis=0, keepdims=True) - prune_nats] = -np.inf
            if v + 1 in counts:
                snapshots[v + 1] = log_post.copy()
        alive = np.zeros(len(shapes), dtype=bool)  # shapes left in some candidate's posterior at some count
        for post in snapshots.values():
            alive |= np.isfinite(post).any(axis=1)
        targets = np.full((len(shapes), k), -np.inf)  # log p(T_i | s) up to a constant
        needed = np.flatnonzero(alive)
        target_queries = queries[:, n_context:].reshape(1, -1, 7)
        felt = grasp_shapes([shapes[s] for s in needed], np.repeat(target_queries, len(needed), axis=0), hand)
        ll, match = _grasp_log_likelihood(felt.reshape(len(needed), k, n_targets, -1), truth[None, :, n_context:], sigma)
        targets[needed] = ll.sum(axis=-1)
        exact[needed] &= match
        exact &= np.isfinite(log_post)  # a shape alive at the largest count was simulated at every view
        if not exact.any(axis=0).all():
            raise ValueError(f"group {g}: scene(s) {group[~exact.any(axis=0)].tolist()} feel like none of the "
                             f"{len(shapes)} shapes of {tuple(n_parts)} parts: not scenes of this simulator")  # fmt: skip
        for ci, count in enumerate(counts):
            post = snapshots[count] - logsumexp(snapshots[count], axis=0, keepdims=True)  # (S, j)
            scores = logsumexp(post[:, None, :] + targets[:, :, None], axis=0)  # (i, j)
            best = np.isclose(scores, scores.max(axis=1, keepdims=True), rtol=0.0, atol=1e-9)
            out[ci, g * k : (g + 1) * k] = np.diag(best) / best.sum(axis=1)  # a tie is a fair draw among the tied
    return out
