"""Label-free pretraining of the GMN's haptic network (sensorimotor.gmn.haptic_pretraining) and models that start from it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from gmn_tiny import TINY

from sensorimotor.gmn.haptic_pretraining import (
    HapticPretraining,
    grasp_prediction_errors,
    grasp_process,
    haptic_modality,
    load_grasp_process,
    pretrain,
)
from sensorimotor.gmn.scenes import SceneDatasetConfig, modality_split, scene_dataset
from sensorimotor.gmn.training import TrainJob, TrainSpec, pretraining_jobs, run_jobs
from sensorimotor.pipeline import load_chapter_module

CONFIG = SceneDatasetConfig(n_scenes=6, n_views=8, image_size=16, supersample=1)
MODS = modality_split(2, 16)


@pytest.fixture(scope="module", name="data")
def six_scenes():
    return scene_dataset(CONFIG, workers=1, progress=False)


def test_the_pretrained_network_predicts_a_scenes_grasps_from_its_own_grasps_better(data):
    hand = haptic_modality(MODS)
    process = grasp_process(MODS, TINY, seed=0, hidden=64)
    spec = HapticPretraining(steps=400, batch_size=6, lr=3e-3, n_targets=3, max_context=3, hidden=64)
    before = grasp_prediction_errors(process, data, hand, n_context=3, n_targets=3)
    losses = pretrain(process, data, hand, spec, seed=0)
    own, other = grasp_prediction_errors(process, data, hand, n_context=3, n_targets=3)
    assert len(losses) == 400 and np.mean(losses[-50:]) < 0.5 * np.mean(losses[:50])
    assert own.mean() < 0.5 * before[0].mean()
    assert own.mean() < other.mean()


def test_both_schemes_of_a_seed_start_from_the_same_pretrained_network(data):
    spec = HapticPretraining(steps=3, batch_size=2, n_targets=2, max_context=2, hidden=8)
    no_steps = TrainSpec(steps=0, batch_size=2, max_context=2, max_targets=1)
    jobs = [TrainJob({}, 2, 16, TINY, s, no_steps, CONFIG, seed=1, label=s, haptic_pretraining=spec)
            for s in ("baseline", "apoe")]  # fmt: skip
    plain = TrainJob({}, 2, 16, TINY, "apoe", no_steps, CONFIG, seed=1, label="plain")
    assert len(pretraining_jobs([*jobs, plain])) == 1 and plain.pretraining() is None
    assert plain.path() != jobs[1].path()
    (baseline, _), (apoe, _), (fresh, _) = run_jobs([*jobs, plain], processes=1)
    process, losses = load_grasp_process(jobs[0].pretraining())
    assert len(losses) == 3
    name = haptic_modality(MODS).name
    for model in (baseline, apoe):
        for x, y in zip(model.representations[name].state_dict().values(), process.encoder.state_dict().values(), strict=True):
            torch.testing.assert_close(x, y, rtol=0, atol=0)
    changed = [not torch.equal(x, y) for x, y in zip(fresh.representations[name].state_dict().values(),
                                                      process.encoder.state_dict().values(), strict=True)]  # fmt: skip
    assert any(changed)


@pytest.mark.parametrize(("field", "value"), [("steps", 0), ("batch_size", 0), ("lr", float("nan")), ("hidden", -1)])
def test_bad_pretraining_settings_are_refused(field, value):
    kwargs = {"steps": 5, field: value}
    with pytest.raises(ValueError, match=field):
        HapticPretraining(**kwargs)


def test_more_grasps_than_a_scene_holds_are_refused_before_training(data):
    process = grasp_process(MODS, TINY, seed=0, hidden=8)
    with pytest.raises(ValueError, match="exceeds the 8 grasps"):
        pretrain(process, data, haptic_modality(MODS), HapticPretraining(steps=1, n_targets=6, max_context=3), seed=0)


def test_the_chapter_pretrains_before_the_models_that_start_from_it():
    chapter = load_chapter_module(Path(__file__).resolve().parents[1] / "replications" / "gmn" / "config.py")
    from sensorimotor.gmn.chapter_jobs import declared_jobs

    stages = declared_jobs(chapter.gmn_config("smoke"))
    functions = [{job.function.rpartition(":")[2] for job in stage} for stage in stages]
    assert functions == [{"prepare_scenes"}, {"pretraining_job", "train_job"}, {"train_job"}]
    assert all(job.kwargs["haptic_pretraining"] is not None for job in stages[2])
    assert not any(job.kwargs.get("haptic_pretraining") for job in stages[1] if job.function.endswith("train_job"))
    assert len(declared_jobs(chapter.gmn_config("smoke", haptic_pretrain_steps=0))) == 2
