"""The SOM-AE chapter's trainings as declared jobs: the dataset, the autoencoder, every map, the batch study.

The chapter's ``config.py`` returns :func:`declared_jobs` from ``training_jobs``, so that ``replicate``
generates the data and trains before the notebook runs. The notebook calls :func:`trained_autoencoder`,
:func:`trained_map` and :func:`batch_study`, which load what the jobs wrote; run on its own (outside the
pipeline) they run the same job functions in the kernel and cache the result at the same entry.

Each job function takes plain JSON arguments: the entry's ``key`` (the knobs and the data's key), from
which it rebuilds its data in the worker (the cached infant dataset, the autoencoder's codes), and how
it runs (``threads``, the modality names). An entry's key (:class:`EntryJob`) holds the knobs and data key
the notebook gave it before its trainings were jobs, and the code hash of the trainer and of this module.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from sensorimotor.cache import load_torch, save_torch
from sensorimotor.jobs import Job, JobError
from sensorimotor.som_ae import autoencoder as ae
from sensorimotor.som_ae import infant_data
from sensorimotor.som_ae import som as msom
from sensorimotor.som_ae.infant_sim import N_JOINTS

MODELS = ("SOM", "SOM-AE")  # the plain SOM on pixels, SOM-AE on the autoencoder's codes
# the modules each entry's key hashes: the trainer and this module (which builds the data the trainer sees)
AE_CODE = ("sensorimotor.som_ae.autoencoder", "sensorimotor.som_ae.chapter_jobs")
SOM_CODE = ("sensorimotor.som_ae.som", "sensorimotor.som_ae.chapter_jobs")


class EntryJob(Job):
    """A job cached under ``kwargs["key"]`` alone (and the code hash of ``code``), not its function and
    arguments: the other arguments only say how the job runs (``threads``) and what its modalities and
    mappings are called; the key holds everything that changes the numbers."""

    @property
    def key(self) -> dict[str, Any]:
        return dict(self.kwargs["key"])


def _plain(value: Any) -> Any:
    """``value`` as JSON gives it back (tuples become lists): the form a job's arguments must have.
    A cache key hashes both forms alike, so the entries are those of the notebook's Python values."""
    return json.loads(json.dumps(value))


def _all_cpus() -> int:
    return os.cpu_count() or 1


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with ``threads`` torch threads (0: leave them as they are), then restore them."""
    before = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# --- keys: what determines each entry, exactly as the notebook built them -------------------------------


def data_config(cfg: Any) -> infant_data.InfantDatasetConfig:
    """The chapter's infant dataset (``cfg``: a ``SOMAEConfig``)."""
    return infant_data.InfantDatasetConfig(
        n_samples=cfg.n_samples, image_size=cfg.image_size, render_height=cfg.render_height,
        render_width=cfg.render_width, vertical_fov_deg=cfg.vertical_fov_deg, head_pitch_deg=cfg.head_pitch_deg,
        min_arm_fraction=cfg.min_arm_fraction, reject_self_collision=cfg.reject_self_collision,
        seed=cfg.seed, chunk_size=cfg.chunk_size,
    )  # fmt: skip


def data_key(cfg: Any) -> dict[str, Any]:
    """The dataset's part of every training key."""
    return _plain({"version": infant_data.DATA_VERSION, **dataclasses.asdict(data_config(cfg))})


def autoencoder_spec(cfg: Any) -> ae.AutoencoderSpec:
    return ae.AutoencoderSpec(image_size=cfg.image_size, latent_dim=cfg.latent_dim, channels=tuple(cfg.ae_channels))


def autoencoder_training(cfg: Any) -> ae.AutoencoderTraining:
    return ae.AutoencoderTraining(epochs=cfg.ae_epochs, batch_size=cfg.ae_batch_size, lr=cfg.ae_lr)


def autoencoder_key(cfg: Any, device: str) -> dict[str, Any]:
    """The autoencoder's entry key (``device``: ``"cpu"`` or ``"cuda"``)."""
    return _plain({"data": data_key(cfg), "split": cfg.split, "spec": dataclasses.asdict(autoencoder_spec(cfg)),
                   "training": dataclasses.asdict(autoencoder_training(cfg)), "seed": cfg.seed, "device": device})  # fmt: skip


def modality_weights(cfg: Any, modalities: Sequence[str]) -> dict[str, float]:
    """The weights c of eq. 3 by modality name, ``modalities`` = (image, joints)."""
    image, joints = modalities
    return {image: cfg.weight_image, joints: cfg.weight_joints}


def map_schedule(cfg: Any, model: str) -> msom.SOMSchedule:
    """The training schedule of ``model`` (its own batch size, the shared rest)."""
    batch = cfg.plain_batch_size if model == "SOM" else cfg.somae_batch_size
    return msom.SOMSchedule(epochs=cfg.som_epochs, batch_size=batch, lr_start=cfg.lr_start, lr_end=cfg.lr_end,
                            sigma_start=cfg.sigma_start, sigma_end=cfg.sigma_end)  # fmt: skip


def map_key(cfg: Any, model: str, map_seed: int, device: str, modalities: Sequence[str]) -> dict[str, Any]:
    """The entry key of one map: ``model`` in :data:`MODELS`, trained from ``map_seed``."""
    if model not in MODELS:
        raise ValueError(f"model {model!r}; accepted: {', '.join(MODELS)}")
    return _plain({
        "model": model, "data": data_key(cfg), "split": cfg.split,
        "ae": autoencoder_key(cfg, device) if model == "SOM-AE" else None, "map": [cfg.map_rows, cfg.map_cols],
        "c": modality_weights(cfg, modalities), "schedule": dataclasses.asdict(map_schedule(cfg, model)),
        "compile": cfg.compile_distance, "seed": map_seed, "device": device,
    })  # fmt: skip


def batch_study_key(cfg: Any, device: str, modalities: Sequence[str]) -> dict[str, Any]:
    """The batch-size study's entry key (both models retrained from the first map seed)."""
    return _plain({
        "data": data_key(cfg), "split": cfg.split, "ae": autoencoder_key(cfg, device), "map": [cfg.map_rows, cfg.map_cols],
        "c": modality_weights(cfg, modalities), "batches": list(cfg.batch_study), "plain_epochs": cfg.batch_study_plain_epochs,
        "epochs": cfg.som_epochs, "lr": [cfg.lr_start, cfg.lr_end], "sigma": [cfg.sigma_start, cfg.sigma_end],
        "compile": cfg.compile_distance, "seed": cfg.seed, "device": device,
    })  # fmt: skip


def map_seeds(cfg: Any) -> list[int]:
    """The map seeds: ``seed``, ``seed + 1``, ... (``map_seeds`` of them)."""
    return [cfg.seed + k for k in range(cfg.map_seeds)]


# --- jobs ---------------------------------------------------------------------------------------------


def _gpus(device: str) -> int:
    return 1 if device.startswith("cuda") else 0


def data_job(cfg: Any) -> Job:
    """Generate (and cache) the infant dataset; the job's own entry is only a receipt."""
    return Job("som_ae-data", "sensorimotor.som_ae.chapter_jobs:prepare_dataset", {"config": data_key(cfg)},
               namespace="som_ae-data-sets", suffix=".npz", cpus=_all_cpus())  # fmt: skip


def autoencoder_job(cfg: Any, device: str) -> EntryJob:
    """The autoencoder's training (:func:`autoencoder_entry`); see :func:`declared_jobs` for its ``cpus``."""
    return _autoencoder_job(autoencoder_key(cfg, device), cfg.torch_threads, cpus=_all_cpus(), gpus=_gpus(device))


def _autoencoder_job(key: Mapping[str, Any], threads: int, cpus: int = 1, gpus: int = 0) -> EntryJob:
    return EntryJob("som_ae-autoencoder", "sensorimotor.som_ae.chapter_jobs:autoencoder_entry",
                    {"key": dict(key), "threads": threads}, namespace="som_ae-autoencoder", code=AE_CODE, cpus=cpus,
                    gpus=gpus)  # fmt: skip


def map_job(cfg: Any, model: str, map_seed: int, device: str, modalities: Sequence[str]) -> EntryJob:
    """One map's training (:func:`map_entry`)."""
    kwargs = {"key": map_key(cfg, model, map_seed, device, modalities), "modalities": list(modalities),
              "threads": cfg.torch_threads}  # fmt: skip
    return EntryJob(f"som_ae-map-{model}-seed{map_seed}", "sensorimotor.som_ae.chapter_jobs:map_entry", kwargs,
                    namespace="som_ae-som", code=SOM_CODE, cpus=_all_cpus(), gpus=_gpus(device))  # fmt: skip


def batch_study_job(
    cfg: Any, device: str, modalities: Sequence[str], mappings: Sequence[tuple[str, str, str]]
) -> EntryJob:
    """The batch-size study (:func:`batch_study_entry`); ``mappings``: (source, target, label) in table order."""
    kwargs = {"key": batch_study_key(cfg, device, modalities), "modalities": list(modalities),
              "mappings": [list(m) for m in mappings], "threads": cfg.torch_threads}  # fmt: skip
    return EntryJob("som_ae-batch-study", "sensorimotor.som_ae.chapter_jobs:batch_study_entry", kwargs,
                    namespace="som_ae-batch-study", code=SOM_CODE, cpus=_all_cpus(), gpus=_gpus(device))  # fmt: skip


def declared_jobs(
    cfg: Any, device: str, modalities: Sequence[str], mappings: Sequence[tuple[str, str, str]]
) -> list[list[Job]]:
    """Three stages: the dataset; the autoencoder and the plain maps; the SOM-AE maps (on the autoencoder's
    codes) and the batch study.

    Every job asks for every CPU of this machine (``cpus``), so the local executor runs it alone, as the
    notebook trained: the claims compare training seconds and peak memory read from these histories, and
    two trainings sharing the cores would change both. Inside, torch keeps the notebook's thread count
    (``torch_threads`` of the config, one by default; see :func:`torch_threads`), not one per CPU asked.
    On Ray each job needs a node with as many CPUs as this one.
    """
    plain = [map_job(cfg, "SOM", s, device, modalities) for s in map_seeds(cfg)]
    codes = [map_job(cfg, "SOM-AE", s, device, modalities) for s in map_seeds(cfg)]
    return [[data_job(cfg)], [autoencoder_job(cfg, device), *plain], [*codes, batch_study_job(cfg, device, modalities, mappings)]]


# --- what the jobs run (in a worker, or in the kernel when run on their own) -----------------------------


def prepare_dataset(config: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Generate and cache the dataset ``config`` (:func:`data_key`) with one process per CPU: a data job
    of the chapter, whose own entry is this receipt (the sample count)."""
    return {"n_samples": np.asarray(len(_dataset(config)["joints"]))}


def _dataset(config: Mapping[str, Any]) -> dict[str, np.ndarray]:
    fields = {k: v for k, v in config.items() if k != "version"}
    if config.get("version") != infant_data.DATA_VERSION:
        raise JobError(f"dataset version {config.get('version')!r}; this library makes {infant_data.DATA_VERSION}")
    return infant_data.dataset(infant_data.InfantDatasetConfig(**fields), progress=False)


@dataclasses.dataclass(frozen=True)
class ModelInputs:
    """What both models learn from: grey images in [0, 1] (N, S, S), joint angles normalised to [0, 1]
    (N, 5), and the train / validation / test indices."""

    images: torch.Tensor
    joints: torch.Tensor
    train: torch.Tensor
    val: torch.Tensor
    test: torch.Tensor

    @property
    def flat_images(self) -> torch.Tensor:
        return self.images.reshape(len(self.images), -1)


def model_inputs(images_u8: np.ndarray, joints_rad: np.ndarray, split: Sequence[float]) -> ModelInputs:
    """The models' inputs from the dataset's uint8 images and joint angles (radians)."""
    splits = infant_data.split_indices(len(images_u8), tuple(split))
    index = (torch.as_tensor(splits[k]) for k in ("train", "val", "test"))
    return ModelInputs(ae.as_float_images(images_u8), torch.as_tensor(infant_data.normalise_joints(joints_rad)), *index)


def _inputs(key: Mapping[str, Any]) -> ModelInputs:
    data = _dataset(key["data"])
    return model_inputs(data["images"], data["joints"], key["split"])


def scaled_codes(
    autoencoder: ae.ConvAutoencoder, images: torch.Tensor, train: torch.Tensor
) -> tuple[torch.Tensor, ae.LatentScaler, torch.Tensor]:
    """Every image's latent code, the scaler fitted on the training codes, and the scaled codes SOM-AE sees."""
    latents = ae.encode(autoencoder, images)
    scaler = ae.LatentScaler.fit(latents[train])
    return latents, scaler, scaler.transform(latents)


def code_decoder(autoencoder: ae.ConvAutoencoder, scaler: ae.LatentScaler) -> Callable[[torch.Tensor], torch.Tensor]:
    """Scaled codes (B, latent) -> flat images (B, S * S): SOM-AE's image weights in pixel space."""
    side = autoencoder.spec.image_size

    def decode(weights: torch.Tensor) -> torch.Tensor:
        return ae.decode(autoencoder, scaler.inverse(weights.cpu())).reshape(len(weights), side * side)

    return decode


def _load_autoencoder(key: Mapping[str, Any]) -> ae.ConvAutoencoder:
    """The autoencoder of ``key`` from its entry (the model seeded as the notebook seeds it)."""
    path = _autoencoder_job(key, threads=0).path()
    if not path.exists():
        raise JobError(f"no autoencoder at {path}; its job (stage 2 of the chapter's jobs) runs before the maps")
    return _autoencoder_from(key, load_torch(path)["state"])


def _autoencoder_from(key: Mapping[str, Any], state: Mapping[str, torch.Tensor]) -> ae.ConvAutoencoder:
    spec = ae.AutoencoderSpec(**{**key["spec"], "channels": tuple(key["spec"]["channels"])})
    torch.manual_seed(key["seed"])  # the draws the notebook made before its autoencoder, trained or loaded
    model = ae.ConvAutoencoder(spec)
    model.load_state_dict(state)
    return model.to(key["device"]).eval()


def autoencoder_entry(key: Mapping[str, Any], threads: int = 0) -> dict[str, Any]:
    """A job's function: train the autoencoder of ``key`` on the training split; its state and history."""
    with torch_threads(threads):
        inputs = _inputs(key)
        torch.manual_seed(key["seed"])
        model = ae.ConvAutoencoder(ae.AutoencoderSpec(**{**key["spec"], "channels": tuple(key["spec"]["channels"])}))
        history = ae.train_autoencoder(model, inputs.images[inputs.train], inputs.images[inputs.val],
                                       ae.AutoencoderTraining(**key["training"]), seed=key["seed"],
                                       device=key["device"], progress=False)  # fmt: skip
    return {"state": model.state_dict(), "history": history}


def _spaces(key: Mapping[str, Any], inputs: ModelInputs, modalities: Sequence[str], model: str) -> dict[str, torch.Tensor]:
    """``model``'s training space: (image, joints) as pixels or as the autoencoder's scaled codes."""
    image, joints = modalities
    if model == "SOM":
        return {image: inputs.flat_images, joints: inputs.joints}
    _, _, codes = scaled_codes(_load_autoencoder(key["ae"]), inputs.images, inputs.train)
    return {image: codes, joints: inputs.joints}


def empty_map(key: Mapping[str, Any], modalities: Sequence[str], model: str) -> msom.MultimodalSOM:
    """An untrained map of ``key``'s size for ``model`` (pixels or codes, and the joints)."""
    image, joints = modalities
    side = key["data"]["image_size"]
    dims = {image: side * side if model == "SOM" else key["ae"]["spec"]["latent_dim"], joints: N_JOINTS}
    rows, cols = key["map"]
    weights = {m: key["c"][m] for m in modalities}
    return msom.MultimodalSOM(rows, cols, dims, weights, device=key["device"], compile=key["compile"])


def map_entry(key: Mapping[str, Any], modalities: Sequence[str], threads: int = 0) -> dict[str, Any]:
    """A job's function: train the map of ``key`` (its model, seed and schedule); its state and history
    (seconds and peak memory of the training loop alone, the data already in memory)."""
    with torch_threads(threads):
        inputs = _inputs(key)
        space = _spaces(key, inputs, modalities, key["model"])
        som = empty_map(key, modalities, key["model"])
        training = {m: x[inputs.train].contiguous() for m, x in space.items()}
        history = msom.train_som(som, training, msom.SOMSchedule(**key["schedule"]), seed=key["seed"],
                                 desc=key["model"], progress=False)  # fmt: skip
    return {"state": som.state_dict(), "history": history}


def batch_study_entry(
    key: Mapping[str, Any], modalities: Sequence[str], mappings: Sequence[Sequence[str]], threads: int = 0
) -> dict[str, dict[str, Any]]:
    """A job's function: both models retrained at each batch size of ``key`` (the plain SOM for
    ``plain_epochs``); per ``"model|batch"`` its updates, seconds, speed, last quantisation error, loop and
    mean test MAE per mapping (``mappings``: (source, target, label)) and overall."""
    image, joints = modalities
    with torch_threads(threads):
        inputs = _inputs(key)
        autoencoder = _load_autoencoder(key["ae"])
        _, scaler, codes = scaled_codes(autoencoder, inputs.images, inputs.train)
        truth = {image: inputs.flat_images[inputs.test], joints: inputs.joints[inputs.test]}
        spaces = {"SOM": {image: inputs.flat_images, joints: inputs.joints}, "SOM-AE": {image: codes, joints: inputs.joints}}
        study = {}
        for model, space in spaces.items():
            epochs = key["plain_epochs"] if model == "SOM" else key["epochs"]
            training = {m: x[inputs.train].contiguous() for m, x in space.items()}
            test = {m: x[inputs.test] for m, x in space.items()}
            to_eval = {image: code_decoder(autoencoder, scaler)} if model == "SOM-AE" else {}
            for batch in key["batches"]:
                schedule = msom.SOMSchedule(epochs=epochs, batch_size=batch, lr_start=key["lr"][0], lr_end=key["lr"][1],
                                            sigma_start=key["sigma"][0], sigma_end=key["sigma"][1])  # fmt: skip
                som = empty_map(key, modalities, model)
                history = msom.train_som(som, training, schedule, seed=key["seed"], progress=False)
                study[f"{model}|{batch}"] = {
                    "epochs": epochs, "updates": int(history["updates"]), "seconds": float(history["seconds"]),
                    "samples/s": float(history["samples_per_second"]), "qe": float(history["quantisation_error"][-1]),
                    "backend": str(history["backend"]), **_mean_errors(msom.mapping_errors(som, test, truth, to_eval), mappings),
                }  # fmt: skip
            del training
    return study


def _mean_errors(errors: Mapping[tuple[str, str], np.ndarray], mappings: Sequence[Sequence[str]]) -> dict[str, float]:
    """Mean test MAE overall (all mappings' samples pooled) and per mapping label."""
    per_label = {label: errors[source, target] for source, target, label in mappings}
    pooled = {"overall": np.concatenate(list(per_label.values())), **per_label}
    return {label: float(np.mean(values)) for label, values in pooled.items()}


# --- what the notebook calls -----------------------------------------------------------------------------


def load_or_run(job: Job) -> tuple[Any, bool]:
    """``job``'s cached result and ``True``; else its function run here (in this process), its result
    cached at the job's entry, and ``False``."""
    path = job.path()
    if path.exists():
        return load_torch(path), True
    module, _, name = job.function.partition(":")
    result = getattr(importlib.import_module(module), name)(**job.kwargs)
    save_torch(path, result)
    return result, False


def trained_autoencoder(cfg: Any, device: str) -> tuple[ae.ConvAutoencoder, dict[str, Any], bool]:
    """The chapter's autoencoder (on ``device``, eval mode), its history and whether it was cached."""
    job = autoencoder_job(cfg, device)
    saved, cached = load_or_run(job)
    return _autoencoder_from(job.key, saved["state"]), saved["history"], cached


def trained_map(
    cfg: Any, model: str, map_seed: int, device: str, modalities: Sequence[str]
) -> tuple[msom.MultimodalSOM, dict[str, Any]]:
    """One trained map and its history (with ``"cached"``: whether it was loaded from the cache)."""
    job = map_job(cfg, model, map_seed, device, modalities)
    saved, cached = load_or_run(job)
    som = empty_map(job.key, modalities, model)
    som.load_state_dict(saved["state"])
    return som, {**saved["history"], "cached": cached}


def batch_study(
    cfg: Any, device: str, modalities: Sequence[str], mappings: Sequence[tuple[str, str, str]]
) -> dict[str, dict[str, Any]]:
    """The batch-size study's rows (see :func:`batch_study_entry`)."""
    return load_or_run(batch_study_job(cfg, device, modalities, mappings))[0]
