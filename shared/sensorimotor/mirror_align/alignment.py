"""Mirror-neuron alignment (Zhu et al. 2025): two linear maps into a shared space and bidirectional InfoNCE.

The action-understanding model U gives a representation ``u`` of an observed video, the embodied policy E
a representation ``e`` of an executed episode. Two linear layers ``T_u`` and ``T_e`` map both into a shared
space ``Z`` (the paper: 1024-D); the alignment loss is the symmetric InfoNCE of the cosine similarities at
temperature ``tau`` (the paper: 0.1)::

    L_align = -1/(2B) sum_i [ log sum_{j in P(i)} exp(s_ij / tau) / sum_j exp(s_ij / tau)   (u -> e)
                              + the same with the roles of u and e swapped ]                 (e -> u)

``P(i)`` holds the columns that count as positives for row ``i``. The paper builds positive pairs at one of
three levels (:data:`POSITIVE_LEVELS`): the same ``episode``, the same ``instruction`` (other scene), or the
same ``task`` class. A batch of pairs carries one group label per pair (the episode, instruction or task
id); every column with the row's label is a positive. With one pair per label this is exactly the
paper's single-positive InfoNCE; with repeated labels it does not push apart pairs the level calls
equal (those would otherwise be false negatives).

Alignment is measured by Recall@1 (:func:`recall_at_1`): the fraction of ``u`` queries whose nearest ``e``
in the shared space carries the query's label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

POSITIVE_LEVELS = ("episode", "instruction", "task")
PAPER_SHARED_DIM = 1024  # Section 3.2: Z in R^1024
PAPER_TAU = 0.1  # Section 4: temperature
PAPER_ALIGN_LR = 1e-4  # Section 4: learning rate of the alignment layers
PAPER_LAMBDA_EE = 1.0
PAPER_LAMBDA_ALIGN = 0.5


def check_tau(tau: float) -> float:
    """``tau`` as a float; raises ValueError unless it is a finite number > 0."""
    if isinstance(tau, bool) or not isinstance(tau, (int, float)) or not math.isfinite(tau) or tau <= 0:
        raise ValueError(f"temperature tau must be a finite number > 0, got {tau!r}")
    return float(tau)


def check_level(level: str) -> str:
    if level not in POSITIVE_LEVELS:
        raise ValueError(f"unknown positive level {level!r}; accepted: {', '.join(POSITIVE_LEVELS)}")
    return level


def _check_pairs(z_u: torch.Tensor, z_e: torch.Tensor, labels: torch.Tensor | None) -> None:
    if z_u.ndim != 2 or z_e.ndim != 2:
        raise ValueError(f"expected two (B, D) tensors, got shapes {tuple(z_u.shape)} and {tuple(z_e.shape)}")
    if z_u.shape != z_e.shape:
        raise ValueError(
            f"mismatched batch of pairs: u has shape {tuple(z_u.shape)}, e has shape {tuple(z_e.shape)}; "
            "row i of u must pair with row i of e"
        )
    if z_u.shape[0] == 0:
        raise ValueError("empty batch of pairs")
    if labels is not None and (labels.ndim != 1 or labels.shape[0] != z_u.shape[0]):
        raise ValueError(f"labels must have shape ({z_u.shape[0]},), got {tuple(labels.shape)}")


def positive_mask(labels: torch.Tensor) -> torch.Tensor:
    """(B, B) bool: entry (i, j) is True when pair i and pair j carry the same group label."""
    return labels[:, None] == labels[None, :]


def info_nce(
    z_u: torch.Tensor, z_e: torch.Tensor, tau: float = PAPER_TAU, labels: torch.Tensor | None = None
) -> torch.Tensor:
    """Bidirectional InfoNCE between row-paired embeddings (cosine similarity / ``tau``).

    ``labels`` (B,) marks which rows count as positives of each other (see the module docstring); None
    means only the diagonal. Returns the mean of the two directions' losses (a scalar).
    """
    tau = check_tau(tau)
    _check_pairs(z_u, z_e, labels)
    logits = F.normalize(z_u, dim=-1) @ F.normalize(z_e, dim=-1).T / tau
    if labels is None:
        target = torch.arange(z_u.shape[0], device=z_u.device)
        return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
    return multi_positive_nce(logits, labels.to(z_u.device))


def multi_positive_nce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE from a (B, B) logit matrix in which equal ``labels`` mark positives.

    Row direction: ``-log sum_{j: l_j = l_i} exp(logit_ij) / sum_j exp(logit_ij)``; the column direction
    the same on the transpose; the result is the mean of the two.
    """
    if logits.ndim != 2 or logits.shape[0] != logits.shape[1] or labels.shape != (logits.shape[0],):
        raise ValueError(f"need (B, B) logits and (B,) labels, got {tuple(logits.shape)} and {tuple(labels.shape)}")
    mask = positive_mask(labels)
    neg_inf = torch.finfo(logits.dtype).min
    rows = torch.logsumexp(logits.masked_fill(~mask, neg_inf), 1) - torch.logsumexp(logits, 1)
    cols = torch.logsumexp(logits.T.masked_fill(~mask.T, neg_inf), 1) - torch.logsumexp(logits.T, 1)
    return -0.5 * (rows.mean() + cols.mean())


class AlignmentHeads(nn.Module):
    """The two linear maps ``T_u: R^du -> Z`` and ``T_e: R^de -> Z`` (outputs L2-normalised)."""

    def __init__(self, u_dim: int, e_dim: int, shared_dim: int = PAPER_SHARED_DIM) -> None:
        super().__init__()
        for name, value in (("u_dim", u_dim), ("e_dim", e_dim), ("shared_dim", shared_dim)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.to_shared_u = nn.Linear(u_dim, shared_dim)
        self.to_shared_e = nn.Linear(e_dim, shared_dim)

    def forward(self, u: torch.Tensor, e: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.map_u(u), self.map_e(e)

    def map_u(self, u: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.to_shared_u(u), dim=-1)

    def map_e(self, e: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.to_shared_e(e), dim=-1)

    def loss(
        self, u: torch.Tensor, e: torch.Tensor, tau: float = PAPER_TAU, labels: torch.Tensor | None = None
    ) -> torch.Tensor:
        if u.ndim != 2 or e.ndim != 2 or u.shape[0] != e.shape[0]:
            raise ValueError(
                f"mismatched batch of pairs: u has shape {tuple(u.shape)}, e has shape {tuple(e.shape)}; "
                "both must be (B, dim) with the same B"
            )
        z_u, z_e = self(u, e)
        return info_nce(z_u, z_e, tau, labels)


def recall_at_1(z_u: torch.Tensor | np.ndarray, z_e: torch.Tensor | np.ndarray, labels=None) -> float:
    """Fraction of rows of ``z_u`` whose most similar row of ``z_e`` (cosine) has the row's label.

    ``labels`` None: the correct match of row i is row i (episode-level retrieval).
    """
    z_u, z_e = torch.as_tensor(np.asarray(z_u), dtype=torch.float32), torch.as_tensor(np.asarray(z_e), dtype=torch.float32)
    labels_t = None if labels is None else torch.as_tensor(np.asarray(labels))
    _check_pairs(z_u, z_e, labels_t)
    sim = F.normalize(z_u, dim=-1) @ F.normalize(z_e, dim=-1).T
    best = sim.argmax(1)
    if labels_t is None:
        return float((best == torch.arange(len(best))).float().mean())
    return float((labels_t[best] == labels_t).float().mean())


def chance_recall_at_1(labels=None, n: int | None = None) -> float:
    """Recall@1 of a random retriever: mean over rows of (#rows with the same label) / N."""
    if labels is None:
        if n is None or n < 1:
            raise ValueError("give labels or a positive n")
        return 1.0 / n
    labels = np.asarray(labels)
    _, counts = np.unique(labels, return_counts=True)
    return float((counts**2).sum() / len(labels) ** 2)


def pair_similarity(z_u: torch.Tensor | np.ndarray, z_e: torch.Tensor | np.ndarray) -> np.ndarray:
    """Cosine similarity of each matched pair (row i of u with row i of e): (N,) array."""
    z_u, z_e = torch.as_tensor(np.asarray(z_u), dtype=torch.float32), torch.as_tensor(np.asarray(z_e), dtype=torch.float32)
    _check_pairs(z_u, z_e, None)
    return (F.normalize(z_u, dim=-1) * F.normalize(z_e, dim=-1)).sum(-1).numpy()


def group_labels(level: str, ids: Mapping[str, np.ndarray]) -> np.ndarray:
    """The label array of a positive level from ``ids`` holding ``episode``, ``instruction`` and ``task``."""
    check_level(level)
    if level not in ids:
        raise KeyError(f"ids has no {level!r} labels; keys: {sorted(ids)}")
    return np.asarray(ids[level])


def sample_partners(labels: np.ndarray, anchors: np.ndarray, rng: np.random.Generator, exclude_self: bool) -> np.ndarray:
    """For each anchor index, a random index with the same label (another one where possible).

    This is how the paper builds pairs above the episode level: the video of episode ``i`` is paired with
    the execution of an episode ``j`` of the same instruction (or task), a different scene.
    """
    labels = np.asarray(labels)
    by_label: dict = {}
    for index, label in enumerate(labels.tolist()):
        by_label.setdefault(label, []).append(index)
    partners = np.empty(len(anchors), dtype=np.int64)
    for k, a in enumerate(np.asarray(anchors).tolist()):
        pool = by_label[labels[a].item()]
        if exclude_self and len(pool) > 1:
            choice = pool[int(rng.integers(len(pool) - 1))]
            partners[k] = choice if choice != a else pool[-1]
        else:
            partners[k] = pool[int(rng.integers(len(pool)))]
    return partners
