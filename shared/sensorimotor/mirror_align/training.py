"""Training and evaluation loops of the mirror-alignment chapter (Zhu et al. 2025).

One loop, :func:`train_mirror`, trains the action-understanding model U, the policy E and (optionally)
the alignment heads together on the paper's loss::

    L = L_AU + lambda_EE * L_EE + lambda_align * L_align

``lambda_align = 0`` (or no heads) is the baseline: U and E share no parameter, so the loop then trains
them independently on the same batches. Every step draws ``batch_size`` episodes for U (video +
instruction text) and, for each, a partner episode for E chosen by the positive level (the same episode,
another episode of the same instruction, or of the same task class); E's loss is behaviour cloning on
``steps_per_episode`` random key-frames of each partner, and E's episode representation is the mean of
its key-frame representations (with ``steps_per_episode=1``, the chapter's setting, one drawn key-frame;
:func:`episode_features` evaluates the expectation of that draw). The alignment heads have their own learning rate (the paper: 1e-4).
A control (``TrainSpec.e_source = "text"``) aligns U instead with E's instruction encoding alone (no
image), to tell what alignment adds beyond a second video-text loss.

Probing (:func:`train_probe`) freezes U and E, computes their representations once, and trains only the
two linear maps. :func:`recall_at_1` (from :mod:`sensorimotor.mirror_align.alignment`) measures alignment.

Data come as a :class:`MirrorData` (tensors of recorded episodes, see :mod:`sensorimotor.mirror_align.demos`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from sensorimotor.mirror_align.alignment import AlignmentHeads, check_level, check_tau, sample_partners
from sensorimotor.mirror_align.keyframes import (
    HEIGHTS,
    OPEN,
    REFERENCE_Z,
    START,
    STOP,
    STOP_KEYFRAME,
    Keyframe,
    lift,
    project,
)
from sensorimotor.mirror_align.policy import KeyframePolicy
from sensorimotor.mirror_align.tasks import START_HAND
from sensorimotor.mirror_align.video_text import ActionUnderstanding
from sensorimotor.progress import track
from sensorimotor.seeding import rng as make_rng

E_SOURCES = ("policy", "text")
MOVE_WEIGHT = 3.0  # key-frames that move the hand are drawn this many times as often (sample_keyframes)


def start_pixel(image_size: int) -> np.ndarray:
    """The (column, row) of the hand's start position: the "previous key-frame" of the first one."""
    return project(np.array([[START_HAND[0], START_HAND[1], REFERENCE_Z]]), image_size)[0].astype(np.float32)


@dataclasses.dataclass
class MirrorData:
    """Recorded episodes as tensors (all on CPU; batches are moved to the device when drawn).

    videos: uint8 (N, F, H, W, 3), the observer's third-person camera;
    key_obs: uint8 (N, K, H, W, 3), the robot's own camera when each key-frame was chosen;
    key_pixel: float32 (N, K, 2); key_height: int64 (N, K); key_grip: float32 (N, K); key_valid: bool (N, K)
    (the key-frames' targets, see :mod:`sensorimotor.mirror_align.keyframes`);
    instruction / task / episode: int64 (N,) labels; instructions: texts indexed by instruction id.
    """

    videos: torch.Tensor
    key_obs: torch.Tensor
    key_pixel: torch.Tensor
    key_height: torch.Tensor
    key_grip: torch.Tensor
    key_valid: torch.Tensor
    instruction: torch.Tensor
    task: torch.Tensor
    episode: torch.Tensor
    instructions: tuple[str, ...]

    def __post_init__(self) -> None:
        n = self.videos.shape[0]
        for name in ("key_obs", "key_pixel", "key_height", "key_grip", "key_valid", "instruction", "task", "episode"):
            if getattr(self, name).shape[0] != n:
                raise ValueError(f"MirrorData.{name} has {getattr(self, name).shape[0]} episodes, videos has {n}")
        k = self.key_obs.shape[1]
        for name in ("key_pixel", "key_height", "key_grip", "key_valid"):
            if getattr(self, name).shape[1] != k:
                raise ValueError(f"MirrorData.{name} has {getattr(self, name).shape[1]} key-frames, key_obs has {k}")
        if n and not bool(self.key_valid[:, 0].all()):
            raise ValueError("every episode needs at least one valid key-frame")
        if n and int(self.instruction.max()) >= len(self.instructions):
            raise ValueError("an instruction id has no text in MirrorData.instructions")

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], index: np.ndarray | None = None) -> MirrorData:
        """From the dict of :func:`sensorimotor.mirror_align.demos.demonstrations` (optionally a subset)."""
        idx = np.arange(len(arrays["instruction"])) if index is None else np.asarray(index)
        t = {k: torch.from_numpy(np.ascontiguousarray(arrays[k][idx])) for k in
             ("videos", "key_obs", "key_pixel", "key_height", "key_grip", "key_valid", "instruction", "task")}  # fmt: skip
        return cls(
            videos=t["videos"], key_obs=t["key_obs"], key_pixel=t["key_pixel"].float(),
            key_height=t["key_height"].long(), key_grip=t["key_grip"].float(), key_valid=t["key_valid"].bool(),
            instruction=t["instruction"].long(), task=t["task"].long(), episode=torch.from_numpy(idx).long(),
            instructions=tuple(str(s) for s in arrays["instruction_texts"]),
        )

    def __len__(self) -> int:
        return self.videos.shape[0]

    @property
    def image_size(self) -> int:
        return self.key_obs.shape[2]

    def labels(self, level: str) -> torch.Tensor:
        return {"episode": self.episode, "instruction": self.instruction, "task": self.task}[check_level(level)]

    def keyframe_batch(
        self, episodes: np.ndarray, ks: np.ndarray, text_ids: torch.Tensor, shift: int = 0,
        generator: np.random.Generator | None = None,
    ):
        """E's inputs (for :meth:`KeyframePolicy.forward`) and targets (pixel, height, grip) at
        (episode, key-frame) pairs; ``text_ids`` (n_instructions, L) are E's encoded instructions.

        ``shift`` > 0 translates each image by up to that many pixels (edge padding) *together with* its
        target and previous-key-frame pixels, so the labels move with the image.
        """
        ep = torch.as_tensor(episodes, dtype=torch.long)
        k = torch.as_tensor(ks, dtype=torch.long)
        before = (k - 1).clamp_min(0)
        first = k == 0
        prev_height = torch.where(first, torch.full_like(k, START), self.key_height[ep, before])
        prev_grip = torch.where(first, torch.full((len(k),), float(OPEN)), self.key_grip[ep, before])
        prev_pixel = torch.where(first[:, None], torch.from_numpy(start_pixel(self.image_size)), self.key_pixel[ep, before])
        image, pixel = self.key_obs[ep, k], self.key_pixel[ep, k]
        if shift > 0:
            if generator is None:
                raise ValueError("a shift needs a generator")
            offsets = generator.integers(-shift, shift + 1, size=(len(k), 2))
            image = shift_images(image, offsets)
            delta = torch.from_numpy(offsets.astype(np.float32))
            pixel, prev_pixel = pixel + delta, prev_pixel + delta
        inputs = (image, text_ids[self.instruction[ep]], k, prev_height, prev_grip, prev_pixel)
        return inputs, (pixel, self.key_height[ep, k], self.key_grip[ep, k])

    def sample_keyframes(self, episodes: np.ndarray, per_episode: int, generator: np.random.Generator):
        """``per_episode`` random valid key-frames of each episode: flat (episodes, ks) arrays. Key-frames
        that move the hand somewhere new (their pixel differs from the previous one's by more than a pixel)
        are drawn :data:`MOVE_WEIGHT` times as often as those that stay (gripper changes, heights, STOP)."""
        ep = np.repeat(np.asarray(episodes), per_episode)
        w = self._weights[ep]
        cum = w.cumsum(1)
        draw = generator.random(len(ep)) * cum[:, -1]
        ks = (cum < draw[:, None]).sum(1).astype(np.int64)
        return ep, ks

    @property
    def _weights(self) -> np.ndarray:
        if getattr(self, "_cached_weights", None) is None:
            prev = torch.cat([torch.from_numpy(start_pixel(self.image_size)).expand(len(self), 1, 2),
                              self.key_pixel[:, :-1]], 1)  # fmt: skip
            moves = ((self.key_pixel - prev).norm(dim=-1) > 1.0) & (self.key_height != STOP)
            w = torch.where(moves, float(MOVE_WEIGHT), 1.0) * self.key_valid.float()
            self._cached_weights = w.numpy()
        return self._cached_weights


def shift_images(images: torch.Tensor, offsets: np.ndarray) -> torch.Tensor:
    """Translate images (B, H, W, 3) by integer (dx, dy) ``offsets`` (B, 2) pixels, edge-padded."""
    b, h, w = images.shape[:3]
    pad = int(np.abs(offsets).max()) if len(offsets) else 0
    if pad == 0:
        return images
    x = images.permute(0, 3, 1, 2).float()
    x = torch.nn.functional.pad(x, (pad, pad, pad, pad), mode="replicate")
    out = torch.stack([x[i, :, pad - dy : pad - dy + h, pad - dx : pad - dx + w] for i, (dx, dy) in enumerate(offsets.tolist())])
    return out.permute(0, 2, 3, 1).to(images.dtype)


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """Knobs of :func:`train_mirror` (paper values in the comments, Section 4)."""

    steps: int = 1000
    batch_size: int = 32
    lr: float = 3e-4
    e_lr: float | None = None  # E's learning rate (None: lr, as U's)
    align_lr: float = 1e-4  # paper: 1e-4
    lambda_ee: float = 1.0  # paper: 1
    lambda_align: float = 0.5  # paper: 0.5 (0 = baseline without alignment)
    tau: float = 0.1  # paper: 0.1
    level: str = "instruction"  # paper's default positives
    steps_per_episode: int = 2
    weight_decay: float = 1e-4
    shift: int = 0  # random-shift augmentation of U's videos (pixels; 0 = none)
    e_shift: int = 0  # translation of E's images together with their key-frame pixels (labels move along)
    e_source: str = "policy"  # what U is aligned with: E's key-frame features, or ("text") E's instruction encoding

    def __post_init__(self) -> None:
        check_level(self.level)
        check_tau(self.tau)
        if self.e_source not in E_SOURCES:
            raise ValueError(f"e_source={self.e_source!r}; accepted: {', '.join(E_SOURCES)}")
        if self.steps < 0 or self.batch_size < 2 or self.steps_per_episode < 1:
            raise ValueError(f"need steps >= 0, batch_size >= 2, steps_per_episode >= 1 (got {self})")


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
    policy: KeyframePolicy,
    heads: AlignmentHeads | None,
    data: MirrorData,
    spec: TrainSpec,
    seed: int,
    device: torch.device | str = "cpu",
    progress: bool = False,
    desc: str = "train",
    stream: str | tuple[str | int, ...] = "train_mirror",
    every: int = 0,
    checkpoint: Callable[[int], None] | None = None,
) -> dict[str, list[float]]:
    """Train U, E (and the heads when ``spec.lambda_align > 0``) in place; returns per-step losses.

    The batches are drawn from the random stream (``seed``, ``stream``): same seed and stream, same batches.
    A tuple ``stream`` names the stream by its parts, e.g. ``("finetune", order)``.
    ``checkpoint(step)`` (optional) is called every ``every`` steps (models in eval mode, no gradients;
    it must not draw from the batches' stream).
    """
    device = torch.device(device)
    understanding.to(device).train()
    policy.to(device).train()
    align = heads is not None and spec.lambda_align > 0
    groups = [{"params": list(understanding.parameters()), "lr": spec.lr},
              {"params": list(policy.parameters()), "lr": spec.lr if spec.e_lr is None else spec.e_lr}]  # fmt: skip
    if align:
        heads.to(device).train()
        groups.append({"params": list(heads.parameters()), "lr": spec.align_lr})
    optimiser = torch.optim.AdamW(groups, weight_decay=spec.weight_decay)
    generator = make_rng(seed, *((stream,) if isinstance(stream, str) else stream))
    u_text = _text_ids(understanding, data.instructions)
    e_text = _text_ids(policy, data.instructions)
    level_labels = data.labels(spec.level).numpy()
    n, b, k = len(data), min(spec.batch_size, len(data)), spec.steps_per_episode
    history: dict[str, list[float]] = {"au": [], "ee": [], "align": []}
    for _ in track(range(spec.steps), desc, progress=progress, mininterval=2.0):
        anchors = generator.choice(n, size=b, replace=False)
        partners = sample_partners(level_labels, anchors, generator, exclude_self=spec.level != "episode")
        instr = data.instruction[anchors]
        video = random_shift(data.videos[anchors], spec.shift, generator).to(device)
        u = understanding.features(video)
        loss_au = understanding.contrastive_loss(u, u_text[instr].to(device), instr.to(device))
        inputs, targets = data.keyframe_batch(*data.sample_keyframes(partners, k, generator), e_text, spec.e_shift,
                                             generator)
        loss_ee, e_steps = policy.loss([x.to(device) for x in inputs], *targets, return_features=True)
        loss = loss_au + spec.lambda_ee * loss_ee
        if align:
            if spec.e_source == "text":
                e = policy.text_features(e_text[data.instruction[partners]].to(device))
            else:
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
        if checkpoint is not None and every > 0 and len(history["au"]) % every == 0:
            checkpoint(len(history["au"]))
            understanding.train()
            policy.train()
            if align:
                heads.train()
    understanding.eval()
    policy.eval()
    if heads is not None:
        heads.eval()
    return history


@torch.no_grad()
def episode_features(
    understanding: ActionUnderstanding,
    policy: KeyframePolicy,
    data: MirrorData,
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    e_source: str = "policy",
    blank_instruction: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """U's representation of each episode's video (N, du) and E's (N, de).

    E's representation ``e`` has one definition in training and evaluation: in :func:`train_mirror` it
    is E's bottleneck feature at one key-frame drawn with the weights of
    :meth:`MirrorData.sample_keyframes` (``steps_per_episode=1``); here it is that draw's expectation,
    the weighted mean over the episode's valid key-frames. The alignment heads are linear, so a head
    applied to this mean is the mean of the head applied to each draw.

    ``e_source="text"``: E's instruction encoding instead (no image). ``blank_instruction``: E reads every
    episode with an empty instruction (a control: what E's representation holds without the words).
    """
    if e_source not in E_SOURCES:
        raise ValueError(f"e_source={e_source!r}; accepted: {', '.join(E_SOURCES)}")
    device = torch.device(device)
    understanding.to(device).eval()
    policy.to(device).eval()
    texts = [""] * len(data.instructions) if blank_instruction else list(data.instructions)
    e_text = policy.encode_text(texts).cpu()
    weights = torch.from_numpy(data._weights).float()
    us, es = [], []
    for start in range(0, len(data), batch_size):
        idx = np.arange(start, min(start + batch_size, len(data)))
        us.append(understanding.features(data.videos[idx].to(device)).cpu())
        if e_source == "text":
            es.append(policy.text_features(e_text[data.instruction[idx]].to(device)).cpu())
            continue
        w = weights[idx]
        ep, ks = np.nonzero(w.numpy() > 0)
        inputs, _ = data.keyframe_batch(idx[ep], ks, e_text)
        f = policy.features(*[x.to(device) for x in inputs]).cpu()
        wk = w[ep, ks].unsqueeze(-1)
        total = torch.zeros(len(idx), f.shape[1]).index_add_(0, torch.from_numpy(ep), f * wk)
        norm = torch.zeros(len(idx)).index_add_(0, torch.from_numpy(ep), wk.squeeze(-1))
        es.append(total / norm.clamp_min(1e-9).unsqueeze(-1))
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
def localisation_errors(
    policy: KeyframePolicy, data: MirrorData, k: int = 0, batch_size: int = 128, device: torch.device | str = "cpu"
) -> np.ndarray:
    """Distance (metres, on the table plane) between E's predicted and the recorded pixel of key-frame
    ``k`` of every episode (N,), both lifted to the reference height: what E reads from one image."""
    device = torch.device(device)
    policy.to(device).eval()
    text = policy.encode_text(list(data.instructions)).cpu()
    out = []
    for s in range(0, len(data), batch_size):
        idx = np.arange(s, min(s + batch_size, len(data)))
        inputs, (pixel, _, _) = data.keyframe_batch(idx, np.full(len(idx), k), text)
        pred = policy.predict(*[x.to(device) for x in inputs])["pixel"]
        a, b = lift(pred, data.image_size), lift(pixel.numpy(), data.image_size)
        out.append(np.linalg.norm(a[:, :2] - b[:, :2], axis=1))
    return np.concatenate(out)


def policy_decider(policy: KeyframePolicy, text: str, device: torch.device | str = "cpu"):
    """A closed-loop key-frame decider for :func:`sensorimotor.mirror_align.keyframes.run_keyframes`:
    E predicts each next key-frame from the current image, the instruction and the previous key-frame;
    the peak pixel is lifted to the reference height and the height class gives z."""
    device = torch.device(device)
    policy.to(device).eval()
    ids = policy.encode_text([text])
    size = policy.spec.image_size
    first = start_pixel(size)

    def decide(obs: Mapping[str, np.ndarray], k: int, previous: Keyframe) -> Keyframe:
        if previous.height == START:
            prev_pixel = first
        else:
            prev_pixel = project(np.array([[previous.position[0], previous.position[1], REFERENCE_Z]]), size)[0]
        inputs = (torch.from_numpy(np.ascontiguousarray(obs["image"]))[None], ids, torch.tensor([k]),
                  torch.tensor([previous.height]), torch.tensor([float(previous.grip)]),
                  torch.from_numpy(np.asarray(prev_pixel, np.float32))[None])  # fmt: skip
        out = policy.predict(*[x.to(device) for x in inputs])
        height = int(out["height"][0])
        if height == STOP:
            return STOP_KEYFRAME
        x, y, _ = lift(out["pixel"], size)[0]
        return Keyframe((float(x), float(y), HEIGHTS[height]), float(out["grip"][0]), height)

    return decide
