"""Multisensory scene datasets (cached, reproducible by seed) and the modality splits of the GMN paper.

``scene_dataset(SceneDatasetConfig(...))`` returns, for N scenes of V views and V haptic episodes each:

* ``images``   uint8 (N, V, H, W, 3): the object seen from V random viewpoints
* ``cameras``  float32 (N, V, 7): camera queries (position, cos/sin yaw, cos/sin pitch)
* ``haptics``  float32 (N, V, D): what the hand feels in V random grasps (D = 59, see ``scenes_hand``)
* ``hands``    float32 (N, V, 7): hand queries (palm position, cos/sin yaw, cos/sin pitch)
* ``n_parts``  int64 (N,), ``centres`` / ``colours`` float32 (N, P, 3): the objects (NaN-padded to P parts)

Scene ``i`` of a split is drawn from its own random stream ``rng(seed, "scenes", split, i)``, so it
does not depend on how many scenes are made or on the number of worker processes.

:func:`modality_split` cuts these senses into the paper's modalities (M = 2, 5, 8, 14) and
:func:`make_batch` / :func:`training_batch` draw context and target query-sense pairs per modality in
the form the GMN models take: ``{name: (sense, query, scene)}`` with a batch-local scene index per pair.
Queries are returned with positions divided by the camera radius (so all 7 numbers are O(1)).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import torch

from sensorimotor.cache import cached_arrays
from sensorimotor.gmn.hand_sim import HandSpec, grasp, haptic_halves, sample_hand_poses
from sensorimotor.gmn.scene_sim import CameraSpec, random_object, render_views, sample_viewpoints
from sensorimotor.jobs import map_jobs
from sensorimotor.progress import progress_bar
from sensorimotor.seeding import rng as make_rng

SIM_VERSION = 1  # bump when the simulator's output changes (part of the cache key)
SPLITS = ("train", "test", "classify")  # independent random streams
MODALITY_COUNTS = (2, 5, 8, 14)


@dataclasses.dataclass(frozen=True)
class SceneDatasetConfig:
    """What determines a scene set (and its cache entry)."""

    n_scenes: int
    n_views: int = 15  # views and haptic episodes per scene (paper: 15)
    image_size: int = 32
    supersample: int = 2
    n_parts: tuple[int, ...] = (5,)  # each scene draws its part count from these
    split: str = "train"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"unknown split {self.split!r}; accepted: {', '.join(SPLITS)}")
        if self.n_scenes < 1 or self.n_views < 1:
            raise ValueError(f"n_scenes and n_views must be >= 1, got {self.n_scenes}, {self.n_views}")
        if not self.n_parts or min(self.n_parts) < 1:
            raise ValueError(f"n_parts must be a non-empty tuple of positive ints, got {self.n_parts!r}")
        if self.image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8 (the modality splits halve it), got {self.image_size}")


def make_scene(config: SceneDatasetConfig, index: int) -> dict[str, np.ndarray]:
    """Scene ``index`` of the set: one object, ``n_views`` images and ``n_views`` grasps."""
    gen = make_rng(config.seed, "scenes", config.split, index)
    n_parts = int(config.n_parts[gen.integers(len(config.n_parts))])
    obj = random_object(gen, n_parts)
    cameras = sample_viewpoints(gen, config.n_views)
    hands = sample_hand_poses(gen, config.n_views)
    images = render_views(obj, cameras, config.image_size, supersample=config.supersample)
    haptics = grasp(obj, hands)
    pad = max(config.n_parts)
    centres = np.full((pad, 3), np.nan, dtype=np.float32)
    colours = np.full((pad, 3), np.nan, dtype=np.float32)
    centres[:n_parts], colours[:n_parts] = obj.centres, obj.colours
    return {"images": images, "cameras": cameras, "haptics": haptics, "hands": hands,
            "n_parts": np.int64(n_parts), "centres": centres, "colours": colours}  # fmt: skip


def scene_chunk(config: dict[str, Any], start: int, stop: int) -> dict[str, np.ndarray]:
    """Scenes ``start:stop`` of the set ``config`` (a :class:`SceneDatasetConfig` as a dict), stacked: one job."""
    cfg = SceneDatasetConfig(**{**config, "n_parts": tuple(config["n_parts"])})
    scenes = [make_scene(cfg, i) for i in range(start, stop)]
    return {key: np.stack([s[key] for s in scenes]) for key in scenes[0]}


def _generate(config: SceneDatasetConfig, workers: int | None, progress: bool) -> dict[str, np.ndarray]:
    """The scenes in chunks: in this process (``workers=1``) or as jobs of :mod:`sensorimotor.jobs`
    (same arrays for any worker count: each scene draws from its own stream)."""
    workers = max(1, min(workers or os.cpu_count() or 1, config.n_scenes))
    chunk = max(1, min(64, config.n_scenes // (4 * workers) or 1))
    plain = {**dataclasses.asdict(config), "n_parts": list(config.n_parts)}
    chunks = [{"config": plain, "start": i, "stop": min(i + chunk, config.n_scenes)} for i in range(0, config.n_scenes, chunk)]
    with progress_bar(total=config.n_scenes, desc=f"scenes ({config.split})", progress=progress) as bar:
        parts = map_jobs("sensorimotor.gmn.scenes:scene_chunk", chunks, "scene-chunks", workers=workers)
        bar.update(config.n_scenes)
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def prepare_scenes(config: dict[str, Any]) -> dict[str, np.ndarray]:
    """Generate and cache the scene set ``config`` (a dict) in this process: a data job of the chapter,
    whose own entry is this receipt (the scene count)."""
    cfg = SceneDatasetConfig(**{**config, "n_parts": tuple(config["n_parts"])})
    return {"n_scenes": np.asarray(len(scene_dataset(cfg, workers=1, progress=False)["images"]))}


def scene_dataset(config: SceneDatasetConfig, workers: int | None = None, progress: bool = True) -> dict[str, np.ndarray]:
    """The scene set for ``config``, generated in parallel on first use and cached on disk."""
    key = {**dataclasses.asdict(config), "sim_version": SIM_VERSION, "camera": repr(CameraSpec()), "hand": repr(HandSpec())}
    return cached_arrays("scenes", key, lambda: _generate(config, workers, progress))


# --------------------------------------------------------------------------------------------------
# Modalities (Section 4 of the paper: M = 2, 5, 8, 14)
# --------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Modality:
    """One modality cut out of a scene's senses: a crop and channel subset of the image, or a subset of
    the haptic vector. ``shape`` is the model-side shape: (C, h, w) for images, (d,) for haptics."""

    name: str
    kind: Literal["image", "haptic"]
    shape: tuple[int, ...]
    rows: tuple[int, int] = (0, 0)
    cols: tuple[int, int] = (0, 0)
    channels: tuple[int, ...] = ()
    indices: tuple[int, ...] = ()


def modality_split(n_modalities: int, image_size: int, hand: HandSpec | None = None) -> list[Modality]:
    """The paper's modality sets. M = 2: image, haptics. M = 5: image quadrants {upper, lower} x {left,
    right} + haptics. M = 8: {left, right} halves x {R, G, B} + two haptic halves. M = 14: {upper, lower}
    x {left, right} x {R, G, B} + two haptic halves."""
    hand = hand or HandSpec()
    if n_modalities not in MODALITY_COUNTS:
        raise ValueError(f"unknown modality count {n_modalities!r}; accepted: {MODALITY_COUNTS}")
    s, h = image_size, image_size // 2
    full_hand = (Modality("haptic", "haptic", (hand.sense_dim,), indices=tuple(range(hand.sense_dim))),)
    first, second = haptic_halves(hand)
    half_hands = (
        Modality("haptic_a", "haptic", (len(first),), indices=tuple(int(i) for i in first)),
        Modality("haptic_b", "haptic", (len(second),), indices=tuple(int(i) for i in second)),
    )
    rgb = (("r", (0,)), ("g", (1,)), ("b", (2,)))
    if n_modalities == 2:
        return [Modality("image", "image", (3, s, s), (0, s), (0, s), (0, 1, 2)), *full_hand]
    rows = {"upper": (0, h), "lower": (h, s)}
    cols = {"left": (0, h), "right": (h, s)}
    if n_modalities == 5:
        mods = [Modality(f"image_{r}_{c}", "image", (3, h, h), rows[r], cols[c], (0, 1, 2)) for r in rows for c in cols]
        return [*mods, *full_hand]
    if n_modalities == 8:
        mods = [Modality(f"image_{c}_{k}", "image", (1, s, h), (0, s), cols[c], ch) for c in cols for k, ch in rgb]
        return [*mods, *half_hands]
    mods = [
        Modality(f"image_{r}_{c}_{k}", "image", (1, h, h), rows[r], cols[c], ch) for r in rows for c in cols for k, ch in rgb
    ]
    return [*mods, *half_hands]


def query_scale() -> float:
    """Positions in queries are divided by this (the camera radius), so queries are O(1)."""
    return CameraSpec().radius


def extract(data: Mapping[str, np.ndarray], modality: Modality, scenes: np.ndarray, views: np.ndarray):
    """Sense (n, *modality.shape) float32 in [0, 1] and query (n, 7) for the given scene/view indices."""
    scale = np.array([query_scale()] * 3 + [1.0] * 4, dtype=np.float32)
    if modality.kind == "image":
        r0, r1 = modality.rows
        c0, c1 = modality.cols
        pixels = data["images"][scenes, views][:, r0:r1, c0:c1][..., list(modality.channels)]
        sense = pixels.transpose(0, 3, 1, 2).astype(np.float32) / 255.0
        query = data["cameras"][scenes, views] / scale
    else:
        sense = data["haptics"][scenes, views][:, list(modality.indices)].astype(np.float32)
        query = data["hands"][scenes, views] / scale
    return sense, query.astype(np.float32)


def _pairs(data, modality, scenes_global, picks: list[tuple[int, np.ndarray]], device) -> tuple[torch.Tensor, ...] | None:
    """Stack the (batch scene index, view indices) picks of one modality into (sense, query, scene)."""
    picks = [(b, v) for b, v in picks if len(v)]
    if not picks:
        return None
    local = np.concatenate([np.full(len(v), b) for b, v in picks])
    views = np.concatenate([v for _, v in picks])
    sense, query = extract(data, modality, np.asarray(scenes_global)[local], views)
    as_t = lambda a, dt=torch.float32: torch.as_tensor(a, dtype=dt, device=device)  # noqa: E731
    return as_t(sense), as_t(query), as_t(local, torch.long)


def make_batch(
    data: Mapping[str, np.ndarray],
    modalities: Sequence[Modality],
    scenes: Sequence[int],
    context_counts: Mapping[str, int],
    target_counts: Mapping[str, int],
    gen: np.random.Generator,
    device: Any = "cpu",
) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """Context and target pairs with fixed counts per modality (same counts for every scene).

    For each scene and modality the views are shuffled; the context takes the first
    ``context_counts[name]`` views and the target the last ``target_counts[name]`` (disjoint when the two
    add up to at most the number of views). Modalities missing from the mappings get no pairs.
    """
    names = {m.name for m in modalities}
    unknown = sorted((set(context_counts) | set(target_counts)) - names)
    if unknown:
        raise ValueError(f"unknown modality name(s) {unknown}; this split has {sorted(names)}")
    n_views = data["images"].shape[1]
    context, target = {}, {}
    for m in modalities:
        nc, nt = int(context_counts.get(m.name, 0)), int(target_counts.get(m.name, 0))
        if nc > n_views or nt > n_views:
            raise ValueError(f"{m.name}: asked for {nc} context / {nt} target views of {n_views}")
        perms = [gen.permutation(n_views) for _ in scenes]
        c = _pairs(data, m, scenes, [(b, p[:nc]) for b, p in enumerate(perms)], device)
        t = _pairs(data, m, scenes, [(b, p[n_views - nt:]) for b, p in enumerate(perms)], device)
        if c is not None:
            context[m.name] = c
        if t is not None:
            target[m.name] = t
    return context, target


def training_batch(
    data: Mapping[str, np.ndarray],
    modalities: Sequence[Modality],
    scenes: Sequence[int],
    gen: np.random.Generator,
    max_context: int,
    max_targets: int,
    allowed: np.ndarray | None = None,
    device: Any = "cpu",
    mask_targets: bool = True,
) -> tuple[dict[str, tuple], dict[str, tuple]]:
    """A training batch as in the paper: per scene and allowed modality, a context of U{0..max_context}
    views and up to ``max_targets`` of the remaining views as targets.

    ``allowed`` (len(scenes), M) bool marks the modalities each scene exposes (default: all); a scene
    exposes its allowed modalities only: in context and target alike with ``mask_targets=True``, in the
    context only with ``mask_targets=False`` (the authors' code: every modality stays among the targets).
    """
    n_views = data["images"].shape[1]
    if not 0 <= max_context < n_views:
        raise ValueError(f"max_context must be in [0, {n_views - 1}], got {max_context}")
    if allowed is None:
        allowed = np.ones((len(scenes), len(modalities)), dtype=bool)
    allowed = np.asarray(allowed, dtype=bool)
    if allowed.shape != (len(scenes), len(modalities)) or not allowed.any(axis=1).all():
        raise ValueError(f"allowed must be (n_scenes, M) = {(len(scenes), len(modalities))} with a modality per scene")
    context, target = {}, {}
    for j, m in enumerate(modalities):
        c_picks, t_picks = [], []
        for b in range(len(scenes)):
            if not allowed[b, j] and mask_targets:
                continue
            perm = gen.permutation(n_views)
            nc = int(gen.integers(0, max_context + 1)) if allowed[b, j] else 0
            nt = min(max_targets, n_views - nc)
            c_picks.append((b, perm[:nc]))
            t_picks.append((b, perm[nc:nc + nt]))
        c = _pairs(data, m, scenes, c_picks, device)
        t = _pairs(data, m, scenes, t_picks, device)
        if c is not None:
            context[m.name] = c
        if t is not None:
            target[m.name] = t
    return context, target


def with_opposite(context: Mapping[str, tuple], target: Mapping[str, tuple], n_scenes: int):
    """The batch doubled with context and target swapped (the authors' ``--add-opposite``): scenes
    ``n_scenes..2 n_scenes - 1`` hold scene ``i - n_scenes``'s targets as context and its context as targets."""
    def merged(first: Mapping[str, tuple], second: Mapping[str, tuple]) -> dict[str, tuple]:
        out = {}
        for name in list(first) + [k for k in second if k not in first]:
            parts = []
            if name in first:
                parts.append(first[name])
            if name in second:
                sense, query, scene = second[name]
                parts.append((sense, query, scene + n_scenes))
            out[name] = tuple(torch.cat([p[i] for p in parts]) for i in range(3))
        return out

    return merged(context, target), merged(target, context)
