"""The mirror-alignment chapter's profiles: knobs validate, and the paper-size models train one step."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sensorimotor.mirror_align.alignment import AlignmentHeads
from sensorimotor.mirror_align.experiments import build_models
from sensorimotor.mirror_align.keyframes import MAX_KEYFRAMES, STOP
from sensorimotor.mirror_align.tasks import all_instructions
from sensorimotor.mirror_align.training import MirrorData, TrainSpec, train_mirror
from sensorimotor.profiles import ConfigError, load_chapter_module

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
    with pytest.raises(ConfigError, match="image_size=60"):
        chapter.mirror_align_config("smoke", image_size=60)
    with pytest.raises(ConfigError, match="n_seeds=0"):
        chapter.mirror_align_config("smoke", n_seeds=0)
    with pytest.raises(ConfigError, match="unknown override"):
        chapter.mirror_align_config("smoke", temperature=0.1)


def test_paper_profile_models_train_one_step_on_cpu(chapter):
    cfg = chapter.mirror_align_config("paper", device="cpu")
    torch.set_num_threads(1)
    texts = tuple(i.text for i in all_instructions(cfg.tasks))
    u, e = build_models(cfg, texts, 0)
    n, size = 2, cfg.image_size
    gen = torch.Generator().manual_seed(0)
    height = torch.full((n, MAX_KEYFRAMES), 5, dtype=torch.long)
    height[:, 3] = STOP
    data = MirrorData(
        videos=torch.randint(0, 256, (n, cfg.video_frames, cfg.video_size, cfg.video_size, 3), generator=gen,
                             dtype=torch.uint8),
        key_obs=torch.randint(0, 256, (n, MAX_KEYFRAMES, size, size, 3), generator=gen, dtype=torch.uint8),
        key_pixel=torch.rand(n, MAX_KEYFRAMES, 2, generator=gen) * size, key_height=height,
        key_grip=torch.zeros(n, MAX_KEYFRAMES), key_valid=torch.arange(MAX_KEYFRAMES).expand(n, -1) < 4,
        instruction=torch.tensor([0, 1]), task=torch.tensor([0, 0]), episode=torch.arange(n), instructions=texts,
    )  # fmt: skip
    heads = AlignmentHeads(u.feature_dim, e.feature_dim, cfg.shared_dim)
    spec = TrainSpec(steps=1, batch_size=2, lambda_align=cfg.lambda_align, tau=cfg.tau, level="episode",
                     steps_per_episode=1)  # fmt: skip
    history = train_mirror(u, e, heads, data, spec, seed=0, device="cpu", progress=False)
    assert all(np.isfinite(v).all() for v in history.values()) and len(history["align"]) == 1


def test_default_measures_every_trained_claim_over_the_seeds_its_rules_need(chapter):
    cfg = chapter.mirror_align_config("default")
    rules = (chapter.AU_GAIN, chapter.EE_GAIN, chapter.INSTRUCTION_BEST_EE, chapter.CLASS_WORST_AU,
             chapter.TAU_RAISES_AU, chapter.TAU_LOWERS_EE, chapter.ALIGNED_MORE_DISCRIMINATIVE)  # fmt: skip
    assert all(rule.min_seeds == 3 for rule in rules)
    assert cfg.n_seeds >= 3 and chapter.EXECUTION_BEATS_TEXT.min_seeds == 3 and chapter.PROBE_RECALL.min_seeds == 3


def test_success_claims_are_inconclusive_while_the_policy_rarely_succeeds(chapter):
    from sensorimotor.claims import Claim, Seeds

    gains = Seeds({0: 0.0, 1: 0.0, 2: 0.0})
    for rule in (chapter.EE_GAIN, chapter.INSTRUCTION_BEST_EE, chapter.TAU_LOWERS_EE, chapter.SUCCESS_ALIGNED):
        assert chapter.E_SUCCEEDS in rule.checks
    claim = Claim("t", "s", "x", 3.5, gains, chapter.EE_GAIN, checks={chapter.E_SUCCEEDS: 0.0, chapter.SUCCESS_SE: 1.0})
    assert claim.verdict == "inconclusive" and "success rate" in claim.failed_checks[0]
    good = Seeds({0: 4.0, 1: 3.0, 2: 5.0})
    claim = Claim("t", "s", "x", 3.5, good, chapter.EE_GAIN, checks={chapter.E_SUCCEEDS: 0.6, chapter.SUCCESS_SE: 1.0})
    assert claim.verdict == "reproduced"
    # an evaluation whose standard error exceeds half the paper's 3.5-point effect cannot judge it
    claim = Claim("t", "s", "x", 3.5, good, chapter.EE_GAIN, checks={chapter.E_SUCCEEDS: 0.6, chapter.SUCCESS_SE: 2.0})
    assert claim.verdict == "inconclusive" and "standard error" in claim.failed_checks[0]
    assert chapter.SUCCESS_SE in chapter.TAU_LOWERS_EE.checks and chapter.TASKS_COMPARED in chapter.SUCCESS_ALIGNED.checks


def test_recognition_gain_is_judged_against_its_seed_spread(chapter):
    from sensorimotor.claims import Claim, Seeds

    two = Claim("t", "s", "x", 3.3, Seeds({0: 5.2, 1: 1.6}), chapter.AU_GAIN)
    assert two.verdict == "inconclusive"  # 2 seeds measured, 3 needed
    noisy = Claim("t", "s", "x", 3.3, Seeds({0: 5.2, 1: 1.6, 2: 0.2}), chapter.AU_GAIN)
    assert noisy.verdict == "not reproduced"  # mean 2.33 points, sd 2.58: mean - sd below 0
    partly = Claim("t", "s", "x", 3.3, Seeds({0: 1.5, 1: 1.0, 2: 0.5}), chapter.AU_GAIN)
    assert partly.verdict == "partly"  # mean - sd = 0.5: above 0, below 1 point
    tight = Claim("t", "s", "x", 3.3, Seeds({0: 3.0, 1: 3.5, 2: 2.5}), chapter.AU_GAIN)
    assert tight.verdict == "reproduced"


def test_probe_must_beat_random_init_and_chance(chapter):
    from sensorimotor.claims import Claim, Seeds

    def claim(beyond_random, beyond_chance):
        checks = {chapter.PROBE_BEATS_RANDOM: beyond_random, chapter.PROBE_BEATS_CHANCE: beyond_chance}
        return Claim("t", "s", "x", "> 60 %", Seeds({0: 0.43, 1: 0.45, 2: 0.44}), chapter.PROBE_RECALL, checks=checks)

    assert claim(19.0, 22.0).verdict == "partly"
    assert claim(0.0, 22.0).verdict == "inconclusive"
    assert claim(19.0, 0.5).verdict == "inconclusive"
