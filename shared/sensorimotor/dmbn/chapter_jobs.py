"""The DMBN chapter's networks as declared training jobs: its datasets first, then every DMBN and MVAE.

The chapter's ``config.py`` returns :func:`declared_jobs` from ``training_jobs``, so that ``replicate``
records our robot's interactions, reads the authors' data and trains every network before the notebook
runs. A job gets plain knobs, rebuilds its training data from the cache (:func:`own_data`,
:func:`authors_data`) and trains through the calls the notebook makes (:func:`own_dmbn`, :func:`own_mvae`,
:func:`authors_dmbn`, :func:`authors_mvae`); those write the real entries (``dmbn-models``, by
:func:`~sensorimotor.dmbn.training.cached_training`), and a job's own entry is a small receipt. The
notebook's calls then find every network in the cache and only load; run on its own (e.g. under nbval),
the notebook trains them through the same calls, one after another.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from sensorimotor.cache import cached_arrays
from sensorimotor.dmbn.authors_data import (
    ACTIONS,
    SPLITS,
    AuthorsDataError,
    find_authors_data,
    fingerprint,
    load_authors_dataset,
)
from sensorimotor.dmbn.evaluation import paired_encodings, training_subset
from sensorimotor.dmbn.model import DMBN, DMBNSpec
from sensorimotor.dmbn.mvae import MVAE
from sensorimotor.dmbn.training import (
    JointScaler,
    SequenceData,
    SnapshotFn,
    TrainResult,
    fit_dmbn,
    fit_mvae,
    index_key,
    make_spec,
    network_view,
)
from sensorimotor.jobs import Job
from sensorimotor.seeding import rng
from sensorimotor.sim.tabletop_dataset import TabletopDatasetConfig, dataset, split_indices

# the knobs each kind of job depends on (its kwargs, so its receipt's key)
DATA_KNOBS = ("seed", "n_push", "n_grasp", "render_size", "n_steps", "test_fraction", "image_size", "view_window")
SPEC_KNOBS = ("image_width", "image_head", "latent_dim", "joint_encoder", "joint_decoder", "image_sigma")
DMBN_KNOBS = ("batch_size", "lr", "obs_max", "targets_per_sample", "joint_targets_per_sample", "joint_loss_weight",
              "grad_clip", "lr_schedule")  # fmt: skip
SNAPSHOT_KNOBS = ("tsne_fractions", "tsne_states")  # Fig. 7 / 5.4: only the full-data Image+Joint networks
MVAE_KNOBS = ("mvae_batch_size", "mvae_lr", "grad_clip", "lr_schedule")
AUTHORS_DATA_KNOBS = ("authors_steps_per_interaction", "authors_image_size")
AUTHORS_TRAIN = len(SPLITS["train"]) * len(ACTIONS)  # their ids 0-39, a push and a grasp each
RECEIPTS = "dmbn-jobs"

Knobs = Any  # a chapter config, or its knobs as attributes (what a worker rebuilds from a job's kwargs)


# --- the training data -------------------------------------------------------------------------------


@dataclasses.dataclass
class OwnData:
    """Our robot's interactions as the chapter's networks see them (:func:`own_data`)."""

    raw: dict[str, np.ndarray]  # the tabletop dataset's arrays
    images: np.ndarray  # uint8 (N, T, S, S, 3): the network view of every frame
    data: SequenceData  # every interaction, joints scaled by the training set's range
    train_idx: np.ndarray
    test_idx: np.ndarray
    scaler: JointScaler
    key: dict[str, Any]  # identifies the data in the networks' cache keys (beside the training indices)
    train: SequenceData = dataclasses.field(init=False)
    test: SequenceData = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.train, self.test = self.data.subset(self.train_idx), self.data.subset(self.test_idx)

    @property
    def train_actions(self) -> np.ndarray:
        return self.raw["action"][self.train_idx]


@dataclasses.dataclass
class AuthorsData:
    """The authors' released interactions as the chapter's networks see them (:func:`authors_data`)."""

    raw: dict[str, np.ndarray]  # :func:`~sensorimotor.dmbn.authors_data.load_authors_dataset`'s arrays
    data: SequenceData
    train_idx: np.ndarray  # their ids 0-39
    scaler: JointScaler
    key: dict[str, Any]
    train: SequenceData = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        self.train = self.data.subset(self.train_idx)

    @property
    def train_actions(self) -> np.ndarray:
        return self.raw["action"][self.train_idx]


def dataset_config(knobs: Knobs) -> TabletopDatasetConfig:
    """The tabletop dataset of the chapter: our robot's pushes and grasps, rendered at ``render_size``."""
    return TabletopDatasetConfig(n_push=knobs.n_push, n_grasp=knobs.n_grasp, image_size=knobs.render_size,
                                 n_steps=knobs.n_steps, seed=knobs.seed)  # fmt: skip


def own_data(knobs: Knobs, workers: int | None = None, progress: bool = False) -> OwnData:
    """Our interactions (from the cache, else recorded with ``workers`` processes), split 80/20 by the
    chapter's seed, cut to the network view and scaled by the training set."""
    config = dataset_config(knobs)
    raw = dataset(config, workers=workers, progress=progress)
    train_idx, test_idx = split_indices(raw["action"].shape[0], knobs.test_fraction, knobs.seed)
    scaler = JointScaler.fit(raw["joints"][train_idx])
    images = network_view(raw["images"], knobs.image_size, knobs.view_window)
    key = {"dataset": config.cache_key(), "image_size": knobs.image_size, "view_window": list(knobs.view_window),
           "split_seed": knobs.seed}  # fmt: skip
    data = SequenceData.from_arrays(images, raw["joints"], raw["t"], scaler)
    return OwnData(raw, images, data, train_idx, test_idx, scaler, key)


def authors_key(knobs: Knobs, data_id: str) -> dict[str, Any]:
    """The cache key of the authors' data (``data_id``: their :func:`fingerprint`) at the chapter's resampling."""
    return {"data": data_id, "n_steps": knobs.authors_steps_per_interaction, "size": knobs.authors_image_size}


def authors_data(knobs: Knobs, root: Path | Callable[[], Path], data_id: str | None = None,
                 progress: bool = False) -> AuthorsData:  # fmt: skip
    """The authors' interactions (from the cache, else read from ``root``), ids 0-39 for training.

    ``root`` may be a function that finds the folder, called only when the cache lacks the arrays;
    ``data_id`` (the folder's :func:`fingerprint`) is then required.
    """
    if data_id is None:
        if callable(root):
            raise ValueError("authors_data: give data_id (the folder's fingerprint) when root is a function")
        data_id = fingerprint(root)
    key = authors_key(knobs, data_id)

    def read() -> dict[str, np.ndarray]:
        return load_authors_dataset(root() if callable(root) else root, n_steps=knobs.authors_steps_per_interaction,
                                    image_size=knobs.authors_image_size, progress=progress)  # fmt: skip

    raw = cached_arrays("dmbn-authors", key, read, code=["sensorimotor.dmbn.authors_data"])
    train_idx = np.flatnonzero(raw["split"] == 0)
    scaler = JointScaler.fit(raw["joints"][train_idx])
    data = SequenceData.from_arrays(raw["images"], raw["joints"], raw["t"], scaler)
    return AuthorsData(raw, data, train_idx, scaler, {"authors": key})


def find_authors_root(setting: str | None, data_id: str) -> Path:
    """The authors' folder that ``setting`` (the ``authors_data`` knob) names on this worker's machine, holding
    exactly the data ``data_id`` (see :func:`~sensorimotor.dmbn.authors_data.find_authors_data`)."""
    root = find_authors_data(setting)
    if root is not None and fingerprint(root) == data_id:
        return root
    raise AuthorsDataError(f"the authors' data {data_id} (authors_data={setting!r}) are not on this machine "
                           f"(found: {root}); set $DMBN_AUTHORS_DATA to their data/data2020 folder")


# --- the networks (what the notebook calls) -------------------------------------------------------------


def network_spec(knobs: Knobs, image_size: int, joint_dim: int, image_only: bool = False) -> DMBNSpec:
    """The chapter's DMBN (and MVAE) architecture at ``image_size`` for ``joint_dim`` joints."""
    return make_spec(image_size=image_size, joint_dim=joint_dim, image_width=knobs.image_width,
                     image_head=knobs.image_head, latent_dim=knobs.latent_dim, joint_encoder=knobs.joint_encoder,
                     joint_decoder=knobs.joint_decoder, image_sigma=knobs.image_sigma, image_only=image_only)  # fmt: skip


def dmbn_training(knobs: Knobs, batch_size: int) -> dict[str, Any]:
    """The training knobs shared by every DMBN of the chapter (also those on the authors' data)."""
    return dict(batch_size=batch_size, lr=knobs.lr, obs_max=knobs.obs_max, targets_per_sample=knobs.targets_per_sample,
                joint_targets_per_sample=knobs.joint_targets_per_sample, joint_loss_weight=knobs.joint_loss_weight,
                grad_clip=knobs.grad_clip, lr_schedule=knobs.lr_schedule)  # fmt: skip


def mvae_training(knobs: Knobs) -> dict[str, Any]:
    """The training knobs shared by every MVAE of the chapter (also those on the authors' data)."""
    return dict(batch_size=knobs.mvae_batch_size, lr=knobs.mvae_lr, grad_clip=knobs.grad_clip,
                lr_schedule=knobs.lr_schedule)  # fmt: skip


def snapshot_states(knobs: Knobs, n_train: int, steps: int) -> np.ndarray:
    """Fig. 7 / Section 5.4: the training states (flat ``interaction * steps + step``) whose image and
    joint encodings are recorded during training."""
    n_states = min(knobs.tsne_states, n_train * steps)
    return rng(knobs.seed, "dmbn-tsne-states").choice(n_train * steps, size=n_states, replace=False)


def snapshot_steps(knobs: Knobs) -> list[int]:
    """The training steps at which the encodings are recorded (``tsne_fractions`` of ``train_steps``)."""
    return sorted({int(round(f * knobs.train_steps)) for f in knobs.tsne_fractions})


def snapshot(train: SequenceData, states: np.ndarray, device: torch.device | str) -> SnapshotFn:
    """What a full-data Image+Joint network records at each snapshot step: the paired image and joint
    encodings of the training ``states`` (:func:`snapshot_states`)."""
    interactions, steps = np.divmod(np.asarray(states), train.steps)
    return lambda model: paired_encodings(model, train, interactions, steps, device)


def training_positions(train_actions: np.ndarray, size: int | None, seed: int) -> np.ndarray:
    """The training set's positions a network trains on: all of them (``size`` None), else Fig. 5's
    balanced subset of ``size`` drawn with ``seed``."""
    return np.arange(len(train_actions)) if size is None else training_subset(train_actions, size, seed)


def own_dmbn(knobs: Knobs, own: OwnData, at: Sequence[int] | np.ndarray, seed: int, image_only: bool = False,
             device: torch.device | str = "cpu", progress: bool = False) -> tuple[DMBN, TrainResult]:  # fmt: skip
    """A DMBN on our training interactions at positions ``at`` (cached by every knob); the full-data
    Image+Joint ones record the encodings of Fig. 7 while they train."""
    at = np.asarray(at)
    main = not image_only and len(at) == len(own.train_idx)
    spec = network_spec(knobs, knobs.image_size, own.data.joints.shape[-1], image_only)
    states = snapshot_states(knobs, len(own.train_idx), own.data.steps) if main else None
    snapshots = dict(snapshot_steps=snapshot_steps(knobs), snapshot_fn=snapshot(own.train, states, device),
                     snapshot_key={"states": index_key(states)}) if main else {}  # fmt: skip
    return fit_dmbn(spec, own.train.subset(at), data_key={**own.key, "train": index_key(own.train_idx[at])},
                    steps=knobs.train_steps, seed=seed, device=device, progress=progress,
                    **dmbn_training(knobs, knobs.batch_size), **snapshots)  # fmt: skip


def own_mvae(knobs: Knobs, own: OwnData, at: Sequence[int] | np.ndarray, seed: int,
             device: torch.device | str = "cpu", progress: bool = False) -> tuple[MVAE, TrainResult]:  # fmt: skip
    """The MVAE baseline on our training interactions at positions ``at`` (cached by every knob)."""
    at = np.asarray(at)
    spec = network_spec(knobs, knobs.image_size, own.data.joints.shape[-1])
    return fit_mvae(spec, own.train.subset(at), data_key={**own.key, "train": index_key(own.train_idx[at])},
                    steps=knobs.mvae_steps, seed=seed, device=device, progress=progress, **mvae_training(knobs))  # fmt: skip


def authors_dmbn(knobs: Knobs, a: AuthorsData, at: Sequence[int] | np.ndarray, seed: int,
                 device: torch.device | str = "cpu", progress: bool = False) -> tuple[DMBN, TrainResult]:  # fmt: skip
    """A DMBN on the authors' training interactions at positions ``at`` (cached by every knob)."""
    at = np.asarray(at)
    spec = network_spec(knobs, knobs.authors_image_size, a.data.joints.shape[-1])
    return fit_dmbn(spec, a.train.subset(at), data_key={**a.key, "train": index_key(a.train_idx[at])},
                    steps=knobs.authors_train_steps, seed=seed, device=device, progress=progress,
                    **dmbn_training(knobs, knobs.authors_batch_size))  # fmt: skip


def authors_mvae(knobs: Knobs, a: AuthorsData, at: Sequence[int] | np.ndarray, seed: int,
                 device: torch.device | str = "cpu", progress: bool = False) -> tuple[MVAE, TrainResult]:  # fmt: skip
    """The MVAE baseline on the authors' training interactions at positions ``at`` (cached by every knob)."""
    at = np.asarray(at)
    spec = network_spec(knobs, knobs.authors_image_size, a.data.joints.shape[-1])
    return fit_mvae(spec, a.train.subset(at), data_key={**a.key, "train": index_key(a.train_idx[at])},
                    steps=knobs.authors_mvae_steps, seed=seed, device=device, progress=progress,
                    **mvae_training(knobs))  # fmt: skip


# --- what a job's worker runs ---------------------------------------------------------------------------


def _receipt(result: TrainResult) -> dict[str, np.ndarray]:
    """A training job's own entry: the network itself is in ``dmbn-models``, written by ``cached_training``."""
    return {"steps": np.asarray(result.steps), "seconds": np.asarray(result.seconds),
            "final_loss": np.asarray(result.losses[-1] if len(result.losses) else np.nan)}  # fmt: skip


def prepare_own_data(knobs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Record and cache our interactions in this process (a data job); its own entry is the count."""
    raw = dataset(dataset_config(SimpleNamespace(**knobs)), workers=1, progress=False)
    return {"n_interactions": np.asarray(raw["action"].shape[0])}


def prepare_authors_data(setting: str | None, data_id: str, knobs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Read, resample and cache the authors' data in this process (a data job); its own entry is the count."""
    a = authors_data(SimpleNamespace(**knobs), lambda: find_authors_root(setting, data_id), data_id)
    return {"n_interactions": np.asarray(len(a.raw["id"]))}


def train_own_dmbn(knobs: Mapping[str, Any], size: int | None, seed: int, image_only: bool, device: str) -> dict[str, np.ndarray]:
    """A job: one DMBN on our data (:func:`own_dmbn`)."""
    k = SimpleNamespace(**knobs)
    own = own_data(k, workers=1)
    return _receipt(own_dmbn(k, own, training_positions(own.train_actions, size, seed), seed, image_only, device)[1])


def train_own_mvae(knobs: Mapping[str, Any], size: int | None, seed: int, device: str) -> dict[str, np.ndarray]:
    """A job: one MVAE on our data (:func:`own_mvae`)."""
    k = SimpleNamespace(**knobs)
    own = own_data(k, workers=1)
    return _receipt(own_mvae(k, own, training_positions(own.train_actions, size, seed), seed, device)[1])


def train_authors_dmbn(setting: str | None, data_id: str, knobs: Mapping[str, Any], size: int | None, seed: int,
                       device: str) -> dict[str, np.ndarray]:  # fmt: skip
    """A job: one DMBN on the authors' data (:func:`authors_dmbn`)."""
    k = SimpleNamespace(**knobs)
    a = authors_data(k, lambda: find_authors_root(setting, data_id), data_id)
    return _receipt(authors_dmbn(k, a, training_positions(a.train_actions, size, seed), seed, device)[1])


def train_authors_mvae(setting: str | None, data_id: str, knobs: Mapping[str, Any], size: int | None, seed: int,
                       device: str) -> dict[str, np.ndarray]:  # fmt: skip
    """A job: one MVAE on the authors' data (:func:`authors_mvae`)."""
    k = SimpleNamespace(**knobs)
    a = authors_data(k, lambda: find_authors_root(setting, data_id), data_id)
    return _receipt(authors_mvae(k, a, training_positions(a.train_actions, size, seed), seed, device)[1])


# --- the declaration --------------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _job(name: str, function: str, kwargs: Mapping[str, Any], device: str) -> Job:
    return Job(name, f"sensorimotor.dmbn.chapter_jobs:{function}", _plain(dict(kwargs)), namespace=RECEIPTS,
               suffix=".npz", gpus=1 if device.startswith("cuda") else 0)  # fmt: skip


def seeds(cfg: Any, count: int) -> list[int]:
    """``count`` consecutive seeds from the chapter's."""
    return [cfg.seed + k for k in range(count)]


def n_train(cfg: Any) -> int:
    """How many of our interactions the 80/20 split leaves for training."""
    return len(split_indices(cfg.n_push + cfg.n_grasp, cfg.test_fraction, cfg.seed)[0])


def own_jobs(cfg: Any, device: str = "cpu") -> list[Job]:
    """Every network on our data: an Image+Joint and an Image-only DMBN per Table 1 seed, an MVAE per Fig. 5
    seed, and a DMBN and an MVAE per Fig. 5 seed at each of its sizes below the whole training set."""
    base = cfg.subset(*DATA_KNOBS, *SPEC_KNOBS)
    dmbn = {**base, **cfg.subset(*DMBN_KNOBS, "train_steps")}
    mvae = {**base, **cfg.subset(*MVAE_KNOBS, "mvae_steps")}
    small = [n for n in cfg.fig5_sizes if n < n_train(cfg)]
    jobs = []
    for s in seeds(cfg, cfg.table1_seeds):
        jobs.append(_job(f"dmbn-seed{s}", "train_own_dmbn", dict(knobs={**dmbn, **cfg.subset(*SNAPSHOT_KNOBS)},
                         size=None, seed=s, image_only=False, device=device), device))  # fmt: skip
        jobs.append(_job(f"dmbn-image-only-seed{s}", "train_own_dmbn",
                         dict(knobs=dmbn, size=None, seed=s, image_only=True, device=device), device))  # fmt: skip
    for s in seeds(cfg, cfg.fig5_seeds):
        jobs.append(_job(f"mvae-seed{s}", "train_own_mvae", dict(knobs=mvae, size=None, seed=s, device=device), device))
        for n in small:
            jobs.append(_job(f"dmbn-n{n}-seed{s}", "train_own_dmbn",
                             dict(knobs=dmbn, size=n, seed=s, image_only=False, device=device), device))  # fmt: skip
            jobs.append(_job(f"mvae-n{n}-seed{s}", "train_own_mvae",
                             dict(knobs=mvae, size=n, seed=s, device=device), device))  # fmt: skip
    return jobs


def authors_jobs(cfg: Any, data_id: str, device: str = "cpu") -> list[Job]:
    """Every network on the authors' data (``data_id``: their folder's fingerprint): a DMBN and an MVAE per
    seed on the whole training set and at each of Fig. 5's sizes below it."""
    base = {"setting": cfg.authors_data, "data_id": data_id}
    knobs = cfg.subset(*AUTHORS_DATA_KNOBS, *SPEC_KNOBS)
    dmbn = {**knobs, **cfg.subset(*DMBN_KNOBS, "authors_batch_size", "authors_train_steps")}
    mvae = {**knobs, **cfg.subset(*MVAE_KNOBS, "authors_mvae_steps")}
    sizes = [None] + [n for n in cfg.authors_fig5_sizes if n < AUTHORS_TRAIN]
    jobs = []
    for s in seeds(cfg, cfg.authors_seeds):
        for n in sizes:
            tag = "" if n is None else f"-n{n}"
            jobs.append(_job(f"authors-dmbn{tag}-seed{s}", "train_authors_dmbn",
                             dict(base, knobs=dmbn, size=n, seed=s, device=device), device))  # fmt: skip
            jobs.append(_job(f"authors-mvae{tag}-seed{s}", "train_authors_mvae",
                             dict(base, knobs=mvae, size=n, seed=s, device=device), device))  # fmt: skip
    return jobs


def declared_jobs(cfg: Any, device: str = "cpu", authors_root: Path | None = None) -> list[list[Job]]:
    """The chapter's two stages: its datasets (ours; the authors' when ``authors_root`` holds them), then
    every network, the DMBNs on our data first (the longest trainings)."""
    data = [_job("data-own", "prepare_own_data", {"knobs": cfg.subset(*DATA_KNOBS)}, "cpu")]
    networks = own_jobs(cfg, device)
    if authors_root is not None:
        data_id = fingerprint(authors_root)
        data.append(_job("data-authors", "prepare_authors_data", {"setting": cfg.authors_data, "data_id": data_id,
                                                                  "knobs": cfg.subset(*AUTHORS_DATA_KNOBS)}, "cpu"))  # fmt: skip
        networks += authors_jobs(cfg, data_id, device)
    return [data, networks]
