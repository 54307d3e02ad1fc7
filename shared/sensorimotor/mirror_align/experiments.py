"""The experiments of the mirror-alignment chapter, as library functions (the notebook only calls them).

This is the one module of the chapter that joins the models
(:mod:`~sensorimotor.mirror_align.training`) with the task suite's closed-loop rollouts
(:func:`sensorimotor.mirror_align.demos.rollouts`). Every run is cached on disk, keyed by the knobs it depends on.

- :func:`build_models`: U and E for a chapter config and the suite's instructions.
- :func:`pretrain`: U and E trained independently (``lambda_align = 0``) from one seed: the probed
  models and that seed's common starting point of the joint-training comparison (cached weights).
- :func:`closed_loop`: a key-frame policy rolled out on held-out layouts; :func:`pretrained_closed_loop`
  caches it for a seed's pretrained E.
- :func:`run_condition`: from a seed's pretrained models, joint training with or without alignment for
  one positive level / temperature / alignment target, then action-recognition accuracy on held-out
  videos, closed-loop success on held-out layouts (paired: every condition meets the same layouts) and
  the held-out embeddings in the shared space (cached arrays).
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from sensorimotor.cache import cached_arrays, load_arrays, load_torch, save_arrays, save_torch
from sensorimotor.jobs import Job
from sensorimotor.mirror_align.alignment import AlignmentHeads
from sensorimotor.mirror_align.demos import DemoConfig, demonstrations, rollouts
from sensorimotor.mirror_align.policy import KeyframePolicy, PolicySpec
from sensorimotor.mirror_align.tasks import instructions
from sensorimotor.mirror_align.training import (
    MirrorData,
    ProbeSpec,
    TrainSpec,
    episode_features,
    localisation_errors,
    policy_decider,
    recognition_accuracy,
    train_mirror,
    train_probe,
)
from sensorimotor.mirror_align.video_text import ActionUnderstanding, ActionUnderstandingSpec
from sensorimotor.seeding import rng as make_rng

EXPERIMENT_VERSION = "3"

MODEL_KNOBS = ("video_frames", "image_size", "width", "embed_dim", "u_channels", "u_norm_groups", "e_channels")
TRAIN_KNOBS = ("batch_size", "steps_per_episode", "shift", "e_shift", "lambda_ee", "pretrain_steps", "pretrain_lr",
               "pretrain_e_lr")
RUN_KNOBS = ("finetune_steps", "finetune_lr", "align_lr", "lambda_align", "probe_steps", "probe_lr", "shared_dim")


class Knobs:
    """A chapter config's knobs as plain values (what a job's worker gets): attributes and ``subset``."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(name) from None

    def subset(self, *names: str) -> dict[str, Any]:
        return {n: self._values[n] for n in names}


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _demo_config(key: Mapping[str, Any]) -> DemoConfig:
    fields = {f.name for f in dataclasses.fields(DemoConfig)}
    config = DemoConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in key.items() if k in fields})
    if config.key() != {**key, "tasks": config.tasks}:
        raise ValueError(f"demonstrations {dict(key)!r} were recorded by another version: {config.key()!r}")
    return config


def chapter_data(data_key: Mapping[str, Any]) -> tuple[MirrorData, MirrorData]:
    """The training (successful demonstrations only) and held-out data of ``data_key`` (as the chapter builds them)."""
    train_arrays = demonstrations(_demo_config(data_key["train"]))
    test_arrays = demonstrations(_demo_config(data_key["test"]))
    return MirrorData.from_arrays(train_arrays, np.flatnonzero(train_arrays["success"])), MirrorData.from_arrays(test_arrays)


def _gpus(device: str) -> int:
    return 1 if device.startswith("cuda") else 0


def pretrain_job(cfg: Any, data_key: Mapping[str, Any], seed: int, device: str, checkpoints: bool) -> Job:
    """The job (and cache entry) of :func:`pretrain` for ``seed``; ``checkpoints``: with held-out marks."""
    knobs = cfg.subset(*MODEL_KNOBS, *TRAIN_KNOBS, *(("checkpoint_every",) if checkpoints else ()))
    kwargs = {"knobs": knobs, "data": dict(data_key), "seed": seed, "device": device, "checkpoints": checkpoints,
              "version": EXPERIMENT_VERSION}  # fmt: skip
    return Job(f"pretrain-seed{seed}", "sensorimotor.mirror_align.experiments:pretrained_weights", _plain(kwargs),
               namespace="mirror_pretrain", gpus=_gpus(device))  # fmt: skip


def pretrained_weights(
    knobs: Mapping[str, Any], data: Mapping[str, Any], seed: int, device: str, checkpoints: bool, version: str
) -> dict[str, Any]:
    """A job's worker: pretrain U and E for ``seed`` (see :func:`pretrain`); the checkpoint it caches."""
    train, test = chapter_data(data)
    return _pretrain_blob(Knobs(knobs), train, seed, torch.device(device), test if checkpoints else None)


def build_models(cfg: Any, instruction_texts: tuple[str, ...], seed: int) -> tuple[ActionUnderstanding, KeyframePolicy]:
    """Fresh U and E (initialised from ``seed``) sized by the chapter config ``cfg``."""
    torch.manual_seed(int(make_rng(seed, "mirror_init").integers(2**31)))
    u = ActionUnderstanding(ActionUnderstandingSpec(
        vocabulary=tuple(instruction_texts), n_frames=cfg.video_frames, channels=tuple(cfg.u_channels),
        width=cfg.width, embed_dim=cfg.embed_dim, norm_groups=cfg.u_norm_groups))  # fmt: skip
    e = KeyframePolicy(PolicySpec(vocabulary=tuple(instruction_texts), image_size=cfg.image_size,
                                  channels=tuple(cfg.e_channels), width=cfg.width))  # fmt: skip
    return u, e


def _key(cfg: Any, data_key: Mapping[str, Any], *knobs: str, **extra: Any) -> dict[str, Any]:
    return {"version": EXPERIMENT_VERSION, "data": dict(data_key), **cfg.subset(*MODEL_KNOBS, *knobs), **extra}


def initial_spread(understanding: ActionUnderstanding, videos: torch.Tensor) -> float:
    """Mean over pairs of ``videos`` of 1 - cos between U's features ``u``: 0 when U maps every video to
    the same feature (issue 31 measured 6-9e-6 at initialisation without normalisation)."""
    with torch.no_grad():
        f = torch.nn.functional.normalize(understanding.eval().features(videos), dim=-1)
    n = f.shape[0]
    off = ~torch.eye(n, dtype=torch.bool)
    return float((1 - f @ f.T)[off].mean())


def pretrain(
    cfg: Any, train: MirrorData, data_key: Mapping[str, Any], seed: int, device: torch.device,
    test: MirrorData | None = None,
) -> tuple[ActionUnderstanding, KeyframePolicy, dict[str, np.ndarray]]:
    """U and E trained independently on ``train`` from ``seed`` (cached); returns them (eval mode) and
    the loss curves. With ``test`` (the held-out videos), the history also holds, every
    ``cfg.checkpoint_every`` steps, U's held-out recognition (``heldout_recognition``) and E's median
    error of its first key-frame on the held-out episodes (``heldout_error_cm``), at ``checkpoint_step``;
    and U's initial feature spread over the first 16 held-out videos (``initial_spread``)."""
    u, e = build_models(cfg, train.instructions, seed)
    path = pretrain_job(cfg, data_key, seed, torch.device(device).type, test is not None).path()
    state = load_torch(path) if path.exists() else None
    if state is None:
        state = _pretrain_blob(cfg, train, seed, device, test)
        save_torch(path, state)
    u.load_state_dict(state["u"])
    e.load_state_dict(state["e"])
    history = {k: v.numpy() for k, v in state["history"].items()}
    return u.to(device).eval(), e.to(device).eval(), history


def _pretrain_blob(cfg: Any, train: MirrorData, seed: int, device: torch.device, test: MirrorData | None) -> dict[str, Any]:
    """Train U and E from ``seed``: their state dicts and history as tensors (a checkpoint)."""
    u, e = build_models(cfg, train.instructions, seed)
    spec = TrainSpec(steps=cfg.pretrain_steps, batch_size=cfg.batch_size, lr=cfg.pretrain_lr,
                     e_lr=cfg.pretrain_e_lr, lambda_align=0.0,
                     lambda_ee=cfg.lambda_ee, steps_per_episode=cfg.steps_per_episode, shift=cfg.shift,
                     e_shift=cfg.e_shift)  # fmt: skip
    marks: dict[str, list[float]] = {"checkpoint_step": [], "heldout_recognition": [], "heldout_error_cm": []}

    def checkpoint(step: int) -> None:
        marks["checkpoint_step"].append(step)
        marks["heldout_recognition"].append(float(recognition_accuracy(u, test, device).mean()))
        marks["heldout_error_cm"].append(100 * float(np.median(localisation_errors(e, test, 0, device=device))))

    if test is not None:
        marks["initial_spread"] = [initial_spread(u, test.videos[:16].to(device))]
        checkpoint(0)
    hist = train_mirror(u, e, None, train, spec, seed, device, stream="pretrain",
                        every=cfg.checkpoint_every if test is not None else 0, checkpoint=checkpoint)
    history = {k: np.asarray(v, np.float32) for k, v in {**hist, **(marks if test is not None else {})}.items()}
    return {"u": {k: v.detach().cpu() for k, v in u.state_dict().items()},
            "e": {k: v.detach().cpu() for k, v in e.state_dict().items()},
            "history": {k: torch.from_numpy(v) for k, v in history.items()}}  # fmt: skip


def probe(
    cfg: Any, u_train: torch.Tensor, e_train: torch.Tensor, labels: np.ndarray, level: str, tau: float, seed: int
) -> AlignmentHeads:
    """The two linear maps fitted on frozen representations (Sec. 4.2's probing)."""
    spec = ProbeSpec(steps=cfg.probe_steps, batch_size=min(64, len(labels)), lr=cfg.probe_lr, tau=tau, level=level,
                     shared_dim=cfg.shared_dim)  # fmt: skip
    return train_probe(u_train, e_train, labels, spec, seed)


def closed_loop(policy: KeyframePolicy, eval_config: DemoConfig, device) -> dict[str, np.ndarray]:
    """Roll the key-frame policy out on every episode of ``eval_config`` (arrays as in :func:`rollouts`)."""
    return rollouts(eval_config, lambda env, task, v: policy_decider(policy, instructions(task)[v].text, device))


def pretrained_closed_loop(
    cfg: Any, policy: KeyframePolicy, eval_config: DemoConfig, data_key: Mapping[str, Any], seed: int, device
) -> dict[str, np.ndarray]:
    """:func:`closed_loop` of the pretrained E of ``seed`` (cached; key: its training and the layouts)."""
    key = _key(cfg, data_key, *TRAIN_KNOBS, seed=seed, eval=dataclasses.asdict(eval_config))
    return cached_arrays("mirror_pretrained_rollouts", key, lambda: closed_loop(policy, eval_config, device))


@dataclasses.dataclass(frozen=True)
class Condition:
    """One joint-training run: alignment on/off, positive level, temperature, seed."""

    align: bool
    level: str
    tau: float
    seed: int  # the pretraining's and the joint training's seed
    e_source: str = "policy"  # "text": align U with E's instruction encoding only (a control)
    evaluate: bool = True  # roll E out in closed loop (False: recognition and the shared space only)
    order: int = 0  # fine-tuning order: which stream of batches the joint training draws (paired across arms)

    @property
    def stream(self) -> tuple[str, int]:
        """The joint training's batch stream: one per order, shared by the arms of a seed and order."""
        return ("finetune", self.order)

    @property
    def name(self) -> str:
        kind = ("aligned" if self.e_source == "policy" else "text-aligned") if self.align else "baseline"
        return f"{kind}-{self.level}-tau{self.tau:g}-seed{self.seed}-order{self.order}"


def run_condition(
    cfg: Any,
    condition: Condition,
    pretrained: tuple[ActionUnderstanding, KeyframePolicy],
    train: MirrorData,
    test: MirrorData,
    eval_config: DemoConfig,
    data_key: Mapping[str, Any],
    device: torch.device,
) -> dict[str, np.ndarray]:
    """Joint training from the seed's pretrained models and its evaluation (cached arrays).

    Returns ``au_correct`` (N_test,) bool, ``success`` (N_eval,) bool (empty when not evaluated),
    ``eval_task`` (N_eval,), ``z_u`` / ``z_e`` (N_test, shared_dim) held-out embeddings in the shared
    space, and the loss curves. The shared space is like for like in every arm: the same probe (the
    chapter's probe steps and learning rate) refitted on the run's final features; the aligned arm's
    training heads (started from the probe on the pretrained features) only train.

    The joint training's batches come from the stream of (``seed``, ``order``): the arms of one seed and
    order see the same batches; another order, other batches from the same pretrained models.
    """
    path = condition_job(cfg, condition, data_key, eval_config, torch.device(device).type).path()
    if path.exists():
        return load_arrays(path)
    arrays = _condition_arrays(cfg, condition, pretrained, train, test, eval_config, device)
    save_arrays(path, arrays)
    return arrays


def condition_job(
    cfg: Any, condition: Condition, data_key: Mapping[str, Any], eval_config: DemoConfig, device: str
) -> Job:
    """The job (and cache entry) of :func:`run_condition`; it loads the seed's pretrained models
    (:func:`pretrain_job` with held-out marks), so those run first."""
    kwargs = {"knobs": cfg.subset(*MODEL_KNOBS, *TRAIN_KNOBS, *RUN_KNOBS, "checkpoint_every"), "data": dict(data_key),
              "eval": dataclasses.asdict(eval_config), "condition": dataclasses.asdict(condition), "device": device,
              "version": EXPERIMENT_VERSION}  # fmt: skip
    return Job(condition.name, "sensorimotor.mirror_align.experiments:condition_arrays", _plain(kwargs),
               namespace="mirror_runs", suffix=".npz", gpus=_gpus(device))  # fmt: skip


def condition_arrays(
    knobs: Mapping[str, Any], data: Mapping[str, Any], eval: Mapping[str, Any], condition: Mapping[str, Any],
    device: str, version: str,
) -> dict[str, np.ndarray]:
    """A job's worker: :func:`run_condition` from the seed's cached pretrained models."""
    cfg, run = Knobs(knobs), Condition(**condition)
    train, test = chapter_data(data)
    u, e, _ = pretrain(cfg, train, data, run.seed, torch.device(device), test=test)
    eval_config = DemoConfig(**{**eval, "tasks": tuple(eval["tasks"])})
    return _condition_arrays(cfg, run, (u, e), train, test, eval_config, torch.device(device))


def _condition_arrays(
    cfg: Any, condition: Condition, pretrained: tuple[ActionUnderstanding, KeyframePolicy], train: MirrorData,
    test: MirrorData, eval_config: DemoConfig, device: torch.device,
) -> dict[str, np.ndarray]:
    u, e = copy.deepcopy(pretrained[0]), copy.deepcopy(pretrained[1])
    source = condition.e_source
    u_tr, e_tr = episode_features(u, e, train, device=device, e_source=source)
    heads = probe(cfg, u_tr, e_tr, train.labels(condition.level).numpy(), condition.level, condition.tau,
                  condition.seed)  # fmt: skip
    spec = TrainSpec(
        steps=cfg.finetune_steps, batch_size=cfg.batch_size, lr=cfg.finetune_lr, align_lr=cfg.align_lr,
        lambda_ee=cfg.lambda_ee, lambda_align=cfg.lambda_align if condition.align else 0.0, tau=condition.tau,
        level=condition.level, steps_per_episode=cfg.steps_per_episode, shift=cfg.shift, e_shift=cfg.e_shift,
        e_source=source,
    )
    hist = train_mirror(u, e, heads if condition.align else None, train, spec, condition.seed, device,
                        stream=condition.stream)  # the same batches for every condition of a seed and order
    # like for like: every arm's shared space is the same probe refitted on its final features
    u_tr, e_tr = episode_features(u, e, train, device=device, e_source=source)
    heads = probe(cfg, u_tr, e_tr, train.labels(condition.level).numpy(), condition.level, condition.tau,
                  condition.seed)  # fmt: skip
    u_te, e_te = episode_features(u, e, test, device=device, e_source=source)
    with torch.no_grad():
        z_u, z_e = heads.cpu()(u_te.cpu(), e_te.cpu())
    ev = closed_loop(e, eval_config, device) if condition.evaluate else {"success": np.zeros(0, bool),
                                                                         "task": np.zeros(0, np.int64)}
    return {
        "au_correct": recognition_accuracy(u, test, device),
        "success": ev["success"],
        "eval_task": ev["task"],
        "z_u": z_u.numpy(),
        "z_e": z_e.numpy(),
        **{f"loss_{k}": np.asarray(v, np.float32) for k, v in hist.items()},
    }


def per_case_difference(a: np.ndarray, b: np.ndarray, scale: float = 100.0) -> np.ndarray:
    """Per-case paired differences ``scale * (a - b)`` of two arms' 0/1 outcomes on the same cases; with
    2-D inputs (runs, cases), the mean over runs of each case's difference (one value per case)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"need two paired outcome arrays of one shape, got {a.shape} and {b.shape}")
    d = scale * (a - b)
    return d.mean(0) if d.ndim == 2 else d


def paired_difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean and standard error (both in points) of ``a - b`` over paired outcomes (0/1 arrays of one
    shape, e.g. two policies' successes on the same held-out episodes, pooled over seeds)."""
    a, b = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if a.shape != b.shape or a.size < 2:
        raise ValueError(f"need two paired outcome arrays of one shape with >= 2 entries, got {a.shape} and {b.shape}")
    d = 100.0 * (a - b)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


def within_task_gaps(similarity: np.ndarray, success: np.ndarray, task: np.ndarray) -> dict[int, float]:
    """Per task that has both outcomes: mean similarity of its successful episodes minus that of its
    failed ones ({task id: gap})."""
    similarity, success, task = np.asarray(similarity, float), np.asarray(success, bool), np.asarray(task)
    return {int(t): float(similarity[(task == t) & success].mean() - similarity[(task == t) & ~success].mean())
            for t in np.unique(task) if success[task == t].any() and (~success[task == t]).any()}  # fmt: skip


def within_task_difference(similarity: np.ndarray, success: np.ndarray, task: np.ndarray) -> tuple[float | None, int]:
    """Mean over tasks of (mean similarity of a task's successful episodes - that of its failed ones),
    over the tasks that have both; returns it (None when no task has both) and the number of such tasks."""
    similarity, success, task = np.asarray(similarity, float), np.asarray(success, bool), np.asarray(task)
    gaps = [similarity[(task == t) & success].mean() - similarity[(task == t) & ~success].mean()
            for t in np.unique(task) if success[task == t].any() and (~success[task == t]).any()]  # fmt: skip
    return (float(np.mean(gaps)) if gaps else None), len(gaps)
