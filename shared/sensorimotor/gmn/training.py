"""Training GMN models on scene sets: the ELBO loop, cached checkpoints, and jobs that train several
models in parallel worker processes (iteration timing is in :mod:`sensorimotor.gmn.evaluation`)."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch

from sensorimotor.cache import cache_path, load_torch, save_torch
from sensorimotor.gmn.evaluation import masked_nll
from sensorimotor.gmn.model import GMN, GMNArch, with_product
from sensorimotor.gmn.scenes import (
    Modality,
    SceneDatasetConfig,
    modality_split,
    scene_dataset,
    training_batch,
    with_opposite,
)
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

    @property
    def modalities(self) -> list[Modality]:
        return modality_split(self.n_modalities, self.image_size)

    def path(self):
        return checkpoint_path(self._full_key(), self.modalities, self.arch, self.scheme, self.seed)

    def _full_key(self) -> dict[str, Any]:
        extra = {}
        if self.scene_modalities is not None:
            extra["scene_modalities"] = np.packbits(self.scene_modalities).tobytes().hex()
        if self.evaluation is not None:
            ev = self.evaluation
            extra["evaluation"] = {"data": dataclasses.asdict(ev.data), "scenes": list(ev.scenes), "every": ev.every,
                                   "masks": {k: np.packbits(v).tobytes().hex() for k, v in ev.masks.items()},
                                   "max_context": ev.max_context, "max_targets": ev.max_targets, "sigma": ev.sigma,
                                   "seed": ev.seed, "mask_targets": ev.mask_targets, "eq2": ev.eq2}  # fmt: skip
        return {**self.key, "data": dataclasses.asdict(self.data), "train": dataclasses.asdict(self.spec), **extra}

    def run(self, progress: bool = True) -> tuple[GMN, dict[str, list[float]]]:
        """Train (or load from the cache) in this process."""
        mods = self.modalities

        def train(model: GMN) -> dict[str, list[float]]:
            data = scene_dataset(self.data, workers=1, progress=False)
            evaluate = None
            if self.evaluation is not None:
                evaluate = _masked_evaluator(self.evaluation, mods)
            start = time.perf_counter()
            history = train_gmn(model, data, mods, self.spec, self.scene_modalities, progress, evaluate,
                                self.evaluation.every if self.evaluation else 0, desc=self.label or self.scheme)  # fmt: skip
            history["wall_seconds"] = [time.perf_counter() - start]
            return history

        return trained_gmn(self._full_key(), mods, self.arch, self.scheme, train, device=self.device, seed=self.seed)


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


def _run_in_worker(args: tuple[TrainJob, int]) -> str:
    job, threads = args
    if threads:
        torch.set_num_threads(threads)
    job.run(progress=False)
    return job.label


def run_jobs(
    jobs: Sequence[TrainJob], processes: int = 1, threads: int = 1, progress: bool = True
) -> list[tuple[GMN, dict[str, list[float]]]]:
    """Train every job not yet in the cache, ``processes`` at a time (spawned workers with ``threads``
    torch threads each; results do not depend on ``processes``), then load all of them in order."""
    pending = [job for job in jobs if not job.path().exists()]
    if pending and processes > 1 and len(pending) > 1:
        bar = progress_bar(total=len(pending), desc="training jobs", progress=progress)
        with mp.get_context("spawn").Pool(min(processes, len(pending))) as pool:
            for label in pool.imap_unordered(_run_in_worker, [(job, threads) for job in pending]):
                bar.update(1)
                bar.set_postfix_str(f"done: {label}")
        bar.close()
    else:
        before = torch.get_num_threads()
        if threads:
            torch.set_num_threads(threads)
        try:
            for job in pending:
                job.run(progress=progress)
        finally:
            torch.set_num_threads(before)
    return [job.run(progress=False) for job in jobs]
