"""The GMN chapter's training as declared jobs: its scene sets first, then the haptic pretrainings and the
M = 8 models, then the M = 2 models (which start from the pretrained haptic networks).

The chapter's ``config.py`` returns :func:`declared_jobs` from ``training_jobs``, so that ``replicate``
generates and trains before the notebook runs; the notebook builds the same :func:`model_jobs` and
only loads them (:func:`sensorimotor.gmn.training.run_jobs` finds every model cached).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sensorimotor.gmn.evaluation import sample_modality_masks
from sensorimotor.gmn.model import GMNArch
from sensorimotor.gmn.scenes import SceneDatasetConfig, modality_split
from sensorimotor.gmn.training import MaskedEvaluation, TrainJob, as_job, pretraining_jobs
from sensorimotor.jobs import Job
from sensorimotor.seeding import rng

MISSING_SETTINGS = ("(a) train on 1-2 of 8", "(b) train on 7-8 of 8")


def scene_configs(cfg: Any) -> dict[str, SceneDatasetConfig]:
    """The chapter's scene sets (``train``, ``test``, ``classify``) for a ``GMNConfig``."""
    kw = dict(n_views=cfg.n_views, image_size=cfg.image_size, supersample=cfg.supersample, seed=cfg.seed)
    n_classify = cfg.classify_groups * cfg.classify_group_size
    return {
        "train": SceneDatasetConfig(cfg.n_train_scenes, n_parts=cfg.n_parts, split="train", **kw),
        "test": SceneDatasetConfig(cfg.n_test_scenes, n_parts=cfg.n_parts, split="test", **kw),
        "classify": SceneDatasetConfig(n_classify, n_parts=cfg.classify_parts, split="classify", **kw),
    }


def model_jobs(cfg: Any, device: str = "cpu") -> dict[tuple[str, str, int], TrainJob]:
    """Every model the chapter trains, by ``(setting, scheme, seed)``: the M = 2 pairs (setting "M=2")
    and, for Fig. 5, the M = 8 pairs whose training scenes expose a fixed subset of the modalities."""
    arch = GMNArch(**cfg.arch_dict())
    scenes = scene_configs(cfg)
    jobs = {
        ("M=2", s, sd): TrainJob({}, 2, cfg.image_size, arch, s, cfg.train_spec(sd), scenes["train"], sd,
                                 label=f"M=2 {s} seed {sd}", device=device, haptic_pretraining=cfg.haptic_pretraining())  # fmt: skip
        for sd in cfg.seeds()
        for s in ("baseline", "apoe")
    }
    m8 = len(modality_split(cfg.missing_modalities, cfg.image_size))
    settings = dict(zip(MISSING_SETTINGS, (cfg.missing_limited_sizes, cfg.missing_opposite_sizes), strict=True))
    n_eval = cfg.missing_eval_scenes
    val_full = sample_modality_masks(rng(cfg.seed, "masks-val-full"), n_eval, m8, tuple(range(1, m8 + 1)))
    for setting, sizes in settings.items():
        train_masks = sample_modality_masks(rng(cfg.seed, "masks-train", setting), cfg.n_train_scenes, m8, sizes)
        val_missing = sample_modality_masks(rng(cfg.seed, "masks-val-missing", setting), n_eval, m8, sizes)
        evaluation = MaskedEvaluation(
            scenes["test"], tuple(range(n_eval)), {"val_missing": val_missing, "val_full": val_full}, cfg.max_context,
            cfg.missing_max_targets, cfg.sigma_end, cfg.seed, max(1, cfg.missing_train_steps // cfg.missing_eval_points),
            mask_targets=cfg.missing_mask_targets, eq2=True,
        )  # fmt: skip
        spec8 = dict(steps=cfg.missing_train_steps, batch_size=cfg.missing_batch_size,
                     max_targets=cfg.missing_max_targets, mask_targets=cfg.missing_mask_targets)  # fmt: skip
        for sd in cfg.missing_seed_list():
            for s in ("baseline", "apoe"):
                jobs[(setting, s, sd)] = TrainJob({"sizes": list(sizes)}, cfg.missing_modalities, cfg.image_size, arch, s,
                                                  cfg.train_spec(sd, **spec8), scenes["train"], sd, train_masks, evaluation,
                                                  f"M=8 {s} {setting[:3]} seed {sd}", device=device)  # fmt: skip
    return jobs


def scene_job(name: str, config: SceneDatasetConfig) -> Job:
    """A job that generates (and caches) one scene set; its own entry is only a receipt."""
    plain = {**dataclasses.asdict(config), "n_parts": list(config.n_parts)}
    return Job(f"scenes-{name}", "sensorimotor.gmn.scenes:prepare_scenes", {"config": plain}, namespace="gmn-scene-sets")


def declared_jobs(cfg: Any, device: str = "cpu") -> list[list[Job]]:
    """The chapter's stages: the scene sets; the haptic pretrainings, then the models that do not start from
    them; then the models that do, longest training first within a stage."""
    models = sorted(model_jobs(cfg, device).values(), key=lambda job: -job.spec.steps)
    pretrained = [job for job in models if job.haptic_pretraining is not None]
    plain = [job for job in models if job.haptic_pretraining is None]
    stages = [[scene_job(n, c) for n, c in scene_configs(cfg).items()],
              pretraining_jobs(pretrained) + [as_job(job, job.label) for job in plain],
              [as_job(job, job.label) for job in pretrained]]  # fmt: skip
    return [stage for stage in stages if stage]
