"""The mirror-alignment chapter's training as declared jobs: demonstrations, pretraining, fine-tuning.

The chapter's ``config.py`` returns :func:`declared_jobs` from ``training_jobs``, so that ``replicate``
records the demonstrations, pretrains each seed's U and E and runs every fine-tuning condition before
the notebook runs; the notebook's :func:`~sensorimotor.mirror_align.experiments.pretrain` and
:func:`~sensorimotor.mirror_align.experiments.run_condition` then find them cached (same entries).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sensorimotor.jobs import Job
from sensorimotor.mirror_align.demos import DemoConfig
from sensorimotor.mirror_align.experiments import Condition, condition_job, pretrain_job


def demo_configs(cfg: Any) -> dict[str, DemoConfig]:
    """The layouts of the chapter (``train``, ``test``, ``eval``), as its notebook draws them."""
    common = dict(tasks=cfg.tasks, n_steps=cfg.n_steps, video_frames=cfg.video_frames, image_size=cfg.image_size,
                  video_size=cfg.video_size)  # fmt: skip
    return {
        "train": DemoConfig(n_per_instruction=cfg.n_train_per_instruction, first_seed=1000 * cfg.seed, **common),
        "test": DemoConfig(n_per_instruction=cfg.n_test_per_instruction, first_seed=1000 * cfg.seed + 500, **common),
        "eval": DemoConfig(n_per_instruction=cfg.n_eval_per_instruction, first_seed=1000 * cfg.seed + 700, **common),
    }


def seeds(cfg: Any) -> list[int]:
    """Each seed has its own pretrained U and E."""
    return [cfg.seed * 100 + s for s in range(cfg.n_seeds)]


def conditions(cfg: Any) -> list[Condition]:
    """Every fine-tuning run of the notebook: both arms per seed and order, the text control, the ablations."""
    runs = [Condition(align, cfg.level, float(cfg.tau), s, "policy", o == 0, o)
            for align in (False, True) for s in seeds(cfg) for o in range(cfg.n_orders)]  # fmt: skip
    if cfg.text_control:
        runs += [Condition(True, cfg.level, float(cfg.tau), s, "text", False) for s in seeds(cfg)]
    settings = [(lv, cfg.tau) for lv in cfg.ablation_levels] + [("instruction", t) for t in cfg.ablation_taus]
    for level, tau in settings:
        if (level, tau) != (cfg.level, cfg.tau):
            evaluate = tau not in cfg.unevaluated_taus
            runs += [Condition(True, level, float(tau), s, "policy", evaluate) for s in seeds(cfg)]
    return list({run.name: run for run in runs}.values())


def declared_jobs(cfg: Any, device: str = "cpu") -> list[list[Job]]:
    """Three stages: the demonstrations, each seed's pretraining, then every fine-tuning condition."""
    demos = demo_configs(cfg)
    data_key = {"train": demos["train"].key(), "test": demos["test"].key()}
    record = [
        Job(f"demos-{name}", "sensorimotor.mirror_align.demos:prepare_demonstrations",
            {"config": {**dataclasses.asdict(config), "tasks": list(config.tasks)}}, namespace="mirror-demo-sets")
        for name, config in demos.items()
    ]  # fmt: skip
    pretrain = [pretrain_job(cfg, data_key, s, device, checkpoints=True) for s in seeds(cfg)]
    runs = [condition_job(cfg, c, data_key, demos["eval"], device) for c in conditions(cfg)]
    return [record, pretrain, runs]
