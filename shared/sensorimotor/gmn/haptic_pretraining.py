"""Label-free pretraining of a GMN's haptic representation network (a departure from the paper, issue 30).

The network, summed over 1..``max_context`` grasps of a training scene as in the GMN, is trained as a
deterministic neural process: an MLP reads the summed representation and a target grasp's query and
predicts that grasp's sense (mean squared error on other grasps of the same scene; no shape labels).
:func:`pretraining_job` trains it as a job of :mod:`sensorimotor.jobs`; the M = 2 models of the chapter
then start from the pretrained weights (:mod:`sensorimotor.gmn.training`), both schemes of a seed from
the same ones. :func:`grasp_prediction_errors` measures on held-out scenes whether the encoder reads
grasps: a scene's own grasps predict its other grasps better than another scene's do.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from sensorimotor.gmn.model import GMN, GMNArch, HapticRepresentation, ModalitySpec
from sensorimotor.gmn.scenes import Modality, SceneDatasetConfig, modality_split, scene_dataset
from sensorimotor.gmn.shape_probe import grasps
from sensorimotor.jobs import Job, load_result
from sensorimotor.seeding import rng as make_rng

NAMESPACE = "gmn-haptic-encoders"


@dataclasses.dataclass(frozen=True)
class HapticPretraining:
    """How the haptic representation network is pretrained (Adam on the neural process's squared error)."""

    steps: int
    batch_size: int = 32
    lr: float = 1e-3
    n_targets: int = 8  # grasps of the scene predicted per step
    max_context: int = 7  # context grasps drawn from U{1..max_context} per step
    hidden: int = 256  # the decoder MLP's width

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "n_targets", "max_context", "hidden"):
            if getattr(self, name) < 1:
                raise ValueError(f"HapticPretraining.{name} must be >= 1, got {getattr(self, name)!r}")
        if not (np.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"HapticPretraining.lr must be a finite number > 0, got {self.lr!r}")


class GraspProcess(nn.Module):
    """A deterministic neural process over grasps: summed encoder representation + target query -> target sense."""

    def __init__(self, encoder: HapticRepresentation, query_dim: int, sense_dim: int, hidden: int) -> None:
        super().__init__()
        self.encoder = encoder
        width = encoder.r * encoder.grid[0] * encoder.grid[1]
        self.decoder = nn.Sequential(nn.Linear(width + query_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                     nn.Linear(hidden, sense_dim))  # fmt: skip

    def represent(self, sense: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """(n, g, d) senses and (n, g, q) queries of g context grasps per scene -> (n, width) summed representation."""
        n, g = sense.shape[:2]
        return self.encoder(sense.reshape(n * g, -1), query.reshape(n * g, -1)).reshape(n, g, -1).sum(1)

    def forward(self, rep: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """(n, width) representations and (n, t, q) target queries -> (n, t, d) predicted senses."""
        n, t = query.shape[:2]
        return self.decoder(torch.cat([rep.unsqueeze(1).expand(n, t, -1), query], dim=2))


def haptic_modality(modalities: Sequence[Modality]) -> Modality:
    """The one haptic modality of a split (a ValueError when there is none or several)."""
    found = [m for m in modalities if m.kind == "haptic"]
    if len(found) != 1:
        raise ValueError(f"haptic pretraining needs exactly one haptic modality, got {[m.name for m in found]}")
    return found[0]


def grasp_process(modalities: Sequence[Modality], arch: GMNArch, seed: int, hidden: int) -> GraspProcess:
    """The neural process around the haptic network a GMN of ``seed`` starts from (its initial weights)."""
    hand = haptic_modality(modalities)
    torch.manual_seed(seed)
    encoder = GMN(modalities, arch, "apoe").representations[hand.name]  # the same network in every scheme
    torch.manual_seed(int(make_rng(seed, "gmn-grasp-process-init").integers(0, 2**62)))
    return GraspProcess(encoder, ModalitySpec.of(hand).query_dim, hand.shape[0], hidden)


def pretrain(process: GraspProcess, data: Mapping[str, np.ndarray], hand: Modality, spec: HapticPretraining, seed: int,
             report: Callable[[int], None] | None = None, every: int = 0) -> list[float]:  # fmt: skip
    """Train ``process`` in place to predict each training scene's other grasps from some of them; the losses.
    ``report(step)`` is called before the first step, every ``every`` steps and after the last."""
    n_scenes, n_views = data["haptics"].shape[:2]
    if spec.max_context + spec.n_targets > n_views:
        raise ValueError(f"max_context + n_targets = {spec.max_context + spec.n_targets} exceeds the {n_views} grasps per scene")
    optimiser = torch.optim.Adam(process.parameters(), spec.lr)
    gen = make_rng(seed, "gmn-grasp-process")
    losses = []
    process.train()
    for step in range(spec.steps):
        if report is not None and (step == 0 or (every and step % every == 0)):
            report(step)
        ids = gen.choice(n_scenes, size=min(spec.batch_size, n_scenes), replace=False)
        count = int(gen.integers(1, spec.max_context + 1))
        order = np.stack([gen.permutation(n_views)[: count + spec.n_targets] for _ in ids])
        sense, query = grasps(data, hand, ids, order)
        loss = ((process(process.represent(sense[:, :count], query[:, :count]), query[:, count:]) - sense[:, count:]) ** 2).mean()
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    process.eval()
    if report is not None:
        report(spec.steps)
    return losses


def pretraining_kwargs(n_modalities: int, image_size: int, arch: GMNArch, data: SceneDatasetConfig, seed: int,
                       spec: HapticPretraining) -> dict[str, Any]:  # fmt: skip
    """The arguments of :func:`pretraining_job` as plain JSON values."""
    return {"n_modalities": n_modalities, "image_size": image_size,
            "arch": {**dataclasses.asdict(arch), "default_grid": list(arch.default_grid)},
            "data": {**dataclasses.asdict(data), "n_parts": list(data.n_parts)}, "seed": seed,
            "spec": dataclasses.asdict(spec)}  # fmt: skip


def pretraining_job(n_modalities: int, image_size: int, arch: Mapping[str, Any], data: Mapping[str, Any], seed: int,
                    spec: Mapping[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Pretrain the haptic network of the GMNs of ``seed`` (a job): the process's weights and its losses."""
    arch_ = GMNArch(**{**arch, "default_grid": tuple(arch["default_grid"])})
    spec_ = HapticPretraining(**spec)
    modalities = modality_split(n_modalities, image_size)
    scenes = scene_dataset(SceneDatasetConfig(**{**data, "n_parts": tuple(data["n_parts"])}), workers=1, progress=False)
    process = grasp_process(modalities, arch_, seed, spec_.hidden)
    losses = pretrain(process, scenes, haptic_modality(modalities), spec_, seed)
    return {"state": {k: v.detach().cpu() for k, v in process.state_dict().items()}, "history": {"loss": losses}}


def as_pretraining_job(kwargs: Mapping[str, Any], name: str = "") -> Job:
    """The job that pretrains (and caches) the haptic network described by :func:`pretraining_kwargs`."""
    return Job(name or f"haptic encoder seed {kwargs['seed']}", "sensorimotor.gmn.haptic_pretraining:pretraining_job",
               dict(kwargs), namespace=NAMESPACE)  # fmt: skip


def load_grasp_process(kwargs: Mapping[str, Any]) -> tuple[GraspProcess, list[float]]:
    """The pretrained process of :func:`pretraining_kwargs` ``kwargs`` (a JobError when it is not trained) and its losses."""
    saved = load_result(as_pretraining_job(kwargs))
    arch = GMNArch(**{**kwargs["arch"], "default_grid": tuple(kwargs["arch"]["default_grid"])})
    process = grasp_process(modality_split(kwargs["n_modalities"], kwargs["image_size"]), arch, kwargs["seed"],
                            kwargs["spec"]["hidden"])  # fmt: skip
    process.load_state_dict(saved["state"])
    process.eval()
    return process, list(saved["history"]["loss"])


def grasp_prediction_errors(process: GraspProcess, data: Mapping[str, np.ndarray], hand: Modality, n_context: int,
                            n_targets: int = 5) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Per held-out scene, the squared error on its last ``n_targets`` grasps predicted from its first ``n_context``
    grasps (own) and from the next scene's first ``n_context`` (other): (own, other), each (n_scenes,)."""
    n_scenes, n_views = data["haptics"].shape[:2]
    if n_scenes < 2 or not 1 <= n_context <= n_views - n_targets or n_targets < 1:
        raise ValueError(f"need >= 2 scenes and 1 <= n_context <= {n_views} - n_targets, n_targets >= 1; "
                         f"got {n_scenes} scenes, n_context={n_context}, n_targets={n_targets}")  # fmt: skip
    sense, query = grasps(data, hand, np.arange(n_scenes), np.tile(np.arange(n_views), (n_scenes, 1)))
    other = np.roll(np.arange(n_scenes), 1)
    with torch.no_grad():
        rep = process.represent(sense[:, :n_context], query[:, :n_context])
        target = sense[:, -n_targets:]
        own = ((process(rep, query[:, -n_targets:]) - target) ** 2).mean((1, 2))
        wrong = ((process(rep[other], query[:, -n_targets:]) - target) ** 2).mean((1, 2))
    return own.numpy(), wrong.numpy()
