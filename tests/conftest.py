"""Shared fixtures. Every test gets a fresh, empty cache folder (never the user's cache)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("SENSORIMOTOR_CACHE", str(cache))
    return cache


@pytest.fixture
def project_root() -> Path:
    return ROOT


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a test module: several threads stall on OpenMP spin-waits when cores are shared."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
