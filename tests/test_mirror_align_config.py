"""The mirror-alignment chapter's profiles: knobs validate, and the paper-size models train one step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sensorimotor.models.alignment import AlignmentHeads
from sensorimotor.models.mirror_experiments import build_models
from sensorimotor.models.mirror_training import MirrorData, TrainSpec, train_mirror
from sensorimotor.profiles import ConfigError, load_chapter_module
from sensorimotor.sim.tasks import ACTION_DIM, PROPRIO_DIM, all_instructions

CONFIG = Path(__file__).resolve().parents[1] / "replications" / "mirror_align" / "config.py"


@pytest.fixture(scope="module")
def chapter():
    return load_chapter_module(CONFIG)


def test_profiles_and_bad_knobs(chapter):
    for name in ("smoke", "default", "paper"):
        cfg = chapter.mirror_align_config(name)
        assert cfg.profile == name and cfg.tau > 0
    with pytest.raises(ConfigError, match="unknown task 'fly'"):
        chapter.mirror_align_config("smoke", tasks=["fly"])
    with pytest.raises(ConfigError, match="execute=9"):
        chapter.mirror_align_config("smoke", execute=9)
    with pytest.raises(ConfigError, match="unknown override"):
        chapter.mirror_align_config("smoke", temperature=0.1)


def test_paper_profile_models_train_one_step_on_cpu(chapter):
    cfg = chapter.mirror_align_config("paper", device="cpu")
    torch.set_num_threads(1)
    texts = tuple(i.text for i in all_instructions(cfg.tasks))
    u, e = build_models(cfg, texts, 0)
    n, steps, size = 2, 3, cfg.image_size
    gen = torch.Generator().manual_seed(0)
    data = MirrorData(
        videos=torch.randint(0, 256, (n, cfg.video_frames, cfg.video_size, cfg.video_size, 3), generator=gen,
                             dtype=torch.uint8),
        obs=torch.randint(0, 256, (n, steps, size, size, 3), generator=gen, dtype=torch.uint8),
        proprio=torch.randn(n, steps, PROPRIO_DIM, generator=gen), actions=torch.zeros(n, steps, ACTION_DIM),
        instruction=torch.tensor([0, 1]), task=torch.tensor([0, 0]), episode=torch.arange(n), instructions=texts,
    )  # fmt: skip
    heads = AlignmentHeads(u.feature_dim, e.feature_dim, cfg.shared_dim)
    spec = TrainSpec(steps=1, batch_size=2, lambda_align=cfg.lambda_align, tau=cfg.tau, level="episode",
                     steps_per_episode=1)  # fmt: skip
    history = train_mirror(u, e, heads, data, spec, seed=0, device="cpu", progress=False)
    assert all(np.isfinite(v).all() for v in history.values()) and len(history["align"]) == 1
