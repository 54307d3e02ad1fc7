"""The GMN paper's evaluation protocols (Section 4) on our scene sets.

* :func:`cross_modal_density` (Fig. 3): log-likelihood of targets of one modality against the number of
  context pairs of another, with or without extra context from the target modality;
  :func:`context_gain`, :func:`same_modality_gain` and :func:`other_scene_gap`: whether a model uses its
  context at all.
* :func:`generation` and :func:`silhouette_agreement` (Fig. 1): images sampled from one image and many
  haptic contexts, and how well their silhouettes match the truth.
* :func:`classification` (Fig. 4): which of ``k`` scenes a held-out set of query-sense pairs belongs to.
* :func:`sample_modality_masks` and :func:`masked_nll` (Fig. 5): training and evaluating with only some
  modalities per scene.
* :func:`compare_poe_apoe` (space and time): parameters and time per training iteration side by side
  (:func:`time_iterations`), the time ratio with a bootstrap interval (:func:`ratio_of_medians_interval`).

Every function takes a seed and draws its views and latents from streams derived from it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from sensorimotor.gmn.model import GMN, GMNArch, count_parameters
from sensorimotor.gmn.scenes import Modality, make_batch, training_batch
from sensorimotor.seeding import rng as make_rng
from sensorimotor.seeding import torch_generator


def _device(model: GMN) -> torch.device:
    return next(model.parameters()).device


def _chunks(items: Sequence[int], size: int) -> list[np.ndarray]:
    items = np.asarray(items)
    return [items[i : i + size] for i in range(0, len(items), size)]


@torch.no_grad()
def cross_modal_density(
    model: GMN, data: Mapping[str, np.ndarray], modalities: Sequence[Modality], scenes: Sequence[int],
    source: str, target: str, counts: Sequence[int], extra_counts: Sequence[int], n_targets: int,
    n_samples: int, sigma: float, seed: int, grey: tuple[bool, ...] = (False,), chunk: int = 32,
    per_scene: bool = False, other_scene: bool = False,
) -> np.ndarray:  # fmt: skip
    """Mean log p(X_target | V, C) per target pair, shape (len(grey), len(extra_counts), len(counts)).

    The context holds ``counts[j]`` pairs of ``source`` and ``extra_counts[i]`` pairs of ``target``; the
    targets are ``n_targets`` other pairs of ``target``. Views are shuffled once per scene, so contexts
    are nested across counts and the targets are the same for every entry (only the context changes).
    ``grey`` lists the scorings (RGB and/or grey for image targets) computed from the same z samples.
    ``per_scene=True`` returns each scene's mean instead, with a last axis of len(scenes) (for paired
    differences between entries, :func:`context_gain`). With ``source == target`` the context holds
    ``counts[j] + extra_counts[i]`` pairs of that modality. With ``other_scene=True`` every scene gets the
    context pairs of the next scene of its chunk (the same targets, a wrong scene's context).
    """
    chunks = _chunks(scenes, chunk)
    if other_scene and min(len(ids) for ids in chunks) < 2:
        raise ValueError(f"other_scene needs at least 2 scenes per chunk; {len(scenes)} scenes in chunks of {chunk}")
    out = np.zeros((len(grey), len(extra_counts), len(counts), len(scenes)))
    device = _device(model)
    for i, extra in enumerate(extra_counts):
        for j, count in enumerate(counts):
            offset = 0
            for part, ids in enumerate(chunks):
                gen = make_rng(seed, "density", part)
                ctx_counts = {source: count, target: extra} if source != target else {target: count + extra}
                context, tgt = make_batch(data, modalities, ids, ctx_counts, {target: n_targets}, gen, device)
                if other_scene:  # scene b reads the context of scene b + 1 (mod the chunk)
                    context = {name: (sense, query, (scene - 1) % len(ids)) for name, (sense, query, scene) in context.items()}
                tgen = torch_generator(seed, "density-z", part, i, j, device=str(device))
                ll = model.log_likelihood(
                    context, tgt, len(ids), n_samples=n_samples, sigma=sigma, grey=tuple(grey), generator=tgen
                )
                out[:, i, j, offset : offset + len(ids)] = ll.cpu().numpy() / n_targets
                offset += len(ids)
    return out if per_scene else out.mean(axis=-1)


def context_gain(more: np.ndarray, less: np.ndarray, n_se: float = 3.0) -> dict[str, float]:
    """How much more context raises the log-likelihood: paired per-scene differences ``more - less``.

    ``more`` and ``less`` are per-scene log-likelihoods of the same targets (e.g. two entries of
    :func:`cross_modal_density` with ``per_scene=True``). Returns the mean gain (nats per target), its
    standard error over scenes, ``lower`` = mean - ``n_se`` standard errors, and the number of scenes.
    """
    diff = np.asarray(more, dtype=float) - np.asarray(less, dtype=float)
    if diff.ndim != 1 or len(diff) < 2:
        raise ValueError(f"context_gain needs per-scene values of at least 2 scenes, got shape {diff.shape}")
    mean, se = float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(len(diff)))
    return {"mean": mean, "se": se, "lower": mean - n_se * se, "n": len(diff)}


def scene_mean_reference(
    train: np.ndarray, test: np.ndarray, n_context: int, n_targets: int, sigma: float, seed: int, n_se: float = 3.0,
) -> dict[str, float]:  # fmt: skip
    """What ``n_context`` same-modality pairs buy a predictor that ignores the query (a reference for
    :func:`same_modality_gain`, not a bound on what a query-aware model can gain).

    ``train`` / ``test`` are senses (N, V, D) on [0, 1]. The predictor shrinks the mean of the context
    senses towards the training mean per dimension, by the optimal factor B / (B + W / n_context)
    (B: variance of scene means, W: variance within a scene, both from ``train``), and is scored against
    the training mean under the models' Gaussian likelihood with std ``sigma``: the paired gain in nats
    per target pair over the test scenes, as :func:`context_gain` reports it.
    """
    if n_context < 1 or n_targets < 1 or n_context + n_targets > train.shape[1]:
        raise ValueError(f"need 1 <= n_context, n_targets and n_context + n_targets <= {train.shape[1]}, got {n_context}, {n_targets}")
    train = train.reshape(*train.shape[:2], -1).astype(np.float64)
    test = test.reshape(*test.shape[:2], -1).astype(np.float64)
    mean = train.mean(axis=(0, 1))
    within = train.var(axis=1, ddof=1).mean(axis=0)
    between = np.maximum(train.mean(axis=1).var(axis=0) - within / train.shape[1], 0.0)
    shrink = between / np.maximum(between + within / n_context, 1e-12)
    gen = make_rng(seed, "scene-mean-reference")
    views = test.shape[1]
    with_context, without = [], []
    for scene in test:
        perm = gen.permutation(views)
        context, target = scene[perm[:n_context]], scene[perm[views - n_targets:]]
        pred = mean + shrink * (context.mean(axis=0) - mean)
        with_context.append(-((target - pred) ** 2).sum() / (2 * sigma**2) / n_targets)
        without.append(-((target - mean) ** 2).sum() / (2 * sigma**2) / n_targets)
    return context_gain(np.array(with_context), np.array(without), n_se)


def same_modality_gain(
    model: GMN, data: Mapping[str, np.ndarray], modalities: Sequence[Modality], scenes: Sequence[int], target: str,
    n_context: int, n_targets: int, n_samples: int, sigma: float, seed: int, n_se: float = 3.0,
) -> dict[str, float]:  # fmt: skip
    """:func:`context_gain` of ``n_context`` pairs of ``target``'s own modality over none (no other context)."""
    ll = cross_modal_density(model, data, modalities, scenes, target, target, (0,), (0, n_context), n_targets,
                             n_samples, sigma, seed, per_scene=True)  # fmt: skip
    return context_gain(ll[0, 1, 0], ll[0, 0, 0], n_se)


def other_scene_gap(
    model: GMN, data: Mapping[str, np.ndarray], modalities: Sequence[Modality], scenes: Sequence[int], target: str,
    n_context: int, n_targets: int, n_samples: int, sigma: float, seed: int, n_se: float = 3.0,
    source: str | None = None,
) -> dict[str, float]:  # fmt: skip
    """:func:`context_gain` of a scene's own ``n_context`` context pairs over the same number of pairs of
    another scene, on the same targets: zero for a model that ignores its context, and, unlike the gain
    over no context, not raised by a poor prediction without context. The context is of ``target``'s own
    modality, or of ``source``'s alone (a cross-modal gap: what one sense tells the model about another)."""
    chunk = 33 if len(scenes) % 32 == 1 else 32  # no chunk of one scene (it has no other scene to swap with)
    source = target if source is None else source
    counts = dict(counts=(0,), extra_counts=(n_context,)) if source == target else dict(counts=(n_context,), extra_counts=(0,))
    common = dict(**counts, n_targets=n_targets, n_samples=n_samples, sigma=sigma, seed=seed, per_scene=True, chunk=chunk)
    own = cross_modal_density(model, data, modalities, scenes, source, target, **common)
    other = cross_modal_density(model, data, modalities, scenes, source, target, other_scene=True, **common)
    return context_gain(own[0, 0, 0], other[0, 0, 0], n_se)


@torch.no_grad()
def generation(
    model: GMN, data: Mapping[str, np.ndarray], modalities: Sequence[Modality], scene: int,
    context_counts: Mapping[str, int], n_queries: int, n_samples: int, seed: int, image: str = "image",
) -> dict[str, np.ndarray]:  # fmt: skip
    """Images sampled for ``n_queries`` held-out viewpoints of ``scene`` under ``n_samples`` draws of z.

    Returns ``context_images`` (n, H, W, 3), ``truth`` (n_queries, H, W, 3) and ``samples``
    (n_samples, n_queries, H, W, 3), all floats in [0, 1] (samples clipped).
    """
    gen = make_rng(seed, "generation", scene)
    device = _device(model)
    context, target = make_batch(data, modalities, [scene], context_counts, {image: n_queries}, gen, device)
    query, index = target[image][1], target[image][2]
    tgen = torch_generator(seed, "generation-z", scene, device=str(device))
    latents = model.sample_prior(context, 1, n_samples, tgen)  # (n_samples, L, gh, gw)
    samples = []
    for s in range(n_samples):
        samples.append(model.render(latents[s : s + 1], image, query, torch.zeros_like(index)))
    to_img = lambda t: t.clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()  # noqa: E731
    ctx_images = context[image][0] if image in context else torch.zeros(0, *target[image][0].shape[1:])
    return {"context_images": to_img(ctx_images), "truth": to_img(target[image][0]),
            "samples": np.stack([to_img(s) for s in samples])}  # fmt: skip


def silhouette(images: np.ndarray, threshold: float) -> np.ndarray:
    """Foreground masks: the brightest channel above ``threshold`` (the background is black)."""
    return images.max(axis=-1) > threshold


@torch.no_grad()
def silhouette_agreement(
    model: GMN, data: Mapping[str, np.ndarray], modalities: Sequence[Modality], scenes: Sequence[int],
    context_counts: Mapping[str, int], n_queries: int, n_samples: int, threshold: float, seed: int,
    image: str = "image",
) -> dict[str, float]:  # fmt: skip
    """Silhouette IoU between sampled images and the truth, and the spread of samples in grey vs colour.

    Returns ``iou`` (mean over scenes, queries and samples), ``grey_spread`` and ``chroma_spread``: the
    per-pixel standard deviation across z samples of the grey level and of (RGB - grey), averaged over
    the true foreground.
    """
    ious, grey_sd, chroma_sd = [], [], []
    for scene in scenes:
        out = generation(model, data, modalities, int(scene), context_counts, n_queries, n_samples, seed, image)
        truth = silhouette(out["truth"], threshold)
        pred = silhouette(out["samples"], threshold)
        inter = (pred & truth[None]).sum(axis=(2, 3))
        union = (pred | truth[None]).sum(axis=(2, 3))
        ious.append(np.where(union > 0, inter / np.maximum(union, 1), 1.0).mean())
        grey = out["samples"] @ np.array([0.299, 0.587, 0.114])
        chroma = out["samples"] - grey[..., None]
        grey_sd.append(grey.std(axis=0)[truth].mean() if truth.any() else 0.0)
        chroma_sd.append(np.linalg.norm(chroma.std(axis=0), axis=-1)[truth].mean() if truth.any() else 0.0)
    return {"iou": float(np.mean(ious)), "grey_spread": float(np.mean(grey_sd)), "chroma_spread": float(np.mean(chroma_sd))}


def pair_batch(context: Mapping[str, tuple], target: Mapping[str, tuple], k: int) -> tuple[dict, dict]:
    """Every (target scene i, context scene j) pair of a group of ``k`` scenes as one batch of k*k scenes:
    pair ``i * k + j`` holds scene j's context pairs and scene i's target pairs."""
    def tiled(obs: Mapping[str, tuple], index) -> dict[str, tuple]:
        out = {}
        for name, (sense, query, scene) in obs.items():
            out[name] = (sense.repeat(k, *([1] * (sense.ndim - 1))), query.repeat(k, 1),
                         torch.cat([index(scene, r) for r in range(k)]))  # fmt: skip
        return out

    return tiled(context, lambda scene, i: i * k + scene), tiled(target, lambda scene, j: scene * k + j)


@torch.no_grad()
def classification(
    model: GMN, data: Mapping[str, np.ndarray], modalities: Sequence[Modality], groups: np.ndarray,
    counts: Sequence[int], configs: Mapping[str, Sequence[str]], n_targets: int, n_samples: int,
    sigma: float, seed: int, proposal: str = "posterior",
) -> dict[str, np.ndarray]:  # fmt: skip
    """Which of the ``k`` scenes of a group a held-out set of pairs comes from (Fig. 4; Eq. 6 of the paper).

    ``groups`` (G, k) scene ids. For each group, count and context configuration (name -> modalities
    that give context), every scene's context is ``count`` views of those modalities and its held-out
    targets ``n_targets`` other views of *every* modality. The targets of scene i are scored under each
    candidate scene j's context with the importance-sampled log p(X_i | V_i, C_j) of
    :meth:`GMN.log_likelihood` (``proposal='posterior'``: ``n_samples`` draws of q(z | C_j, X_i), as the
    authors; ``'prior'``: draws of p(z | C_j)) and assigned to the best j.
    Returns {config: correct (len(counts), G * k) bool as float}; its mean over the last axis is the accuracy.
    """
    names = [m.name for m in modalities]
    device = _device(model)
    out = {name: np.zeros((len(counts), groups.size)) for name in configs}
    for cname, context_mods in configs.items():
        unknown = sorted(set(context_mods) - set(names))
        if unknown:
            raise ValueError(f"classification config {cname!r} names unknown modalities {unknown}; accepted: {names}")
        for ci, count in enumerate(counts):
            for g, group in enumerate(groups):
                k = len(group)
                gen = make_rng(seed, "classify", g)  # same views for every config and count (nested contexts)
                context, target = make_batch(
                    data, modalities, group, {m: count for m in context_mods}, {m: n_targets for m in names}, gen, device
                )
                pairs_c, pairs_t = pair_batch(context, target, k)
                tgen = torch_generator(seed, "classify-z", g, ci, cname, device=str(device))
                log_p = model.log_likelihood(pairs_c, pairs_t, k * k, n_samples=n_samples, sigma=sigma, proposal=proposal,
                                             generator=tgen).view(k, k)  # fmt: skip
                out[cname][ci, g * k : (g + 1) * k] = (log_p.argmax(dim=1) == torch.arange(k, device=device)).cpu().numpy()
    return out


def gap_trend(steps: Sequence[float], val_full: Sequence[float], val_missing: Sequence[float]) -> float:
    """Growth of the generalisation gap (val_full - val_missing) over a training run: the least-squares
    slope of the gap against the fraction of training done, over the evaluations after step 0."""
    steps = np.asarray(steps, dtype=float)
    gap = np.asarray(val_full, dtype=float) - np.asarray(val_missing, dtype=float)
    keep = steps > 0
    if keep.sum() < 2:
        raise ValueError(f"gap_trend needs at least 2 evaluations after step 0, got steps {steps.tolist()}")
    frac = steps[keep] / steps.max()
    return float(np.polyfit(frac, gap[keep], 1)[0])


def sample_modality_masks(gen: np.random.Generator, n: int, n_modalities: int, sizes: Sequence[int]) -> np.ndarray:
    """(n, M) bool masks: each row picks a size uniformly from ``sizes``, then that many modalities."""
    sizes = list(sizes)
    if not sizes or min(sizes) < 1 or max(sizes) > n_modalities:
        raise ValueError(f"mask sizes must lie in 1..{n_modalities}, got {sizes}")
    masks = np.zeros((n, n_modalities), dtype=bool)
    for row in range(n):
        size = sizes[gen.integers(len(sizes))]
        masks[row, gen.choice(n_modalities, size=size, replace=False)] = True
    return masks


@torch.no_grad()
def masked_nll(
    model: GMN, data: Mapping[str, np.ndarray], modalities: Sequence[Modality], scenes: Sequence[int],
    masks: np.ndarray, max_context: int, max_targets: int, sigma: float, seed: int, chunk: int = 16,
    mask_targets: bool = True,
) -> float:  # fmt: skip
    """Negative ELBO per target dimension (nats) on ``scenes``, each exposing only its ``masks`` row's
    modalities (in the context only if ``mask_targets`` is False), with contexts and targets drawn as in
    training (fixed seed)."""
    total, dims = 0.0, 0.0
    for part, ids in enumerate(_chunks(np.arange(len(scenes)), chunk)):
        gen = make_rng(seed, "masked", part)
        device = _device(model)
        context, target = training_batch(
            data, modalities, np.asarray(scenes)[ids], gen, max_context, max_targets, masks[ids], device, mask_targets
        )
        out = model.elbo(context, target, len(ids), sigma=sigma, generator=torch_generator(seed, "masked-z", part, device=str(device)))
        total += float(-out["elbo"].sum())
        dims += float(out["dims"].sum())
    return total / dims


def time_iterations(
    model: GMN, context: Mapping[str, Any], target: Mapping[str, Any], n_scenes: int, repeats: int = 3, sigma: float = 0.1
) -> list[float]:
    """Wall time (s) of ``repeats`` training iterations (forward, backward, Adam step) after one warm-up."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    times = []
    sync = torch.cuda.synchronize if next(model.parameters()).is_cuda else (lambda: None)
    for i in range(repeats + 1):
        sync()
        start = time.perf_counter()
        out = model.elbo(context, target, n_scenes, sigma=sigma)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        opt.step()
        sync()
        if i:
            times.append(time.perf_counter() - start)
    return times


def compare_poe_apoe(
    modalities: Sequence[Modality], arch: GMNArch, data: Mapping[str, np.ndarray], batch_size: int,
    repeats: int, seed: int, max_context: int, max_targets: int, device: Any = "cpu",
) -> dict[str, Any]:  # fmt: skip
    """Parameters and time per training iteration of PoE and APoE on the same batch, timed alternately."""
    gen = make_rng(seed, "spacetime")
    context, target = training_batch(data, modalities, np.arange(batch_size), gen, max_context, max_targets, device=device)
    torch.manual_seed(seed)
    models = {scheme: GMN(modalities, arch, scheme).to(device) for scheme in ("poe", "apoe")}
    times: dict[str, list[float]] = {"poe": [], "apoe": []}
    for _ in range(repeats):  # alternate so both see the same machine load
        for scheme, model in models.items():
            times[scheme] += time_iterations(model, context, target, batch_size, repeats=1)
    seconds = {s: float(np.median(t)) for s, t in times.items()}
    return {
        "params": {s: count_parameters(m) for s, m in models.items()},
        "seconds": seconds,
        "times": times,
        "ratio": seconds["poe"] / seconds["apoe"],
        "ratio_interval": ratio_of_medians_interval(times["poe"], times["apoe"], seed) if repeats >= 2 else None,
    }


def ratio_of_medians_interval(
    numerator: Sequence[float], denominator: Sequence[float], seed: int, level: float = 0.95, n_boot: int = 2000
) -> tuple[float, float]:
    """Percentile bootstrap interval of median(numerator) / median(denominator) over paired repeats.

    Repeat ``i`` of both lists was measured back to back (the same machine load), so the bootstrap
    resamples repeat indices, keeping the pairs together.
    """
    num, den = np.asarray(numerator, dtype=float), np.asarray(denominator, dtype=float)
    if num.ndim != 1 or num.shape != den.shape or len(num) < 2:
        raise ValueError(f"need two equal-length lists of >= 2 paired repeats, got shapes {num.shape} and {den.shape}")
    if not (np.all(np.isfinite(num)) and np.all(np.isfinite(den)) and num.min() > 0 and den.min() > 0):
        raise ValueError("repeat times must be finite and > 0")
    if not 0.0 < level < 1.0 or n_boot < 2:
        raise ValueError(f"need 0 < level < 1 and n_boot >= 2, got level={level}, n_boot={n_boot}")
    idx = make_rng(seed, "ratio-bootstrap").integers(0, len(num), size=(n_boot, len(num)))
    ratios = np.median(num[idx], axis=1) / np.median(den[idx], axis=1)
    tail = (1.0 - level) / 2
    return float(np.quantile(ratios, tail)), float(np.quantile(ratios, 1.0 - tail))


def paper_parameter_counts(modalities: Sequence[Modality], arch: GMNArch) -> dict[str, int]:
    """Parameter counts of all three schemes, built on the ``meta`` device (no memory, no time)."""
    with torch.device("meta"):
        return {scheme: count_parameters(GMN(modalities, arch, scheme)) for scheme in ("baseline", "poe", "apoe")}
