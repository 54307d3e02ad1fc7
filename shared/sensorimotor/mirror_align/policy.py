"""The embodied-execution model E: a key-frame policy in the PerAct / RVT / ARP family, at CPU size.

ARP (Zhang et al. 2024, built on RVT-2) predicts the robot's *next key-frame* from its camera images and
the instruction: where the gripper goes, as a heatmap over image pixels, plus its rotation, gripper
state and collision flag, each predicted autoregressively from the ones before. E keeps that structure
for our top-down hand (no rotation, no collision flag):

- **instruction encoder**: word and position embeddings and a transformer (order-aware: "stack the red
  cube on the blue cube" and "... blue ... on the red ..." encode differently), masked mean pooled;
- **conditioning**: the instruction, the key-frame's index and the previous key-frame (its height class
  and gripper state; its position enters the image as an extra channel, a Gaussian blob at its pixel):
  this is the autoregression over key-frames;
- **vision**: a small fully convolutional U-Net over the robot's image (+ 2 coordinate channels + the
  previous key-frame's blob), at 1/2, 1/4 and 1/8 of the image's resolution, every conv block modulated
  by the conditioning (FiLM: per-channel scale and shift, as in RT-1), so the instruction reaches every
  layer before any location is pooled away; the heatmap's logits (1/2 resolution) are interpolated
  bilinearly to the image's pixels;
- **outputs**: per-pixel logits of where the next key-frame is (trained with cross-entropy on the
  key-frame's pixel), the height class among :data:`~sensorimotor.mirror_align.keyframes.HEIGHTS` or
  STOP, and the gripper command (logit).

The representation ``e`` the alignment heads read (:meth:`KeyframePolicy.features`) is the pooled
bottleneck of the U-Net: features that see both the image and the instruction, so the alignment loss
reaches the vision and the language pathways.

Images are ``(B, H, W, 3)`` uint8 or ``(B, 3, H, W)`` float.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from sensorimotor.mirror_align.keyframes import HEIGHTS, MAX_KEYFRAMES, START, STOP
from sensorimotor.mirror_align.video_text import InstructionTokenizer, TextEncoder, image_to_float

N_HEIGHT_CLASSES = len(HEIGHTS) + 1  # the heights + STOP
BLOB_SIGMA = 1.5  # pixels: width of the previous key-frame's blob


@dataclasses.dataclass(frozen=True)
class PolicySpec:
    """Sizes of E."""

    vocabulary: tuple[str, ...]
    image_size: int = 64
    channels: tuple[int, int, int] = (16, 32, 64)  # at 1/2, 1/4 and 1/8 of the image's resolution
    width: int = 64  # size of e and of the conditioning vector
    heads: int = 4
    text_layers: int = 1
    max_words: int = 12
    n_unknown: int = 8
    max_keyframes: int = MAX_KEYFRAMES

    def __post_init__(self) -> None:
        if len(self.channels) != 3 or min(self.channels) < 1:
            raise ValueError(f"channels must be 3 positive ints (1/2, 1/4, 1/8 resolution), got {self.channels}")
        if self.image_size < 16 or self.image_size % 8:
            raise ValueError(f"image_size must be a multiple of 8 and >= 16, got {self.image_size}")


class FiLM(nn.Module):
    """Per-channel scale and shift of a feature map from a conditioning vector: x * (1 + g) + b."""

    def __init__(self, cond_dim: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(cond_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        g, b = self.proj(cond)[:, :, None, None].chunk(2, 1)
        return x * (1 + g) + b


class _Block(nn.Module):
    """conv -> GELU -> FiLM."""

    def __init__(self, c_in: int, c_out: int, cond_dim: int, stride: int = 1, dilation: int = 1, kernel: int = 3):
        super().__init__()
        pad = dilation * (kernel // 2)
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=pad, dilation=dilation)
        self.film = FiLM(cond_dim, c_out)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.film(F.gelu(self.conv(x)), cond)


def blob(pixels: torch.Tensor, size: int, sigma: float = BLOB_SIGMA) -> torch.Tensor:
    """Gaussian blobs (B, 1, size, size) centred at continuous (column, row) ``pixels`` (B, 2)."""
    centres = torch.arange(size, dtype=torch.float32, device=pixels.device) + 0.5
    dx = (centres[None, :] - pixels[:, :1]) ** 2  # (B, W)
    dy = (centres[None, :] - pixels[:, 1:2]) ** 2  # (B, H)
    return torch.exp(-(dy[:, :, None] + dx[:, None, :]) / (2 * sigma**2)).unsqueeze(1)


class KeyframePolicy(nn.Module):
    """E: instruction-conditioned (FiLM) fully convolutional key-frame policy (see the module docstring)."""

    def __init__(self, spec: PolicySpec) -> None:
        super().__init__()
        self.spec = spec
        self.tokenizer = InstructionTokenizer(spec.vocabulary, spec.max_words, spec.n_unknown)
        w, (c0, c1, c2) = spec.width, spec.channels
        self.text = TextEncoder(self.tokenizer.vocab_size, spec.max_words, w, spec.heads, spec.text_layers)
        self.index = nn.Embedding(spec.max_keyframes, w)
        self.previous_height = nn.Embedding(START + 1, w)
        self.previous_grip = nn.Linear(1, w)
        self.cond = nn.Sequential(nn.GELU(), nn.Linear(w, w), nn.GELU(), nn.Linear(w, w))
        self.stem = _Block(6, c0, w, stride=2, kernel=5)  # 1/2 resolution
        self.down1 = _Block(c0, c1, w, stride=2)  # 1/4
        self.mid1 = _Block(c1, c1, w)
        self.down2 = _Block(c1, c2, w, stride=2)  # 1/8
        self.mid2 = nn.ModuleList([_Block(c2, c2, w, dilation=d) for d in (1, 2)])
        self.up1_reduce = nn.Conv2d(c2 + c1, c1, 1)
        self.up1 = _Block(c1, c1, w)
        self.up0_reduce = nn.Conv2d(c1 + c0, c0, 1)
        self.up0 = _Block(c0, c0, w)
        self.heatmap = nn.Conv2d(c0, 1, 1)
        self.to_e = nn.Sequential(nn.Linear(2 * c2, w), nn.LayerNorm(w))
        self.outputs = nn.Sequential(nn.Linear(2 * w, w), nn.GELU(), nn.Linear(w, N_HEIGHT_CLASSES + 1))

    @property
    def feature_dim(self) -> int:
        return self.spec.width

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        return self.tokenizer.encode(list(texts)).to(self.index.weight.device)

    def text_features(self, text_ids: torch.Tensor) -> torch.Tensor:
        """The pooled instruction (B, width) (order-aware: positions enter before self-attention)."""
        return self.text(text_ids)

    def _check(self, image: torch.Tensor, *per_sample: torch.Tensor) -> torch.Tensor:
        image = image_to_float(image)
        b, s = image.shape[0], self.spec.image_size
        if image.shape[1:] != (3, s, s):
            raise ValueError(f"E takes ({s}, {s}) RGB images, got a batch of shape {tuple(image.shape)}")
        for x in per_sample:
            if x.shape[0] != b:
                raise ValueError(f"batch mismatch: {b} images but an input of shape {tuple(x.shape)}")
        return image

    def forward(
        self,
        image: torch.Tensor,
        text_ids: torch.Tensor,
        index: torch.Tensor,
        previous_height: torch.Tensor,
        previous_grip: torch.Tensor,
        previous_pixel: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Heatmap logits (B, H*W), height/STOP logits (B, len(HEIGHTS)+1), grip logit (B,) and ``e`` (B, width).

        ``index`` (B,) key-frame index; ``previous_height`` (B,) the previous key-frame's height class
        (START for the first); ``previous_grip`` (B,) 0/1; ``previous_pixel`` (B, 2) its (column, row).
        """
        x = self._check(image, text_ids, index, previous_height, previous_grip, previous_pixel)
        b, _, h, w = x.shape
        dev = x.device
        index = index.long().clamp(max=self.spec.max_keyframes - 1).to(dev)
        cond = (self.text_features(text_ids.to(dev)) + self.index(index)
                + self.previous_height(previous_height.long().to(dev))
                + self.previous_grip(previous_grip.float().to(dev).view(b, 1)))  # fmt: skip
        cond = self.cond(cond)
        ys = torch.linspace(-1, 1, h, device=dev).view(1, 1, h, 1).expand(b, 1, h, w)
        xs = torch.linspace(-1, 1, w, device=dev).view(1, 1, 1, w).expand(b, 1, h, w)
        x0 = self.stem(torch.cat([x, xs, ys, blob(previous_pixel.float().to(dev), w)], 1), cond)
        x1 = self.mid1(self.down1(x0, cond), cond)
        x2 = self.down2(x1, cond)
        for block in self.mid2:
            x2 = x2 + block(x2, cond)
        e = self.to_e(torch.cat([x2.mean((2, 3)), x2.amax((2, 3))], 1))
        y1 = F.gelu(self.up1_reduce(torch.cat([F.interpolate(x2, scale_factor=2.0), x1], 1)))
        y1 = self.up1(y1, cond)
        y0 = F.gelu(self.up0_reduce(torch.cat([F.interpolate(y1, scale_factor=2.0), x0], 1)))
        heat = F.interpolate(self.heatmap(self.up0(y0, cond)), size=(h, w), mode="bilinear", align_corners=False)
        heat = heat.flatten(1)
        out = self.outputs(torch.cat([e, cond], 1))
        return heat, out[:, :N_HEIGHT_CLASSES], out[:, N_HEIGHT_CLASSES], e

    def features(self, *inputs: torch.Tensor) -> torch.Tensor:
        """The representation ``e`` of each key-frame observation (B, width) (inputs as :meth:`forward`)."""
        return self.forward(*inputs)[3]

    def loss(
        self,
        inputs: Sequence[torch.Tensor],
        pixel: torch.Tensor,
        height: torch.Tensor,
        grip: torch.Tensor,
        return_features: bool = False,
    ):
        """Behaviour-cloning loss of key-frames: cross-entropy of the heatmap on the key-frame's pixel and
        of the height class (or STOP), BCE of the gripper; the heatmap and gripper terms skip STOP rows.

        ``inputs`` as :meth:`forward`; ``pixel`` (B, 2) continuous (column, row); ``height`` (B,) class;
        ``grip`` (B,) 0/1. With ``return_features`` also returns ``e`` (B, width).
        """
        heat, height_logits, grip_logit, e = self.forward(*inputs)
        s = self.spec.image_size
        dev = heat.device
        cell = pixel.to(dev).floor().long().clamp(0, s - 1)
        target = cell[:, 1] * s + cell[:, 0]
        height = height.long().to(dev)
        move = (height != STOP).float()
        where = (F.cross_entropy(heat, target, reduction="none") * move).sum() / move.sum().clamp_min(1.0)
        which = F.cross_entropy(height_logits, height)
        grip_loss = F.binary_cross_entropy_with_logits(grip_logit, grip.float().to(dev), reduction="none")
        loss = where + which + (grip_loss * move).sum() / move.sum().clamp_min(1.0)
        return (loss, e) if return_features else loss

    @torch.no_grad()
    def predict(self, *inputs: torch.Tensor) -> dict[str, np.ndarray]:
        """The next key-frame: ``pixel`` (B, 2) continuous (column, row) (the heatmap's peak refined by a
        soft-argmax over its 5x5 neighbourhood), ``height`` (B,) class (STOP = done), ``grip`` (B,) 0/1."""
        heat, height_logits, grip_logit, _ = self.forward(*inputs)
        s = self.spec.image_size
        maps = heat.view(-1, s, s)
        peak = maps.flatten(1).argmax(1)
        rows, cols = peak // s, peak % s
        pixels = []
        for m, r, c in zip(maps, rows.tolist(), cols.tolist(), strict=True):
            r0, r1, c0, c1 = max(r - 2, 0), min(r + 3, s), max(c - 2, 0), min(c + 3, s)
            p = torch.softmax(m[r0:r1, c0:c1].flatten(), 0).view(r1 - r0, c1 - c0)
            rr = (p.sum(1) * (torch.arange(r0, r1, device=p.device) + 0.5)).sum()
            cc = (p.sum(0) * (torch.arange(c0, c1, device=p.device) + 0.5)).sum()
            pixels.append([float(cc), float(rr)])
        return {"pixel": np.array(pixels, np.float32), "height": height_logits.argmax(1).cpu().numpy(),
                "grip": (grip_logit > 0).float().cpu().numpy()}  # fmt: skip
