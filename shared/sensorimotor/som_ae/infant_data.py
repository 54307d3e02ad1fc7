"""The infant arm dataset: (right-eye image, five joint angles) pairs, generated in parallel and cached.

Poses are drawn uniformly in joint space (:func:`sensorimotor.som_ae.infant_sim.sample_joints`). A pose is
kept when the arm covers at least ``min_arm_fraction`` of the eye camera's pixels according to the
segmentation mask, and (optionally) when the arm does not penetrate the body or the floor. Kept frames
are converted to grey and area-resampled to ``image_size`` x ``image_size`` (the network input).

Reproducibility: candidates are drawn in fixed-size chunks, chunk ``k`` from its own generator
``rng(seed, "infant-poses", k)``; the dataset is the first ``n_samples`` kept candidates in chunk order.
The result is the same whatever the number of worker processes (jobs of :mod:`sensorimotor.jobs`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os

import numpy as np

from sensorimotor.cache import cache_path, cached_arrays
from sensorimotor.jobs import map_jobs
from sensorimotor.progress import progress_bar
from sensorimotor.seeding import rng
from sensorimotor.som_ae.infant_sim import JOINT_NAMES, EyeCamera, InfantSim, joint_limits, sample_joints

DATA_VERSION = 2  # bump when the simulator or the preprocessing changes what a config produces
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601
PREFILTER_DIVISOR = 4  # the visibility pre-check renders at 1/4 of the resolution


@dataclasses.dataclass(frozen=True)
class InfantDatasetConfig:
    """What determines an infant dataset (and its cache key)."""

    n_samples: int = 20000
    image_size: int = 64
    render_height: int = 120  # paper: 300 x 500; same 3:5 aspect
    render_width: int = 200
    vertical_fov_deg: float = 90.0
    head_pitch_deg: float = 40.0
    min_arm_fraction: float = 0.005
    reject_self_collision: bool = True
    seed: int = 0
    chunk_size: int = 200

    def __post_init__(self) -> None:
        if self.n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {self.n_samples}")
        if self.image_size < 8:
            raise ValueError(f"image_size must be >= 8, got {self.image_size}")
        if not 0.0 <= self.min_arm_fraction < 1.0:
            raise ValueError(f"min_arm_fraction must be in [0, 1), got {self.min_arm_fraction}")
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")

    def camera(self) -> EyeCamera:
        return EyeCamera(
            height=self.render_height,
            width=self.render_width,
            vertical_fov_deg=self.vertical_fov_deg,
            head_pitch_deg=self.head_pitch_deg,
        )


# ------------------------------------------------------------------------------------------- images
@functools.lru_cache(maxsize=16)
def area_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix averaging each output pixel over the input pixels it covers (area resampling)."""
    edges = np.linspace(0.0, n_in, n_out + 1)
    matrix = np.zeros((n_out, n_in))
    for i in range(n_out):
        lo, hi = edges[i], edges[i + 1]
        for j in range(int(math.floor(lo)), min(int(math.ceil(hi)), n_in)):
            matrix[i, j] = min(hi, j + 1) - max(lo, j)
        matrix[i] /= hi - lo
    matrix.setflags(write=False)
    return matrix


def to_network_image(rgb: np.ndarray, size: int) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> grey uint8 (size, size): BT.601 luma, then area resampling."""
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
    channels = rgb.astype(np.float64)
    grey = LUMA[0] * channels[..., 0] + LUMA[1] * channels[..., 1] + LUMA[2] * channels[..., 2]
    out = area_matrix(grey.shape[0], size) @ grey @ area_matrix(grey.shape[1], size).T
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------------------------------- joints
def normalise_joints(joints: np.ndarray) -> np.ndarray:
    """Radians -> [0, 1] per joint by the joint limits (what the SOM sees)."""
    low, high = joint_limits()
    return ((np.asarray(joints, np.float64) - low) / (high - low)).astype(np.float32)


def denormalise_joints(unit: np.ndarray) -> np.ndarray:
    """[0, 1] per joint -> radians, clipped to the joint limits."""
    low, high = joint_limits()
    return (low + np.clip(np.asarray(unit, np.float64), 0.0, 1.0) * (high - low)).astype(np.float32)


def joint_ranges_deg() -> np.ndarray:
    """Width of each joint's range in degrees (to turn normalised errors into degrees)."""
    low, high = joint_limits()
    return np.degrees(high - low)


# ------------------------------------------------------------------------------------------- generation
_WORKER_SIM: InfantSim | None = None


def _worker_sim(config: InfantDatasetConfig) -> InfantSim:
    global _WORKER_SIM
    if _WORKER_SIM is None or _WORKER_SIM.camera != config.camera():
        if _WORKER_SIM is not None:
            _WORKER_SIM.close()
        _WORKER_SIM = InfantSim(camera=config.camera())
    return _WORKER_SIM


def _chunk(config: InfantDatasetConfig, index: int) -> dict[str, np.ndarray]:
    """Draw chunk ``index`` of candidate poses, render them, keep the valid ones (in draw order).

    BLAS runs single-threaded here: the resampling products are small, each worker is one process, and
    on a crowded machine a second BLAS thread per worker made generation four times slower.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return _chunk_single_threaded(config, index)


def _chunk_single_threaded(config: InfantDatasetConfig, index: int) -> dict[str, np.ndarray]:
    sim = _worker_sim(config)
    candidates = sample_joints(rng(config.seed, "infant-poses", index), config.chunk_size)
    small = (max(config.render_height // PREFILTER_DIVISOR, 4), max(config.render_width // PREFILTER_DIVISOR, 4))
    images, joints, fractions = [], [], []
    n_collision = n_invisible = 0
    for q in candidates:
        sim.set_arm(q)
        if config.reject_self_collision and sim.in_self_collision():
            n_collision += 1
            continue
        # cheap pre-check: an arm covering >= min_arm_fraction at full size shows at 1/4 size too
        if config.min_arm_fraction > 0 and not sim.render(shape=small)[1].any():
            n_invisible += 1
            continue
        rgb, mask = sim.render()
        fraction = float(mask.mean())
        if fraction < config.min_arm_fraction or fraction == 0.0:
            n_invisible += 1
            continue
        images.append(to_network_image(rgb, config.image_size))
        joints.append(q)
        fractions.append(fraction)
    size = config.image_size
    return {
        "images": np.asarray(images, np.uint8).reshape(-1, size, size),
        "joints": np.asarray(joints, np.float32).reshape(-1, len(JOINT_NAMES)),
        "arm_fraction": np.asarray(fractions, np.float32),
        "n_collision": np.int64(n_collision),
        "n_invisible": np.int64(n_invisible),
    }


def infant_chunk(config: dict, index: int) -> dict[str, np.ndarray]:
    """Chunk ``index`` of the dataset ``config`` (a dict): one job of :mod:`sensorimotor.jobs`."""
    return _chunk(InfantDatasetConfig(**config), index)


def _generate(config: InfantDatasetConfig, workers: int, progress: bool) -> dict[str, np.ndarray]:
    """Render chunks in order until ``n_samples`` are kept: here one at a time (``workers=1``), else in
    rounds of jobs (:mod:`sensorimotor.jobs`) sized by the share of candidates kept so far. Chunks past
    the one that completes the dataset are dropped, so the result does not depend on ``workers``."""
    n = config.n_samples
    parts: list[dict[str, np.ndarray]] = []
    kept, next_index = 0, 0
    plain = dataclasses.asdict(config)
    with progress_bar(total=n, desc="infant dataset", unit="sample", progress=progress) as bar:
        while kept < n:
            if workers == 1:
                count = 1
            else:
                rate = kept / (next_index * config.chunk_size) if next_index else 0.0
                needed = math.ceil(1.1 * (n - kept) / (rate * config.chunk_size)) if rate > 0 else 2 * workers
                count = max(workers, min(needed, 64 * workers))
            batch = [{"config": plain, "index": i} for i in range(next_index, next_index + count)]
            next_index += count
            for part in map_jobs("sensorimotor.som_ae.infant_data:infant_chunk", batch, "infant-chunks", workers):
                if kept >= n:
                    break
                parts.append(part)
                bar.update(min(len(part["joints"]), n - kept))
                kept += len(part["joints"])
    out = {key: np.concatenate([p[key] for p in parts])[:n] for key in ("images", "joints", "arm_fraction")}
    out["n_candidates"] = np.int64(len(parts) * config.chunk_size)
    out["n_collision"] = np.int64(sum(int(p["n_collision"]) for p in parts))
    out["n_invisible"] = np.int64(sum(int(p["n_invisible"]) for p in parts))
    return out


def dataset(config: InfantDatasetConfig, workers: int | None = None, progress: bool = True) -> dict[str, np.ndarray]:
    """The dataset for ``config``, from the cache or generated with ``workers`` processes.

    Returns ``images`` uint8 (N, S, S) grey, ``joints`` float32 (N, 5) radians (order
    :data:`~sensorimotor.som_ae.infant_sim.JOINT_NAMES`), ``arm_fraction`` float32 (N,) (share of the full-size
    frame covered by the arm), and the counts ``n_candidates``, ``n_collision``, ``n_invisible``.
    """
    workers = workers if workers is not None else (os.cpu_count() or 1)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    return cached_arrays("infant", _cache_key(config), lambda: _generate(config, workers, progress))


def _cache_key(config: InfantDatasetConfig) -> dict:
    return {"version": DATA_VERSION, **dataclasses.asdict(config)}


def is_cached(config: InfantDatasetConfig) -> bool:
    """Whether :func:`dataset` will load ``config`` from the cache instead of generating it."""
    return cache_path("infant", _cache_key(config), ".npz").exists()


def split_indices(n: int, fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)) -> dict[str, np.ndarray]:
    """Train/validation/test index arrays. Samples are i.i.d. draws, so contiguous blocks are random splits."""
    if len(fractions) != 3 or any(f < 0 for f in fractions) or not math.isclose(sum(fractions), 1.0):
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    return {
        "train": np.arange(0, n_train),
        "val": np.arange(n_train, n_train + n_val),
        "test": np.arange(n_train + n_val, n),
    }


def render_images(joints: np.ndarray, config: InfantDatasetConfig) -> np.ndarray:
    """Render poses (radians, (N, 5)) through the dataset's camera and preprocessing: uint8 (N, S, S)."""
    joints = np.asarray(joints, np.float64).reshape(-1, len(JOINT_NAMES))
    with InfantSim(camera=config.camera()) as sim:
        return np.stack([to_network_image(sim.render(q)[0], config.image_size) for q in joints])


def render_background(config: InfantDatasetConfig) -> np.ndarray:
    """The scene without the arm through the dataset's camera and preprocessing: uint8 (S, S)."""
    with InfantSim(camera=config.camera()) as sim:
        return to_network_image(sim.render_without_arm(), config.image_size)


def arm_silhouettes(images: np.ndarray, background: np.ndarray, threshold: float = 0.1) -> np.ndarray:
    """Boolean masks (N, S, S) of pixels differing from the arm-free ``background`` by more than
    ``threshold`` (images and background as floats in [0, 1] or uint8): where an image shows an arm."""
    def unit(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a)
        return a.astype(np.float32) / 255.0 if a.dtype == np.uint8 else a.astype(np.float32)

    return np.abs(unit(images) - unit(background)[None]) > threshold
