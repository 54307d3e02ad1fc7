"""The MVAE baseline as the DMBN authors adapted it (Seker et al. 2022, Section 5.2 and Appendix D).

After Zambelli et al. (2020): a denoising multimodal autoencoder whose input is the state at ``t`` and
``t+1`` side by side (images stacked to 6 channels, joints concatenated to ``2 D`` values). Entries are
masked with :data:`MASK_VALUE` (-2, outside the data range: images are in [0, 1], joints scaled to
[-1, 1]) and the network reconstructs the whole pair. The authors' changes, all kept here:

- the DMBN's conv image encoder/decoder and dense joint encoder/decoder (Tables D.6-D.10);
- no standard-deviation output and no KL term, so the latent is deterministic: the shared layer is
  ``tanh(Dense(256 -> latent))`` (we use its mean head only; Table D.8 lists a std head that has no loss
  term once the KL is gone);
- an extra masking scheme that drops the state at ``t`` so the model can also be chained backwards.

Trajectories are predicted by feeding outputs back in (:func:`rollout`): forward from the conditioning
step to the end and backward from it to the start.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from sensorimotor.dmbn.model import DMBNSpec, ImageDecoder, ImageEncoder, _mlp, init_weights

MASK_VALUE = -2.0

# Which entries of (image_t, joint_t, image_t1, joint_t1) each training scheme masks (True = masked).
MASK_SCHEMES: tuple[tuple[bool, bool, bool, bool], ...] = (
    (False, False, False, False),  # nothing: plain reconstruction
    (True, False, True, False),  # image missing at both steps
    (False, True, False, True),  # joints missing at both steps
    (False, False, True, True),  # future unknown: forward prediction
    (True, False, True, True),  # future unknown, joints only at t
    (False, True, True, True),  # future unknown, image only at t
    (True, True, False, False),  # past unknown: backward prediction
    (True, True, True, False),  # past unknown, joints only at t+1
    (True, True, False, True),  # past unknown, image only at t+1
)


class MVAE(nn.Module):
    """Deterministic multimodal autoencoder of state pairs (t, t+1)."""

    def __init__(self, spec: DMBNSpec) -> None:
        super().__init__()
        self.spec = spec
        d, z = spec.joint_dim, spec.latent_dim
        self.image_encoder = ImageEncoder(spec, in_channels=6)
        self.joint_encoder = _mlp((2 * d, *spec.joint_encoder, z), final_activation=True)
        self.shared = nn.Linear(2 * z, z)
        self.split = nn.Linear(z, 2 * z)
        self.image_decoder = ImageDecoder(spec, z, out_channels=6)
        self.joint_decoder = _mlp((z, *spec.joint_decoder, 2 * d), final_activation=False)
        init_weights(self)
        # the tanh layer gets Glorot weights scaled to keep its input in tanh's linear range: with He
        # weights 44 % of its units start saturated (inputs hold -2 masks) and the MVAE barely learns
        nn.init.xavier_uniform_(self.shared.weight, gain=0.5)
        self.to(memory_format=torch.channels_last)

    def forward(self, image_pair: torch.Tensor, joint_pair: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``image_pair`` ``(B, 6, H, W)``, ``joint_pair`` ``(B, 2D)`` (masked entries = -2) -> reconstructions."""
        h = torch.cat([self.image_encoder(image_pair), self.joint_encoder(joint_pair)], dim=1)
        latent = torch.tanh(self.shared(h))
        image_half, joint_half = torch.relu(self.split(latent)).chunk(2, dim=1)
        return torch.sigmoid(self.image_decoder(image_half)), self.joint_decoder(joint_half)


def apply_masks(
    image_t: torch.Tensor,
    joint_t: torch.Tensor,
    image_t1: torch.Tensor,
    joint_t1: torch.Tensor,
    masks: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Build the masked inputs. ``masks`` is ``(B, 4)`` bool in the order of :data:`MASK_SCHEMES`."""
    def fill(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
        shape = (-1,) + (1,) * (x.ndim - 1)
        return torch.where(m.view(shape), torch.full_like(x, MASK_VALUE), x)

    image = torch.cat([fill(image_t, masks[:, 0]), fill(image_t1, masks[:, 2])], dim=1)
    joint = torch.cat([fill(joint_t, masks[:, 1]), fill(joint_t1, masks[:, 3])], dim=1)
    return image, joint


def mvae_loss(
    prediction: tuple[torch.Tensor, torch.Tensor], image_pair: torch.Tensor, joint_pair: torch.Tensor
) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean squared error of each modality's pair reconstruction, summed over the two modalities."""
    image_term = ((prediction[0] - image_pair) ** 2).mean()
    joint_term = ((prediction[1] - joint_pair) ** 2).mean()
    return image_term + joint_term, {"image": float(image_term.detach()), "joint": float(joint_term.detach())}


@torch.no_grad()
def rollout(
    model: MVAE,
    image: torch.Tensor,
    joint: torch.Tensor,
    available: Mapping[str, bool],
    t_cond: int,
    n_steps: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Predict a whole trajectory ``(T, 3, H, W)``, ``(T, D)`` from the state at step ``t_cond``.

    ``image`` ``(3, H, W)`` and ``joint`` ``(D,)`` are the observation at ``t_cond``; a modality with
    ``available[m] = False`` is masked. The forward chain feeds the predicted ``t+1`` back as the next
    ``t``; the backward chain feeds the predicted ``t`` back as the next ``t+1``. The value at
    ``t_cond`` is the model's reconstruction from the forward chain's first step.
    """
    if not 0 <= t_cond < n_steps:
        raise ValueError(f"t_cond={t_cond} outside 0..{n_steps - 1}")
    if not any(available.get(m, False) for m in ("image", "joint")):
        raise ValueError(f"at least one modality must be available, got {dict(available)}")
    model.eval()
    d = joint.shape[-1]
    masked_image = torch.full_like(image, MASK_VALUE)
    masked_joint = torch.full_like(joint, MASK_VALUE)
    img0 = image if available.get("image", False) else masked_image
    jnt0 = joint if available.get("joint", False) else masked_joint
    images = [None] * n_steps
    joints = [None] * n_steps

    # forward: (x_t, mask) -> (x_t, x_t+1)
    cur_i, cur_j = img0, jnt0
    for t in range(t_cond, n_steps):
        out_i, out_j = model(torch.cat([cur_i, masked_image])[None], torch.cat([cur_j, masked_joint])[None])
        if t == t_cond:
            images[t], joints[t] = out_i[0, :3], out_j[0, :d]
        if t + 1 < n_steps:
            images[t + 1], joints[t + 1] = out_i[0, 3:], out_j[0, d:]
            cur_i, cur_j = images[t + 1], joints[t + 1]
    # backward: (mask, x_t+1) -> (x_t, x_t+1)
    cur_i, cur_j = img0, jnt0
    for t in range(t_cond - 1, -1, -1):
        out_i, out_j = model(torch.cat([masked_image, cur_i])[None], torch.cat([masked_joint, cur_j])[None])
        images[t], joints[t] = out_i[0, :3], out_j[0, :d]
        cur_i, cur_j = images[t], joints[t]
    return torch.stack(images), torch.stack(joints)
