"""The DMBN chapter's profiles, and one training step of the `paper`-profile networks (so the GPU path
cannot rot)."""

import numpy as np
import pytest
import torch

from sensorimotor.claims import Claim, Rule, Seeds
from sensorimotor.dmbn.model import DMBN, PAPER_IMAGE_CHANNELS, PAPER_JOINT_DECODER, PAPER_JOINT_ENCODER
from sensorimotor.dmbn.mvae import MVAE
from sensorimotor.dmbn.training import JointScaler, SequenceData, make_spec, train_dmbn, train_mvae
from sensorimotor.profiles import ConfigError, load_chapter_module


@pytest.fixture(scope="module")
def chapter(project_root_module):
    return load_chapter_module(project_root_module / "replications" / "dmbn" / "config.py")


@pytest.fixture(scope="module")
def project_root_module():
    from pathlib import Path

    return Path(__file__).resolve().parents[1]


def paper_spec(cfg, image_only=False):
    return make_spec(
        image_size=cfg.image_size, joint_dim=8, image_width=cfg.image_width, image_head=cfg.image_head,
        latent_dim=cfg.latent_dim, joint_encoder=cfg.joint_encoder, joint_decoder=cfg.joint_decoder,
        image_sigma=cfg.image_sigma, image_only=image_only,
    )


def test_profiles_and_criteria(chapter):
    for name in ("smoke", "default", "paper"):
        cfg = chapter.dmbn_config(name)
        assert cfg.profile == name
    paper = chapter.dmbn_config("paper")
    assert (paper.image_size, paper.batch_size, paper.train_steps, paper.lr) == (128, 1, 1_000_000, 1e-4)
    assert paper.table1_seeds == 10 and paper.obs_max == 5
    assert all(isinstance(c, Rule) for c in chapter.CRITERIA.values())
    assert {"5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "5.7", "A-B"} <= set(chapter.CRITERIA)


def test_rules_need_seeds_and_checks(chapter):
    rules = chapter.CRITERIA
    assert all(r.min_seeds >= 3 and r.kind == "result" for r in rules.values())
    # claims measured on one network say why; 5.7 and the authors'-data claims train three seeds each
    assert not any(r.seed_note for k, r in rules.items() if k != "5.6")  # every network is trained per seed
    assert len(chapter.dmbn_config("default").other_angles) >= 8  # 5.5's contrast per side
    image_claims = {k for k, r in rules.items() if chapter.IMAGE_CHECK in r.checks}
    assert image_claims == {"5.2", "5.3", "5.7", "5.1-authors", "5.2-authors", "5.3-authors"}
    # on the authors' data the trivial answer (the mean trajectory) scores a ratio of exactly 1
    assert rules["5.1-authors"].criterion.partly > 1.0
    assert chapter.dmbn_config("default").authors_seeds >= 3
    # partly bars sit above the trivial answers named in config.py's comments
    assert rules["5.1"].criterion.partly > 0.65 and rules["5.5"].criterion.partly > 0.0  # 5.5: a lift over a control
    assert rules["A-B"].criterion.partly > 0.5
    # a failed instrument check makes a passing value inconclusive; enough seeds and checks judge it
    ok = Seeds({0: 0.3, 1: 0.3, 2: 0.3})
    judge = {chapter.IMAGE_CHECK: Seeds({0: 1.2, 1: 1.1, 2: 1.3}), chapter.JUDGE_CHECK: Seeds({0: 0.9, 1: 0.9, 2: 0.85})}
    assert Claim("x", "s", "t", 0.5, ok, rules["5.7"], checks=judge).verdict == "reproduced"
    blind = {**judge, chapter.JUDGE_CHECK: Seeds({0: 0.7, 1: 0.7, 2: 0.7})}
    assert Claim("x", "s", "t", 0.5, ok, rules["5.7"], checks=blind).verdict == "inconclusive"
    one = Claim("x", "s", "t", 1, 0.9, rules["5.1"], checks={chapter.MAJORITY_CHECK: 5})
    assert one.verdict == "inconclusive" and "seeds: 1 measured, 3 needed" in one.failed_checks[0]


def test_bad_overrides_fail_clearly(chapter, tmp_path):
    with pytest.raises(ConfigError, match="unknown profile"):
        chapter.dmbn_config("huge")
    with pytest.raises(ConfigError, match="train_stepz"):
        chapter.dmbn_config("smoke", train_stepz=3)
    with pytest.raises(ConfigError, match="image_size=64 must be <= render_size x window side"):
        chapter.dmbn_config("smoke", image_size=64)
    with pytest.raises(ConfigError, match=r"view_window=\(0.5, 0.0, 0.75\)"):
        chapter.dmbn_config("smoke", view_window=(0.5, 0.0, 0.75))
    with pytest.raises(ConfigError, match="fig5_sizes"):
        chapter.dmbn_config("smoke", fig5_sizes=(4, 50))
    with pytest.raises(ConfigError, match="lr_schedule"):
        chapter.dmbn_config("smoke", lr_schedule="step")
    with pytest.raises(ConfigError, match="authors_data='/no/such/folder'"):
        chapter.dmbn_config("smoke", authors_data="/no/such/folder")
    with pytest.raises(ConfigError, match="authors_data=3"):
        chapter.dmbn_config("smoke", authors_data=3)
    assert chapter.dmbn_config("smoke", authors_data=str(tmp_path)).authors_data == str(tmp_path)
    assert chapter.dmbn_config("smoke", authors_data=None).authors_data is None


def test_paper_profile_networks_match_the_tables_and_train_one_step(chapter):
    cfg = chapter.dmbn_config("paper")
    spec = paper_spec(cfg)
    assert spec.image_channels == PAPER_IMAGE_CHANNELS and spec.image_head == (16, 8)
    assert spec.joint_encoder == PAPER_JOINT_ENCODER and spec.joint_decoder == PAPER_JOINT_DECODER
    g = np.random.default_rng(0)
    images = g.integers(0, 256, size=(2, 8, 128, 128, 3), dtype=np.uint8)
    joints = g.normal(size=(2, 8, 8)).astype(np.float32)
    data = SequenceData.from_arrays(images, joints, np.linspace(0, 1, 8, dtype=np.float32), JointScaler.fit(joints))
    device = "cuda" if torch.cuda.is_available() else "cpu"
    for image_only in (False, True):
        model = DMBN(paper_spec(cfg, image_only))
        result = train_dmbn(model, data, steps=1, batch_size=cfg.batch_size, lr=cfg.lr, seed=0,
                            obs_max=cfg.obs_max, targets_per_sample=cfg.targets_per_sample,
                            joint_targets_per_sample=cfg.joint_targets_per_sample, device=device)
        assert np.isfinite(result.losses).all()
    mvae = MVAE(spec)
    result = train_mvae(mvae, data, steps=1, batch_size=2, lr=cfg.mvae_lr, seed=0, device=device)
    assert np.isfinite(result.losses).all()
