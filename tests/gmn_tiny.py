"""The tiny GMN architecture and scene set that the GMN test modules share (import the fixture to use it)."""

from __future__ import annotations

import pytest

from sensorimotor.gmn.model import GMNArch
from sensorimotor.gmn.scenes import SceneDatasetConfig, scene_dataset

TINY = GMNArch(r_channels=8, lstm_channels=8, z_channels=2, draw_steps=2, decoder_channels=4, tower_channels=8,
               haptic_hidden=16, core_kernel=3, renderer_kernel=3)  # fmt: skip


@pytest.fixture(scope="module", name="data")
def tiny_scenes():
    """Six 16-pixel scenes of six views each (the fixture ``data``)."""
    return scene_dataset(SceneDatasetConfig(n_scenes=6, n_views=6, image_size=16, supersample=1), workers=1, progress=False)
