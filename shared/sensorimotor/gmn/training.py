"""Training GMN models on scene sets: the ELBO loop, cached checkpoints, and jobs of :mod:`sensorimotor.jobs`
that train several models in parallel, on local workers or Ray (iteration timing: :mod:`sensorimotor.gmn.evaluation`)."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from sensorimotor.cache import cache_path, load_torch, save_torch
from sensorimotor.gmn.evaluation import masked_nll
from sensorimotor.gmn.haptic_pretraining import (
    HapticPretraining,
    as_pretraining_job,
    haptic_modality,
    load_grasp_process,
    pretraining_kwargs,
)
from sensorimotor.gmn.model import GMN, GMNArch, with_product
from sensorimotor.gmn.scenes import (
    Modality,
    SceneDatasetConfig,
    modality_split,
    scene_dataset,
    training_batch,
    with_opposite,
)
from sensorimotor.jobs import Job, load_result
from sensorimotor.jobs import run_jobs as run_all
from sensorimotor.progress import progress_bar
from sensorimotor.seeding import rng as make_rng
from sensorimotor.seeding import torch_generator


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """How to train one model (Adam on the negative ELBO, Gaussian likelihood with annealed std)."""

    steps: int
    batch_size: int = 8
    lr: float = 5e-4
    max_context: int = 14  # contexts per modality drawn from U{0..max_context} (paper: 0..15)
    max_targets: int = 3  # targets per modality and scene (paper: all the remaining views)
    sigma_start: float = 0.2  # std of the Gaussian likelihood, annealed linearly ...
    sigma_end: float = 0.1  # ... to this (GQN anneals 2.0 -> 0.7 on [0, 1] pixels over 200k steps)
    sigma_anneal: float = 0.5  # fraction of the steps over which sigma is annealed
    grad_clip: float = 1.0
    seed: int = 0
    opposite: bool = False  # double each batch with context and target swapped (authors' --add-opposite)
    mask_targets: bool = True  # missing modalities: hidden from the targets too (False: context only, as the authors)
    single_context: float = 0.0  # fraction of batch scenes whose context shows one modality only (all stay targets)

    def __post_init__(self) -> None:
        if not 0.0 <= self.single_context <= 1.0:
            raise ValueError(f"single_context must be a fraction in [0, 1], got {self.single_context!r}")

    def sigma(self, step: int) -> float:
        frac = min(1.0, step / max(1.0, self.sigma_anneal * self.steps))
        return self.sigma_start + frac * (self.sigma_end - self.sigma_start)


def train_gmn(
    model: GMN,
    data: Mapping[str, np.ndarray],
    modalities: Sequence[Modality],
    spec: TrainSpec,
    scene_modalities: np.ndarray | None = None,
    progress: bool = True,
    evaluate: Callable[[GMN, int], Mapping[str, float]] | None = None,
    eval_every: int = 0,
    desc: str = "train",
) -> dict[str, list[float]]:
    """Train ``model`` in place for ``spec.steps`` Adam steps; returns the per-step history.

    ``scene_modalities`` (N, M) bool: the modalities each training scene exposes (default: all).
    ``evaluate(model, step)`` is called every ``eval_every`` steps and at the end; its values are added to
    the history under ``eval/<key>`` together with ``eval/step``.
    """
    device = next(model.parameters()).device
    gen = make_rng(spec.seed, "gmn-train")
    tgen = torch_generator(spec.seed, "gmn-train-z", device=str(device))
    n_scenes = len(data["images"])
    if scene_modalities is not None and scene_modalities.shape != (n_scenes, len(modalities)):
        raise ValueError(f"scene_modalities must be (n_scenes, M) = {(n_scenes, len(modalities))}, got {scene_modalities.shape}")
    if scene_modalities is not None and spec.single_context:
        raise ValueError("scene_modalities and spec.single_context > 0 cannot be combined (both choose what a context shows)")
    opt = torch.optim.Adam(model.parameters(), lr=spec.lr)
    history: dict[str, list[float]] = {"loss": [], "nll_per_dim": [], "kl": [], "sigma": []}

    def run_eval(step: int) -> None:
        model.eval()
        values = evaluate(model, step)
        model.train()
        history.setdefault("eval/step", []).append(float(step))
        for k, v in values.items():
            history.setdefault(f"eval/{k}", []).append(float(v))

    model.train()
    bar = progress_bar(range(spec.steps), desc=desc, progress=progress, mininterval=2.0)
    for step in bar:
        if evaluate is not None and eval_every and step % eval_every == 0:
            run_eval(step)
        scenes = gen.choice(n_scenes, size=spec.batch_size, replace=False)
        allowed, mask_targets = None if scene_modalities is None else scene_modalities[scenes], spec.mask_targets
        if spec.single_context:
            allowed, mask_targets = single_modality_contexts(gen, spec.batch_size, len(modalities), spec.single_context), False
        context, target = training_batch(data, modalities, scenes, gen, spec.max_context, spec.max_targets, allowed, device,
                                         mask_targets)  # fmt: skip
        n = spec.batch_size
        if spec.opposite:
            context, target = with_opposite(context, target, n)
            n = 2 * n
        sigma = spec.sigma(step)
        out = model.elbo(context, target, n, sigma=sigma, generator=tgen)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        if spec.grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), spec.grad_clip)
        opt.step()
        with torch.no_grad():
            history["loss"].append(out["loss"].item())
            history["nll_per_dim"].append((-out["elbo"].sum() / out["dims"].sum()).item())
            history["kl"].append(out["kl"].mean().item())
        history["sigma"].append(sigma)
        if step % 20 == 0:
            bar.set_postfix(nll_dim=f"{history['nll_per_dim'][-1]:.3f}", kl=f"{history['kl'][-1]:.1f}")
    if evaluate is not None:
        run_eval(spec.steps)
    model.eval()
    return history


def single_modality_contexts(gen: np.random.Generator, n_scenes: int, n_modalities: int, fraction: float) -> np.ndarray:
    """(n_scenes, M) bool context masks: each scene, with probability ``fraction``, shows one modality
    (uniform) in its context, otherwise all; a training batch built with them keeps every modality among
    the targets, so the model must predict the others from the one it is shown."""
    masks = np.ones((n_scenes, n_modalities), dtype=bool)
    single = gen.random(n_scenes) < fraction
    shown = gen.integers(0, n_modalities, size=n_scenes)
    masks[single] = np.eye(n_modalities, dtype=bool)[shown[single]]
    return masks


def trained_gmn(
    key: Mapping[str, Any],
    modalities: Sequence[Modality],
    arch: GMNArch,
    scheme: str,
    train: Callable[[GMN], dict[str, list[float]]],
    device: Any = "cpu",
    seed: int = 0,
) -> tuple[GMN, dict[str, list[float]]]:
    """Build a GMN and train it with ``train(model)``, or load both weights and history from the cache.

    ``key`` must hold every knob that determines the result (data, training spec, ...); the modality
    split, architecture, scheme and seed are added here.
    """
    path = checkpoint_path(key, modalities, arch, scheme, seed)
    torch.manual_seed(seed)
    model = GMN(modalities, arch, scheme).to(device)
    if path.exists():
        saved = load_torch(path, map_location=device)
        model.load_state_dict(saved["state"])
        model.eval()
        return model, {k: list(v) for k, v in saved["history"].items()}
    history = train(model)
    save_torch(path, {"state": model.state_dict(), "history": history})
    return model, history


def checkpoint_path(key: Mapping[str, Any], modalities: Sequence[Modality], arch: GMNArch, scheme: str, seed: int):
    """Where :func:`trained_gmn` caches a model."""
    full_key = {**key, "modalities": [dataclasses.asdict(m) for m in modalities], "arch": dataclasses.asdict(arch),
                "scheme": scheme, "seed": seed}  # fmt: skip
    return cache_path("gmn-models", full_key, ".pt")


@dataclasses.dataclass(frozen=True)
class MaskedEvaluation:
    """Evaluations along training (Fig. 5): negative ELBO per dim on test scenes under modality masks."""

    data: SceneDatasetConfig
    scenes: tuple[int, ...]
    masks: Mapping[str, np.ndarray]  # name -> (len(scenes), M) bool
    max_context: int
    max_targets: int
    sigma: float
    seed: int
    every: int
    mask_targets: bool = True
    eq2: bool = False  # also evaluate an APoE with the eq. 2 product (keys "<mask>/eq2")


@dataclasses.dataclass(frozen=True)
class TrainJob:
    """Everything one model's training needs, picklable so that jobs can run in worker processes."""

    key: Mapping[str, Any]  # the caller's knobs that determine the result (part of the cache key)
    n_modalities: int
    image_size: int
    arch: GMNArch
    scheme: str
    spec: TrainSpec
    data: SceneDatasetConfig  # the training scenes (generated and cached beforehand)
    seed: int
    scene_modalities: np.ndarray | None = None
    evaluation: MaskedEvaluation | None = None
    label: str = ""
    device: str = "cpu"  # where to train and load (not part of the cache key)
    haptic_pretraining: HapticPretraining | None = None  # start from a pretrained haptic network (a departure)

    @property
    def modalities(self) -> list[Modality]:
        return modality_split(self.n_modalities, self.image_size)

    def pretraining(self) -> dict[str, Any] | None:
        """The arguments of the job that pretrains this model's haptic network (None: no pretraining); the
        network is pretrained on the model's training scenes from the initial weights of its seed, so both
        schemes of a seed share it."""
        if self.haptic_pretraining is None:
            return None
        return pretraining_kwargs(self.n_modalities, self.image_size, self.arch, self.data, self.seed, self.haptic_pretraining)

    def path(self):
        """The cache entry of this model (see :func:`as_job`)."""
        return as_job(self, self.label or "gmn").path()

    def run(self, progress: bool = True) -> tuple[GMN, dict[str, list[float]]]:
        """Train (in a worker of :mod:`sensorimotor.jobs`) unless cached, then load."""
        return run_jobs([self], processes=1, progress=progress)[0]


def _masked_evaluator(ev: MaskedEvaluation, mods: Sequence[Modality]) -> Callable[[GMN, int], dict[str, float]]:
    data = scene_dataset(ev.data, workers=1, progress=False)

    def evaluate(model: GMN, step: int) -> dict[str, float]:
        views = {"": model}
        if ev.eq2 and model.scheme == "apoe":
            views["/eq2"] = with_product(model, "context")
        return {name + suffix: masked_nll(view, data, mods, ev.scenes, masks, ev.max_context, ev.max_targets, ev.sigma,
                                          ev.seed, mask_targets=ev.mask_targets)
                for suffix, view in views.items() for name, masks in ev.masks.items()}  # fmt: skip

    return evaluate


def job_kwargs(job: TrainJob) -> dict[str, Any]:
    """``job`` as plain JSON values (the arguments of :func:`train_job`; the label is left out of them)."""
    def bits(mask: np.ndarray) -> dict[str, Any]:
        return {"shape": list(mask.shape), "hex": np.packbits(mask.astype(bool)).tobytes().hex()}

    def plain(config: SceneDatasetConfig) -> dict[str, Any]:
        return {**dataclasses.asdict(config), "n_parts": list(config.n_parts)}

    evaluation = None
    if job.evaluation is not None:
        ev = job.evaluation
        evaluation = {**{f.name: getattr(ev, f.name) for f in dataclasses.fields(ev)}, "data": plain(ev.data),
                      "scenes": list(ev.scenes), "masks": {k: bits(v) for k, v in ev.masks.items()}}  # fmt: skip
    arch = {**dataclasses.asdict(job.arch), "default_grid": list(job.arch.default_grid)}
    return {"key": json.loads(json.dumps(dict(job.key))), "n_modalities": job.n_modalities, "image_size": job.image_size,
            "arch": arch, "scheme": job.scheme, "spec": dataclasses.asdict(job.spec), "data": plain(job.data),
            "seed": job.seed, "device": job.device, "evaluation": evaluation,
            "scene_modalities": None if job.scene_modalities is None else bits(job.scene_modalities),
            "haptic_pretraining": None if job.haptic_pretraining is None else dataclasses.asdict(job.haptic_pretraining)}  # fmt: skip


def _from_kwargs(kwargs: Mapping[str, Any]) -> TrainJob:
    def unbits(packed: Mapping[str, Any]) -> np.ndarray:
        n = int(np.prod(packed["shape"]))
        flat = np.unpackbits(np.frombuffer(bytes.fromhex(packed["hex"]), np.uint8))[:n]
        return flat.astype(bool).reshape(packed["shape"])

    def scenes(config: Mapping[str, Any]) -> SceneDatasetConfig:
        return SceneDatasetConfig(**{**config, "n_parts": tuple(config["n_parts"])})

    ev = kwargs["evaluation"]
    evaluation = None if ev is None else MaskedEvaluation(**{**ev, "data": scenes(ev["data"]), "scenes": tuple(ev["scenes"]),
                                                             "masks": {k: unbits(v) for k, v in ev["masks"].items()}})  # fmt: skip
    arch = GMNArch(**{**kwargs["arch"], "default_grid": tuple(kwargs["arch"]["default_grid"])})
    masks, pretraining = kwargs["scene_modalities"], kwargs["haptic_pretraining"]
    return TrainJob(kwargs["key"], kwargs["n_modalities"], kwargs["image_size"], arch, kwargs["scheme"],
                    TrainSpec(**kwargs["spec"]), scenes(kwargs["data"]), kwargs["seed"],
                    None if masks is None else unbits(masks), evaluation, device=kwargs["device"],
                    haptic_pretraining=None if pretraining is None else HapticPretraining(**pretraining))  # fmt: skip


def train_job(**kwargs: Any) -> dict[str, Any]:
    """Train one model from :func:`job_kwargs` (a job of :mod:`sensorimotor.jobs`): its weights and history."""
    job = _from_kwargs(kwargs)
    mods = job.modalities
    torch.manual_seed(job.seed)
    model = GMN(mods, job.arch, job.scheme).to(job.device)
    if job.pretraining() is not None:  # pretrained by its own job (see run_jobs and the chapter's stages)
        process, _ = load_grasp_process(job.pretraining())
        model.representations[haptic_modality(mods).name].load_state_dict(process.encoder.state_dict())
    data = scene_dataset(job.data, workers=1, progress=False)
    evaluate = None if job.evaluation is None else _masked_evaluator(job.evaluation, mods)
    start = time.perf_counter()
    history = train_gmn(model, data, mods, job.spec, job.scene_modalities, False, evaluate,
                        job.evaluation.every if job.evaluation else 0)  # fmt: skip
    history["wall_seconds"] = [time.perf_counter() - start]
    return {"state": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "history": history}


def pretraining_jobs(jobs: Sequence[TrainJob]) -> list[Job]:
    """The distinct haptic pretrainings ``jobs`` start from, as jobs (one per seed and training set)."""
    kwargs = [job.pretraining() for job in jobs]
    unique = {json.dumps(k, sort_keys=True): k for k in kwargs if k is not None}
    return [as_pretraining_job(k) for k in unique.values()]


def as_job(job: TrainJob, name: str) -> Job:
    """``job`` as a job of :mod:`sensorimotor.jobs` (cached under ``gmn-models``), run by :func:`train_job`."""
    gpus = 1 if job.device.startswith("cuda") else 0
    return Job(name, "sensorimotor.gmn.training:train_job", job_kwargs(job), namespace="gmn-models", gpus=gpus)


def load_trained(job: TrainJob, name: str = "") -> tuple[GMN, dict[str, list[float]]]:
    """The model and history that :func:`train_job` saved for ``job`` (a :class:`JobError` if not trained)."""
    saved = load_result(as_job(job, name or job.label or "gmn"))
    model = GMN(job.modalities, job.arch, job.scheme).to(job.device)
    model.load_state_dict(saved["state"])
    model.eval()
    return model, {k: list(v) for k, v in saved["history"].items()}


def run_jobs(
    jobs: Sequence[TrainJob], processes: int = 1, threads: int = 1, progress: bool = True, executor: str = "local"
) -> list[tuple[GMN, dict[str, list[float]]]]:
    """Train every job not yet in the cache as jobs of :mod:`sensorimotor.jobs` (``processes`` local workers
    of one torch thread each, or Ray; results do not depend on either), then load all of them in order.
    Haptic networks to pretrain go first. ``threads`` and ``progress`` are kept for callers; each job runs
    with one thread."""
    del threads, progress
    needed = [job.data for job in jobs] + [job.evaluation.data for job in jobs if job.evaluation is not None]
    for config in dict.fromkeys(needed):  # the scenes once, before the workers read them
        scene_dataset(config, workers=processes, progress=False)
    run_all(pretraining_jobs(jobs), executor=executor, workers=processes)
    named = [as_job(job, f"gmn-{i}") for i, job in enumerate(jobs)]
    run_all(named, executor=executor, workers=processes)
    return [load_trained(job, f"gmn-{i}") for i, job in enumerate(jobs)]
