"""The embodied-execution model E: a small autoregressive policy in the spirit of ARP (Zhang et al. 2024).

ARP ("autoregressive policy") encodes the robot's observations and the language instruction with a
multi-view transformer (RVT/MVT) and then predicts the next action tokens one after another, each
conditioned on the tokens before it (a causal decoder that cross-attends to the observation tokens).
This module keeps that structure at CPU size:

- **trunk**: the robot's own camera image -> a grid of CNN tokens, the proprioceptive vector -> one token,
  the instruction -> word tokens (its own tokenizer and text encoder, independent of U's); a transformer
  over all of them lets the image tokens attend to the words (language-conditioned vision, as in MVT).
  The mean of the image and proprio tokens after the trunk is the representation ``e`` of one time step
  that the alignment heads read (an episode's ``e`` is the mean over several of its time steps).
- **autoregressive decoder**: a chunk of ``chunk`` future actions ``a_t .. a_{t+chunk-1}``; token ``k``
  embeds action ``k-1`` (a learned start token for ``k = 0``), causal self-attention, cross-attention to
  the trunk tokens; a linear head gives the continuous dimensions (normalised by ``action_scale``) and a
  logit for each binary dimension (the gripper command). Trained with teacher forcing (behaviour
  cloning); at run time the chunk is generated token by token (:meth:`ARPolicy.act`).

Images are ``(B, H, W, 3)`` uint8 or ``(B, 3, H, W)`` float; proprio ``(B, P)``; actions ``(B, chunk, A)``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from sensorimotor.mirror_align.video_text import (
    ConvTokens,
    InstructionTokenizer,
    SpatialSoftmax,
    TextEncoder,
    image_to_float,
    transformer,
)


@dataclasses.dataclass(frozen=True)
class PolicySpec:
    """Sizes of E and the layout of its action vector."""

    vocabulary: tuple[str, ...]
    proprio_dim: int
    action_dim: int
    binary_dims: tuple[int, ...] = ()  # dims whose targets are 0/1 (gripper close/open)
    action_scale: tuple[float, ...] = ()  # divisor per action dim (ignored for binary dims); () = all 1
    chunk: int = 4
    channels: tuple[int, ...] = (16, 32, 32)
    strides: tuple[int, ...] = ()  # conv strides; () = 2 for every layer
    grid: int = 4
    width: int = 64
    heads: int = 4
    trunk_layers: int = 2
    decoder_layers: int = 1
    text_layers: int = 1
    max_words: int = 12
    n_unknown: int = 8

    def __post_init__(self) -> None:
        if self.action_dim < 1 or self.chunk < 1 or self.proprio_dim < 1:
            raise ValueError(f"action_dim, chunk and proprio_dim must be >= 1 (got {self})")
        bad = [d for d in self.binary_dims if not 0 <= d < self.action_dim]
        if bad:
            raise ValueError(f"binary_dims {bad} outside 0..{self.action_dim - 1}")
        if self.action_scale and len(self.action_scale) != self.action_dim:
            raise ValueError(f"action_scale has {len(self.action_scale)} entries, action_dim is {self.action_dim}")


class ARPolicy(nn.Module):
    """E: language-conditioned observation trunk + autoregressive action-chunk decoder."""

    def __init__(self, spec: PolicySpec) -> None:
        super().__init__()
        self.spec = spec
        self.tokenizer = InstructionTokenizer(spec.vocabulary, spec.max_words, spec.n_unknown)
        w = spec.width
        self.image = ConvTokens(spec.channels, w, spec.grid, spec.strides)
        self.keypoints = SpatialSoftmax()
        self.keypoint_proj = nn.Sequential(nn.Linear(2 * self.image.out_channels, w), nn.GELU(), nn.Linear(w, w))
        self.proprio = nn.Sequential(nn.Linear(spec.proprio_dim, w), nn.GELU(), nn.Linear(w, w))
        self.text = TextEncoder(self.tokenizer.vocab_size, spec.max_words, w, spec.heads, spec.text_layers)
        self.kind = nn.Parameter(torch.randn(4, w) * 0.02)  # token types: word, proprio, image, keypoints
        self.trunk = transformer(w, spec.heads, spec.trunk_layers)
        self.trunk_norm = nn.LayerNorm(w)
        self.start = nn.Parameter(torch.randn(w) * 0.02)
        self.action_in = nn.Linear(spec.action_dim, w)
        self.step_position = nn.Parameter(torch.randn(spec.chunk, w) * 0.02)
        layer = nn.TransformerDecoderLayer(
            w, spec.heads, dim_feedforward=2 * w, dropout=0.0, batch_first=True, norm_first=True, activation="gelu"
        )
        self.decoder = nn.TransformerDecoder(layer, spec.decoder_layers)
        self.head = nn.Sequential(nn.LayerNorm(w), nn.Linear(w, spec.action_dim))
        scale = torch.ones(spec.action_dim)
        if spec.action_scale:
            scale = torch.tensor(spec.action_scale, dtype=torch.float32)
        binary = torch.zeros(spec.action_dim, dtype=torch.bool)
        binary[list(spec.binary_dims)] = True
        scale[binary] = 1.0
        self.register_buffer("scale", scale, persistent=False)
        self.register_buffer("binary", binary, persistent=False)
        causal = torch.triu(torch.ones(spec.chunk, spec.chunk, dtype=torch.bool), 1)
        self.register_buffer("causal", causal, persistent=False)

    @property
    def feature_dim(self) -> int:
        return self.spec.width

    # -- trunk ---------------------------------------------------------------------------------------
    def encode(self, image: torch.Tensor, proprio: torch.Tensor, text_ids: torch.Tensor):
        """Trunk tokens (B, N, width), their padding mask (B, N) and the step representation ``e`` (B, width)."""
        image = image_to_float(image)
        b = image.shape[0]
        if proprio.shape != (b, self.spec.proprio_dim) or text_ids.shape[0] != b:
            raise ValueError(
                f"batch mismatch: image {tuple(image.shape)}, proprio {tuple(proprio.shape)} "
                f"(expected ({b}, {self.spec.proprio_dim})), text ids {tuple(text_ids.shape)}"
            )
        words, keep = self.text.tokens(text_ids)
        maps = self.image.feature_map(image)
        keys = self.keypoint_proj(self.keypoints(maps)).unsqueeze(1) + self.kind[3]
        img = torch.cat([self.image.tokens(maps) + self.kind[2], keys], 1)
        pro = self.proprio(proprio.float()).unsqueeze(1) + self.kind[1]
        tokens = torch.cat([words + self.kind[0], pro, img], 1)
        pad = torch.cat([~keep, torch.zeros(b, 1 + img.shape[1], dtype=torch.bool, device=keep.device)], 1)
        out = self.trunk_norm(self.trunk(tokens, src_key_padding_mask=pad))
        feature = out[:, words.shape[1] :].mean(1)
        return out, pad, feature

    def features(self, image: torch.Tensor, proprio: torch.Tensor, text_ids: torch.Tensor) -> torch.Tensor:
        """The representation ``e`` of each time step (B, width)."""
        return self.encode(image, proprio, text_ids)[2]

    # -- actions ---------------------------------------------------------------------------------------
    def normalise(self, actions: torch.Tensor) -> torch.Tensor:
        """Continuous dims divided by the scale; binary dims mapped 0/1 -> -1/+1 (decoder inputs)."""
        return torch.where(self.binary, actions * 2.0 - 1.0, actions / self.scale)

    def _decode(self, memory: torch.Tensor, pad: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        """Outputs for the tokens whose inputs are the start token and ``previous`` (B, k, A) normalised."""
        b, k = previous.shape[:2]
        inputs = torch.cat([self.start.expand(b, 1, -1), self.action_in(previous)], 1) + self.step_position[: k + 1]
        n = k + 1
        out = self.decoder(inputs, memory, tgt_mask=self.causal[:n, :n], memory_key_padding_mask=pad)
        return self.head(out)

    def loss(
        self,
        image: torch.Tensor,
        proprio: torch.Tensor,
        text_ids: torch.Tensor,
        actions: torch.Tensor,
        valid: torch.Tensor | None = None,
        return_features: bool = False,
    ):
        """Behaviour-cloning loss of a chunk of expert actions (B, chunk, A) with teacher forcing.

        Continuous dims: smooth-L1 on normalised values; binary dims: BCE on logits. ``valid`` (B, chunk)
        masks steps past an episode's end. With ``return_features`` also returns ``e`` (B, width).
        """
        c, a = self.spec.chunk, self.spec.action_dim
        if actions.ndim != 3 or actions.shape[1:] != (c, a) or actions.shape[0] != image.shape[0]:
            raise ValueError(f"actions must be (B, {c}, {a}) with B = {image.shape[0]}, got {tuple(actions.shape)}")
        memory, pad, feature = self.encode(image, proprio, text_ids)
        target = self.normalise(actions.float())
        pred = self._decode(memory, pad, target[:, :-1])
        cont = F.smooth_l1_loss(pred, target, reduction="none", beta=0.1)
        bce = F.binary_cross_entropy_with_logits(pred, actions.float().clamp(0, 1), reduction="none")
        per = torch.where(self.binary, bce, cont).mean(-1)  # (B, chunk)
        if valid is None:
            loss = per.mean()
        else:
            w = valid.float()
            loss = (per * w).sum() / w.sum().clamp_min(1.0)
        return (loss, feature) if return_features else loss

    @torch.no_grad()
    def act(self, image: torch.Tensor, proprio: torch.Tensor, text_ids: torch.Tensor) -> torch.Tensor:
        """Generate an action chunk (B, chunk, A) token by token (binary dims as 0/1)."""
        memory, pad, _ = self.encode(image, proprio, text_ids)
        b = memory.shape[0]
        previous = memory.new_zeros(b, 0, self.spec.action_dim)
        for _ in range(self.spec.chunk):
            out = self._decode(memory, pad, previous)[:, -1]
            step = torch.where(self.binary, (out > 0).float() * 2.0 - 1.0, out)
            previous = torch.cat([previous, step.unsqueeze(1)], 1)
        return torch.where(self.binary, (previous + 1.0) / 2.0, previous * self.scale)

    def encode_text(self, texts: Sequence[str]) -> torch.Tensor:
        return self.tokenizer.encode(texts).to(self.start.device)
