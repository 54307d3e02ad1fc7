"""Training and evaluation loops of the mirror-alignment chapter (Zhu et al. 2025).

One loop, :func:`train_mirror`, trains the action-understanding model U, the policy E and (optionally)
the alignment heads together on the paper's loss::

    L = L_AU + lambda_EE * L_EE + lambda_align * L_align

``lambda_align = 0`` (or no heads) is the baseline: U and E share no parameter, so the loop then trains
them independently on the same batches. Every step draws ``batch_size`` episodes for U (video +
instruction text) and, for each, a partner episode for E chosen by the positive level (the same episode,
another episode of the same instruction, or of the same task class); E's loss is behaviour cloning on
``steps_per_episode`` random time steps of each partner, and E's episode representation is the mean of
its step representations. The alignment heads have their own learning rate (the paper: 1e-4).

Probing (:func:`train_probe`) freezes U and E, computes their representations once, and trains only the
two linear maps. :func:`recall_at_1` (from :mod:`sensorimotor.mirror_align.alignment`) measures alignment.

Data come as a :class:`MirrorData` (tensors of recorded episodes, see :mod:`sensorimotor.mirror_align.demos`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from sensorimotor.mirror_align.alignment import AlignmentHeads, check_level, check_tau, sample_partners
from sensorimotor.mirror_align.policy import ARPolicy
from sensorimotor.mirror_align.video_text import ActionUnderstanding
from sensorimotor.progress import track
from sensorimotor.seeding import rng as make_rng


@dataclasses.dataclass
class MirrorData:
    """Recorded episodes as tensors (all on CPU; batches are moved to the device when drawn).

    videos: uint8 (N, F, H, W, 3), the observer's third-person camera;
    obs: uint8 (N, T, H, W, 3), the robot's own camera at each decision step;
    proprio: float32 (N, T, P); actions: float32 (N, T, A), the expert's action at each step;
    instruction / task / episode: int64 (N,) labels; instructions: texts indexed by instruction id.
    """

    videos: torch.Tensor
    obs: torch.Tensor
    proprio: torch.Tensor
    actions: torch.Tensor
    instruction: torch.Tensor
    task: torch.Tensor
    episode: torch.Tensor
    instructions: tuple[str, ...]

    def __post_init__(self) -> None:
        n = self.videos.shape[0]
        for name in ("obs", "proprio", "actions", "instruction", "task", "episode"):
            if getattr(self, name).shape[0] != n:
                raise ValueError(f"MirrorData.{name} has {getattr(self, name).shape[0]} episodes, videos has {n}")
        if self.obs.shape[1] != self.actions.shape[1] or self.proprio.shape[1] != self.actions.shape[1]:
            raise ValueError("obs, proprio and actions must have the same number of steps")
        if n and int(self.instruction.max()) >= len(self.instructions):
            raise ValueError("an instruction id has no text in MirrorData.instructions")

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], index: np.ndarray | None = None) -> MirrorData:
        """From the dict of :func:`sensorimotor.mirror_align.demos.demonstrations` (optionally a subset)."""
        idx = np.arange(len(arrays["instruction"])) if index is None else np.asarray(index)
        t = {k: torch.from_numpy(np.ascontiguousarray(arrays[k][idx])) for k in
             ("videos", "obs", "proprio", "actions", "instruction", "task")}  # fmt: skip
        return cls(
            videos=t["videos"], obs=t["obs"], proprio=t["proprio"].float(), actions=t["actions"].float(),
            instruction=t["instruction"].long(), task=t["task"].long(), episode=torch.from_numpy(idx).long(),
            instructions=tuple(str(s) for s in arrays["instruction_texts"]),
        )

    def __len__(self) -> int:
        return self.videos.shape[0]

    @property
    def n_steps(self) -> int:
        return self.actions.shape[1]

    def labels(self, level: str) -> torch.Tensor:
        return {"episode": self.episode, "instruction": self.instruction, "task": self.task}[check_level(level)]


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """Knobs of :func:`train_mirror` (paper values in the comments, Section 4)."""

    steps: int = 1000
    batch_size: int = 32
    lr: float = 3e-4
    align_lr: float = 1e-4  # paper: 1e-4
    lambda_ee: float = 1.0  # paper: 1
    lambda_align: float = 0.5  # paper: 0.5 (0 = baseline without alignment)
    tau: float = 0.1  # paper: 0.1
    level: str = "instruction"  # paper's default positives
    steps_per_episode: int = 2
    weight_decay: float = 1e-4
    shift: int = 0  # random-shift augmentation of every image and video (pixels; 0 = none)

    def __post_init__(self) -> None:
        check_level(self.level)
        check_tau(self.tau)
        if self.steps < 0 or self.batch_size < 2 or self.steps_per_episode < 1:
            raise ValueError(f"need steps >= 0, batch_size >= 2, steps_per_episode >= 1 (got {self})")


def chunk_batch(data: MirrorData, episodes: np.ndarray, times: np.ndarray, chunk: int):
    """Images (M, H, W, 3), proprio (M, P), actions (M, chunk, A) at (episode, time) pairs.

    Steps past the end of an episode repeat its last action (the recorded episodes end at rest).
    """
    ep = torch.as_tensor(episodes, dtype=torch.long)
    tt = torch.as_tensor(times, dtype=torch.long)
    steps = (tt[:, None] + torch.arange(chunk)[None]).clamp(max=data.n_steps - 1)
    return data.obs[ep, tt], data.proprio[ep, tt], data.actions[ep[:, None], steps]


def random_shift(images: torch.Tensor, pad: int, generator: np.random.Generator) -> torch.Tensor:
    """Shift each sample's images (B, ..., H, W, 3) by up to ``pad`` pixels (edge padding, one shift per
    sample: all frames of a video move together)."""
    if pad <= 0:
        return images
    b, h, w = images.shape[0], images.shape[-3], images.shape[-2]
    lead = images.ndim - 4  # extra dims between batch and (H, W, 3), e.g. frames
    x = images.reshape(b, -1, h, w, 3).permute(0, 1, 4, 2, 3).reshape(b, -1, h, w).float()
    x = torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="replicate")
    offsets = generator.integers(0, 2 * pad + 1, size=(b, 2))
    out = torch.stack([x[i, :, dy : dy + h, dx : dx + w] for i, (dy, dx) in enumerate(offsets)])
    out = out.reshape(b, -1, 3, h, w).permute(0, 1, 3, 4, 2).to(images.dtype)
    return out.reshape(b, *images.shape[1 : 1 + lead], h, w, 3) if lead else out.reshape(b, h, w, 3)


def _text_ids(model, texts: Sequence[str]) -> torch.Tensor:
    return model.tokenizer.encode(list(texts))


def train_mirror(
    understanding: ActionUnderstanding,
    policy: ARPolicy,
    heads: AlignmentHeads | None,
    data: MirrorData,
    spec: TrainSpec,
    seed: int,
    device: torch.device | str = "cpu",
    progress: bool = True,
    desc: str = "train",
) -> dict[str, list[float]]:
    """Train U, E (and the heads when ``spec.lambda_align > 0``) in place; returns per-step losses."""
    device = torch.device(device)
    understanding.to(device).train()
    policy.to(device).train()
    align = heads is not None and spec.lambda_align > 0
    groups = [{"params": [*understanding.parameters(), *policy.parameters()], "lr": spec.lr}]
    if align:
        heads.to(device).train()
        groups.append({"params": list(heads.parameters()), "lr": spec.align_lr})
    optimiser = torch.optim.AdamW(groups, weight_decay=spec.weight_decay)
    generator = make_rng(seed, "train_mirror")
    u_text = _text_ids(understanding, data.instructions)
    e_text = _text_ids(policy, data.instructions)
    level_labels = data.labels(spec.level).numpy()
    n, b, k, chunk = len(data), min(spec.batch_size, len(data)), spec.steps_per_episode, policy.spec.chunk
    history: dict[str, list[float]] = {"au": [], "ee": [], "align": []}
    for _ in track(range(spec.steps), desc, progress=progress, mininterval=2.0):
        anchors = generator.choice(n, size=b, replace=False)
        partners = sample_partners(level_labels, anchors, generator, exclude_self=spec.level != "episode")
        times = generator.integers(0, data.n_steps, size=(b, k))
        instr = data.instruction[anchors]
        video = random_shift(data.videos[anchors], spec.shift, generator).to(device)
        u = understanding.features(video)
        loss_au = understanding.contrastive_loss(u, u_text[instr].to(device), instr.to(device))
        image, proprio, actions = chunk_batch(data, np.repeat(partners, k), times.reshape(-1), chunk)
        image = random_shift(image, spec.shift, generator)
        e_text_batch = e_text[data.instruction[np.repeat(partners, k)]].to(device)
        loss_ee, e_steps = policy.loss(
            image.to(device), proprio.to(device), e_text_batch, actions.to(device), return_features=True
        )
        loss = loss_au + spec.lambda_ee * loss_ee
        if align:
            e = e_steps.view(b, k, -1).mean(1)
            labels = torch.as_tensor(level_labels[anchors], device=device)
            loss_align = heads.loss(u, e, spec.tau, labels)
            loss = loss + spec.lambda_align * loss_align
            history["align"].append(float(loss_align.detach()))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
        history["au"].append(float(loss_au.detach()))
        history["ee"].append(float(loss_ee.detach()))
    understanding.eval()
    policy.eval()
    if heads is not None:
        heads.eval()
    return history


def evaluation_times(n_steps: int, k: int) -> np.ndarray:
    """``k`` evenly spaced time steps of an episode of ``n_steps`` (its fixed probe points)."""
    return np.linspace(0, n_steps - 1, k).round().astype(np.int64)


@torch.no_grad()
def episode_features(
    understanding: ActionUnderstanding,
    policy: ARPolicy,
    data: MirrorData,
    k: int = 4,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """U's representation of each episode's video (N, du) and E's (N, de): mean over ``k`` fixed steps."""
    device = torch.device(device)
    understanding.to(device).eval()
    policy.to(device).eval()
    times = evaluation_times(data.n_steps, k)
    e_text = _text_ids(policy, data.instructions)
    us, es = [], []
    for start in range(0, len(data), batch_size):
        idx = np.arange(start, min(start + batch_size, len(data)))
        us.append(understanding.features(data.videos[idx].to(device)).cpu())
        ep = np.repeat(idx, k)
        tt = np.tile(times, len(idx))
        image, proprio = data.obs[ep, tt], data.proprio[ep, tt]
        f = policy.features(image.to(device), proprio.to(device), e_text[data.instruction[ep]].to(device))
        es.append(f.view(len(idx), k, -1).mean(1).cpu())
    return torch.cat(us), torch.cat(es)


@dataclasses.dataclass(frozen=True)
class ProbeSpec:
    """Knobs of :func:`train_probe`: only the two linear maps train."""

    steps: int = 500
    batch_size: int = 64
    lr: float = 1e-3
    tau: float = 0.1
    level: str = "instruction"
    shared_dim: int = 1024

    def __post_init__(self) -> None:
        check_level(self.level)
        check_tau(self.tau)


def train_probe(
    u: torch.Tensor, e: torch.Tensor, labels: torch.Tensor | np.ndarray, spec: ProbeSpec, seed: int,
    progress: bool = False,
) -> AlignmentHeads:
    """Fit the alignment heads on frozen representations ``u`` (N, du) and ``e`` (N, de).

    Pairs are built as in :func:`train_mirror`: each anchor video with a partner execution of the same
    label (another episode when the level is above ``episode``).
    """
    if u.shape[0] != e.shape[0]:
        raise ValueError(f"mismatched batch of pairs: {u.shape[0]} u rows vs {e.shape[0]} e rows")
    torch.manual_seed(int(make_rng(seed, "probe_init").integers(2**31)))
    heads = AlignmentHeads(u.shape[1], e.shape[1], spec.shared_dim)
    optimiser = torch.optim.Adam(heads.parameters(), lr=spec.lr)
    labels = np.asarray(labels)
    generator = make_rng(seed, "probe")
    n, b = u.shape[0], min(spec.batch_size, u.shape[0])
    for _ in track(range(spec.steps), "probe", progress=progress, mininterval=2.0):
        anchors = generator.choice(n, size=b, replace=False)
        partners = sample_partners(labels, anchors, generator, exclude_self=spec.level != "episode")
        loss = heads.loss(u[anchors], e[partners], spec.tau, torch.as_tensor(labels[anchors]))
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    return heads.eval()


@torch.no_grad()
def recognition_accuracy(
    understanding: ActionUnderstanding, data: MirrorData, device: torch.device | str = "cpu"
) -> np.ndarray:
    """Per-episode correctness (N,) bool: U picks the episode's instruction among all instructions."""
    understanding.to(device).eval()
    guess = understanding.recognise(data.videos, data.instructions)
    return (guess == data.instruction).numpy()


def per_group_mean(values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean of ``values`` within each group id 0..n_groups-1 (NaN for an empty group)."""
    values, groups = np.asarray(values, dtype=float), np.asarray(groups)
    return np.array([values[groups == g].mean() if (groups == g).any() else np.nan for g in range(n_groups)])


@torch.no_grad()
def open_loop_action_errors(
    policy: ARPolicy, data: MirrorData, times: Sequence[int], batch_size: int = 128, device: torch.device | str = "cpu"
) -> np.ndarray:
    """E's first predicted action at recorded states vs the recorded action: (N, len(times)) distances.

    For every episode and time step in ``times``, E sees the recorded observation, proprioception and
    instruction and generates its chunk (:meth:`ARPolicy.act`); the distance is the L2 norm of the
    difference of the continuous dims (the gripper is left out). No feedback: this isolates what E reads
    from one observation from the drift of a closed-loop rollout.
    """
    times = np.asarray(times, dtype=np.int64)
    if times.size == 0 or times.min() < 0 or times.max() >= data.n_steps:
        raise ValueError(f"times must lie in 0..{data.n_steps - 1}, got {times.tolist()}")
    device = torch.device(device)
    policy.to(device).eval()
    text = _text_ids(policy, data.instructions)
    continuous = ~policy.binary.cpu()
    ep = np.repeat(np.arange(len(data)), len(times))
    tt = np.tile(times, len(data))
    out = []
    for s in range(0, len(ep), batch_size):
        e, t = ep[s : s + batch_size], tt[s : s + batch_size]
        pred = policy.act(data.obs[e, t].to(device), data.proprio[e, t].to(device), text[data.instruction[e]].to(device))
        diff = (pred[:, 0].cpu() - data.actions[e, t])[:, continuous]
        out.append(diff.norm(dim=-1))
    return torch.cat(out).view(len(data), len(times)).numpy()


def policy_controller(policy: ARPolicy, text: str, execute: int = 2, device: torch.device | str = "cpu"):
    """A closed-loop controller ``obs -> action`` for :func:`sensorimotor.mirror_align.tasks.run_episode`.

    Predicts a chunk with :meth:`ARPolicy.act` and executes its first ``execute`` actions before
    predicting again (ARP executes its predicted sequence open loop in the same way).
    """
    if not 1 <= execute <= policy.spec.chunk:
        raise ValueError(f"execute must be in 1..{policy.spec.chunk}, got {execute}")
    device = torch.device(device)
    policy.to(device).eval()
    ids = policy.encode_text([text])
    queue: list[np.ndarray] = []

    def controller(obs: Mapping[str, np.ndarray]) -> np.ndarray:
        if not queue:
            image = torch.from_numpy(np.ascontiguousarray(obs["image"]))[None].to(device)
            proprio = torch.from_numpy(np.asarray(obs["proprio"], dtype=np.float32))[None].to(device)
            chunk = policy.act(image, proprio, ids)[0].cpu().numpy()
            queue.extend(chunk[:execute])
        return queue.pop(0)

    return controller
