"""One place to seed every source of randomness, and to derive independent generators."""

from __future__ import annotations

import hashlib
import os
import random

import numpy as np


def seed_everything(seed: int, deterministic_torch: bool = True) -> np.random.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA) and return a NumPy generator for ``seed``.

    pybullet has no global random state: its simulations are deterministic given the same calls, and
    :mod:`sensorimotor.sim` clients enable ``deterministicOverlappingPairs``. Library functions never
    draw from global state; they take a generator or a seed (see :func:`rng`).
    """
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    os.environ["PYTHONHASHSEED"] = str(seed)
    import torch

    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic_torch:
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.backends.cudnn.benchmark = False
    return np.random.default_rng(seed)


def stream_words(name: str) -> list[int]:
    """Four 32-bit words from the sha256 of the whole UTF-8 ``name``: names that share a prefix differ."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def rng(seed: int, *stream: int | str) -> np.random.Generator:
    """An independent NumPy generator for ``seed`` and a named stream (e.g. ``rng(0, "data", 3)``).

    Each string part counts in full (see :func:`stream_words`); ints enter as they are."""
    words = [seed]
    for part in stream:
        words += stream_words(part) if isinstance(part, str) else [part]
    return np.random.default_rng(np.random.SeedSequence(words))


def torch_generator(seed: int, *stream: int | str, device: str = "cpu"):
    """A torch generator derived like :func:`rng`, for sampling inside library code."""
    import torch

    g = torch.Generator(device=device)
    g.manual_seed(int(rng(seed, *stream).integers(0, 2**63 - 1)))
    return g
