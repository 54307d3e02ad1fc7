"""The jobs layer on a local Ray with 2 CPUs (started once for this module): same weights as local."""

from __future__ import annotations

import logging

import pytest
import torch

from sensorimotor.jobs import Job, JobError, import_ray, load_result, run_jobs

TRAIN = "sensorimotor.job_examples:train_tiny_mlp"
JOBS = [Job(f"mlp-{k}", TRAIN, {"steps": 40, "width": 8, "n": 64, "seed": k}, namespace="test-ray") for k in range(2)]


@pytest.fixture(scope="module")
def ray():
    ray = import_ray()  # the tests session installs the cluster extra; without it this fails, naming it
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    yield ray
    ray.shutdown()


def _weights(job: Job) -> dict[str, torch.Tensor]:
    result = load_result(job)
    return {**result["state_dict"], "loss": result["loss"]}


def test_ray_and_local_executors_save_bitwise_equal_weights(ray, tmp_path, monkeypatch):
    on_ray = run_jobs(JOBS, executor="ray")
    assert {r.status for r in on_ray.values()} == {"computed"}
    assert ray.is_initialized()  # the module's Ray was used, not shut down
    from_ray = {job.name: _weights(job) for job in JOBS}
    monkeypatch.setenv("SENSORIMOTOR_CACHE", str(tmp_path / "local-cache"))
    on_local = run_jobs(JOBS, executor="local", workers=2)
    assert {r.status for r in on_local.values()} == {"computed"}
    for job in JOBS:
        local = _weights(job)
        assert local.keys() == from_ray[job.name].keys()
        for name, tensor in local.items():
            assert torch.equal(tensor, from_ray[job.name][name]), f"{job.name}: {name} differs between executors"
    assert not torch.equal(from_ray["mlp-0"]["0.weight"], from_ray["mlp-1"]["0.weight"])


def test_a_failing_ray_task_reports_the_worker_traceback_and_keeps_the_others(ray):
    bad = Job("bad", "sensorimotor.job_examples:fail_on_purpose", {"message": "boom on ray"}, namespace="test-ray")
    with pytest.raises(JobError) as caught:
        run_jobs([JOBS[0], bad], executor="ray")
    assert "job bad (sensorimotor.job_examples:fail_on_purpose, kwargs {'message': 'boom on ray'})" in str(caught.value)
    assert "ValueError: boom on ray" in str(caught.value)
    assert caught.value.results[JOBS[0].name].status in ("computed", "cached") and JOBS[0].path().exists()


def test_the_pipeline_runs_a_chapters_training_jobs_on_ray(ray, tmp_path):
    from test_pipeline import make_demo_root

    from sensorimotor.pipeline import read_report_metadata, replicate

    (tmp_path / "project").mkdir()
    root = make_demo_root(tmp_path / "project")
    report = replicate(root, "pipeline_demo", profile="smoke", executor="ray", output=tmp_path / "r.ipynb", progress=False)
    meta = read_report_metadata(report)
    assert meta["executor"] == "ray" and list(meta["jobs"]) == ["demo-mlp-0"]
    assert any(e.startswith("demo-mlp/") for e in meta["cache"]["computed"])


def test_a_chapters_smoke_training_job_gives_the_same_weights_on_ray_and_locally(ray, tmp_path, monkeypatch):
    """GMN's declared jobs at the smoke profile: the train scenes, then one model, on each executor."""
    from pathlib import Path

    from sensorimotor.profiles import load_chapter_module

    config = load_chapter_module(Path(__file__).resolve().parents[1] / "replications" / "gmn" / "config.py")
    scenes, models, _pretrained = config.training_jobs(config.gmn_config("smoke", device="cpu"))
    stages = [[job for job in scenes if job.name == "scenes-train"], [models[-1]]]  # an M = 8 model (no pretraining)
    assert models[-1].function.endswith(":train_job") and models[-1].kwargs["haptic_pretraining"] is None
    weights = {}
    for executor in ("ray", "local"):
        monkeypatch.setenv("SENSORIMOTOR_CACHE", str(tmp_path / executor))
        for stage in stages:
            assert {r.status for r in run_jobs(stage, executor=executor, workers=2).values()} == {"computed"}
        weights[executor] = load_result(models[-1])
    assert weights["ray"]["history"]["loss"] == weights["local"]["history"]["loss"]
    assert weights["ray"]["state"].keys() == weights["local"]["state"].keys()
    for name, tensor in weights["local"]["state"].items():
        assert torch.equal(tensor, weights["ray"]["state"][name]), f"{name} differs between executors"
