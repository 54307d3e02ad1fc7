"""The GMN chapter's config, and one training step of its `paper`-profile models on CPU."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch

from sensorimotor.claims import AtLeast, Claim, Rule
from sensorimotor.gmn.model import GMN, GMNArch, count_parameters
from sensorimotor.gmn.scenes import SceneDatasetConfig, make_scene, modality_split
from sensorimotor.gmn.training import TrainSpec, train_gmn
from sensorimotor.profiles import ConfigError, load_chapter_module

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest


@pytest.fixture(scope="module")
def chapter():
    return load_chapter_module(Path(__file__).resolve().parents[1] / "replications" / "gmn" / "config.py")


def test_profiles_load_and_validate(chapter):
    for name in ("smoke", "default", "paper"):
        cfg = chapter.gmn_config(name)
        assert cfg.profile == name
        GMNArch(**cfg.arch_dict())
    paper = chapter.gmn_config("paper")
    assert paper.image_size == 64 and paper.draw_steps == 12 and paper.r_channels == 256 and paper.lstm_channels == 64
    assert paper.opposite and paper.sigma_start == paper.sigma_end == 1.0 and paper.lr == 1e-4 and paper.grad_clip == 0.25
    assert chapter.gmn_config("default").seeds() == [0, 1, 2]
    with pytest.raises(ConfigError, match="n_seeds=0"):
        chapter.gmn_config("smoke", n_seeds=0)
    assert chapter.gmn_config("smoke", train_steps=3).train_steps == 3
    with pytest.raises(ConfigError, match="unknown override"):
        chapter.gmn_config("smoke", bogus=1)
    with pytest.raises(ConfigError, match="max_context"):
        chapter.gmn_config("smoke", max_context=15)
    with pytest.raises(ConfigError, match="unknown profile"):
        chapter.gmn_config("huge")
    for bad in (0.0, -5.0):
        with pytest.raises(ConfigError, match="classify_bayes_prune"):
            chapter.gmn_config("smoke", classify_bayes_prune=bad)
    with pytest.raises(ConfigError, match="classify_bayes_prune"):
        chapter.gmn_config("smoke", classify_bayes_prune=float("inf"))
    for bad in (0, 2):  # smoke has one group
        with pytest.raises(ConfigError, match=f"classify_bayes_groups={bad}"):
            chapter.gmn_config("smoke", classify_bayes_groups=bad)
    assert chapter.gmn_config("default").classify_bayes_groups <= chapter.gmn_config("default").classify_groups


def test_claim_rules_are_fixed_in_the_config(chapter):
    compared = ("FIG3_APOE_WINS", "FIG3_EQ2_WINS", "FIG4_ACCURACY_GAIN", "FIG4_EQ2_ACCURACY_GAIN", "FIG5_GAP_DIFFERENCE",
                "FIG5_EQ2_GAP_DIFFERENCE")  # fmt: skip
    for name in (*compared, "FIG1_IOU_GAIN", "SPACE_PARAM_DEVIATION", "TIME_RATIO_M14"):
        rule = getattr(chapter, name)
        assert isinstance(rule, Rule) and rule.criterion.describe()
    for name in (*compared, "FIG1_IOU_GAIN"):
        rule = getattr(chapter, name)
        assert rule.min_seeds == 3 and rule.seed_note and rule.kind == "result"
    models = ("baseline", "APoE", chapter.EQ2)
    modalities = (*chapter.M2_MODALITIES, *chapter.M8_MODALITIES)
    for name in compared:  # both models must use their context, on both modalities, by both checks
        checks = getattr(chapter, name).checks
        for kind in (chapter.context_check, chapter.seed_noise_check):
            assert sum(check == kind(m, mod) for check in checks for m in models for mod in modalities) == 4
        assert sum(chapter.is_haptic(mod) for check in checks for m in models for mod in modalities
                   if check == chapter.context_check(m, mod)) == 2  # fmt: skip
    fig1 = chapter.FIG1_IOU_GAIN.checks  # Fig. 1 is about APoE: its context checks on both modalities, both kinds
    assert set(fig1) == {f(m, mod) for f in (chapter.context_check, chapter.seed_noise_check) for m in ("APoE",)
                         for mod in chapter.M2_MODALITIES}  # fmt: skip
    for name in ("FIG3_EQ2_WINS", "FIG4_EQ2_ACCURACY_GAIN", "FIG5_EQ2_GAP_DIFFERENCE"):  # checks of the eq. 2 view itself
        assert any(chapter.EQ2 in check for check in getattr(chapter, name).checks)
    for name in ("FIG4_ACCURACY_GAIN", "FIG4_EQ2_ACCURACY_GAIN"):  # 2 models x 3 context kinds, and the Bayes reference
        checks = getattr(chapter, name).checks
        assert sum("above chance" in check for check in checks) == 7 and chapter.BAYES_CHANCE_CHECK in checks
    assert chapter.SPACE_PARAM_DEVIATION.kind == "consistency" and chapter.TIME_RATIO_M14.kind == "result"


def test_seed_noise_check_needs_a_gain_several_times_its_seed_spread(chapter):
    name = chapter.seed_noise_check("APoE", "image")
    rule = Rule(AtLeast(0.0), checks={name: chapter.CONTEXT_OVER_SEED_NOISE})
    ratio = lambda gains: float(np.mean(gains) / np.std(gains, ddof=1))  # noqa: E731
    assert Claim("x", "s", "t", 1, 1.0, rule, checks={name: ratio([30.0, 10.0, 50.0])}).verdict == "inconclusive"
    assert Claim("x", "s", "t", 1, 1.0, rule, checks={name: ratio([30.0, 28.0, 33.0])}).verdict == "reproduced"
    assert Claim("x", "s", "t", 1, 1.0, rule, checks={name: float("nan")}).verdict == "inconclusive"  # one seed


def test_context_use_check_passes_only_a_clear_gain(chapter):
    """Mean minus three standard errors must reach 10 nats: a ~1 nat gain (the committed run) fails."""
    name = chapter.context_check("APoE", "image")
    rule = Rule(AtLeast(0.0), checks={name: chapter.CONTEXT_GAIN})
    lower = lambda mean, se: mean - chapter.CONTEXT_GAIN_SE * se  # noqa: E731
    assert Claim("x", "s", "t", 1, 1.0, rule, checks={name: lower(1.1, 0.3)}).verdict == "inconclusive"
    assert Claim("x", "s", "t", 1, 1.0, rule, checks={name: lower(12.0, 1.0)}).verdict == "inconclusive"
    assert Claim("x", "s", "t", 1, 1.0, rule, checks={name: lower(40.0, 5.0)}).verdict == "reproduced"


@pytest.mark.parametrize("scheme", ["baseline", "apoe"])
def test_paper_profile_models_take_one_training_step_on_cpu(chapter, scheme):
    """The paper's settings (64x64, 12 DRAW steps, 256/64 channels): build, then one Adam step (batch 1).

    The chapter trains the baseline and APoE; PoE at the paper's settings is built (on the meta device)
    by the parameter-count test, and its code path is the one of the small PoE tests.
    """
    cfg = chapter.gmn_config("paper")
    arch = GMNArch(**cfg.arch_dict())
    scene_cfg = SceneDatasetConfig(1, n_views=cfg.n_views, image_size=cfg.image_size, supersample=1, n_parts=cfg.n_parts)
    scene = make_scene(scene_cfg, 0)
    data = {k: np.asarray(v)[None] for k, v in scene.items()}
    mods = modality_split(2, cfg.image_size)
    torch.manual_seed(0)
    model = GMN(mods, arch, scheme)
    assert model.grid == (16, 16)
    assert count_parameters(model) > 50e6
    before = [p.detach().clone() for p in model.parameters()]
    spec = cfg.train_spec(0, steps=1, batch_size=1, max_context=1, max_targets=1)
    assert (spec.lr, spec.sigma_start, spec.sigma_end, spec.grad_clip, spec.opposite) == (1e-4, 1.0, 1.0, 0.25, True)
    hist = train_gmn(model, data, mods, spec, progress=False)
    assert np.isfinite(hist["loss"]).all()
    changed = sum(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert changed > 0.5 * len(before)


def test_haptic_context_check_is_judged_against_the_bayes_observer(chapter):
    """On haptic targets the 10-nat bar is out of reach (grasps carry at most H(shape)): the check's value is
    the lowest seed's own-over-other-scene gap - 3 SE over the Bayes observer's gap; it passes at half."""
    for mod in ("haptics", "haptics (a)"):
        name = chapter.context_check("APoE", mod)
        assert "Bayes observer" in name and "other-scene" in name and chapter.is_haptic(mod)
        assert "gap" in chapter.seed_noise_check("APoE", mod)
        assert chapter.context_checks(("APoE",), (mod,))[name] is chapter.HAPTIC_CONTEXT_GAIN
    assert not chapter.is_haptic("image (left R)")
    assert chapter.context_checks(("APoE",), ("image",))[chapter.context_check("APoE", "image")] is chapter.CONTEXT_GAIN
    name = chapter.context_check("APoE", "haptics")
    rule = Rule(AtLeast(0.0), checks={name: chapter.HAPTIC_CONTEXT_GAIN})
    verdict = lambda fraction: Claim("x", "s", "t", 1, 1.0, rule, checks={name: fraction}).verdict  # noqa: E731
    assert verdict(0.4) == "inconclusive" and verdict(0.6) == "reproduced"
    assert verdict(float("nan")) == "inconclusive"  # an observer that gains nothing: no scale, no pass
    with pytest.raises(ConfigError, match="observer_scenes"):
        chapter.gmn_config("smoke", observer_scenes=1)
    with pytest.raises(ConfigError, match="density_scenes=1"):
        chapter.gmn_config("smoke", density_scenes=1)
    with pytest.raises(ConfigError, match="eval_threads"):
        chapter.gmn_config("smoke", eval_threads=-1)


def test_train_spec_carries_the_profile_knobs(chapter):
    cfg = chapter.gmn_config("default")
    spec = cfg.train_spec(2)
    assert isinstance(spec, TrainSpec) and spec.seed == 2
    assert (spec.steps, spec.batch_size, spec.lr, spec.max_context, spec.max_targets, spec.opposite) == (
        cfg.train_steps, cfg.batch_size, cfg.lr, cfg.max_context, cfg.max_targets, cfg.opposite)
    assert (spec.sigma_start, spec.sigma_end, spec.sigma_anneal, spec.grad_clip) == (
        cfg.sigma_start, cfg.sigma_end, cfg.sigma_anneal, cfg.grad_clip)
    assert cfg.train_spec(0, steps=7, mask_targets=False) == dataclasses.replace(cfg.train_spec(0), steps=7, mask_targets=False)
    with pytest.raises(TypeError):
        cfg.train_spec(0, bogus=1)


def test_time_claim_needs_a_ratio_interval_narrower_than_the_bars_apart(chapter):
    """The time ratio moved across the 1.3 bar between runs (3 timed iterations): its interval must be narrow."""
    rule, name = chapter.TIME_RATIO_M14, chapter.TIME_PRECISION_CHECK
    assert set(rule.checks) == {name}
    verdict = lambda ratio, half: Claim("x", "s", "t", 1.73, ratio, rule, checks={name: half}).verdict  # noqa: E731
    assert verdict(1.45, 0.05) == "reproduced" and verdict(1.2, 0.05) == "partly" and verdict(1.0, 0.05) == "not reproduced"
    assert verdict(1.45, 0.25) == "inconclusive"  # 1.2-1.7: noise could put it either side of 1.3
    assert verdict(1.45, 0.125) == "reproduced"  # exactly half the distance between the bars
    assert chapter.gmn_config("smoke").spacetime_repeats >= 2 and chapter.gmn_config("default").spacetime_repeats >= 20
    with pytest.raises(ConfigError, match="spacetime_repeats=1"):
        chapter.gmn_config("smoke", spacetime_repeats=1)
