"""Generative Multisensory Networks (Lim et al., 2019): baseline, PoE and Amortized PoE (APoE).

A scene is observed through modalities m (e.g. image, haptics) as query-sense pairs. Each modality
has a representation network f_m (GQN style); a modality's context representation is a learned
*empty* representation plus the sum of f_m over its context pairs, laid out on the latent grid
(image height/4 x width/4). A ConvDRAW latent z (``draw_steps`` Gaussian maps of ``z_channels``)
explains all target pairs through modality-specific canvas renderers with a Gaussian likelihood of
fixed standard deviation. Three ways to infer z (the paper's Fig. 2):

* ``baseline``: the modality representations are summed and one ConvDRAW core infers z (a
  multimodal CGQN, as in Kumar et al. 2018).
* ``poe``: one ConvDRAW core (expert) per modality; at each DRAW step the prior and the posterior are
  the products of the experts' Gaussians.
* ``apoe``: one *shared* core (the expert amortizer) takes each modality's representation together
  with a one-hot modality id; the experts run as one batch and their Gaussians are multiplied as in
  ``poe`` (eq. 2 for the prior, eq. 5 for the posterior).

Every modality contributes an expert, also when it has no pairs in a scene (its expert then sees the
learned empty representation), as in the authors' code (``product="all"``). ``product="context"`` is
the paper's eq. 2 instead: the product runs over the experts of the modalities that have pairs in the
scene (context modalities for the prior; context or target modalities for the posterior) times a
standard-normal prior expert N(0, I), so a scene without context gets N(0, I). It is a test-time
switch on the same trained weights (:func:`with_product`). Inputs are ``{name: (sense, query, scene)}``
with ``scene`` the batch index (0..n_scenes-1) each pair belongs to; an empty context is valid.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from sensorimotor.gmn.convdraw import (
    CanvasRenderer,
    DrawCore,
    gaussian_kl,
    gaussian_log_density,
    product_of_gaussians,
    sum_per_sample,
)

SCHEMES = ("baseline", "poe", "apoe")
PRODUCTS = ("all", "context")
GREY_WEIGHTS = (0.299, 0.587, 0.114)


@dataclasses.dataclass(frozen=True)
class ModalitySpec:
    """A modality as the model sees it: a name, a kind and the shape of one sense."""

    name: str
    kind: Literal["image", "haptic"]
    shape: tuple[int, ...]
    query_dim: int = 7

    def __post_init__(self) -> None:
        if self.kind not in ("image", "haptic"):
            raise ValueError(f"modality {self.name!r}: unknown kind {self.kind!r}; accepted: 'image', 'haptic'")
        if (self.kind == "image" and len(self.shape) != 3) or (self.kind == "haptic" and len(self.shape) != 1):
            raise ValueError(f"modality {self.name!r}: shape {self.shape} does not fit kind {self.kind!r}")

    @classmethod
    def of(cls, obj: Any) -> ModalitySpec:
        """Accept a ModalitySpec or anything with ``name``, ``kind`` and ``shape`` (e.g. data.scenes.Modality)."""
        if isinstance(obj, cls):
            return obj
        return cls(str(obj.name), obj.kind, tuple(int(s) for s in obj.shape), int(getattr(obj, "query_dim", 7)))


@dataclasses.dataclass(frozen=True)
class GMNArch:
    """Widths and steps. Paper values (authors' code, model 'v4'): r_channels 256, lstm_channels 64,
    z_channels 3, draw_steps 12, decoder_channels 32, tower_channels 256, haptic_hidden 512, kernels 5."""

    r_channels: int = 32
    lstm_channels: int = 32
    z_channels: int = 3
    draw_steps: int = 4
    decoder_channels: int = 16
    tower_channels: int = 32
    haptic_hidden: int = 128
    core_kernel: int = 5
    renderer_kernel: int = 5
    default_grid: tuple[int, int] = (8, 8)  # latent grid when no image modality fixes it


class Pairs(NamedTuple):
    """Query-sense pairs of one modality for a batch of scenes."""

    sense: torch.Tensor  # (N, *shape)
    query: torch.Tensor  # (N, query_dim)
    scene: torch.Tensor  # (N,) long, batch index of each pair's scene


Observations = Mapping[str, "Pairs | tuple[torch.Tensor, torch.Tensor, torch.Tensor]"]


class ResidualConv(nn.Module):
    """conv(k) + (1x1 projection or identity) skip."""

    def __init__(self, cin: int, cout: int, kernel: int = 3) -> None:
        super().__init__()
        self.main = nn.Conv2d(cin, cout, kernel, padding=kernel // 2)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.main(x) + self.skip(x)


class ImageRepresentation(nn.Module):
    """GQN 'tower' representation network: image + query -> (r_channels, h/4, w/4)."""

    def __init__(self, spec: ModalitySpec, arch: GMNArch, grid: tuple[int, int]) -> None:
        super().__init__()
        c, w = spec.shape[0], arch.tower_channels
        self.grid = grid
        self.image = nn.Sequential(
            nn.Conv2d(c, w, 2, stride=2), nn.ReLU(), ResidualConv(w, w // 2), nn.ReLU(),
            nn.Conv2d(w // 2, w, 2, stride=2), nn.ReLU(),
        )  # fmt: skip
        self.joint = nn.Sequential(
            ResidualConv(w + spec.query_dim, w // 2), nn.ReLU(), nn.Conv2d(w // 2, w, 3, padding=1), nn.ReLU(),
            nn.Conv2d(w, arch.r_channels, 3, padding=1), nn.ReLU(),
        )  # fmt: skip

    def forward(self, sense: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        x = self.image(sense)
        x = torch.cat([x, query[:, :, None, None].expand(-1, -1, *x.shape[-2:])], dim=1)
        r = self.joint(x)
        if tuple(r.shape[-2:]) != tuple(self.grid):
            r = F.interpolate(r, size=self.grid, mode="nearest")
        return r


class HapticRepresentation(nn.Module):
    """MLP representation network: haptic sense + query -> (r_channels, grid) (the authors' 1x1 convs)."""

    def __init__(self, spec: ModalitySpec, arch: GMNArch, grid: tuple[int, int]) -> None:
        super().__init__()
        d, h = spec.shape[0], arch.haptic_hidden
        self.grid, self.r = grid, arch.r_channels
        self.sense = nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, h // 2), nn.ReLU(), nn.Linear(h // 2, h), nn.ReLU())
        self.joint = nn.Sequential(
            nn.Linear(h + spec.query_dim, h // 2), nn.ReLU(), nn.Linear(h // 2, h), nn.ReLU(),
            nn.Linear(h, arch.r_channels * grid[0] * grid[1]), nn.ReLU(),
        )  # fmt: skip

    def forward(self, sense: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        r = self.joint(torch.cat([self.sense(sense), query], dim=1))
        return r.view(len(r), self.r, *self.grid)


class GMN(nn.Module):
    """A generative multisensory network with ``scheme`` in ('baseline', 'poe', 'apoe')."""

    def __init__(self, modalities: Sequence[Any], arch: GMNArch = GMNArch(), scheme: str = "apoe") -> None:
        super().__init__()
        if scheme not in SCHEMES:
            raise ValueError(f"unknown scheme {scheme!r}; accepted: {', '.join(SCHEMES)}")
        self.specs = [ModalitySpec.of(m) for m in modalities]
        if not self.specs:
            raise ValueError("a GMN needs at least one modality")
        self.names = [s.name for s in self.specs]
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"modality names must be unique, got {self.names}")
        self.arch, self.scheme = arch, scheme
        self.product = "all"  # which experts the PoE/APoE product multiplies; see with_product()
        self.grid = self._latent_grid()
        m, r = len(self.specs), arch.r_channels
        self.representations = nn.ModuleDict(
            {s.name: (ImageRepresentation if s.kind == "image" else HapticRepresentation)(s, arch, self.grid) for s in self.specs}
        )
        self.empty = nn.ParameterDict({s.name: nn.Parameter(torch.zeros(r, *self.grid)) for s in self.specs})
        extra = m if scheme == "apoe" else 0
        n_cores = m if scheme == "poe" else 1
        self.cores = nn.ModuleList(
            [DrawCore(r + extra, 2 * r + extra, arch.lstm_channels, arch.z_channels, arch.core_kernel) for _ in range(n_cores)]
        )
        latent = arch.z_channels * arch.draw_steps
        self.renderers = nn.ModuleDict(
            {
                s.name: CanvasRenderer(
                    s.kind, s.shape, latent, s.query_dim, arch.lstm_channels, self.grid, arch.draw_steps,
                    arch.decoder_channels, arch.haptic_hidden, arch.renderer_kernel,
                )  # fmt: skip
                for s in self.specs
            }
        )
        self.register_buffer("modality_ids", torch.eye(m), persistent=False)

    # ---------------------------------------------------------------------------------------------
    # input checks
    # ---------------------------------------------------------------------------------------------

    def _latent_grid(self) -> tuple[int, int]:
        shapes = {s.shape[1:] for s in self.specs if s.kind == "image"}
        if not shapes:
            return tuple(self.arch.default_grid)
        if len(shapes) > 1:
            raise ValueError(f"all image modalities must share one size (the latent grid), got {sorted(shapes)}")
        h, w = shapes.pop()
        if h % 4 or w % 4:
            raise ValueError(f"image modality size {(h, w)} must be divisible by 4")
        return (h // 4, w // 4)

    def _check(self, obs: Observations | None, n_scenes: int, what: str) -> dict[str, Pairs]:
        if not isinstance(n_scenes, int) or n_scenes < 1:
            raise ValueError(f"n_scenes must be a positive int, got {n_scenes!r}")
        obs = dict(obs or {})
        unknown = sorted(set(obs) - set(self.names))
        if unknown:
            raise ValueError(f"{what} has modality {unknown} that this model was not built for; its modalities: {self.names}")
        out = {}
        for spec in self.specs:
            if spec.name not in obs:
                continue
            item = obs[spec.name]
            if len(item) != 3:
                raise ValueError(f"{what}[{spec.name!r}] must be (sense, query, scene), got {len(item)} items")
            sense, query, scene = item
            n = len(sense)
            if tuple(sense.shape[1:]) != spec.shape:
                raise ValueError(f"{what}[{spec.name!r}] senses have shape {tuple(sense.shape[1:])}; expected {spec.shape}")
            if query.ndim != 2 or query.shape != (n, spec.query_dim):
                raise ValueError(
                    f"{what}[{spec.name!r}] queries have shape {tuple(query.shape)}; expected ({n}, {spec.query_dim})"
                )
            if scene.shape != (n,) or scene.dtype not in (torch.int64, torch.int32):
                raise ValueError(f"{what}[{spec.name!r}] scene index must be an integer tensor of shape ({n},)")
            if n and (int(scene.min()) < 0 or int(scene.max()) >= n_scenes):
                raise ValueError(f"{what}[{spec.name!r}] scene index outside [0, {n_scenes})")
            if n:
                out[spec.name] = Pairs(sense, query, scene.long())
        return out

    # ---------------------------------------------------------------------------------------------
    # representations and the DRAW loop
    # ---------------------------------------------------------------------------------------------

    def represent(self, obs: Mapping[str, Pairs], n_scenes: int) -> torch.Tensor:
        """Per-modality representations (n_scenes, M, r, gh, gw): empty representation + sum of pairs."""
        reps = []
        for spec in self.specs:
            rep = self.empty[spec.name].unsqueeze(0).expand(n_scenes, -1, -1, -1)
            if spec.name in obs:
                pairs = obs[spec.name]
                encoded = self.representations[spec.name](pairs.sense, pairs.query)
                rep = rep.index_add(0, pairs.scene, encoded)
            reps.append(rep)
        return torch.stack(reps, dim=1)

    def presence(self, obs: Mapping[str, Pairs], n_scenes: int, like: torch.Tensor) -> torch.Tensor:
        """(n_scenes, M) float: 1 where a scene has at least one pair of the modality."""
        out = like.new_zeros(n_scenes, len(self.specs))
        for m, spec in enumerate(self.specs):
            if spec.name in obs:
                out[:, m] = out[:, m].index_fill(0, obs[spec.name].scene, 1.0)
        return out

    def _expert_masks(self, context: Mapping[str, Pairs], target: Mapping[str, Pairs] | None, n: int, like: torch.Tensor):
        """Masks (n, E) of the experts entering the prior and posterior products, or (None, None) for all."""
        if self.product == "all" or self.scheme == "baseline":
            return None, None
        mask_p = self.presence(context, n, like)
        mask_q = None if target is None else torch.clamp(mask_p + self.presence(target, n, like), max=1.0)
        return mask_p, mask_q

    def _expert_inputs(self, rep_c: torch.Tensor, rep_t: torch.Tensor | None):
        """(n, E, channels, gh, gw) inputs of the prior and posterior experts."""
        if self.scheme == "baseline":
            u_p = rep_c.sum(1, keepdim=True)
            u_q = None if rep_t is None else torch.cat([rep_t.sum(1, keepdim=True), u_p], dim=2)
            return u_p, u_q
        if self.scheme == "apoe":
            n, m = rep_c.shape[:2]
            ids = self.modality_ids[None, :, :, None, None].expand(n, m, m, *self.grid)
            u_p = torch.cat([rep_c, ids], dim=2)
            u_q = None if rep_t is None else torch.cat([rep_t, rep_c, ids], dim=2)
            return u_p, u_q
        return rep_c, (None if rep_t is None else torch.cat([rep_t, rep_c], dim=2))

    def _groups(self, n_experts: int) -> list[tuple[DrawCore, slice]]:
        if len(self.cores) == 1:
            return [(self.cores[0], slice(0, n_experts))]
        return [(core, slice(e, e + 1)) for e, core in enumerate(self.cores)]

    def draw(
        self, u_p: torch.Tensor, u_q: torch.Tensor | None, generator: torch.Generator | None = None,
        mask_p: torch.Tensor | None = None, mask_q: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:  # fmt: skip
        """Run the DRAW loop. Samples z from the product posterior if ``u_q`` is given, else from the
        product prior. Returns latents (n, steps*z, gh, gw) and per-scene kl, log_prior, log_posterior.

        ``mask_p`` / ``mask_q`` (n, E): the experts entering the prior / posterior product, together with
        a standard-normal prior expert (eq. 2); None multiplies every expert and no prior expert.
        """
        n, e = u_p.shape[:2]
        groups = self._groups(e)
        flat = lambda t, sl: t[:, sl].reshape(n * (sl.stop - sl.start), *t.shape[2:])  # noqa: E731
        unflat = lambda t, sl: t.view(n, sl.stop - sl.start, *t.shape[1:])  # noqa: E731
        states = [core.initial(n * (sl.stop - sl.start), self.grid, u_p) for core, sl in groups]
        gates = [core.fixed_gates(flat(u_p, sl), None if u_q is None else flat(u_q, sl)) for core, sl in groups]
        latents, kl, log_p, log_q = [], 0.0, 0.0, 0.0
        for _ in range(self.arch.draw_steps):
            priors = [core.prior(st[0]) for (core, sl), st in zip(groups, states, strict=True)]
            mean_p, logvar_p = _product(
                torch.cat([unflat(p[0], sl) for p, (_, sl) in zip(priors, groups, strict=True)], 1),
                torch.cat([unflat(p[1], sl) for p, (_, sl) in zip(priors, groups, strict=True)], 1),
                mask_p,
            )
            noise = torch.randn(mean_p.shape, generator=generator, device=mean_p.device, dtype=mean_p.dtype)
            if u_q is not None:
                posts = []
                for i, ((core, sl), (st_p, st_q)) in enumerate(zip(groups, states, strict=True)):
                    mean, logvar, st_q = core.posterior(gates[i][1], st_p, st_q)
                    states[i] = (st_p, st_q)
                    posts.append((unflat(mean, sl), unflat(logvar, sl)))
                mean_q, logvar_q = _product(torch.cat([p[0] for p in posts], 1), torch.cat([p[1] for p in posts], 1), mask_q)
                z = mean_q + torch.exp(0.5 * logvar_q) * noise
                kl = kl + sum_per_sample(gaussian_kl(mean_q, logvar_q, mean_p, logvar_p))
                log_q = log_q + sum_per_sample(gaussian_log_density(z, mean_q, logvar_q))
            else:
                z = mean_p + torch.exp(0.5 * logvar_p) * noise
            log_p = log_p + sum_per_sample(gaussian_log_density(z, mean_p, logvar_p))
            for i, ((core, sl), (st_p, st_q)) in enumerate(zip(groups, states, strict=True)):
                k = sl.stop - sl.start
                z_e = z[:, None].expand(n, k, *z.shape[1:]).reshape(n * k, *z.shape[1:])
                states[i] = (core.advance(gates[i][0], z_e, st_p), st_q)
            latents.append(z)
        zero = u_p.new_zeros(n)
        as_vec = lambda v: v if torch.is_tensor(v) else zero  # noqa: E731
        return {"latents": torch.cat(latents, dim=1), "kl": as_vec(kl), "log_prior": as_vec(log_p), "log_posterior": as_vec(log_q)}

    # ---------------------------------------------------------------------------------------------
    # rendering and likelihoods
    # ---------------------------------------------------------------------------------------------

    def render(self, latents: torch.Tensor, name: str, query: torch.Tensor, scene: torch.Tensor) -> torch.Tensor:
        """Mean sense (N, *shape) of modality ``name`` at ``query`` for scenes ``scene`` of ``latents``."""
        return self.renderers[name](latents.index_select(0, scene), query)

    def sense_log_likelihood(
        self, latents: torch.Tensor, name: str, sense: torch.Tensor, query: torch.Tensor, index: torch.Tensor,
        sigma: float, grey: bool = False,
    ) -> torch.Tensor:  # fmt: skip
        """log N(sense; render(latents[index], query), sigma^2) summed over each pair's dimensions (N,).

        ``grey=True`` scores RGB image modalities in grey (prediction and truth both converted).
        """
        spec = self.specs[self.names.index(name)]
        mean = self.render(latents, name, query, index)
        if grey and spec.kind == "image" and spec.shape[0] == 3:
            w = mean.new_tensor(GREY_WEIGHTS)[None, :, None, None]
            mean, sense = (mean * w).sum(1, keepdim=True), (sense * w).sum(1, keepdim=True)
        return sum_per_sample(gaussian_log_density(sense, mean, mean.new_tensor(2 * math.log(sigma))))

    @torch.no_grad()
    def sample_prior(
        self, context: Observations | None, n_scenes: int, n_samples: int = 1, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """``n_samples`` draws of z ~ p(z|C) per scene: latents (n_samples * n_scenes, L, gh, gw), sample-major."""
        context = self._check(context, n_scenes, "context")
        rep_c = self.represent(context, n_scenes)
        u_p, _ = self._expert_inputs(rep_c, None)
        mask_p, _ = self._expert_masks(context, None, n_scenes, rep_c)
        rep = lambda t: None if t is None else t.repeat(n_samples, *([1] * (t.ndim - 1)))  # noqa: E731
        return self.draw(rep(u_p), None, generator, rep(mask_p))["latents"]

    def _target_log_likelihood(
        self, latents: torch.Tensor, target: Mapping[str, Pairs], n: int, sigma: float, grey: bool
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor], torch.Tensor]:
        total = latents.new_zeros(n)
        per_modality, dims = {}, latents.new_zeros(n)
        for spec in self.specs:
            if spec.name not in target:
                continue
            pairs = target[spec.name]
            ll = self.sense_log_likelihood(latents, spec.name, pairs.sense, pairs.query, pairs.scene, sigma, grey)
            scene_ll = latents.new_zeros(n).index_add(0, pairs.scene, ll)
            per_modality[spec.name] = scene_ll
            total = total + scene_ll
            per_pair = pairs.sense[0].numel() // (spec.shape[0] if grey and spec.kind == "image" and spec.shape[0] == 3 else 1)
            dims = dims.index_add(0, pairs.scene, latents.new_full((len(ll),), float(per_pair)))
        return total, per_modality, dims

    def elbo(
        self, context: Observations | None, target: Observations, n_scenes: int, sigma: float = 0.1,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:  # fmt: skip
        """The ELBO of eq. 4 per scene: E_q[log p(X|V,z)] - KL(q(z|C,O) || p(z|C)) (one z sample).

        Returns ``elbo``, ``log_likelihood``, ``kl``, ``dims`` (target dimensions) per scene and ``loss``
        (mean over scenes of -elbo).
        """
        context = self._check(context, n_scenes, "context")
        target = self._check(target, n_scenes, "target")
        if not target:
            raise ValueError("empty target set: the ELBO needs at least one target query-sense pair")
        rep_c = self.represent(context, n_scenes)
        rep_t = self.represent(target, n_scenes)
        u_p, u_q = self._expert_inputs(rep_c, rep_t)
        mask_p, mask_q = self._expert_masks(context, target, n_scenes, rep_c)
        out = self.draw(u_p, u_q, generator, mask_p, mask_q)
        ll, per_modality, dims = self._target_log_likelihood(out["latents"], target, n_scenes, sigma, grey=False)
        elbo = ll - out["kl"]
        return {"elbo": elbo, "log_likelihood": ll, "kl": out["kl"], "dims": dims, "loss": -elbo.mean(),
                **{f"log_likelihood/{k}": v for k, v in per_modality.items()}}  # fmt: skip

    @torch.no_grad()
    def log_likelihood(
        self, context: Observations | None, target: Observations, n_scenes: int, n_samples: int = 8,
        sigma: float = 0.1, grey: bool | tuple[bool, ...] = False, proposal: str = "posterior",
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:  # fmt: skip
        """Importance-sampled log p(X | V, C) per scene (n_scenes,), with ``n_samples`` samples of z.

        ``proposal='posterior'`` weighs samples of q(z|C,O) by p(z|C)/q(z|C,O) (IWAE bound, tight as
        n_samples grows); ``proposal='prior'`` averages p(X|z) over z ~ p(z|C). ``grey=True`` scores RGB
        image modalities in grey (both the prediction and the truth converted), as in Fig. 3(a); a tuple
        such as ``(False, True)`` scores both from the same z samples and returns (len(grey), n_scenes).
        """
        if proposal not in ("posterior", "prior"):
            raise ValueError(f"unknown proposal {proposal!r}; accepted: 'posterior', 'prior'")
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        context = self._check(context, n_scenes, "context")
        target = self._check(target, n_scenes, "target")
        if not target:
            raise ValueError("empty target set: log p(X|V,C) needs at least one target query-sense pair")
        rep_c = self.represent(context, n_scenes)
        rep_t = self.represent(target, n_scenes) if proposal == "posterior" else None
        u_p, u_q = self._expert_inputs(rep_c, rep_t)
        mask_p, mask_q = self._expert_masks(context, target if proposal == "posterior" else None, n_scenes, rep_c)
        k, n = n_samples, n_scenes
        rep = lambda t: None if t is None else t.repeat(k, *([1] * (t.ndim - 1)))  # noqa: E731
        out = self.draw(rep(u_p), rep(u_q), generator, rep(mask_p), rep(mask_q))
        tiled = {
            name: Pairs(p.sense.repeat(k, *([1] * (p.sense.ndim - 1))), p.query.repeat(k, 1),
                        torch.cat([p.scene + i * n for i in range(k)]))
            for name, p in target.items()
        }  # fmt: skip
        results = []
        for flag in grey if isinstance(grey, tuple) else (grey,):
            ll, _, _ = self._target_log_likelihood(out["latents"], tiled, k * n, sigma, bool(flag))
            log_w = ll + (out["log_prior"] - out["log_posterior"] if proposal == "posterior" else 0.0)
            results.append(torch.logsumexp(log_w.view(k, n), dim=0) - math.log(k))
        return torch.stack(results) if isinstance(grey, tuple) else results[0]

    @torch.no_grad()
    def generate(
        self, context: Observations | None, queries: Mapping[str, tuple[torch.Tensor, torch.Tensor]], n_scenes: int,
        generator: torch.Generator | None = None,
    ) -> dict[str, torch.Tensor]:  # fmt: skip
        """Sample z ~ p(z|C) once per scene and render the mean sense at each ``(query, scene)`` of ``queries``."""
        unknown = sorted(set(queries) - set(self.names))
        if unknown:
            raise ValueError(f"queries for modality {unknown} that this model was not built for; its modalities: {self.names}")
        latents = self.sample_prior(context, n_scenes, 1, generator)
        out = {}
        for name, (query, scene) in queries.items():
            spec = self.specs[self.names.index(name)]
            if query.ndim != 2 or query.shape[1] != spec.query_dim:
                raise ValueError(f"queries[{name!r}] have shape {tuple(query.shape)}; expected (n, {spec.query_dim})")
            out[name] = self.render(latents, name, query, scene.long())
        return out


def _product(mean: torch.Tensor, logvar: torch.Tensor, mask: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Product of the experts stacked on dim 1; with ``mask`` (n, E) only the masked-in experts and N(0, I)."""
    if mask is None:
        return product_of_gaussians(mean, logvar, dim=1)
    w = mask.view(*mask.shape, *([1] * (mean.ndim - 2))) * torch.exp(-logvar)
    total = w.sum(1) + 1.0  # the standard-normal prior expert: precision 1, mean 0
    return (w * mean).sum(1) / total, -torch.log(total)


def with_product(model: GMN, product: str) -> GMN:
    """A view of ``model`` sharing its weights whose PoE/APoE product is ``product`` ('all': every
    modality's expert, as in the authors' code; 'context': eq. 2, the modalities with pairs and N(0, I))."""
    if product not in PRODUCTS:
        raise ValueError(f"unknown product {product!r}; accepted: {', '.join(PRODUCTS)}")
    view = copy.copy(model)
    view.product = product
    return view


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
