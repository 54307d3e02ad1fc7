"""The experiments of the mirror-alignment chapter, as library functions (the notebook only calls them).

This is the one module of the chapter that joins the models
(:mod:`~sensorimotor.mirror_align.training`) with the task suite's closed-loop rollouts
(:func:`sensorimotor.mirror_align.demos.rollouts`). Every run is cached on disk, keyed by the knobs it depends on.

- :func:`build_models`: U and E for a chapter config and the suite's instructions.
- :func:`pretrain`: U and E trained independently (``lambda_align = 0``): the probed models and the
  common starting point of the joint-training comparison (cached weights).
- :func:`run_condition`: from the pretrained models, joint training with or without alignment for one
  seed / positive level / temperature, then action-recognition accuracy on held-out videos, closed-loop
  success on held-out layouts, and the held-out embeddings in the shared space (cached arrays).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from sensorimotor.cache import cache_path, cached_arrays, load_torch, save_torch
from sensorimotor.mirror_align.alignment import AlignmentHeads
from sensorimotor.mirror_align.demos import DemoConfig, rollouts
from sensorimotor.mirror_align.policy import ARPolicy, PolicySpec
from sensorimotor.mirror_align.tasks import ACTION_DIM, PROPRIO_DIM, instructions
from sensorimotor.mirror_align.training import (
    MirrorData,
    ProbeSpec,
    TrainSpec,
    episode_features,
    policy_controller,
    recognition_accuracy,
    train_mirror,
    train_probe,
)
from sensorimotor.mirror_align.video_text import ActionUnderstanding, ActionUnderstandingSpec
from sensorimotor.seeding import rng as make_rng

EXPERIMENT_VERSION = "1"
ACTION_SCALE = (0.04, 0.04, 0.04, 1.0)  # the suite's max step per axis; the gripper is binary

MODEL_KNOBS = ("video_frames", "width", "embed_dim", "u_channels", "e_channels", "e_strides", "chunk")
TRAIN_KNOBS = ("batch_size", "steps_per_episode", "shift", "lambda_ee")


def build_models(cfg: Any, instruction_texts: tuple[str, ...], seed: int) -> tuple[ActionUnderstanding, ARPolicy]:
    """Fresh U and E (initialised from ``seed``) sized by the chapter config ``cfg``."""
    torch.manual_seed(int(make_rng(seed, "mirror_init").integers(2**31)))
    u = ActionUnderstanding(ActionUnderstandingSpec(
        vocabulary=tuple(instruction_texts), n_frames=cfg.video_frames, channels=tuple(cfg.u_channels),
        width=cfg.width, embed_dim=cfg.embed_dim))  # fmt: skip
    e = ARPolicy(PolicySpec(
        vocabulary=tuple(instruction_texts), proprio_dim=PROPRIO_DIM, action_dim=ACTION_DIM, binary_dims=(3,),
        action_scale=ACTION_SCALE, chunk=cfg.chunk, channels=tuple(cfg.e_channels), strides=tuple(cfg.e_strides),
        width=cfg.width))  # fmt: skip
    return u, e


def _key(cfg: Any, data_key: Mapping[str, Any], *knobs: str, **extra: Any) -> dict[str, Any]:
    return {"version": EXPERIMENT_VERSION, "data": dict(data_key), **cfg.subset(*MODEL_KNOBS, *knobs), **extra}


def pretrain(
    cfg: Any, train: MirrorData, data_key: Mapping[str, Any], device: torch.device, progress: bool = True
) -> tuple[ActionUnderstanding, ARPolicy, dict[str, np.ndarray]]:
    """U and E trained independently on ``train`` (cached); returns them (eval mode) and the loss curves."""
    u, e = build_models(cfg, train.instructions, cfg.seed)
    key = _key(cfg, data_key, *TRAIN_KNOBS, "pretrain_steps", "pretrain_lr", "seed")
    path = cache_path("mirror_pretrain", key, ".pt")
    if path.exists():
        state = load_torch(path)
        u.load_state_dict(state["u"])
        e.load_state_dict(state["e"])
        history = {k: v.numpy() for k, v in state["history"].items()}
    else:
        spec = TrainSpec(steps=cfg.pretrain_steps, batch_size=cfg.batch_size, lr=cfg.pretrain_lr, lambda_align=0.0,
                         lambda_ee=cfg.lambda_ee, steps_per_episode=cfg.steps_per_episode, shift=cfg.shift)  # fmt: skip
        hist = train_mirror(u, e, None, train, spec, cfg.seed, device, progress, desc="pretrain U and E")
        history = {k: np.asarray(v, np.float32) for k, v in hist.items()}
        save_torch(path, {"u": u.state_dict(), "e": e.state_dict(),
                          "history": {k: torch.from_numpy(v) for k, v in history.items()}})  # fmt: skip
    return u.to(device).eval(), e.to(device).eval(), history


def probe(
    cfg: Any, u_train: torch.Tensor, e_train: torch.Tensor, labels: np.ndarray, level: str, tau: float, seed: int
) -> AlignmentHeads:
    """The two linear maps fitted on frozen representations (Sec. 4.2's probing)."""
    spec = ProbeSpec(steps=cfg.probe_steps, batch_size=min(64, len(labels)), lr=cfg.probe_lr, tau=tau, level=level,
                     shared_dim=cfg.shared_dim)  # fmt: skip
    return train_probe(u_train, e_train, labels, spec, seed)


def closed_loop(policy: ARPolicy, eval_config: DemoConfig, execute: int, device, progress: bool = True, desc: str = "closed loop"):
    """Roll the policy out on every episode of ``eval_config`` (arrays as in :func:`rollouts`)."""
    return rollouts(
        eval_config, lambda env, task, v: policy_controller(policy, instructions(task)[v].text, execute, device),
        progress=progress, desc=desc,
    )  # fmt: skip


@dataclasses.dataclass(frozen=True)
class Condition:
    """One joint-training run: alignment on/off, positive level, temperature, seed."""

    align: bool
    level: str
    tau: float
    seed: int

    @property
    def name(self) -> str:
        return f"{'aligned' if self.align else 'baseline'}-{self.level}-tau{self.tau:g}-seed{self.seed}"


def run_condition(
    cfg: Any,
    condition: Condition,
    pretrained: tuple[ActionUnderstanding, ARPolicy],
    train: MirrorData,
    test: MirrorData,
    eval_config: DemoConfig,
    data_key: Mapping[str, Any],
    device: torch.device,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Joint training from the pretrained models and its evaluation (cached arrays).

    Returns ``au_correct`` (N_test,) bool, ``success`` (N_eval,) bool, ``eval_task`` (N_eval,),
    ``z_u`` / ``z_e`` (N_test, shared_dim) held-out embeddings in the shared space (the run's own heads
    when aligned; a probe fitted on its frozen features otherwise), and the loss curves.
    """
    key = _key(cfg, data_key, *TRAIN_KNOBS, "pretrain_steps", "pretrain_lr", "finetune_steps", "finetune_lr",
               "align_lr", "lambda_align", "probe_steps", "probe_lr", "probe_k", "shared_dim", "execute",
               "seed", eval=dataclasses.asdict(eval_config), condition=dataclasses.asdict(condition))  # fmt: skip

    def make() -> dict[str, np.ndarray]:
        u, e = copy.deepcopy(pretrained[0]), copy.deepcopy(pretrained[1])
        u_tr, e_tr = episode_features(u, e, train, cfg.probe_k, device=device)
        heads = probe(cfg, u_tr, e_tr, train.labels(condition.level).numpy(), condition.level, condition.tau,
                      condition.seed)  # fmt: skip
        spec = TrainSpec(
            steps=cfg.finetune_steps, batch_size=cfg.batch_size, lr=cfg.finetune_lr, align_lr=cfg.align_lr,
            lambda_ee=cfg.lambda_ee, lambda_align=cfg.lambda_align if condition.align else 0.0, tau=condition.tau,
            level=condition.level, steps_per_episode=cfg.steps_per_episode, shift=cfg.shift,
        )
        hist = train_mirror(u, e, heads if condition.align else None, train, spec, condition.seed, device, progress,
                            desc=condition.name)  # fmt: skip
        if not condition.align:  # the shared space of an unaligned pair is the probe's, refitted after training
            u_tr, e_tr = episode_features(u, e, train, cfg.probe_k, device=device)
            heads = probe(cfg, u_tr, e_tr, train.labels(condition.level).numpy(), condition.level, condition.tau,
                          condition.seed)  # fmt: skip
        u_te, e_te = episode_features(u, e, test, cfg.probe_k, device=device)
        with torch.no_grad():
            z_u, z_e = heads.cpu()(u_te.cpu(), e_te.cpu())
        ev = closed_loop(e, eval_config, cfg.execute, device, progress, desc=f"{condition.name} closed loop")
        return {
            "au_correct": recognition_accuracy(u, test, device),
            "success": ev["success"],
            "eval_task": ev["task"],
            "z_u": z_u.numpy(),
            "z_e": z_e.numpy(),
            **{f"loss_{k}": np.asarray(v, np.float32) for k, v in hist.items()},
        }

    return cached_arrays("mirror_runs", key, make)
