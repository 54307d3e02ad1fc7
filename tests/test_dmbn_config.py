"""The DMBN chapter's profiles, and one training step of the `paper`-profile networks (so the GPU path
cannot rot)."""

import numpy as np
import pytest
import torch

from sensorimotor.dmbn.model import DMBN, PAPER_IMAGE_CHANNELS, PAPER_JOINT_DECODER, PAPER_JOINT_ENCODER
from sensorimotor.dmbn.mvae import MVAE
from sensorimotor.dmbn.training import JointScaler, SequenceData, make_spec, train_dmbn, train_mvae
from sensorimotor.profiles import ConfigError, load_chapter_module
from sensorimotor.verdicts import Apparatus, Controls, Prerequisite, Rule, judge


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


def test_profiles_and_rules(chapter):
    for name in ("smoke", "default", "paper"):
        cfg = chapter.dmbn_config(name)
        assert cfg.profile == name
    paper = chapter.dmbn_config("paper")
    assert (paper.image_size, paper.batch_size, paper.train_steps, paper.lr) == (128, 1, 1_000_000, 1e-4)
    assert paper.table1_seeds == 10 and paper.obs_max == 5
    assert all(isinstance(r, Rule) for r in chapter.RULES.values())
    ids = {"5.1", "5.2", "5.3", "5.4", "5.5", "5.6", "5.7", "A-B", "5.1-authors", "5.2-authors", "5.3-authors"}
    assert set(chapter.RULES) == {f"dmbn-{i}" for i in ids}


def test_rules_follow_issues_28_and_34(chapter):
    rules = chapter.RULES
    assert all(r.kind == "result" and r.effect.unit == "seeds" for r in rules.values())
    default = chapter.dmbn_config("default")
    assert len(default.other_angles) >= 8  # 5.5's contrast per side
    assert default.authors_seeds >= 5 and default.table1_seeds >= 5  # issue 34: at least 5 seeds
    # executed claims: skill over the best constant answer (null 0) with the executor's apparatus check
    for claim in ("5.1", "A-B"):
        assert rules[f"dmbn-{claim}"].effect.null == 0.0 and set(rules[f"dmbn-{claim}"].checks) == {chapter.EXECUTOR_CHECK}
    # the mirror claims are executed through the read-out, which must read known answers
    for claim in ("5.5", "5.6", "5.7"):
        assert {chapter.EXECUTOR_CHECK, chapter.READOUT_CHECK} <= set(rules[f"dmbn-{claim}"].checks)
    assert chapter.DISTURBED_CHECK in rules["dmbn-5.7"].checks
    # a win over the MVAE counts only against an MVAE that beats the mean trajectory
    for claim in ("5.2", "5.3", "5.2-authors", "5.3-authors"):
        assert chapter.MVAE_CHECK in rules[f"dmbn-{claim}"].checks
    # 5.1 on the authors' data: log ratios, at least half the trivial error
    assert rules["dmbn-5.1-authors"].effect.null == 0.0 and rules["dmbn-5.1-authors"].effect.smallest == pytest.approx(np.log(2))
    # checks are apparatus (controls) or prerequisites with a passing reference, never the claim's own value
    for rule in rules.values():
        for check in rule.checks.values():
            assert isinstance(check, (Apparatus, Prerequisite))
            if isinstance(check, Prerequisite):
                assert check.reference and check.failing_reference


def test_an_executed_claim_is_judged_by_interval_and_controls(chapter):
    rule = chapter.RULES["dmbn-5.1"]
    works = {chapter.EXECUTOR_CHECK: Controls(positive=1.0, negative=-1.5)}
    assert judge(rule, {0: 0.9, 1: 0.85, 2: 0.95}, works).verdict == "reproduced"
    assert judge(rule, {0: -0.1, 1: 0.0, 2: 0.05}, works).verdict == "not reproduced"
    no_room = {chapter.EXECUTOR_CHECK: Controls(positive=0.0, negative=-2.0)}  # the constant answer is always right
    verdict = judge(rule, {0: 0.9, 1: 0.85, 2: 0.95}, no_room)
    assert verdict.verdict == "inconclusive" and verdict.cause.startswith("apparatus failed")
    one = judge(rule, {0: 0.9}, works)
    assert one.verdict == "inconclusive" and "single seed" in one.cause


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
