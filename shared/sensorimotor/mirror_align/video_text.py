"""The action-understanding model U: a small video encoder and an instruction text encoder (ViCLIP-like).

Zhu et al. 2025 fine-tune ViCLIP (a CLIP ViT over frames + a text transformer) with its video-text
contrastive objective on RLBench videos. This is the same structure at a size a CPU trains in minutes:

- :class:`InstructionTokenizer`: lower-cased word tokens; words outside the vocabulary are hashed into a
  few "unknown" buckets (a stable CRC32 of the word), so any instruction encodes, and two different
  unknown words usually get different ids.
- :class:`TextEncoder`: word + position embeddings, a small transformer, masked mean pooling.
- :class:`VideoEncoder`: a per-frame CNN (frames -> tokens), frame-position embeddings and a small temporal
  transformer, mean pooled. Its pooled output is the representation ``u`` that the alignment heads read.
- :class:`ActionUnderstanding`: both encoders, projections into a joint video-text space and a learnable
  temperature (CLIP's logit scale). Its loss is the symmetric video-text InfoNCE in which every video of
  the batch whose instruction equals a text's counts as that text's positive.

Action recognition (:meth:`ActionUnderstanding.recognise`) picks, for each video, the candidate
instruction whose text embedding is most similar: the paper's action-recognition accuracy.

Videos are uint8 or float tensors ``(B, F, H, W, 3)`` (as recorded) or float ``(B, F, 3, H, W)`` in [0, 1].
"""

from __future__ import annotations

import dataclasses
import math
import re
import zlib
from collections.abc import Iterable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from sensorimotor.mirror_align.alignment import multi_positive_nce

PAD_ID = 0
_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> list[str]:
    """Lower-cased alphanumeric words of ``text`` (punctuation dropped)."""
    if not isinstance(text, str):
        raise TypeError(f"an instruction must be a str, got {text!r} ({type(text).__name__})")
    return _WORD.findall(text.lower())


class InstructionTokenizer:
    """Word-level tokenizer with hashed unknown-word buckets.

    Ids: 0 = padding, ``1..n_unknown`` = unknown-word buckets, then the vocabulary in sorted order.
    """

    def __init__(self, vocabulary: Iterable[str], max_length: int = 12, n_unknown: int = 8) -> None:
        if max_length < 1 or n_unknown < 1:
            raise ValueError(f"max_length and n_unknown must be >= 1, got {max_length}, {n_unknown}")
        vocab = sorted({w for text in vocabulary for w in words(text)})
        self.vocabulary: tuple[str, ...] = tuple(vocab)
        self.max_length = max_length
        self.n_unknown = n_unknown
        self._ids = {w: 1 + n_unknown + i for i, w in enumerate(vocab)}

    @property
    def vocab_size(self) -> int:
        return 1 + self.n_unknown + len(self.vocabulary)

    def token_ids(self, text: str) -> list[int]:
        ids = []
        for word in words(text)[: self.max_length]:
            ids.append(self._ids.get(word, 1 + zlib.crc32(word.encode()) % self.n_unknown))
        return ids

    def unknown_words(self, text: str) -> list[str]:
        return [w for w in words(text) if w not in self._ids]

    def encode(self, texts: Sequence[str] | str) -> torch.Tensor:
        """(B, max_length) int64 ids, padded with 0. An empty text encodes as one unknown token."""
        if isinstance(texts, str):
            texts = [texts]
        rows = [self.token_ids(t) or [1] for t in texts]
        out = torch.full((len(rows), self.max_length), PAD_ID, dtype=torch.long)
        for i, row in enumerate(rows):
            out[i, : len(row)] = torch.tensor(row)
        return out


def video_to_float(video: torch.Tensor) -> torch.Tensor:
    """(B, F, H, W, 3) uint8/float or (B, F, 3, H, W) float -> float (B, F, 3, H, W) in [0, 1]."""
    if video.ndim != 5:
        raise ValueError(f"a video batch must have 5 dims (B, F, H, W, 3), got shape {tuple(video.shape)}")
    if video.shape[-1] == 3 and video.shape[2] != 3:
        video = video.permute(0, 1, 4, 2, 3)
    if video.dtype == torch.uint8:
        return video.float() / 255.0
    return video.float()


def image_to_float(image: torch.Tensor) -> torch.Tensor:
    """(B, H, W, 3) uint8/float or (B, 3, H, W) float -> float (B, 3, H, W) in [0, 1]."""
    if image.ndim != 4:
        raise ValueError(f"an image batch must have 4 dims (B, H, W, 3), got shape {tuple(image.shape)}")
    if image.shape[-1] == 3 and image.shape[1] != 3:
        image = image.permute(0, 3, 1, 2)
    if image.dtype == torch.uint8:
        return image.float() / 255.0
    return image.float()


class ConvTokens(nn.Module):
    """A small CNN: image (B, 3, H, W) -> a grid of ``grid**2`` tokens of size ``width`` with positions.

    The first conv also sees two coordinate channels (CoordConv), which helps locate small objects.
    ``strides`` (default: 2 for every layer) sets each conv's stride. ``norm_groups`` > 0 puts a
    GroupNorm with that many groups (at most the conv's channels) after each convolution: without it,
    U's frame encoder maps every video to nearly the same feature at initialisation (issue 31).
    """

    def __init__(
        self, channels: Sequence[int], width: int, grid: int = 4, strides: Sequence[int] | None = None,
        norm_groups: int = 0,
    ) -> None:
        super().__init__()
        strides = tuple(strides) if strides else (2,) * len(channels)
        if len(strides) != len(channels):
            raise ValueError(f"{len(strides)} strides for {len(channels)} conv layers")
        layers: list[nn.Module] = []
        c_in = 5
        for i, (c, s) in enumerate(zip(channels, strides, strict=True)):
            layers.append(nn.Conv2d(c_in, c, 5 if i == 0 else 3, stride=s, padding=2 if i == 0 else 1))
            if norm_groups > 0:
                layers.append(nn.GroupNorm(math.gcd(norm_groups, c), c))
            layers.append(nn.GELU())
            c_in = c
        self.out_channels = c_in
        self.convs = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(grid)
        self.proj = nn.Linear(c_in, width)
        self.position = nn.Parameter(torch.randn(grid * grid, width) * 0.02)

    def feature_map(self, image: torch.Tensor) -> torch.Tensor:
        b, _, h, w = image.shape
        ys = torch.linspace(-1, 1, h, device=image.device).view(1, 1, h, 1).expand(b, 1, h, w)
        xs = torch.linspace(-1, 1, w, device=image.device).view(1, 1, 1, w).expand(b, 1, h, w)
        return self.convs(torch.cat([image, xs, ys], 1))

    def tokens(self, maps: torch.Tensor) -> torch.Tensor:
        grid = self.pool(maps)  # (B, C, g, g)
        return self.proj(grid.flatten(2).transpose(1, 2)) + self.position  # (B, g*g, width)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.tokens(self.feature_map(image))


class SpatialSoftmax(nn.Module):
    """Feature maps (B, C, h, w) -> the expected image coordinates of each channel (B, 2C) (Levine 2016)."""

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        b, c, h, w = maps.shape
        attention = maps.flatten(2).softmax(-1).view(b, c, h, w)
        ys = torch.linspace(-1, 1, h, device=maps.device)
        xs = torch.linspace(-1, 1, w, device=maps.device)
        return torch.cat([(attention.sum(2) * xs).sum(-1), (attention.sum(3) * ys).sum(-1)], 1)


def transformer(width: int, heads: int, layers: int, dropout: float = 0.0) -> nn.TransformerEncoder:
    layer = nn.TransformerEncoderLayer(
        width, heads, dim_feedforward=2 * width, dropout=dropout, batch_first=True, norm_first=True,
        activation="gelu",
    )
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)


def masked_mean(x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """Mean of (B, L, D) over L where ``keep`` (B, L) is True."""
    w = keep.float().unsqueeze(-1)
    return (x * w).sum(1) / w.sum(1).clamp_min(1.0)


class TextEncoder(nn.Module):
    """Instruction ids (B, L) -> pooled text feature (B, width)."""

    def __init__(self, vocab_size: int, max_length: int, width: int, heads: int, layers: int) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, width, padding_idx=PAD_ID)
        self.position = nn.Parameter(torch.randn(max_length, width) * 0.02)
        self.encoder = transformer(width, heads, layers)
        self.norm = nn.LayerNorm(width)

    def tokens(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-word features (B, L, width) and the mask of real (non-padding) words (B, L)."""
        keep = ids != PAD_ID
        x = self.embed(ids) + self.position[: ids.shape[1]]
        return self.norm(self.encoder(x, src_key_padding_mask=~keep)), keep

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x, keep = self.tokens(ids)
        return masked_mean(x, keep)


class FrameEncoder(nn.Module):
    """A small CNN: image (B, 3, H, W) -> one feature (B, width) that keeps a coarse spatial layout."""

    def __init__(self, channels: Sequence[int], width: int, grid: int = 3, norm_groups: int = 0) -> None:
        super().__init__()
        self.tokens = ConvTokens(channels, width, grid, norm_groups=norm_groups)
        self.proj = nn.Sequential(nn.Flatten(1), nn.Linear(grid * grid * width, width), nn.LayerNorm(width))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.proj(self.tokens(image))


class VideoEncoder(nn.Module):
    """Video (B, F, 3, H, W) -> pooled feature (B, width): per-frame CNN, then a temporal transformer."""

    def __init__(
        self, n_frames: int, channels: Sequence[int], width: int, heads: int, layers: int, norm_groups: int = 0
    ) -> None:
        super().__init__()
        self.frames = FrameEncoder(channels, width, norm_groups=norm_groups)
        self.time = nn.Parameter(torch.randn(n_frames, width) * 0.02)
        self.temporal = transformer(width, heads, layers)
        self.norm = nn.LayerNorm(width)
        self.n_frames = n_frames

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        video = video_to_float(video)
        b, f = video.shape[:2]
        if f != self.n_frames:
            raise ValueError(f"this encoder takes {self.n_frames} frames per video, got {f}")
        per_frame = self.frames(video.flatten(0, 1)).view(b, f, -1) + self.time
        return self.norm(self.temporal(per_frame).mean(1))


@dataclasses.dataclass(frozen=True)
class ActionUnderstandingSpec:
    """Sizes of U. The paper's U is ViCLIP-B/16 (8 frames, 224x224, 512-D joint space)."""

    vocabulary: tuple[str, ...]  # instruction texts (or words) the tokenizer knows
    n_frames: int = 6
    channels: tuple[int, ...] = (16, 32, 64, 64)
    width: int = 64
    heads: int = 4
    video_layers: int = 1
    text_layers: int = 1
    embed_dim: int = 64
    max_words: int = 12
    n_unknown: int = 8
    init_temperature: float = 0.07
    norm_groups: int = 8  # GroupNorm groups after each frame convolution (0: none, the first two passes)


class ActionUnderstanding(nn.Module):
    """U: video encoder + text encoder + projections + learnable temperature (video-text contrastive)."""

    def __init__(self, spec: ActionUnderstandingSpec) -> None:
        super().__init__()
        self.spec = spec
        self.tokenizer = InstructionTokenizer(spec.vocabulary, spec.max_words, spec.n_unknown)
        self.video = VideoEncoder(spec.n_frames, spec.channels, spec.width, spec.heads, spec.video_layers,
                                  spec.norm_groups)
        self.text = TextEncoder(self.tokenizer.vocab_size, spec.max_words, spec.width, spec.heads, spec.text_layers)
        self.video_proj = nn.Linear(spec.width, spec.embed_dim)
        self.text_proj = nn.Linear(spec.width, spec.embed_dim)
        self.log_scale = nn.Parameter(torch.tensor(math.log(1.0 / spec.init_temperature)))

    @property
    def feature_dim(self) -> int:
        """Size of the representation ``u`` that the alignment heads read."""
        return self.spec.width

    def features(self, video: torch.Tensor) -> torch.Tensor:
        """The intermediate representation ``u`` of each video (B, width)."""
        return self.video(video)

    def embed_video(self, video: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.video_proj(self.features(video)), dim=-1)

    def embed_text(self, texts: Sequence[str] | torch.Tensor) -> torch.Tensor:
        ids = texts if isinstance(texts, torch.Tensor) else self.tokenizer.encode(texts)
        ids = ids.to(self.log_scale.device)
        return F.normalize(self.text_proj(self.text(ids)), dim=-1)

    def contrastive_loss(
        self, video_features: torch.Tensor, text_ids: torch.Tensor, labels: torch.Tensor
    ) -> torch.Tensor:
        """Symmetric video-text InfoNCE; ``labels`` (B,) = instruction ids (same id = positives)."""
        v = F.normalize(self.video_proj(video_features), dim=-1)
        t = self.embed_text(text_ids)
        scale = self.log_scale.clamp(max=math.log(100.0)).exp()
        return multi_positive_nce(scale * v @ t.T, labels)

    def loss(self, video: torch.Tensor, text_ids: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.contrastive_loss(self.features(video), text_ids, labels)

    @torch.no_grad()
    def recognise(self, video: torch.Tensor, candidates: Sequence[str], batch_size: int = 64) -> torch.Tensor:
        """Index into ``candidates`` of the instruction each video shows (B,)."""
        if len(candidates) == 0:
            raise ValueError("recognise needs at least one candidate instruction")
        t = self.embed_text(list(candidates))
        out = []
        for start in range(0, video.shape[0], batch_size):
            v = self.embed_video(video[start : start + batch_size].to(t.device))
            out.append((v @ t.T).argmax(1).cpu())
        return torch.cat(out)
