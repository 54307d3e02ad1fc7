"""A convolutional autoencoder for grey images: encoder S x S -> latent vector, decoder back, MSE loss.

Used by the SOM-AE chapter (Jülg et al. 2023, Section 2.3): 64 x 64 -> 8 -> 64 x 64, trained first, then
frozen; the SOM learns on the (scaled) latent codes. Images enter as uint8 or float in [0, 1].
"""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import torch
from torch import nn

from sensorimotor.devices import resolve_device
from sensorimotor.progress import progress_bar
from sensorimotor.seeding import torch_generator


@dataclasses.dataclass(frozen=True)
class AutoencoderSpec:
    """Architecture: image side, latent size, and the channels of the stride-2 conv stages."""

    image_size: int = 64
    latent_dim: int = 8
    channels: tuple[int, ...] = (32, 64, 128, 256)

    def __post_init__(self) -> None:
        stages = len(self.channels)
        if self.latent_dim < 1:
            raise ValueError(f"latent_dim must be >= 1, got {self.latent_dim}")
        if stages < 1 or any(c < 1 for c in self.channels):
            raise ValueError(f"channels must be a non-empty tuple of positive ints, got {self.channels}")
        if self.image_size % (2**stages) or self.image_size < 2**stages:
            raise ValueError(
                f"image_size {self.image_size} must be a multiple of 2**{stages} (one halving per conv stage)"
            )

    @property
    def bottom(self) -> int:
        return self.image_size // 2 ** len(self.channels)


class ConvAutoencoder(nn.Module):
    """Conv(4, stride 2) + ReLU stages, a linear bottleneck, and the mirrored transposed convs + sigmoid."""

    def __init__(self, spec: AutoencoderSpec | None = None) -> None:
        super().__init__()
        self.spec = spec = spec or AutoencoderSpec()
        layers: list[nn.Module] = []
        previous = 1
        for c in spec.channels:
            layers += [nn.Conv2d(previous, c, 4, stride=2, padding=1), nn.ReLU(inplace=True)]
            previous = c
        flat = previous * spec.bottom**2
        self.encoder = nn.Sequential(*layers, nn.Flatten(), nn.Linear(flat, spec.latent_dim))
        up: list[nn.Module] = [nn.Linear(spec.latent_dim, flat), nn.Unflatten(1, (previous, spec.bottom, spec.bottom))]
        reversed_channels = [*reversed(spec.channels[:-1]), 1]
        for c in reversed_channels:
            up += [nn.ReLU(inplace=True), nn.ConvTranspose2d(previous, c, 4, stride=2, padding=1)]
            previous = c
        self.decoder = nn.Sequential(*up, nn.Sigmoid())

    def _check(self, images: torch.Tensor) -> torch.Tensor:
        s = self.spec.image_size
        if images.dim() == 3:
            images = images.unsqueeze(1)
        if images.dim() != 4 or images.shape[1:] != (1, s, s):
            raise ValueError(f"expected images (B, {s}, {s}) or (B, 1, {s}, {s}), got {tuple(images.shape)}")
        return images

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(B, S, S) or (B, 1, S, S) floats in [0, 1] -> (B, latent_dim)."""
        return self.encoder(self._check(images))

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, latent_dim) -> (B, S, S) in [0, 1]."""
        if latents.dim() != 2 or latents.shape[1] != self.spec.latent_dim:
            raise ValueError(f"expected latents (B, {self.spec.latent_dim}), got {tuple(latents.shape)}")
        return self.decoder(latents).squeeze(1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(images))


def as_float_images(images: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (0..255) or float (0..1) images -> float32 tensor in [0, 1]; rejects non-finite values."""
    tensor = torch.as_tensor(images)
    if tensor.dtype == torch.uint8:
        return tensor.float().div_(255.0)
    tensor = tensor.float()
    if not torch.isfinite(tensor).all():
        raise ValueError("images contain NaN or infinite values")
    return tensor


@dataclasses.dataclass(frozen=True)
class AutoencoderTraining:
    """Optimisation knobs for :func:`train_autoencoder`."""

    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError(f"epochs and batch_size must be >= 1, got {self.epochs}, {self.batch_size}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


def train_autoencoder(
    model: ConvAutoencoder,
    train_images: np.ndarray | torch.Tensor,
    val_images: np.ndarray | torch.Tensor | None,
    training: AutoencoderTraining,
    seed: int = 0,
    device: str | torch.device = "auto",
    progress: bool = True,
) -> dict[str, list[float] | float]:
    """Adam on the MSE reconstruction loss; returns per-epoch train/val MSE and wall seconds.

    Shuffling uses ``torch_generator(seed, "ae-shuffle")``; the model is left on ``device`` in eval mode.
    """
    device = resolve_device(device)
    train = as_float_images(train_images)
    val = as_float_images(val_images) if val_images is not None else None
    model.to(device).train()
    optimiser = torch.optim.Adam(model.parameters(), lr=training.lr, weight_decay=training.weight_decay)
    generator = torch_generator(seed, "ae-shuffle")
    n = len(train)
    steps = math.ceil(n / training.batch_size)
    history: dict[str, list[float] | float] = {"train_mse": [], "val_mse": []}
    start = time.perf_counter()
    bar = progress_bar(total=training.epochs * steps, desc="autoencoder", unit="step", progress=progress)
    for _ in range(training.epochs):
        model.train()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for step in range(steps):
            batch = train[order[step * training.batch_size : (step + 1) * training.batch_size]].to(device)
            loss = nn.functional.mse_loss(model(batch), batch)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
            bar.update()
        history["train_mse"].append(total / n)  # type: ignore[union-attr]
        if val is not None:
            history["val_mse"].append(reconstruction_mse(model, val, device=device))  # type: ignore[union-attr]
        bar.set_postfix(train=f"{total / n:.4f}")
    bar.close()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    history["seconds"] = time.perf_counter() - start
    model.eval()
    return history


@torch.no_grad()
def encode(model: ConvAutoencoder, images: np.ndarray | torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Latent codes (N, latent_dim) on the CPU, computed in batches on the model's device."""
    model.eval()
    device = next(model.parameters()).device
    data = as_float_images(images)
    parts = [model.encode(data[i : i + batch_size].to(device)).cpu() for i in range(0, len(data), batch_size)]
    return torch.cat(parts) if parts else torch.empty(0, model.spec.latent_dim)


@torch.no_grad()
def decode(model: ConvAutoencoder, latents: torch.Tensor, batch_size: int = 512) -> torch.Tensor:
    """Images (N, S, S) in [0, 1] on the CPU from latent codes, computed in batches."""
    model.eval()
    device = next(model.parameters()).device
    latents = torch.as_tensor(latents, dtype=torch.float32)
    parts = [model.decode(latents[i : i + batch_size].to(device)).cpu() for i in range(0, len(latents), batch_size)]
    s = model.spec.image_size
    return torch.cat(parts) if parts else torch.empty(0, s, s)


@torch.no_grad()
def reconstruction_mse(
    model: ConvAutoencoder, images: np.ndarray | torch.Tensor, device: str | torch.device | None = None
) -> float:
    """Mean squared reconstruction error over ``images``."""
    data = as_float_images(images)
    recon = decode(model, encode(model, data))
    return float(nn.functional.mse_loss(recon, data))


@dataclasses.dataclass(frozen=True)
class LatentScaler:
    """Per-dimension affine map of latent codes to [0, 1] on the training set (and back).

    The SOM compares modalities by mean absolute error; scaling the codes to the joints' [0, 1] range
    keeps one modality from dominating the winner search by its units alone.
    """

    low: tuple[float, ...]
    high: tuple[float, ...]

    @classmethod
    def fit(cls, latents: torch.Tensor) -> LatentScaler:
        if latents.dim() != 2 or len(latents) < 2:
            raise ValueError(f"need latents (N >= 2, D), got {tuple(latents.shape)}")
        low, high = latents.min(0).values, latents.max(0).values
        high = torch.where(high - low > 1e-8, high, low + 1e-8)
        return cls(tuple(low.tolist()), tuple(high.tolist()))

    def _bounds(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        low = torch.tensor(self.low, dtype=like.dtype, device=like.device)
        return low, torch.tensor(self.high, dtype=like.dtype, device=like.device) - low

    def transform(self, latents: torch.Tensor) -> torch.Tensor:
        low, width = self._bounds(latents)
        return (latents - low) / width

    def inverse(self, scaled: torch.Tensor) -> torch.Tensor:
        low, width = self._bounds(scaled)
        return scaled * width + low


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())

