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
