"""Training data, batch sampling, training loops and the weight cache for the DMBN and MVAE.

The paper trains the DMBN on one interaction per step for 10^6 steps (Appendix C). Here every step
samples ``batch_size`` interactions; each gets its own ``n ~ U{1..obs_max}`` observations, its own
blending coefficient ``p ~ U(0, 1)`` and ``targets_per_sample`` target times (the paper: 1). All
randomness comes from a torch generator derived from the seed, so a run is reproducible on one machine.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from sensorimotor.cache import cache_path, load_torch, save_torch
from sensorimotor.dmbn.model import DMBN, DMBNSpec, Observations, gaussian_nll, image_stack_for
from sensorimotor.dmbn.mvae import MASK_SCHEMES, MVAE, apply_masks, mvae_loss
from sensorimotor.progress import progress_bar
from sensorimotor.seeding import rng, torch_generator

# ---------------------------------------------------------------------------------------------------
# data


@dataclasses.dataclass(frozen=True)
class JointScaler:
    """Per-dimension affine map of joints to [-1, 1] from the training set's min and max.

    The MVAE's mask value -2 then lies outside the data range, as in Zambelli et al. (2020); the DMBN
    sees the same units. Constant dimensions keep a unit range.
    """

    low: tuple[float, ...]
    high: tuple[float, ...]

    @classmethod
    def fit(cls, joints: np.ndarray) -> JointScaler:
        flat = np.asarray(joints, dtype=np.float64).reshape(-1, np.shape(joints)[-1])
        if not np.isfinite(flat).all():
            raise ValueError("joints contain NaN or inf; cannot fit a scaler")
        return cls(tuple(flat.min(0).tolist()), tuple(flat.max(0).tolist()))

    def _arrays(self) -> tuple[np.ndarray, np.ndarray]:
        low, high = np.asarray(self.low), np.asarray(self.high)
        span = np.where(high - low > 1e-8, high - low, 1.0)
        return low, span

    def transform(self, joints: np.ndarray) -> np.ndarray:
        low, span = self._arrays()
        return ((np.asarray(joints) - low) / span * 2.0 - 1.0).astype(np.float32)

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        low, span = self._arrays()
        return ((np.asarray(scaled) + 1.0) / 2.0 * span + low).astype(np.float32)

    def to_dict(self) -> dict[str, list[float]]:
        return {"low": list(self.low), "high": list(self.high)}


def resize_images(images: np.ndarray, size: int) -> np.ndarray:
    """Resize uint8 images ``(..., H, W, 3)`` to ``size`` x ``size`` (area average; antialiased bilinear
    when the factor is not an integer). Returns uint8 of the same leading shape."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim < 3 or images.shape[-1] != 3:
        raise ValueError(f"expected uint8 images (..., H, W, 3), got {images.dtype} {images.shape}")
    h, w = images.shape[-3:-1]
    if (h, w) == (size, size):
        return images
    lead = images.shape[:-3]
    x = torch.from_numpy(images.reshape(-1, h, w, 3)).permute(0, 3, 1, 2).float()
    out = []
    for start in range(0, x.shape[0], 512):
        chunk = x[start : start + 512]
        if h % size == 0 and w % size == 0:
            out.append(F.adaptive_avg_pool2d(chunk, size))
        else:
            out.append(F.interpolate(chunk, size=(size, size), mode="bilinear", antialias=True, align_corners=False))
    y = torch.cat(out).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1)
    return y.reshape(*lead, size, size, 3).numpy()


def network_view(images: np.ndarray, size: int, window: Sequence[float] = (0.0, 0.0, 1.0)) -> np.ndarray:
    """What the networks see of rendered uint8 frames ``(..., H, W, 3)``: the square ``window`` = (top, left,
    side) as fractions of the frame, resized to ``size`` x ``size`` (:func:`resize_images`).

    A window that leaves the frame, or a side of zero, is refused with the value named.
    """
    top, left, side = (float(v) for v in window)
    if not (0.0 <= top and 0.0 <= left and 0.0 < side and top + side <= 1.0 + 1e-9 and left + side <= 1.0 + 1e-9):
        raise ValueError(f"view window (top, left, side) = {tuple(window)} must lie inside the frame: "
                         "0 <= top, 0 <= left, 0 < side, top + side <= 1 and left + side <= 1")
    images = np.asarray(images)
    h, w = images.shape[-3:-1]
    r0, c0 = int(round(top * h)), int(round(left * w))
    n = min(int(round(side * min(h, w))), h - r0, w - c0)
    return resize_images(np.ascontiguousarray(images[..., r0 : r0 + n, c0 : c0 + n, :]), size)


@dataclasses.dataclass
class SequenceData:
    """Interactions ready for training: uint8 images ``(N, T, 3, H, W)``, scaled joints ``(N, T, D)``,
    normalised times ``(T,)``."""

    images: torch.Tensor
    joints: torch.Tensor
    t: torch.Tensor

    @classmethod
    def from_arrays(cls, images: np.ndarray, joints: np.ndarray, t: np.ndarray, scaler: JointScaler) -> SequenceData:
        images = np.asarray(images)
        if images.ndim != 5 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"images must be uint8 (N, T, H, W, 3), got {images.dtype} {images.shape}")
        joints = np.asarray(joints)
        if joints.shape[:2] != images.shape[:2] or joints.ndim != 3:
            raise ValueError(f"joints {joints.shape} do not match images {images.shape[:2]} (N, T, D)")
        if np.shape(t) != (images.shape[1],):
            raise ValueError(f"t has shape {np.shape(t)}, expected ({images.shape[1]},)")
        return cls(
            torch.from_numpy(np.ascontiguousarray(images.transpose(0, 1, 4, 2, 3))),
            torch.from_numpy(scaler.transform(joints)),
            torch.as_tensor(np.asarray(t, dtype=np.float32)),
        )

    @property
    def n(self) -> int:
        return self.images.shape[0]

    @property
    def steps(self) -> int:
        return self.images.shape[1]

    def subset(self, index: Sequence[int] | np.ndarray) -> SequenceData:
        idx = torch.as_tensor(np.asarray(index, dtype=np.int64))
        return SequenceData(self.images[idx], self.joints[idx], self.t)

    def float_images(self, interaction: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        return self.images[interaction, step].float().div_(255.0)


# ---------------------------------------------------------------------------------------------------
# DMBN


@dataclasses.dataclass
class DMBNBatch:
    """Observations, blending weights and, per decoded modality, its target times/rows/values."""

    obs: Observations
    weights: dict[str, torch.Tensor]
    t_target: dict[str, torch.Tensor]
    target_index: dict[str, torch.Tensor]
    targets: dict[str, torch.Tensor]


def sample_dmbn_batch(
    data: SequenceData,
    batch_size: int,
    obs_max: int,
    targets_per_sample: int,
    modalities: Sequence[str],
    generator: torch.Generator,
    decoded: Sequence[str] = ("image", "joint"),
    joint_targets_per_sample: int | None = None,
) -> DMBNBatch:
    """One training batch: for each of ``batch_size`` random interactions, ``n ~ U{1..obs_max}``
    observation steps and further target steps never among the observed ones; ``p ~ U(0, 1)``.

    Images are decoded at ``targets_per_sample`` target steps per interaction, joints at
    ``joint_targets_per_sample`` (default: the same number; the joint decoder is cheap, so more joint
    targets per step buy a denser joint signal for almost nothing). The first
    ``min(image, joint)`` targets are shared by both modalities, as in the paper.
    """
    k_joint = targets_per_sample if joint_targets_per_sample is None else joint_targets_per_sample
    k_max = max(targets_per_sample if "image" in decoded else 0, k_joint if "joint" in decoded else 0)
    if targets_per_sample < 1 or k_joint < 1:
        raise ValueError(f"targets_per_sample={targets_per_sample} and joint_targets_per_sample={k_joint} must be >= 1")
    if obs_max + k_max > data.steps:
        raise ValueError(f"obs_max + targets per sample = {obs_max + k_max} > {data.steps} time steps")
    b = batch_size
    interaction = torch.randint(0, data.n, (b,), generator=generator)
    n = torch.randint(1, obs_max + 1, (b,), generator=generator)
    order = torch.rand(b, data.steps, generator=generator).argsort(dim=1)
    obs_cols = torch.arange(obs_max)
    keep = obs_cols[None, :] < n[:, None]
    obs_batch = torch.arange(b)[:, None].expand(b, obs_max)[keep]
    obs_step = order[:, :obs_max][keep]
    obs_inter = interaction[obs_batch]
    values = {}
    if "image" in modalities:
        values["image"] = data.float_images(obs_inter, obs_step)
    if "joint" in modalities:
        values["joint"] = data.joints[obs_inter, obs_step]
    obs = Observations(data.t[obs_step], obs_batch, values, b)
    t_target, target_index, targets = {}, {}, {}
    for modality, k in (("image", targets_per_sample), ("joint", k_joint)):
        if modality not in decoded:
            continue
        # the n-th..(n+k-1)-th entries of each permutation: never an observed step
        cols = n[:, None] + torch.arange(k)[None, :]
        step = order.gather(1, cols).reshape(-1)
        rows = torch.arange(b).repeat_interleave(k)
        inter = interaction[rows]
        t_target[modality], target_index[modality] = data.t[step], rows
        targets[modality] = data.float_images(inter, step) if modality == "image" else data.joints[inter, step]
    if len(modalities) == 2:
        p = torch.rand(b, generator=generator)
        weights = {"image": p, "joint": 1.0 - p}
    else:
        weights = {modalities[0]: torch.ones(b)}
    return DMBNBatch(obs, weights, t_target, target_index, targets)


@dataclasses.dataclass
class TrainResult:
    """What a training run leaves behind besides the weights."""

    steps: int
    seconds: float
    losses: np.ndarray  # (steps,) total loss per step
    snapshots: dict[int, dict[str, np.ndarray]] = dataclasses.field(default_factory=dict)
    from_cache: bool = False

    @property
    def samples_per_second(self) -> float:
        return float("nan") if self.seconds <= 0 else self.steps / self.seconds


SnapshotFn = Callable[[torch.nn.Module], Mapping[str, np.ndarray]]


def train_dmbn(
    model: DMBN,
    data: SequenceData,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    obs_max: int = 5,
    targets_per_sample: int = 1,
    joint_targets_per_sample: int | None = None,
    joint_loss_weight: float = 1.0,
    grad_clip: float | None = None,
    lr_schedule: str = "constant",
    snapshot_steps: Sequence[int] = (),
    snapshot_fn: SnapshotFn | None = None,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> TrainResult:
    """Adam on the summed Gaussian NLL (Eq. 5). ``snapshot_fn(model)`` runs before step ``s`` for each
    ``s`` in ``snapshot_steps`` (``s == steps`` means after the last step)."""
    if steps < 0 or batch_size < 1:
        raise ValueError(f"steps={steps} must be >= 0 and batch_size={batch_size} >= 1")
    generator = torch_generator(seed, "dmbn-batches")
    model.to(device)
    optim = _adam(model, lr)
    scheduler = _scheduler(optim, lr_schedule, steps)
    losses = np.zeros(steps, dtype=np.float32)
    snapshots: dict[int, dict[str, np.ndarray]] = {}
    wanted = set(int(s) for s in snapshot_steps)
    bad = sorted(s for s in wanted if not 0 <= s <= steps)
    if bad:
        raise ValueError(f"snapshot steps {bad} outside 0..{steps}")
    modality_weights = {"image": 1.0, "joint": joint_loss_weight}
    bar = _progress(steps, progress, "DMBN")
    start = time.perf_counter()
    for step in range(steps + 1):
        if step in wanted and snapshot_fn is not None:
            snapshots[step] = {k: np.asarray(v) for k, v in snapshot_fn(model).items()}
            model.train()
        if step == steps:
            break
        model.train()
        batch = sample_dmbn_batch(
            data, batch_size, obs_max, targets_per_sample, model.spec.modalities, generator, model.spec.decoded,
            joint_targets_per_sample,
        )
        rep = model.represent(batch.obs.to(device), {k: v.to(device) for k, v in batch.weights.items()})
        pred = {
            m: model.decode(rep[batch.target_index[m].to(device)], batch.t_target[m].to(device), (m,))[m]
            for m in batch.targets
        }
        loss, _ = gaussian_nll(pred, {k: v.to(device) for k, v in batch.targets.items()}, modality_weights)
        losses[step] = _descend(loss, model, optim, scheduler, grad_clip, f"DMBN loss at step {step} (lr={lr})")
        bar.update(1)
    bar.close()
    model.eval()
    return TrainResult(steps, time.perf_counter() - start, losses, snapshots)


# ---------------------------------------------------------------------------------------------------
# MVAE


def sample_mvae_batch(
    data: SequenceData, batch_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random (interaction, t) pairs with t+1 in range; returns full inputs, targets and one mask scheme each.

    Returns ``(masked_images (B,6,H,W), masked_joints (B,2D), image_pair, joint_pair, scheme (B,))``.
    """
    interaction = torch.randint(0, data.n, (batch_size,), generator=generator)
    step = torch.randint(0, data.steps - 1, (batch_size,), generator=generator)
    image_t, image_t1 = data.float_images(interaction, step), data.float_images(interaction, step + 1)
    joint_t, joint_t1 = data.joints[interaction, step], data.joints[interaction, step + 1]
    scheme = torch.randint(0, len(MASK_SCHEMES), (batch_size,), generator=generator)
    masks = torch.tensor(MASK_SCHEMES, dtype=torch.bool)[scheme]
    masked_images, masked_joints = apply_masks(image_t, joint_t, image_t1, joint_t1, masks)
    return masked_images, masked_joints, torch.cat([image_t, image_t1], 1), torch.cat([joint_t, joint_t1], 1), scheme


def train_mvae(
    model: MVAE,
    data: SequenceData,
    *,
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    grad_clip: float | None = None,
    lr_schedule: str = "constant",
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> TrainResult:
    """Adam on the masked pair-reconstruction MSE (no KL term, as the authors)."""
    if steps < 0 or batch_size < 1:
        raise ValueError(f"steps={steps} must be >= 0 and batch_size={batch_size} >= 1")
    generator = torch_generator(seed, "mvae-batches")
    model.to(device)
    optim = _adam(model, lr)
    scheduler = _scheduler(optim, lr_schedule, steps)
    losses = np.zeros(steps, dtype=np.float32)
    bar = _progress(steps, progress, "MVAE")
    start = time.perf_counter()
    model.train()
    for step in range(steps):
        images, joints, image_pair, joint_pair, _ = sample_mvae_batch(data, batch_size, generator)
        pred = model(images.to(device), joints.to(device))
        loss, _ = mvae_loss(pred, image_pair.to(device), joint_pair.to(device))
        losses[step] = _descend(loss, model, optim, scheduler, grad_clip, f"MVAE loss at step {step} (lr={lr})")
        bar.update(1)
    bar.close()
    model.eval()
    return TrainResult(steps, time.perf_counter() - start, losses)


LR_SCHEDULES = ("constant", "cosine")


def _adam(model: torch.nn.Module, lr: float) -> torch.optim.Adam:
    """Adam with PyTorch's fused kernel: the same update in one pass over the parameters (15-25 % less time
    per DMBN step on one CPU thread, where the per-tensor updates cost a fifth of a step)."""
    return torch.optim.Adam(model.parameters(), lr=lr, fused=True)


def _scheduler(optim: torch.optim.Optimizer, schedule: str, steps: int):
    """``constant`` or ``cosine`` (from lr down to lr/20 over the run); None for constant."""
    if schedule not in LR_SCHEDULES:
        raise ValueError(f"lr_schedule={schedule!r}; accepted: {', '.join(LR_SCHEDULES)}")
    if schedule == "constant" or steps < 1:
        return None
    return torch.optim.lr_scheduler.CosineAnnealingLR(optim, T_max=steps, eta_min=optim.param_groups[0]["lr"] / 20)


def _descend(loss: torch.Tensor, model: torch.nn.Module, optim, scheduler, grad_clip: float | None, what: str) -> float:
    """One optimiser step on ``loss`` (gradient clipping, schedule); returns the loss, which must be finite."""
    optim.zero_grad(set_to_none=True)
    loss.backward()
    if grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    optim.step()
    if scheduler is not None:
        scheduler.step()
    value = float(loss.detach())
    if not np.isfinite(value):
        raise FloatingPointError(f"{what} became {value}; lower the learning rate or set grad_clip")
    return value


def _progress(total: int, enabled: bool, desc: str):
    return progress_bar(total=total, desc=desc, leave=False, progress=enabled)


# ---------------------------------------------------------------------------------------------------
# cache


def cached_training(
    namespace: str,
    key: Mapping[str, Any],
    model: torch.nn.Module,
    train: Callable[[torch.nn.Module], TrainResult],
) -> TrainResult:
    """Load ``model``'s weights cached under ``key`` or train it with ``train(model)`` and cache them.

    The checkpoint holds the state dict, the loss curve, wall time and snapshots (plain tensors only,
    so it loads with ``weights_only=True``).
    """
    path = cache_path(namespace, dict(key), ".pt")
    if path.exists():
        blob = load_torch(path)
        model.load_state_dict(blob["state"])
        model.eval()
        snaps = {int(s): {k: v.numpy() for k, v in d.items()} for s, d in blob["snapshots"].items()}
        return TrainResult(int(blob["steps"]), float(blob["seconds"]), blob["losses"].numpy(), snaps, from_cache=True)
    result = train(model)
    blob = {
        "state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "steps": result.steps,
        "seconds": result.seconds,
        "losses": torch.from_numpy(result.losses),
        "snapshots": {int(s): {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in d.items()}
                      for s, d in result.snapshots.items()},
    }
    save_torch(path, blob)
    return result


# ---------------------------------------------------------------------------------------------------
# building and fitting with the cache (what the chapter calls)


def make_spec(
    *,
    image_size: int,
    joint_dim: int,
    image_width: float = 1.0,
    image_head: Sequence[int] = (16, 8),
    latent_dim: int = 128,
    joint_encoder: Sequence[int] = (32, 64, 64, 128, 128, 256),
    joint_decoder: Sequence[int] = (1024, 512, 216, 128, 32),
    image_sigma: str = "bounded",
    image_only: bool = False,
) -> DMBNSpec:
    """A :class:`DMBNSpec` whose image stack is the paper's, cut to ``image_size`` and scaled by ``image_width``.

    ``image_only`` gives the Section 5.7 ablation: images in, images out, no joint network at all.
    """
    modalities = ("image",) if image_only else ("image", "joint")
    return DMBNSpec(
        image_size=image_size,
        joint_dim=joint_dim,
        latent_dim=latent_dim,
        image_channels=image_stack_for(image_size, image_width),
        image_head=tuple(image_head),
        joint_encoder=tuple(joint_encoder),
        joint_decoder=tuple(joint_decoder),
        modalities=modalities,
        decoded=modalities,
        image_sigma=image_sigma,
    )


def _init_model(cls, spec: DMBNSpec, seed: int):
    """Build a model with weights drawn from ``seed`` without touching the global torch RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(rng(seed, "init").integers(0, 2**62)))
        return cls(spec)


def fit_dmbn(
    spec: DMBNSpec,
    data: SequenceData,
    *,
    data_key: Mapping[str, Any],
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    obs_max: int = 5,
    targets_per_sample: int = 1,
    joint_targets_per_sample: int | None = None,
    joint_loss_weight: float = 1.0,
    grad_clip: float | None = None,
    lr_schedule: str = "constant",
    snapshot_steps: Sequence[int] = (),
    snapshot_fn: SnapshotFn | None = None,
    snapshot_key: Mapping[str, Any] | None = None,
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> tuple[DMBN, TrainResult]:
    """Build a DMBN from ``seed`` and train it on ``data``, or load the cached weights.

    ``data_key`` must identify ``data`` (e.g. the dataset config and the training indices): it is part
    of the cache key together with the spec, every training knob and ``snapshot_key``.
    """
    model = _init_model(DMBN, spec, seed)
    key = {
        "kind": "dmbn", "spec": dataclasses.asdict(spec), "data": dict(data_key), "n": data.n, "steps": steps,
        "batch_size": batch_size, "lr": lr, "seed": seed, "obs_max": obs_max, "targets": targets_per_sample,
        "joint_targets": joint_targets_per_sample,
        "joint_loss_weight": joint_loss_weight, "grad_clip": grad_clip, "lr_schedule": lr_schedule,
        "snapshot_steps": sorted(snapshot_steps),
        "snapshot_key": dict(snapshot_key or {}),
    }  # fmt: skip

    def train(m: torch.nn.Module) -> TrainResult:
        return train_dmbn(
            m, data, steps=steps, batch_size=batch_size, lr=lr, seed=seed, obs_max=obs_max,
            targets_per_sample=targets_per_sample, joint_targets_per_sample=joint_targets_per_sample,
            joint_loss_weight=joint_loss_weight, grad_clip=grad_clip, lr_schedule=lr_schedule,
            snapshot_steps=snapshot_steps, snapshot_fn=snapshot_fn, device=device, progress=progress,
        )  # fmt: skip

    result = cached_training("dmbn-models", key, model, train)
    return model.to(device).eval(), result


def fit_mvae(
    spec: DMBNSpec,
    data: SequenceData,
    *,
    data_key: Mapping[str, Any],
    steps: int,
    batch_size: int,
    lr: float,
    seed: int,
    grad_clip: float | None = None,
    lr_schedule: str = "constant",
    device: torch.device | str = "cpu",
    progress: bool = False,
) -> tuple[MVAE, TrainResult]:
    """Build the MVAE baseline from ``seed`` and train it on ``data``, or load the cached weights."""
    model = _init_model(MVAE, spec, seed)
    key = {
        "kind": "mvae", "spec": dataclasses.asdict(spec), "data": dict(data_key), "n": data.n, "steps": steps,
        "batch_size": batch_size, "lr": lr, "seed": seed, "grad_clip": grad_clip, "lr_schedule": lr_schedule,
    }  # fmt: skip

    def train(m: torch.nn.Module) -> TrainResult:
        return train_mvae(m, data, steps=steps, batch_size=batch_size, lr=lr, seed=seed, grad_clip=grad_clip,
                          lr_schedule=lr_schedule, device=device, progress=progress)

    result = cached_training("dmbn-models", key, model, train)
    return model.to(device).eval(), result


def index_key(index: Sequence[int] | np.ndarray) -> str:
    """A short stable hash of a list of indices (for cache keys of training subsets)."""
    import hashlib

    return hashlib.sha256(np.asarray(index, dtype=np.int64).tobytes()).hexdigest()[:16]
