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
    """A convolutional LSTM cell: the four gates from one convolution over [input, hidden].

    Inputs that stay the same over a loop's steps (a DRAW core's representation, a renderer's latents and
    query) can enter through :meth:`fixed_gates`, computed once: a convolution is linear, so the gates over
    [fixed, input, hidden] are the fixed part's convolution plus the rest's (the same weights and function;
    only the rounding differs).
    """

    def __init__(self, in_channels: int, hidden: int, kernel: int = 5) -> None:
        super().__init__()
        self.hidden = hidden
        self.gates = nn.Conv2d(in_channels + hidden, 4 * hidden, kernel, padding=kernel // 2)

    def initial(self, n: int, grid: tuple[int, int], like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = like.new_zeros(n, self.hidden, *grid)
        return zeros, zeros

    def fixed_gates(self, fixed: torch.Tensor) -> torch.Tensor:
        """The gates' part (with the bias) from ``fixed``, the first ``fixed.shape[1]`` input channels."""
        split = fixed.shape[1]
        if split > self.gates.in_channels - self.hidden:
            raise ValueError(f"fixed inputs have {split} channels; this cell takes {self.gates.in_channels - self.hidden}")
        return F.conv2d(fixed, self.gates.weight[:, :split], self.gates.bias, padding=self.gates.padding)

    def forward(
        self, x: torch.Tensor | None, state: tuple[torch.Tensor, torch.Tensor] | None, fixed: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """One step on input ``x`` (None: no input besides ``fixed``) from ``state`` (None: the zero state,
        only with ``x`` None); ``fixed``: :meth:`fixed_gates` of the leading input channels, or None when
        ``x`` holds every input channel."""
        if fixed is not None and fixed.shape[1] != 4 * self.hidden:
            raise ValueError(f"fixed gates must have {4 * self.hidden} channels, got {fixed.shape[1]}")
        if state is None:  # zero hidden and cell states: the gates are the fixed part alone
            if x is not None or fixed is None:
                raise ValueError("a step from the zero state takes fixed gates and no other input")
            i, _, o, g = fixed.chunk(4, dim=1)
            c = torch.sigmoid(i) * torch.tanh(g)
            return torch.sigmoid(o) * torch.tanh(c), c
        h, c = state
        inputs = h if x is None else torch.cat([x, h], dim=1)
        if fixed is None:
            gates = self.gates(inputs)
        else:
            weight = self.gates.weight[:, self.gates.in_channels - inputs.shape[1] :]
            gates = fixed + F.conv2d(inputs, weight, None, padding=self.gates.padding)
        i, f, o, g = gates.chunk(4, dim=1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


def _subpixel_taps() -> torch.Tensor:
    """(2, 3, 4) 0/1: output phase a of a kernel-4, stride-2, padding-1 transposed convolution takes input
    offset d - 1 through kernel tap k where k = a + 1 - 2 (d - 1)."""
    taps = torch.zeros(2, 3, 4)
    for a in range(2):
        for d in range(3):
            k = a + 1 - 2 * (d - 1)
            if 0 <= k < 4:
                taps[a, d, k] = 1.0
    return taps


SUBPIXEL_TAPS = _subpixel_taps()


def upsample_subpixel(x: torch.Tensor, layer: nn.ConvTranspose2d) -> torch.Tensor:
    """``layer(x)`` for a kernel-4, stride-2, padding-1 transposed convolution, computed as a 3x3
    convolution to the four output phases followed by a pixel shuffle: the same function and weights (only
    the rounding differs), 1.6-2.5x faster than ``layer`` in the forward pass on this CPU at the renderers'
    evaluation sizes (slower in the backward pass, so training keeps ``layer``)."""
    if layer.kernel_size != (4, 4) or layer.stride != (2, 2) or layer.padding != (1, 1) or layer.groups != 1:
        raise ValueError(f"upsample_subpixel needs a kernel-4, stride-2, padding-1 transposed convolution, got {layer}")
    taps = SUBPIXEL_TAPS.to(layer.weight)
    # weight (in, out, ky, kx) -> (out, a, b, in, dy, dx) -> (out * 4, in, 3, 3), the shuffle's channel order
    weight = torch.einsum("ayk,bxl,iokl->oabiyx", taps, taps, layer.weight).reshape(-1, layer.in_channels, 3, 3)
    bias = None if layer.bias is None else layer.bias.repeat_interleave(4)
    return F.pixel_shuffle(F.conv2d(x, weight, bias, padding=1), 2)


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

    def fixed_gates(self, u_p: torch.Tensor, u_q: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The prior and posterior LSTMs' gate parts from ``u_p`` and ``u_q``, the same at every step."""
        return self.prior_lstm.fixed_gates(u_p), None if u_q is None else self.posterior_lstm.fixed_gates(u_q)

    def posterior(self, gates_q: torch.Tensor, state_p, state_q):
        """``gates_q``: the posterior LSTM's :meth:`fixed_gates` of ``u_q``."""
        state_q = self.posterior_lstm(state_p[0], state_q, fixed=gates_q)
        mean, logvar = self.posterior_head(state_q[0])
        return mean, logvar, state_q

    def advance(self, gates_p: torch.Tensor, z: torch.Tensor, state_p):
        """``gates_p``: the prior LSTM's :meth:`fixed_gates` of ``u_p``."""
        return self.prior_lstm(z, state_p, fixed=gates_p)


class CanvasRenderer(nn.Module):
    """A modality renderer: a ConvLSTM reads [all DRAW latents, query] for ``steps`` steps and a decoder
    adds its output to a canvas each step; the canvas is the mean of the sense's Gaussian likelihood.

    ``kind="image"``: decoder = conv, two stride-2 transposed convs (x4 upsampling; without gradients,
    computed by :func:`upsample_subpixel`), then pooled to the modality's (C, h, w). ``kind="haptic"``: decoder = MLP on the flattened hidden state.
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
        if self.kind == "image" and not torch.is_grad_enabled():  # evaluation: the faster form of the upsampling
            conv, relu, up1, _, up2 = self.decoder
            out = upsample_subpixel(relu(upsample_subpixel(relu(conv(h)), up1)), up2)
        else:
            out = self.decoder(h)
        if self.kind == "image" and tuple(out.shape[-2:]) != tuple(self.shape[-2:]):
            out = F.adaptive_avg_pool2d(out, self.shape[-2:])
        return out

    def forward(self, latents: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        """``latents`` (N, L, gh, gw) (one row per target), ``query`` (N, q) -> mean (N, *shape)."""
        q = query[:, :, None, None].expand(-1, -1, *self.grid)
        x = torch.cat([latents, q], dim=1)
        fixed = self.lstm.fixed_gates(x)  # the input is the same at every step
        state, canvas = None, None  # None: the zero state
        for _ in range(self.steps):
            state = self.lstm(None, state, fixed=fixed)
            delta = self._decode(state[0])
            canvas = delta if canvas is None else canvas + delta
        return canvas
