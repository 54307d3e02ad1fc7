"""ConvDRAW (Gregor et al., 2016) pieces used by the GQN-style models: ConvLSTM cells, Gaussian heads,
a prior/posterior DRAW core that runs one step at a time, canvas renderers, and Gaussian algebra
(product of experts, KL, log densities).

The core is written step by step because the product-of-experts models of the GMN paper combine the
Gaussians of several cores at every DRAW step before sampling the step's latent (eq. 5).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

LOG_2PI = math.log(2 * math.pi)
LOGVAR_RANGE = (-12.0, 8.0)


# --------------------------------------------------------------------------------------------------
# Gaussian algebra
# --------------------------------------------------------------------------------------------------


def product_of_gaussians(mean: torch.Tensor, logvar: torch.Tensor, dim: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Product of diagonal Gaussian experts stacked along ``dim``: precision-weighted mean, summed precision.

    With precisions U_m = 1/var_m: var = 1 / sum_m U_m and mean = var * sum_m U_m mean_m (Section 2.5).
    """
    precision = torch.exp(-logvar)
    total = precision.sum(dim)
    out_mean = (mean * precision).sum(dim) / total
    return out_mean, -torch.log(total)


def gaussian_kl(mean_q, logvar_q, mean_p, logvar_p) -> torch.Tensor:
    """Elementwise KL(N(mean_q, var_q) || N(mean_p, var_p))."""
    return 0.5 * (logvar_p - logvar_q + (torch.exp(logvar_q) + (mean_q - mean_p) ** 2) * torch.exp(-logvar_p) - 1.0)


def gaussian_log_density(x, mean, logvar) -> torch.Tensor:
    """Elementwise log N(x; mean, exp(logvar))."""
    return -0.5 * (LOG_2PI + logvar + (x - mean) ** 2 * torch.exp(-logvar))


def sum_per_sample(x: torch.Tensor) -> torch.Tensor:
    return x.flatten(1).sum(1)


# --------------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------------


class ConvLSTMCell(nn.Module):
    """A convolutional LSTM cell: the four gates from one convolution over [input, hidden]."""

    def __init__(self, in_channels: int, hidden: int, kernel: int = 5) -> None:
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(in_channels + hidden, 4 * hidden, kernel, padding=kernel // 2)

    def initial(self, n: int, grid: tuple[int, int], like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = like.new_zeros(n, self.hidden, *grid)
        return zeros, zeros

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        h, c = state
        i, f, o, g = self.gates(torch.cat([x, h], dim=1)).chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class GaussianHead(nn.Module):
    """A convolution mapping features to the mean and log-variance of a diagonal Gaussian."""

    def __init__(self, in_channels: int, z_channels: int, kernel: int = 5) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, 2 * z_channels, kernel, padding=kernel // 2)

    def forward(self, h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.conv(h).chunk(2, dim=1)
        return mean, logvar.clamp(*LOGVAR_RANGE)


class DrawCore(nn.Module):
    """One ConvDRAW inference/generation core pair, advanced one step at a time.

    Prior step t: (mean, logvar) from the prior state's hidden ``h_p``; after z_t is drawn the prior
    LSTM reads [u_p, z_t]. Posterior step t: the posterior LSTM reads [u_q, h_p] and its hidden gives
    (mean, logvar). ``u_p`` is the context representation, ``u_q`` the target+context representation.
    """

    def __init__(self, prior_in: int, posterior_in: int, hidden: int, z_channels: int, kernel: int = 5) -> None:
        super().__init__()
        self.prior_lstm = ConvLSTMCell(prior_in + z_channels, hidden, kernel)
        self.posterior_lstm = ConvLSTMCell(posterior_in + hidden, hidden, kernel)
        self.prior_head = GaussianHead(hidden, z_channels, kernel)
        self.posterior_head = GaussianHead(hidden, z_channels, kernel)

    def initial(self, n: int, grid: tuple[int, int], like: torch.Tensor):
        return self.prior_lstm.initial(n, grid, like), self.posterior_lstm.initial(n, grid, like)

    def prior(self, state_p) -> tuple[torch.Tensor, torch.Tensor]:
        return self.prior_head(state_p[0])

    def posterior(self, u_q: torch.Tensor, state_p, state_q):
        state_q = self.posterior_lstm(torch.cat([u_q, state_p[0]], dim=1), state_q)
        mean, logvar = self.posterior_head(state_q[0])
        return mean, logvar, state_q

    def advance(self, u_p: torch.Tensor, z: torch.Tensor, state_p):
        return self.prior_lstm(torch.cat([u_p, z], dim=1), state_p)


class CanvasRenderer(nn.Module):
    """A modality renderer: a ConvLSTM reads [all DRAW latents, query] for ``steps`` steps and a decoder
    adds its output to a canvas each step; the canvas is the mean of the sense's Gaussian likelihood.

    ``kind="image"``: decoder = conv, two stride-2 transposed convs (x4 upsampling), then pooled to the
    modality's (C, h, w). ``kind="haptic"``: decoder = MLP on the flattened hidden state.
    """

    def __init__(
        self, kind: str, shape: tuple[int, ...], latent_channels: int, query_dim: int, hidden: int,
        grid: tuple[int, int], steps: int, decoder_channels: int, haptic_hidden: int, kernel: int = 5,
    ) -> None:  # fmt: skip
        super().__init__()
        if kind not in ("image", "haptic"):
            raise ValueError(f"unknown renderer kind {kind!r}; accepted: 'image', 'haptic'")
        self.kind, self.shape, self.grid, self.steps = kind, tuple(shape), tuple(grid), steps
        self.lstm = ConvLSTMCell(latent_channels + query_dim, hidden, kernel)
        if kind == "image":
            c = decoder_channels
            self.decoder = nn.Sequential(
                nn.Conv2d(hidden, c, kernel, padding=kernel // 2), nn.ReLU(),
                nn.ConvTranspose2d(c, 2 * c, 4, stride=2, padding=1), nn.ReLU(),
                nn.ConvTranspose2d(2 * c, shape[0], 4, stride=2, padding=1),
            )  # fmt: skip
        else:
            self.decoder = nn.Sequential(
                nn.Flatten(), nn.Linear(hidden * grid[0] * grid[1], haptic_hidden), nn.ReLU(),
                nn.Linear(haptic_hidden, haptic_hidden), nn.ReLU(), nn.Linear(haptic_hidden, shape[0]),
            )  # fmt: skip

    def _decode(self, h: torch.Tensor) -> torch.Tensor:
        out = self.decoder(h)
        if self.kind == "image" and tuple(out.shape[-2:]) != tuple(self.shape[-2:]):
            out = F.adaptive_avg_pool2d(out, self.shape[-2:])
        return out

    def forward(self, latents: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """``latents`` (N, L, gh, gw) (one row per target), ``query`` (N, q) -> mean (N, *shape)."""
        q = query[:, :, None, None].expand(-1, -1, *self.grid)
        x = torch.cat([latents, q], dim=1)
        state = self.lstm.initial(len(x), self.grid, x)
        canvas = None
        for _ in range(self.steps):
            state = self.lstm(x, state)
            delta = self._decode(state[0])
            canvas = delta if canvas is None else canvas + delta
        return canvas
